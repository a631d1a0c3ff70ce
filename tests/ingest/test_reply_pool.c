/* test_reply_pool.c -- check suite for ingest/reply_pool: replies built in
 * the arena are the replies hiredis builds with malloc, for every RESP type,
 * nested arrays, empty and nil values, and strings larger than the arena
 * (the malloc fallback); one after another, as the Redis feed gets them. */
#include "ingest/reply_pool.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails unless a and b are the same reply tree. */
static void assert_same(const redisReply *a, const redisReply *b, const char *where)
{
    ck_assert_msg(a && b, "%s: a missing reply", where);
    ck_assert_msg(a->type == b->type, "%s: type %d vs %d", where, a->type, b->type);
    switch (a->type) {
    case REDIS_REPLY_ARRAY:
        ck_assert_msg(a->elements == b->elements, "%s: %zu vs %zu elements", where, a->elements, b->elements);
        for (size_t i = 0; i < a->elements; i++)
            assert_same(a->element[i], b->element[i], where);
        break;
    case REDIS_REPLY_INTEGER:
        ck_assert_msg(a->integer == b->integer, "%s: %lld vs %lld", where, a->integer, b->integer);
        break;
    case REDIS_REPLY_NIL:
        break;
    default:
        ck_assert_msg(a->len == b->len && memcmp(a->str, b->str, a->len) == 0 && a->str[a->len] == '\0',
                      "%s: strings differ", where);
    }
}

/* Feeds text to two readers, one with the pool, in chunks of chunk bytes
 * (replies split across reads), and compares every reply. Returns how many. */
static int compare(const char *text, size_t len, size_t chunk)
{
    redisContext pooled;
    memset(&pooled, 0, sizeof pooled);
    pooled.reader = redisReaderCreate();
    reply_pool_use(&pooled);
    redisReader *plain = redisReaderCreate();
    int n = 0;
    for (size_t at = 0; at < len; at += chunk) {
        size_t k = len - at < chunk ? len - at : chunk;
        ck_assert_int_eq(redisReaderFeed(pooled.reader, text + at, k), REDIS_OK);
        ck_assert_int_eq(redisReaderFeed(plain, text + at, k), REDIS_OK);
        for (;;) {
            void *a = NULL, *b = NULL;
            ck_assert_int_eq(redisReaderGetReply(pooled.reader, &a), REDIS_OK);
            ck_assert_int_eq(redisReaderGetReply(plain, &b), REDIS_OK);
            ck_assert_msg((a == NULL) == (b == NULL), "one reader has a reply, the other not");
            if (!a)
                break;
            char where[32];
            snprintf(where, sizeof where, "reply %d", n);
            assert_same(a, b, where);
            pooled.reader->fn->freeObject(a);
            freeReplyObject(b);
            n++;
        }
    }
    redisReaderFree(pooled.reader);
    redisReaderFree(plain);
    return n;
}

static const size_t chunks[] = { 1, 7, 100, 1 << 20 };

START_TEST(pooled_replies_should_equal_hiredis_own_for_every_type)
{
    static const char text[] = "*4\r\n$8\r\npmessage\r\n$4\r\nmd.*\r\n$10\r\nmd.BTC-USD\r\n$2\r\n{}\r\n"
                               "*3\r\n$10\r\npsubscribe\r\n$4\r\nmd.*\r\n:1\r\n"
                               "+OK\r\n-ERR wrong\r\n:-42\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"
                               "*2\r\n*2\r\n:1\r\n$1\r\na\r\n*1\r\n*1\r\n$3\r\nbcd\r\n";
    ck_assert_int_eq(compare(text, sizeof text - 1, chunks[_i]), 10);
}
END_TEST

START_TEST(pooled_replies_should_fall_back_to_malloc_beyond_the_arena)
{
    /* Strings of 100 KB (past the 64 KB arena), then a small reply, twice over. */
    size_t big = 100 * 1024;
    size_t cap = 4 * (big + 64) + 256;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t len = 0;
    for (int round = 0; round < 2; round++) {
        len += (size_t)sprintf(text + len, "*3\r\n$%zu\r\n", big);
        memset(text + len, 'a' + round, big);
        len += big;
        len += (size_t)sprintf(text + len, "\r\n$%zu\r\n", big);
        memset(text + len, 'x', big);
        len += big;
        len += (size_t)sprintf(text + len, "\r\n:7\r\n");
        len += (size_t)sprintf(text + len, "*1\r\n$3\r\nabc\r\n");
    }
    ck_assert_int_eq(compare(text, len, chunks[_i]), 4);
    free(text);
}
END_TEST

START_TEST(many_messages_should_reuse_the_arena)
{
    /* 20000 pub/sub messages in one text: far more than the arena holds at
     * once, so it is reused after each; every one must come out intact. */
    size_t cap = 20000 * 128;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t len = 0;
    for (int i = 0; i < 20000; i++) {
        char payload[48];
        int n = snprintf(payload, sizeof payload, "{\"symbol\":\"S%d\",\"last\":%d}", i, i + 1);
        len += (size_t)sprintf(text + len, "*4\r\n$8\r\npmessage\r\n$4\r\nmd.*\r\n$4\r\nmd.S\r\n$%d\r\n%s\r\n", n,
                               payload);
    }
    ck_assert_int_eq(compare(text, len, 4096), 20000);
    free(text);
}
END_TEST

static Suite *reply_pool_suite(void)
{
    Suite *s = suite_create("ingest_reply_pool");
    TCase *tc = tcase_create("replies");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, pooled_replies_should_equal_hiredis_own_for_every_type, 0,
                        sizeof chunks / sizeof chunks[0]);
    tcase_add_loop_test(tc, pooled_replies_should_fall_back_to_malloc_beyond_the_arena, 0,
                        sizeof chunks / sizeof chunks[0]);
    tcase_add_test(tc, many_messages_should_reuse_the_arena);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reply_pool_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
