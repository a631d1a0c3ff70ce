/* records.h -- the fixed-size records that travel through the engine's rings:
 * market data, fills and positions on `in`; signals on `sig.<strategy>`.
 * Written by ingest and strategyd, read by strategyd, riskd and shmtool.
 * Any change to a layout bumps its record type number (shm/layout.h keeps the
 * type in each segment header, so readers refuse what they do not know). */
#ifndef SE_RECORDS_H
#define SE_RECORDS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "shm/layout.h"
#include "shm/ring.h"

#define SE_SYMBOL_MAX   16 /* 15 bytes and a NUL */
#define SE_ID_MAX       48 /* client_order_id, fill_id, order_id: 47 bytes and a NUL */

/* Ring names (the part after /<prefix>.<instance>.). */
#define SE_RING_IN            "in"
#define SE_RING_SIGNAL_PREFIX "sig."
#define SE_RING_ORDERS        "ord"  /* riskd -> execd, SPSC */
#define SE_RING_EXEC          "exe"  /* execd -> riskd and strategies, broadcast */
#define SE_RING_RISK          "risk" /* riskd -> strategies, broadcast */

/* Record type numbers, stored in ring headers (record_type) and decoded by shmtool. */
enum {
    SE_RECTYPE_IN = 1,     /* ring `in`: se_in_rec_t */
    SE_RECTYPE_SIGNAL = 2, /* rings `sig.<strategy>`: se_signal_rec_t */
    /* 3 is the stats block (shm/stats.h) */
    SE_RECTYPE_ORDER = 4,  /* ring `ord`: se_order_rec_t */
    SE_RECTYPE_EXEC = 5,   /* ring `exe`: se_exec_rec_t */
    SE_RECTYPE_RISK = 6,   /* ring `risk`: se_risk_rec_t */
};

/* The kind of an `in` record. */
typedef enum {
    SE_IN_QUOTE = 1,    /* market data: quote and/or last trade */
    SE_IN_FILL = 2,     /* an execution of one of our orders */
    SE_IN_POSITION = 3, /* a position reported by the venue */
} se_in_kind_t;

typedef enum { SE_SIDE_BUY = 1, SE_SIDE_SELL = 2 } se_side_t;

/* Quote flags: which of the optional fields were present in the message. */
enum {
    SE_QUOTE_HAS_BIDASK = 1u << 0,
    SE_QUOTE_HAS_LAST = 1u << 1,
    SE_QUOTE_HAS_SIZES = 1u << 2,
    SE_QUOTE_HAS_VOLUME = 1u << 3,
};

typedef struct {
    double bid, ask;
    double bid_size, ask_size;
    double last;
    double volume;
} se_quote_t;

typedef struct {
    char fill_id[SE_ID_MAX];
    char client_order_id[SE_ID_MAX];
    char order_id[SE_ID_MAX];
    double qty;   /* > 0 */
    double price; /* > 0 */
    uint8_t side; /* se_side_t */
    uint8_t pad[7];
} se_fill_t;

typedef struct {
    double qty; /* signed: negative is short */
    double avg_price;
} se_position_t;

/* One record of ring `in`. Timestamps are CLOCK_REALTIME nanoseconds, one per
 * hop, so latency is measured from the records themselves. */
typedef struct {
    uint16_t kind;  /* se_in_kind_t */
    uint16_t flags; /* SE_QUOTE_HAS_* */
    uint32_t source_seq; /* per-feed message counter, for gaps in replays */
    int64_t ts_source_ns; /* the message's own `ts` (0 when absent) */
    int64_t ts_ingest_ns; /* when ingest published it */
    char symbol[SE_SYMBOL_MAX];
    union {
        se_quote_t quote;
        se_fill_t fill;
        se_position_t position;
    } u;
    uint8_t pad[40];
} se_in_rec_t;

#define SE_IN_RECORD_SIZE 256u
_Static_assert(sizeof(se_in_rec_t) == SE_IN_RECORD_SIZE - SHM_SEQ_BYTES, "in record fills 256 bytes");
_Static_assert(offsetof(se_in_rec_t, symbol) == 24, "in record header");
_Static_assert(offsetof(se_in_rec_t, u) == 40, "in record body");

typedef enum {
    SE_ORDER_MARKET = 1,
    SE_ORDER_LIMIT = 2,
} se_order_type_t;

typedef enum {
    SE_ACTION_NEW = 1,    /* a new order */
    SE_ACTION_CANCEL = 2, /* cancel the order named by client_order_id */
    SE_ACTION_SNAPSHOT = 3, /* sig only: the strategy asks riskd for its snapshot (never an order) */
} se_action_t;

