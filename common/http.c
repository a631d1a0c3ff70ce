/* http.c -- see http.h. The listening socket is ours (bound here, handed to
 * libmicrohttpd), so a bind error is an exact errno and port 0 is simply
 * read back with getsockname. */
#include "common/http.h"

#include <sys/socket.h> /* before microhttpd.h, which needs sockaddr (LIBRARIES.md) */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "common/err.h"
#include "common/log.h"

typedef struct {
    char method[8];
    char path[64];
    http_handler_fn fn;
    void *ctx;
} route_t;

struct http_server {
    char bind[64];
    int port;          /* asked for; the bound one once started */
    int fd;            /* listening socket, -1 until started */
    struct MHD_Daemon *mhd;
    route_t routes[HTTP_ROUTES_MAX];
    int nroutes;
};

/* One request's body as it arrives in pieces. */
typedef struct {
    size_t len;
    bool too_large;
    char body[HTTP_BODY_MAX + 1];
} upload_t;

int http_open(http_server_t **out, const char *bind, int port)
{
    *out = NULL;
    if (!bind || strlen(bind) >= sizeof((http_server_t *)0)->bind)
        return se_err(-EINVAL, "http: bind address '%s' is not an IP address", bind ? bind : "(null)");
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, bind, probe) != 1 && inet_pton(AF_INET6, bind, probe) != 1)
        return se_err(-EINVAL, "http: bind address '%s' is not an IPv4 or IPv6 literal", bind);
    if (port < 0 || port > 65535)
        return se_err(-EINVAL, "http: port %d is out of range [0, 65535]", port);
    http_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return se_err(-ENOMEM, "http: out of memory");
    snprintf(s->bind, sizeof s->bind, "%s", bind);
    s->port = port;
    s->fd = -1;
    *out = s;
    return 0;
}

int http_route(http_server_t *s, const char *method, const char *path, http_handler_fn fn, void *ctx)
{
    if (s->mhd)
        return se_err(-EBUSY, "http: route %s %s added after start", method, path);
    if (strlen(method) >= sizeof s->routes[0].method || strlen(path) >= sizeof s->routes[0].path)
        return se_err(-EINVAL, "http: route %s %s is too long", method, path);
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].method, method) == 0 && strcmp(s->routes[i].path, path) == 0)
            return se_err(-EEXIST, "http: route %s %s already exists", method, path);
    if (s->nroutes == HTTP_ROUTES_MAX)
        return se_err(-ENOSPC, "http: more than %d routes", HTTP_ROUTES_MAX);
    route_t *r = &s->routes[s->nroutes++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->fn = fn;
    r->ctx = ctx;
    return 0;
}

void http_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void http_error(http_response_t *res, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    res->status = status;
    res->content_type = HTTP_JSON;
    fputs("{\"error\":", res->body);
    http_json_str(res->body, msg);
    fputs("}\n", res->body);
}

/* ---- request bodies ---------------------------------------------------------- */

/* Finds key among the top-level members of the object in the body; returns
 * the value token's index, -ENOENT or -EINVAL. */
static int find_member(const http_request_t *req, const char *key, jsmntok_t *tok, int ntok)
{
    jsmn_parser p;
    jsmn_init(&p);
    size_t len = req->body_len;
    while (len > 0 && (req->body[len - 1] == '\n' || req->body[len - 1] == '\r' ||
                       req->body[len - 1] == ' ' || req->body[len - 1] == '\t'))
        len--;
    int n = jsmn_parse(&p, req->body, len, tok, (unsigned)ntok);
    if (n < 1 || tok[0].type != JSMN_OBJECT || (size_t)tok[0].end != len)
        return se_err(-EINVAL, "request body is not a JSON object");
    size_t klen = strlen(key);
    int i = 1;
    for (int m = 0; m < tok[0].size && i + 1 < n; m++) {
        const jsmntok_t *k = &tok[i];
        if (k->type == JSMN_STRING && (size_t)(k->end - k->start) == klen &&
            memcmp(req->body + k->start, key, klen) == 0)
            return i + 1;
        int j = i + 2; /* skip the value and everything nested in it */
        while (j < n && tok[j].start < tok[i + 1].end)
            j++;
        i = j;
    }
    return se_err(-ENOENT, "request body has no \"%s\"", key);
}

int http_body_bool(const http_request_t *req, const char *key, bool *out)
{
    jsmntok_t tok[32];
    int v = find_member(req, key, tok, 32);
    if (v < 0)
        return v;
    const char *t = req->body + tok[v].start;
    int len = tok[v].end - tok[v].start;
    if (tok[v].type == JSMN_PRIMITIVE && len == 4 && memcmp(t, "true", 4) == 0)
        *out = true;
    else if (tok[v].type == JSMN_PRIMITIVE && len == 5 && memcmp(t, "false", 5) == 0)
        *out = false;
    else
        return se_err(-EINVAL, "\"%s\" must be true or false", key);
    return 0;
}

