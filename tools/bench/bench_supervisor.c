/* bench_supervisor.c -- `make bench-supervisor`: how long the engine is
 * without a process the supervisor restarts. Under a synthetic feed it
 * SIGKILLs a strategy (and each other kind) again and again and times kill ->
 * ready again (the supervisor's supervisor_process_up back to 1 with a new
 * pid: the new process writes its ring and reads `in`); then it replaces a
 * strategy's plugin on disk, alternating two builds, and times rename -> the
 * new version ready (the 100 ms settle of the watcher, the strategyd --check,
 * the stop of the old one and the start of the new one). Medians and maxima,
 * against the goal: a killed strategy back within 500 ms.
 * Usage: bench_supervisor [--bin DIR] [--plugins DIR] [--kills N] [--reloads N] [--json FILE] */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/settings.h"
#include "supervisor/ready.h"

#define MS 1000000LL
#define SECOND 1000000000LL
#define MAX_SAMPLES 200

static shm_settings_t set;
static char dir[128], conf[192], plugins[192];

static double value(const char *name, const char *process)
{
    char labels[STATS_LABELS_MAX];
    double v;
    snprintf(labels, sizeof labels, "process=\"%s\"", process);
    return ready_stats_value(&set, "supervisor", name, labels, &v) == 0 ? v : -1;
}

/* Waits until process is up with a pid other than old; returns the pid or 0. */
static pid_t wait_up(const char *process, pid_t old, int64_t timeout)
{
    int64_t t0 = clock_mono_ns();
    while (clock_mono_ns() - t0 < timeout) {
        pid_t pid = (pid_t)value("supervisor_process_pid", process);
        if (pid > 0 && pid != old && value("supervisor_process_up", process) == 1)
            return pid;
        usleep(200);
    }
    return 0;
}

