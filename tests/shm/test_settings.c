/* test_settings.c -- the engine.* shared-memory keys: defaults, names, group, spin. */
#include <check.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "shm/settings.h"

static char path[64];

static cfg_t *load(const char *text)
{
    strcpy(path, "/tmp/se-settings-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cfg_t *cfg;
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
    unlink(path);
    return cfg;
}

START_TEST(settings_should_default_without_a_config)
{
    shm_settings_t s;
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_settings_load(NULL, &s), 0);
    ck_assert_str_eq(s.instance, "default");
    ck_assert_int_eq(s.idle_spin_ns, SHM_DEFAULT_IDLE_SPIN_US * 1000);
    ck_assert(!s.perm.use_group);
    ck_assert_int_eq(shm_settings_ring_name(&s, "sig.momentum", name, sizeof name), 0);
    ck_assert_str_eq(name, "/se.default.sig.momentum");
}
END_TEST

START_TEST(settings_should_read_instance_group_and_spin)
{
    struct group *g = getgrgid(getgid());
    ck_assert_ptr_nonnull(g);
    char text[256];
    snprintf(text, sizeof text,
             "engine = { instance = \"paper-2\"; shmGroup = \"%s\"; idleSpinUs = 5; };\n", g->gr_name);
    cfg_t *cfg = load(text);
    shm_settings_t s;
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_settings_load(cfg, &s), 0);
    ck_assert_int_eq(shm_settings_ring_name(&s, "in", name, sizeof name), 0);
    ck_assert_str_eq(name, "/se.paper-2.in");
    ck_assert(s.perm.use_group);
    ck_assert_int_eq(s.perm.gid, getgid());
    ck_assert_int_eq(s.idle_spin_ns, 5000);
    cfg_close(cfg);
}
END_TEST

static const struct {
    const char *text;
    const char *says;
} bad[] = {
    { "engine = { instance = \"a/b\"; };\n", "engine.instance" },
    { "engine = { instance = 7; };\n", "engine.instance" },
    { "engine = { shmPrefix = \"\"; };\n", "engine.shmPrefix" },
    { "engine = { shmGroup = \"no-such-group-xyz\"; };\n", "no-such-group-xyz" },
    { "engine = { idleSpinUs = -1; };\n", "engine.idleSpinUs" },
    { "engine = { idleSpinUs = 1000000; };\n", "engine.idleSpinUs" },
};

START_TEST(settings_should_refuse_bad_values_naming_the_key)
{
    cfg_t *cfg = load(bad[_i].text);
    shm_settings_t s;
    ck_assert_int_eq(shm_settings_load(cfg, &s), SE_ECONFIG);
    ck_assert_msg(strstr(se_errmsg(), bad[_i].says), "'%s' lacks '%s'", se_errmsg(), bad[_i].says);
    char where[80];
    snprintf(where, sizeof where, "%s:1: ", path);
    ck_assert_msg(strstr(se_errmsg(), where), "'%s' lacks file and line", se_errmsg());
    cfg_close(cfg);
}
END_TEST

START_TEST(capacities_should_be_powers_of_two_in_range)
{
    cfg_t *cfg = load("a = 1024; b = 1000; c = 16; d = \"x\";\n");
    uint32_t v;
    ck_assert_int_eq(shm_settings_capacity(cfg, "a", 64, 64, 1 << 20, &v), 0);
    ck_assert_uint_eq(v, 1024);
    ck_assert_int_eq(shm_settings_capacity(cfg, "absent", 64, 64, 1 << 20, &v), 0);
    ck_assert_uint_eq(v, 64);
    ck_assert_int_eq(shm_settings_capacity(cfg, "b", 64, 64, 1 << 20, &v), SE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), ":1: b: 1000 records is not a power of two"));
    ck_assert_int_eq(shm_settings_capacity(cfg, "c", 64, 64, 1 << 20, &v), SE_ECONFIG);
    ck_assert_int_eq(shm_settings_capacity(cfg, "d", 64, 64, 1 << 20, &v), SE_ECONFIG);
    cfg_close(cfg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("settings");
    TCase *tc = tcase_create("settings");
    tcase_add_test(tc, settings_should_default_without_a_config);
    tcase_add_test(tc, settings_should_read_instance_group_and_spin);
    tcase_add_loop_test(tc, settings_should_refuse_bad_values_naming_the_key, 0,
                        (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, capacities_should_be_powers_of_two_in_range);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
