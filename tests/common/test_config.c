/* test_config.c -- check suite for common/config: typed getters, defaults,
 * errors naming file:line:key, config path discovery, unknown-key warnings. */
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Path of the last file written by write_conf; the file itself is removed
 * as soon as it is parsed, but error messages still name it. */
static char path[64];
static cfg_t *cfg;

static void write_conf(const char *text)
{
    int fd;

    strcpy(path, "/tmp/se_test_config_XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Writes text to a temp file and opens it; returns cfg_open's result. */
static int try_load(const char *text)
{
    int rc;

    write_conf(text);
    rc = cfg_open(&cfg, path);
    unlink(path);
    return rc;
}

static void load(const char *text)
{
    int rc = try_load(text);
    ck_assert_msg(rc == 0, "cfg_open: %d %s", rc, se_errmsg());
}

/* "PATH:LINE: tail" for the current temp file. */
static const char *expect_msg(int line, const char *tail)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s:%d: %s", path, line, tail);
    return buf;
}

static void setup(void)
{
    cfg = NULL;
    unsetenv("CONFIG_PATH");
}

static void teardown(void)
{
    cfg_close(cfg);
    cfg = NULL;
    unsetenv("CONFIG_PATH");
}

static const char *sample =
    "engine = {\n"                                     /* 1 */
    "  mode = \"live\";\n"                             /* 2 */
    "  idleSpinUs = 50;\n"                             /* 3 */
    "  signalTtlMs = 12.0;\n"                          /* 4 */
    "  hotReload = true;\n"                            /* 5 */
    "  shmGroup = 9000000000L;\n"                      /* 6 */
    "};\n"                                             /* 7 */
    "strategies = {\n"                                 /* 8 */
    "  enabled = [\"momentum\", \"scalping\"];\n"      /* 9 */
    "  configs = {\n"                                  /* 10 */
    "    momentum = { threshold = 0.25; window = 20; };\n" /* 11 */
    "  };\n"                                           /* 12 */
    "};\n"                                             /* 13 */
    "risk = { maxPosition = -9223372036854775807L; empty = []; };\n"; /* 14 */

START_TEST(config_should_return_defaults_for_missing_keys)
{
    int64_t i = 0;
    double d = 0;
    bool b = false;
    const char *s = NULL;
    const char **list = (const char **)1;
    int n = -1;

    load(sample);
    ck_assert_int_eq(cfg_get_int(cfg, "engine.signalBufferSize", 4096, &i), 0);
    ck_assert_int_eq(i, 4096);
    ck_assert_int_eq(cfg_get_double(cfg, "strategies.configs.scalping.threshold", 1.5, &d), 0);
    ck_assert_double_eq(d, 1.5);
    ck_assert_int_eq(cfg_get_bool(cfg, "nosuch.group.flag", true, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(cfg_get_string(cfg, "engine.instance", "a", &s), 0);
    ck_assert_str_eq(s, "a");
    ck_assert_int_eq(cfg_get_string_list(cfg, "engine.plugins", &list, &n), 0);
    ck_assert_ptr_null(list);
    ck_assert_int_eq(n, 0);
    /* A path that continues below a scalar does not exist either. */
    ck_assert_int_eq(cfg_get_int(cfg, "engine.mode.x", 7, &i), 0);
    ck_assert_int_eq(i, 7);
}
END_TEST

START_TEST(config_should_return_defaults_without_a_config_file)
{
    int64_t i;
    double d;
    bool b;
    const char *s;
    const char **list;
    int n;

    ck_assert_int_eq(cfg_get_int(NULL, "engine.idleSpinUs", 5, &i), 0);
    ck_assert_int_eq(i, 5);
    ck_assert_int_eq(cfg_get_double(NULL, "x", 2.5, &d), 0);
    ck_assert_double_eq(d, 2.5);
    ck_assert_int_eq(cfg_get_bool(NULL, "x", true, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(cfg_get_string(NULL, "x", NULL, &s), 0);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(cfg_get_string_list(NULL, "x", &list, &n), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(cfg_get_int_range(NULL, "x", 3, 0, 10, &i), 0);
    ck_assert_int_eq(i, 3);
    ck_assert_ptr_null(cfg_file(NULL));
    ck_assert_int_eq(cfg_warn_unknown(NULL), 0);
}
END_TEST

START_TEST(config_should_read_each_type)
{
    int64_t i;
    double d;
    bool b;
    const char *s;
    const char **list;
    int n;

    load(sample);
    ck_assert_str_eq(cfg_file(cfg), path);
    ck_assert_int_eq(cfg_get_int(cfg, "engine.idleSpinUs", 0, &i), 0);
    ck_assert_int_eq(i, 50);
    ck_assert_int_eq(cfg_get_double(cfg, "strategies.configs.momentum.threshold", 0, &d), 0);
    ck_assert_double_eq(d, 0.25);
    ck_assert_int_eq(cfg_get_bool(cfg, "engine.hotReload", false, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(cfg_get_string(cfg, "engine.mode", NULL, &s), 0);
    ck_assert_str_eq(s, "live");
    ck_assert_int_eq(cfg_get_string_list(cfg, "strategies.enabled", &list, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(list[0], "momentum");
    ck_assert_str_eq(list[1], "scalping");
}
END_TEST

START_TEST(config_should_return_the_same_string_list_on_each_call)
{
    const char **a, **b;
    int n;

    load(sample);
    ck_assert_int_eq(cfg_get_string_list(cfg, "strategies.enabled", &a, &n), 0);
    ck_assert_int_eq(cfg_get_string_list(cfg, "strategies.enabled", &b, &n), 0);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(cfg_get_string_list(cfg, "risk.empty", &a, &n), 0);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(config_should_accept_an_integer_where_a_double_is_wanted)
{
    double d;

    load(sample);
    ck_assert_int_eq(cfg_get_double(cfg, "strategies.configs.momentum.window", 0, &d), 0);
    ck_assert_double_eq(d, 20.0);
    ck_assert_int_eq(cfg_get_double(cfg, "engine.shmGroup", 0, &d), 0);
    ck_assert_double_eq(d, 9000000000.0);
}
END_TEST

START_TEST(config_should_accept_an_integral_float_where_an_integer_is_wanted)
{
    int64_t i;

    load(sample);
    ck_assert_int_eq(cfg_get_int(cfg, "engine.signalTtlMs", 0, &i), 0);
    ck_assert_int_eq(i, 12);
}
END_TEST

START_TEST(config_should_read_64_bit_integers)
{
    int64_t i;

    load(sample);
    ck_assert_int_eq(cfg_get_int(cfg, "engine.shmGroup", 0, &i), 0);
    ck_assert_int_eq(i, 9000000000LL);
    ck_assert_int_eq(cfg_get_int(cfg, "risk.maxPosition", 0, &i), 0);
    ck_assert_int_eq(i, -9223372036854775807LL);
}
END_TEST

START_TEST(config_should_name_file_line_and_key_on_type_error)
{
    static const struct {
        const char *text;
        int line;
        const char *key;
        char want; /* getter: i int, d double, b bool, s string, l list */
        const char *tail;
    } cases[] = {
        { "a = 1;\nengine = { idleSpinUs = \"fast\"; };\n", 2, "engine.idleSpinUs", 'i',
          "engine.idleSpinUs: expected an integer, got a string" },
        { "engine = {\n  x = 1;\n};\n", 1, "engine", 'i', "engine: expected an integer, got a group" },
        { "\n\nr = { lim = 2.5; };\n", 3, "r.lim", 'i',
          "r.lim: expected an integer, got a float with a fractional part (2.5)" },
        { "r = { lim = 1e30; };\n", 1, "r.lim", 'i',
          "r.lim: expected an integer, got a float too large for 64 bits (1e+30)" },
        { "r = { lim = true; };\n", 1, "r.lim", 'i', "r.lim: expected an integer, got a boolean" },
        { "r = { x = \"1.5\"; };\n", 1, "r.x", 'd', "r.x: expected a number, got a string" },
        { "r = { x = [1, 2]; };\n", 1, "r.x", 'd', "r.x: expected a number, got an array" },
        { "r = { on = 1; };\n", 1, "r.on", 'b', "r.on: expected a boolean (true or false), got an integer" },
        { "r = { on = \"yes\"; };\n", 1, "r.on", 'b',
          "r.on: expected a boolean (true or false), got a string" },
        { "r = { name = 5; };\n", 1, "r.name", 's', "r.name: expected a string, got an integer" },
        { "r = { name = (\"a\"); };\n", 1, "r.name", 's', "r.name: expected a string, got a list" },
        { "r = { l = \"momentum\"; };\n", 1, "r.l", 'l', "r.l: expected a list of strings, got a string" },
        { "r = { l = [\"a\",\n  \"b\"];\n  m = 1; };\n", 1, "r.l", 'i', "r.l: expected an integer, got an array" },
    };

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t i = 42;
        double d;
        bool b;
        const char *s;
        const char **l;
        int n, rc = 0;

        load(cases[c].text);
        switch (cases[c].want) {
        case 'i': rc = cfg_get_int(cfg, cases[c].key, 0, &i); break;
        case 'd': rc = cfg_get_double(cfg, cases[c].key, 0, &d); break;
        case 'b': rc = cfg_get_bool(cfg, cases[c].key, false, &b); break;
        case 's': rc = cfg_get_string(cfg, cases[c].key, NULL, &s); break;
        case 'l': rc = cfg_get_string_list(cfg, cases[c].key, &l, &n); break;
        }
        ck_assert_msg(rc == SE_ECONFIG, "case %zu: rc %d", c, rc);
        ck_assert_str_eq(se_errmsg(), expect_msg(cases[c].line, cases[c].tail));
        ck_assert_int_eq(i, 42); /* output untouched on error */
        cfg_close(cfg);
        cfg = NULL;
    }
}
END_TEST

START_TEST(config_should_name_the_element_on_a_string_list_type_error)
{
    const char **list = NULL;
    int n = -1;

    load("strategies = {\n  enabled = (\"momentum\",\n    3);\n};\n");
    ck_assert_int_eq(cfg_get_string_list(cfg, "strategies.enabled", &list, &n), SE_ECONFIG);
    ck_assert_str_eq(se_errmsg(), expect_msg(3, "strategies.enabled: element 1: expected a string, got an integer"));
    ck_assert_ptr_null(list);
    ck_assert_int_eq(n, 0);
}
END_TEST

START_TEST(config_should_report_values_out_of_range)
{
    int64_t i = -1;
    double d = -1;

    load("engine = {\n  idleSpinUs = 70000;\n  ratio = 1.5;\n};\n");
    ck_assert_int_eq(cfg_get_int_range(cfg, "engine.idleSpinUs", 10, 0, 65535, &i), SE_ECONFIG);
    ck_assert_str_eq(se_errmsg(), expect_msg(2, "engine.idleSpinUs: 70000 is out of range [0, 65535]"));
    ck_assert_int_eq(i, -1);
    ck_assert_int_eq(cfg_get_int_range(cfg, "engine.idleSpinUs", 10, 0, 70000, &i), 0);
    ck_assert_int_eq(i, 70000);
    ck_assert_int_eq(cfg_get_int_range(cfg, "engine.missing", 10, 0, 5, &i), 0);
    ck_assert_int_eq(i, 10); /* defaults are not range-checked */

    ck_assert_int_eq(cfg_get_double_range(cfg, "engine.ratio", 0, 0, 1, &d), SE_ECONFIG);
    ck_assert_str_eq(se_errmsg(), expect_msg(3, "engine.ratio: 1.5 is out of range [0, 1]"));
    ck_assert_int_eq(cfg_get_double_range(cfg, "engine.ratio", 0, 0, 2, &d), 0);
    ck_assert_double_eq(d, 1.5);
}
END_TEST

START_TEST(config_should_name_file_and_line_on_parse_error)
{
    cfg_t *untouched = (cfg_t *)&untouched;
    int rc;

    write_conf("engine = {\n  mode = \"live\";\n  idleSpinUs = ;\n};\n");
    rc = cfg_open(&untouched, path);
    unlink(path);
    ck_assert_int_eq(rc, SE_ECONFIG);
    ck_assert_ptr_eq(untouched, (cfg_t *)&untouched);
    ck_assert_msg(strncmp(se_errmsg(), expect_msg(3, ""), strlen(expect_msg(3, ""))) == 0,
                  "message: %s", se_errmsg());
    ck_assert_uint_gt(strlen(se_errmsg()), strlen(expect_msg(3, ""))); /* libconfig's text follows */
}
END_TEST

START_TEST(config_should_name_the_path_of_a_missing_file)
{
    ck_assert_int_eq(cfg_open(&cfg, "/tmp/se_test_config_no_such_file.conf"), -ENOENT);
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "/tmp/se_test_config_no_such_file.conf"));
}
END_TEST

START_TEST(config_path_should_prefer_dash_c_over_config_path)
{
    char *with_c[] = { "strategyd", "-v", "-c", "a.conf", "-c", "later.conf", NULL };
    char *glued[] = { "strategyd", "-cb.conf", NULL };
    char *none[] = { "strategyd", "-v", NULL };
    char *after_dashes[] = { "strategyd", "--", "-c", "x.conf", NULL };
    char *dangling[] = { "strategyd", "-c", NULL };

    ck_assert_ptr_null(cfg_path_from_args(2, none));
    setenv("CONFIG_PATH", "env.conf", 1);
    ck_assert_str_eq(cfg_path_from_args(6, with_c), "a.conf");
    ck_assert_str_eq(cfg_path_from_args(2, glued), "b.conf");
    ck_assert_str_eq(cfg_path_from_args(2, none), "env.conf");
    ck_assert_str_eq(cfg_path_from_args(4, after_dashes), "env.conf");
    ck_assert_str_eq(cfg_path_from_args(2, dangling), "env.conf");
    ck_assert_str_eq(cfg_path_from_args(0, NULL), "env.conf");
    setenv("CONFIG_PATH", "", 1);
    ck_assert_ptr_null(cfg_path_from_args(2, none));
}
END_TEST

START_TEST(config_should_count_and_log_unknown_keys)
{
    int p[2];
    char buf[4096];
    ssize_t len;
    int lines = 0;

    load("engine = {\n"
         "  mode = \"live\";\n"
         "  idelSpinUs = 5;\n"                         /* typo */
         "};\n"
         "strategies = { enabled = [\"m\"]; configs = { m = { a = { b = 1; }; }; }; };\n"
         "risk = { anything = { goes = 1; }; };\n"
         "colour = \"blue\";\n");
    ck_assert_int_eq(pipe(p), 0);
    log_set_fd(p[1]);
    ck_assert_int_eq(cfg_warn_unknown(cfg), 2);
    log_set_fd(2);
    close(p[1]);
    len = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    ck_assert_int_gt(len, 0);
    buf[len] = '\0';
    for (char *c = buf; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 2);
    ck_assert_ptr_nonnull(strstr(buf, "\"level\":\"warn\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"line\":3,\"key\":\"engine.idelSpinUs\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"line\":7,\"key\":\"colour\""));
    ck_assert_ptr_nonnull(strstr(buf, path));
}
END_TEST

START_TEST(config_key_matcher_should_follow_the_pattern_rules)
{
    static const struct {
        const char *pattern, *key;
        bool match;
    } cases[] = {
        { "engine.mode", "engine.mode", true },
        { "engine.mode", "engine.modes", false },
        { "engine.mode", "engine", false },
        { "engine.mode", "engine.mode.x", false },
        { "engine.mode", "Engine.mode", false },
        { "a.*.c", "a.b.c", true },
        { "a.*.c", "a.c", false },
        { "a.*.c", "a.b.x.c", false },
        { "a.*", "a.", false },
        { "risk.**", "risk", true },
        { "risk.**", "risk.maxPosition", true },
        { "risk.**", "risk.limits.perSymbol.max", true },
        { "risk.**", "riskd.port", false },
        { "risk.**", "xrisk.a", false },
        { "strategies.configs.*.**", "strategies.configs.momentum", true },
        { "strategies.configs.*.**", "strategies.configs.momentum.threshold", true },
        { "strategies.configs.*.**", "strategies.configs.momentum.a.b", true },
        { "strategies.configs.*.**", "strategies.configs", false },
        { "strategies.configs.*.**", "strategies.enabled", false },
        { "a.b", "a..b", false },
        { "a.b", "", false },
        { NULL, "a", false },
        { "a", NULL, false },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(cfg_key_match(cases[i].pattern, cases[i].key) == cases[i].match,
                      "pattern %s key %s: expected %d", cases[i].pattern ? cases[i].pattern : "NULL",
                      cases[i].key ? cases[i].key : "NULL", cases[i].match);
}
END_TEST

START_TEST(config_should_know_the_documented_keys)
{
    static const struct {
        const char *key;
        bool known;
    } cases[] = {
        { "engine.mode", true },
        { "engine.instance", true },
        { "engine.shmGroup", true },
        { "engine.shmPrefix", true },
        { "engine.idleSpinUs", true },
        { "engine.signalBufferSize", true },
        { "engine.signalTtlMs", true },
        { "engine.hotReload", true },
        { "engine.pluginsDir", true },
        { "strategies.enabled", true },
        { "strategies.configs.momentum.threshold", true },
        { "risk.maxPosition", true },
        { "ingest.feeds", true },
        { "execution.target", true },
        { "execution.sim.latencyUs", true },
        { "execution.limits.maxOrderQty", true },
        { "execution.limits.symbols", true },
        { "execution.limits.maxOrderQuantity", false }, /* execd names its keys: a typo is caught */
        { "execution.venue", false },
        { "redis.url", true },
        { "nats.url", true },
        { "http.port", true },
        { "supervisor.maxRestarts", true },
        { "supervisor.maxRestart", false }, /* the supervisor names its keys: a typo is caught */
        { "riskd.port", true },
        { "execd.port", true },
        { "strategyd.threads", true },
        { "engine.idelSpinUs", false },
        { "engine", false },
        { "strategies.disabled", false },
        { "colour", false },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(cfg_key_known(cases[i].key) == cases[i].known, "%s: expected %d", cases[i].key,
                      cases[i].known);
}
END_TEST

START_TEST(config_nodes_should_walk_a_group_of_unknown_keys)
{
    load("g = { i = 7; big = 5000000000L; f = 0.5; b = true; s = \"x\"; arr = [1, 2]; lst = (\"a\", 1.5);\n"
         "      sub = { k = false; }; };\n");
    cfg_node_t g, c, e;
    ck_assert_int_eq(cfg_node(cfg, "g", &g), 0);
    ck_assert_int_eq(g.type, CFG_NODE_GROUP);
    ck_assert_int_eq(g.count, 8);
    static const struct {
        const char *name;
        cfg_node_type_t type;
        int count;
    } want[] = { { "i", CFG_NODE_INT, 0 },      { "big", CFG_NODE_INT, 0 },  { "f", CFG_NODE_FLOAT, 0 },
                 { "b", CFG_NODE_BOOL, 0 },     { "s", CFG_NODE_STRING, 0 }, { "arr", CFG_NODE_LIST, 2 },
                 { "lst", CFG_NODE_LIST, 2 },   { "sub", CFG_NODE_GROUP, 1 } };
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(cfg_node_child(&g, i, &c), 0);
        ck_assert_str_eq(c.name, want[i].name);
        ck_assert_int_eq(c.type, want[i].type);
        ck_assert_int_eq(c.count, want[i].count);
    }
    ck_assert_int_eq(cfg_node_child(&g, 8, &c), -EINVAL);
    ck_assert_int_eq(cfg_node_child(&g, 1, &c), 0);
    ck_assert_int_eq(c.i, 5000000000LL);
    ck_assert_int_eq(cfg_node_child(&g, 2, &c), 0);
    ck_assert_double_eq(c.d, 0.5);
    ck_assert_int_eq(cfg_node_child(&g, 3, &c), 0);
    ck_assert(c.b);
    ck_assert_int_eq(cfg_node_child(&g, 4, &c), 0);
    ck_assert_str_eq(c.s, "x");
    ck_assert_int_eq(cfg_node_child(&g, 6, &c), 0);
    ck_assert_int_eq(cfg_node_child(&c, 1, &e), 0);
    ck_assert_ptr_null(e.name); /* list elements have no names */
    ck_assert_int_eq(e.type, CFG_NODE_FLOAT);
    ck_assert_double_eq(e.d, 1.5);
    ck_assert_int_eq(cfg_node(cfg, "g.sub.k", &c), 0);
    ck_assert(c.type == CFG_NODE_BOOL && !c.b);
    ck_assert_int_eq(cfg_node(cfg, "g.nope", &c), -ENOENT);
    ck_assert_int_eq(cfg_node(NULL, "g", &c), -ENOENT);
    ck_assert_int_eq(cfg_node(cfg, "", &c), 0); /* the root */
    ck_assert_int_eq(c.type, CFG_NODE_GROUP);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_should_return_defaults_for_missing_keys);
    tcase_add_test(tc, config_should_return_defaults_without_a_config_file);
    tcase_add_test(tc, config_should_read_each_type);
    tcase_add_test(tc, config_should_return_the_same_string_list_on_each_call);
    tcase_add_test(tc, config_should_accept_an_integer_where_a_double_is_wanted);
    tcase_add_test(tc, config_should_accept_an_integral_float_where_an_integer_is_wanted);
    tcase_add_test(tc, config_should_read_64_bit_integers);
    tcase_add_test(tc, config_should_name_file_line_and_key_on_type_error);
    tcase_add_test(tc, config_should_name_the_element_on_a_string_list_type_error);
    tcase_add_test(tc, config_should_report_values_out_of_range);
    tcase_add_test(tc, config_should_name_file_and_line_on_parse_error);
    tcase_add_test(tc, config_should_name_the_path_of_a_missing_file);
    tcase_add_test(tc, config_path_should_prefer_dash_c_over_config_path);
    tcase_add_test(tc, config_should_count_and_log_unknown_keys);
    tcase_add_test(tc, config_key_matcher_should_follow_the_pattern_rules);
    tcase_add_test(tc, config_should_know_the_documented_keys);
    tcase_add_test(tc, config_nodes_should_walk_a_group_of_unknown_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default; it is left to CK_FORK so that
     * CK_FORK=no can run the suite in one process under valgrind. */
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
