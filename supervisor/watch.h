/* watch.h -- the hot-reload watcher: inotify on the directories of the files
 * the engine loads (the config file, each strategy's plugin or script), so an
 * edit, a copy or an atomic rename over one of them is noticed at once.
 * Used by sup.c, which decides what a change means. */
#ifndef SUPERVISOR_WATCH_H
#define SUPERVISOR_WATCH_H

#include <stdbool.h>

#define WATCH_FILES_MAX 80
#define WATCH_PATH_MAX  256

typedef struct {
    int fd;                                   /* inotify, non-blocking; -1 when closed */
    int nfiles;
    char files[WATCH_FILES_MAX][WATCH_PATH_MAX];
    int ndirs;
    struct {
        int wd;
        char dir[WATCH_PATH_MAX];
    } dirs[WATCH_FILES_MAX];
} watch_t;

/* Opens the inotify instance. Returns 0 or a negative code (se_errmsg). */
int watch_open(watch_t *w);

/* Closes it. Safe on a zeroed or closed watch_t (fd -1 or 0 never opened: call
 * after watch_open only). */
void watch_close(watch_t *w);

/* Makes paths (n of them, duplicates and "" ignored) the set of watched files:
 * their directories are watched, those no longer needed dropped. A directory
 * that cannot be watched is logged and skipped. */
void watch_set(watch_t *w, const char *const *paths, int n);

/* Reads every pending event without blocking. Returns true when one of them
 * created, rewrote, renamed onto or removed a watched file. */
bool watch_read(watch_t *w);

#endif
