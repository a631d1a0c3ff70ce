/* sandbox.c -- see sandbox.h. Landlock through its raw system calls (Debian
 * 12's <linux/landlock.h> predates the network and scope fields, so the ABI
 * 4-6 parts are declared here); seccomp through libseccomp. */
#include "strategyd/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"

/* ---- Landlock ------------------------------------------------------------------------ */

/* The ruleset attribute as of ABI 6; older kernels take a prefix of it. */
struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};
#define LL_ATTR_SIZE_V1 8  /* up to handled_access_fs */
#define LL_ATTR_SIZE_V4 16 /* up to handled_access_net */
#define LL_ATTR_SIZE_V6 24 /* up to scoped */

#define LL_FS_TRUNCATE (1ULL << 14)         /* ABI 3 */
#define LL_NET_CONNECT_TCP (1ULL << 1)      /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)  /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)         /* ABI 6 */

/* Every right that changes the file system (ABI 1), then REFER (ABI 2). */
#define LL_FS_WRITES_V1                                                                              \
    (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |   \
     LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |         \
     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |      \
     LANDLOCK_ACCESS_FS_MAKE_SYM)

static int ll_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v < 0 ? -errno : (int)v;
}

/* Allows `access` beneath path (a directory, or the file itself). */
static int ll_allow(int ruleset, const char *path, uint64_t access)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return se_err(-errno, "sandbox: landlock: cannot open %s: %s", path, strerror(errno));
    struct landlock_path_beneath_attr pb = { .allowed_access = access, .parent_fd = fd };
    int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    int e = errno;
    close(fd);
    return rc < 0 ? se_err(-e, "sandbox: landlock: rule for %s: %s", path, strerror(e)) : 0;
}

static int apply_landlock(sandbox_status_t *st, const char *registry_dir)
{
    int abi = ll_abi();
    if (abi < 0) {
        snprintf(st->landlock_why, sizeof st->landlock_why, "%s",
                 abi == -ENOSYS       ? "not in this kernel"
                 : abi == -EOPNOTSUPP ? "disabled at boot (lsm=)"
                 : abi == -EPERM      ? "landlock_create_ruleset refused by an outer seccomp filter, such as "
                                        "systemd's SystemCallFilter"
                                      : strerror(-abi));
        return 0; /* degrade: seccomp still holds; the start-up line says so */
    }
    struct ll_ruleset_attr attr = { .handled_access_fs = LL_FS_WRITES_V1 };
    size_t size = LL_ATTR_SIZE_V1;
    /* In /dev/shm only the registries of the broadcast rings strategyd reads
     * (it registers there when it attaches, again after a peer restarts);
     * every ring itself, and ord's registry, stay out of reach. */
    uint64_t registries = LANDLOCK_ACCESS_FS_WRITE_FILE;
    uint64_t devnull = LANDLOCK_ACCESS_FS_WRITE_FILE;
    if (abi >= 2)
        attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) {
        attr.handled_access_fs |= LL_FS_TRUNCATE;
        devnull |= LL_FS_TRUNCATE;
    }
    if (abi >= 4) { /* no TCP connect at all: not riskd's kill switch, not the venue */
        attr.handled_access_net = LL_NET_CONNECT_TCP;
        size = LL_ATTR_SIZE_V4;
    }
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        size = LL_ATTR_SIZE_V6;
    }
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (rs < 0)
        return se_err(-errno, "sandbox: landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
    int rc = registry_dir ? ll_allow(rs, registry_dir, registries) : 0;
    if (rc == 0)
        rc = ll_allow(rs, "/dev/null", devnull);
    if (rc == 0 && syscall(SYS_landlock_restrict_self, rs, 0) < 0)
        rc = se_err(-errno, "sandbox: landlock_restrict_self: %s", strerror(errno));
    close(rs);
    if (rc < 0)
        return rc;
    st->landlock_abi = abi;
    st->landlock_net = abi >= 4;
    st->landlock_scope = abi >= 6;
    return 0;
}

/* ---- seccomp ------------------------------------------------------------------------- */

/* System calls denied outright (EPERM). Names libseccomp 2.5 does not know
 * yet carry their number, the same on every architecture since Linux 5.1. */
