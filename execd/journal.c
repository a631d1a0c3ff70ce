/* journal.c -- see journal.h. The file is written with plain write(2) on an
 * O_APPEND descriptor; lines are read back with getline. */
#include "execd/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

#define LINE_MAX_BYTES 1024
#define ANSWER_BUF     65536
#define MAX_FIELDS     20

/* ---- a set of requests, optionally a FIFO window of the latest ---------- */

typedef struct {
    char id[SE_ID_MAX];
    uint8_t action;
} jkey_t;

/* Open addressing with linear probing over positions in a FIFO of keys; when
 * the FIFO is full the oldest key is removed (backward-shift deletion, so no
 * tombstones pile up). */
typedef struct {
    jkey_t *keys;   /* FIFO, cap entries */
    int32_t *vals;  /* a value per key */
    int32_t *index; /* cap * 2 (a power of two) slots of FIFO positions, -1 empty */
    uint32_t cap, mask, head, count;
} keyset_t;

static uint32_t key_hash(const jkey_t *k)
{
    uint32_t h = 2166136261u ^ k->action;
    h *= 16777619u;
    for (const char *p = k->id; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    return h;
}

static bool key_eq(const jkey_t *a, const jkey_t *b)
{
    return a->action == b->action && strcmp(a->id, b->id) == 0;
}

static int ks_init(keyset_t *ks, uint32_t cap)
{
    uint32_t slots = 2;
    while (slots < cap * 2)
        slots *= 2;
    *ks = (keyset_t){ .cap = cap, .mask = slots - 1 };
    ks->keys = calloc(cap, sizeof *ks->keys);
    ks->vals = calloc(cap, sizeof *ks->vals);
    ks->index = malloc(slots * sizeof *ks->index);
    if (!ks->keys || !ks->vals || !ks->index)
        return -ENOMEM;
    memset(ks->index, 0xff, slots * sizeof *ks->index);
    return 0;
}

static void ks_fini(keyset_t *ks)
{
    free(ks->keys);
    free(ks->vals);
    free(ks->index);
    memset(ks, 0, sizeof *ks);
}

/* The index slot holding k, or the empty slot where it would go. */
static uint32_t ks_slot(const keyset_t *ks, const jkey_t *k)
{
    uint32_t i = key_hash(k) & ks->mask;
    while (ks->index[i] >= 0 && !key_eq(&ks->keys[ks->index[i]], k))
        i = (i + 1) & ks->mask;
    return i;
}

static int32_t *ks_find(const keyset_t *ks, const jkey_t *k)
{
    if (!ks->index)
        return NULL;
    uint32_t i = ks_slot(ks, k);
    return ks->index[i] >= 0 ? &ks->vals[ks->index[i]] : NULL;
}

static void ks_remove_slot(keyset_t *ks, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & ks->mask;
        if (ks->index[j] < 0)
            break;
        uint32_t home = key_hash(&ks->keys[ks->index[j]]) & ks->mask;
        /* Move j back to the hole i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            ks->index[i] = ks->index[j];
            i = j;
        }
    }
    ks->index[i] = -1;
}

/* Adds k (or updates its value), evicting the oldest key when full. */
static void ks_put(keyset_t *ks, const jkey_t *k, int32_t val)
{
    uint32_t i = ks_slot(ks, k);
    if (ks->index[i] >= 0) {
        ks->vals[ks->index[i]] = val;
        return;
    }
    uint32_t pos = ks->head;
    if (ks->count == ks->cap) {
        ks_remove_slot(ks, ks_slot(ks, &ks->keys[pos]));
        ks->count--;
        i = ks_slot(ks, k); /* the deletion may have moved the empty slot */
    }
    ks->keys[pos] = *k;
    ks->vals[pos] = val;
    ks->index[i] = (int32_t)pos;
    ks->head = (pos + 1) % ks->cap;
    ks->count++;
}

/* ---- the journal ---------------------------------------------------------- */

struct journal {
    int fd;
    bool sync, dirty;
    char *path;
    keyset_t seen;
    se_order_rec_t *pending;
    int npending;
    char *answers;
    size_t answers_len;
};

static jkey_t key_of(uint8_t action, const char *id)
{
    jkey_t k;
    memset(&k, 0, sizeof k);
    k.action = action;
    snprintf(k.id, sizeof k.id, "%s", id);
    return k;
}

bool journal_id_ok(const char *id)
{
    size_t n = strnlen(id, SE_ID_MAX);
    return n > 0 && n < SE_ID_MAX && !strpbrk(id, "\t\r\n");
}

/* Copies s into out with tabs, CR and LF made spaces: a field stays a field. */
static const char *field(char *out, size_t size, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] == '\t' || s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    out[n] = '\0';
    return out;
}

static uint32_t checksum(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Appends "\t#<checksum>\n" to the line of length n in buf (size bytes). */
static int seal(char *buf, size_t size, int n)
{
    if (n < 0 || (size_t)n + 12 >= size)
        return -ENOSPC;
    return n + snprintf(buf + n, size - (size_t)n, "\t#%08" PRIx32 "\n", checksum(buf, (size_t)n));
}

static const char *action_word(uint8_t a)
{
    return a == SE_ACTION_CANCEL ? "cancel" : "new";
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int journal_submit(journal_t *j, const se_order_rec_t *o, int64_t now_ns)
{
    char line[LINE_MAX_BYTES], strategy[SE_STRATEGY_MAX], symbol[SE_SYMBOL_MAX];
    int n = snprintf(line, sizeof line,
                     "S\t%s\t%s\t%" PRIu32 "\t%s\t%s\t%s\t%s\t%.17g\t%.17g\t%" PRId64 "\t%" PRId64 "\t%" PRId64
                     "\t%" PRId64 "\t%" PRId64,
                     action_word(o->action), o->client_order_id, o->strategy_index,
                     field(strategy, sizeof strategy, o->strategy, SE_STRATEGY_MAX),
                     field(symbol, sizeof symbol, o->symbol, SE_SYMBOL_MAX),
                     o->side == SE_SIDE_BUY ? "buy" : o->side == SE_SIDE_SELL ? "sell" : "-",
                     o->order_type == SE_ORDER_MARKET ? "market" : o->order_type == SE_ORDER_LIMIT ? "limit" : "-",
                     o->qty, o->price, o->ts_source_ns, o->ts_ingest_ns, o->ts_strategy_ns, o->ts_risk_ns, now_ns);
    if ((n = seal(line, sizeof line, n)) < 0)
        return n;
    int rc = write_all(j->fd, line, (size_t)n);
    if (rc < 0)
        return rc;
    j->dirty = true;
    jkey_t k = key_of(o->action, o->client_order_id);
    ks_put(&j->seen, &k, 0);
    return 0;
}

int journal_sync(journal_t *j)
{
    if (!j->dirty)
        return 0;
    j->dirty = false;
    if (j->sync && fdatasync(j->fd) < 0)
        return -errno;
    return 0;
}

int journal_flush(journal_t *j)
{
    if (j->answers_len == 0)
        return 0;
    int rc = write_all(j->fd, j->answers, j->answers_len);
    j->answers_len = 0;
    return rc;
}

int journal_answer(journal_t *j, const se_order_rec_t *o, const char *outcome, const char *order_id,
                   const char *reason, int64_t now_ns)
{
    if (j->answers_len + LINE_MAX_BYTES > ANSWER_BUF) {
        int rc = journal_flush(j);
        if (rc < 0)
            return rc;
    }
    char oid[SE_ID_MAX], why[SE_REASON_MAX];
    char *line = j->answers + j->answers_len;
    int n = snprintf(line, LINE_MAX_BYTES, "A\t%s\t%s\t%s\t%s\t%s\t%" PRId64, action_word(o->action),
                     o->client_order_id, outcome, field(oid, sizeof oid, order_id, SE_ID_MAX),
                     field(why, sizeof why, reason, SE_REASON_MAX), now_ns);
    if ((n = seal(line, LINE_MAX_BYTES, n)) < 0)
        return n;
    j->answers_len += (size_t)n;
    return 0;
}

bool journal_seen(const journal_t *j, const se_order_rec_t *o)
{
    jkey_t k = key_of(o->action, o->client_order_id);
    return ks_find(&j->seen, &k) != NULL;
}

const se_order_rec_t *journal_pending(const journal_t *j, int *n)
{
    *n = j->npending;
    return j->pending;
}

/* ---- reading it back ------------------------------------------------------ */

/* Splits line (no newline) at tabs, checks the checksum field, and returns the
 * number of fields before it, or -1 for a damaged line. */
static int split(char *line, char **f)
{
    char *hash = strrchr(line, '\t');
    if (!hash || hash[1] != '#')
        return -1;
    char *end;
    unsigned long sum = strtoul(hash + 2, &end, 16);
    if (*end != '\0' || end == hash + 2 || sum != checksum(line, (size_t)(hash - line)))
        return -1;
    *hash = '\0';
    int n = 0;
    for (char *p = line; n < MAX_FIELDS; n++) {
        f[n] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            return n + 1;
        *tab = '\0';
        p = tab + 1;
    }
    return -1;
}

static bool copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    *out = v;
    return *s && *end == '\0' && errno == 0;
}

static bool parse_action(const char *s, uint8_t *out)
{
    *out = strcmp(s, "new") == 0 ? SE_ACTION_NEW : strcmp(s, "cancel") == 0 ? SE_ACTION_CANCEL : 0;
    return *out != 0;
}

/* An S line's fields back into the order record it was written from. */
static bool parse_submit(char **f, int n, se_order_rec_t *o)
{
    memset(o, 0, sizeof *o);
    int64_t idx, ts;
    char *end;
    if (n != 15 || !parse_action(f[1], &o->action) || !journal_id_ok(f[2]) ||
        !copy_str(o->client_order_id, sizeof o->client_order_id, f[2]) || !parse_i64(f[3], &idx) || idx < 0 ||
        idx > UINT32_MAX || !copy_str(o->strategy, sizeof o->strategy, f[4]) ||
        !copy_str(o->symbol, sizeof o->symbol, f[5]))
        return false;
    o->strategy_index = (uint32_t)idx;
    o->side = strcmp(f[6], "buy") == 0 ? SE_SIDE_BUY : strcmp(f[6], "sell") == 0 ? SE_SIDE_SELL : 0;
    o->order_type = strcmp(f[7], "market") == 0 ? SE_ORDER_MARKET : strcmp(f[7], "limit") == 0 ? SE_ORDER_LIMIT : 0;
    o->qty = strtod(f[8], &end);
    if (*end)
        return false;
    o->price = strtod(f[9], &end);
    if (*end)
        return false;
    return parse_i64(f[10], &o->ts_source_ns) && parse_i64(f[11], &o->ts_ingest_ns) &&
           parse_i64(f[12], &o->ts_strategy_ns) && parse_i64(f[13], &o->ts_risk_ns) && parse_i64(f[14], &ts);
}

typedef struct {
    keyset_t map;          /* request -> index in reqs */
    se_order_rec_t *reqs;  /* every S line, in order */
    bool *answered;
    int n, cap;
} loader_t;

static int remember(loader_t *l, const se_order_rec_t *o)
{
    jkey_t k = key_of(o->action, o->client_order_id);
    if (ks_find(&l->map, &k))
        return 0; /* journalled twice (a resend): one request */
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 1024;
        se_order_rec_t *r = realloc(l->reqs, (size_t)cap * sizeof *r);
        bool *a = r ? realloc(l->answered, (size_t)cap * sizeof *a) : NULL;
        if (r)
            l->reqs = r;
        if (!a)
            return -ENOMEM;
        l->answered = a;
        l->cap = cap;
    }
    l->reqs[l->n] = *o;
    l->answered[l->n] = false;
    ks_put(&l->map, &k, l->n++);
    return 0;
}

static int count_lines(FILE *f, uint32_t *n)
{
    int c;
    uint64_t lines = 1;
    while ((c = getc(f)) != EOF)
        lines += c == '\n';
    if (lines > (1u << 30))
        return -EFBIG;
    *n = (uint32_t)lines;
    rewind(f);
    return 0;
}

static int load(journal_t *j, FILE *f, journal_load_t *ld)
{
    loader_t l = { 0 };
    uint32_t lines;
    int rc = count_lines(f, &lines);
    if (rc < 0 || (rc = ks_init(&l.map, lines)) < 0)
        return rc;
    char *buf = NULL;
    size_t bufsize = 0;
    ssize_t len;
    off_t good_end = 0;
    uint64_t lineno = 0;
    while ((len = getline(&buf, &bufsize, f)) > 0) {
        lineno++;
        if (buf[len - 1] != '\n') {
            ld->torn_tail = true;
            log_warn("journal: the last line is incomplete (a crash while writing it); it is dropped",
                     LOG_STR("file", j->path), LOG_UINT("line", lineno), LOG_INT("bytes", len));
            break;
        }
        good_end += len;
        buf[len - 1] = '\0';
        char *f_[MAX_FIELDS];
        int n = split(buf, f_);
        se_order_rec_t o;
        uint8_t action;
        int32_t *at;
        if (n == 15 && strcmp(f_[0], "S") == 0 && parse_submit(f_, n, &o)) {
            if ((rc = remember(&l, &o)) < 0)
                break;
            jkey_t k = key_of(o.action, o.client_order_id);
            ks_put(&j->seen, &k, 0);
        } else if (n == 7 && strcmp(f_[0], "A") == 0 && parse_action(f_[1], &action)) {
            jkey_t k = key_of(action, f_[2]);
            if ((at = ks_find(&l.map, &k)))
                l.answered[*at] = true;
            else
                log_warn("journal: an answer to a request it does not hold", LOG_STR("file", j->path),
                         LOG_UINT("line", lineno), LOG_STR("client_order_id", f_[2]));
        } else {
            ld->corrupt++;
            log_warn("journal: a damaged line is skipped", LOG_STR("file", j->path), LOG_UINT("line", lineno));
            continue;
        }
        ld->lines++;
    }
    free(buf);
    if (rc == 0 && ld->torn_tail && ftruncate(j->fd, good_end) < 0)
        rc = se_err(-errno, "journal %s: cannot cut its torn last line: %s", j->path, strerror(errno));
    if (rc == 0) {
        for (int i = 0; i < l.n; i++)
            if (!l.answered[i])
                l.reqs[j->npending++] = l.reqs[i];
        j->pending = l.reqs;
        l.reqs = NULL;
        ld->pending = j->npending;
    }
    free(l.reqs);
    free(l.answered);
    ks_fini(&l.map);
    return rc;
}

int journal_open(journal_t **out, const char *path, bool sync, journal_load_t *ld)
{
    memset(ld, 0, sizeof *ld);
    journal_t *j = calloc(1, sizeof *j);
    if (!j)
        return se_err(-ENOMEM, "journal: out of memory");
    j->fd = -1;
    j->sync = sync;
    int rc;
    if (!(j->path = strdup(path)) || !(j->answers = malloc(ANSWER_BUF)) ||
        ks_init(&j->seen, JOURNAL_SEEN_WINDOW) < 0) {
        journal_close(j);
        return se_err(-ENOMEM, "journal: out of memory");
    }
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        rc = se_err(-errno, "journal %s: cannot open: %s", path, strerror(errno));
        journal_close(j);
        return rc;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        rc = se_err(-errno, "journal %s: cannot read: %s", path, strerror(errno));
        journal_close(j);
        return rc;
    }
    rc = load(j, f, ld);
    fclose(f);
    if (rc < 0) {
        if (rc == -ENOMEM || rc == -EFBIG)
            se_err(rc, "journal %s: too large to read back (%s)", path, se_strerror(rc));
        journal_close(j);
        return rc;
    }
    *out = j;
    return 0;
}

void journal_close(journal_t *j)
{
    if (!j)
        return;
    if (j->fd >= 0) {
        journal_flush(j);
        close(j->fd);
    }
    ks_fini(&j->seen);
    free(j->pending);
    free(j->answers);
    free(j->path);
    free(j);
}