int http_body_string(const http_request_t *req, const char *key, char *out, size_t size)
{
    jsmntok_t tok[32];
    int v = find_member(req, key, tok, 32);
    if (v < 0)
        return v;
    size_t len = (size_t)(tok[v].end - tok[v].start);
    const char *t = req->body + tok[v].start;
    if (tok[v].type != JSMN_STRING || len >= size || memchr(t, '\\', len))
        return se_err(-EINVAL, "\"%s\" must be a short string", key);
    memcpy(out, t, len);
    out[len] = '\0';
    return 0;
}

/* ---- serving ----------------------------------------------------------------- */

static void dispatch(http_server_t *s, const http_request_t *req, http_response_t *res, char *allow,
                     size_t allow_size)
{
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    bool path_known = false;
    allow[0] = '\0';
    for (int i = 0; i < s->nroutes; i++) {
        route_t *r = &s->routes[i];
        if (strcmp(r->path, req->path) != 0)
            continue;
        if (strcmp(r->method, method) == 0) {
            http_request_t own = *req;
            own.method = method;
            r->fn(&own, res, r->ctx);
            return;
        }
        size_t used = strlen(allow);
        snprintf(allow + used, allow_size - used, "%s%s", path_known ? ", " : "", r->method);
        path_known = true;
    }
    if (path_known)
        http_error(res, 405, "method %s not allowed on %s (allowed: %s)", req->method, req->path, allow);
    else
        http_error(res, 404, "no such endpoint: %s", req->path);
}

static enum MHD_Result respond(struct MHD_Connection *conn, http_server_t *s, const char *method,
                               const char *url, upload_t *up)
{
    char *buf = NULL, allow[64];
    size_t len = 0;
    http_response_t res = { 200, HTTP_JSON, open_memstream(&buf, &len) };
    if (!res.body)
        return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
    allow[0] = '\0';
    if (up->too_large) {
        http_error(&res, 413, "request body larger than %d bytes", HTTP_BODY_MAX);
    } else {
        up->body[up->len] = '\0';
        http_request_t req = { method, url, up->body, up->len };
        dispatch(s, &req, &res, allow, sizeof allow);
    }
    if (fclose(res.body) != 0) {
        free(buf);
        return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res.content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (res.status == 405 && allow[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)res.status, r);
    MHD_destroy_response(r);
    return ok;
}

/* libmicrohttpd calls this once when the headers are in, once per piece of
 * body, and once more at the end, which is when the request is answered. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    upload_t *up = *con_cls;
    if (!up) {
        if (!(up = malloc(sizeof *up)))
            return MHD_NO;
        up->len = 0;
        up->too_large = false;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (up->len + *upload_data_size > HTTP_BODY_MAX)
            up->too_large = true;
        else {
            memcpy(up->body + up->len, upload_data, *upload_data_size);
            up->len += *upload_data_size;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return respond(conn, cls, method, url, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server_t *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_warn("http server", LOG_STR("detail", msg), LOG_INT("port", s->port));
}

static int listen_socket(http_server_t *s)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } addr;
    memset(&addr, 0, sizeof addr);
    socklen_t alen;
    if (inet_pton(AF_INET, s->bind, &addr.v4.sin_addr) == 1) {
        addr.v4.sin_family = AF_INET;
        addr.v4.sin_port = htons((uint16_t)s->port);
        alen = sizeof addr.v4;
    } else {
        inet_pton(AF_INET6, s->bind, &addr.v6.sin6_addr); /* checked by http_open */
        addr.v6.sin6_family = AF_INET6;
        addr.v6.sin6_port = htons((uint16_t)s->port);
        alen = sizeof addr.v6;
    }
    int fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return se_err(-errno, "http: socket: %s", strerror(errno));
    int one = 1; /* a restarted process rebinds at once, despite connections in TIME_WAIT */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, &addr.sa, alen) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        return se_err(-e, "http: cannot listen on %s port %d: %s", s->bind, s->port, strerror(e));
    }
    if (getsockname(fd, &addr.sa, &alen) == 0)
        s->port = ntohs(addr.sa.sa_family == AF_INET ? addr.v4.sin_port : addr.v6.sin6_port);
    s->fd = fd;
    return 0;
}

int http_start(http_server_t *s)
{
    if (s->mhd)
        return se_err(-EBUSY, "http: already started");
    int rc = listen_socket(s);
    if (rc < 0)
        return rc;
    /* libmicrohttpd's threads inherit this mask: signals stay with the main
     * thread, whose loop they are meant to stop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (strchr(s->bind, ':'))
        flags |= MHD_USE_IPv6;
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                              MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, /* first, or MHD logs to stderr */
                              MHD_OPTION_LISTEN_SOCKET, s->fd,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
                              MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                              MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!s->mhd) {
        close(s->fd);
        s->fd = -1;
        return se_err(-EIO, "http: libmicrohttpd did not start on %s port %d", s->bind, s->port);
    }
    return 0;
}

int http_port(const http_server_t *s)
{
    return s && s->mhd ? s->port : 0;
}

const char *http_bind_address(const http_server_t *s)
{
    return s->bind;
}

void http_close(http_server_t *s)
{
    if (!s)
        return;
    if (s->mhd)
        MHD_stop_daemon(s->mhd); /* closes the listening socket too */
    free(s);
}
