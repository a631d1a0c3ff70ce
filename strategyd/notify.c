/* notify.c -- see notify.h. */
#include "strategyd/notify.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"

static int notify_fd = -1; /* connected to $NOTIFY_SOCKET; written before any thread starts */

int notify_preopen(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0])
        return 0;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof a.sun_path)
        return se_err(-EINVAL, "notify: NOTIFY_SOCKET '%s' is not a socket path or @name", path);
    memcpy(a.sun_path, path, len);
    if (path[0] == '@')
        a.sun_path[0] = '\0'; /* abstract: the name without its terminating NUL */
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return se_err(-errno, "notify: socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, alen) < 0) {
        int e = errno;
        close(fd);
        return se_err(-e, "notify: cannot connect to NOTIFY_SOCKET %s: %s", path, strerror(e));
    }
    notify_fd = fd;
    return 0;
}

/* Overrides libsystemd's for this program (notify.h). Same contract: 0 when
 * there is no socket, 1 when sent, a negative errno otherwise.
 * unset_environment is honoured as libsystemd does. */
int sd_notify(int unset_environment, const char *state);
int sd_notify(int unset_environment, const char *state)
{
    if (notify_fd < 0) {
        int (*real)(int, const char *);
        *(void **)&real = dlsym(RTLD_NEXT, "sd_notify");
        return real ? real(unset_environment, state) : 0;
    }
    ssize_t n = send(notify_fd, state, strlen(state), MSG_NOSIGNAL);
    if (unset_environment)
        unsetenv("NOTIFY_SOCKET");
    return n < 0 ? -errno : 1;
}
