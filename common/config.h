/* config.h -- the engine's one configuration file, read through libconfig.
 * Used by every process at start-up (and on hot reload); never on a hot path. */
#ifndef SE_CONFIG_H
#define SE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* Opaque; allocated by cfg_open, freed by cfg_close. Every getter accepts a
 * NULL cfg_t, meaning "no configuration file": it returns the default. */
typedef struct cfg cfg_t;

/* Loads and parses the file at path into a new cfg_t stored in *out.
 * Returns 0; -errno (e.g. -ENOENT) if the file cannot be opened; SE_ECONFIG
 * on a syntax error, with se_errmsg() "FILE:LINE: <libconfig's text>".
 * *out is set only on success; the caller frees it with cfg_close.
 * Integer literals beyond 32 bits need an `L` suffix (libconfig truncates
 * them otherwise, and that cannot be detected after parsing). */
int cfg_open(cfg_t **out, const char *path);

/* Frees cfg and everything borrowed from it (strings, string lists). NULL is
 * a no-op. */
void cfg_close(cfg_t *cfg);

/* The path cfg was opened with (owned by cfg), or NULL for a NULL cfg. */
const char *cfg_file(const cfg_t *cfg);

/* Finds the configuration path for a process: the argument after "-c" or the
 * rest of a "-cFILE" argument (first one wins; scanning stops at "--"), else
 * $CONFIG_PATH if set and non-empty, else NULL. Does not use getopt, so the
 * caller's own option parsing is unaffected. Returns a borrowed pointer into
 * argv or the environment. */
const char *cfg_path_from_args(int argc, char **argv);

/* Typed getters. key is a dotted path ("engine.idleSpinUs"). If the key is
 * absent, *out = def and 0 is returned. If it is present with the wrong type,
 * *out is left untouched and SE_ECONFIG is returned, with se_errmsg()
 * "FILE:LINE: KEY: expected ..., got ...".
 *   cfg_get_int:    integers (any width); a float only if it is integral and
 *                   fits in int64_t.
 *   cfg_get_double: floats or integers.
 *   cfg_get_bool:   booleans only.
 *   cfg_get_string: strings only; *out is borrowed from cfg (or is def) and
 *                   stays valid until cfg_close. */
int cfg_get_int(const cfg_t *cfg, const char *key, int64_t def, int64_t *out);
int cfg_get_double(const cfg_t *cfg, const char *key, double def, double *out);
int cfg_get_bool(const cfg_t *cfg, const char *key, bool def, bool *out);
int cfg_get_string(const cfg_t *cfg, const char *key, const char *def, const char **out);

/* As cfg_get_int / cfg_get_double, but a present value outside [min, max]
 * is SE_ECONFIG with "FILE:LINE: KEY: V is out of range [MIN, MAX]". The
 * default is not checked (it is the caller's own constant). */
int cfg_get_int_range(const cfg_t *cfg, const char *key, int64_t def,
                      int64_t min, int64_t max, int64_t *out);
int cfg_get_double_range(const cfg_t *cfg, const char *key, double def,
                         double min, double max, double *out);

/* Reads an array or list of strings, e.g. strategies.enabled = ["a", "b"].
 * On success *out points to *n borrowed strings in an array owned by cfg
 * (freed by cfg_close); an absent key or an empty array gives *out = NULL,
 * *n = 0. A non-list value or a non-string element is SE_ECONFIG naming
 * file, line and key (and the element index). */
int cfg_get_string_list(const cfg_t *cfg, const char *key, const char ***out, int *n);

/* For values of the right type that the caller rejects (a bad name, an
 * unknown group): records SE_ECONFIG as "FILE:LINE: KEY: <fmt...>" (without
 * LINE when the key is absent) and returns it. */
int cfg_value_error(const cfg_t *cfg, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A fingerprint of the setting at key and everything under it (names, types
 * and values; not line numbers or comments), so a caller can tell whether a
 * part of the file changed between two loads. An absent key (or a NULL cfg)
 * hashes to 0. Used by the supervisor's hot reload. */
uint64_t cfg_hash(const cfg_t *cfg, const char *key);

/* Logs a warning (file, line, key) for every leaf setting whose dotted path
 * matches no pattern of the known-key table, so that typos do not pass
 * silently. Leaves are scalars, arrays and lists (their elements have no
 * names and are not visited); an empty group has no leaves. Returns the
 * number of unknown keys (0 for a NULL cfg), or -ENOMEM. */
int cfg_warn_unknown(const cfg_t *cfg);

/* True if dotted_key matches a pattern in the known-key table
 * (common/config_keys.c). In a pattern, `*` matches exactly one path element
 * and a trailing `.**` matches zero or more further elements. */
bool cfg_key_known(const char *dotted_key);

/* Matches one dotted key against one pattern, with the rules above.
 * Exposed for cfg_key_known and the tests. */
bool cfg_key_match(const char *pattern, const char *dotted_key);

/* A read-only view of one setting, for code that walks a group whose keys it
 * does not know in advance (a Python strategy gets its whole group as a
 * dict). Borrowed from cfg: valid until cfg_close. */
typedef enum {
    CFG_NODE_INT = 1, CFG_NODE_FLOAT, CFG_NODE_BOOL, CFG_NODE_STRING,
    CFG_NODE_GROUP, CFG_NODE_LIST, /* LIST: libconfig's arrays [..] and lists (..) */
} cfg_node_type_t;

typedef struct {
    const void *setting; /* libconfig's, opaque */
    cfg_node_type_t type;
    const char *name;    /* NULL for an element of a list */
    int count;           /* children of a group or list, else 0 */
    int64_t i;           /* CFG_NODE_INT */
    double d;            /* CFG_NODE_FLOAT */
    bool b;              /* CFG_NODE_BOOL */
    const char *s;       /* CFG_NODE_STRING */
} cfg_node_t;

/* Fills *out with the setting at key ("" or NULL: the root). Returns 0, or
 * -ENOENT when cfg is NULL or the key is absent. */
int cfg_node(const cfg_t *cfg, const char *key, cfg_node_t *out);

/* Fills *out with child i (0 <= i < parent->count) of a group or list.
 * Returns 0 or -EINVAL for an index out of range. */
int cfg_node_child(const cfg_node_t *parent, int i, cfg_node_t *out);

#endif
