/* shmtool.c -- the operator's eye on the engine's rings: command line, usage,
 * and the helpers every command shares (read-only mapping, snapshots, output).
 * The commands live in shmtool_show.c (ls, info), shmtool_tail.c, shmtool_top.c
 * and shmtool_gc.c; record decoders in shmtool_decode.c. */
#include "shm/shmtool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/atomic.h"

/* ---- signals ------------------------------------------------------------------ */

volatile sig_atomic_t shmtool__stop;

/* The segment being read, for the SIGBUS message. A segment that another
 * process truncates under our mapping faults on the next read; validation
 * cannot prevent that, so the fault is turned into one clear line. */
static const char *volatile reading_segment;

static void on_stop(int sig)
{
    (void)sig;
    shmtool__stop = 1;
}

static void on_sigbus(int sig)
{
    (void)sig;
    static const char a[] = "shmtool: segment ";
    static const char b[] = " shrank while being read (SIGBUS): it is corrupt or was truncated\n";
    const char *name = reading_segment ? reading_segment : "(unknown)";
    ssize_t ignored = write(2, a, sizeof a - 1);
    ignored = write(2, name, strlen(name));
    ignored = write(2, b, sizeof b - 1);
    (void)ignored;
    _exit(SHMTOOL_EXIT_RUNTIME);
}

void shmtool__catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool shmtool__sleep(double seconds)
{
    int64_t ns = (int64_t)(seconds * 1e9);
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    /* EINTR from a stop signal ends the sleep; any other signal resumes it. */
    while (!shmtool__stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return !shmtool__stop;
}

void shmtool__reading(const char *name)
{
    reading_segment = name;
}

/* ---- segments ------------------------------------------------------------------ */

/* The part of a library message after "segment <name>: ", which names what is wrong. */
static const char *detail_of(const char *msg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(msg, "segment ", 8) == 0 && strncmp(msg + 8, name, n) == 0 &&
        strncmp(msg + 8 + n, ": ", 2) == 0)
        return msg + 8 + n + 2;
    return msg;
}

/* The layout version word of a segment that failed with SE_EVERSION. */
static uint32_t version_of(const char *name)
{
    uint32_t v = 0;
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0)
        return 0;
    if (pread(fd, &v, sizeof v, offsetof(shm_header_t, layout_version)) != (ssize_t)sizeof v)
        v = 0;
    close(fd);
    return v;
}

int shmtool__open(shm_segment_t *seg, const char *name, char *why, size_t why_size)
{
    int rc = shm_segment_map(seg, name, false);
    if (rc == 0 && !shm_segment_geometry_ok(seg)) {
        /* The header changed between its validation and the copy kept of it. */
        rc = se_err(SE_ECORRUPT, "segment %s: header changed while it was being mapped (record size %u, "
                    "capacity %u, header size %u for %zu bytes): a peer is rewriting it", name,
                    seg->record_size, seg->capacity, seg->header_size, seg->size);
        shm_segment_unmap(seg);
    }
    if (rc == 0) {
        if (why_size)
            why[0] = '\0';
        return 0;
    }
    const char *msg = se_errmsg();
    switch (rc) {
    case -ENOENT:
        snprintf(why, why_size, "missing");
        break;
    case SE_ENOTREADY:
        snprintf(why, why_size, "not ready");
        break;
    case SE_EVERSION:
        snprintf(why, why_size, "other layout version %u", version_of(name));
        break;
    case SE_ECORRUPT:
        snprintf(why, why_size, "corrupt: %s", detail_of(msg, name));
        break;
    default:
        snprintf(why, why_size, "%s", detail_of(msg, name));
        break;
    }
    return rc;
}

int shmtool__open_ring(const shmtool_opts_t *o, shm_segment_t *seg)
{
    char why[256];
    int rc = shmtool__open(seg, o->segment, why, sizeof why);
    if (rc == -ENOENT)
        fprintf(stderr, "shmtool: no ring '%s' in instance '%s': segment %s does not exist\n",
                o->ring, o->instance, o->segment);
    else if (rc < 0)
        fprintf(stderr, "shmtool: %s\n", se_errmsg());
    return rc < 0 ? SHMTOOL_EXIT_RUNTIME : SHMTOOL_EXIT_OK;
}