static const struct {
    const char *name;
    int nr;
} denied[] = {
    /* other processes: their memory, their file descriptors */
    { "ptrace", 0 }, { "process_vm_readv", 0 }, { "process_vm_writev", 0 }, { "kcmp", 0 },
    { "process_madvise", 0 }, { "process_mrelease", 448 }, { "pidfd_getfd", 0 },
    /* a pidfd may be any process's (even a /proc/<pid> directory): no signal through one */
    { "pidfd_send_signal", 0 },
    /* file modes and owners (Landlock has no right for them) and extended attributes */
    { "chmod", 0 }, { "fchmod", 0 }, { "fchmodat", 0 }, { "fchmodat2", 452 },
    { "chown", 0 }, { "fchown", 0 }, { "lchown", 0 }, { "fchownat", 0 },
    { "setxattr", 0 }, { "lsetxattr", 0 }, { "fsetxattr", 0 }, { "setxattrat", 463 },
    { "removexattr", 0 }, { "lremovexattr", 0 }, { "fremovexattr", 0 }, { "removexattrat", 466 },
    /* mounts and namespaces */
    { "mount", 0 }, { "umount2", 0 }, { "pivot_root", 0 }, { "chroot", 0 }, { "move_mount", 0 },
    { "open_tree", 0 }, { "open_tree_attr", 467 }, { "fsopen", 0 }, { "fsconfig", 0 }, { "fsmount", 0 },
    { "fspick", 0 }, { "mount_setattr", 442 }, { "unshare", 0 }, { "setns", 0 },
    /* the kernel itself */
    { "bpf", 0 }, { "perf_event_open", 0 }, { "kexec_load", 0 }, { "kexec_file_load", 0 },
    { "init_module", 0 }, { "finit_module", 0 }, { "delete_module", 0 }, { "reboot", 0 },
    { "swapon", 0 }, { "swapoff", 0 }, { "acct", 0 }, { "quotactl", 0 }, { "quotactl_fd", 443 },
    { "iopl", 0 }, { "ioperm", 0 }, { "settimeofday", 0 }, { "clock_settime", 0 }, { "adjtimex", 0 },
    { "clock_adjtime", 0 }, { "sethostname", 0 }, { "setdomainname", 0 }, { "syslog", 0 },
    { "vhangup", 0 }, { "uselib", 0 }, { "lookup_dcookie", 0 }, { "fanotify_init", 0 },
    /* the user's keyrings, shared by every process of the user */
    { "keyctl", 0 }, { "add_key", 0 }, { "request_key", 0 },
    /* io_uring runs its operations (socket, connect, open...) past this filter */
    { "io_uring_setup", 0 }, { "io_uring_enter", 0 }, { "io_uring_register", 0 },
    /* files by handle, past every path check */
    { "open_by_handle_at", 0 }, { "name_to_handle_at", 0 },
    { "userfaultfd", 0 },
};

/* Adds "fail with err when every comparison holds". fallback: the call's
 * number for a libseccomp that does not know its name (0: none). */
static int rule(scmp_filter_ctx ctx, int err, const char *name, int fallback, unsigned n,
                const struct scmp_arg_cmp *cmp)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR && !(nr = fallback))
        return se_err(-ENOSYS, "sandbox: seccomp: system call %s unknown to libseccomp", name);
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(err), nr, n, cmp);
    return rc < 0 ? se_err(rc, "sandbox: seccomp: rule for %s: %s", name, strerror(-rc)) : 0;
}

#define RULE(ctx, name, ...)                                                                         \
    rule(ctx, EPERM, name, 0, sizeof((struct scmp_arg_cmp[]){ __VA_ARGS__ }) / sizeof(struct scmp_arg_cmp), \
         (struct scmp_arg_cmp[]){ __VA_ARGS__ })

/* An int argument as the kernel reads it: the low 32 bits of the register. */
#define ARG_INT_EQ(i, v) SCMP_CMP((i), SCMP_CMP_MASKED_EQ, 0xffffffffULL, (scmp_datum_t)(uint32_t)(v))

/* The rules that look at arguments: signals and scheduling only for itself
 * (its own pid, captured here), no AF_UNIX socket, no namespace by
 * clone. A pid is compared whole: any upper bits set make it "not me", which
 * only ever denies. */