/* One record of ring `sig.<strategy>`: what a strategy wants done. */
typedef struct {
    uint8_t action;     /* se_action_t */
    uint8_t side;       /* se_side_t (NEW) */
    uint8_t order_type; /* se_order_type_t (NEW) */
    uint8_t pad0;
    uint32_t strategy_index; /* position in strategies.enabled */
    int64_t ts_source_ns;    /* hops of the tick that caused it */
    int64_t ts_ingest_ns;
    int64_t ts_strategy_ns;  /* when the strategy emitted it */
    char symbol[SE_SYMBOL_MAX];
    char client_order_id[SE_ID_MAX]; /* "<strategy>-<epoch>-<seq>", born here */
    double qty;   /* > 0 */
    double price; /* limit price; 0 for market orders and cancels */
    uint8_t pad[8];
} se_signal_rec_t;

#define SE_SIGNAL_RECORD_SIZE 128u
_Static_assert(sizeof(se_signal_rec_t) == SE_SIGNAL_RECORD_SIZE - SHM_SEQ_BYTES,
               "signal record fills 128 bytes");

#define SE_STRATEGY_MAX 32 /* strategy instance name: 24 bytes used, NUL-padded */
#define SE_REASON_MAX   48

/* One record of ring `ord`: an order riskd approved, for execd to send. */
typedef struct {
    uint8_t action;     /* se_action_t */
    uint8_t side;       /* se_side_t */
    uint8_t order_type; /* se_order_type_t */
    uint8_t pad0;
    uint32_t strategy_index;
    int64_t ts_source_ns, ts_ingest_ns, ts_strategy_ns;
    int64_t ts_risk_ns;       /* when riskd approved it */
    char symbol[SE_SYMBOL_MAX];
    char client_order_id[SE_ID_MAX];
    char strategy[SE_STRATEGY_MAX];
    double qty;
    double price; /* limit price; 0 for market orders and cancels */
    uint8_t pad[32];
} se_order_rec_t;

#define SE_ORDER_RECORD_SIZE 192u
_Static_assert(sizeof(se_order_rec_t) == SE_ORDER_RECORD_SIZE - SHM_SEQ_BYTES, "order record fills 192 bytes");

/* What execd reports about an order, on ring `exe`. */
typedef enum {
    SE_EXEC_ACK = 1,       /* accepted by the venue (or the simulator) */
    SE_EXEC_REJECT = 2,    /* refused; reason says why */
    SE_EXEC_CANCELLED = 3, /* no longer working; leaves_qty will never fill */
    SE_EXEC_FILL = 4,      /* an execution: qty at price, fill_id unique */
    SE_EXEC_VENUE = 5,     /* the venue link changed: reason "circuit_open" or
                              "circuit_closed"; strategy and client_order_id empty */
} se_exec_kind_t;

typedef struct {
    uint8_t kind;  /* se_exec_kind_t */
    uint8_t side;  /* se_side_t of the order */
    uint8_t order_type;
    uint8_t action; /* se_action_t of the request answered: a REJECT of a CANCEL
                       leaves the order as it was */
    uint32_t strategy_index;
    int64_t ts_ingest_ns;   /* hops of the tick that led to the order */
    int64_t ts_risk_ns;
    int64_t ts_exec_ns;     /* when execd dequeued the order */
    int64_t ts_report_ns;   /* when this report was written */
    char symbol[SE_SYMBOL_MAX];
    char client_order_id[SE_ID_MAX];
    char order_id[SE_ID_MAX]; /* the venue's (or simulator's) id */
    char fill_id[SE_ID_MAX];  /* FILL only */
    char strategy[SE_STRATEGY_MAX];
    double qty;        /* FILL: executed quantity; ACK: order quantity */
    double price;      /* FILL: execution price */
    double leaves_qty; /* still working after this report */
    char reason[SE_REASON_MAX];
    int64_t ts_strategy_ns; /* hop of the signal that became the order */
    uint8_t pad[64];
} se_exec_rec_t;

#define SE_EXEC_RECORD_SIZE 384u
_Static_assert(sizeof(se_exec_rec_t) == SE_EXEC_RECORD_SIZE - SHM_SEQ_BYTES, "exec record fills 384 bytes");

/* What riskd tells the strategies, on ring `risk`. */
typedef enum {
    SE_RISK_REJECT = 1,   /* a signal failed a check: rule names it */
    SE_RISK_POSITION = 2, /* a strategy's position and PnL in one symbol changed */
    SE_RISK_STATE = 3,    /* the trading state changed (state field) */
    SE_RISK_SNAPSHOT = 4, /* a strategy's position in one symbol, part of a snapshot */
    SE_RISK_OPEN_ORDER = 5, /* one of a strategy's working orders (qty: still open), part of a snapshot */
    SE_RISK_SNAPSHOT_END = 6, /* a strategy's snapshot is complete: qty is its number of open orders */
} se_risk_kind_t;
/* A snapshot of one strategy is its SNAPSHOT records (one per symbol held or
 * traded), then its OPEN_ORDER records, then one SNAPSHOT_END. riskd sends one
 * for every strategy when it starts, every riskd.snapshotIntervalMs, and for
 * one strategy when it asks (a SE_ACTION_SNAPSHOT record on its signal ring). */