void shmtool__snapshot(const shm_segment_t *seg, shmtool_snap_t *s)
{
    shm_header_t *h = seg->hdr;
    memset(s, 0, sizeof *s);
    /* The geometry validated at map time, never the live header's: a peer
     * may rewrite the header at any moment (geometry_changed says so). */
    s->kind = seg->kind;
    s->record_size = seg->record_size;
    s->capacity = seg->capacity;
    s->header_size = seg->header_size;
    s->geometry_changed = !shmtool__same_geometry(seg);
    /* Written once by the creator before its release store of magic, which
     * shm_segment_map's validation loaded with acquire. For display only:
     * nothing is sized or indexed with them. */
    s->record_type = h->record_type;
    s->created_ns = h->created_ns;

    /* Readers before head: a reader's position never passes the head it read,
     * so this order keeps lag (head - position) from going negative. */
    for (int i = 0; seg->reg && i < SHM_MAX_READERS; i++) {
        shm_reader_slot_t *slot = &seg->reg->readers[i];
        shmtool_reader_t r;
        memset(&r, 0, sizeof r);
        r.slot = i;
        memcpy(r.name, slot->name, SHM_READER_NAME_MAX);
        r.name[SHM_READER_NAME_MAX] = '\0';
        /* Pairs with the claimer's compare-and-swap of the owner word. */
        uint64_t owner = shm__load_acquire(&slot->owner);
        r.pid = SHM_OWNER_PID(owner);
        r.pid_start = SHM_OWNER_START(owner);
        /* Pairs with the reader's release store of its position. */
        r.position = shm__load_acquire(&slot->position);
        r.drops = shm__load_relaxed(&slot->drops);
        r.attached_ns = shm__load_relaxed(&slot->attached_ns);
        r.last_active_ns = shm__load_relaxed(&slot->last_active_ns);
        r.alive = shm_segment_reader_alive(seg, i);
        if (r.alive)
            s->live_claims++;
        if (r.name[0] == '\0')
            continue;
        s->readers[s->nreaders++] = r;
        if (r.alive)
            s->nreaders_alive++;
    }
    /* Pairs with the writer's release store of prod_seq after each record. */
    s->head = shm__load_acquire(&h->prod_seq);

    uint64_t writer = shm__load_acquire(&h->writer);
    s->writer_pid = SHM_OWNER_PID(writer);
    s->writer_pid_start = SHM_OWNER_START(writer);
    s->writer_alive = shm_segment_writer_alive(seg);
    s->writer_generation = shm__load_relaxed(&h->writer_generation);
    s->writer_attached_ns = shm__load_relaxed(&h->writer_attached_ns);
    s->heartbeat_ns = shm__load_relaxed(&h->heartbeat_ns);
    s->retired = shm__load_acquire(&h->retired) != 0;
}

bool shmtool__same_geometry(const shm_segment_t *seg)
{
    const shm_header_t *h = seg->hdr;
    return h->kind == (uint32_t)seg->kind && h->header_size == seg->header_size &&
           h->record_size == seg->record_size && h->capacity == seg->capacity;
}

void shmtool__describe_change(const shm_segment_t *seg, char *out, size_t out_size)
{
    const shm_header_t *h = seg->hdr;
    /* One read of each field: they may change again while we print. */
    uint32_t kind = h->kind, rs = h->record_size, cap = h->capacity, hs = h->header_size;
    snprintf(out, out_size, "header changed after validation (kind/record size/capacity/header size "
             "%u/%u/%u/%u, validated as %u/%u/%u/%u)", kind, rs, cap, hs, (unsigned)seg->kind,
             seg->record_size, seg->capacity, seg->header_size);
}

static void list_add(const char *name, const char *ring, void *arg)
{
    shmtool_list_t *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        shmtool_entry_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return; /* shmtool__list reports it: n stays short of what was found */
        l->v = v;
        l->cap = cap;
    }
    shmtool_entry_t *e = &l->v[l->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->ring, sizeof e->ring, "%s", ring);
}

int shmtool__list(const shmtool_opts_t *o, shmtool_list_t *list)
{
    memset(list, 0, sizeof *list);
    int rc = shm_segment_list(o->prefix, o->instance, list_add, list);
    if (rc < 0) {
        shmtool__list_free(list);
        return rc;
    }
    return 0;
}

void shmtool__list_free(shmtool_list_t *list)
{
    free(list->v);
    memset(list, 0, sizeof *list);
}

/* ---- formatting ------------------------------------------------------------------ */

const char *shmtool__writer_state(uint32_t pid, bool alive)
{
    return pid == 0 ? "closed" : alive ? "alive" : "dead";
}

