/* host.c -- see host.h. */
#include "strategyd/host.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "strategyd/builtins.h"
#include "strategyd/python_host.h"

static const char *key_of(host_t *h, const char *key, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s", h->group, key ? key : "");
    return buf;
}

/* A wrong type is the strategy's init failing: log file, line and key here,
 * where they are known, and hand the strategy a plain error code. */
static int checked(host_t *h, int rc)
{
    if (rc < 0) {
        h->config_errors++;
        log_error("strategy config error", LOG_STR("strategy", h->name), LOG_STR("error", se_errmsg()));
    }
    return rc;
}

static int cfg_double(void *ctx, const char *key, double def, double *out)
{
    char k[256];
    host_t *h = ctx;
    return checked(h, cfg_get_double(h->cfg, key_of(h, key, k, sizeof k), def, out));
}

static int cfg_int(void *ctx, const char *key, int64_t def, int64_t *out)
{
    char k[256];
    host_t *h = ctx;
    return checked(h, cfg_get_int(h->cfg, key_of(h, key, k, sizeof k), def, out));
}

static int cfg_bool(void *ctx, const char *key, int def, int *out)
{
    char k[256];
    host_t *h = ctx;
    bool b;
    int rc = checked(h, cfg_get_bool(h->cfg, key_of(h, key, k, sizeof k), def != 0, &b));
    if (rc == 0)
        *out = b;
    return rc;
}

static int cfg_string(void *ctx, const char *key, const char *def, const char **out)
{
    char k[256];
    host_t *h = ctx;
    return checked(h, cfg_get_string(h->cfg, key_of(h, key, k, sizeof k), def, out));
}

static void host_log(void *ctx, int level, const char *msg)
{
    host_t *h = ctx;
    log_level_t l = level <= STRAT_LOG_DEBUG ? LOG_LEVEL_DEBUG
                    : level == STRAT_LOG_INFO ? LOG_LEVEL_INFO
                    : level == STRAT_LOG_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_ERROR;
    log_write(l, msg, (const log_field_t[]){ LOG_STR("strategy", h->name), LOG_END });
}

static int64_t host_now(void *ctx)
{
    host_t *h = ctx;
    return h->event_ns ? h->event_ns : clock_real_ns();
}

static void host_order_id(void *ctx, char out[STRAT_ID_MAX])
{
    host_t *h = ctx;
    snprintf(out, STRAT_ID_MAX, "%s-%lld-%llu", h->name, (long long)h->epoch_s,
             (unsigned long long)++h->order_seq);
}

int host_init(host_t *h, const cfg_t *cfg, const char *name)
{
    memset(h, 0, sizeof *h);
    /* "<name>-<10-digit epoch>-<seq>" must fit STRAT_ID_MAX with room for an
     * 11-digit sequence, and "strategyd.<name>" a reader slot's name. */
    if (!name[0] || strlen(name) > HOST_NAME_MAX_LEN || strchr(name, '.') || strchr(name, '-'))
        return se_err(-EINVAL, "strategy name '%s' must be 1-%d bytes without '.' or '-'", name,
                      HOST_NAME_MAX_LEN);
    strcpy(h->name, name);
    snprintf(h->group, sizeof h->group, "strategies.configs.%s.", name);
    h->cfg = cfg;
    h->epoch_s = clock_real_ns() / 1000000000;
    h->api = (strat_host_t){
        .abi_version = STRAT_ABI_VERSION,
        .size = sizeof(strat_host_t),
        .ctx = h,
        .instance_name = h->name,
        .config_double = cfg_double,
        .config_int = cfg_int,
        .config_bool = cfg_bool,
        .config_string = cfg_string,
        .log = host_log,
        .now_ns = host_now,
        .new_order_id = host_order_id,
    };
    return 0;
}

/* True when path lies strictly beneath dir (both resolved, no trailing '/'
 * but for "/" itself). */
