/* proc.c -- see proc.h. */
#include "supervisor/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"

const char *proc_state_name(proc_state_t s)
{
    switch (s) {
    case PROC_STOPPED: return "stopped";
    case PROC_STARTING: return "starting";
    case PROC_RUNNING: return "running";
    case PROC_BACKOFF: return "backoff";
    case PROC_STOPPING: return "stopping";
    case PROC_FAILED: return "failed";
    case PROC_EXITED: return "exited";
    }
    return "unknown";
}

int64_t proc_backoff_ns(const proc_policy_t *p, int recent)
{
    if (recent <= 0)
        return 0;
    int64_t d = p->backoff_initial_ns;
    for (int i = 1; i < recent && d < p->backoff_max_ns; i++)
        d *= 2;
    return d < p->backoff_max_ns ? d : p->backoff_max_ns;
}

int proc_recent_crashes(proc_t *p, const proc_policy_t *pol, int64_t now)
{
    int kept = 0;
    for (int i = 0; i < p->ncrashes; i++)
        if (now - p->crashes[i] < pol->window_ns)
            p->crashes[kept++] = p->crashes[i];
    p->ncrashes = kept;
    return kept;
}

bool proc_on_crash(proc_t *p, const proc_policy_t *pol, int64_t now)
{
    int recent = proc_recent_crashes(p, pol, now);
    p->died_ns = now;
    if (recent >= pol->max_restarts) {
        p->state = PROC_FAILED;
        return false;
    }
    if (p->ncrashes == PROC_HISTORY) { /* only with maxRestarts >= PROC_HISTORY */
        memmove(p->crashes, p->crashes + 1, sizeof p->crashes[0] * (PROC_HISTORY - 1));
        p->ncrashes--;
    }
    p->crashes[p->ncrashes++] = now;
    p->state = PROC_BACKOFF;
    p->next_start_ns = now + proc_backoff_ns(pol, recent);
    return true;
}

void proc_file_stat(proc_file_t *f, const char *path)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path ? path : "");
    struct stat st;
    if (!f->path[0] || stat(f->path, &st) < 0)
        return;
    f->exists = true;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = (uint64_t)st.st_size;
    f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

bool proc_file_changed(const proc_file_t *a, const proc_file_t *b)
{
    return strcmp(a->path, b->path) != 0 || a->exists != b->exists ||
           (a->exists && (a->dev != b->dev || a->ino != b->ino || a->size != b->size ||
                          a->mtime_ns != b->mtime_ns));
}

/* One line on the inherited stderr, written without stdio, then exit. */
static void child_fail(const char *msg, size_t len, int code)
{
    if (write(2, msg, len) < 0)
        _exit(code);
    _exit(code);
}

pid_t proc_spawn(char *const argv[], const proc_cred_t *cred)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return se_err(-errno, "cannot fork for %s: %s", argv[0], strerror(errno));
    if (pid > 0)
        return pid;
    /* The child. Only async-signal-safe calls until exec. Groups first, then
     * the group, then the user: after setresuid nothing else can change. */
    if (cred && cred->set &&
        (setgroups((size_t)cred->ngroups, cred->groups) < 0 || setresgid(cred->gid, cred->gid, cred->gid) < 0 ||
         setresuid(cred->uid, cred->uid, cred->uid) < 0)) {
        static const char msg[] = "{\"level\":\"error\",\"process\":\"supervisor\",\"msg\":"
                                  "\"cannot switch the child to its engine.users user\"}\n";
        child_fail(msg, sizeof msg - 1, 126);
    }
    /* After the switch: a change of credentials clears the death signal. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* The supervisor may have died between fork and prctl: then nobody would
     * ever send that signal. */
    if (getppid() != parent)
        _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0 && devnull != 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    execv(argv[0], argv);
    static const char msg[] = "{\"level\":\"error\",\"process\":\"supervisor\",\"msg\":\"exec failed\"}\n";
    child_fail(msg, sizeof msg - 1, 127);
    return -1;
}

void proc_describe_status(int status, char *out, size_t size)
{
    if (status < 0)
        snprintf(out, size, "none");
    else if (WIFEXITED(status))
        snprintf(out, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "status 0x%x", status);
}
