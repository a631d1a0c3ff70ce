/* strategy.h -- the native strategy ABI: what a strategy plugin (.so) exports
 * and what the host (strategyd) offers it. Plain C, no engine headers, so a
 * strategy can be written in anything that builds a C shared library.
 * The built-in strategies use this same ABI. README: "Writing a strategy". */
#ifndef STRATEGY_ABI_H
#define STRATEGY_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change; the host refuses a plugin built for another. */
#define STRAT_ABI_VERSION 1u

#define STRAT_SYMBOL_MAX 16 /* 15 bytes and a NUL */
#define STRAT_ID_MAX     48 /* client_order_id: 47 bytes and a NUL */

/* The one symbol a plugin exports (build with -fvisibility=hidden and mark it
 * STRAT_EXPORT). The host calls it once after dlopen. */
#define STRAT_ENTRY_SYMBOL "strat_plugin_entry"
#define STRAT_EXPORT __attribute__((visibility("default")))

enum { STRAT_BUY = 1, STRAT_SELL = 2 };
enum { STRAT_MARKET = 1, STRAT_LIMIT = 2 };
enum { STRAT_NEW = 1, STRAT_CANCEL = 2 };
enum { STRAT_LOG_DEBUG = 0, STRAT_LOG_INFO = 1, STRAT_LOG_WARN = 2, STRAT_LOG_ERROR = 3 };

/* Which optional fields of a tick are set. */
enum {
    STRAT_TICK_HAS_BIDASK = 1u << 0,
    STRAT_TICK_HAS_LAST = 1u << 1,
};

/* One market-data update. Borrowed: valid only during the call. */
typedef struct {
    const char *symbol;
    double price;     /* the strategy's price: the mid of bid/ask, or last without a quote */
    double bid, ask;  /* STRAT_TICK_HAS_BIDASK */
    double bid_size, ask_size;
    double last;      /* STRAT_TICK_HAS_LAST */
    double volume;
    uint32_t flags;
    int64_t ts_ns;    /* the source's timestamp (CLOCK_REALTIME ns), or when ingest saw it */
} strat_tick_t;

/* An execution of one of this strategy's orders. Borrowed. */
typedef struct {
    const char *fill_id;
    const char *client_order_id;
    const char *symbol;
    int side;         /* STRAT_BUY / STRAT_SELL */
    double qty;       /* > 0 */
    double price;
    int64_t ts_ns;
} strat_fill_t;

/* The position the engine holds for this strategy in one symbol. Borrowed. */
typedef struct {
    const char *symbol;
    double qty;       /* signed: negative is short */
    double avg_price;
    int64_t ts_ns;
} strat_position_t;

/* What became of an order that did not fill: it is no longer pending. */
enum { STRAT_ORDER_REJECTED = 1, STRAT_ORDER_CANCELLED = 2 };
typedef struct {
    const char *client_order_id;
    const char *symbol;
    int status;         /* STRAT_ORDER_* */
    double open_qty;    /* the quantity that will now never fill */
    const char *reason; /* human-readable, may be "" */
} strat_order_update_t;

/* One signal, written by the strategy into a buffer the host provides.
 * NEW: side, type, qty (> 0), price (limit only), symbol (empty: the tick's).
 * client_order_id should come from host->new_order_id, so the strategy can
 * match fills, rejections and its own cancels to the order; left empty, the
 * host assigns one the strategy never learns.
 * CANCEL: the host reads client_order_id and symbol only.
 * A NEW signal the host does not pass on (observation mode, a full signal
 * ring, later a risk check) comes back through on_order_update as
 * STRAT_ORDER_REJECTED with its reason, so pending quantities never leak. */
typedef struct {
    int action;       /* STRAT_NEW / STRAT_CANCEL */
    int side;
    int type;         /* STRAT_MARKET / STRAT_LIMIT */
    double qty;
    double price;
    char symbol[STRAT_SYMBOL_MAX];
    char client_order_id[STRAT_ID_MAX];
} strat_signal_t;

typedef struct {
    const char *name; /* a static string, e.g. "trades_total" */
    double value;
} strat_metric_t;