static int argument_rules(scmp_filter_ctx ctx, scmp_datum_t me)
{
    int rc = 0;
    /* kill(pid, 0) only probes whether pid exists (shm_pid_alive): allowed for any pid. */
    rc = rc ? rc : RULE(ctx, "kill", SCMP_A0(SCMP_CMP_NE, me), SCMP_A1(SCMP_CMP_NE, 0));
    rc = rc ? rc : RULE(ctx, "tkill", SCMP_A0(SCMP_CMP_NE, me));
    /* tgkill(me, any thread of mine): Go's and Python's runtimes signal their threads. */
    rc = rc ? rc : RULE(ctx, "tgkill", SCMP_A0(SCMP_CMP_NE, me));
    rc = rc ? rc : RULE(ctx, "rt_sigqueueinfo", SCMP_A0(SCMP_CMP_NE, me));
    rc = rc ? rc : RULE(ctx, "rt_tgsigqueueinfo", SCMP_A0(SCMP_CMP_NE, me));
    rc = rc ? rc : RULE(ctx, "pidfd_open", SCMP_A0(SCMP_CMP_NE, me));
    /* SIGIO to another process through a file's owner */
    rc = rc ? rc : RULE(ctx, "fcntl", ARG_INT_EQ(1, F_SETOWN), SCMP_A2(SCMP_CMP_NE, me));
    rc = rc ? rc : RULE(ctx, "fcntl", ARG_INT_EQ(1, F_SETOWN_EX));
    rc = rc ? rc : RULE(ctx, "ioctl", ARG_INT_EQ(1, FIOSETOWN));
    rc = rc ? rc : RULE(ctx, "ioctl", ARG_INT_EQ(1, SIOCSPGRP));
    rc = rc ? rc : RULE(ctx, "ioctl", ARG_INT_EQ(1, TIOCSTI)); /* typing into the terminal */
    /* AF_UNIX: the supervisor's abstract control socket (socketpair stays: it reaches nothing) */
    rc = rc ? rc : RULE(ctx, "socket", ARG_INT_EQ(0, AF_UNIX));
    /* Other processes' priority, CPUs, limits, memory placement: only "pid
     * 0", the caller itself (libseccomp takes one comparison per argument,
     * so "0 or my pid" cannot be said; the C library passes 0). */
    static const char *const by_pid[] = { "prlimit64", "sched_setaffinity", "sched_setscheduler",
                                          "sched_setparam", "sched_setattr", "migrate_pages", "move_pages" };
    for (size_t i = 0; rc == 0 && i < sizeof by_pid / sizeof by_pid[0]; i++)
        rc = RULE(ctx, by_pid[i], SCMP_A0(SCMP_CMP_NE, 0));
    rc = rc ? rc : RULE(ctx, "setpriority", SCMP_A0(SCMP_CMP_NE, PRIO_PROCESS));
    rc = rc ? rc : RULE(ctx, "setpriority", SCMP_A1(SCMP_CMP_NE, 0));
    rc = rc ? rc : RULE(ctx, "ioprio_set", SCMP_A0(SCMP_CMP_NE, 1 /* IOPRIO_WHO_PROCESS */));
    rc = rc ? rc : RULE(ctx, "ioprio_set", SCMP_A1(SCMP_CMP_NE, 0));
    /* New namespaces through clone; clone3 hides its flags in memory, so it
     * answers ENOSYS and the C library falls back to clone. */
    static const unsigned long ns[] = { CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
                                        CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP };
    for (size_t i = 0; rc == 0 && i < sizeof ns / sizeof ns[0]; i++)
        rc = RULE(ctx, "clone", SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
    return rc;
}

/* clone3 hides its flags in memory, so it answers ENOSYS and the C library
 * falls back to clone, whose flags the main filter sees. A filter of its
 * own, without the log flag: every new thread tries clone3 first, and that
 * is no attempt worth a line in the kernel's log. */
static int load_quiet_clone3(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return se_err(-ENOMEM, "sandbox: seccomp_init failed");
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 ? -EINVAL : 0;
    rc = rc ? rc : rule(ctx, ENOSYS, "clone3", 435, 0, NULL);
    if (rc == 0 && (rc = seccomp_load(ctx)) < 0)
        rc = se_err(rc, "sandbox: seccomp_load (clone3): %s", strerror(-rc));
    seccomp_release(ctx);
    return rc;
}

#if defined(__SANITIZE_ADDRESS__)
/* ptrace in the ASan build: every request that writes into the tracee is
 * denied (see apply_seccomp). */
static int asan_ptrace_rules(scmp_filter_ctx ctx)
{
    static const long writes[] = { PTRACE_POKETEXT, PTRACE_POKEDATA, PTRACE_POKEUSER, PTRACE_SETREGS,
                                   PTRACE_SETFPREGS, PTRACE_SETREGSET, PTRACE_SETSIGINFO, PTRACE_SETOPTIONS,
                                   PTRACE_SEIZE, PTRACE_TRACEME };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof writes / sizeof writes[0]; i++)
        rc = RULE(ctx, "ptrace", ARG_INT_EQ(0, writes[i]));
    return rc;
}
#endif

