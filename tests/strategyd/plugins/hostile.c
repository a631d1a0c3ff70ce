/* hostile.c -- a test plugin that attacks its host and the engine around
 * it (test_sandbox): from its constructor, from init and from its first tick
 * it tries to kill another process, ptrace it and read its memory, reach an
 * abstract unix socket and a TCP port, overwrite and create files, chmod a
 * file, open the engine's rings ord, exe and in and ord's registry for
 * writing, write its own memory through /proc/self/mem, and (from its first
 * tick, once strategyd maps ring in) make that mapping writable. Each
 * attempt's outcome goes to its stderr (strategyd's log, the one file it
 * surely can write) as "hostile: <phase> <attack> <EPERM|EACCES|...|ok>"
 * ("ok": the attack worked), and, as controls, signals to its own thread and
 * process and a registration in exe's registry, which must work. Its
 * constructor first says "hostile: loaded", so a test can see whether it ran
 * at all. Targets come from the environment (HOSTILE_*), so the constructor,
 * which has no config, knows them; without HOSTILE_REPORT it attacks nothing.
 * Every tick it sends a limit buy, so a test sees the strategy keep working. */
#define _GNU_SOURCE /* process_vm_readv */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"

static const char *errname(int e)
{
    static char other[32];
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case ESRCH: return "ESRCH";
    case EFAULT: return "EFAULT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOENT: return "ENOENT";
    default: snprintf(other, sizeof other, "errno%d", e); return other;
    }
}

static void say(const char *line, size_t n)
{
    if (write(2, line, n) < 0) {
        /* nothing to tell: the test misses the line and says so */
    }
}

static void report(const char *phase, const char *attack, int rc, int e)
{
    char line[128];
    int n = snprintf(line, sizeof line, "hostile: %s %s %s\n", phase, attack, rc < 0 ? errname(e) : "ok");
    say(line, (size_t)n);
}

/* Opens path for reading and writing, as an attack on it; reports as `attack`. */
static void open_rw(const char *phase, const char *attack, const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    report(phase, attack, fd, errno);
    if (fd >= 0)
        close(fd);
}

/* The engine's rings, named from HOSTILE_RINGS ("/dev/shm/se.<instance>"). */
static void attack_rings(const char *phase)
{
    const char *rings = getenv("HOSTILE_RINGS");
    if (!rings)
        return;
    char path[256];
    snprintf(path, sizeof path, "%s.ord", rings);
    open_rw(phase, "ord", path);
    snprintf(path, sizeof path, "%s.exe", rings);
    open_rw(phase, "exe", path);
    snprintf(path, sizeof path, "%s.in", rings);
    open_rw(phase, "in", path);
    snprintf(path, sizeof path, "%s@spsc/ord", rings);
    open_rw(phase, "ord_registry", path);
    snprintf(path, sizeof path, "%s@bcast/exe", rings); /* control: where a reader registers */
    open_rw(phase, "exe_registry", path);
    open_rw(phase, "proc_mem", "/proc/self/mem");
    /* Ring in as strategyd mapped it (read-only): made writable? */
    snprintf(path, sizeof path, "%s.in", rings);
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo = 0, hi = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, path) && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            break;
    if (maps)
        fclose(maps);
    if (hi > lo) {
        int rc = mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE);
        report(phase, "in_mprotect", rc, errno);
    } else {
        report(phase, "in_mprotect", -1, ENOENT); /* not mapped yet */
    }
}

static void attack_all(const char *phase)
{
    if (!getenv("HOSTILE_REPORT"))
        return;
    pid_t victim = (pid_t)atoi(getenv("HOSTILE_VICTIM") ? getenv("HOSTILE_VICTIM") : "0");
    int rc;
    if (victim > 0) {
        rc = (int)ptrace(PTRACE_ATTACH, victim, NULL, NULL);
        report(phase, "ptrace", rc, errno);
        if (rc == 0)
            ptrace(PTRACE_DETACH, victim, NULL, NULL);
        char byte;
        struct iovec local = { &byte, 1 }, remote = { (void *)1, 1 }; /* any address: EFAULT if allowed */
        rc = (int)process_vm_readv(victim, &local, 1, &remote, 1, 0);
        report(phase, "vm_read", rc, errno);
        rc = kill(victim, SIGKILL);
        report(phase, "kill", rc, errno);
    }
    const char *sock = getenv("HOSTILE_SOCKET");
    if (sock) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            report(phase, "unix", -1, errno);
        } else {
            struct sockaddr_un a = { .sun_family = AF_UNIX };
            size_t len = strlen(sock);
            memcpy(a.sun_path + 1, sock, len); /* abstract: leading NUL */
            rc = connect(fd, (struct sockaddr *)&a, (socklen_t)(sizeof(sa_family_t) + 1 + len));
            report(phase, "unix", rc, errno);
            close(fd);
        }
    }
    const char *port = getenv("HOSTILE_TCP");
    if (port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&a, sizeof a);
        report(phase, "tcp", rc, errno);
        if (fd >= 0)
            close(fd);
    }
    const char *file = getenv("HOSTILE_FILE");
    if (file) {
        int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
        report(phase, "write", fd, errno);
        if (fd >= 0) {
            if (write(fd, "pwned\n", 6) < 0) {
                /* the truncation alone already shows it */
            }
            close(fd);
        }
    }
    const char *newfile = getenv("HOSTILE_NEWFILE");
    if (newfile) {
        int fd = open(newfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        report(phase, "create", fd, errno);
        if (fd >= 0)
            close(fd);
    }
    const char *mode = getenv("HOSTILE_CHMOD");
    if (mode) {
        rc = chmod(mode, 0777);
        report(phase, "chmod", rc, errno);
    }
    attack_rings(phase);
    /* What must keep working: a signal to one of its own threads (Go's
     * preemption, Python's pthread_kill), and to the whole process. */
    rc = (int)syscall(SYS_tgkill, getpid(), gettid(), SIGURG); /* ignored by default */
    report(phase, "own_thread", rc, errno);
    rc = kill(getpid(), SIGURG);
    report(phase, "own_process", rc, errno);
    report(phase, "done", 0, 0);
}

__attribute__((constructor)) static void on_load(void)
{
    if (getenv("HOSTILE_REPORT"))
        say("hostile: loaded\n", sizeof "hostile: loaded\n" - 1);
    attack_all("ctor");
}

static int the_state;
static uint64_t ticks;

static void *create(const strat_host_t *host)
{
    (void)host;
    return &the_state;
}

static int init(void *s)
{
    (void)s;
    attack_all("init");
    return 0;
}

static int tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n)
{
    (void)s;
    if (ticks++ == 0)
        attack_all("tick");
    if (n < 1)
        return 0;
    memset(o, 0, sizeof *o);
    o->action = STRAT_NEW;
    o->side = STRAT_BUY;
    o->type = STRAT_LIMIT;
    o->qty = 1;
    o->price = t->price > 0 ? t->price * 0.9 : 1;
    snprintf(o->symbol, sizeof o->symbol, "%s", t->symbol);
    return 1;
}

FIXTURE_PLUGIN("hostile", create, init, tick)