/* The host's side, handed to the entry point and valid for the plugin's life.
 * Config getters read the strategy's own group (strategies.configs.<name>),
 * read-only: key "threshold" is strategies.configs.<name>.threshold. They
 * return 0 (the default when the key is absent) or a negative code when the
 * value has the wrong type; the host then logs file, line and key. */
typedef struct strat_host {
    uint32_t abi_version; /* STRAT_ABI_VERSION of the host */
    uint32_t size;        /* sizeof(strat_host_t) of the host */
    void *ctx;            /* pass back to every function below */
    const char *instance_name; /* the strategy's name in strategies.enabled */
    int (*config_double)(void *ctx, const char *key, double def, double *out);
    int (*config_int)(void *ctx, const char *key, int64_t def, int64_t *out);
    int (*config_bool)(void *ctx, const char *key, int def, int *out);
    int (*config_string)(void *ctx, const char *key, const char *def, const char **out);
    void (*log)(void *ctx, int level, const char *msg);
    /* The engine's clock, CLOCK_REALTIME ns: during a callback, the time of the
     * event being handled (the tick's or fill's own timestamp). Timers built on
     * it (refresh intervals, holding times, cool-downs) therefore behave the
     * same live and in a replay at any speed. */
    int64_t (*now_ns)(void *ctx);
    /* Writes a fresh client_order_id ("<strategy>-<epoch>-<seq>") into out. */
    void (*new_order_id)(void *ctx, char out[STRAT_ID_MAX]);
} strat_host_t;

/* The plugin's side. Every function gets the state returned by create.
 * Functions returning int return 0 (or a count) on success and a negative
 * value on error; the host counts errors (strategy_errors_total) and carries
 * on. No function may block; on_market_data runs once per tick. */
typedef struct strat_plugin {
    uint32_t abi_version; /* STRAT_ABI_VERSION the plugin was built with */
    uint32_t size;        /* sizeof(strat_plugin_t) the plugin was built with */
    const char *name;     /* e.g. "momentum" */
    /* Allocates the strategy's state; NULL on failure. */
    void *(*create)(const strat_host_t *host);
    /* Reads the configuration through the host; 0 or negative (host ends). */
    int (*init)(void *state);
    /* Writes up to max_out signals into out and returns how many (or < 0). */
    int (*on_market_data)(void *state, const strat_tick_t *tick, strat_signal_t *out, int max_out);
    int (*on_fill)(void *state, const strat_fill_t *fill);
    /* Between init and start, the host calls this for every symbol in which the
     * strategy holds a position from before (after a restart: rebuilt from its
     * fills), so it neither forgets nor doubles it; later, for positions the
     * engine reports. */
    int (*on_position_update)(void *state, const strat_position_t *position);
    /* May be NULL: told when an order was rejected or cancelled. */
    int (*on_order_update)(void *state, const strat_order_update_t *update);
    int (*start)(void *state);
    int (*stop)(void *state);
    int (*is_running)(void *state); /* non-zero while started */
    /* Writes up to max_out metrics and returns how many (or < 0). May be NULL. */
    int (*metrics)(void *state, strat_metric_t *out, int max_out);
    void (*destroy)(void *state);
} strat_plugin_t;

/* The entry point: given the host, returns the plugin's description, or NULL
 * when the plugin cannot work with this host (it should log why through
 * host->log). The host then checks abi_version and refuses a mismatch. */
typedef const strat_plugin_t *(*strat_entry_fn)(const strat_host_t *host);

/* An optional second export, for plugins whose language runtime makes every
 * call from a thread it did not create expensive (Go 1.19 pays ~3 us per
 * call, ~0.2 us when the caller is already below a Go frame): if the .so
 * exports strat_plugin_run, the host runs its event loop (every callback
 * after start) as body(arg) through it. The plugin must call body(arg)
 * exactly once, on the calling thread, and return what it returned. A host
 * that does not know the symbol simply calls the plugin directly. */
#define STRAT_RUN_SYMBOL "strat_plugin_run"
typedef int (*strat_run_fn)(int (*body)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif
