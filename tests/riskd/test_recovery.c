/* test_recovery.c -- check suite for riskd's book rebuilt from the rings
 * (riskd/book.h, "Orders"; riskd/runner.c, recovery): random orders with
 * acks, partial and full fills, duplicates, cancels, rejects and refused
 * cancels, interleaved at random across `exe` and `in` (fills before acks,
 * acks before fills), are fed to the book the way recovery and the live path
 * feed it; the open orders, pending quantities, positions, average costs and
 * realised PnL must match a plain model written here, and replaying the same
 * events in another causally valid order must give the same book.
 * Deterministic: fixed seeds, a few thousand interleavings. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/records.h"
#include "riskd/book.h"

#define TOL 1e-6
#define NSTRAT 2
#define MAX_ORDERS 8
#define MAX_FILLS 4
#define MAX_EVENTS 96
#define SCENARIOS_PER_BOOK 100 /* 2 symbols each: within BOOK_SYMBOLS_MAX */

/* ---- a deterministic generator ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

/* ---- a scenario: what the venue did, and what the rings say of it ---- */

typedef enum {
    FATE_FILLED,          /* filled in full */
    FATE_FILLED_REFUSED,  /* filled in full, then a cancel the venue refused (it is filled) */
    FATE_CANCELLED,       /* partly filled (or not), then cancelled */
    FATE_REJECTED,        /* rejected, never worked */
    FATE_WORKING,         /* partly filled (or not), still working; maybe a cancel refused for
                             another reason (the venue was unavailable) */
    FATE_UNANSWERED,      /* approved by riskd, never answered by execd */
    FATE_COUNT
} fate_t;

typedef struct {
    char id[SE_ID_MAX];
    int strategy, symbol; /* symbol: 0 or 1 within the scenario */
    uint8_t side;
    double qty;
    fate_t fate;
    bool in_ord;   /* riskd's `ord` still holds its approval */
    bool ack_lost; /* its ACK is older than the history of `exe` */
    int nfills;
    double fill_qty[MAX_FILLS], fill_price[MAX_FILLS];
} order_t;

typedef enum { EV_ACK, EV_FILL, EV_CANCELLED, EV_REJECT, EV_CANCEL_REFUSED } ev_kind_t;

typedef struct {
    ev_kind_t kind;
    int order, fill;     /* fill: index within the order */
    bool on_in;          /* a fill on `in` (the venue, NATS), else on `exe` */
    bool duplicate;      /* a repeat of an event already in the stream */
    const char *reason;  /* EV_CANCEL_REFUSED */
    int deps[2], ndeps;  /* events that must come before this one */
} event_t;

typedef struct {
    int n;
    char sym[2][SE_SYMBOL_MAX];
    bool live;           /* live path: every order approved by this riskd, no restart */
    order_t orders[MAX_ORDERS];
    int norders;
    event_t ev[MAX_EVENTS];
    int nev;
    int venue_fills[MAX_ORDERS * MAX_FILLS][2]; /* (order, fill) in the venue's order */
    int nvenue;
} scenario_t;

static int add_event(scenario_t *s, event_t e)
{
    ck_assert_int_lt(s->nev, MAX_EVENTS);
    s->ev[s->nev] = e;
    return s->nev++;
}

static event_t ev(ev_kind_t kind, int order, int dep)
{
    event_t e = { kind, order, -1, false, false, NULL, { -1, -1 }, 0 };
    if (dep >= 0)
        e.deps[e.ndeps++] = dep;
    return e;
}

