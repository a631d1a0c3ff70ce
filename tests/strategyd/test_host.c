/* test_host.c -- strategyd's host side of the ABI: finding the strategy
 * (built-in or plugin) and refusing every broken plugin with a clear message;
 * the config view, order ids and event time handed to strategies. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "strategyd/host.h"

static char path[64];
static cfg_t *cfg;
static const char *test_plugins;

static void load_config(const char *text)
{
    strcpy(path, "/tmp/se-host-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
}

static void setup(void)
{
    test_plugins = getenv("SE_TEST_PLUGINS") ? getenv("SE_TEST_PLUGINS")
                                              : "build/release/tests/strategyd/plugins";
    cfg = NULL;
    if (!getenv("SE_TEST_VERBOSE")) /* the refusals log on purpose; keep the run quiet */
        log_set_fd(open("/dev/null", O_WRONLY));
}

static void teardown(void)
{
    cfg_close(cfg);
    unlink(path);
}

/* Loads instance `name` under a config whose engine.pluginsDir is dir and
 * whose key (plugin or script) is `file` (NULL: none). */
static int load_from(const char *dir, const char *name, const char *key, const char *file, host_t *h,
                     loaded_t *l)
{
    char text[2048];
    snprintf(text, sizeof text,
             "engine = { pluginsDir = \"%s\"; };\n"
             "strategies = { enabled = [\"%s\"]; configs = { %s = { %s%s%s%s%s threshold = \"high\"; }; }; };\n",
             dir, name, name, file ? key : "", file ? " = \"" : "", file ? file : "", file ? "\";" : "", "");
    load_config(text);
    ck_assert_int_eq(host_init(h, cfg, name), 0);
    return host_load(h, l);
}

/* Loads instance `name` from pluginsDir "plugins" with plugin key `plugin` (NULL: none). */
static int load(const char *name, const char *plugin, host_t *h, loaded_t *l)
{
    return load_from("plugins", name, "plugin", plugin, h, l);
}

START_TEST(host_should_find_built_ins_by_name)
{
    host_t h;
    loaded_t l;
    ck_assert_int_eq(load("momentum", NULL, &h, &l), 0);
    ck_assert_str_eq(l.plugin->name, "momentum");
    ck_assert_str_eq(l.source, "built-in momentum");
    host_unload(&l);
}
END_TEST

START_TEST(host_should_refuse_an_unknown_built_in)
{
    host_t h;
    loaded_t l;
    ck_assert_int_eq(load("mystery", NULL, &h, &l), -ENOENT);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "no built-in strategy 'mystery'"));
}
END_TEST

START_TEST(host_should_load_a_good_plugin_from_the_plugins_dir)
{
    host_t h;
    loaded_t l;
    ck_assert_msg(load("ma_cross", "example_plugin.so", &h, &l) == 0, "%s", se_errmsg());
    ck_assert_ptr_nonnull(l.dl);
    ck_assert_str_eq(l.source, "plugins/example_plugin.so");
    ck_assert_uint_eq(l.plugin->abi_version, STRAT_ABI_VERSION);
    host_unload(&l);
}
END_TEST

static const struct {
    const char *file; /* in SE_TEST_PLUGINS, or a path of its own */
    const char *says;
} broken[] = {
    { "missing.so", "No such file" },
    { "no_entry.so", "has no entry point strat_plugin_entry()" },
    { "wrong_abi.so", "was built for strategy ABI 2, this strategyd speaks 1" },
};

START_TEST(host_should_refuse_a_broken_plugin_with_one_clear_message)
{
    host_t h;
    loaded_t l;
    ck_assert_int_lt(load_from(test_plugins, "broken", "plugin", broken[_i].file, &h, &l), 0);
    ck_assert_msg(strstr(se_errmsg(), broken[_i].says), "'%s' lacks '%s'", se_errmsg(), broken[_i].says);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), broken[_i].file));
    ck_assert_ptr_null(l.plugin);
}
END_TEST

START_TEST(host_should_let_init_refuse_its_configuration)
{
    host_t h;
    loaded_t l;
    ck_assert_msg(load_from(test_plugins, "picky", "plugin", "init_fails.so", &h, &l) == 0, "%s", se_errmsg());
    void *state = l.plugin->create(&h.api);
    ck_assert_int_lt(l.plugin->init(state), 0);
    host_unload(&l);
}
END_TEST

