/* backend_sim.c -- execd's simulation backend: the paper fill model of sim.h
 * behind the exec_backend_t seam. */
#include "execd/backend.h"

#include <errno.h>
#include <stdlib.h>

#include "common/err.h"
#include "execd/sim.h"

/* sim_emit_fn and exec_emit_fn are the same shape: reports pass straight through. */
static void on_quote(void *impl, const se_in_rec_t *q, int64_t now, exec_emit_fn emit, void *ctx)
{
    sim_on_quote(impl, q, now, emit, ctx);
}

static void on_order(void *impl, const se_order_rec_t *o, int64_t now, exec_emit_fn emit, void *ctx)
{
    sim_on_order(impl, o, now, emit, ctx);
}

static void poll_sim(void *impl, int64_t now, exec_emit_fn emit, void *ctx)
{
    sim_poll(impl, now, emit, ctx);
}

static int64_t next_event(const void *impl)
{
    return sim_next_event_ns(impl);
}

static int needs_quotes(const void *impl)
{
    return sim_working(impl) > 0;
}

static void close_sim(exec_backend_t *b)
{
    if (b->impl) {
        sim_fini(b->impl);
        free(b->impl);
    }
    b->impl = NULL;
}

int exec_backend_sim_open(exec_backend_t *b, const cfg_t *cfg)
{
    double slippage_bps;
    int64_t latency_us, max_orders;
    int rc;
    if ((rc = cfg_get_double_range(cfg, "execution.sim.slippageBps", 1.0, 0, 9999, &slippage_bps)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.sim.latencyUs", 100, 0, 10000000, &latency_us)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.sim.maxOrders", 65536, 16, 1 << 22, &max_orders)) < 0)
        return rc;
    sim_t *s = calloc(1, sizeof *s);
    if (!s)
        return se_err(-ENOMEM, "execd: out of memory for the simulator");
    if ((rc = sim_init(s, slippage_bps, latency_us * 1000, (int)max_orders)) < 0) {
        free(s);
        return se_err(rc, "execd: cannot set up the simulator for %lld orders", (long long)max_orders);
    }
    *b = (exec_backend_t){ "simulation", s, on_quote, on_order, poll_sim, next_event, needs_quotes, close_sim,
                           NULL, NULL, NULL };
    return 0;
}
