/* config.c -- typed, defaulted access to the engine's libconfig file, with
 * errors that name file, line and key. See config.h for the contracts. */
#include "config.h"

#include "err.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct cfg {
    config_t c;
    char *path;
};

int cfg_open(cfg_t **out, const char *path)
{
    struct stat st;
    cfg_t *cfg;
    FILE *f;
    int e;

    if (!path)
        return se_err(-EINVAL, "config: no configuration file given (use -c FILE or CONFIG_PATH)");
    /* Open it ourselves: libconfig reports a missing file only as "file I/O
     * error", and we want the errno. */
    f = fopen(path, "r");
    if (!f) {
        e = errno;
        return se_err(-e, "%s: cannot open configuration file: %s", path, strerror(e));
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return se_err(-EISDIR, "%s: configuration path is a directory", path);
    }
    cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->path = strdup(path))) {
        free(cfg);
        fclose(f);
        return se_err(-ENOMEM, "%s: out of memory loading configuration", path);
    }
    config_init(&cfg->c);
    config_set_auto_convert(&cfg->c, 1);
    /* String lists handed out by cfg_get_string_list hang off their setting's
     * hook; libconfig frees hooks with this when the tree is destroyed. */
    config_set_destructor(&cfg->c, free);
    if (config_read(&cfg->c, f) != CONFIG_TRUE) {
        const char *file = config_error_file(&cfg->c);
        int io = config_error_type(&cfg->c) == CONFIG_ERR_FILE_IO;
        int rc = se_err(io ? -EIO : SE_ECONFIG, "%s:%d: %s", file ? file : path,
                        config_error_line(&cfg->c), config_error_text(&cfg->c));
        fclose(f);
        cfg_close(cfg);
        return rc;
    }
    fclose(f);
    *out = cfg;
    return 0;
}

void cfg_close(cfg_t *cfg)
{
    if (!cfg)
        return;
    config_destroy(&cfg->c);
    free(cfg->path);
    free(cfg);
}

const char *cfg_file(const cfg_t *cfg)
{
    return cfg ? cfg->path : NULL;
}

const char *cfg_path_from_args(int argc, char **argv)
{
    const char *env;

    for (int i = 1; argv && i < argc && argv[i]; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (a[0] == '-' && a[1] == 'c') {
            if (a[2])
                return a + 2;
            if (i + 1 < argc && argv[i + 1])
                return argv[i + 1];
            break;
        }
    }
    env = getenv("CONFIG_PATH");
    return env && *env ? env : NULL;
}

/* The setting at key, or NULL if cfg, key or the setting is absent. */
static config_setting_t *find(const cfg_t *cfg, const char *key)
{
    return cfg && key ? config_lookup(&cfg->c, key) : NULL;
}

/* Settings read with config_read(FILE *) carry no file name; those from
 * @include files do. */
static const char *src_file(const cfg_t *cfg, const config_setting_t *s)
{
    const char *f = config_setting_source_file(s);
    return f ? f : cfg->path;
}

static const char *type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a float";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    }
    return "an unknown type";
}

/* Records "FILE:LINE: KEY: <fmt...>" and returns SE_ECONFIG. */
__attribute__((format(printf, 4, 5)))
static int bad(const cfg_t *cfg, const config_setting_t *s, const char *key, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return se_err(SE_ECONFIG, "%s:%u: %s: %s", src_file(cfg, s),
                  (unsigned)config_setting_source_line(s), key, what);
}

int cfg_get_int(const cfg_t *cfg, const char *key, int64_t def, int64_t *out)
{
    const config_setting_t *s = find(cfg, key);
    double d;

    if (!s) {
        *out = def;
        return 0;
    }
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        *out = config_setting_get_int64(s);
        return 0;
    case CONFIG_TYPE_FLOAT:
        /* 10.0 is accepted; 2.5 or 1e30 would be silently changed. The range
         * test comes first so the cast below is defined (and rejects NaN). */
        d = config_setting_get_float(s);
        if (!(d >= -0x1p63 && d < 0x1p63))
            return bad(cfg, s, key, "expected an integer, got a float too large for 64 bits (%g)", d);
        if ((double)(int64_t)d != d)
            return bad(cfg, s, key, "expected an integer, got a float with a fractional part (%g)", d);
        *out = (int64_t)d;
        return 0;
    }
    return bad(cfg, s, key, "expected an integer, got %s", type_name(s));
}