/* Quantities in quarters and prices in halves: sums are exact. */
static void make_scenario(scenario_t *s, int n)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    snprintf(s->sym[0], SE_SYMBOL_MAX, "S%d-A", n);
    snprintf(s->sym[1], SE_SYMBOL_MAX, "S%d-B", n);
    s->live = rnd(4) == 0;
    s->norders = 1 + (int)rnd(MAX_ORDERS);
    for (int i = 0; i < s->norders; i++) {
        order_t *o = &s->orders[i];
        snprintf(o->id, SE_ID_MAX, "st%d-%d-%d", n, (int)rnd(2), i);
        o->strategy = (int)rnd(NSTRAT);
        o->symbol = (int)rnd(2);
        o->side = rnd(2) ? SE_SIDE_BUY : SE_SIDE_SELL;
        o->qty = 0.25 * (1 + rnd(16));
        o->fate = (fate_t)rnd(FATE_COUNT);
        o->in_ord = s->live || o->fate == FATE_UNANSWERED || rnd(2);
        /* Only a fill on `exe` names its strategy: an order known from
         * nowhere else is filled there. */
        o->ack_lost = !o->in_ord && o->fate == FATE_FILLED && rnd(3) == 0;
        double left = o->qty;
        int want = o->fate == FATE_FILLED || o->fate == FATE_FILLED_REFUSED ? 1 + (int)rnd(MAX_FILLS)
                   : o->fate == FATE_CANCELLED || o->fate == FATE_WORKING   ? (int)rnd(MAX_FILLS)
                                                                            : 0;
        bool full = o->fate == FATE_FILLED || o->fate == FATE_FILLED_REFUSED;
        for (int k = 0; k < want && left > 0; k++) {
            double q = k == want - 1 && full ? left : 0.25 * (1 + rnd((uint32_t)(left / 0.25)));
            if (!full && q >= left)
                q = left - 0.25; /* partly: something stays unfilled */
            if (q <= 0)
                break;
            o->fill_qty[o->nfills] = q;
            o->fill_price[o->nfills] = 90 + 0.5 * rnd(41);
            o->nfills++;
            left -= q;
        }
        if (full && left > 0) { /* the loop left some: one more fill completes it */
            o->fill_qty[o->nfills] = left;
            o->fill_price[o->nfills++] = 100;
        }
    }
    /* The venue's order of executions: the orders' fills interleaved, each
     * order's own in sequence. */
    int next[MAX_ORDERS] = { 0 }, remaining = 0;
    for (int i = 0; i < s->norders; i++)
        remaining += s->orders[i].nfills;
    while (remaining) {
        int i = (int)rnd((uint32_t)s->norders);
        if (next[i] == s->orders[i].nfills)
            continue;
        s->venue_fills[s->nvenue][0] = i;
        s->venue_fills[s->nvenue++][1] = next[i]++;
        remaining--;
    }

    /* The events and what each must follow. Executions keep the venue's
     * order (average cost depends on it); everything else may come before
     * or after them as the two rings and the venue allow. */
    int ack[MAX_ORDERS], fill_ev[MAX_ORDERS][MAX_FILLS], prev_fill = -1;
    for (int i = 0; i < s->norders; i++) {
        order_t *o = &s->orders[i];
        ack[i] = -1;
        if (o->fate != FATE_REJECTED && o->fate != FATE_UNANSWERED && !o->ack_lost)
            ack[i] = add_event(s, ev(EV_ACK, i, -1));
        if (o->fate == FATE_REJECTED)
            add_event(s, ev(EV_REJECT, i, -1));
    }
    for (int v = 0; v < s->nvenue; v++) {
        int i = s->venue_fills[v][0], k = s->venue_fills[v][1];
        event_t e = ev(EV_FILL, i, prev_fill);
        e.fill = k;
        e.on_in = !s->orders[i].ack_lost && rnd(2);
        prev_fill = fill_ev[i][k] = add_event(s, e);
    }
    for (int i = 0; i < s->norders; i++) {
        order_t *o = &s->orders[i];
        /* execd reports on `exe` in its own order: the ACK, the fills it
         * saw, then the answer to the cancel. A fill on `in` may be later. */
        if (o->fate == FATE_CANCELLED || o->fate == FATE_FILLED_REFUSED) {
            event_t e = ev(o->fate == FATE_CANCELLED ? EV_CANCELLED : EV_CANCEL_REFUSED, i, ack[i]);
            e.reason = rnd(2) ? "already_filled" : "unknown order";
            for (int k = o->nfills - 1; k >= 0; k--)
                if (!s->ev[fill_ev[i][k]].on_in) {
                    e.deps[e.ndeps++] = fill_ev[i][k]; /* the last on `exe` */
                    break;
                }
            add_event(s, e);
        }
        if (o->fate == FATE_WORKING && rnd(2)) {
            event_t e = ev(EV_CANCEL_REFUSED, i, ack[i]);
            e.reason = "venue_unavailable";
            add_event(s, e);
        }
    }
    /* Duplicates: a repeated ACK, a fill seen twice (on the same ring or
     * the other one), after the original. */
    int originals = s->nev;
    for (int d = originals ? (int)rnd(4) : 0; d > 0; d--) {
        int of = (int)rnd((uint32_t)originals);
        event_t e = s->ev[of];
        if (e.kind != EV_ACK && e.kind != EV_FILL)
            continue;
        e.duplicate = true;
        e.ndeps = 1;
        e.deps[0] = of;
        e.deps[1] = -1;
        if (e.kind == EV_FILL && !s->orders[e.order].ack_lost && rnd(2))
            e.on_in = !e.on_in;
        add_event(s, e);
    }
}

