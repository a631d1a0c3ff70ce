/* main.c -- bin/strategyd: hosts one strategy instance (-s NAME, one of
 * strategies.enabled) in its own process, so a strategy that crashes or hangs
 * never takes the rest of the engine with it. Serves /health, /metrics and
 * /loglevel on strategyd.httpBasePort (9100) + the strategy's index in
 * strategies.enabled; SIGUSR1 cycles the log level. Strategy code (a plugin's
 * constructor included) runs only once the process is confined (sandbox.h),
 * here and under --check. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"
#include "shm/settings.h"
#include "strategyd/notify.h"
#include "strategyd/runner.h"
#include "strategyd/sandbox.h"

static volatile sig_atomic_t stop, running;

static void on_stop(int sig)
{
    (void)sig;
    /* Still starting, perhaps waiting for ring `in` with no ingest to make
     * it: nothing to stop cleanly yet, and the wait would never see the flag. */
    if (!running)
        _exit(0);
    stop = 1;
}

/* The event loop as host_run wants it: a plugin may run it under its own
 * runtime's frame (strategy.h, strat_plugin_run). */
typedef struct {
    runner_t *r;
    const volatile sig_atomic_t *stop;
} loop_t;

static int loop(void *arg)
{
    loop_t *l = arg;
    return runner_run(l->r, l->stop);
}

static const char *strategy_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "-s", 2) == 0 && argv[i][2])
            return argv[i] + 2;
    }
    return NULL;
}

/* The strategy's index in strategies.enabled (its HTTP port's offset); 0
 * when absent, which runner_open then refuses with the reason. */
static int enabled_index(const cfg_t *cfg, const char *name)
{
    const char **enabled;
    int n;
    if (cfg_get_string_list(cfg, "strategies.enabled", &enabled, &n) < 0)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(enabled[i], name) == 0)
            return i;
    return 0;
}

/* Confines the process (sandbox.h) unless strategyd.sandbox is false, and
 * says in one line what is in force. set: where the rings are (NULL for
 * --check, which touches none). Returns 0 or a negative code. */
static int confine(const cfg_t *cfg, const shm_settings_t *set, const char *name)
{
    char dir[SHM_NAME_MAX + 32];
    bool on;
    int rc = sandbox_enabled(cfg, &on);
    if (rc < 0)
        return rc;
    if (!on) {
        log_warn("SANDBOX OFF: strategy code runs unconfined (strategyd.sandbox = false): it can signal, "
                 "trace and write as this user; for debugging only", LOG_STR("strategy", name));
        return 0;
    }
    /* It must exist before the rule can name it; ingest may not have run yet. */
    if (set && (rc = shm_registry_dir_make(set->prefix, set->instance, SHM_KIND_BROADCAST, &set->perm, dir,
                                           sizeof dir)) < 0)
        return rc;
    sandbox_status_t st;
    if ((rc = sandbox_apply(&st, set ? dir : NULL)) < 0)
        return rc;
    char what[200];
    sandbox_describe(&st, what, sizeof what);
    /* Without Landlock, file writes and TCP connects are free: a warning. */
    log_write(st.landlock_abi > 0 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "strategy code confined",
              (const log_field_t[]){ LOG_STR("strategy", name), LOG_STR("sandbox", what), LOG_END });
    return 0;
}

/* The --check child: load, create and init the strategy under the same
 * confinement as a running one, touching no ring, stats block or port (the
 * strategy may be running). Its own log line says why it refused. */
static __attribute__((noreturn)) void check_child(const char *path, const char *name)
{
    cfg_t *cfg = NULL;
    host_t h;
    /* A crash in the candidate's constructor is the check's answer, not a core file. */
    setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
    int rc = cfg_open(&cfg, path);
    if (rc == 0)
        rc = host_init(&h, cfg, name);
    if (rc == 0)
        rc = confine(cfg, NULL, name);
    if (rc == 0)
        rc = host_check(&h);
    if (rc < 0)
        log_error("strategy check failed", LOG_STR("strategy", name), LOG_STR("error", se_errmsg()));
    cfg_close(cfg);
    exit(rc < 0 ? 1 : 0); /* exit, not _exit: under ASan, LeakSanitizer checks the child too */
}

