/* replay.c -- see replay.h. */
#include "ingest/replay.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

int replay_config(const cfg_t *cfg, replay_config_t *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    if ((rc = cfg_get_string(cfg, "ingest.replay.file", "", &out->file)) < 0 ||
        (rc = cfg_get_double_range(cfg, "ingest.replay.speed", 1.0, 0, 1e6, &out->speed)) < 0 ||
        (rc = cfg_get_bool(cfg, "ingest.replay.loop", false, &out->loop)) < 0)
        return rc;
    if (!out->file[0])
        return cfg_value_error(cfg, "ingest.replay.file", "required when ingest.feed is \"replay\"");
    return 0;
}

/* Paces by the messages' own timestamps: message ts is due at
 * start + (ts - first_ts) / speed. Messages without ts go out at once. */
typedef struct {
    double speed;
    int64_t start_mono;
    int64_t first_ts;
    int64_t shift_ns; /* added to ts on every pass after the first (loop) */
    int64_t last_ts;
    bool started;
} pacer_t;

static void pace(pacer_t *pc, int64_t ts, publisher_t *p, const volatile sig_atomic_t *stop)
{
    if (pc->speed <= 0 || ts <= 0)
        return;
    ts += pc->shift_ns;
    if (!pc->started) {
        pc->started = true;
        pc->first_ts = ts;
        pc->start_mono = clock_mono_ns();
    }
    pc->last_ts = ts;
    int64_t due = pc->start_mono + (int64_t)((double)(ts - pc->first_ts) / pc->speed);
    /* In steps of at most 100 ms, so a slow replay still beats. */
    for (int64_t now = clock_mono_ns(); due > now && !*stop; now = clock_mono_ns()) {
        publisher_idle(p);
        int64_t until = due - now > 100000000 ? now + 100000000 : due;
        struct timespec t = { until / 1000000000, until % 1000000000 };
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL); /* EINTR: the loop re-checks */
    }
}

int replay_run(const replay_config_t *c, publisher_t *p, const volatile sig_atomic_t *stop)
{
    FILE *f = fopen(c->file, "r");
    if (!f)
        return se_err(-errno, "replay file %s: %s", c->file, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    pacer_t pc = { .speed = c->speed };
    long lineno = 0;
    uint64_t published_this_pass = 0;
    int rc = 0;
    for (;;) {
        if (*stop)
            break;
        ssize_t n = getline(&line, &cap, f);
        if (n < 0) {
            if (ferror(f)) {
                rc = se_err(-EIO, "replay file %s: read error after line %ld", c->file, lineno);
                break;
            }
            if (!c->loop)
                break;
            if (published_this_pass == 0) { /* looping over nothing would spin forever */
                rc = se_err(-ENODATA, "replay file %s: no valid message to loop over", c->file);
                break;
            }
            published_this_pass = 0;
            rewind(f);
            lineno = 0;
            /* The next pass starts 1 ms after the last message of this one
             * (last_ts is already shifted; first_ts is the first pass's). */
            if (pc.started)
                pc.shift_ns = pc.last_ts - pc.first_ts + 1000000;
            continue;
        }
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue; /* blank lines separate nothing; skip them silently */
        se_in_rec_t rec;
        val_detail_t why;
        val_result_t r = val_market_data(line, (size_t)n, &rec, &why);
        if (r != VAL_OK) {
            char where[512];
            snprintf(where, sizeof where, "%s:%ld", c->file, lineno);
            publisher_drop(p, r, &why, where);
            continue;
        }
        pace(&pc, rec.ts_source_ns, p, stop);
        publisher_put(p, &rec);
        published_this_pass++;
        if ((p->seq & 4095) == 0)
            publisher_idle(p); /* heartbeats, even at full speed */
    }
    free(line);
    fclose(f);
    publisher_flush(p);
    return rc;
}
