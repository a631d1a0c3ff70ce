/* sandbox.h -- the confinement strategyd puts itself under before it runs any
 * strategy code (a plugin's constructor, the Python interpreter, a Go
 * runtime, a built-in): a seccomp filter (signals only to itself, no ptrace,
 * no AF_UNIX sockets, no chmod/chown, no mounts or namespaces, ...) and a
 * Landlock domain (file writes only to the registries of the rings it reads, no TCP connect, signals
 * and abstract unix sockets scoped to the process). Used by strategyd's main,
 * for a running strategy and for `--check`. README "What a strategy's code
 * can and cannot do" lists what it guarantees and its limits. */
#ifndef STRATEGYD_SANDBOX_H
#define STRATEGYD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

/* What is in force after sandbox_apply. */
typedef struct {
    bool seccomp;        /* the filter is loaded (and no_new_privs set) */
    int landlock_abi;    /* Landlock ABI version enforced, 0 when unavailable */
    bool landlock_net;   /* TCP connect denied (ABI >= 4) */
    bool landlock_scope; /* signals and abstract unix sockets scoped (ABI >= 6) */
    char landlock_why[160]; /* why Landlock is not in force, "" when it is */
    char registry_dir[200]; /* the one directory it may write files in, "" for none */
} sandbox_status_t;

/* Reads strategyd.sandbox (bool, default true) into *on. Returns 0 or
 * SE_ECONFIG (se_errmsg names file, line and key). */
int sandbox_enabled(const cfg_t *cfg, bool *on);

/* Confines the calling process for good: sets no_new_privs, restricts it
 * with Landlock (when the kernel has it: file writes only to files in
 * registry_dir (the instance's broadcast ring registries, shm/segment.h; NULL:
 * none, for --check) and to /dev/null, TCP connect denied from ABI 4, signals and abstract unix
 * sockets scoped from ABI 6; without Landlock this step is skipped and
 * st->landlock_why says why) and loads the seccomp filter (denied calls fail
 * with EPERM). Must run before the process's second thread exists, since
 * Landlock binds only the calling thread and the threads it starts later: it
 * refuses to run otherwise. Returns 0, or a negative code with se_errmsg
 * saying which step failed; on failure the process may be partly confined
 * and must not go on to load strategy code. */
int sandbox_apply(sandbox_status_t *st, const char *registry_dir);

/* One line saying what st puts in force, for the start-up log: "seccomp on,
 * landlock ABI 7 (file writes only to /dev/shm/se.default@bcast; no TCP connect; signals and
 * abstract sockets scoped)". */
void sandbox_describe(const sandbox_status_t *st, char *buf, size_t size);

#endif