/* --check: what a supervisor runs before it restarts a strategy on a new
 * plugin or script. The candidate is loaded, created and initialised in a
 * child process (check_child), so a hostile constructor runs confined and a
 * crashing one fails the check instead of the checker; this process reports
 * the child's verdict in one line and exits 0 or 1. */
static int check_only(const char *path, const char *name)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        log_error("strategy check failed", LOG_STR("strategy", name),
                  LOG_STR("error", "cannot fork the checking process"), LOG_INT("errno", errno));
        return 1;
    }
    if (pid == 0)
        check_child(path, name);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            log_error("strategy check failed", LOG_STR("strategy", name),
                      LOG_STR("error", "lost the checking process"), LOG_INT("errno", errno));
            return 1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        log_info("strategy check passed", LOG_STR("strategy", name));
        return 0;
    }
    char verdict[96];
    if (WIFSIGNALED(status))
        snprintf(verdict, sizeof verdict, "the checking process was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(verdict, sizeof verdict, "the checking process exited with status %d", WEXITSTATUS(status));
    log_error("strategy check failed", LOG_STR("strategy", name), LOG_STR("verdict", verdict));
    return 1;
}

/* Everything strategyd itself needs is opened before the confinement (its
 * stats block, its signal ring, systemd's socket); the HTTP server starts
 * after it, so its threads are confined too (binding a port stays allowed);
 * strategy code is loaded last (runner_start). */
static int start(runner_t *r, svc_t *svc, const cfg_t *cfg, const shm_settings_t *set, const char *name)
{
    int rc = runner_prepare(r, cfg, set, name);
    if (rc < 0)
        return rc;
    if (notify_preopen() < 0)
        log_warn("systemd notifications will fail under the sandbox", LOG_STR("strategy", name),
                 LOG_STR("error", se_errmsg()));
    if ((rc = confine(cfg, set, name)) < 0 || (rc = svc_start(svc, &r->stats)) < 0)
        return rc;
    return runner_start(r);
}

int main(int argc, char **argv)
{
    const char *name = strategy_arg(argc, argv);
    const char *path = cfg_path_from_args(argc, argv);
    char process[64];
    snprintf(process, sizeof process, "strategyd.%s", name ? name : "?");
    svc_early(process);
    if (!name || !path) {
        fprintf(stderr, "usage: strategyd -c CONFIG -s STRATEGY [--check]   (CONFIG_PATH may replace -c)\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--check") == 0)
            return check_only(path, name);
    cfg_t *cfg = NULL;
    shm_settings_t set;
    runner_t r;
    memset(&r, 0, sizeof r);
    svc_t *svc = NULL;
    svc_config_t sc = { process, "strategyd", "strategyd.httpBasePort", 9100, 0 };
    if (cfg_open(&cfg, path) < 0 || shm_settings_load(cfg, &set) < 0 ||
        (sc.port_offset = enabled_index(cfg, name), svc_open(&svc, cfg, &sc) < 0)) {
        log_error("strategyd cannot start", LOG_STR("strategy", name), LOG_STR("error", se_errmsg()));
        cfg_close(cfg);
        return 1;
    }
    cfg_warn_unknown(cfg);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc;
    if ((rc = start(&r, svc, cfg, &set, name)) < 0) {
        log_error("strategyd cannot start", LOG_STR("strategy", name), LOG_STR("error", se_errmsg()));
        svc_close(svc);
        runner_close(&r);
        cfg_close(cfg);
        return 1;
    }
    log_info("strategy started", LOG_STR("strategy", name), LOG_STR("source", r.strat.source),
             LOG_BOOL("observation", r.observe), LOG_STR("signals", r.sig.seg.name));
    running = 1;
    svc_ready(svc);
    rc = host_run(&r.strat, loop, &(loop_t){ &r, &stop });
    svc_close(svc);
    log_info("strategy stopped", LOG_STR("strategy", name));
    runner_close(&r);
    cfg_close(cfg);
    return rc < 0 ? 1 : 0;
}
