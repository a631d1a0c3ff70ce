/* reply_pool.h -- hiredis reply objects carved from one reusable arena
 * instead of five mallocs and frees per pub/sub message. Used by
 * redis_feed.c for its subscription context. hiredis builds one reply at a
 * time and frees it before it starts the next, so the arena is reset each
 * time a reply is freed; a reply larger than the arena falls back to malloc. */
#ifndef INGEST_REPLY_POOL_H
#define INGEST_REPLY_POOL_H

#include <hiredis.h>

/* Makes the reader of c build its replies in the arena. One context of the
 * process at a time (the arena is the module's): the Redis feed has one, and
 * frees it before it connects again. */
void reply_pool_use(redisContext *c);

#endif
