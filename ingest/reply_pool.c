/* reply_pool.c -- see reply_pool.h. The objects are plain redisReply
 * structures, as hiredis's async code reads them (the subscription dispatch
 * looks at type, element and str). */
#include "ingest/reply_pool.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BYTES (64 * 1024) /* a pub/sub message of up to ~60 KB fits; the validator takes 4 KB */

static struct {
    alignas(16) unsigned char buf[ARENA_BYTES];
    size_t used;
} arena;

static bool in_arena(const void *p)
{
    return (const unsigned char *)p >= arena.buf && (const unsigned char *)p < arena.buf + ARENA_BYTES;
}

/* n zeroed bytes, 16-aligned: from the arena, or from calloc when it is full. */
static void *take(size_t n)
{
    size_t at = (arena.used + 15) & ~(size_t)15;
    if (n <= ARENA_BYTES && at <= ARENA_BYTES - n) {
        arena.used = at + n;
        memset(arena.buf + at, 0, n);
        return arena.buf + at;
    }
    return calloc(1, n ? n : 1);
}

static void give_back(void *p)
{
    if (p && !in_arena(p))
        free(p);
}

/* A new reply of type, linked into its parent array as hiredis's own do. */
static redisReply *new_reply(const redisReadTask *task, int type)
{
    redisReply *r = take(sizeof *r);
    if (!r)
        return NULL;
    r->type = type;
    if (task->parent) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    char *copy = take(len + 1);
    if (!copy)
        return NULL;
    redisReply *r = new_reply(task, task->type);
    if (!r) {
        give_back(copy);
        return NULL;
    }
    memcpy(copy, str, len);
    copy[len] = '\0';
    r->str = copy;
    r->len = len;
    return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
    redisReply **element = NULL;
    if (elements > 0 && !(element = take((size_t)elements * sizeof *element)))
        return NULL;
    redisReply *r = new_reply(task, REDIS_REPLY_ARRAY);
    if (!r) {
        give_back(element);
        return NULL;
    }
    r->elements = elements > 0 ? (size_t)elements : 0;
    r->element = element;
    return r;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = new_reply(task, REDIS_REPLY_INTEGER);
    if (r)
        r->integer = value;
    return r;
}

static void *create_nil(const redisReadTask *task)
{
    return new_reply(task, REDIS_REPLY_NIL);
}

static void free_tree(redisReply *r)
{
    if (!r)
        return;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; r->element && i < r->elements; i++)
            free_tree(r->element[i]);
        give_back(r->element);
    } else {
        give_back(r->str);
    }
    give_back(r);
}

/* hiredis frees only whole replies, and builds the next one afterwards:
 * nothing in the arena is alive once a reply is freed. */
static void free_object(void *reply)
{
    free_tree(reply);
    arena.used = 0;
}

static redisReplyObjectFunctions pool_functions = {
    create_string, create_array, create_integer, create_nil, free_object,
};

void reply_pool_use(redisContext *c)
{
    c->reader->fn = &pool_functions;
}
