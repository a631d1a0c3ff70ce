/* test_supervisor.c -- bin/strategy-engine with the real processes under a
 * synthetic feed: each kind of process SIGKILLed under load comes back while
 * the rest keeps running, and no order is lost or duplicated downstream; a
 * plugin replaced on disk is hot-reloaded (and a broken one refused); a
 * strategy added to or removed from the config is started or stopped alone;
 * a plugin that crashes on every tick backs off and is marked failed; a
 * graceful stop leaves no process and no segment; a killed supervisor leaves
 * no orphan and a new one takes over. Restart and reload times are printed
 * (the 500 ms goal is measured by `make bench-supervisor`). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/stats.h"
#include "supervisor/ready.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

#define MS 1000000LL
#define SECOND 1000000000LL

static char inst[40], dir[128], conf[192], plugins[192], logpath[192];

static void write_file(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(rename(tmp, path), 0); /* as an operator should: atomically */
}

/* Copies src to dir/name through a temporary file and a rename, the way a
 * new build must be installed while the old one is mapped. */
static void install(const char *src, const char *name)
{
    char dst[256], tmp[256];
    snprintf(dst, sizeof dst, "%s/%s", plugins, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", plugins, name);
    int in = open(src, O_RDONLY), out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    ck_assert_msg(in >= 0, "cannot open %s", src);
    ck_assert_int_ge(out, 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    close(in);
    ck_assert_int_eq(close(out), 0);
    ck_assert_int_eq(rename(tmp, dst), 0);
}

static const char *fixture(const char *name)
{
    static char path[256];
    const char *d = getenv("SE_TEST_PLUGINS");
    snprintf(path, sizeof path, "%s/%s", d && *d ? d : "build/release/tests/strategyd/plugins", name);
    return path;
}

/* The config: strategies listed in `enabled` (a libconfig array body) and
 * extra strategy groups in `configs`. */
static void write_config(const char *enabled, const char *configs)
{
    char text[4096];
    snprintf(text, sizeof text,
             "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; signalTtlMs = 0;\n"
             "           pluginsDir = \"%s\"; hotReload = true; };\n"
             "strategies = { enabled = [%s]; configs = {\n"
             "  momentum = { lookback_period = 5; threshold = 0.0005; max_position = 4.0; order_size = 1.0; };\n"
             "  market_making = { spread = 0.002; order_size = 1.0; max_inventory = 4.0; refresh_ms = 100; };\n"
             "  scalping = { entry_ticks = 3; entry_threshold = 0.0005; order_size = 1.0; cooldown_ms = 100; };\n"
             "  ma_cross = { plugin = \"example_plugin.so\"; fast = 3; slow = 8; order_size = 1.0; };\n"
             "  %s\n"
             "}; };\n"
             "strategyd = { signalRingCapacity = 65536; };\n"
             "riskd = { orderRingCapacity = 65536; riskRingCapacity = 65536; };\n"
             "risk = { maxPositionSize = 1000.0; maxOrdersPerSecond = 100000; maxOrdersPerMinute = 1000000;\n"
             "         priceCollarPct = 50.0; };\n"
             "execution = { sim = { latencyUs = 0; }; };\n"
             "ingest = { feed = \"synthetic\"; ringCapacity = 262144;\n"
             "           synthetic = { symbols = [\"BTC-USD\", \"ETH-USD\"]; ratePerSecond = 400.0; volatility = 0.001; }; };\n"
             "supervisor = { maxRestarts = 3; restartWindowS = 60; backoffInitialMs = 50; backoffMaxMs = 400;\n"
             "               stopTimeoutMs = 3000; };\n"
             "http = { enabled = false; };\n",
             inst, plugins, enabled, configs ? configs : "");
    write_file(conf, text);
}

static void setup(void)
{
    snprintf(inst, sizeof inst, "t%d-s", (int)getpid());
    snprintf(dir, sizeof dir, "/tmp/se-sup-%d", (int)getpid());
    snprintf(plugins, sizeof plugins, "%s/plugins", dir);
    snprintf(conf, sizeof conf, "%s/engine.conf", dir);
    snprintf(logpath, sizeof logpath, "%s/supervisor.log", dir);
    mkdir(dir, 0700);
    mkdir(plugins, 0700);
    install("plugins/example_plugin.so", "example_plugin.so");
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    test_ring_cleanup();
}

/* ---- the supervisor and its stats block -------------------------------------- */

static pid_t start_supervisor(void)
{
    char exe[512];
    snprintf(exe, sizeof exe, "%s/strategy-engine", pf_bin_dir());
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        execl(exe, "strategy-engine", "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* A gauge or counter of stats.supervisor; -1 when absent. */
static double metric(const char *name, const char *labels)
{
    shm_settings_t set;
    double v;
    ck_assert_int_eq(shm_settings_load(NULL, &set), 0);
    snprintf(set.instance, sizeof set.instance, "%.32s", inst);
    return ready_stats_value(&set, "supervisor", name, labels, &v) == 0 ? v : -1;
}

static double pmetric(const char *name, const char *process)
{
    char labels[STATS_LABELS_MAX];
    snprintf(labels, sizeof labels, "process=\"%s\"", process);
    return metric(name, labels);
}

static pid_t pid_of(const char *process)
{
    return (pid_t)pmetric("supervisor_process_pid", process);
}

static bool up(const char *process)
{
    return pmetric("supervisor_process_up", process) == 1;
}

/* Polls until cond(arg) or the deadline; returns the time it took (ns) or -1. */
static int64_t wait_until(bool (*cond)(const void *), const void *arg, int64_t timeout)
{
    int64_t t0 = clock_mono_ns();
    while (clock_mono_ns() - t0 < timeout) {
        if (cond(arg))
            return clock_mono_ns() - t0;
        usleep(1000);
    }
    return -1;
}

static const char *const *wanted; /* NULL-terminated, for all_up */

static bool all_up(const void *arg)
{
    (void)arg;
    for (int i = 0; wanted[i]; i++)
        if (!up(wanted[i]))
            return false;
    return true;
}

typedef struct {
    const char *process;
    pid_t old;
} back_t;

static bool back_up(const void *arg)
{
    const back_t *b = arg;
    pid_t now = pid_of(b->process);
    return now > 0 && now != b->old && up(b->process);
}

/* ---- rings ---------------------------------------------------------------- */

static uint64_t head_of(const char *ring)
{
    char name[SHM_NAME_MAX];
    shm_segment_t seg;
    if (shm_name(name, sizeof name, NULL, inst, ring) < 0 || shm_segment_map(&seg, name, false) < 0)
        return 0;
    uint64_t h = shm__load_acquire(&seg.hdr->prod_seq);
    shm_segment_unmap(&seg);
    return h;
}

typedef struct {
    const char *ring;
    uint64_t past;
} moving_t;

static bool moved(const void *arg)
{
    const moving_t *m = arg;
    return head_of(m->ring) > m->past;
}

/* Copies every record of ring into a malloc'd array; *n records. */
static void *read_ring(const char *ring, size_t rec_size, uint64_t *n)
{
    char name[SHM_NAME_MAX];
    shm_segment_t seg;
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, ring), 0);
    ck_assert_msg(shm_segment_map(&seg, name, false) == 0, "ring %s missing", ring);
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    ck_assert_msg(head <= seg.capacity, "ring %s wrapped: enlarge it", ring);
    char *out = malloc(head * rec_size + 1);
    ck_assert_ptr_nonnull(out);
    for (uint64_t i = 0; i < head; i++)
        ck_assert_int_eq(shm_peek(&seg, i, out + i * rec_size), SHM_OK);
    shm_segment_unmap(&seg);
    *n = head;
    return out;
}

static bool signal_has_marker(const void *arg)
{
    (void)arg;
    uint64_t n;
    se_signal_rec_t *s = read_ring("sig.ma_cross", sizeof *s, &n);
    bool found = false;
    for (uint64_t i = 0; i < n && !found; i++)
        found = s[i].action == SE_ACTION_NEW && s[i].qty == 0.125;
    free(s);
    return found;
}

/* Every NEW order in `ord` is there once and was answered by execd; every
 * NEW signal of the strategies was either ordered or refused by riskd. */
static void check_no_order_lost_or_duplicated(const char *const *strategies)
{
    uint64_t nord, nexe, nrisk;
    se_order_rec_t *ord = read_ring("ord", sizeof *ord, &nord);
    se_exec_rec_t *exe = read_ring("exe", sizeof *exe, &nexe);
    se_risk_rec_t *risk = read_ring("risk", sizeof *risk, &nrisk);
    ck_assert_uint_gt(nord, 10);
    uint64_t news = 0;
    for (uint64_t i = 0; i < nord; i++) {
        if (ord[i].action != SE_ACTION_NEW)
            continue;
        news++;
        for (uint64_t k = i + 1; k < nord; k++)
            ck_assert_msg(ord[k].action != SE_ACTION_NEW ||
                              strcmp(ord[k].client_order_id, ord[i].client_order_id) != 0,
                          "order %s sent twice", ord[i].client_order_id);
        bool answered = false;
        for (uint64_t k = 0; k < nexe && !answered; k++)
            answered = exe[k].action != SE_ACTION_CANCEL &&
                       strcmp(exe[k].client_order_id, ord[i].client_order_id) == 0;
        ck_assert_msg(answered, "order %s never reached execd", ord[i].client_order_id);
    }
    for (int st = 0; strategies[st]; st++) {
        char ring[64];
        uint64_t nsig;
        snprintf(ring, sizeof ring, "sig.%s", strategies[st]);
        se_signal_rec_t *sig = read_ring(ring, sizeof *sig, &nsig);
        for (uint64_t i = 0; i < nsig; i++) {
            if (sig[i].action != SE_ACTION_NEW)
                continue;
            bool done = false;
            for (uint64_t k = 0; k < nord && !done; k++)
                done = strcmp(ord[k].client_order_id, sig[i].client_order_id) == 0;
            for (uint64_t k = 0; k < nrisk && !done; k++)
                done = risk[k].kind == SE_RISK_REJECT && strcmp(risk[k].client_order_id, sig[i].client_order_id) == 0;
            ck_assert_msg(done, "signal %s of %s was neither ordered nor refused", sig[i].client_order_id,
                          strategies[st]);
        }
        free(sig);
    }
    printf("supervisor: %llu orders (%llu new), %llu execution reports: none lost, none twice\n",
           (unsigned long long)nord, (unsigned long long)news, (unsigned long long)nexe);
    free(ord);
    free(exe);
    free(risk);
}

/* Every process logs to the supervisor's stderr: a sanitizer report of any
 * of them (the asan build) fails the test. */
static void assert_log_clean(void)
{
    FILE *f = fopen(logpath, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    while (fgets(line, sizeof line, f))
        ck_assert_msg(!strstr(line, "Sanitizer") && !strstr(line, "runtime error:"), "%s", line);
    fclose(f);
}

static int stop_supervisor(pid_t sup)
{
    kill(sup, SIGTERM);
    int st = test_wait(sup);
    assert_log_clean();
    return st;
}

static bool no_segment_left(void)
{
    char lead[64], cmd[160];
    snprintf(lead, sizeof lead, "se.%s.", inst);
    snprintf(cmd, sizeof cmd, "ls /dev/shm | grep -q '^%s'", lead);
    return system(cmd) != 0;
}

static void dump_log_on_failure(void)
{
    if (!getenv("SE_TEST_VERBOSE"))
        return;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat %s >&2", logpath);
    if (system(cmd) != 0)
        fprintf(stderr, "no log\n");
}

static const char *const everyone[] = { "ingest", "execd", "riskd", "strategyd.momentum",
                                        "strategyd.market_making", "strategyd.ma_cross", NULL };

/* ---- tests ---------------------------------------------------------------- */

START_TEST(sigkilled_process_of_each_kind_should_come_back_and_lose_no_order)
{
    write_config("\"momentum\", \"market_making\", \"ma_cross\"", NULL);
    pid_t sup = start_supervisor();
    wanted = everyone;
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "not every process came up");
    moving_t orders = { "ord", 5 };
    ck_assert_msg(wait_until(moved, &orders, 30 * SECOND) >= 0, "no orders flow");

    static const char *const victims[] = { "strategyd.momentum", "riskd", "execd", "ingest",
                                           "strategyd.ma_cross" };
    for (size_t v = 0; v < sizeof victims / sizeof victims[0]; v++) {
        pid_t before[8];
        for (int i = 0; everyone[i]; i++)
            before[i] = pid_of(everyone[i]);
        back_t b = { victims[v], pid_of(victims[v]) };
        ck_assert_int_gt(b.old, 0);
        ck_assert_int_eq(kill(b.old, SIGKILL), 0);
        int64_t took = wait_until(back_up, &b, 20 * SECOND);
        dump_log_on_failure();
        ck_assert_msg(took >= 0, "%s did not come back", victims[v]);
        printf("supervisor: %-22s SIGKILL -> ready again in %.1f ms\n", victims[v], (double)took / MS);
        for (int i = 0; everyone[i]; i++)
            if (strcmp(everyone[i], victims[v]) != 0)
                ck_assert_msg(pid_of(everyone[i]) == before[i], "%s was restarted when %s died", everyone[i],
                              victims[v]);
        /* The pipeline resumes: new orders reach execd. */
        moving_t again = { "exe", head_of("exe") + 3 };
        ck_assert_msg(wait_until(moved, &again, 30 * SECOND) >= 0, "the pipeline did not resume after %s",
                      victims[v]);
    }
    ck_assert_double_eq(pmetric("supervisor_process_restarts_total", "riskd"), 1);
    /* Pause the feed, let everything settle, and account for every order. */
    pid_t ingest = pid_of("ingest");
    ck_assert_int_eq(kill(ingest, SIGSTOP), 0);
    ck_assert_msg(pf_wait_quiet(inst, 30), "the pipeline did not settle");
    static const char *const strategies[] = { "momentum", "market_making", "ma_cross", NULL };
    check_no_order_lost_or_duplicated(strategies);
    kill(ingest, SIGCONT);
    ck_assert_int_eq(stop_supervisor(sup), 0);
    ck_assert(no_segment_left());
}
END_TEST

/* True when a line of the supervisor's log contains text. */
static bool log_has(const char *text)
{
    FILE *f = fopen(logpath, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

START_TEST(replaced_plugin_should_be_reloaded_alone_and_a_broken_one_refused)
{
    write_config("\"momentum\", \"ma_cross\"", NULL);
    pid_t sup = start_supervisor();
    static const char *const procs[] = { "ingest", "execd", "riskd", "strategyd.momentum", "strategyd.ma_cross",
                                         NULL };
    wanted = procs;
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "not every process came up");
    pid_t riskd = pid_of("riskd"), execd = pid_of("execd"), ingest = pid_of("ingest");
    pid_t momentum = pid_of("strategyd.momentum");
    ck_assert(!signal_has_marker(NULL));

    /* A new build of example_plugin.so (the marker plugin stands in for it). */
    back_t b = { "strategyd.ma_cross", pid_of("strategyd.ma_cross") };
    install(fixture("tick_marker.so"), "example_plugin.so");
    int64_t took = wait_until(back_up, &b, 30 * SECOND);
    dump_log_on_failure();
    ck_assert_msg(took >= 0, "ma_cross was not reloaded");
    printf("supervisor: plugin replaced -> new version ready in %.1f ms\n", (double)took / MS);
    ck_assert_msg(wait_until(signal_has_marker, NULL, 30 * SECOND) >= 0, "the new version's signals never came");
    ck_assert_double_eq(metric("plugin_reloads_total", "strategy=\"ma_cross\""), 1);
    ck_assert_int_eq(pid_of("riskd"), riskd);
    ck_assert_int_eq(pid_of("execd"), execd);
    ck_assert_int_eq(pid_of("ingest"), ingest);
    ck_assert_int_eq(pid_of("strategyd.momentum"), momentum);

    /* A build whose init fails: refused, the running version stays. */
    pid_t marker = pid_of("strategyd.ma_cross");
    install(fixture("init_fails.so"), "example_plugin.so");
    int64_t t0 = clock_mono_ns();
    while (metric("plugin_reload_failures_total", "strategy=\"ma_cross\"") < 1 && clock_mono_ns() - t0 < 30 * SECOND)
        usleep(2000);
    ck_assert_double_eq(metric("plugin_reload_failures_total", "strategy=\"ma_cross\""), 1);
    ck_assert_int_eq(pid_of("strategyd.ma_cross"), marker);
    ck_assert(up("strategyd.ma_cross"));
    ck_assert_double_eq(metric("plugin_reloads_total", "strategy=\"ma_cross\""), 1);

    /* The config changes: scalping added, momentum removed; nothing else moves. */
    write_config("\"ma_cross\", \"scalping\"", NULL);
    static const char *const after[] = { "strategyd.scalping", NULL };
    wanted = after;
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "the added strategy did not start");
    ck_assert_msg(pf_wait_readers(inst, "sig.scalping", 1, 30), "riskd does not read the added strategy");
    t0 = clock_mono_ns();
    while (pmetric("supervisor_process_managed", "strategyd.momentum") != 0 && clock_mono_ns() - t0 < 30 * SECOND)
        usleep(2000);
    ck_assert_double_eq(pmetric("supervisor_process_managed", "strategyd.momentum"), 0);
    ck_assert(!shm_pid_alive((uint32_t)momentum, 0));
    ck_assert_int_eq(pid_of("riskd"), riskd);
    ck_assert_int_eq(pid_of("execd"), execd);
    ck_assert_int_eq(pid_of("ingest"), ingest);
    ck_assert_int_eq(pid_of("strategyd.ma_cross"), marker);
    /* A config that no longer parses changes nothing, and says why. */
    pid_t scalping = pid_of("strategyd.scalping");
    write_file(conf, "strategies = { enabled = [\"ma_cross\"; };\n");
    int64_t t1 = clock_mono_ns();
    while (!log_has("configuration not reloaded") && clock_mono_ns() - t1 < 30 * SECOND)
        usleep(2000);
    ck_assert(log_has("configuration not reloaded"));
    ck_assert_int_eq(pid_of("strategyd.scalping"), scalping);
    ck_assert_int_eq(pid_of("riskd"), riskd);
    ck_assert(up("strategyd.scalping") && up("strategyd.ma_cross") && up("riskd"));
    ck_assert_int_eq(pid_of("strategyd.ma_cross"), marker);
    ck_assert_int_eq(stop_supervisor(sup), 0);
}
END_TEST

/* The supervisor's log lines about the crasher's deaths, in order: the
 * restart delays it chose. */
static int restart_delays(int *out, int max, bool *failed)
{
    FILE *f = fopen(logpath, "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int n = 0;
    *failed = false;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"process\":\"strategyd.crasher\""))
            continue;
        char *d = strstr(line, "\"restart_in_ms\":");
        if (strstr(line, "process died; restarting it") && d && n < max)
            out[n++] = (int)strtod(d + 16, NULL);
        if (strstr(line, "marked failed"))
            *failed = true;
    }
    fclose(f);
    return n;
}

