/* test_shmtool.c -- check suite for the shmtool CLI: runs the real binary
 * (env SHMTOOL, default bin/shmtool) against rings made on a per-test instance,
 * and parses its JSON. Helper writers are forked processes, killed for real. */
#include "common/err.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/stats.h"
#include "tests/support/ring_fixture.h"
#include "shm/segment.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- per-test instance and cleanup ------------------------------------------ */

static pid_t main_pid;     /* the runner; its pid marks every instance of this run */
static const char *tool;   /* the shmtool binary */
static char inst[40];      /* "tool<main pid>t<test pid>" */
static pid_t helpers[16];  /* forked helpers still to kill */
static int nhelpers;

#define ALT_PREFIX "sx"    /* a second prefix, to check -p */

static void jfree_all(void);

/* Kills helpers and removes the instance's segments. Runs at teardown and,
 * since a failed check exits the test process, at exit too. */
static void cleanup(void)
{
    for (int i = 0; i < nhelpers; i++) {
        kill(helpers[i], SIGKILL);
        waitpid(helpers[i], NULL, 0);
    }
    nhelpers = 0;
    if (inst[0]) {
        char lead[64];
        snprintf(lead, sizeof lead, "%s.%s.", SHM_DEFAULT_PREFIX, inst);
        test_sweep_segments(lead);
        snprintf(lead, sizeof lead, "%s.%s.", ALT_PREFIX, inst);
        test_sweep_segments(lead);
    }
    jfree_all();
}

static void setup(void)
{
    snprintf(inst, sizeof inst, "tool%dt%d", (int)main_pid, (int)getpid());
    atexit(cleanup);
}

static void teardown(void)
{
    cleanup();
}

static void track(pid_t pid)
{
    ck_assert_int_lt(nhelpers, (int)(sizeof helpers / sizeof helpers[0]));
    helpers[nhelpers++] = pid;
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < nhelpers; i++)
        if (helpers[i] == pid)
            helpers[i--] = helpers[--nhelpers];
}

static const char *seg(const char *ring)
{
    static char names[4][SHM_NAME_MAX];
    static int k;
    char *n = names[k++ % 4];
    ck_assert_int_eq(shm_name(n, SHM_NAME_MAX, NULL, inst, ring), 0);
    return n;
}

