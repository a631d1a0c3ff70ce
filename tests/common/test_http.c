/* test_http.c -- check suite for common/http: routing (200, 404, 405 with
 * Allow, HEAD), the JSON error bodies, the body limit (413), binding (the
 * given address only, port 0, a port in use) and the request-body helpers. */
#include "common/http.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "tests/support/http_client.h"

static char body[8192], ctype[128];

static void echo(const http_request_t *req, http_response_t *res, void *ctx)
{
    fprintf(res->body, "{\"handler\":\"%s\",\"method\":\"%s\",\"len\":%zu}", (const char *)ctx, req->method,
            req->body_len);
}

static void teapot(const http_request_t *req, http_response_t *res, void *ctx)
{
    (void)req, (void)ctx;
    res->status = 418;
    res->content_type = "text/plain";
    fputs("short and stout", res->body);
}

static http_server_t *started(const char *bind)
{
    http_server_t *s;
    ck_assert_int_eq(http_open(&s, bind, 0), 0);
    ck_assert_int_eq(http_route(s, "GET", "/thing", echo, "get"), 0);
    ck_assert_int_eq(http_route(s, "POST", "/thing", echo, "post"), 0);
    ck_assert_int_eq(http_route(s, "GET", "/teapot", teapot, NULL), 0);
    ck_assert_int_eq(http_port(s), 0); /* not listening yet */
    ck_assert_msg(http_start(s) == 0, "%s", se_errmsg());
    ck_assert_int_gt(http_port(s), 0);
    return s;
}

START_TEST(http_should_route_each_method_to_its_handler)
{
    http_server_t *s = started("127.0.0.1");
    int port = http_port(s);
    ck_assert_int_eq(tc_http(port, "GET", "/thing", NULL, body, sizeof body, ctype, sizeof ctype), 200);
    ck_assert_str_eq(body, "{\"handler\":\"get\",\"method\":\"GET\",\"len\":0}");
    ck_assert_str_eq(ctype, HTTP_JSON);
    ck_assert_int_eq(tc_http(port, "POST", "/thing", "{\"a\":1}", body, sizeof body, NULL, 0), 200);
    ck_assert_str_eq(body, "{\"handler\":\"post\",\"method\":\"POST\",\"len\":7}");
    ck_assert_int_eq(tc_http(port, "GET", "/teapot", NULL, body, sizeof body, ctype, sizeof ctype), 418);
    ck_assert_str_eq(body, "short and stout");
    ck_assert_str_eq(ctype, "text/plain");
    /* HEAD is GET without the body. */
    ck_assert_int_eq(tc_http(port, "HEAD", "/thing", NULL, body, sizeof body, NULL, 0), 200);
    ck_assert_str_eq(body, "");
    /* The query string is not part of the path. */
    ck_assert_int_eq(tc_http(port, "GET", "/thing?x=1", NULL, body, sizeof body, NULL, 0), 200);
    http_close(s);
}
END_TEST

START_TEST(http_should_answer_unknown_paths_and_methods_with_json_errors)
{
    http_server_t *s = started("127.0.0.1");
    int port = http_port(s);
    ck_assert_int_eq(tc_http(port, "GET", "/nothing", NULL, body, sizeof body, ctype, sizeof ctype), 404);
    ck_assert_str_eq(body, "{\"error\":\"no such endpoint: /nothing\"}\n");
    ck_assert_str_eq(ctype, HTTP_JSON);
    ck_assert_int_eq(tc_http(port, "DELETE", "/thing", NULL, body, sizeof body, NULL, 0), 405);
    ck_assert_str_eq(body, "{\"error\":\"method DELETE not allowed on /thing (allowed: GET, POST)\"}\n");
    ck_assert_int_eq(tc_http(port, "POST", "/teapot", "{}", body, sizeof body, NULL, 0), 405);
    ck_assert_ptr_nonnull(strstr(body, "(allowed: GET)"));
    http_close(s);
}
END_TEST

START_TEST(http_should_refuse_a_body_beyond_the_limit)
{
    http_server_t *s = started("127.0.0.1");
    char *big = malloc(HTTP_BODY_MAX + 2);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', HTTP_BODY_MAX + 1);
    big[HTTP_BODY_MAX + 1] = '\0';
    ck_assert_int_eq(tc_http(http_port(s), "POST", "/thing", big, body, sizeof body, NULL, 0), 413);
    ck_assert_ptr_nonnull(strstr(body, "\"error\":\"request body larger than"));
    big[HTTP_BODY_MAX] = '\0'; /* exactly the limit passes */
    ck_assert_int_eq(tc_http(http_port(s), "POST", "/thing", big, body, sizeof body, NULL, 0), 200);
    free(big);
    http_close(s);
}
END_TEST

/* Connects to addr:port; true when something listens there. */
static bool listening(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, addr, &a.sin_addr);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