static bool crasher_failed(const void *arg)
{
    (void)arg;
    return pmetric("supervisor_process_failed", "strategyd.crasher") == 1;
}

START_TEST(plugin_crashing_on_every_tick_should_back_off_then_be_failed_alone)
{
    install(fixture("crash_on_tick.so"), "crasher.so");
    write_config("\"momentum\", \"crasher\"", "crasher = { plugin = \"crasher.so\"; fast = 3; slow = 8; };");
    pid_t sup = start_supervisor();
    static const char *const rest[] = { "ingest", "execd", "riskd", "strategyd.momentum", NULL };
    wanted = rest;
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "not every process came up");
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = pid_of(rest[i]);
    ck_assert_msg(wait_until(crasher_failed, NULL, 60 * SECOND) >= 0, "the crasher was never marked failed");
    /* maxRestarts = 3: three restarts, after 0, 50 and 100 ms (backoff), then failed. */
    ck_assert_double_eq(pmetric("supervisor_process_restarts_total", "strategyd.crasher"), 3);
    ck_assert_double_eq(pmetric("supervisor_process_up", "strategyd.crasher"), 0);
    int delays[8];
    bool failed;
    ck_assert_int_eq(restart_delays(delays, 8, &failed), 3);
    ck_assert_int_eq(delays[0], 0);
    ck_assert_int_eq(delays[1], 50);
    ck_assert_int_eq(delays[2], 100);
    ck_assert(failed);
    /* `status --json` says so too. */
    char cmd[512], out[8192] = "";
    snprintf(cmd, sizeof cmd, "%s/strategy-engine -c %s status --json", pf_bin_dir(), conf);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(strstr(out, "\"name\":\"strategyd.crasher\",\"kind\":\"strategy\",\"strategy\":\"crasher\","
                              "\"pid\":0,\"state\":\"failed\",\"restarts\":3") != NULL, "%s", out);
    /* The rest never noticed. */
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pid_of(rest[i]), pids[i]);
        ck_assert(up(rest[i]));
    }
    /* A fixed build of the failed strategy brings it back. */
    install("plugins/example_plugin.so", "crasher.so");
    static const char *const fixed[] = { "strategyd.crasher", NULL };
    wanted = fixed;
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "the fixed strategy did not start");
    ck_assert_double_eq(pmetric("supervisor_process_failed", "strategyd.crasher"), 0);
    ck_assert_double_eq(metric("plugin_reloads_total", "strategy=\"crasher\""), 1);
    ck_assert_int_eq(stop_supervisor(sup), 0);
}
END_TEST

