/* pipeline_fixture.c -- see pipeline_fixture.h. */
#include "tests/support/pipeline_fixture.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/ring.h"
#include "tests/support/ring_fixture.h"

const char *pf_bin_dir(void)
{
    const char *d = getenv("SE_BIN_DIR");
    return d && *d ? d : "bin";
}

pid_t pf_spawn(const char *conf, const char *prog, const char *strategy)
{
    char exe[512];
    snprintf(exe, sizeof exe, "%s/%s", pf_bin_dir(), prog);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0 && !getenv("SE_TEST_VERBOSE"))
            dup2(devnull, 2);
        if (strategy)
            execl(exe, prog, "-c", conf, "-s", strategy, (char *)NULL);
        else
            execl(exe, prog, "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

bool pf_wait_readers(const char *instance, const char *ring, int n, int seconds)
{
    char name[SHM_NAME_MAX];
    if (shm_name(name, sizeof name, NULL, instance, ring) < 0)
        return false;
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    while (clock_mono_ns() < deadline) {
        shm_segment_t seg;
        int live = 0;
        if (shm_segment_map(&seg, name, false) == 0) {
            for (int i = 0; i < SHM_MAX_READERS; i++)
                live += shm_segment_reader_alive(&seg, i);
            shm_segment_unmap(&seg);
        }
        if (live >= n)
            return true;
        usleep(2000);
    }
    return false;
}

typedef struct {
    bool behind;
    uint64_t heads; /* a checksum of every head, to see that nothing moved */
} quiet_t;

static void look(const char *name, const char *ring, void *arg)
{
    quiet_t *q = arg;
    shm_segment_t seg;
    if (strncmp(ring, "stats.", 6) == 0 || shm_segment_map(&seg, name, false) < 0)
        return;
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    q->heads = q->heads * 1000003 + head;
    for (int i = 0; seg.reg && i < SHM_MAX_READERS; i++) {
        shm_reader_slot_t *s = &seg.reg->readers[i];
        if (shm_segment_reader_alive(&seg, i) && shm__load_acquire(&s->position) < head)
            q->behind = true;
    }
    shm_segment_unmap(&seg);
}

bool pf_wait_quiet(const char *instance, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    uint64_t last = 0;
    int calm = 0;
    while (clock_mono_ns() < deadline) {
        quiet_t q = { false, 0 };
        shm_segment_list(NULL, instance, look, &q);
        calm = (!q.behind && q.heads == last) ? calm + 1 : 0;
        if (calm >= 2)
            return true;
        last = q.heads;
        usleep(20000);
    }
    return false;
}

int pf_read_ring(const char *instance, const char *ring, void *out, size_t rec_size, int max)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, instance, ring), 0);
    shm_segment_t seg;
    if (shm_segment_map(&seg, name, false) < 0)
        return -1;
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    ck_assert_msg(head <= seg.capacity, "ring %s wrapped (%llu records): enlarge it", ring,
                  (unsigned long long)head);
    int n = 0;
    for (uint64_t i = 0; i < head && n < max; i++)
        if (shm_peek(&seg, i, (char *)out + (size_t)n * rec_size) == SHM_OK)
            n++;
    shm_segment_unmap(&seg);
    return n;
}

int pf_stop(const pid_t *pids, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        kill(pids[i], SIGTERM);
        bad += test_wait(pids[i]) != 0;
    }
    return bad;
}

bool pf_instance(char *inst, char *conf, const char *tag, const char *extra)
{
    snprintf(inst, 40, "t%d-%.8s", (int)getpid(), tag);
    snprintf(conf, 128, "/tmp/se-%.16s-%d.conf", tag, (int)getpid());
    FILE *f = fopen(conf, "w");
    if (!f)
        return false;
    fprintf(f, "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; };\n%s\n", inst,
            extra ? extra : "");
    return fclose(f) == 0;
}

se_order_rec_t pf_order(const char *id, double price)
{
    se_order_rec_t o;
    memset(&o, 0, sizeof o);
    o.action = SE_ACTION_NEW;
    o.side = SE_SIDE_BUY;
    o.order_type = SE_ORDER_LIMIT;
    o.qty = 1;
    o.price = price;
    o.ts_risk_ns = clock_real_ns();
    strcpy(o.symbol, "BTC-USD");
    strcpy(o.strategy, "alpha");
    snprintf(o.client_order_id, sizeof o.client_order_id, "%s", id);
    return o;
}

se_signal_rec_t pf_signal(const char *id, double price)
{
    se_signal_rec_t s;
    memset(&s, 0, sizeof s);
    s.action = SE_ACTION_NEW;
    s.side = SE_SIDE_BUY;
    s.order_type = SE_ORDER_LIMIT;
    s.qty = 1;
    s.price = price;
    s.ts_strategy_ns = clock_real_ns();
    strcpy(s.symbol, "BTC-USD");
    snprintf(s.client_order_id, sizeof s.client_order_id, "%s", id);
    return s;
}