START_TEST(http_should_listen_on_the_given_address_only)
{
    /* 127.0.0.2 is loopback too: a server bound to all interfaces would answer on 127.0.0.1. */
    http_server_t *s = started("127.0.0.2");
    int port = http_port(s);
    ck_assert(listening("127.0.0.2", port));
    ck_assert(!listening("127.0.0.1", port));
    ck_assert_str_eq(http_bind_address(s), "127.0.0.2");
    http_close(s);
    ck_assert(!listening("127.0.0.2", port)); /* the socket closed with the server */
}
END_TEST

START_TEST(http_should_say_which_port_is_in_use)
{
    http_server_t *a = started("127.0.0.1"), *b;
    ck_assert_int_eq(http_open(&b, "127.0.0.1", http_port(a)), 0);
    ck_assert_int_eq(http_start(b), -EADDRINUSE);
    char want[96];
    snprintf(want, sizeof want, "cannot listen on 127.0.0.1 port %d", http_port(a));
    ck_assert_msg(strstr(se_errmsg(), want), "%s", se_errmsg());
    ck_assert_int_eq(http_port(b), 0);
    http_close(b);
    http_close(a);
}
END_TEST

START_TEST(http_should_refuse_bad_addresses_ports_and_routes)
{
    http_server_t *s = NULL;
    ck_assert_int_eq(http_open(&s, "localhost", 80), -EINVAL); /* a literal, not a name */
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "'localhost'"));
    ck_assert_ptr_null(s);
    ck_assert_int_eq(http_open(&s, "127.0.0.1", 65536), -EINVAL);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "65536"));
    ck_assert_int_eq(http_open(&s, "::1", 0), 0); /* IPv6 is fine */
    ck_assert_int_eq(http_route(s, "GET", "/a", echo, "a"), 0);
    ck_assert_int_eq(http_route(s, "GET", "/a", echo, "a"), -EEXIST);
    for (int i = 1; i < HTTP_ROUTES_MAX; i++) {
        char path[16];
        snprintf(path, sizeof path, "/p%d", i);
        ck_assert_int_eq(http_route(s, "GET", path, echo, "p"), 0);
    }
    ck_assert_int_eq(http_route(s, "GET", "/one-too-many", echo, "p"), -ENOSPC);
    http_close(s);
    s = started("127.0.0.1");
    ck_assert_int_eq(http_route(s, "GET", "/late", echo, "late"), -EBUSY);
    http_close(s);
}
END_TEST

static http_request_t req(const char *text)
{
    return (http_request_t){ "POST", "/x", text, strlen(text) };
}

START_TEST(body_helpers_should_read_top_level_members_only)
{
    bool b = false;
    char s[16];
    http_request_t r = req("{\"nested\":{\"enabled\":false},\"list\":[1,{\"level\":\"x\"}],\"enabled\":true,"
                           "\"level\":\"warn\"}\n");
    ck_assert_int_eq(http_body_bool(&r, "enabled", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(http_body_string(&r, "level", s, sizeof s), 0);
    ck_assert_str_eq(s, "warn");
    r = req("{\"enabled\":false}");
    ck_assert_int_eq(http_body_bool(&r, "enabled", &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(http_body_bool(&r, "other", &b), -ENOENT);
}
END_TEST

START_TEST(body_helpers_should_refuse_what_is_not_asked_for)
{
    bool b;
    char s[8];
    const char *bad[] = { "", "true", "[]", "{\"enabled\":1}", "{\"enabled\":\"true\"}", "{\"enabled\":tru}",
                          "{\"enabled\":true} {}", "{\"enabled\":true" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_request_t r = req(bad[i]);
        ck_assert_msg(http_body_bool(&r, "enabled", &b) == -EINVAL, "accepted %s", bad[i]);
    }
    http_request_t r = req("{\"level\":\"much-too-long\"}");
    ck_assert_int_eq(http_body_string(&r, "level", s, sizeof s), -EINVAL);
    r = req("{\"level\":\"a\\\"b\"}");
    ck_assert_int_eq(http_body_string(&r, "level", s, sizeof s), -EINVAL);
    r = req("{\"level\":3}");
    ck_assert_int_eq(http_body_string(&r, "level", s, sizeof s), -EINVAL);
}
END_TEST

START_TEST(json_strings_should_be_escaped)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    http_json_str(f, "a\"b\\c\nd\x01");
    fclose(f);
    ck_assert_str_eq(text, "\"a\\\"b\\\\c\\u000ad\\u0001\"");
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, http_should_route_each_method_to_its_handler);
    tcase_add_test(tc, http_should_answer_unknown_paths_and_methods_with_json_errors);
    tcase_add_test(tc, http_should_refuse_a_body_beyond_the_limit);
    tcase_add_test(tc, http_should_listen_on_the_given_address_only);
    tcase_add_test(tc, http_should_say_which_port_is_in_use);
    tcase_add_test(tc, http_should_refuse_bad_addresses_ports_and_routes);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("bodies");
    tcase_add_test(tb, body_helpers_should_read_top_level_members_only);
    tcase_add_test(tb, body_helpers_should_refuse_what_is_not_asked_for);
    tcase_add_test(tb, json_strings_should_be_escaped);
    suite_add_tcase(s, tb);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