typedef enum { SE_TRADING_ACTIVE = 0, SE_TRADING_REDUCING = 1, SE_TRADING_HALTED = 2 } se_trading_state_t;

typedef struct {
    uint8_t kind;   /* se_risk_kind_t */
    uint8_t state;  /* se_trading_state_t after this record */
    uint8_t side;   /* REJECT: the signal's side */
    uint8_t pad0;
    uint32_t strategy_index;
    int64_t ts_ns;
    char strategy[SE_STRATEGY_MAX];
    char symbol[SE_SYMBOL_MAX];
    char client_order_id[SE_ID_MAX]; /* REJECT: the refused order */
    char rule[SE_REASON_MAX];        /* REJECT: which check; STATE: why */
    double qty;          /* REJECT: the order's; POSITION/SNAPSHOT: signed position */
    double avg_price;
    double realized_pnl;
    double unrealized_pnl;
    uint8_t pad[56];
} se_risk_rec_t;

#define SE_RISK_RECORD_SIZE 256u
_Static_assert(sizeof(se_risk_rec_t) == SE_RISK_RECORD_SIZE - SHM_SEQ_BYTES, "risk record fills 256 bytes");

/* The layout of each ring, for its writer (with its capacity) and its readers
 * (capacity 0: whatever the writer chose; kind, record size and type must match). */
#define SE_SPEC_IN(cap)     ((shm_ring_spec_t){ SHM_KIND_BROADCAST, SE_IN_RECORD_SIZE, (cap), SE_RECTYPE_IN })
#define SE_SPEC_SIGNAL(cap) ((shm_ring_spec_t){ SHM_KIND_SPSC, SE_SIGNAL_RECORD_SIZE, (cap), SE_RECTYPE_SIGNAL })
#define SE_SPEC_ORDER(cap)  ((shm_ring_spec_t){ SHM_KIND_SPSC, SE_ORDER_RECORD_SIZE, (cap), SE_RECTYPE_ORDER })
#define SE_SPEC_EXEC(cap)   ((shm_ring_spec_t){ SHM_KIND_BROADCAST, SE_EXEC_RECORD_SIZE, (cap), SE_RECTYPE_EXEC })
#define SE_SPEC_RISK(cap)   ((shm_ring_spec_t){ SHM_KIND_BROADCAST, SE_RISK_RECORD_SIZE, (cap), SE_RECTYPE_RISK })

/* FNV-1a of an id (at most SE_ID_MAX bytes): to remember or match ids
 * compactly; ids are always compared in full where it matters. */
static inline uint64_t se_id_hash(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < SE_ID_MAX && id[i]; i++)
        h = (h ^ (unsigned char)id[i]) * 0x100000001b3ull;
    return h;
}

/* Writes r as one line of JSON (no newline) in the external contract's format:
 * a quote as Redis market data, a fill or position as their NATS messages.
 * Doubles keep every digit (%.17g), so a replay of the line is exact.
 * Returns the length, or -ENOSPC when out is too small (out is then "").  */
int se_in_to_json(const se_in_rec_t *r, char *out, size_t size);

/* Writes a signal as one human-readable line (no newline), e.g.
 * "NEW BUY LIMIT 2 BTC-USD @ 100.25 id=momentum-1-7". Returns the length or -ENOSPC. */
int se_signal_to_text(const se_signal_rec_t *s, char *out, size_t size);

/* Writes an execution report as one human-readable line (no newline), e.g.
 * "ACK BUY 2 BTC-USD id=mm-1-7 order=v-3" or "VENUE circuit_open".
 * Returns the length or -ENOSPC. */
int se_exec_to_text(const se_exec_rec_t *e, char *out, size_t size);

/* Starts the execution report of kind about order o: zeroed, then what it
 * repeats of the order (action, side, type, strategy, symbol, ids, quantity,
 * price, the hops' time stamps; strings always terminated). The caller sets the rest (order_id, reason,
 * leaves_qty, ts_exec_ns, ts_report_ns). */
void se_exec_from_order(se_exec_rec_t *r, const se_order_rec_t *o, uint8_t kind);

/* True if a REJECT of a CANCEL with this reason means the order no longer
 * works at the venue, so whoever tracks it must close it: the venue says it
 * is filled ("already_filled", venue-sim) or does not know it
 * ("unknown_order", venue-sim; "unknown order", execd's simulator, which
 * says so of a filled order too). Any other refusal (venue unavailable,
 * execd busy, ...) leaves the order as it was. Reads at most SE_REASON_MAX
 * bytes of reason; NULL is false. */
bool se_cancel_refusal_closes(const char *reason);

#endif