static bool exists(const char *ring)
{
    int fd = shm_open(seg(ring), O_RDONLY, 0);
    if (fd >= 0)
        close(fd);
    return fd >= 0;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- rings ------------------------------------------------------------------ */

static void open_writer(shm_writer_t *w, const char *ring, shm_kind_t kind, uint32_t record_size,
                        uint32_t capacity)
{
    shm_ring_spec_t spec = { kind, record_size, capacity, 0 };
    int rc = shm_writer_open(w, seg(ring), &spec, NULL);
    ck_assert_msg(rc == 0, "shm_writer_open %s: %s", seg(ring), se_errmsg());
}

/* Record i: 0xa0+i, 0x00, 0x5c, then zeros; raw hex "<a0+i>005c". */
static void fill(unsigned char *p, size_t n, int i)
{
    memset(p, 0, n);
    p[0] = (unsigned char)(0xa0 + i);
    p[2] = 0x5c;
}

static void write_records(shm_writer_t *w, int from, int n)
{
    unsigned char p[SHM_RECORD_MAX];
    for (int i = from; i < from + n; i++) {
        fill(p, shm_payload_size(w->seg.hdr->record_size), i);
        ck_assert_int_eq(shm_writer_write(w, p), SHM_OK);
    }
}

/* Forks a process that writes n records to ring and then blocks until killed. */
static pid_t fork_writer(const char *ring, shm_kind_t kind, int n)
{
    int ready[2], hold[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(hold), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        shm_writer_t w;
        shm_ring_spec_t spec = { kind, 64, 16, 0 };
        char c = 'x';
        if (shm_writer_open(&w, seg(ring), &spec, NULL) == 0) {
            unsigned char p[56];
            for (int i = 0; i < n; i++) {
                fill(p, sizeof p, i);
                shm_writer_write(&w, p);
            }
            c = 'r';
        }
        if (write(ready[1], &c, 1) != 1)
            _exit(3);
        ssize_t r = read(hold[0], &c, 1); /* until the parent kills us */
        _exit(r < 0 ? 4 : 0);
    }
    track(pid);
    close(ready[1]);
    close(hold[0]);
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_msg(c == 'r', "helper writer could not open %s", seg(ring));
    close(ready[0]);
    /* hold[1] stays open in the test process: the helper blocks until SIGKILL. */
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    int st;
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    untrack(pid);
}

/* A pid that names no process: a reaped child's, with a start time that no
 * process will have even if the pid is reused. */
static uint32_t dead_pid(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    return (uint32_t)pid;
}

/* Creates segment ring of the instance with exactly these bytes. */
static void make_file(const char *ring, const void *data, size_t len)
{
    int fd = shm_open(seg(ring), O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_msg(fd >= 0, "shm_open %s: %s", seg(ring), strerror(errno));
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* A header that passes validation, for a broadcast ring of 64-byte records x 4. */
static shm_header_t *good_header(size_t *total)
{
    *total = sizeof(shm_header_t) + 4 * 64;
    shm_header_t *h = calloc(1, *total);
    ck_assert_ptr_nonnull(h);
    h->magic = SHM_MAGIC;
    h->layout_version = SHM_LAYOUT_VERSION;
    h->kind = SHM_KIND_BROADCAST;
    h->record_size = 64;
    h->capacity = 4;
    h->header_size = sizeof(shm_header_t);
    h->total_size = *total;
    h->pair = 1;
    return h;
}

/* ---- running shmtool ---------------------------------------------------------- */

typedef struct {
    int code; /* exit status, or 128 + signal */
    char out[1 << 16];
    char err[1 << 13];
} result_t;

typedef struct {
    pid_t pid;
    int out, err; /* read ends */
} proc_t;

static proc_t spawn(char *const argv[])
{
    int o[2], e[2];
    ck_assert_int_eq(pipe(o), 0);
    ck_assert_int_eq(pipe(e), 0);
    proc_t p = { fork(), o[0], e[0] };
    ck_assert_int_ge(p.pid, 0);
    if (p.pid == 0) {
        dup2(o[1], 1);
        dup2(e[1], 2);
        close(o[0]);
        close(o[1]);
        close(e[0]);
        close(e[1]);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    track(p.pid);
    close(o[1]);
    close(e[1]);
    return p;
}

/* Waits up to deadline_ms (CLOCK_MONOTONIC ms) for p to exit; returns its
 * status as result_t.code does, or -1 at the deadline. */
static int wait_exit(pid_t pid, int64_t deadline_ms)
{
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        ck_assert_int_ge(r, 0);
        if (r == pid) {
            untrack(pid);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (mono_ms() >= deadline_ms)
            return -1;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
}

/* Appends what is readable on fd within wait_ms to buf; returns false at EOF. */
static bool drain(int fd, char *buf, size_t size, size_t *len, int wait_ms)
{
    struct pollfd pfd = { fd, POLLIN, 0 };
    if (poll(&pfd, 1, wait_ms) <= 0)
        return true;
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0)
        return false;
    size_t k = (size_t)n < size - 1 - *len ? (size_t)n : size - 1 - *len;
    memcpy(buf + *len, tmp, k);
    *len += k;
    buf[*len] = '\0';
    return true;
}

static void run_argv(result_t *r, char *const argv[])
{
    proc_t p = spawn(argv);
    struct pollfd pfd[2] = { { p.out, POLLIN, 0 }, { p.err, POLLIN, 0 } };
    char *buf[2] = { r->out, r->err };
    size_t size[2] = { sizeof r->out, sizeof r->err }, len[2] = { 0, 0 };
    int64_t deadline = mono_ms() + 20000;
    r->out[0] = r->err[0] = '\0';
    while ((pfd[0].fd >= 0 || pfd[1].fd >= 0) && mono_ms() < deadline) {
        if (poll(pfd, 2, 100) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            if (!drain(pfd[i].fd, buf[i], size[i], &len[i], 0)) {
                close(pfd[i].fd);
                pfd[i].fd = -1; /* poll ignores negative fds */
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    r->code = wait_exit(p.pid, deadline);
    ck_assert_msg(r->code >= 0, "%s %s did not finish in time", argv[0], argv[1] ? argv[1] : "");
}

/* Runs shmtool with the arguments, then "-i <instance>". NULL-terminated. */
static void run(result_t *r, const char *arg, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)tool;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 28; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n++] = "-i";
    argv[n++] = inst;
    argv[n] = NULL;
    run_argv(r, argv);
}

/* Runs shmtool with exactly these arguments. NULL-terminated. */
static void run_raw(result_t *r, const char *arg, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)tool;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 30; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    run_argv(r, argv);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- a small strict JSON parser, for shmtool's --json output ----------------- */

typedef struct json json_t;
struct json {
    char type;      /* 'z' null, 'b' bool, 'd' number, 's' string, 'a' array, 'o' object */
    bool b;
    char *s;        /* a string's value, or a number's text */
    size_t n;       /* items of an array or object */
    json_t **items;
    char **keys;
};

typedef struct {
    const char *p;
    const char *err;
} jp_t;

static json_t *jvalue(jp_t *jp, int depth);

static void jws(jp_t *jp)
{
    while (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\t' || *jp->p == '\r')
        jp->p++;
}

/* Every allocation of the parser, freed together by jfree_all (at teardown
 * and at exit, so LeakSanitizer stays quiet even after a failed check). */
static void **jmem;
static size_t jmem_n, jmem_cap;

static void *jalloc(size_t size)
{
    if (jmem_n == jmem_cap) {
        jmem_cap = jmem_cap ? 2 * jmem_cap : 256;
        jmem = realloc(jmem, jmem_cap * sizeof *jmem);
        ck_assert_ptr_nonnull(jmem);
    }
    void *p = calloc(1, size);
    ck_assert_ptr_nonnull(p);
    return jmem[jmem_n++] = p;
}

static void jfree_all(void)
{
    for (size_t i = 0; i < jmem_n; i++)
        free(jmem[i]);
    free(jmem);
    jmem = NULL;
    jmem_n = jmem_cap = 0;
}

static json_t *jnew(char type)
{
    json_t *j = jalloc(sizeof *j);
    j->type = type;
    return j;
}

static void jput_utf8(char **o, unsigned cp)
{
    unsigned char *u = (unsigned char *)*o;
    if (cp < 0x80) {
        *u++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *u++ = (unsigned char)(0xC0 | cp >> 6);
        *u++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *u++ = (unsigned char)(0xE0 | cp >> 12);
        *u++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *u++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *u++ = (unsigned char)(0xF0 | cp >> 18);
        *u++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        *u++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *u++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *o = (char *)u;
}

static bool jhex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15)
            return false;
        *v = *v << 4 | d;
    }
    return true;
}

static char *jstring(jp_t *jp)
{
    if (*jp->p != '"') {
        jp->err = "expected a string";
        return NULL;
    }
    const char *p = ++jp->p;
    char *out = jalloc(strlen(p) * 4 + 1), *o = out;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c == '\0' || c < 0x20) {
            jp->err = "unterminated string or raw control character";
            return NULL;
        }
        if (c != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        switch (*p) {
        case '"': case '\\': case '/': *o++ = *p; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (!jhex4(p + 1, &cp)) {
                jp->err = "bad \\u escape";
                return NULL;
            }
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[1] == '\\' && p[2] == 'u' && jhex4(p + 3, &lo) &&
                lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            jput_utf8(&o, cp);
            break;
        }
        default:
            jp->err = "bad escape";
            return NULL;
        }
        p++;
    }
    *o = '\0';
    jp->p = p + 1;
    return out;
}

static json_t *jvalue(jp_t *jp, int depth)
{
    jws(jp);
    if (depth > 32) {
        jp->err = "too deep";
        return NULL;
    }
    const char *p = jp->p;
    if (*p == '{' || *p == '[') {
        bool obj = *p == '{';
        json_t *j = jnew(obj ? 'o' : 'a');
        j->items = jalloc(256 * sizeof *j->items);
        j->keys = jalloc(256 * sizeof *j->keys);
        jp->p++;
        jws(jp);
        if (*jp->p == (obj ? '}' : ']')) {
            jp->p++;
            return j;
        }
        for (;;) {
            if (j->n == 256) {
                jp->err = "too many items";
                return NULL;
            }
            if (obj) {
                jws(jp);
                if (!(j->keys[j->n] = jstring(jp)))
                    return NULL;
                jws(jp);
                if (*jp->p++ != ':') {
                    jp->err = "expected ':'";
                    return NULL;
                }
            }
            if (!(j->items[j->n++] = jvalue(jp, depth + 1)))
                return NULL;
            jws(jp);
            if (*jp->p == ',') {
                jp->p++;
                continue;
            }
            if (*jp->p++ != (obj ? '}' : ']')) {
                jp->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
                return NULL;
            }
            return j;
        }
    }
    if (*p == '"') {
        json_t *j = jnew('s');
        return (j->s = jstring(jp)) ? j : NULL;
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        json_t *j = jnew('b');
        j->b = *p == 't';
        jp->p += j->b ? 4 : 5;
        return j;
    }
    if (strncmp(p, "null", 4) == 0) {
        jp->p += 4;
        return jnew('z');
    }
    const char *q = p;
    if (*q == '-')
        q++;
    if (*q < '0' || *q > '9') {
        jp->err = "unexpected character";
        return NULL;
    }
    while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')
        q++;
    json_t *j = jnew('d');
    j->s = jalloc((size_t)(q - p) + 1);
    memcpy(j->s, p, (size_t)(q - p));
    jp->p = q;
    return j;
}

/* Parses text as exactly one JSON value (and whitespace); fails the test otherwise. */
static json_t *jparse(const char *text)
{
    jp_t jp = { text, NULL };
    json_t *j = jvalue(&jp, 0);
    if (j) {
        jws(&jp);
        if (*jp.p)
            jp.err = "text after the value";
    }
    ck_assert_msg(j && !jp.err, "bad JSON (%s) at offset %ld in: %s", jp.err ? jp.err : "?",
                  (long)(jp.p - text), text);
    return j;
}

static json_t *jget(const json_t *o, const char *key)
{
    ck_assert_msg(o && o->type == 'o', "not an object (looking for '%s')", key);
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return o->items[i];
    ck_abort_msg("JSON object has no key '%s'", key);
    return NULL;
}

static long long jint(const json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    ck_assert_msg(v->type == 'd', "'%s' is not a number", key);
    return strtoll(v->s, NULL, 10);
}

static const char *jstr(const json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    ck_assert_msg(v->type == 's', "'%s' is not a string", key);
    return v->s;
}

static bool jbool(const json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    ck_assert_msg(v->type == 'b', "'%s' is not a boolean", key);
    return v->b;
}

/* The object in array arr whose "name" is name, or NULL. */
static json_t *jnamed(const json_t *arr, const char *name)
{
    ck_assert_msg(arr && arr->type == 'a', "not an array");
    for (size_t i = 0; i < arr->n; i++)
        if (strcmp(jstr(arr->items[i], "name"), name) == 0)
            return arr->items[i];
    return NULL;
}

/* ls --json, parsed: the entry of ring, or NULL if it is not listed. */
static json_t *ls_entry(const char *ring)
{
    static result_t r;
    run(&r, "ls", "--json", NULL);
    ck_assert_msg(r.code == 0, "ls --json exited %d: %s", r.code, r.err);
    json_t *j = jparse(r.out);
    ck_assert_str_eq(jstr(j, "instance"), inst);
    return jnamed(jget(j, "segments"), ring);
}

/* ---- info --------------------------------------------------------------------- */

START_TEST(info_json_should_report_head_and_a_registered_readers_position_lag_and_drops)
{
    shm_writer_t w;
    shm_reader_t rd;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 16);
    ck_assert_int_eq(shm_reader_open(&rd, seg("in"), NULL, "probe", SHM_START_HEAD, 0), 0);
    write_records(&w, 0, 5);
    unsigned char p[56];
    ck_assert_int_eq(shm_reader_read(&rd, p), SHM_OK);
    ck_assert_int_eq(shm_reader_read(&rd, p), SHM_OK);

    static result_t r;
    run(&r, "info", "in", "--json", NULL);
    ck_assert_msg(r.code == 0, "info exited %d: %s", r.code, r.err);
    json_t *j = jparse(r.out);
    ck_assert_str_eq(jstr(j, "name"), "in");
    ck_assert_str_eq(jstr(j, "segment"), seg("in"));
    ck_assert_str_eq(jstr(j, "kind"), "broadcast");
    ck_assert_int_eq(jint(j, "head"), 5);
    ck_assert_int_eq(jint(j, "capacity"), 16);
    ck_assert_int_eq(jint(j, "record_size"), 64);
    ck_assert_int_eq(jint(j, "writer_pid"), getpid());
    ck_assert(jbool(j, "writer_alive"));
    json_t *readers = jget(j, "readers");
    ck_assert_int_eq(readers->type, 'a');
    ck_assert_uint_eq(readers->n, 1);
    json_t *probe = jnamed(readers, "probe");
    ck_assert_ptr_nonnull(probe);
    ck_assert_int_eq(jint(probe, "pid"), getpid());
    ck_assert(jbool(probe, "alive"));
    ck_assert_int_eq(jint(probe, "position"), 2);
    ck_assert_int_eq(jint(probe, "lag"), 3);
    ck_assert_int_eq(jint(probe, "drops"), 0);
    ck_assert_int_gt(jint(probe, "last_active_ns"), 0);
    shm_reader_close(&rd);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(info_json_should_count_the_drops_of_a_lapped_reader)
{
    shm_writer_t w;
    shm_reader_t rd;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 8);
    ck_assert_int_eq(shm_reader_open(&rd, seg("in"), NULL, "slow", SHM_START_HEAD, 0), 0);
    write_records(&w, 0, 12);
    unsigned char p[56];
    ck_assert_int_eq(shm_reader_read(&rd, p), SHM_LAPPED);
    ck_assert_uint_gt(rd.drops, 0);

    static result_t r;
    run(&r, "info", "in", "--json", NULL);
    ck_assert_msg(r.code == 0, "info exited %d: %s", r.code, r.err);
    json_t *slow = jnamed(jget(jparse(r.out), "readers"), "slow");
    ck_assert_ptr_nonnull(slow);
    ck_assert_int_eq(jint(slow, "drops"), (long long)rd.drops);
    ck_assert_int_eq(jint(slow, "position"), (long long)rd.pos);
    ck_assert_int_eq(jint(slow, "lag"), 12 - (long long)rd.pos);
    shm_reader_close(&rd);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(info_json_should_escape_odd_reader_names)
{
    shm_writer_t w;
    shm_reader_t rd;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 8);
    ck_assert_int_eq(shm_reader_open(&rd, seg("in"), NULL, "q\"b\\s\x01\t\xff\xc3\xa9", SHM_START_HEAD, 0), 0);

    static result_t r;
    run(&r, "info", "in", "--json", NULL);
    ck_assert_msg(r.code == 0, "info exited %d: %s", r.code, r.err);
    json_t *readers = jget(jparse(r.out), "readers");
    ck_assert_uint_eq(readers->n, 1);
    /* The invalid byte 0xff comes back as U+FFFD; valid UTF-8 (é) passes. */
    ck_assert_str_eq(jstr(readers->items[0], "name"), "q\"b\\s\x01\t\xef\xbf\xbd\xc3\xa9");

    run(&r, "info", "in", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_msg(strchr(r.out, '\x01') == NULL && strchr(r.out, '\xff') == NULL,
                  "text output passes control bytes through: %s", r.out);
    shm_reader_close(&rd);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(info_should_show_the_ring_and_its_readers_as_text)
{
    shm_writer_t w;
    shm_reader_t rd;
    open_writer(&w, "sig.momentum", SHM_KIND_SPSC, 128, 4);
    ck_assert_int_eq(shm_reader_open(&rd, seg("sig.momentum"), NULL, "riskd", SHM_START_RESUME, 0), 0);
    write_records(&w, 0, 3);

    static result_t r;
    run(&r, "info", "sig.momentum", NULL);
    ck_assert_msg(r.code == 0, "info exited %d: %s", r.code, r.err);
    ck_assert_msg(strstr(r.out, "spsc") && strstr(r.out, seg("sig.momentum")) &&
                  strstr(r.out, "riskd") && strstr(r.out, "head         3"),
                  "unexpected info text:\n%s", r.out);
    shm_reader_close(&rd);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- ls ----------------------------------------------------------------------- */

START_TEST(ls_json_should_list_every_ring_with_its_writer_alive)
{
    shm_writer_t a, b, c;
    open_writer(&a, "in", SHM_KIND_BROADCAST, 64, 16);
    open_writer(&b, "sig.momentum", SHM_KIND_SPSC, 128, 8);
    write_records(&a, 0, 7);
    /* Another prefix: listed only with -p. */
    shm_ring_spec_t spec = { SHM_KIND_BROADCAST, 64, 4, 0 };
    char other[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(other, sizeof other, ALT_PREFIX, inst, "exe"), 0);
    ck_assert_int_eq(shm_writer_open(&c, other, &spec, NULL), 0);

    json_t *in = ls_entry("in");
    ck_assert_ptr_nonnull(in);
    ck_assert(jbool(in, "ok"));
    ck_assert_str_eq(jstr(in, "segment"), seg("in"));
    ck_assert_str_eq(jstr(in, "kind"), "broadcast");
    ck_assert_int_eq(jint(in, "head"), 7);
    ck_assert_int_eq(jint(in, "capacity"), 16);
    ck_assert_int_eq(jint(in, "record_size"), 64);
    ck_assert_int_eq(jint(in, "writer_pid"), getpid());
    ck_assert(jbool(in, "writer_alive"));
    ck_assert_str_eq(jstr(in, "writer_state"), "alive");
    ck_assert_int_eq(jint(in, "readers"), 0);
    json_t *sig = ls_entry("sig.momentum");
    ck_assert_ptr_nonnull(sig);
    ck_assert_str_eq(jstr(sig, "kind"), "spsc");
    ck_assert_ptr_null(ls_entry("exe"));

    static result_t r;
    run(&r, "ls", "--json", "-p", ALT_PREFIX, NULL);
    ck_assert_int_eq(r.code, 0);
    json_t *segs = jget(jparse(r.out), "segments");
    ck_assert_uint_eq(segs->n, 1);
    ck_assert_str_eq(jstr(segs->items[0], "name"), "exe");

    run(&r, "ls", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_msg(strstr(r.out, "sig.momentum") && strstr(r.out, "alive"), "ls text:\n%s", r.out);
    shm_writer_close(&a, true);
    shm_writer_close(&b, true);
    shm_writer_close(&c, true);
}
END_TEST

START_TEST(ls_should_show_a_killed_writer_dead_and_a_closed_writer_closed)
{
    pid_t pid = fork_writer("md", SHM_KIND_BROADCAST, 3);
    json_t *e = ls_entry("md");
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(jint(e, "writer_pid"), pid);
    ck_assert(jbool(e, "writer_alive"));
    kill_and_reap(pid);
    e = ls_entry("md");
    ck_assert_ptr_nonnull(e);
    ck_assert(!jbool(e, "writer_alive"));
    ck_assert_str_eq(jstr(e, "writer_state"), "dead");
    ck_assert_int_eq(jint(e, "head"), 3);

    shm_writer_t w;
    open_writer(&w, "ord", SHM_KIND_SPSC, 64, 4);
    shm_writer_close(&w, false);
    e = ls_entry("ord");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(jstr(e, "writer_state"), "closed");
    ck_assert_int_eq(jint(e, "writer_pid"), 0);
}
END_TEST

START_TEST(ls_should_say_so_when_the_instance_has_no_segments)
{
    static result_t r;
    run(&r, "ls", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "no segments"));
    run(&r, "ls", "--json", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(jget(jparse(r.out), "segments")->n, 0);
}
END_TEST

/* ---- gc ----------------------------------------------------------------------- */

START_TEST(gc_should_remove_dead_and_closed_writers_rings_but_never_a_live_writers)
{
    pid_t pid = fork_writer("dead", SHM_KIND_BROADCAST, 2);
    kill_and_reap(pid);
    shm_writer_t live, closed;
    open_writer(&live, "live", SHM_KIND_SPSC, 64, 4);
    open_writer(&closed, "closed", SHM_KIND_BROADCAST, 64, 4);
    shm_writer_close(&closed, false);

    static result_t r;
    run(&r, "gc", NULL);
    ck_assert_msg(r.code == 0, "gc exited %d: %s", r.code, r.err);
    ck_assert(!exists("dead"));
    ck_assert(!exists("closed"));
    ck_assert(exists("live"));
    char want[SHM_NAME_MAX + 16];
    snprintf(want, sizeof want, "removed %s", seg("dead"));
    ck_assert_msg(strstr(r.out, want), "gc output lacks '%s':\n%s", want, r.out);

    run(&r, "gc", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert(exists("live"));
    shm_writer_close(&live, true);
}
END_TEST

START_TEST(gc_should_keep_a_dead_writers_ring_while_a_live_reader_uses_it)
{
    pid_t pid = fork_writer("in", SHM_KIND_BROADCAST, 2);
    shm_reader_t rd;
    ck_assert_int_eq(shm_reader_open(&rd, seg("in"), NULL, "strategy", SHM_START_HEAD, 0), 0);
    kill_and_reap(pid);

    static result_t r;
    run(&r, "gc", NULL);
    ck_assert_msg(r.code == 0, "gc exited %d: %s", r.code, r.err);
    ck_assert_msg(exists("in"), "gc removed a ring with a live reader:\n%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "live reader"));

    shm_reader_close(&rd);
    run(&r, "gc", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_msg(!exists("in"), "gc kept a ring nobody uses:\n%s", r.out);
}
END_TEST

START_TEST(gc_dry_run_should_remove_nothing)
{
    pid_t pid = fork_writer("dead", SHM_KIND_BROADCAST, 1);
    kill_and_reap(pid);
    static result_t r;
    run(&r, "gc", "--dry-run", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert(exists("dead"));
    ck_assert_ptr_nonnull(strstr(r.out, "would remove"));
}
END_TEST

START_TEST(gc_should_judge_another_layout_version_by_its_writer)
{
    size_t total;
    shm_header_t *h = good_header(&total);
    h->layout_version = 99;
    h->writer = SHM_OWNER(dead_pid(), 1);
    make_file("v99dead", h, total);
    h->writer = shm_owner_self();
    make_file("v99live", h, total);
    free(h);

    static result_t r;
    run(&r, "gc", NULL);
    ck_assert_msg(r.code == 0, "gc exited %d: %s", r.code, r.err);
    ck_assert_msg(!exists("v99dead"), "gc kept a dead writer's other-version segment:\n%s", r.out);
    ck_assert_msg(exists("v99live"), "gc removed a live writer's segment:\n%s", r.out);
}
END_TEST

START_TEST(gc_should_remove_a_segment_abandoned_before_it_was_ready)
{
    size_t total;
    shm_header_t *h = good_header(&total);
    memset(h, 0, total); /* magic 0, no writer pid: what a creator that died early leaves */
    make_file("fresh", h, total);
    make_file("stale", h, total);
    free(h);
    int fd = shm_open(seg("stale"), O_RDWR, 0);
    ck_assert_int_ge(fd, 0);
    struct timespec old[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
    ck_assert_int_eq(futimens(fd, old), 0);
    close(fd);

    static result_t r;
    run(&r, "gc", NULL);
    ck_assert_msg(r.code == 0, "gc exited %d: %s", r.code, r.err);
    ck_assert_msg(!exists("stale"), "gc kept a long-abandoned segment:\n%s", r.out);
    ck_assert_msg(exists("fresh"), "gc removed a segment its creator may be finishing:\n%s", r.out);
}
END_TEST

/* ---- tail --------------------------------------------------------------------- */

static void expect_line(const char *line, unsigned long long pos, int i)
{
    char want[64];
    snprintf(want, sizeof want, "%llu %02x005c", pos, 0xa0 + i);
    ck_assert_str_eq(line, want);
}

START_TEST(tail_should_print_the_last_three_records_with_positions_and_hex)
{
    shm_writer_t w;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 16);
    write_records(&w, 0, 5);
    static result_t r;
    run(&r, "tail", "in", "-n", "3", NULL);
    ck_assert_msg(r.code == 0, "tail exited %d: %s", r.code, r.err);
    ck_assert_msg(count_lines(r.out) == 3, "want 3 lines, got:\n%s", r.out);
    char *save, *line = strtok_r(r.out, "\n", &save);
    for (int i = 2; i < 5; i++, line = strtok_r(NULL, "\n", &save))
        expect_line(line, (unsigned long long)i, i);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(tail_should_show_only_records_still_in_the_ring)
{
    shm_writer_t w;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 4);
    write_records(&w, 0, 10);
    static result_t r;
    run(&r, "tail", "in", "-n", "10", NULL);
    ck_assert_msg(r.code == 0, "tail exited %d: %s", r.code, r.err);
    ck_assert_msg(count_lines(r.out) == 4, "want 4 lines, got:\n%s", r.out);
    char *save, *line = strtok_r(r.out, "\n", &save);
    for (int i = 6; i < 10; i++, line = strtok_r(NULL, "\n", &save))
        expect_line(line, (unsigned long long)i, i);

    run(&r, "tail", "in", "-n", "0", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_str_eq(r.out, "");
    run(&r, "tail", "in", NULL); /* default 10, of which 4 are left */
    ck_assert_int_eq(count_lines(r.out), 4);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(tail_should_never_consume_from_an_spsc_ring)
{
    shm_writer_t w;
    shm_reader_t rd;
    open_writer(&w, "ord", SHM_KIND_SPSC, 64, 4);
    ck_assert_int_eq(shm_reader_open(&rd, seg("ord"), NULL, "execd", SHM_START_RESUME, 0), 0);
    write_records(&w, 0, 4);
    unsigned char p[56];
    fill(p, sizeof p, 9);
    ck_assert_int_eq(shm_writer_write(&w, p), SHM_FULL);

    static result_t r;
    run(&r, "tail", "ord", "-n", "4", NULL);
    ck_assert_msg(r.code == 0, "tail exited %d: %s", r.code, r.err);
    ck_assert_int_eq(count_lines(r.out), 4);
    ck_assert_uint_eq(atomic_load(&rd.slot->position), 0);
    ck_assert_int_eq(shm_writer_write(&w, p), SHM_FULL);
    ck_assert_int_eq(shm_reader_read(&rd, p), SHM_OK);
    ck_assert_int_eq(p[0], 0xa0);
    shm_reader_close(&rd);
    shm_writer_close(&w, true);
}
END_TEST

/* Reads from fd until buf holds at least want lines or deadline_ms passes. */
static int read_lines(int fd, char *buf, size_t size, size_t *len, int want, int64_t deadline_ms)
{
    while (count_lines(buf) < want && mono_ms() < deadline_ms)
        if (!drain(fd, buf, size, len, 50))
            break;
    return count_lines(buf);
}

START_TEST(tail_follow_should_print_new_records_report_skips_and_stop_when_the_ring_goes)
{
    shm_writer_t w;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 4);
    write_records(&w, 0, 1);
    char *argv[] = { (char *)tool, "tail", "in", "-f", "-n", "1", "-i", inst, NULL };
    proc_t p = spawn(argv);
    static char out[8192];
    size_t len = 0;
    int64_t deadline = mono_ms() + 15000;

    ck_assert_msg(read_lines(p.out, out, sizeof out, &len, 1, deadline) == 1, "no line: %s", out);
    ck_assert_str_eq(out, "0 a0005c\n");

    /* Hold the follower while the writer laps it, so the skip is certain. */
    int st;
    ck_assert_int_eq(kill(p.pid, SIGSTOP), 0);
    ck_assert_int_eq(waitpid(p.pid, &st, WUNTRACED), p.pid);
    ck_assert(WIFSTOPPED(st));
    write_records(&w, 1, 20);
    ck_assert_int_eq(kill(p.pid, SIGCONT), 0);
    ck_assert_msg(read_lines(p.out, out, sizeof out, &len, 2, deadline) == 2, "no skip: %s", out);
    ck_assert_msg(strstr(out, "-- skipped 20 records") != NULL, "unexpected: %s", out);

    write_records(&w, 21, 1);
    ck_assert_msg(read_lines(p.out, out, sizeof out, &len, 3, deadline) == 3, "no line: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "\n21 b5005c\n"));

    shm_writer_close(&w, true); /* retires and removes the segment */
    int code = wait_exit(p.pid, deadline);
    ck_assert_msg(code == 0, "tail -f exited %d after the ring was removed", code);
    close(p.out);
    close(p.err);
}
END_TEST

START_TEST(tail_follow_should_exit_cleanly_on_sigterm)
{
    shm_writer_t w;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 4);
    write_records(&w, 0, 1);
    char *argv[] = { (char *)tool, "tail", "in", "-f", "-i", inst, NULL };
    proc_t p = spawn(argv);
    static char out[4096];
    size_t len = 0;
    int64_t deadline = mono_ms() + 15000;
    ck_assert_int_eq(read_lines(p.out, out, sizeof out, &len, 1, deadline), 1);
    ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
    ck_assert_int_eq(wait_exit(p.pid, deadline), 0);
    ck_assert(exists("in"));
    close(p.out);
    close(p.err);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(tail_follow_should_stop_when_gc_removes_the_ring)
{
    shm_writer_t w;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 4);
    write_records(&w, 0, 1);
    shm_writer_close(&w, false); /* writer gone, segment left for gc */
    char *argv[] = { (char *)tool, "tail", "in", "-f", "-i", inst, NULL };
    proc_t p = spawn(argv);
    static char out[4096];
    size_t len = 0;
    int64_t deadline = mono_ms() + 15000;
    ck_assert_int_eq(read_lines(p.out, out, sizeof out, &len, 1, deadline), 1);

    static result_t r;
    run(&r, "gc", NULL);
    ck_assert_msg(r.code == 0 && !exists("in"), "gc exited %d:\n%s", r.code, r.out);
    ck_assert_int_eq(wait_exit(p.pid, deadline), 0);
    close(p.out);
    close(p.err);
}
END_TEST

/* ---- corrupt segments --------------------------------------------------------- */

typedef struct {
    const char *ring;
    const char *ls_error; /* what ls says instead of the ring's state */
} bad_seg_t;

static const bad_seg_t bad_segs[] = {
    { "garbage", "corrupt: bad magic" },
    { "truncated", "corrupt: " },
    { "v99", "other layout version 99" },
    { "badcap", "corrupt: capacity 3" },
    { "badsize", "corrupt: size" },
    { "unready", "not ready" },
    { "empty", "not ready" },
};

static void make_bad_segments(void)
{
    size_t total;
    shm_header_t *h = good_header(&total);
    unsigned char *garbage = malloc(total);
    ck_assert_ptr_nonnull(garbage);
    for (size_t i = 0; i < total; i++)
        garbage[i] = (unsigned char)(i * 131 + 7);
    make_file("garbage", garbage, total);
    make_file("truncated", h, 100);
    h->layout_version = 99;
    make_file("v99", h, total);
    h->layout_version = SHM_LAYOUT_VERSION;
    h->capacity = 3;
    make_file("badcap", h, total);
    h->capacity = 4;
    make_file("badsize", h, total - 64);
    memset(garbage, 0, total);
    make_file("unready", garbage, total);
    make_file("empty", garbage, 0);
    free(garbage);
    free(h);
}

START_TEST(info_should_exit_1_naming_a_corrupt_segment)
{
    make_bad_segments();
    static result_t r;
    for (size_t i = 0; i < sizeof bad_segs / sizeof bad_segs[0]; i++) {
        const char *ring = bad_segs[i].ring;
        run(&r, "info", ring, NULL);
        ck_assert_msg(r.code == 1, "info %s exited %d (want 1): %s", ring, r.code, r.err);
        ck_assert_msg(strstr(r.err, seg(ring)) != NULL, "info %s: error does not name %s: %s",
                      ring, seg(ring), r.err);
        ck_assert_msg(count_lines(r.err) == 1, "info %s: want one error line: %s", ring, r.err);
        ck_assert_str_eq(r.out, "");
        run(&r, "info", ring, "--json", NULL);
        ck_assert_msg(r.code == 1, "info --json %s exited %d", ring, r.code);
        run(&r, "tail", ring, NULL);
        ck_assert_msg(r.code == 1, "tail %s exited %d", ring, r.code);
    }
}
END_TEST

START_TEST(ls_should_list_corrupt_segments_with_their_error)
{
    make_bad_segments();
    shm_writer_t w;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 4);
    static result_t r;
    run(&r, "ls", "--json", NULL);
    ck_assert_msg(r.code == 0, "ls exited %d: %s", r.code, r.err);
    json_t *segs = jget(jparse(r.out), "segments");
    ck_assert_uint_eq(segs->n, sizeof bad_segs / sizeof bad_segs[0] + 1);
    ck_assert(jbool(jnamed(segs, "in"), "ok"));
    for (size_t i = 0; i < sizeof bad_segs / sizeof bad_segs[0]; i++) {
        json_t *e = jnamed(segs, bad_segs[i].ring);
        ck_assert_msg(e != NULL, "ls does not list %s", bad_segs[i].ring);
        ck_assert_msg(!jbool(e, "ok"), "ls calls %s ok", bad_segs[i].ring);
        ck_assert_msg(strstr(jstr(e, "error"), bad_segs[i].ls_error) == jstr(e, "error"),
                      "ls error of %s is '%s', want '%s...'", bad_segs[i].ring, jstr(e, "error"),
                      bad_segs[i].ls_error);
    }
    run(&r, "ls", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_msg(strstr(r.out, "other layout version 99") && strstr(r.out, "bad magic"),
                  "ls text:\n%s", r.out);
    run(&r, "top", "-n", "1", "-d", "0.1", NULL);
    ck_assert_msg(r.code == 0 && strstr(r.out, "bad magic"), "top exited %d:\n%s%s", r.code,
                  r.out, r.err);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- usage -------------------------------------------------------------------- */

static void expect_usage_error(result_t *r, const char *what, const char *mentions)
{
    ck_assert_msg(r->code == 2, "%s: exit %d, want 2 (stderr: %s)", what, r->code, r->err);
    ck_assert_msg(count_lines(r->err) == 1, "%s: want one error line, got: %s", what, r->err);
    ck_assert_msg(strstr(r->err, mentions) != NULL, "%s: error does not mention '%s': %s", what,
                  mentions, r->err);
}

START_TEST(bad_names_commands_and_options_should_be_usage_errors)
{
    static result_t r;
    run(&r, "info", "bad/ring", NULL);
    expect_usage_error(&r, "bad ring", "bad/ring");
    run(&r, "tail", ".hidden", NULL);
    expect_usage_error(&r, "ring starting with a dot", ".hidden");
    run_raw(&r, "ls", "-i", "no good", NULL);
    expect_usage_error(&r, "bad instance", "no good");
    run_raw(&r, "ls", "-p", "a.b", NULL);
    expect_usage_error(&r, "bad prefix", "a.b");
    run(&r, "frobnicate", NULL);
    expect_usage_error(&r, "unknown command", "frobnicate");
    run(&r, "ls", "--bogus", NULL);
    expect_usage_error(&r, "unknown long option", "--bogus");
    run(&r, "ls", "-x", NULL);
    expect_usage_error(&r, "unknown option", "-x");
    run(&r, "ls", "-f", NULL);
    expect_usage_error(&r, "option of another command", "-f");
    run(&r, "info", NULL);
    expect_usage_error(&r, "missing ring", "RING");
    run(&r, "info", "in", "extra", NULL);
    expect_usage_error(&r, "extra argument", "extra");
    run(&r, "tail", "in", "-n", "lots", NULL);
    expect_usage_error(&r, "bad count", "lots");
    run(&r, "top", "-d", "0", NULL);
    expect_usage_error(&r, "bad interval", "-d 0");
    run_raw(&r, "ls", "-i", NULL);
    expect_usage_error(&r, "option without its value", "-i");
}
END_TEST

START_TEST(a_missing_segment_should_be_a_runtime_error_naming_it)
{
    static result_t r;
    run(&r, "info", "nothere", NULL);
    ck_assert_msg(r.code == 1, "exit %d: %s", r.code, r.err);
    ck_assert_int_eq(count_lines(r.err), 1);
    ck_assert_ptr_nonnull(strstr(r.err, seg("nothere")));
    run(&r, "tail", "nothere", "-f", NULL);
    ck_assert_int_eq(r.code, 1);
    ck_assert_ptr_nonnull(strstr(r.err, seg("nothere")));
}
END_TEST

START_TEST(help_and_no_arguments_should_print_usage)
{
    static result_t r;
    run_raw(&r, "help", NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: shmtool"));
    run_raw(&r, NULL);
    ck_assert_int_eq(r.code, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: shmtool"));
    run_raw(&r, "--help", NULL);
    ck_assert_int_eq(r.code, 0);
}
END_TEST

/* ---- a peer rewriting the header ------------------------------------------------ */

/* Forks a hostile peer that rewrites the geometry words of segment `ring`
 * (record_size, capacity, header_size) in a tight loop until killed, moving
 * at random between the truth, states that still add up to the file's size
 * (half or twice the record size) and states that do not, and holding each
 * for a random 0-60 µs: long enough for a reader to validate one state and
 * then size a buffer or check another. */
static pid_t fork_hostile(const char *ring)
{
    size_t size;
    shm_header_t *h = test_map_raw(seg(ring), &size);
    ck_assert_ptr_nonnull(h);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        volatile uint32_t *rs = &h->record_size, *cap = &h->capacity, *hs = &h->header_size;
        const uint32_t r0 = *rs, c0 = *cap, h0 = *hs;
        uint64_t rng = (uint64_t)getpid();
        for (;;) {
            uint64_t x = test_rand(&rng);
            switch (x % 5) {
            case 0: *rs = r0; *cap = c0; *hs = h0; break;
            case 1: *rs = r0 / 2; *cap = c0 * 2; break; /* fits the file: smaller records */
            case 2: *rs = r0; *cap = c0; *hs = h0 + 64; break;
            case 3: *hs = h0; *rs = r0 * 2; *cap = c0 / 2; break; /* fits the file: bigger records */
            default: *rs = r0 / 2; *cap = c0; break; /* does not fit */
            }
            int64_t until = mono_ns() + (int64_t)((x >> 8) % 60000);
            while (mono_ns() < until)
                ;
        }
    }
    munmap(h, size);
    track(pid);
    return pid;
}

/* shmtool survived: a normal exit (0, or 1 with its own message naming the
 * segment, or the process for stats), and no sanitizer report (ASan also
 * exits 1). */
static void assert_survived(int code, const char *err, const char *what, const char *segment)
{
    ck_assert_msg(!strstr(err, "AddressSanitizer") && !strstr(err, "runtime error") &&
                  !strstr(err, "LeakSanitizer"), "%s:\n%s", what, err);
    ck_assert_msg(code == 0 || code == 1, "%s exited %d: %s", what, code, err);
    if (code == 1)
        ck_assert_msg(strncmp(err, "shmtool: ", 9) == 0 && strstr(err, segment) != NULL,
                      "%s exited 1 without saying why: '%s'", what, err);
}

static void write_payloads(shm_writer_t *w, int n)
{
    static unsigned char p[SHM_RECORD_MAX];
    for (int i = 0; i < n; i++) {
        memset(p, 0xa0 + i % 16, shm_payload_size(w->seg.record_size));
        ck_assert_int_eq(shm_writer_write(w, p), SHM_OK);
    }
}

/* Runs a following command (tail -f, record) while the ring gets new
 * records and the hostile peer rewrites its header; stops it with SIGTERM if
 * it is still going. */
static void follow_under_fire(shm_writer_t *w, char *const argv[], const char *what, const char *segment)
{
    proc_t p = spawn(argv);
    static char out[1 << 16], err[1 << 13];
    size_t olen = 0, elen = 0;
    out[0] = err[0] = '\0';
    int64_t deadline = mono_ms() + 20000;
    for (int i = 0; i < 50; i++) {
        write_payloads(w, 3);
        drain(p.out, out, sizeof out, &olen, 5);
        drain(p.err, err, sizeof err, &elen, 0);
    }
    kill(p.pid, SIGTERM);
    while (drain(p.out, out, sizeof out, &olen, 50) && mono_ms() < deadline)
        ;
    while (drain(p.err, err, sizeof err, &elen, 50) && mono_ms() < deadline)
        ;
    int code = wait_exit(p.pid, deadline);
    close(p.out);
    close(p.err);
    assert_survived(code, err, what, segment);
}

START_TEST(every_read_command_should_survive_a_peer_rewriting_the_header)
{
    /* The in ring as the engine makes it (256-byte records, decoded), and a
     * stats block (256 slots of 256 bytes). */
    shm_writer_t w, st;
    shm_ring_spec_t in = SE_SPEC_IN(16);
    ck_assert_msg(shm_writer_open(&w, seg("in"), &in, NULL) == 0, "%s", se_errmsg());
    shm_ring_spec_t stats = { SHM_KIND_STATS, STATS_RECORD_SIZE, STATS_SLOTS, STATS_RECORD_TYPE };
    ck_assert_msg(shm_writer_open(&st, seg("stats.victim"), &stats, NULL) == 0, "%s", se_errmsg());
    write_payloads(&w, 40);
    fork_hostile("in");
    fork_hostile("stats.victim");

    static result_t r;
    char file[64];
    snprintf(file, sizeof file, "/tmp/shmtool-%s.jsonl", inst);
    for (int k = 0; k < 8; k++) {
        for (int j = 0; j < 3; j++) {
            run(&r, "tail", "in", "-n", "12", NULL);
            assert_survived(r.code, r.err, "tail", seg("in"));
        }
        run(&r, "info", "in", NULL);
        assert_survived(r.code, r.err, "info", seg("in"));
        run(&r, "info", "in", "--json", NULL);
        assert_survived(r.code, r.err, "info --json", seg("in"));
        run(&r, "ls", NULL);
        assert_survived(r.code, r.err, "ls", seg("in"));
        run(&r, "ls", "--json", NULL);
        assert_survived(r.code, r.err, "ls --json", seg("in"));
        run(&r, "top", "-n", "2", "-d", "0.01", NULL);
        assert_survived(r.code, r.err, "top", seg("in"));
        run(&r, "stats", "victim", NULL);
        assert_survived(r.code, r.err, "stats", "victim");
        run(&r, "gc", "--dry-run", NULL);
        assert_survived(r.code, r.err, "gc --dry-run", seg("in"));
    }
    char *tail_argv[] = { (char *)tool, "tail", "in", "-f", "-i", inst, NULL };
    follow_under_fire(&w, tail_argv, "tail -f", seg("in"));
    char *record_argv[] = { (char *)tool, "record", "in", file, "-i", inst, NULL };
    follow_under_fire(&w, record_argv, "record", seg("in"));
    unlink(file);
    shm_writer_close(&st, true);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(tail_should_stop_saying_so_when_the_header_changes_under_it)
{
    shm_writer_t w;
    shm_ring_spec_t in = SE_SPEC_IN(16);
    ck_assert_msg(shm_writer_open(&w, seg("in"), &in, NULL) == 0, "%s", se_errmsg());
    write_payloads(&w, 1);
    char *argv[] = { (char *)tool, "tail", "in", "-f", "-n", "1", "-i", inst, NULL };
    proc_t p = spawn(argv);
    static char out[8192], err[4096];
    size_t len = 0, elen = 0;
    int64_t deadline = mono_ms() + 15000;
    ck_assert_msg(read_lines(p.out, out, sizeof out, &len, 1, deadline) == 1, "no line: %s", out);
    /* Smaller records and twice as many: adds up to the same size. */
    w.seg.hdr->record_size = 128;
    w.seg.hdr->capacity = 32;
    write_payloads(&w, 1); /* through the writer's own validated copy */
    int code = wait_exit(p.pid, deadline);
    while (drain(p.err, err, sizeof err, &elen, 50) && mono_ms() < deadline)
        ;
    ck_assert_msg(code == 1, "tail -f exited %d: %s", code, err);
    ck_assert_msg(strstr(err, "header changed") && strstr(err, "128") && strstr(err, seg("in")) &&
                  strstr(err, "stopping"), "unclear: %s", err);
    close(p.out);
    close(p.err);
    w.seg.hdr->record_size = SE_IN_RECORD_SIZE;
    w.seg.hdr->capacity = 16;
    shm_writer_close(&w, true);
}
END_TEST

/* ---- top ---------------------------------------------------------------------- */

START_TEST(top_should_print_every_ring_for_the_given_iterations)
{
    shm_writer_t w;
    shm_reader_t rd;
    open_writer(&w, "in", SHM_KIND_BROADCAST, 64, 16);
    ck_assert_int_eq(shm_reader_open(&rd, seg("in"), NULL, "watcher", SHM_START_HEAD, 0), 0);
    write_records(&w, 0, 3);
    static result_t r;
    int64_t t0 = mono_ms();
    run(&r, "top", "-n", "2", "-d", "0.2", NULL);
    int64_t took = mono_ms() - t0;
    ck_assert_msg(r.code == 0, "top exited %d: %s", r.code, r.err);
    int screens = 0;
    for (const char *s = r.out; (s = strstr(s, "WRITES/S")); s++)
        screens++;
    ck_assert_msg(screens == 2, "want 2 screens, got %d:\n%s", screens, r.out);
    ck_assert_msg(strstr(r.out, "\nin ") && strstr(r.out, "watcher"), "top:\n%s", r.out);
    ck_assert_msg(strchr(r.out, '\033') == NULL, "top clears a screen that is not a tty");
    ck_assert_msg(took >= 200, "top -n 2 -d 0.2 took only %lld ms", (long long)took);
    shm_reader_close(&rd);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- runner ------------------------------------------------------------------- */

static Suite *shmtool_suite(void)
{
    Suite *s = suite_create("shmtool");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, info_json_should_report_head_and_a_registered_readers_position_lag_and_drops);
    tcase_add_test(tc, info_json_should_count_the_drops_of_a_lapped_reader);
    tcase_add_test(tc, info_json_should_escape_odd_reader_names);
    tcase_add_test(tc, info_should_show_the_ring_and_its_readers_as_text);
    tcase_add_test(tc, ls_json_should_list_every_ring_with_its_writer_alive);
    tcase_add_test(tc, ls_should_show_a_killed_writer_dead_and_a_closed_writer_closed);
    tcase_add_test(tc, ls_should_say_so_when_the_instance_has_no_segments);
    tcase_add_test(tc, gc_should_remove_dead_and_closed_writers_rings_but_never_a_live_writers);
    tcase_add_test(tc, gc_should_keep_a_dead_writers_ring_while_a_live_reader_uses_it);
    tcase_add_test(tc, gc_dry_run_should_remove_nothing);
    tcase_add_test(tc, gc_should_judge_another_layout_version_by_its_writer);
    tcase_add_test(tc, gc_should_remove_a_segment_abandoned_before_it_was_ready);
    tcase_add_test(tc, tail_should_print_the_last_three_records_with_positions_and_hex);
    tcase_add_test(tc, tail_should_show_only_records_still_in_the_ring);
    tcase_add_test(tc, tail_should_never_consume_from_an_spsc_ring);
    tcase_add_test(tc, tail_follow_should_print_new_records_report_skips_and_stop_when_the_ring_goes);
    tcase_add_test(tc, tail_follow_should_exit_cleanly_on_sigterm);
    tcase_add_test(tc, tail_follow_should_stop_when_gc_removes_the_ring);
    tcase_add_test(tc, info_should_exit_1_naming_a_corrupt_segment);
    tcase_add_test(tc, ls_should_list_corrupt_segments_with_their_error);
    tcase_add_test(tc, bad_names_commands_and_options_should_be_usage_errors);
    tcase_add_test(tc, a_missing_segment_should_be_a_runtime_error_naming_it);
    tcase_add_test(tc, help_and_no_arguments_should_print_usage);
    tcase_add_test(tc, top_should_print_every_ring_for_the_given_iterations);
    tcase_add_test(tc, every_read_command_should_survive_a_peer_rewriting_the_header);
    tcase_add_test(tc, tail_should_stop_saying_so_when_the_header_changes_under_it);
    suite_add_tcase(s, tc);
    return s;
}

/* Removes what a test killed by its timeout left: every segment of this run. */
static void sweep_leftovers(void)
{
    char lead[64];
    snprintf(lead, sizeof lead, "%s.tool%dt", SHM_DEFAULT_PREFIX, (int)main_pid);
    test_sweep_segments(lead);
    snprintf(lead, sizeof lead, "%s.tool%dt", ALT_PREFIX, (int)main_pid);
    test_sweep_segments(lead);
}

int main(void)
{
    main_pid = getpid();
    tool = getenv("SHMTOOL");
    if (!tool || !*tool)
        tool = "bin/shmtool";
    if (access(tool, X_OK) != 0) {
        fprintf(stderr, "test_shmtool: cannot run %s: %s (build it with `make build`, run from "
                "the repository root, or set SHMTOOL to the binary)\n", tool, strerror(errno));
        return EXIT_FAILURE;
    }
    /* Fork mode is check's default; each test runs in its own process. */
    SRunner *sr = srunner_create(shmtool_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sweep_leftovers();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