static int apply_seccomp(sandbox_status_t *st)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return se_err(-ENOMEM, "sandbox: seccomp_init failed");
    int rc = 0;
    /* Another ABI (int 0x80, x32) would bypass every rule: deny all of it. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM)) < 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 ||
        /* A binary search over system call numbers rather than a list: the
         * futex wake of the hot path passes fewer comparisons. */
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
        rc = se_err(-EINVAL, "sandbox: seccomp: cannot set the filter's attributes");
    /* Every refused call is logged by the kernel (audit type 1326: pid,
     * command, call number), so an attempt leaves a trace outside the
     * process that made it. A kernel without the flag refuses quietly. */
    if (rc == 0)
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
    for (size_t i = 0; rc == 0 && i < sizeof denied / sizeof denied[0]; i++) {
#if defined(__SANITIZE_ADDRESS__)
        /* The ASan build only: LeakSanitizer stops the process's own threads
         * with ptrace (attach, read registers, continue, detach) to scan
         * them at exit; asan_ptrace_rules lets that through and nothing
         * that writes. Landlock keeps it from any process outside this one
         * (ptrace needs the tracee in the same domain). Never in a release
         * build. */
        if (strcmp(denied[i].name, "ptrace") == 0) {
            rc = asan_ptrace_rules(ctx);
            continue;
        }
#endif
        rc = rule(ctx, EPERM, denied[i].name, denied[i].nr, 0, NULL);
    }
    if (rc == 0)
        rc = argument_rules(ctx, (scmp_datum_t)getpid());
    if (rc == 0 && (rc = seccomp_load(ctx)) < 0)
        rc = se_err(rc, "sandbox: seccomp_load: %s", strerror(-rc));
    seccomp_release(ctx);
    if (rc == 0)
        rc = load_quiet_clone3();
    if (rc == 0)
        st->seccomp = true;
    return rc;
}

/* ---- the whole ----------------------------------------------------------------------- */

static int thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

int sandbox_enabled(const cfg_t *cfg, bool *on)
{
    return cfg_get_bool(cfg, "strategyd.sandbox", true, on);
}

int sandbox_apply(sandbox_status_t *st, const char *registry_dir)
{
    memset(st, 0, sizeof *st);
    int threads = thread_count();
    if (threads != 1)
        return se_err(-EBUSY, "sandbox: %d threads run already; confinement must come before the second "
                      "thread (Landlock binds only the calling thread)", threads);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return se_err(-errno, "sandbox: no_new_privs: %s", strerror(errno));
    snprintf(st->registry_dir, sizeof st->registry_dir, "%s", registry_dir ? registry_dir : "");
    int rc = apply_landlock(st, registry_dir);
    if (rc == 0)
        rc = apply_seccomp(st);
    return rc;
}

void sandbox_describe(const sandbox_status_t *st, char *buf, size_t size)
{
    if (st->landlock_abi > 0)
        snprintf(buf, size, "seccomp %s, landlock ABI %d (file writes only to %s%s%s)", st->seccomp ? "on" : "off",
                 st->landlock_abi, st->registry_dir[0] ? st->registry_dir : "/dev/null",
                 st->landlock_net ? "; no TCP connect" : "",
                 st->landlock_scope ? "; signals and abstract unix sockets scoped" : "");
    else
        snprintf(buf, size, "seccomp %s, landlock unavailable (%s): file writes are not confined",
                 st->seccomp ? "on" : "off", st->landlock_why);
}