/* A random order of the events that keeps every event after its deps. */
static void interleave(const scenario_t *s, int *out)
{
    bool placed[MAX_EVENTS] = { false };
    for (int n = 0; n < s->nev; n++) {
        int ready[MAX_EVENTS], nr = 0;
        for (int i = 0; i < s->nev; i++) {
            if (placed[i])
                continue;
            bool ok = true;
            for (int d = 0; d < s->ev[i].ndeps; d++)
                ok &= s->ev[i].deps[d] < 0 || placed[s->ev[i].deps[d]];
            if (ok)
                ready[nr++] = i;
        }
        ck_assert_int_gt(nr, 0);
        int pick = ready[rnd((uint32_t)nr)];
        placed[pick] = true;
        out[n] = pick;
    }
}

/* ---- feeding the book as riskd does ---- */

static double filled_before(const order_t *o, int k)
{
    double f = 0;
    for (int j = 0; j <= k; j++)
        f += o->fill_qty[j];
    return f;
}

static void feed(book_t *b, const scenario_t *s, const order_t *o, const event_t *e)
{
    char fill_id[SE_ID_MAX + 8];
    snprintf(fill_id, sizeof fill_id, "%.30s-f%d", o->id, e->fill);
    if (e->kind == EV_FILL && e->on_in) {
        se_in_rec_t r;
        memset(&r, 0, sizeof r);
        r.kind = SE_IN_FILL;
        snprintf(r.symbol, sizeof r.symbol, "%s", s->sym[o->symbol]);
        snprintf(r.u.fill.fill_id, SE_ID_MAX, "%.40s", fill_id);
        snprintf(r.u.fill.client_order_id, SE_ID_MAX, "%s", o->id);
        r.u.fill.qty = o->fill_qty[e->fill];
        r.u.fill.price = o->fill_price[e->fill];
        r.u.fill.side = o->side;
        book_on_in(b, &r, NULL);
        return;
    }
    se_exec_rec_t x;
    memset(&x, 0, sizeof x);
    x.side = o->side;
    x.action = SE_ACTION_NEW;
    x.strategy_index = (uint32_t)o->strategy;
    snprintf(x.symbol, sizeof x.symbol, "%s", s->sym[o->symbol]);
    snprintf(x.client_order_id, sizeof x.client_order_id, "%s", o->id);
    switch (e->kind) {
    case EV_ACK:
        x.kind = SE_EXEC_ACK;
        x.qty = x.leaves_qty = o->qty;
        break;
    case EV_FILL:
        x.kind = SE_EXEC_FILL;
        snprintf(x.fill_id, sizeof x.fill_id, "%.40s", fill_id);
        x.qty = o->fill_qty[e->fill];
        x.price = o->fill_price[e->fill];
        x.leaves_qty = o->qty - filled_before(o, e->fill);
        break;
    case EV_CANCELLED:
        x.kind = SE_EXEC_CANCELLED;
        x.action = SE_ACTION_CANCEL;
        x.qty = o->qty;
        x.leaves_qty = o->qty - filled_before(o, o->nfills - 1);
        break;
    case EV_REJECT:
        x.kind = SE_EXEC_REJECT;
        x.qty = o->qty;
        snprintf(x.reason, sizeof x.reason, "insufficient funds");
        break;
    case EV_CANCEL_REFUSED:
        x.kind = SE_EXEC_REJECT;
        x.action = SE_ACTION_CANCEL;
        x.qty = o->qty;
        snprintf(x.reason, sizeof x.reason, "%s", e->reason);
        break;
    }
    book_on_exec(b, &x, NULL);
}

/* What riskd does: approvals still in `ord` first (recover_approved, or
 * decide in live operation), then, after a restart, the owners named by the
 * acks of `exe` (learn_owners), then the events in their order. */