/* A plugins folder with ways out of it: tmp/plugins holds a symlink to a
 * file outside (link.so), one to a folder outside (dirlink), and one to the
 * Go example outside (go_ma_cross.so); tmp/outside holds evil.so and
 * evil.py (never loaded: refused before). */
static char tmp[64];

static void make_tree(void)
{
    char p[512], q[512], cwd[256];
    strcpy(tmp, "/tmp/se-host-tree-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(p, sizeof p, "%s/plugins", tmp);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/outside", tmp);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    static const char *const files[] = { "outside/evil.so", "outside/evil.py", "plugins/inside.so" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmp, files[i]);
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
    }
    snprintf(p, sizeof p, "%s/plugins/link.so", tmp);
    ck_assert_int_eq(symlink("../outside/evil.so", p), 0);
    snprintf(p, sizeof p, "%s/plugins/dirlink", tmp);
    ck_assert_int_eq(symlink("../outside", p), 0);
    snprintf(p, sizeof p, "%s/plugins/alias.so", tmp);
    ck_assert_int_eq(symlink("inside.so", p), 0);
    snprintf(p, sizeof p, "%s/plugins/go_ma_cross.so", tmp);
    snprintf(q, sizeof q, "%s/plugins/go_ma_cross.so", cwd);
    ck_assert_int_eq(symlink(q, p), 0);
}

static void remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

static const struct {
    const char *key, *file; /* "%s" in file: the tree's root */
    const char *says;       /* besides the configured path */
} escapes[] = {
    { "plugin", "../outside/evil.so", "resolves to %s/outside/evil.so, outside engine.pluginsDir %s/plugins" },
    { "plugin", "link.so", "resolves to %s/outside/evil.so, outside engine.pluginsDir %s/plugins" },
    { "plugin", "dirlink/evil.so", "resolves to %s/outside/evil.so, outside engine.pluginsDir %s/plugins" },
    { "plugin", "%s/outside/evil.so", "resolves to %s/outside/evil.so, outside engine.pluginsDir %s/plugins" },
    { "plugin", "%s/plugins/../outside/evil.so", "resolves to %s/outside/evil.so, outside" },
    { "plugin", ".", "resolves to %s/plugins, outside engine.pluginsDir %s/plugins" },
    { "plugin", "go_ma_cross.so", "go_ma_cross.so, outside engine.pluginsDir %s/plugins" },
    { "script", "../outside/evil.py", "resolves to %s/outside/evil.py, outside engine.pluginsDir %s/plugins" },
    { "script", "dirlink/evil.py", "resolves to %s/outside/evil.py, outside" },
    /* libconfig drops a \x00 from a string: what is left is checked like any path */
    { "plugin", "dirlink\\x00/evil.so", "resolves to %s/outside/evil.so, outside engine.pluginsDir %s/plugins" },
    { "plugin", "", "plugin is empty" },
    { "script", "", "script is empty" },
};

START_TEST(host_should_refuse_strategy_code_from_outside_the_plugins_dir)
{
    make_tree();
    char dir[128], file[256], says[512];
    snprintf(dir, sizeof dir, "%s/plugins", tmp);
    snprintf(file, sizeof file, escapes[_i].file, tmp);
    snprintf(says, sizeof says, escapes[_i].says, tmp, tmp);
    host_t h;
    loaded_t l;
    ck_assert_int_lt(load_from(dir, "escape", escapes[_i].key, file, &h, &l), 0);
    ck_assert_msg(strstr(se_errmsg(), says), "'%s' lacks '%s'", se_errmsg(), says);
    if (file[0] && !strchr(file, '\\')) {
        char quoted[300];
        snprintf(quoted, sizeof quoted, "\"%s\"", file);
        ck_assert_msg(strstr(se_errmsg(), quoted), "'%s' does not name %s", se_errmsg(), quoted);
        ck_assert_ptr_nonnull(strstr(se_errmsg(), "strategies.configs.escape."));
    }
    ck_assert_ptr_null(l.plugin);
    remove_tree();
}
END_TEST