static bool beneath(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/' && path[1] != '\0';
    return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

/* out->source = file, taken from engine.pluginsDir unless absolute, and
 * resolved (every symlink followed) into `resolved`, which must lie beneath
 * the resolved engine.pluginsDir: what is loaded is never outside it. key
 * (strategies.configs.<name>.<what>) names it in errors. */
static int find_file(host_t *h, const char *file, const char *what, char *key, size_t keysize, loaded_t *out,
                     char resolved[PATH_MAX])
{
    const char *dir;
    char dir_real[PATH_MAX];
    int rc = cfg_get_string(h->cfg, "engine.pluginsDir", "plugins", &dir);
    if (rc < 0)
        return rc;
    snprintf(key, keysize, "%s%s", h->group, what);
    if (file[0] == '/')
        snprintf(out->source, sizeof out->source, "%s", file);
    else
        snprintf(out->source, sizeof out->source, "%s/%s", dir, file);
    if (!realpath(dir, dir_real))
        return cfg_value_error(h->cfg, "engine.pluginsDir", "plugins folder %s (for %s %s): %s", dir, what,
                               file, strerror(errno));
    if (!realpath(out->source, resolved))
        return cfg_value_error(h->cfg, key, "%s %s: %s", what, out->source, strerror(errno));
    if (!beneath(resolved, dir_real))
        return cfg_value_error(h->cfg, key, "%s \"%s\" resolves to %s, outside engine.pluginsDir %s: refused "
                               "(strategy code is loaded only from that folder)", what, file, resolved, dir_real);
    if (access(resolved, R_OK) < 0)
        return cfg_value_error(h->cfg, key, "%s %s: %s", what, out->source, strerror(errno));
    return 0;
}

static int load_script(host_t *h, const char *file, loaded_t *out)
{
    char key[160], group[128], resolved[PATH_MAX];
    const char *cls;
    int rc = find_file(h, file, "script", key, sizeof key, out, resolved);
    if (rc < 0)
        return rc;
    snprintf(key, sizeof key, "%sclass", h->group);
    if ((rc = cfg_get_string(h->cfg, key, "", &cls)) < 0)
        return rc;
    snprintf(group, sizeof group, "strategies.configs.%s", h->name);
    if ((rc = pyhost_load(h->name, resolved, cls, h->cfg, group, &out->plugin)) == 0)
        snprintf(out->script_of, sizeof out->script_of, "%.*s", HOST_NAME_MAX_LEN, h->name);
    return rc;
}

static int load_plugin(host_t *h, const char *file, loaded_t *out)
{
    char key[160], resolved[PATH_MAX];
    int rc = find_file(h, file, "plugin", key, sizeof key, out, resolved);
    if (rc < 0)
        return rc;
    out->dl = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    if (!out->dl)
        return cfg_value_error(h->cfg, key, "plugin %s cannot be loaded: %s", out->source, dlerror());
    strat_entry_fn entry = (strat_entry_fn)dlsym(out->dl, STRAT_ENTRY_SYMBOL);
    if (!entry)
        return cfg_value_error(h->cfg, key, "plugin %s has no entry point %s()", out->source,
                               STRAT_ENTRY_SYMBOL);
    *(void **)&out->run = dlsym(out->dl, STRAT_RUN_SYMBOL); /* optional */
    out->plugin = entry(&h->api);
    if (!out->plugin)
        return cfg_value_error(h->cfg, key, "plugin %s declined to load (see its log line)", out->source);
    return 0;
}

static int check_plugin(host_t *h, const loaded_t *l)
{
    const strat_plugin_t *p = l->plugin;
    if (p->abi_version != STRAT_ABI_VERSION)
        return se_err(-EPROTO, "strategy %s: %s was built for strategy ABI %u, this strategyd speaks %u: "
                      "rebuild it against plugins/include/strategy.h", h->name, l->source,
                      p->abi_version, STRAT_ABI_VERSION);
    if (p->size < sizeof(strat_plugin_t))
        return se_err(-EPROTO, "strategy %s: %s declares a %u-byte plugin table, expected %zu",
                      h->name, l->source, p->size, sizeof(strat_plugin_t));
    if (!p->create || !p->init || !p->on_market_data || !p->on_fill || !p->on_position_update ||
        !p->start || !p->stop || !p->is_running || !p->destroy)
        return se_err(-EPROTO, "strategy %s: %s leaves a required function of strat_plugin_t NULL",
                      h->name, l->source);
    return 0;
}

/* The default that tells an absent key from an empty string. */
static const char absent[] = "";

int host_load(host_t *h, loaded_t *out)
{
    memset(out, 0, sizeof *out);
    const char *file, *script, *builtin;
    char key[160];
    snprintf(key, sizeof key, "%splugin", h->group);
    int rc = cfg_get_string(h->cfg, key, absent, &file);
    if (rc < 0)
        return rc;
    if (file != absent && !file[0]) /* would name pluginsDir itself */
        return cfg_value_error(h->cfg, key, "plugin is empty: name a .so file in engine.pluginsDir");
    snprintf(key, sizeof key, "%sscript", h->group);
    if ((rc = cfg_get_string(h->cfg, key, absent, &script)) < 0)
        return rc;
    if (script != absent && !script[0])
        return cfg_value_error(h->cfg, key, "script is empty: name a .py file in engine.pluginsDir");
    if (script[0] && file[0]) {
        rc = cfg_value_error(h->cfg, key, "a strategy has a script or a plugin, not both");
    } else if (script[0]) {
        rc = load_script(h, script, out);
    } else if (file[0]) {
        rc = load_plugin(h, file, out);
    } else {
        snprintf(key, sizeof key, "%sbuiltin", h->group);
        if ((rc = cfg_get_string(h->cfg, key, h->name, &builtin)) < 0)
            return rc;
        snprintf(out->source, sizeof out->source, "built-in %s", builtin);
        out->plugin = builtin_find(builtin);
        if (!out->plugin)
            rc = se_err(-ENOENT, "strategy %s: no built-in strategy '%s' (momentum, market_making, "
                        "scalping) and no strategies.configs.%s.plugin", h->name, builtin, h->name);
    }
    if (rc == 0)
        rc = check_plugin(h, out);
    if (rc < 0)
        host_unload(out);
    return rc;
}

int host_run(const loaded_t *l, int (*body)(void *arg), void *arg)
{
    return l->run ? l->run(body, arg) : body(arg);
}

void host_unload(loaded_t *l)
{
    if (l->dl)
        dlclose(l->dl);
    if (l->script_of[0])
        pyhost_unload(l->script_of);
    l->script_of[0] = '\0';
    l->dl = NULL;
    l->plugin = NULL;
    l->run = NULL;
}

int host_check(host_t *h)
{
    loaded_t l;
    int rc = host_load(h, &l);
    if (rc < 0)
        return rc;
    void *state = l.plugin->create(&h->api);
    if (!state)
        rc = se_err(-ENOMEM, "strategy %s (%s): create failed", h->name, l.source);
    else if (l.plugin->init(state) < 0)
        rc = se_err(-EINVAL, "strategy %s (%s): init refused its configuration (see the log line before "
                    "this one)", h->name, l.source);
    if (state)
        l.plugin->destroy(state);
    host_unload(&l);
    return rc;
}
