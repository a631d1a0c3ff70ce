/* limits.c -- reads riskd's risk limits from the `risk` configuration group.
 * See limits.h for the keys and their meaning. Cold path only. */
#include "limits.h"

#include <string.h>

#include "common/err.h"

/* Upper bound of the money and quantity limits: large enough for anything
 * real, small enough that a typo of a few extra digits still fits and an
 * infinity or NaN does not. */
#define LIMITS_AMOUNT_MAX 1e18

void limits_defaults(risk_limits_t *out)
{
    memset(out, 0, sizeof *out);
    out->enabled = true;
    out->breach_action = LIMITS_BREACH_REDUCE;
}

int limits_parse_hhmm(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++) {
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

/* Copies the string list at key into out[LIMITS_SYMBOL_LIST_MAX], checking
 * every element is a usable symbol. */
static int load_symbols(const cfg_t *cfg, const char *key, char (*out)[SE_SYMBOL_MAX], int *n)
{
    const char **items;
    int len, rc = cfg_get_string_list(cfg, key, &items, &len);

    if (rc)
        return rc;
    if (len > LIMITS_SYMBOL_LIST_MAX)
        return cfg_value_error(cfg, key, "%d symbols, at most %d are supported", len, LIMITS_SYMBOL_LIST_MAX);
    for (int i = 0; i < len; i++) {
        size_t l = strlen(items[i]);
        if (l == 0 || l >= SE_SYMBOL_MAX)
            return cfg_value_error(cfg, key, "element %d: \"%s\" is not a symbol (1 to %d bytes)", i, items[i],
                                   SE_SYMBOL_MAX - 1);
        memcpy(out[i], items[i], l + 1);
    }
    *n = len;
    return 0;
}

static int amount(const cfg_t *cfg, const char *key, double *out)
{
    return cfg_get_double_range(cfg, key, 0, 0, LIMITS_AMOUNT_MAX, out);
}

int limits_load(const cfg_t *cfg, risk_limits_t *out)
{
    const char *reset, *action;
    int rc;

    limits_defaults(out);
    if ((rc = cfg_get_bool(cfg, "risk.enabled", true, &out->enabled)) ||
        (rc = load_symbols(cfg, "risk.symbolWhitelist", out->whitelist, &out->nwhitelist)) ||
        (rc = load_symbols(cfg, "risk.symbolBlacklist", out->blacklist, &out->nblacklist)) ||
        (rc = amount(cfg, "risk.maxOrderSize", &out->max_order_size)) ||
        (rc = amount(cfg, "risk.maxOrderValue", &out->max_order_value)) ||
        (rc = cfg_get_double_range(cfg, "risk.priceCollarPct", 0, 0, 1000, &out->price_collar_pct)) ||
        (rc = cfg_get_int_range(cfg, "risk.maxQuoteAgeMs", 0, 0, LIMITS_QUOTE_AGE_MS_MAX,
                                &out->max_quote_age_ms)) ||
        (rc = amount(cfg, "risk.maxPositionSize", &out->max_position_size)) ||
        (rc = amount(cfg, "risk.strategyMaxPositionSize", &out->strategy_max_position_size)) ||
        (rc = amount(cfg, "risk.maxDailyLoss", &out->max_daily_loss)) ||
        (rc = amount(cfg, "risk.maxDrawdown", &out->max_drawdown)) ||
        (rc = cfg_get_int_range(cfg, "risk.maxOrdersPerSecond", 0, 0, LIMITS_RATE_SECOND_MAX,
                                &out->max_orders_per_second)) ||
        (rc = cfg_get_int_range(cfg, "risk.maxOrdersPerMinute", 0, 0, LIMITS_RATE_MINUTE_MAX,
                                &out->max_orders_per_minute)) ||
        (rc = cfg_get_int_range(cfg, "risk.strategyMaxOrdersPerSecond", out->max_orders_per_second, 0,
                                LIMITS_RATE_SECOND_MAX, &out->strategy_max_orders_per_second)) ||
        (rc = cfg_get_int_range(cfg, "risk.strategyMaxOrdersPerMinute", out->max_orders_per_minute, 0,
                                LIMITS_RATE_MINUTE_MAX, &out->strategy_max_orders_per_minute)) ||
        (rc = cfg_get_int_range(cfg, "risk.duplicateWindowMs", 0, 0, LIMITS_DUP_WINDOW_MS_MAX,
                                &out->duplicate_window_ms)) ||
        (rc = cfg_get_string(cfg, "risk.dailyResetUtc", "00:00", &reset)) ||
        (rc = cfg_get_string(cfg, "risk.breachAction", "reduce", &action)))
        return rc;

    out->daily_reset_minute = limits_parse_hhmm(reset);
    if (out->daily_reset_minute < 0)
        return cfg_value_error(cfg, "risk.dailyResetUtc", "expected a UTC time \"HH:MM\" (00:00 to 23:59), got \"%s\"",
                               reset);
    if (strcmp(action, "reduce") == 0)
        out->breach_action = LIMITS_BREACH_REDUCE;
    else if (strcmp(action, "halt") == 0)
        out->breach_action = LIMITS_BREACH_HALT;
    else
        return cfg_value_error(cfg, "risk.breachAction", "expected \"reduce\" or \"halt\", got \"%s\"", action);
    return 0;
}