int cfg_get_double(const cfg_t *cfg, const char *key, double def, double *out)
{
    const config_setting_t *s = find(cfg, key);

    if (!s) {
        *out = def;
        return 0;
    }
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        *out = (double)config_setting_get_int64(s);
        return 0;
    case CONFIG_TYPE_FLOAT:
        *out = config_setting_get_float(s);
        return 0;
    }
    return bad(cfg, s, key, "expected a number, got %s", type_name(s));
}

int cfg_get_bool(const cfg_t *cfg, const char *key, bool def, bool *out)
{
    const config_setting_t *s = find(cfg, key);

    if (!s) {
        *out = def;
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return bad(cfg, s, key, "expected a boolean (true or false), got %s", type_name(s));
    *out = config_setting_get_bool(s) != 0;
    return 0;
}

int cfg_get_string(const cfg_t *cfg, const char *key, const char *def, const char **out)
{
    const config_setting_t *s = find(cfg, key);

    if (!s) {
        *out = def;
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return bad(cfg, s, key, "expected a string, got %s", type_name(s));
    *out = config_setting_get_string(s);
    return 0;
}

int cfg_get_int_range(const cfg_t *cfg, const char *key, int64_t def,
                      int64_t min, int64_t max, int64_t *out)
{
    const config_setting_t *s = find(cfg, key);
    int64_t v = def;
    int rc = cfg_get_int(cfg, key, def, &v);

    if (rc)
        return rc;
    if (s && (v < min || v > max))
        return bad(cfg, s, key, "%" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]", v, min, max);
    *out = v;
    return 0;
}

int cfg_get_double_range(const cfg_t *cfg, const char *key, double def,
                         double min, double max, double *out)
{
    const config_setting_t *s = find(cfg, key);
    double v = def;
    int rc = cfg_get_double(cfg, key, def, &v);

    if (rc)
        return rc;
    if (s && !(v >= min && v <= max))
        return bad(cfg, s, key, "%g is out of range [%g, %g]", v, min, max);
    *out = v;
    return 0;
}

int cfg_get_string_list(const cfg_t *cfg, const char *key, const char ***out, int *n)
{
    config_setting_t *s = find(cfg, key);
    const char **items;
    int len;

    *out = NULL;
    *n = 0;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return bad(cfg, s, key, "expected a list of strings, got %s", type_name(s));
    len = config_setting_length(s);
    for (int i = 0; i < len; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING)
            return bad(cfg, e, key, "element %d: expected a string, got %s", i, type_name(e));
    }
    if (len == 0)
        return 0;
    /* Built once per setting and kept on its hook (freed by config_destroy
     * through the destructor set in cfg_open), so repeated calls are cheap
     * and cfg_close frees everything. Not safe against concurrent calls on
     * the same cfg; configuration is read at start-up. */
    items = config_setting_get_hook(s);
    if (!items) {
        items = malloc((size_t)len * sizeof *items);
        if (!items)
            return se_err(-ENOMEM, "%s: %s: out of memory", cfg->path, key);
        for (int i = 0; i < len; i++)
            items[i] = config_setting_get_string(config_setting_get_elem(s, (unsigned)i));
        config_setting_set_hook(s, items);
    }
    *out = items;
    *n = len;
    return 0;
}

/* Warns about every unknown leaf under grp, whose dotted path is prefix
 * ("" for the root). Returns the count, or -ENOMEM. */
static int walk_unknown(const cfg_t *cfg, const config_setting_t *grp, const char *prefix)
{
    int unknown = 0, len = config_setting_length(grp);

    for (int i = 0; i < len; i++) {
        const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
        const char *name = config_setting_name(s);
        size_t klen = strlen(prefix) + 1 + strlen(name) + 1;
        char *key = malloc(klen);
        int rc = 0;

        if (!key)
            return se_err(-ENOMEM, "%s: out of memory checking keys", cfg->path);
        snprintf(key, klen, "%s%s%s", prefix, *prefix ? "." : "", name);
        if (config_setting_is_group(s)) {
            rc = walk_unknown(cfg, s, key);
        } else if (!cfg_key_known(key)) {
            log_warn("unknown configuration key", LOG_STR("file", src_file(cfg, s)),
                     LOG_UINT("line", config_setting_source_line(s)), LOG_STR("key", key));
            rc = 1;
        }
        free(key);
        if (rc < 0)
            return rc;
        unknown += rc;
    }
    return unknown;
}

int cfg_warn_unknown(const cfg_t *cfg)
{
    return cfg ? walk_unknown(cfg, config_root_setting(&cfg->c), "") : 0;
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_setting(uint64_t h, const config_setting_t *s)
{
    const char *name = config_setting_name(s);
    int type = config_setting_type(s);
    if (name)
        h = fnv(h, name, strlen(name) + 1);
    h = fnv(h, &type, sizeof type);
    switch (type) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: {
        long long v = config_setting_get_int64(s);
        return fnv(h, &v, sizeof v);
    }
    case CONFIG_TYPE_FLOAT: {
        double v = config_setting_get_float(s);
        return fnv(h, &v, sizeof v);
    }
    case CONFIG_TYPE_BOOL: {
        int v = config_setting_get_bool(s);
        return fnv(h, &v, sizeof v);
    }
    case CONFIG_TYPE_STRING: {
        const char *v = config_setting_get_string(s);
        return fnv(h, v ? v : "", v ? strlen(v) + 1 : 1);
    }
    default: { /* group, array, list: every element in order */
        int len = config_setting_length(s);
        h = fnv(h, &len, sizeof len);
        for (int i = 0; i < len; i++)
            h = hash_setting(h, config_setting_get_elem(s, (unsigned)i));
        return h;
    }
    }
}

uint64_t cfg_hash(const cfg_t *cfg, const char *key)
{
    const config_setting_t *s = find(cfg, key);
    uint64_t h = s ? hash_setting(0xcbf29ce484222325ull, s) : 0;
    return s && h == 0 ? 1 : h;
}

int cfg_value_error(const cfg_t *cfg, const char *key, const char *fmt, ...)
{
    char what[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const config_setting_t *s = find(cfg, key);
    if (!s)
        return se_err(SE_ECONFIG, "%s: %s: %s", cfg ? cfg->path : "(no config file)", key, what);
    return bad(cfg, s, key, "%s", what);
}

static void node_of(const config_setting_t *s, cfg_node_t *out)
{
    memset(out, 0, sizeof *out);
    out->setting = s;
    out->name = config_setting_name(s);
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        out->type = CFG_NODE_INT;
        out->i = config_setting_get_int64(s);
        break;
    case CONFIG_TYPE_FLOAT:
        out->type = CFG_NODE_FLOAT;
        out->d = config_setting_get_float(s);
        break;
    case CONFIG_TYPE_BOOL:
        out->type = CFG_NODE_BOOL;
        out->b = config_setting_get_bool(s) != 0;
        break;
    case CONFIG_TYPE_STRING:
        out->type = CFG_NODE_STRING;
        out->s = config_setting_get_string(s);
        break;
    case CONFIG_TYPE_GROUP:
        out->type = CFG_NODE_GROUP;
        out->count = config_setting_length(s);
        break;
    default: /* arrays and lists */
        out->type = CFG_NODE_LIST;
        out->count = config_setting_length(s);
        break;
    }
}

int cfg_node(const cfg_t *cfg, const char *key, cfg_node_t *out)
{
    if (!cfg)
        return -ENOENT;
    const config_setting_t *s = key && key[0] ? find(cfg, key) : config_root_setting(&cfg->c);
    if (!s)
        return -ENOENT;
    node_of(s, out);
    return 0;
}

int cfg_node_child(const cfg_node_t *parent, int i, cfg_node_t *out)
{
    if (i < 0 || i >= parent->count)
        return -EINVAL;
    node_of(config_setting_get_elem(parent->setting, (unsigned)i), out);
    return 0;
}
