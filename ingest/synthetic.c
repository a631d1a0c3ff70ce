/* synthetic.c -- see synthetic.h. */
#include "ingest/synthetic.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "ingest/validate.h"

static const char *const default_symbols[] = { "BTC-USD", "ETH-USD", "SOL-USD" };

int synth_config(const cfg_t *cfg, synth_config_t *out)
{
    memset(out, 0, sizeof *out);
    const char **syms;
    int n, rc;
    if ((rc = cfg_get_string_list(cfg, "ingest.synthetic.symbols", &syms, &n)) < 0)
        return rc;
    if (n == 0) {
        syms = (const char **)default_symbols;
        n = 3;
    }
    if (n > SYNTH_MAX_SYMBOLS)
        return cfg_value_error(cfg, "ingest.synthetic.symbols", "%d symbols, at most %d", n,
                               SYNTH_MAX_SYMBOLS);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(syms[i]);
        /* What the validator would drop must not be generated either: a
         * replay of a recorded session would lose it. */
        if (!val_symbol_ok(syms[i], len))
            return cfg_value_error(cfg, "ingest.synthetic.symbols",
                                   "symbol '%s' must be 1-%d bytes of [A-Za-z0-9._:/-]", syms[i], SE_SYMBOL_MAX - 1);
        memcpy(out->symbols[i], syms[i], len + 1);
    }
    out->nsymbols = n;
    int64_t seed, max;
    if ((rc = cfg_get_double_range(cfg, "ingest.synthetic.ratePerSecond", 1000, 0, 1e8, &out->rate)) < 0 ||
        (rc = cfg_get_double_range(cfg, "ingest.synthetic.volatility", 0.0005, 0, 0.1, &out->volatility)) < 0 ||
        (rc = cfg_get_double_range(cfg, "ingest.synthetic.spreadBps", 2, 0.01, 10000, &out->spread_bps)) < 0 ||
        (rc = cfg_get_double_range(cfg, "ingest.synthetic.startPrice", 100, 1e-6, 1e9, &out->start_price)) < 0 ||
        (rc = cfg_get_double_range(cfg, "ingest.synthetic.tickSize", 0.01, 1e-9, 1e6, &out->tick_size)) < 0 ||
        (rc = cfg_get_int_range(cfg, "ingest.synthetic.seed", 42, 0, INT64_MAX, &seed)) < 0 ||
        (rc = cfg_get_int_range(cfg, "ingest.synthetic.maxRecords", 0, 0, INT64_MAX, &max)) < 0)
        return rc;
    out->seed = (uint64_t)seed;
    out->max_records = (uint64_t)max;
    return 0;
}

static uint64_t next_u64(synth_t *s)
{
    /* splitmix64: small, fast, and good enough for a price path. */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform01(synth_t *s)
{
    return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

static double gauss(synth_t *s)
{
    if (s->have_spare) {
        s->have_spare = 0;
        return s->spare_gauss;
    }
    double u = uniform01(s), v = uniform01(s);
    double r = sqrt(-2.0 * log(1.0 - u)); /* 1 - u is in (0, 1]: log is finite */
    s->spare_gauss = r * sin(2 * M_PI * v);
    s->have_spare = 1;
    return r * cos(2 * M_PI * v);
}

void synth_init(synth_t *s, const synth_config_t *c)
{
    memset(s, 0, sizeof *s);
    s->c = *c;
    s->rng = c->seed;
    for (int i = 0; i < c->nsymbols; i++)
        s->mid[i] = c->start_price;
}

void synth_next(synth_t *s, se_in_rec_t *out)
{
    const synth_config_t *c = &s->c;
    int i = s->next_symbol;
    s->next_symbol = (i + 1) % c->nsymbols;
    double mid = s->mid[i] * exp(c->volatility * gauss(s));
    if (mid < c->tick_size * 2) /* a walk can drift towards zero; keep a quotable price */
        mid = c->tick_size * 2;
    s->mid[i] = mid;
    double half = mid * c->spread_bps / 2e4;
    double bid = floor((mid - half) / c->tick_size) * c->tick_size;
    double ask = ceil((mid + half) / c->tick_size) * c->tick_size;
    if (bid < c->tick_size)
        bid = c->tick_size;
    if (ask <= bid)
        ask = bid + c->tick_size;
    memset(out, 0, sizeof *out);
    out->kind = SE_IN_QUOTE;
    out->flags = SE_QUOTE_HAS_BIDASK | SE_QUOTE_HAS_LAST | SE_QUOTE_HAS_SIZES | SE_QUOTE_HAS_VOLUME;
    memcpy(out->symbol, c->symbols[i], SE_SYMBOL_MAX);
    se_quote_t *q = &out->u.quote;
    q->bid = bid;
    q->ask = ask;
    q->bid_size = 0.1 * (double)(1 + next_u64(s) % 100);
    q->ask_size = 0.1 * (double)(1 + next_u64(s) % 100);
    q->last = (next_u64(s) & 1) ? ask : bid;
    q->volume = 0.1 * (double)(1 + next_u64(s) % 50);
    out->ts_source_ns = clock_real_ns();
}

static void sleep_until(int64_t mono_ns)
{
    struct timespec ts = { mono_ns / 1000000000, mono_ns % 1000000000 };
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: the caller re-checks */
}

int synth_run(const synth_config_t *c, publisher_t *p, const volatile sig_atomic_t *stop)
{
    synth_t s;
    synth_init(&s, c);
    double period_ns = c->rate > 0 ? 1e9 / c->rate : 0;
    int64_t start = clock_mono_ns();
    se_in_rec_t rec;
    for (uint64_t i = 0; !*stop && (c->max_records == 0 || i < c->max_records); i++) {
        if (period_ns > 0) {
            int64_t due = start + (int64_t)((double)i * period_ns);
            int64_t now = clock_mono_ns();
            /* In steps of at most 100 ms, so a slow feed still beats. */
            while (due > now && !*stop) {
                publisher_idle(p);
                sleep_until(due - now > 100000000 ? now + 100000000 : due);
                now = clock_mono_ns();
            }
            if (*stop)
                break;
        }
        synth_next(&s, &rec);
        publisher_put(p, &rec);
        if ((i & 4095) == 4095)
            publisher_idle(p);
    }
    publisher_flush(p);
    return 0;
}
