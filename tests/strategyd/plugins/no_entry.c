/* no_entry.c -- a test plugin that forgot to export strat_plugin_entry. */
#include "strategy.h"

int strat_plugin_entry_typo(void);
STRAT_EXPORT int strat_plugin_entry_typo(void)
{
    return 0;
}
