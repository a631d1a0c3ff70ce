/* replay.h -- replays a file of JSON lines, each one message in the Redis
 * market-data format, through the validator into ring `in`: at the recorded
 * pace (from each message's ts), faster or slower, or as fast as possible.
 * `shmtool record in FILE` writes such files from a live session. */
#ifndef INGEST_REPLAY_H
#define INGEST_REPLAY_H

#include <signal.h>
#include <stdbool.h>

#include "common/config.h"
#include "ingest/publisher.h"

typedef struct {
    const char *file; /* borrowed from the config */
    double speed;     /* 1.0: recorded pace; 2.0: twice as fast; 0: as fast as possible */
    bool loop;        /* start again at the end, forever */
} replay_config_t;

/* Reads ingest.replay.{file, speed, loop}. 0 or SE_ECONFIG (file is required). */
int replay_config(const cfg_t *cfg, replay_config_t *out);

/* Replays until the end of the file (or *stop). Bad lines are counted by
 * reason and skipped, never fatal. Returns 0, or a negative code with a
 * message: the file cannot be read, or (-ENODATA) looping was asked for over
 * a file without a single valid message. */
int replay_run(const replay_config_t *c, publisher_t *p, const volatile sig_atomic_t *stop);

#endif
