/* journal.h -- live execution's append-only order journal
 * (execution.journalFile): every order and cancel is written (and made
 * durable) before it is sent to the venue, every final answer after. A
 * restarted execd reads it back, re-sends what was never answered (same
 * client_order_id: the venue dedupes) and recognises orders it already took
 * from ring `ord`. Used by execd/backend_grpc.c.
 *
 * One event per line, tab-separated, ending in a checksum, so an operator can
 * grep it and a torn or damaged line is recognised:
 *   S <action> <client_order_id> <strategy_index> <strategy> <symbol> <side> <type> <qty> <price>
 *     <ts_source_ns> <ts_ingest_ns> <ts_strategy_ns> <ts_risk_ns> <ts_ns> #<checksum>
 *   A <action> <client_order_id> <outcome> <order_id> <reason> <ts_ns> #<checksum>
 * action is new|cancel, side buy|sell, type market|limit, outcome
 * ack|reject|cancelled|failed. An (action, client_order_id) pair is one
 * request: a cancel shares its order's id. */
#ifndef EXECD_JOURNAL_H
#define EXECD_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/records.h"

/* How many of the latest requests journal_seen remembers: far more than a
 * reader of `ord` can see again after a restart (what it had journalled but
 * not yet consumed), and bounded memory for a journal that grows all day. */
#define JOURNAL_SEEN_WINDOW 65536

typedef struct journal journal_t;

/* What the start-up read found, for the log and the metrics. */
typedef struct {
    uint64_t lines;     /* intact events read */
    uint64_t corrupt;   /* damaged lines skipped (bad checksum or fields) */
    bool torn_tail;     /* the last line had no newline (a crash mid-write): ignored */
    int pending;        /* requests with no final answer, to send again */
} journal_load_t;

/* Opens (creating it, mode 0600) the journal at path and reads it: intact
 * lines are applied, a damaged line is skipped with a warning naming its
 * line number, a torn last line is cut off (so the next event starts on a line
 * of its own). With sync, journal_sync makes submits durable (fdatasync).
 * Returns 0 and *out (free with journal_close), or a negative code with
 * se_errmsg() naming the file. */
int journal_open(journal_t **out, const char *path, bool sync, journal_load_t *load);

/* The requests that were journalled but never answered, in journal order
 * (borrowed; valid until journal_close). */
const se_order_rec_t *journal_pending(const journal_t *j, int *n);

/* True when this request (action, client_order_id) was already journalled
 * (within the last JOURNAL_SEEN_WINDOW requests): it must not be sent again. */
bool journal_seen(const journal_t *j, const se_order_rec_t *o);

/* True when id can be journalled (and sent): 1..47 bytes, no tab, CR or LF. */
bool journal_id_ok(const char *id);

/* Appends the request's S line with one write(2) (it survives a crash of
 * execd; journal_sync makes it survive the host's) and remembers it for
 * journal_seen. Returns 0 or a negative errno. */
int journal_submit(journal_t *j, const se_order_rec_t *o, int64_t now_ns);

/* With sync, fdatasync()s if submits were written since the last call: one
 * sync covers a whole batch (group commit). Returns 0 or a negative errno. */
int journal_sync(journal_t *j);

/* Queues the request's final A line; journal_flush writes the queued lines.
 * order_id and reason may be "" (tabs and newlines in them are replaced).
 * Returns 0 or a negative errno. */
int journal_answer(journal_t *j, const se_order_rec_t *o, const char *outcome, const char *order_id,
                   const char *reason, int64_t now_ns);

/* Writes the queued answers. An answer lost to a crash only makes the next
 * start send the request again, which the venue dedupes. Returns 0 or -errno. */
int journal_flush(journal_t *j);

/* Flushes and closes; NULL is a no-op. */
void journal_close(journal_t *j);

#endif
