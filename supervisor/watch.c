/* watch.c -- see watch.h. Directories are watched, not files: editors and
 * deploy scripts replace a file by renaming a new one over it, which a watch
 * on the old inode would never see. */
#include "supervisor/watch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM)

/* Splits path into its directory ("." for a bare name) and base name. */
static void split(const char *path, char *dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
        *base = path;
    } else if (slash == path) {
        strcpy(dir, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, WATCH_PATH_MAX, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

int watch_open(watch_t *w)
{
    memset(w, 0, sizeof *w);
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0)
        return se_err(-errno, "inotify: %s", strerror(errno));
    return 0;
}

void watch_close(watch_t *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->nfiles = w->ndirs = 0;
}

static bool has_file(const watch_t *w, const char *path)
{
    for (int i = 0; i < w->nfiles; i++)
        if (strcmp(w->files[i], path) == 0)
            return true;
    return false;
}

void watch_set(watch_t *w, const char *const *paths, int n)
{
    w->nfiles = 0;
    for (int i = 0; i < n && w->nfiles < WATCH_FILES_MAX; i++)
        if (paths[i] && paths[i][0] && strlen(paths[i]) < WATCH_PATH_MAX && !has_file(w, paths[i]))
            snprintf(w->files[w->nfiles++], WATCH_PATH_MAX, "%s", paths[i]);
    /* Directories needed now. */
    char need[WATCH_FILES_MAX][WATCH_PATH_MAX];
    int nneed = 0;
    for (int i = 0; i < w->nfiles; i++) {
        const char *base;
        char dir[WATCH_PATH_MAX];
        split(w->files[i], dir, &base);
        bool dup = false;
        for (int k = 0; k < nneed && !dup; k++)
            dup = strcmp(need[k], dir) == 0;
        if (!dup)
            strcpy(need[nneed++], dir);
    }
    /* Drop the watches no longer needed. */
    int kept = 0;
    for (int d = 0; d < w->ndirs; d++) {
        bool still = false;
        for (int k = 0; k < nneed && !still; k++)
            still = strcmp(need[k], w->dirs[d].dir) == 0;
        if (still)
            w->dirs[kept++] = w->dirs[d];
        else
            inotify_rm_watch(w->fd, w->dirs[d].wd);
    }
    w->ndirs = kept;
    /* Add the new ones. */
    for (int k = 0; k < nneed; k++) {
        bool have = false;
        for (int d = 0; d < w->ndirs && !have; d++)
            have = strcmp(need[k], w->dirs[d].dir) == 0;
        if (have)
            continue;
        int wd = inotify_add_watch(w->fd, need[k], WATCH_MASK);
        if (wd < 0) {
            log_warn("cannot watch directory for hot reload", LOG_STR("dir", need[k]),
                     LOG_STR("error", strerror(errno)));
            continue;
        }
        w->dirs[w->ndirs].wd = wd;
        strcpy(w->dirs[w->ndirs++].dir, need[k]);
    }
}

/* True when the event's directory and name make a watched file's path. */
static bool relevant(const watch_t *w, const struct inotify_event *ev)
{
    if (ev->len == 0)
        return false;
    for (int d = 0; d < w->ndirs; d++) {
        if (w->dirs[d].wd != ev->wd)
            continue;
        for (int i = 0; i < w->nfiles; i++) {
            char dir[WATCH_PATH_MAX];
            const char *base;
            split(w->files[i], dir, &base);
            if (strcmp(dir, w->dirs[d].dir) == 0 && strcmp(base, ev->name) == 0)
                return true;
        }
    }
    return false;
}

bool watch_read(watch_t *w)
{
    bool changed = false;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW)
                changed = true; /* events were lost: look at everything again */
            else if (relevant(w, ev))
                changed = true;
            p += sizeof *ev + ev->len;
        }
    }
    return changed;
}