/* Runs `strategy-engine -c CONF <args>`; its exit status. With expect, its
 * output must contain it. */
static int command(const char *args, const char *expect)
{
    char cmd[512], out[8192] = "";
    snprintf(cmd, sizeof cmd, "%s/strategy-engine -c %s %s 2>&1", pf_bin_dir(), conf, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    ck_assert_msg(!expect || strstr(out, expect), "%s: %s", args, out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool all_gone(const void *arg)
{
    const pid_t *pids = arg;
    for (int i = 0; pids[i]; i++)
        if (shm_pid_alive((uint32_t)pids[i], 0))
            return false;
    return true;
}

/* A datagram socket standing in for systemd's NOTIFY_SOCKET. */
static int notify_socket(char *path, size_t size)
{
    snprintf(path, size, "%s/notify.sock", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(path), sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void expect_notification(int fd, const char *what)
{
    struct pollfd p = { fd, POLLIN, 0 };
    ck_assert_msg(poll(&p, 1, 30000) == 1, "no %s from the supervisor", what);
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, what);
}

/* True when process pid's environment names variable. */
static bool has_env(pid_t pid, const char *variable)
{
    char path[64], env[65536];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(env, 1, sizeof env - 1, f);
    fclose(f);
    size_t len = strlen(variable);
    for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
        env[n] = '\0';
        if (strncmp(env + i, variable, len) == 0 && env[i + len] == '=')
            return true;
    }
    return false;
}

START_TEST(graceful_stop_should_leave_no_process_and_no_segment)
{
    write_config("\"momentum\", \"market_making\", \"ma_cross\"", NULL);
    char sock[256];
    int nfd = notify_socket(sock, sizeof sock);
    setenv("NOTIFY_SOCKET", sock, 1);
    pid_t sup = start_supervisor();
    unsetenv("NOTIFY_SOCKET");
    wanted = everyone;
    expect_notification(nfd, "READY=1"); /* once every process has started */
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "not every process came up");
    ck_assert(!has_env(pid_of("strategyd.momentum"), "NOTIFY_SOCKET"));
    ck_assert(!has_env(pid_of("riskd"), "NOTIFY_SOCKET"));
    moving_t orders = { "ord", 3 };
    ck_assert_msg(wait_until(moved, &orders, 30 * SECOND) >= 0, "no orders flow");
    pid_t pids[8] = { 0 };
    for (int i = 0; everyone[i]; i++)
        pids[i] = pid_of(everyone[i]);
    ck_assert_int_eq(stop_supervisor(sup), 0);
    expect_notification(nfd, "STOPPING=1");
    close(nfd);
    ck_assert(all_gone(pids));
    ck_assert(no_segment_left());
}
END_TEST

START_TEST(killed_supervisor_should_leave_no_orphan_and_a_new_one_take_over)
{
    write_config("\"momentum\", \"market_making\", \"ma_cross\"", NULL);
    pid_t sup = start_supervisor();
    wanted = everyone;
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "not every process came up");
    /* A second supervisor of the same instance refuses to start. */
    ck_assert_int_eq(test_wait(start_supervisor()), 1);
    pid_t pids[8] = { 0 };
    for (int i = 0; everyone[i]; i++)
        pids[i] = pid_of(everyone[i]);
    ck_assert_int_eq(kill(sup, SIGKILL), 0);
    ck_assert_int_eq(test_wait(sup), 128 + SIGKILL);
    ck_assert_msg(wait_until(all_gone, pids, 10 * SECOND) >= 0, "processes outlived their supervisor");
    /* A new supervisor takes over the instance and its segments. */
    sup = start_supervisor();
    ck_assert_msg(wait_until(all_up, NULL, 30 * SECOND) >= 0, "the new supervisor did not bring everything up");
    moving_t orders = { "ord", head_of("ord") + 3 };
    ck_assert_msg(wait_until(moved, &orders, 30 * SECOND) >= 0, "no orders flow after the takeover");
    /* The operator's commands answer once the process is ready again. */
    pid_t execd = pid_of("execd"), momentum = pid_of("strategyd.momentum");
    ck_assert_int_eq(command("restart execd", "execd ready"), 0);
    ck_assert_int_ne(pid_of("execd"), execd);
    ck_assert(up("execd"));
    ck_assert_int_eq(command("reload momentum", "strategyd.momentum ready"), 0);
    ck_assert_int_ne(pid_of("strategyd.momentum"), momentum);
    ck_assert_double_eq(metric("plugin_reloads_total", "strategy=\"momentum\""), 1);
    ck_assert_int_eq(command("reload riskd", NULL), 1);
    ck_assert_int_eq(command("restart nosuch", NULL), 1);
    ck_assert_int_eq(command("status", "strategyd.market_making"), 0);
    /* `stop` returns once everything has stopped. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/strategy-engine -c %s stop > /dev/null", pf_bin_dir(), conf);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(test_wait(sup), 0);
    assert_log_clean();
    ck_assert(no_segment_left());
}
END_TEST

int main(void)
{
    Suite *s = suite_create("supervisor");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, sigkilled_process_of_each_kind_should_come_back_and_lose_no_order);
    tcase_add_test(tc, replaced_plugin_should_be_reloaded_alone_and_a_broken_one_refused);
    tcase_add_test(tc, plugin_crashing_on_every_tick_should_back_off_then_be_failed_alone);
    tcase_add_test(tc, graceful_stop_should_leave_no_process_and_no_segment);
    tcase_add_test(tc, killed_supervisor_should_leave_no_orphan_and_a_new_one_take_over);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
