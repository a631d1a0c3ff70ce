/* control.c -- see control.h. */
#include "supervisor/control.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

/* The abstract address: sun_path[0] = '\0', then the name, no terminator. */
static socklen_t address(const shm_settings_t *set, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "%s.%s.supervisor", set->prefix, set->instance);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int connect_to(const shm_settings_t *set)
{
    struct sockaddr_un a;
    socklen_t len = address(set, &a);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, len) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int control_listen(const shm_settings_t *set, pid_t *holder)
{
    *holder = 0;
    struct sockaddr_un a;
    socklen_t len = address(set, &a);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return se_err(-errno, "control socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&a, len) < 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE) {
            int c = connect_to(set);
            struct ucred cred;
            socklen_t cl = sizeof cred;
            if (c >= 0 && getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
                *holder = cred.pid;
            if (c >= 0)
                close(c);
            return se_err(-EADDRINUSE, "a supervisor of instance %s already runs (pid %d)", set->instance,
                          (int)*holder);
        }
        return se_err(-e, "control socket @%s: %s", a.sun_path + 1, strerror(e));
    }
    if (listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return se_err(-e, "control socket @%s: listen: %s", a.sun_path + 1, strerror(e));
    }
    return fd;
}

int control_accept(int listen_fd, control_conn_t *c, int64_t now_ns)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
    /* Abstract sockets have no file mode: check who is asking. */
    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        log_warn("control connection refused: another user", LOG_INT("uid", cl ? (int)cred.uid : -1),
                 LOG_INT("pid", cl ? (int)cred.pid : -1));
        close(fd);
        return -EPERM;
    }
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->deadline_ns = now_ns + 5000000000;
    return 0;
}

int control_read(control_conn_t *c)
{
    for (;;) {
        if (c->len >= sizeof c->line - 1)
            return -EMSGSIZE;
        ssize_t n = recv(c->fd, c->line + c->len, sizeof c->line - 1 - c->len, 0);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
        if (n == 0)
            return -ECONNRESET;
        c->len += (size_t)n;
        c->line[c->len] = '\0';
        char *nl = strchr(c->line, '\n');
        if (nl) {
            *nl = '\0';
            if (nl > c->line && nl[-1] == '\r')
                nl[-1] = '\0';
            return 1;
        }
    }
}

void control_send(control_conn_t *c, const char *text, bool close_after)
{
    if (c->fd < 0)
        return;
    size_t len = strlen(text), off = 0;
    /* The answers are a few KB, far below the socket buffer; a client that
     * does not read is not waited for longer than a second. */
    int64_t until = clock_mono_ns() + 1000000000;
    while (off < len && clock_mono_ns() < until) {
        ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        struct pollfd p = { c->fd, POLLOUT, 0 };
        poll(&p, 1, 100);
    }
    if (close_after)
        control_close(c);
}

void control_close(control_conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
}

int control_request(const shm_settings_t *set, const char *request, FILE *out, FILE *err, int timeout_ms)
{
    int fd = connect_to(set);
    if (fd < 0)
        return fd;
    char line[CONTROL_LINE_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof line || send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -EMSGSIZE;
    }
    /* The first line is the verdict; the rest is passed through. */
    char head[512];
    size_t hlen = 0;
    bool in_body = false;
    int rc = -EPROTO;
    int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int64_t left = (deadline - clock_mono_ns()) / 1000000;
        if (left <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char buf[4096];
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        size_t i = 0;
        while (!in_body && i < (size_t)got) {
            char ch = buf[i++];
            if (ch != '\n') {
                if (hlen < sizeof head - 1)
                    head[hlen++] = ch;
                continue;
            }
            head[hlen] = '\0';
            in_body = true;
            if (strcmp(head, "ok") == 0) {
                rc = 0;
            } else {
                rc = 1;
                if (err)
                    fprintf(err, "%s\n", head);
            }
        }
        if (i < (size_t)got)
            fwrite(buf + i, 1, (size_t)got - i, rc == 0 ? out : err ? err : out);
        fflush(rc == 0 ? out : err ? err : out);
    }
    close(fd);
    return rc;
}
