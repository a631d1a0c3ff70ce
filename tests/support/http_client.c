/* http_client.c -- see http_client.h. */
#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/settings.h"
#include "shm/stats.h"

int tc_http_port(const char *instance, const char *process, int seconds)
{
    shm_settings_t set;
    memset(&set, 0, sizeof set);
    snprintf(set.prefix, sizeof set.prefix, "%s", SHM_DEFAULT_PREFIX);
    snprintf(set.instance, sizeof set.instance, "%s", instance);
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    while (clock_mono_ns() < deadline) {
        shm_segment_t seg;
        stats_metric_t m;
        int port = 0;
        if (stats_map(&set, process, &seg) == 0) {
            if (stats_find(&seg, "http_port", NULL, &m) == 0)
                port = (int)stats_gauge_value(&m);
            shm_segment_unmap(&seg);
        }
        if (port > 0)
            return port;
        usleep(5000);
    }
    return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tc_http(int port, const char *method, const char *path, const char *body, char *out, size_t size,
            char *ctype, size_t ctype_size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = { 10, 0 }; /* a hung server fails the test instead of hanging it */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char head[512];
    size_t blen = body ? strlen(body) : 0;
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n", method, path, blen);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || send_all(fd, head, (size_t)hn) < 0 ||
        (blen && send_all(fd, body, blen) < 0)) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t r;
    while (buf && (r = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)r;
        if (len == cap) {
            char *bigger = realloc(buf, (cap *= 2) + 1);
            if (!bigger)
                break;
            buf = bigger;
        }
    }
    close(fd);
    if (!buf)
        return -1;
    buf[len] = '\0';
    int status = -1;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/%*s %d", &status) != 1 || !sep) {
        free(buf);
        return -1;
    }
    *sep = '\0';
    if (ctype) {
        ctype[0] = '\0';
        for (char *line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n"))
            if (strncasecmp(line + 2, "Content-Type:", 13) == 0) {
                char *v = line + 2 + 13, *end;
                while (*v == ' ')
                    v++;
                end = strstr(v, "\r\n");
                size_t n = end ? (size_t)(end - v) : strlen(v);
                snprintf(ctype, ctype_size, "%.*s", (int)n, v);
                break;
            }
    }
    snprintf(out, size, "%s", sep + 4);
    free(buf);
    return status;
}

/* True for promtool's lint line about a *_microseconds name. */
static bool unit_lint_only(const char *line)
{
    const char *tail = " use base unit \"seconds\" instead of \"microseconds\"";
    const char *sp = strchr(line, ' ');
    if (!sp || strcmp(sp, tail) != 0)
        return false;
    size_t n = (size_t)(sp - line), suffix = strlen("_microseconds");
    return n > suffix && strncmp(sp - suffix, "_microseconds", suffix) == 0;
}

int tc_promtool(const char *metrics, char *why, size_t size)
{
    char path[64], cmd[160], out[8192];
    snprintf(path, sizeof path, "/tmp/se-metrics-%d.txt", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f || fputs(metrics, f) < 0 || fclose(f) != 0) {
        snprintf(why, size, "cannot write %s", path);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    size_t len = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[len] = '\0';
    int status = p ? pclose(p) : -1;
    unlink(path);
    int code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    snprintf(why, size, "promtool exit %d: %s", code, out);
    if (code == 0)
        return 0;
    if (code != 3)
        return -1;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (!unit_lint_only(line))
            return -1;
    return 0;
}
