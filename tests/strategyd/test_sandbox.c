/* test_sandbox.c -- strategyd's confinement, attacked (strategyd/sandbox.h,
 * README "What a strategy's code can and cannot do"): a hostile plugin
 * (plugins/hostile.c) tries, from its constructor, init and first tick, to
 * kill, ptrace and read another process, reach an abstract unix socket and a
 * TCP port, write files outside /dev/shm and chmod one; each attempt must
 * fail while strategyd keeps running. A plugin outside engine.pluginsDir is
 * refused before its constructor runs; --check survives a crashing
 * constructor and confines a hostile one; the protections hold for an
 * unprivileged user; systemd notifications, HTTP and SIGUSR1 still work
 * confined. Runs bin/strategyd ($SE_BIN_DIR) on the fixtures of
 * $SE_TEST_PLUGINS. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "tests/support/http_client.h"
#include "tests/support/pipeline_fixture.h"

#define NOBODY 65534

static char dir[64], inst[40], conf[160], rings[96], log_path[160];
static char target[160], newfile[160], modefile[160];
static pid_t victim;
static int unix_fd = -1, tcp_fd = -1;
static bool landlock_net; /* the kernel can deny TCP connect (Landlock ABI >= 4) */

static void copy(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    ck_assert_msg(system(cmd) == 0, "%s", cmd);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The file's text (at most size - 1 bytes); "" when it does not exist. */
static const char *read_text(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static pid_t start_victim(uid_t uid)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (uid && (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
            _exit(3);
        for (;;)
            pause();
    }
    return pid;
}

static void setup(void)
{
    const char *plugins = getenv("SE_TEST_PLUGINS") && *getenv("SE_TEST_PLUGINS")
                              ? getenv("SE_TEST_PLUGINS") : "build/release/tests/strategyd/plugins";
    char p[512], q[512];
    strcpy(dir, "/tmp/se-sbx-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/plugins", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/outside", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    static const char *const fixtures[] = { "hostile.so", "ctor_segv.so" };
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", plugins, fixtures[i]);
        snprintf(q, sizeof q, "%s/plugins/%s", dir, fixtures[i]);
        copy(p, q);
    }
    snprintf(p, sizeof p, "%s/hostile.so", plugins);
    snprintf(q, sizeof q, "%s/outside/hostile.so", dir);
    copy(p, q);
    snprintf(p, sizeof p, "%s/plugins/link.so", dir);
    ck_assert_int_eq(symlink("../outside/hostile.so", p), 0);

    snprintf(inst, sizeof inst, "t%d-sbx", (int)getpid());
    snprintf(conf, sizeof conf, "%s/engine.conf", dir);
    snprintf(log_path, sizeof log_path, "%s/strategyd.log", dir);
    snprintf(rings, sizeof rings, "/dev/shm/se.%s", inst);
    snprintf(target, sizeof target, "%s/journal", dir);
    snprintf(newfile, sizeof newfile, "%s/new-file", dir);
    snprintf(modefile, sizeof modefile, "%s/private", dir);
    write_file(target, "original\n");
    write_file(modefile, "secret\n");
    ck_assert_int_eq(chmod(modefile, 0600), 0);

    victim = start_victim(0);
    char name[64];
    snprintf(name, sizeof name, "se-sbx-%d", (int)getpid());
    struct sockaddr_un ua = { .sun_family = AF_UNIX };
    memcpy(ua.sun_path + 1, name, strlen(name));
    unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(unix_fd, (struct sockaddr *)&ua, (socklen_t)(sizeof(sa_family_t) + 1 + strlen(name))), 0);
    ck_assert_int_eq(listen(unix_fd, 8), 0);
    struct sockaddr_in ta = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t tl = sizeof ta;
    tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(tcp_fd, (struct sockaddr *)&ta, sizeof ta), 0);
    ck_assert_int_eq(listen(tcp_fd, 8), 0);
    ck_assert_int_eq(getsockname(tcp_fd, (struct sockaddr *)&ta, &tl), 0);
    char port[16], vpid[16];
    snprintf(port, sizeof port, "%d", ntohs(ta.sin_port));
    snprintf(vpid, sizeof vpid, "%d", (int)victim);
    setenv("HOSTILE_REPORT", "stderr", 1);
    setenv("HOSTILE_RINGS", rings, 1);
    setenv("HOSTILE_VICTIM", vpid, 1);
    setenv("HOSTILE_SOCKET", name, 1);
    setenv("HOSTILE_TCP", port, 1);
    setenv("HOSTILE_FILE", target, 1);
    setenv("HOSTILE_NEWFILE", newfile, 1);
    setenv("HOSTILE_CHMOD", modefile, 1);
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */);
    landlock_net = abi >= 4;
}

