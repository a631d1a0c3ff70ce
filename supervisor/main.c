/* main.c -- bin/strategy-engine: the supervisor (no subcommand, or `run`)
 * and the operator's subcommands, which talk to a running supervisor over
 * its control socket: status [--json], restart NAME, reload NAME, stop.
 * README, "Running the engine". */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "shm/settings.h"
#include "supervisor/control.h"
#include "supervisor/sup.h"

#define DEFAULT_CONFIG "etc/strategy-engine.conf"

static int usage(void)
{
    fprintf(stderr,
            "usage: strategy-engine [-c CONFIG] [run]          start the engine and supervise it\n"
            "       strategy-engine [-c CONFIG] status [--json]\n"
            "       strategy-engine [-c CONFIG] restart NAME   (ingest, execd, riskd, strategyd.NAME or NAME)\n"
            "       strategy-engine [-c CONFIG] reload NAME    (a strategy: check its new version, then restart it)\n"
            "       strategy-engine [-c CONFIG] stop\n"
            "CONFIG: -c FILE, else $CONFIG_PATH, else " DEFAULT_CONFIG "\n");
    return 2;
}

/* The directory of this program: the engine's other programs sit beside it. */
static void bin_dir(char *out, size_t size)
{
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, size, "bin");
        return;
    }
    self[n] = '\0';
    snprintf(out, size, "%s", dirname(self));
}

static int client(const char *conf, const char *request, int timeout_ms)
{
    cfg_t *cfg;
    shm_settings_t set;
    if (cfg_open(&cfg, conf) < 0 || shm_settings_load(cfg, &set) < 0) {
        fprintf(stderr, "strategy-engine: %s\n", se_errmsg());
        return 1;
    }
    cfg_close(cfg);
    int rc = control_request(&set, request, stdout, stderr, timeout_ms);
    if (rc == -ECONNREFUSED) {
        fprintf(stderr, "strategy-engine: no supervisor runs for instance %s (start it: bin/strategy-engine -c %s)\n",
                set.instance, conf);
        return 3;
    }
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "strategy-engine: no complete answer from the supervisor of instance %s in %d s\n",
                set.instance, timeout_ms / 1000);
        return 1;
    }
    if (rc == -EPROTO) {
        fprintf(stderr, "strategy-engine: the supervisor of instance %s closed the connection without an "
                        "answer (is it stopping?)\n", set.instance);
        return 1;
    }
    if (rc < 0) {
        fprintf(stderr, "strategy-engine: control socket of instance %s: %s\n", set.instance, strerror(-rc));
        return 1;
    }
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    log_init("supervisor");
    const char *conf = cfg_path_from_args(argc, argv);
    if (!conf)
        conf = DEFAULT_CONFIG;
    /* The words that are not -c FILE: the subcommand and its argument. */
    const char *words[4] = { NULL, NULL, NULL, NULL };
    int nw = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "-c", 2) == 0)
            continue;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage();
        if (nw == 4)
            return usage();
        words[nw++] = argv[i];
    }
    const char *cmd = nw ? words[0] : "run";
    char request[CONTROL_LINE_MAX];
    if (strcmp(cmd, "run") == 0 && nw <= 1) {
        char dir[512];
        bin_dir(dir, sizeof dir);
        return sup_run(conf, dir);
    }
    if (strcmp(cmd, "status") == 0 && (nw == 1 || (nw == 2 && strcmp(words[1], "--json") == 0))) {
        snprintf(request, sizeof request, "status%s", nw == 2 ? " --json" : "");
        return client(conf, request, 10000);
    }
    if ((strcmp(cmd, "restart") == 0 || strcmp(cmd, "reload") == 0) && nw == 2) {
        snprintf(request, sizeof request, "%s %.200s", cmd, words[1]);
        return client(conf, request, 90000);
    }
    if (strcmp(cmd, "stop") == 0 && nw == 1)
        return client(conf, "stop", 600000);
    return usage();
}