static void replay(book_t *b, const scenario_t *s, const int *order)
{
    for (int i = 0; i < s->norders; i++) {
        const order_t *o = &s->orders[i];
        if (o->in_ord)
            ck_assert_int_eq(book_order_add(b, o->id, o->strategy, s->sym[o->symbol], o->side, o->qty), 0);
    }
    if (!s->live)
        for (int n = 0; n < s->nev; n++) {
            const event_t *e = &s->ev[order[n]];
            if (e->kind == EV_ACK)
                book_order_learn(b, s->orders[e->order].id, s->orders[e->order].strategy);
        }
    for (int n = 0; n < s->nev; n++)
        feed(b, s, &s->orders[s->ev[order[n]].order], &s->ev[order[n]]);
}

/* ---- the model ---- */

typedef struct {
    double qty, avg, realized, pending_buy, pending_sell;
} model_pos_t;

static void model(const scenario_t *s, model_pos_t pos[NSTRAT][2], double open[MAX_ORDERS])
{
    memset(pos, 0, sizeof(model_pos_t) * NSTRAT * 2);
    for (int v = 0; v < s->nvenue; v++) {
        const order_t *o = &s->orders[s->venue_fills[v][0]];
        int k = s->venue_fills[v][1];
        model_pos_t *p = &pos[o->strategy][o->symbol];
        double d = o->side == SE_SIDE_BUY ? o->fill_qty[k] : -o->fill_qty[k], px = o->fill_price[k];
        if (p->qty == 0 || (p->qty > 0) == (d > 0)) {
            p->avg = (p->avg * fabs(p->qty) + px * fabs(d)) / (fabs(p->qty) + fabs(d));
            p->qty += d;
        } else {
            double closed = fmin(fabs(d), fabs(p->qty));
            p->realized += closed * (px - p->avg) * (p->qty > 0 ? 1 : -1);
            double nq = p->qty + d;
            if (nq == 0)
                p->avg = 0;
            else if ((nq > 0) != (p->qty > 0))
                p->avg = px;
            p->qty = nq;
        }
    }
    for (int i = 0; i < s->norders; i++) {
        const order_t *o = &s->orders[i];
        double filled = filled_before(o, o->nfills - 1);
        bool known = o->in_ord || !o->ack_lost;
        bool closed = o->fate == FATE_FILLED || o->fate == FATE_FILLED_REFUSED || o->fate == FATE_CANCELLED ||
                      o->fate == FATE_REJECTED;
        open[i] = known && !closed && filled < o->qty ? o->qty - filled : 0;
        if (open[i] > 0) {
            if (o->side == SE_SIDE_BUY)
                pos[o->strategy][o->symbol].pending_buy += open[i];
            else
                pos[o->strategy][o->symbol].pending_sell += open[i];
        }
    }
}

/* ---- comparing ---- */

typedef struct {
    const scenario_t *s;
    double open[MAX_ORDERS];
    int foreign;
} seen_t;

static void collect(void *ctx, const book_open_order_t *o)
{
    seen_t *seen = ctx;
    for (int i = 0; i < seen->s->norders; i++)
        if (strcmp(seen->s->orders[i].id, o->client_order_id) == 0) {
            seen->open[i] = o->open_qty;
            return;
        }
    seen->foreign++;
}

static void open_orders(const book_t *b, const scenario_t *s, double open[MAX_ORDERS])
{
    seen_t seen = { s, { 0 }, 0 };
    book_for_each_order(b, -1, collect, &seen);
    memcpy(open, seen.open, sizeof seen.open);
}

static void describe(const scenario_t *s, const int *order, char *out, size_t size)
{
    static const char *const kinds[] = { "ack", "fill", "cancelled", "reject", "cancel_refused" };
    static const char *const fates[] = { "filled", "filled+refused", "cancelled", "rejected", "working",
                                         "unanswered" };
    size_t n = (size_t)snprintf(out, size, "scenario %d (%s):", s->n, s->live ? "live" : "restart");
    for (int i = 0; i < s->norders && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, " [%s %s qty %.2f%s%s]", s->orders[i].id,
                              fates[s->orders[i].fate], s->orders[i].qty, s->orders[i].in_ord ? " ord" : "",
                              s->orders[i].ack_lost ? " ack-lost" : "");
    for (int k = 0; k < s->nev && n < size; k++) {
        const event_t *e = &s->ev[order[k]];
        n += (size_t)snprintf(out + n, size - n, " %s:%s%s%s", s->orders[e->order].id, kinds[e->kind],
                              e->kind == EV_FILL ? (e->on_in ? "@in" : "@exe") : "", e->duplicate ? "(dup)" : "");
    }
}

