/* notify.c -- see notify.h. The protocol is one datagram of "KEY=VALUE"
 * lines to the unix socket named by NOTIFY_SOCKET ('@' for an abstract name);
 * small enough not to need libsystemd. */
#include "supervisor/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int warned;

void notify_init(void)
{
    const char *p = getenv("NOTIFY_SOCKET");
    if (p && (p[0] == '/' || p[0] == '@') && strlen(p) < sizeof socket_path)
        snprintf(socket_path, sizeof socket_path, "%s", p);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

void notify_send(const char *state)
{
    if (!socket_path[0])
        return;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(socket_path);
    memcpy(a.sun_path, socket_path, len);
    if (a.sun_path[0] == '@')
        a.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t n = fd < 0 ? -1
                       : sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&a,
                                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    if (n < 0 && !warned++)
        log_warn("cannot notify systemd", LOG_STR("socket", socket_path), LOG_STR("error", strerror(errno)));
    if (fd >= 0)
        close(fd);
}