START_TEST(host_should_take_paths_that_stay_inside_the_plugins_dir)
{
    make_tree();
    char dir[128], file[256];
    snprintf(dir, sizeof dir, "%s/plugins", tmp);
    /* Found (inside.so is an empty file: dlopen refuses it, past the folder check). */
    static const char *const inside[] = { "inside.so", "alias.so", "%s/plugins/inside.so", "dirlink/../plugins/inside.so" };
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++) {
        host_t h;
        loaded_t l;
        snprintf(file, sizeof file, inside[i], tmp);
        ck_assert_int_lt(load_from(dir, "inside", "plugin", file, &h, &l), 0);
        ck_assert_msg(strstr(se_errmsg(), "cannot be loaded"), "%s: %s", file, se_errmsg());
        cfg_close(cfg);
        cfg = NULL;
        unlink(path);
    }
    remove_tree();
}
END_TEST

START_TEST(host_should_refuse_names_that_break_ring_names_or_order_ids)
{
    host_t h;
    load_config("strategies = { enabled = [\"a\"]; };\n");
    ck_assert_int_eq(host_init(&h, cfg, "has-dash"), -EINVAL);
    ck_assert_int_eq(host_init(&h, cfg, "has.dot"), -EINVAL);
    ck_assert_int_eq(host_init(&h, cfg, ""), -EINVAL);
    ck_assert_int_eq(host_init(&h, cfg, "abcdefghijklmnopqrstuvwxy"), -EINVAL); /* 25 bytes */
    ck_assert_int_eq(host_init(&h, cfg, "abcdefghijklmnopqrstuvwx"), 0);
}
END_TEST

START_TEST(host_config_view_should_read_the_strategy_group_and_name_bad_keys)
{
    host_t h;
    loaded_t l;
    ck_assert_int_eq(load("momentum", NULL, &h, &l), 0);
    double d;
    const char *s;
    ck_assert_int_lt(h.api.config_double(h.api.ctx, "threshold", 1.0, &d), 0);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "strategies.configs.momentum.threshold"));
    ck_assert_ptr_nonnull(strstr(se_errmsg(), ":2: "));
    ck_assert_int_eq(h.api.config_string(h.api.ctx, "threshold", "", &s), 0);
    ck_assert_str_eq(s, "high");
    ck_assert_int_eq(h.api.config_double(h.api.ctx, "absent", 2.5, &d), 0);
    ck_assert_double_eq(d, 2.5);
    host_unload(&l);
}
END_TEST

START_TEST(host_should_give_order_ids_and_event_time)
{
    host_t h;
    load_config("strategies = { enabled = [\"scalp\"]; };\n");
    ck_assert_int_eq(host_init(&h, cfg, "scalp"), 0);
    char a[STRAT_ID_MAX], b[STRAT_ID_MAX], want[STRAT_ID_MAX];
    h.api.new_order_id(h.api.ctx, a);
    h.api.new_order_id(h.api.ctx, b);
    snprintf(want, sizeof want, "scalp-%lld-1", (long long)h.epoch_s);
    ck_assert_str_eq(a, want);
    snprintf(want, sizeof want, "scalp-%lld-2", (long long)h.epoch_s);
    ck_assert_str_eq(b, want);
    h.event_ns = 1732400000123456789;
    ck_assert_int_eq(h.api.now_ns(h.api.ctx), 1732400000123456789);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("host");
    TCase *tc = tcase_create("host");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, host_should_find_built_ins_by_name);
    tcase_add_test(tc, host_should_refuse_an_unknown_built_in);
    tcase_add_test(tc, host_should_load_a_good_plugin_from_the_plugins_dir);
    tcase_add_loop_test(tc, host_should_refuse_a_broken_plugin_with_one_clear_message, 0,
                        (int)(sizeof broken / sizeof broken[0]));
    tcase_add_test(tc, host_should_let_init_refuse_its_configuration);
    tcase_add_loop_test(tc, host_should_refuse_strategy_code_from_outside_the_plugins_dir, 0,
                        (int)(sizeof escapes / sizeof escapes[0]));
    tcase_add_test(tc, host_should_take_paths_that_stay_inside_the_plugins_dir);
    tcase_add_test(tc, host_should_refuse_names_that_break_ring_names_or_order_ids);
    tcase_add_test(tc, host_config_view_should_read_the_strategy_group_and_name_bad_keys);
    tcase_add_test(tc, host_should_give_order_ids_and_event_time);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