static void check_against_model(const book_t *b, const scenario_t *s, const int *order)
{
    model_pos_t want[NSTRAT][2];
    double want_open[MAX_ORDERS], got_open[MAX_ORDERS];
    char why[4096];
    model(s, want, want_open);
    open_orders(b, s, got_open);
    describe(s, order, why, sizeof why);
    for (int i = 0; i < s->norders; i++)
        ck_assert_msg(fabs(got_open[i] - want_open[i]) < TOL, "%s: order %s open %.4f, expected %.4f", why,
                      s->orders[i].id, got_open[i], want_open[i]);
    for (int st = 0; st < NSTRAT; st++)
        for (int sy = 0; sy < 2; sy++) {
            int idx = book_find_symbol(b, s->sym[sy]);
            book_position_t p = { 0, 0, 0, 0, 0, 0 };
            if (idx >= 0)
                ck_assert_int_eq(book_position(b, st, idx, &p), 0);
            const model_pos_t *m = &want[st][sy];
            ck_assert_msg(fabs(p.qty - m->qty) < TOL && fabs(p.avg_price - m->avg) < TOL &&
                              fabs(p.realized - m->realized) < TOL && fabs(p.pending_buy - m->pending_buy) < TOL &&
                              fabs(p.pending_sell - m->pending_sell) < TOL,
                          "%s: strategy %d %s: qty %.4f avg %.4f realised %.4f pending %.4f/%.4f, expected "
                          "%.4f %.4f %.4f %.4f/%.4f",
                          why, st, s->sym[sy], p.qty, p.avg_price, p.realized, p.pending_buy, p.pending_sell,
                          m->qty, m->avg, m->realized, m->pending_buy, m->pending_sell);
        }
}

static void check_same_book(const book_t *a, const book_t *b, const scenario_t *s, const int *order_a,
                            const int *order_b)
{
    double oa[MAX_ORDERS], ob[MAX_ORDERS];
    char why_a[4096], why_b[4096];
    open_orders(a, s, oa);
    open_orders(b, s, ob);
    describe(s, order_a, why_a, sizeof why_a);
    describe(s, order_b, why_b, sizeof why_b);
    for (int i = 0; i < s->norders; i++)
        ck_assert_msg(fabs(oa[i] - ob[i]) < TOL, "order %s open %.4f after\n%s\nbut %.4f after\n%s",
                      s->orders[i].id, oa[i], why_a, ob[i], why_b);
    for (int st = 0; st < NSTRAT; st++)
        for (int sy = 0; sy < 2; sy++) {
            book_position_t pa = { 0, 0, 0, 0, 0, 0 }, pb = pa;
            int ia = book_find_symbol(a, s->sym[sy]), ib = book_find_symbol(b, s->sym[sy]);
            if (ia >= 0)
                book_position(a, st, ia, &pa);
            if (ib >= 0)
                book_position(b, st, ib, &pb);
            ck_assert_msg(fabs(pa.qty - pb.qty) < TOL && fabs(pa.avg_price - pb.avg_price) < TOL &&
                              fabs(pa.realized - pb.realized) < TOL && fabs(pa.pending_buy - pb.pending_buy) < TOL &&
                              fabs(pa.pending_sell - pb.pending_sell) < TOL,
                          "strategy %d %s differs after\n%s\nand\n%s", st, s->sym[sy], why_a, why_b);
        }
}

/* ---- the cases ---- */

static void new_book(book_t *b)
{
    book_config_t c = { NSTRAT, 0, 1024, 0 };
    ck_assert_int_eq(book_init(b, &c), 0);
    ck_assert_int_eq(book_add_strategy(b, "st0"), 0);
    ck_assert_int_eq(book_add_strategy(b, "st1"), 1);
}

/* Runs `count` scenarios from seed; each is replayed in two random causal
 * orders into two books, both checked against the model and each other. */