const char *shmtool__reader_state(uint32_t pid, bool alive)
{
    return pid == 0 ? "detached" : alive ? "alive" : "dead";
}

const char *shmtool__kind_name(uint32_t kind)
{
    return kind == SHM_KIND_SPSC ? "spsc" : kind == SHM_KIND_BROADCAST ? "broadcast"
         : kind == SHM_KIND_STATS ? "stats" : "?";
}

uint64_t shmtool__age_ns(uint64_t then_ns, uint64_t now_ns)
{
    return now_ns > then_ns ? now_ns - then_ns : 0;
}

void shmtool__fmt_age(char *out, size_t out_size, uint64_t then_ns, uint64_t now_ns)
{
    if (then_ns == 0) {
        snprintf(out, out_size, "never");
        return;
    }
    uint64_t ns = shmtool__age_ns(then_ns, now_ns);
    uint64_t s = ns / 1000000000u;
    if (s < 1)
        snprintf(out, out_size, "%llums", (unsigned long long)(ns / 1000000u));
    else if (s < 60)
        snprintf(out, out_size, "%.1fs", (double)ns / 1e9);
    else if (s < 3600)
        snprintf(out, out_size, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(out, out_size, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
    else
        snprintf(out, out_size, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s % 86400 / 3600));
}

void shmtool__printable(char *out, size_t out_size, const char *s, size_t len)
{
    size_t o = 0;
    if (out_size == 0)
        return;
    for (size_t i = 0; i < len && s[i] && o + 1 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    out[o] = '\0';
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if invalid:
 * no overlong forms, surrogates or code points past U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (len > n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

void shmtool__json_str(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strnlen(s, len);
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l == 0) {
                fputs("\\ufffd", f);
                i++;
            } else {
                fwrite(p + i, 1, l, f);
                i += l;
            }
            continue;
        } else {
            fputc(c, f);
        }
        i++;
    }
    fputc('"', f);
}

/* ---- command line ---------------------------------------------------------------- */

static const char usage_text[] =
    "usage: shmtool COMMAND [ARGS] [-i INSTANCE] [-p PREFIX]\n"
    "The operator's view of the engine's shared-memory rings, /dev/shm/<prefix>.<instance>.<ring>.\n"
    "It maps segments read-only and never consumes a record.\n"
    "\n"
    "commands:\n"
    "  ls [--json]                 every segment of the instance: kind, sizes, head, writer, readers\n"
    "  info RING [--json]          one ring: head, writer, heartbeat, and every reader's position,\n"
    "                              lag and drops\n"
    "  tail RING [-n N] [-f]       the last N records still in the ring (default 10), decoded;\n"
    "                              -f keeps following until SIGINT or the segment goes away\n"
    "  record RING FILE [-n N]     follow ring `in` from now on and write its quotes to FILE as\n"
    "                              JSON lines in the Redis market-data format, for ingest's replay\n"
    "                              feed; stops after N quotes, or on SIGINT/SIGTERM\n"
    "  top [-d SECONDS] [-n ITER]  write and read rates, lag and drops per ring, every SECONDS\n"
    "                              (default 1); -n stops after ITER screens\n"
    "  gc [--dry-run]              remove segments whose writer is dead or closed and that no live\n"
    "                              reader uses (another layout version: when its writer is dead)\n"
    "  stats PROCESS               a process's metrics (its stats block, e.g. stats.ingest) in\n"
    "                              the Prometheus text format\n"
    "  help                        this text\n"
    "\n"
    "options of every command:\n"
    "  -i INSTANCE   engine instance (default \"" SHM_DEFAULT_INSTANCE "\")\n"
    "  -p PREFIX     segment name prefix (default \"" SHM_DEFAULT_PREFIX "\")\n"
    "RING is the ring part of the segment name: in, sig.momentum, ord, ...\n"
    "\n"
    "exit status: 0 ok, 1 runtime error (missing or corrupt segment), 2 usage error\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("shmtool: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see 'shmtool help')\n", stderr);
    return SHMTOOL_EXIT_USAGE;
}

typedef struct {
    const char *name;
    int (*run)(const shmtool_opts_t *);
    bool takes_ring;
    bool takes_file;
    const char *options; /* the command-specific short option letters it accepts;
                            'J' stands for --json, 'D' for --dry-run */
} command_t;

