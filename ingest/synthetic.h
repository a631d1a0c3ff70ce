/* synthetic.h -- the built-in market-data feed: a seeded random walk per
 * symbol with a realistic spread and sizes, at a chosen rate. Needs no outside
 * service, so `make run` and the tests work anywhere. */
#ifndef INGEST_SYNTHETIC_H
#define INGEST_SYNTHETIC_H

#include <signal.h>
#include <stdint.h>

#include "common/config.h"
#include "common/records.h"
#include "ingest/publisher.h"

#define SYNTH_MAX_SYMBOLS 64

typedef struct {
    int nsymbols;
    char symbols[SYNTH_MAX_SYMBOLS][SE_SYMBOL_MAX];
    double rate;          /* records per second over all symbols; 0: as fast as possible */
    double volatility;    /* standard deviation of one tick's log return */
    double spread_bps;    /* bid/ask spread in basis points of the mid */
    double start_price;
    double tick_size;     /* prices are multiples of it */
    uint64_t seed;
    uint64_t max_records; /* stop after this many; 0: never */
} synth_config_t;

typedef struct {
    synth_config_t c;
    double mid[SYNTH_MAX_SYMBOLS];
    uint64_t rng;
    double spare_gauss;
    int have_spare;
    int next_symbol;
} synth_t;

/* Reads ingest.synthetic.{symbols, ratePerSecond, volatility, spreadBps,
 * startPrice, tickSize, seed, maxRecords}. 0 or SE_ECONFIG naming file, line, key. */
int synth_config(const cfg_t *cfg, synth_config_t *out);

/* Starts the walk; the same seed gives the same records (but timestamps). */
void synth_init(synth_t *s, const synth_config_t *c);

/* Writes the next quote (symbols in turn) into out: bid < ask on the tick
 * grid around the walk's mid, sizes and a last trade at bid or ask. */
void synth_next(synth_t *s, se_in_rec_t *out);

/* Publishes at c->rate until *stop or max_records. Returns 0. */
int synth_run(const synth_config_t *c, publisher_t *p, const volatile sig_atomic_t *stop);

#endif
