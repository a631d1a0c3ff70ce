/* md_publisher.c -- bin/md-publisher: a small market-data source for live
 * mode (`make run-live`, dry runs): ingest's synthetic random walk
 * (ingest/synthetic.h) published on Redis as DESIGN.md's JSON on md.<SYMBOL>
 * at a chosen rate. It survives Redis going away: it reconnects and goes on
 * (what it would have published meanwhile is skipped, as on a real feed). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "common/clock.h"
#include "common/records.h"
#include "ingest/synthetic.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: md-publisher [options]\n"
               "  --redis HOST:PORT   where to PUBLISH (default 127.0.0.1:6379)\n"
               "  --symbols A,B,...   symbols, published in turn (default BTC-USD,ETH-USD,SOL-USD)\n"
               "  --rate N            messages per second over all symbols (default 20)\n"
               "  --volatility V      standard deviation of one tick's log return (default 0.001)\n"
               "  --spread-bps B      bid/ask spread (default 2)\n"
               "  --start-price P     every symbol's first mid (default 100)\n"
               "  --seed S            the walk's seed (default 42)\n"
               "  --count N           stop after N messages (default 0: never)\n"
               "Prints one line with its counts when it stops (SIGINT, SIGTERM, --count).\n");
}

static int parse_symbols(synth_config_t *c, char *list)
{
    c->nsymbols = 0;
    for (char *save = NULL, *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        if (c->nsymbols == SYNTH_MAX_SYMBOLS || strlen(s) == 0 || strlen(s) >= SE_SYMBOL_MAX) {
            fprintf(stderr, "md-publisher: --symbols: at most %d symbols of 1..%d bytes ('%s')\n", SYNTH_MAX_SYMBOLS,
                    SE_SYMBOL_MAX - 1, s);
            return -1;
        }
        snprintf(c->symbols[c->nsymbols++], SE_SYMBOL_MAX, "%s", s);
    }
    return c->nsymbols > 0 ? 0 : -1;
}

static int parse_options(int argc, char **argv, synth_config_t *c, char *host, size_t host_size, int *port)
{
    static const struct option longopts[] = {
        { "redis", required_argument, 0, 'r' },      { "symbols", required_argument, 0, 's' },
        { "rate", required_argument, 0, 'R' },       { "volatility", required_argument, 0, 'v' },
        { "spread-bps", required_argument, 0, 'b' }, { "start-price", required_argument, 0, 'p' },
        { "seed", required_argument, 0, 'S' },       { "count", required_argument, 0, 'n' },
        { "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
    };
    char symbols[1024] = "BTC-USD,ETH-USD,SOL-USD";
    *c = (synth_config_t){ .rate = 20, .volatility = 0.001, .spread_bps = 2, .start_price = 100, .tick_size = 0.01,
                           .seed = 42 };
    snprintf(host, host_size, "127.0.0.1");
    *port = 6379;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = "";
        errno = 0;
        switch (opt) {
        case 'r': {
            const char *colon = strrchr(optarg, ':');
            if (!colon || colon == optarg || (size_t)(colon - optarg) >= host_size) {
                fprintf(stderr, "md-publisher: --redis wants HOST:PORT, got '%s'\n", optarg);
                return -1;
            }
            snprintf(host, host_size, "%.*s", (int)(colon - optarg), optarg);
            *port = (int)strtol(colon + 1, &end, 10);
            break;
        }
        case 's': snprintf(symbols, sizeof symbols, "%s", optarg); break;
        case 'R': c->rate = strtod(optarg, &end); break;
        case 'v': c->volatility = strtod(optarg, &end); break;
        case 'b': c->spread_bps = strtod(optarg, &end); break;
        case 'p': c->start_price = strtod(optarg, &end); break;
        case 'S': c->seed = strtoull(optarg, &end, 10); break;
        case 'n': c->max_records = strtoull(optarg, &end, 10); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (*end || errno) {
            fprintf(stderr, "md-publisher: bad value '%s'\n", optarg);
            return -1;
        }
    }
    if (*port < 1 || *port > 65535 || !(c->rate > 0 && c->rate <= 1e6) || !(c->volatility >= 0) ||
        !(c->spread_bps >= 0) || !(c->start_price > 0)) {
        fprintf(stderr, "md-publisher: --redis port 1..65535, --rate in (0, 1e6], --start-price > 0, "
                        "--volatility and --spread-bps >= 0\n");
        return -1;
    }
    return parse_symbols(c, symbols);
}

int main(int argc, char **argv)
{
    synth_config_t c;
    char host[256];
    int port;
    if (parse_options(argc, argv, &c, host, sizeof host, &port) < 0)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    synth_t walk;
    synth_init(&walk, &c);
    redisContext *rc = NULL;
    unsigned long long published = 0, skipped = 0, reconnects = 0;
    int64_t period = (int64_t)(1e9 / c.rate), next = clock_mono_ns();
    bool was_up = true;
    while (!stop && (c.max_records == 0 || published < c.max_records)) {
        next += period;
        struct timespec at = { (time_t)(next / 1000000000), (long)(next % 1000000000) };
        while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
            ;
        if (stop)
            break;
        se_in_rec_t q;
        synth_next(&walk, &q); /* the walk goes on while Redis is away */
        if (!rc) {
            rc = redisConnect(host, port);
            if (!rc || rc->err) {
                if (was_up)
                    fprintf(stderr, "md-publisher: Redis at %s:%d unreachable (%s); retrying\n", host, port,
                            rc ? rc->errstr : "out of memory");
                was_up = false;
                redisFree(rc);
                rc = NULL;
                skipped++;
                continue;
            }
            if (!was_up)
                reconnects++;
            was_up = true;
        }
        char json[512], channel[8 + SE_SYMBOL_MAX];
        if (se_in_to_json(&q, json, sizeof json) < 0)
            continue; /* cannot happen for a synthetic quote: the buffer holds any */
        snprintf(channel, sizeof channel, "md.%s", q.symbol);
        redisReply *r = redisCommand(rc, "PUBLISH %s %s", channel, json);
        if (!r) {
            fprintf(stderr, "md-publisher: Redis connection lost (%s); reconnecting\n", rc->errstr);
            redisFree(rc);
            rc = NULL;
            was_up = false;
            skipped++;
            continue;
        }
        freeReplyObject(r);
        published++;
    }
    redisFree(rc);
    printf("{\"published\":%llu,\"skipped\":%llu,\"reconnects\":%llu}\n", published, skipped, reconnects);
    return 0;
}
