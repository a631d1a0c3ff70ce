/* ring_fixture.c -- see ring_fixture.h. */
#include "tests/support/ring_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint64_t record_sum(const test_record_t *r)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    h = mix(h ^ r->pos);
    h = mix(h ^ r->incarnation);
    for (int i = 0; i < 4; i++)
        h = mix(h ^ r->filler[i]);
    return h;
}

void test_record_fill(test_record_t *r, uint64_t pos, uint64_t incarnation)
{
    r->pos = pos;
    r->incarnation = incarnation;
    for (int i = 0; i < 4; i++)
        r->filler[i] = mix(pos * 4 + (uint64_t)i + incarnation * 0x1000003);
    r->checksum = record_sum(r);
}

bool test_record_intact(const test_record_t *r)
{
    return r->checksum == record_sum(r);
}

static pid_t owner_pid;

void test_ring_name(char *out, size_t size, const char *tag, const char *ring)
{
    char inst[40];
    if (!owner_pid)
        owner_pid = getpid();
    snprintf(inst, sizeof inst, "t%d-%s", (int)owner_pid, tag);
    if (shm_name(out, size, NULL, inst, ring) < 0)
        abort();
}

void test_sweep_segments(const char *lead)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    /* "se.<instance>." also names the instance's registry directories,
     * "se.<instance>@bcast" and "@spsc". */
    size_t n = strlen(lead);
    bool instance_lead = n > 0 && lead[n - 1] == '.';
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        bool registry_dir = instance_lead && strncmp(e->d_name, lead, n - 1) == 0 && e->d_name[n - 1] == '@';
        if (strncmp(e->d_name, lead, n) != 0 && !registry_dir)
            continue;
        char path[300];
        snprintf(path, sizeof path, "/%s", e->d_name);
        if (shm_unlink(path) == 0 || errno != EISDIR)
            continue;
        /* A registry directory (se.<instance>@bcast): its files, then itself. */
        snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
        DIR *sub = opendir(path);
        struct dirent *f;
        while (sub && (f = readdir(sub)) != NULL) {
            if (strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0)
                continue;
            char file[600];
            snprintf(file, sizeof file, "%s/%s", path, f->d_name);
            unlink(file);
        }
        if (sub)
            closedir(sub);
        rmdir(path);
    }
    closedir(d);
}

void test_ring_cleanup(void)
{
    char lead[32];
    snprintf(lead, sizeof lead, "se.t%d-", (int)(owner_pid ? owner_pid : getpid()));
    test_sweep_segments(lead);
}

shm_header_t *test_map_raw(const char *name, size_t *size)
{
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        return NULL;
    struct stat st;
    fstat(fd, &st);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    *size = (size_t)st.st_size;
    return p == MAP_FAILED ? NULL : p;
}

pid_t test_spawn(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn(arg));
    return pid;
}

int test_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

void *test_shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

uint64_t test_rand(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ull;
    return mix(*state);
}