static int copy_over(const char *src, const char *name)
{
    char dst[256], tmp[256], buf[65536];
    snprintf(dst, sizeof dst, "%s/%s", plugins, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", plugins, name);
    int in = open(src, O_RDONLY), out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    ssize_t n;
    if (in < 0 || out < 0) {
        fprintf(stderr, "bench_supervisor: cannot copy %s\n", src);
        return -1;
    }
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return -1;
    close(in);
    if (close(out) < 0 || rename(tmp, dst) < 0)
        return -1;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const char *what;
    double ms[MAX_SAMPLES];
    int n;
    double median, max;
} series_t;

static void summarise(series_t *s)
{
    qsort(s->ms, (size_t)s->n, sizeof s->ms[0], cmp);
    s->median = s->n ? (s->n % 2 ? s->ms[s->n / 2] : (s->ms[s->n / 2 - 1] + s->ms[s->n / 2]) / 2) : 0;
    s->max = s->n ? s->ms[s->n - 1] : 0;
    printf("  %-40s n=%-3d median %8.1f ms   max %8.1f ms\n", s->what, s->n, s->median, s->max);
}

static int kill_series(series_t *s, const char *process, int n)
{
    for (int i = 0; i < n && s->n < MAX_SAMPLES; i++) {
        pid_t old = (pid_t)value("supervisor_process_pid", process);
        if (old <= 0 || kill(old, SIGKILL) < 0)
            return -1;
        int64_t t0 = clock_mono_ns();
        if (!wait_up(process, old, 30 * SECOND)) {
            fprintf(stderr, "bench_supervisor: %s did not come back\n", process);
            return -1;
        }
        s->ms[s->n++] = (double)(clock_mono_ns() - t0) / MS;
        /* Past the restart window (1 s here), so every kill is a first crash:
         * this measures the restart, not the backoff of a crash loop. */
        usleep(1100000);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *bin = "build/release/bin", *fixtures = "build/release/tests/strategyd/plugins", *json = NULL;
    int kills = 12, reloads = 10;
    static const struct option opts[] = { { "bin", 1, 0, 'b' }, { "plugins", 1, 0, 'p' }, { "kills", 1, 0, 'k' },
                                          { "reloads", 1, 0, 'r' }, { "json", 1, 0, 'j' }, { 0, 0, 0, 0 } };
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'b')
            bin = optarg;
        else if (c == 'p')
            fixtures = optarg;
        else if (c == 'k')
            kills = atoi(optarg);
        else if (c == 'r')
            reloads = atoi(optarg);
        else if (c == 'j')
            json = optarg;
        else {
            fprintf(stderr, "usage: bench_supervisor [--bin DIR] [--plugins DIR] [--kills N] [--reloads N] [--json FILE]\n");
            return 2;
        }
    }
    if (kills < 1 || kills > MAX_SAMPLES || reloads < 0 || reloads > MAX_SAMPLES)
        return 2;
    shm_settings_load(NULL, &set);
    snprintf(set.instance, sizeof set.instance, "bsup%d", (int)getpid());
    snprintf(dir, sizeof dir, "/tmp/bench-supervisor-%d", (int)getpid());
    snprintf(plugins, sizeof plugins, "%s/plugins", dir);
    snprintf(conf, sizeof conf, "%s/engine.conf", dir);
    mkdir(dir, 0700);
    mkdir(plugins, 0700);
    char marker[512], example[512];
    snprintf(marker, sizeof marker, "%s/tick_marker.so", fixtures);
    snprintf(example, sizeof example, "plugins/example_plugin.so");
    if (copy_over(example, "example_plugin.so") < 0)
        return 1;
    FILE *f = fopen(conf, "w");
    if (!f)
        return 1;
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; pluginsDir = \"%s\"; };\n"
            "strategies = { enabled = [\"momentum\", \"market_making\", \"ma_cross\"]; configs = {\n"
            "  ma_cross = { plugin = \"example_plugin.so\"; fast = 3; slow = 8; order_size = 1.0; }; }; };\n"
            "ingest = { synthetic = { ratePerSecond = 1000.0; }; };\n"
            "supervisor = { maxRestarts = 60; restartWindowS = 1; };\n"
            "http = { enabled = false; };\n",
            set.instance, plugins);
    fclose(f);
    char exe[512], log[256];
    snprintf(exe, sizeof exe, "%s/strategy-engine", bin);
    snprintf(log, sizeof log, "%s/supervisor.log", dir);
    fflush(NULL);
    pid_t sup = fork();
    if (sup == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        execl(exe, "strategy-engine", "-c", conf, (char *)NULL);
        _exit(127);
    }
    static const char *const all[] = { "ingest", "execd", "riskd", "strategyd.momentum", "strategyd.market_making",
                                       "strategyd.ma_cross" };
    int rc = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0] && rc == 0; i++)
        if (!wait_up(all[i], 0, 30 * SECOND)) {
            fprintf(stderr, "bench_supervisor: %s never came up (log: %s)\n", all[i], log);
            rc = 1;
        }
    static series_t s_strat = { "strategy (momentum): SIGKILL -> ready", { 0 }, 0, 0, 0 },
                    s_riskd = { "riskd: SIGKILL -> ready", { 0 }, 0, 0, 0 },
                    s_execd = { "execd: SIGKILL -> ready", { 0 }, 0, 0, 0 },
                    s_ingest = { "ingest: SIGKILL -> ready", { 0 }, 0, 0, 0 },
                    s_reload = { "plugin replaced -> new version ready", { 0 }, 0, 0, 0 };
    if (rc == 0) {
        printf("bench_supervisor: kill -> ready (%d kills of a strategy, %d of the others), reload -> ready (%d)\n",
               kills, kills / 4 ? kills / 4 : 1, reloads);
        if (kill_series(&s_strat, "strategyd.momentum", kills) < 0 ||
            kill_series(&s_riskd, "riskd", kills / 4 ? kills / 4 : 1) < 0 ||
            kill_series(&s_execd, "execd", kills / 4 ? kills / 4 : 1) < 0 ||
            kill_series(&s_ingest, "ingest", kills / 4 ? kills / 4 : 1) < 0)
            rc = 1;
    }
    for (int i = 0; i < reloads && rc == 0; i++) {
        pid_t old = (pid_t)value("supervisor_process_pid", "strategyd.ma_cross");
        int64_t t0 = clock_mono_ns();
        if (copy_over(i % 2 == 0 ? marker : example, "example_plugin.so") < 0 ||
            !wait_up("strategyd.ma_cross", old, 30 * SECOND)) {
            fprintf(stderr, "bench_supervisor: reload %d did not happen (log: %s)\n", i, log);
            rc = 1;
            break;
        }
        s_reload.ms[s_reload.n++] = (double)(clock_mono_ns() - t0) / MS;
        usleep(200000);
    }
    kill(sup, SIGTERM);
    int st;
    waitpid(sup, &st, 0);
    if (rc == 0) {
        series_t *all_s[] = { &s_strat, &s_riskd, &s_execd, &s_ingest, &s_reload };
        for (size_t i = 0; i < sizeof all_s / sizeof all_s[0]; i++)
            summarise(all_s[i]);
        bool met = s_strat.max < 500;
        printf("  goal: a killed strategy back within 500 ms: %s (max %.1f ms)\n", met ? "met" : "NOT met", s_strat.max);
        if (json) {
            FILE *j = fopen(json, "w");
            if (!j)
                return 1;
            fprintf(j, "{\n  \"benchmark\": \"supervisor\",\n  \"unit\": \"ms\",\n");
            for (size_t i = 0; i < sizeof all_s / sizeof all_s[0]; i++)
                fprintf(j, "  \"%s\": { \"n\": %d, \"median\": %.2f, \"max\": %.2f },\n", all_s[i]->what,
                        all_s[i]->n, all_s[i]->median, all_s[i]->max);
            fprintf(j, "  \"goal_strategy_back_within_500ms\": %s\n}\n", met ? "true" : "false");
            fclose(j);
        }
        if (!met)
            rc = 1;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (rc == 0 && system(cmd) != 0)
        fprintf(stderr, "bench_supervisor: cannot remove %s\n", dir);
    return rc;
}