static void teardown(void)
{
    if (victim > 0) {
        kill(victim, SIGKILL);
        waitpid(victim, NULL, 0);
    }
    close(unix_fd);
    close(tcp_fd);
    if (getenv("SE_TEST_VERBOSE")) {
        char buf[16384];
        fprintf(stderr, "--- strategyd log:\n%s", read_text(log_path, buf, sizeof buf));
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    glob_t g;
    char pat[96];
    snprintf(pat, sizeof pat, "/dev/shm/*%s*", inst);
    if (glob(pat, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            unlink(g.gl_pathv[i]);
    globfree(&g);
}

/* The engine's config: strategy `name` with group `group`, more top-level
 * groups in extra. */
static void write_config(const char *name, const char *group, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; pluginsDir = \"%s/plugins\"; };\n"
             "http = { enabled = false; };\n"
             "strategies = { enabled = [\"%s\"]; configs = { %s = { %s }; }; };\n%s",
             inst, dir, name, name, group, extra ? extra : "");
    write_file(conf, text);
}

/* Starts bin/strategyd -c conf -s name [--check], its output appended to
 * log_path; as user uid when not 0. */
static pid_t spawn(const char *name, bool check, uid_t uid)
{
    char exe[512];
    snprintf(exe, sizeof exe, "%s/strategyd", pf_bin_dir());
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (uid && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
            _exit(125);
        execl(exe, "strategyd", "-c", conf, "-s", name, check ? "--check" : NULL, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits for pid (at most `seconds`); returns its wait status, or -1 when it
 * was still running (it is killed then). */
static int wait_exit(pid_t pid, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    int status;
    while (clock_mono_ns() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        usleep(2000); /* polling a condition, with a deadline */
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static bool file_has(const char *path, const char *needle, int seconds)
{
    char buf[16384];
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    do {
        if (strstr(read_text(path, buf, sizeof buf), needle))
            return true;
        if (seconds)
            usleep(2000); /* polling a condition, with a deadline */
    } while (clock_mono_ns() < deadline);
    return false;
}

/* Every attack of `phase` was made and refused with the error the layer
 * that stops it gives (seccomp EPERM, Landlock EACCES), and signals to its
 * own thread and process and a registration in exe's registry still worked
 * (the plugin reports on strategyd's log). rings: the engine's rings were
 * there to attack. */
static void expect_refused(const char *phase, bool tcp, bool rings_there)
{
    static const struct {
        const char *attack, *error;
        bool ring;
    } want[] = {
        { "ptrace", "EPERM", false }, { "vm_read", "EPERM", false }, { "kill", "EPERM", false },
        { "unix", "EPERM", false }, { "write", "EACCES", false }, { "create", "EACCES", false },
        { "chmod", "EPERM", false }, { "proc_mem", "EACCES", false },
        { "ord", "EACCES", true }, { "exe", "EACCES", true }, { "in", "EACCES", true },
        { "ord_registry", "EACCES", true }, { "exe_registry", "ok", true },
        { "own_thread", "ok", false }, { "own_process", "ok", false }, { "done", "ok", false },
    };
    char buf[16384], line[64], done[64];
    snprintf(done, sizeof done, "hostile: %s done", phase);
    ck_assert_msg(file_has(log_path, done, 10), "the plugin never attacked from %s", phase);
    read_text(log_path, buf, sizeof buf);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (want[i].ring && !rings_there)
            continue;
        snprintf(line, sizeof line, "hostile: %s %s %s\n", phase, want[i].attack, want[i].error);
        ck_assert_msg(strstr(buf, line), "report lacks '%.*s':\n%s", (int)strlen(line) - 1, line, buf);
    }
    snprintf(line, sizeof line, "hostile: %s tcp %s\n", phase, "EACCES");
    if (tcp && landlock_net)
        ck_assert_msg(strstr(buf, line), "report lacks '%s':\n%s", line, buf);
}

/* The kernel logged a refused call of pid (audit type 1326, from the filter's
 * log flag): an attempt leaves a trace outside the process that made it.
 * Reading the kernel's log needs CAP_SYSLOG; without it this says "skip". */
static void expect_logged_by_kernel(pid_t pid, int nr)
{
    static char klog[1 << 20];
    char want[96];
    snprintf(want, sizeof want, "pid=%d comm=\"strategyd\"", (int)pid);
    int64_t deadline = clock_mono_ns() + 3000000000LL;
    do {
        int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, klog, sizeof klog - 1);
        if (n < 0) {
            printf("skip: the kernel log is not readable here (%s): refused calls unchecked\n", strerror(errno));
            return;
        }
        klog[n] = '\0';
        /* The kernel rate-limits these lines for every process together
         * ("kauditd_printk_skb: N callbacks suppressed"), and auditd, where
         * it runs, takes them out of this log. */
        if ((!strstr(klog, "type=1326") || strstr(klog, "callbacks suppressed")) &&
            clock_mono_ns() >= deadline - 1000000000LL) {
            printf("skip: the kernel log lost or never had this process's seccomp records (rate-limited, or "
                   "auditd takes them): refused calls unchecked\n");
            return;
        }
        char nr_text[32];
        snprintf(nr_text, sizeof nr_text, " syscall=%d ", nr);
        for (char *at = strstr(klog, want); at; at = strstr(at + 1, want)) {
            char *eol = strchr(at, '\n');
            if (strstr(at, nr_text) && (!eol || strstr(at, nr_text) < eol))
                return;
        }
        usleep(20000); /* polling a condition, with a deadline */
    } while (clock_mono_ns() < deadline);
    ck_abort_msg("the kernel log has no refused call %d of strategyd pid %d", nr, (int)pid);
}

/* Nothing the attacks aimed at changed. */
static void expect_unharmed(pid_t the_victim)
{
    char buf[256];
    ck_assert_msg(waitpid(the_victim, NULL, WNOHANG) == 0 && kill(the_victim, 0) == 0, "the victim was killed");
    ck_assert_msg(accept(unix_fd, NULL, NULL) < 0 && errno == EAGAIN, "the abstract unix socket was reached");
    if (landlock_net)
        ck_assert_msg(accept(tcp_fd, NULL, NULL) < 0 && errno == EAGAIN, "the TCP port was reached");
    ck_assert_str_eq(read_text(target, buf, sizeof buf), "original\n");
    ck_assert_msg(access(newfile, F_OK) < 0, "a file was created outside /dev/shm");
    struct stat st;
    ck_assert_int_eq(stat(modefile, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
}

static void put_quote(shm_writer_t *w, double price)
{
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_QUOTE;
    r.flags = SE_QUOTE_HAS_LAST;
    strcpy(r.symbol, "BTC-USD");
    r.u.quote.last = price;
    r.ts_source_ns = r.ts_ingest_ns = clock_real_ns();
    ck_assert_int_eq(shm_writer_write(w, &r), SHM_OK);
}

static void open_ring(shm_writer_t *w, const char *ring, shm_ring_spec_t spec)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, ring), 0);
    ck_assert_int_eq(shm_writer_open(w, name, &spec, NULL), 0);
}

/* The rings of ingest, riskd and execd, as they would make them. */
static void open_rings(shm_writer_t w[3])
{
    open_ring(&w[0], "in", SE_SPEC_IN(1024));
    open_ring(&w[1], "ord", SE_SPEC_ORDER(1024));
    open_ring(&w[2], "exe", SE_SPEC_EXEC(1024));
}

static void close_rings(shm_writer_t w[3])
{
    for (int i = 0; i < 3; i++)
        shm_writer_close(&w[i], true);
}

static int new_signals(void)
{
    se_signal_rec_t recs[64];
    int n = pf_read_ring(inst, "sig.hostile", recs, sizeof recs[0], 64), news = 0;
    for (int i = 0; i < n; i++)
        news += recs[i].action == SE_ACTION_NEW;
    return news;
}

START_TEST(hostile_strategy_should_be_refused_every_attack_and_keep_running)
{
    write_config("hostile", "plugin = \"hostile.so\";", NULL);
    shm_writer_t rw[3], *w = &rw[0];
    open_rings(rw);
    pid_t pid = spawn("hostile", false, 0);
    ck_assert_msg(pf_wait_readers(inst, "in", 1, 10), "strategyd did not attach to ring in");
    put_quote(w, 100);
    ck_assert_msg(file_has(log_path, "hostile: tick done", 10), "the first tick was not handled");
    expect_refused("ctor", true, true);
    expect_refused("init", true, true);
    expect_refused("tick", true, true);
    char buf[16384];
    ck_assert_msg(strstr(read_text(log_path, buf, sizeof buf), "hostile: tick in_mprotect EACCES\n"),
                  "ring in's mapping could be made writable:\n%s", buf);
    expect_unharmed(victim);
    ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "strategyd died");
    put_quote(w, 101);
    put_quote(w, 102);
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    while (new_signals() < 3 && clock_mono_ns() < deadline)
        usleep(2000); /* polling a condition, with a deadline */
    ck_assert_int_eq(new_signals(), 3);
    ck_assert(file_has(log_path, "\"msg\":\"strategy code confined\"", 0));
    ck_assert(file_has(log_path, "seccomp on", 0));
    expect_logged_by_kernel(pid, 101 /* ptrace */);
    ck_assert_int_eq(pf_stop(&pid, 1), 0);
    close_rings(rw);
}
END_TEST

static const struct {
    const char *plugin; /* %s: the test's folder */
    bool check;
} outside[] = {
    { "../outside/hostile.so", false }, { "link.so", false }, { "%s/outside/hostile.so", false },
    { "../outside/hostile.so", true },  { "link.so", true },  { "%s/outside/hostile.so", true },
};

START_TEST(plugin_outside_the_plugins_dir_should_be_refused_before_its_constructor_runs)
{
    char file[256], group[320], want[512];
    snprintf(file, sizeof file, outside[_i].plugin, dir);
    snprintf(group, sizeof group, "plugin = \"%s\";", file);
    write_config("hostile", group, NULL);
    int status = wait_exit(spawn("hostile", outside[_i].check, 0), 20);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    snprintf(want, sizeof want, "plugin \\\"%s\\\" resolves to %s/outside/hostile.so, outside engine.pluginsDir %s/plugins",
             file, dir, dir);
    ck_assert_msg(file_has(log_path, want, 0), "the log lacks '%s'", want);
    ck_assert_msg(!file_has(log_path, "hostile: ", 0), "the plugin's constructor ran");
}
END_TEST

START_TEST(check_should_fail_and_survive_when_the_constructor_crashes)
{
    write_config("crashy", "plugin = \"ctor_segv.so\";", NULL);
    int status = wait_exit(spawn("crashy", true, 0), 20);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "the checker itself did not exit 1: status %d",
                  status);
    /* ASan's own SIGSEGV handler turns the crash into a report and exit 1. */
    ck_assert_msg(file_has(log_path, "\"verdict\":\"the checking process was killed by signal 11", 0) ||
                      (file_has(log_path, "AddressSanitizer: SEGV", 0) &&
                       file_has(log_path, "\"verdict\":\"the checking process exited with status 1", 0)),
                  "no verdict of a crash in the log");
}
END_TEST

START_TEST(check_should_run_a_hostile_constructor_confined)
{
    write_config("hostile", "plugin = \"hostile.so\";", NULL);
    int status = wait_exit(spawn("hostile", true, 0), 20);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    ck_assert_msg(file_has(log_path, "hostile: loaded", 0), "the constructor did not run");
    expect_refused("ctor", true, false);
    expect_refused("init", true, false);
    expect_unharmed(victim);
}
END_TEST

START_TEST(protections_should_hold_for_an_unprivileged_user)
{
    if (geteuid() != 0) {
        printf("skip: protections_should_hold_for_an_unprivileged_user needs root to become uid %d\n", NOBODY);
        return;
    }
    /* Everything the attacks aim at belongs to the user strategyd runs as,
     * so only the confinement stands between them. */
    pid_t own_victim = start_victim(NOBODY);
    char vpid[16];
    snprintf(vpid, sizeof vpid, "%d", (int)own_victim);
    setenv("HOSTILE_VICTIM", vpid, 1);
    ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
    ck_assert_int_eq(chown(target, NOBODY, NOBODY), 0);
    ck_assert_int_eq(chown(modefile, NOBODY, NOBODY), 0);
    write_config("hostile", "plugin = \"hostile.so\";", NULL);
    int status = wait_exit(spawn("hostile", true, NOBODY), 20);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    ck_assert_msg(file_has(log_path, "hostile: loaded", 0), "the constructor did not run");
    expect_refused("ctor", true, false);
    expect_refused("init", true, false);
    expect_unharmed(own_victim);
    kill(own_victim, SIGKILL);
    waitpid(own_victim, NULL, 0);
}
END_TEST

/* A datagram socket standing in for systemd's NOTIFY_SOCKET. */
static int notify_socket(char *path, size_t size)
{
    snprintf(path, size, "%s/notify.sock", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(path), sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void expect_notification(int fd, const char *what)
{
    struct pollfd p = { fd, POLLIN, 0 };
    ck_assert_msg(poll(&p, 1, 10000) == 1, "no %s from strategyd", what);
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, what);
}

START_TEST(confined_strategyd_should_still_notify_systemd)
{
    write_config("momentum", "", NULL);
    shm_writer_t w;
    open_ring(&w, "in", SE_SPEC_IN(1024));
    char sock[256];
    int nfd = notify_socket(sock, sizeof sock);
    setenv("NOTIFY_SOCKET", sock, 1);
    setenv("WATCHDOG_USEC", "200000", 1);
    pid_t pid = spawn("momentum", false, 0);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    expect_notification(nfd, "READY=1");
    expect_notification(nfd, "WATCHDOG=1");
    expect_notification(nfd, "WATCHDOG=1"); /* and again, from the confined service thread */
    ck_assert(file_has(log_path, "strategy code confined", 0));
    ck_assert_int_eq(pf_stop(&pid, 1), 0);
    expect_notification(nfd, "STOPPING=1");
    close(nfd);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(confined_strategyd_should_serve_http_and_take_sigusr1)
{
    write_config("momentum", "", "strategyd = { httpBasePort = 0; };\n");
    char text[2048];
    read_text(conf, text, sizeof text);
    char *http = strstr(text, "http = { enabled = false; };");
    ck_assert_ptr_nonnull(http);
    memcpy(http, "http = { enabled = true;  };", strlen("http = { enabled = true;  };"));
    write_file(conf, text);
    shm_writer_t w;
    open_ring(&w, "in", SE_SPEC_IN(1024));
    pid_t pid = spawn("momentum", false, 0);
    int port = tc_http_port(inst, "strategyd.momentum", 10);
    ck_assert_int_gt(port, 0);
    char body[65536];
    ck_assert(pf_wait_readers(inst, "in", 1, 10));
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    int code;
    while ((code = tc_http(port, "GET", "/health", NULL, body, sizeof body, NULL, 0)) != 200 &&
           clock_mono_ns() < deadline)
        usleep(2000); /* polling a condition, with a deadline: ready once the loop runs */
    ck_assert_msg(code == 200, "/health: %d %s", code, body);
    ck_assert_int_eq(tc_http(port, "GET", "/metrics", NULL, body, sizeof body, NULL, 0), 200);
    ck_assert_ptr_nonnull(strstr(body, "strategy_signals_total"));
    ck_assert_int_eq(kill(pid, SIGUSR1), 0);
    ck_assert_msg(file_has(log_path, "\"msg\":\"log level set\"", 10), "SIGUSR1 did not cycle the log level");
    ck_assert(file_has(log_path, "strategy code confined", 0));
    ck_assert_int_eq(pf_stop(&pid, 1), 0);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(sandbox_off_should_be_said_loudly)
{
    write_config("momentum", "", "strategyd = { sandbox = false; };\n");
    int status = wait_exit(spawn("momentum", true, 0), 20);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    ck_assert(file_has(log_path, "SANDBOX OFF", 0));
    ck_assert(!file_has(log_path, "strategy code confined", 0));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("sandbox");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hostile_strategy_should_be_refused_every_attack_and_keep_running);
    tcase_add_loop_test(tc, plugin_outside_the_plugins_dir_should_be_refused_before_its_constructor_runs, 0,
                        (int)(sizeof outside / sizeof outside[0]));
    tcase_add_test(tc, check_should_fail_and_survive_when_the_constructor_crashes);
    tcase_add_test(tc, check_should_run_a_hostile_constructor_confined);
    tcase_add_test(tc, protections_should_hold_for_an_unprivileged_user);
    tcase_add_test(tc, confined_strategyd_should_still_notify_systemd);
    tcase_add_test(tc, confined_strategyd_should_serve_http_and_take_sigusr1);
    tcase_add_test(tc, sandbox_off_should_be_said_loudly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