static const command_t commands[] = {
    { "ls", shmtool_ls, false, false, "J" },
    { "info", shmtool_info, true, false, "J" },
    { "tail", shmtool_tail, true, false, "nf" },
    { "record", shmtool_record, true, true, "n" },
    { "top", shmtool_top, false, false, "dn" },
    { "gc", shmtool_gc, false, false, "D" },
    { "stats", shmtool_stats, true, false, "" },
};

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static const char *option_name(int c)
{
    switch (c) {
    case 'J': return "--json";
    case 'D': return "--dry-run";
    case 'n': return "-n";
    case 'f': return "-f";
    case 'd': return "-d";
    default: return "?";
    }
}

static bool parse_long(const char *s, long min, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'J' },
        { "dry-run", no_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { "instance", required_argument, NULL, 'i' },
        { "prefix", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    /* An observer that maps read-only may look at anyone's segments (and
     * report whose they are); gc removes only our own (shm_segment_remove). */
    shm_trust_set(&(shm_trust_t){ .any_owner = true });
    shmtool_opts_t o;
    memset(&o, 0, sizeof o);
    o.prefix = SHM_DEFAULT_PREFIX;
    o.instance = SHM_DEFAULT_INSTANCE;
    o.count = -1;
    o.interval_s = 1.0;
    char seen[8] = "";
    size_t nseen = 0;
    const char *count_arg = NULL;

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":i:p:n:d:fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': o.instance = optarg; break;
        case 'p': o.prefix = optarg; break;
        case 'h': fputs(usage_text, stdout); return SHMTOOL_EXIT_OK;
        case 'J': o.json = true; break;
        case 'D': o.dry_run = true; break;
        case 'f': o.follow = true; break;
        case 'n':
            count_arg = optarg;
            break;
        case 'd': {
            char *end;
            errno = 0;
            double d = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(d) || d < 0.01 || d > 86400)
                return usage_error("bad interval '-d %s': give seconds from 0.01 to 86400", optarg);
            o.interval_s = d;
            break;
        }
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt) {
                char opt[3] = { '-', (char)optopt, '\0' };
                return usage_error("unknown option '%s'", opt);
            }
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
        if (strchr("JDfnd", c) && !strchr(seen, c) && nseen < sizeof seen - 1)
            seen[nseen++] = (char)c;
    }

    if (optind >= argc) {
        fputs(usage_text, stdout);
        return SHMTOOL_EXIT_OK;
    }
    const char *cmd_name = argv[optind++];
    if (strcmp(cmd_name, "help") == 0) {
        fputs(usage_text, stdout);
        return SHMTOOL_EXIT_OK;
    }
    const command_t *cmd = find_command(cmd_name);
    if (!cmd)
        return usage_error("unknown command '%s'", cmd_name);
    for (size_t i = 0; i < nseen; i++)
        if (!strchr(cmd->options, seen[i])) {
            fprintf(stderr, "shmtool: option '%s' does not apply to '%s' (see 'shmtool help')\n",
                    option_name(seen[i]), cmd->name);
            return SHMTOOL_EXIT_USAGE;
        }
    if (cmd->takes_ring) {
        if (optind >= argc) {
            fprintf(stderr, "shmtool: '%s' needs a RING, e.g. 'shmtool %s in' (see 'shmtool help')\n",
                    cmd->name, cmd->name);
            return SHMTOOL_EXIT_USAGE;
        }
        o.ring = argv[optind++];
    }
    if (cmd->takes_file) {
        if (optind >= argc) {
            fprintf(stderr, "shmtool: '%s' needs a FILE, e.g. 'shmtool %s in session.jsonl' (see 'shmtool help')\n",
                    cmd->name, cmd->name);
            return SHMTOOL_EXIT_USAGE;
        }
        o.file = argv[optind++];
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (count_arg) {
        bool top = strcmp(cmd->name, "top") == 0;
        if (!parse_long(count_arg, top ? 1 : 0, &o.count))
            return usage_error(top ? "bad iteration count '-n %s': give a whole number >= 1"
                                   : "bad record count '-n %s': give a whole number >= 0",
                               count_arg);
    }

    /* shm_name checks prefix, instance and ring with the engine's own rules. */
    if (shm_name(o.segment, sizeof o.segment, o.prefix, o.instance, o.ring ? o.ring : "x") < 0) {
        fprintf(stderr, "shmtool: %s\n", se_errmsg());
        return SHMTOOL_EXIT_USAGE;
    }
    if (!o.ring)
        o.segment[0] = '\0';

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);

    return cmd->run(&o);
}