static void run_scenarios(uint64_t seed, int count)
{
    book_t a, b;
    rng_state = seed;
    scenario_t *s = malloc(sizeof *s);
    ck_assert_ptr_nonnull(s);
    for (int n = 0; n < count; n++) {
        if (n % SCENARIOS_PER_BOOK == 0) {
            if (n) {
                book_fini(&a);
                book_fini(&b);
            }
            new_book(&a);
            new_book(&b);
        }
        int order_a[MAX_EVENTS], order_b[MAX_EVENTS];
        make_scenario(s, n % SCENARIOS_PER_BOOK);
        interleave(s, order_a);
        interleave(s, order_b);
        replay(&a, s, order_a);
        replay(&b, s, order_b);
        check_against_model(&a, s, order_a);
        check_against_model(&b, s, order_b);
        check_same_book(&a, &b, s, order_a, order_b);
    }
    book_fini(&a);
    book_fini(&b);
    free(s);
}

START_TEST(book_should_rebuild_the_same_book_in_any_causal_order_of_events)
{
    run_scenarios(0x9e3779b97f4a7c15ULL, 1500);
}
END_TEST

START_TEST(book_should_match_the_model_for_another_seed)
{
    run_scenarios(0xd1b54a32d192ed03ULL, 1500);
}
END_TEST

START_TEST(book_should_not_reopen_an_order_whose_fill_came_before_its_ack)
{
    book_t b;
    new_book(&b);
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_FILL;
    snprintf(r.symbol, sizeof r.symbol, "BTC-USD");
    snprintf(r.u.fill.fill_id, SE_ID_MAX, "v-1");
    snprintf(r.u.fill.client_order_id, SE_ID_MAX, "st0-1-1");
    r.u.fill.qty = 2;
    r.u.fill.price = 100;
    r.u.fill.side = SE_SIDE_BUY;
    ck_assert_int_eq(book_order_learn(&b, "st0-1-1", 0), 0); /* the ACK, seen ahead by recovery */
    ck_assert_int_eq(book_on_in(&b, &r, NULL), 1);
    se_exec_rec_t x;
    memset(&x, 0, sizeof x);
    x.kind = SE_EXEC_ACK;
    x.action = SE_ACTION_NEW;
    x.side = SE_SIDE_BUY;
    snprintf(x.symbol, sizeof x.symbol, "BTC-USD");
    snprintf(x.client_order_id, sizeof x.client_order_id, "st0-1-1");
    x.qty = x.leaves_qty = 2;
    ck_assert_int_eq(book_on_exec(&b, &x, NULL), 0);
    ck_assert_int_eq(book_on_exec(&b, &x, NULL), 0); /* and again */
    ck_assert(!book_order_is_open(&b, "st0-1-1"));
    ck_assert_double_eq_tol(book_cell(&b, 0, book_find_symbol(&b, "BTC-USD"))->qty, 2, TOL);
    book_fini(&b);
}
END_TEST

START_TEST(book_should_close_an_order_whose_cancel_was_refused_because_it_filled)
{
    book_t b;
    new_book(&b);
    ck_assert_int_eq(book_order_add(&b, "st0-1-1", 0, "BTC-USD", SE_SIDE_SELL, 3), 0);
    se_exec_rec_t x;
    memset(&x, 0, sizeof x);
    x.kind = SE_EXEC_REJECT;
    x.action = SE_ACTION_CANCEL;
    snprintf(x.client_order_id, sizeof x.client_order_id, "st0-1-1");
    snprintf(x.reason, sizeof x.reason, "venue_unavailable");
    ck_assert_int_eq(book_on_exec(&b, &x, NULL), 0); /* another refusal: still working */
    ck_assert(book_order_is_open(&b, "st0-1-1"));
    snprintf(x.reason, sizeof x.reason, "already_filled");
    ck_assert_int_eq(book_on_exec(&b, &x, NULL), 1);
    ck_assert(!book_order_is_open(&b, "st0-1-1"));
    ck_assert(book_cell(&b, 0, book_find_symbol(&b, "BTC-USD"))->pending_sell == 0);
    book_fini(&b);
}
END_TEST

static Suite *recovery_suite(void)
{
    Suite *s = suite_create("recovery");
    TCase *tc = tcase_create("orders");
    tcase_set_timeout(tc, 120); /* a few thousand interleavings; slower under valgrind */
    tcase_add_test(tc, book_should_not_reopen_an_order_whose_fill_came_before_its_ack);
    tcase_add_test(tc, book_should_close_an_order_whose_cancel_was_refused_because_it_filled);
    tcase_add_test(tc, book_should_rebuild_the_same_book_in_any_causal_order_of_events);
    tcase_add_test(tc, book_should_match_the_model_for_another_seed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(recovery_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
