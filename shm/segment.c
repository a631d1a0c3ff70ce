/* segment.c -- naming, mapping and validation of segments, and liveness of the
 * processes named in them. Never trusts what it reads from /dev/shm. */
#include "shm/segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/atomic.h"
#include "shm/futex.h"

static bool valid_part(const char *s, size_t max, bool dots)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (dots && c == '.');
        if (!ok)
            return false;
    }
    return true;
}

int shm_name(char *out, size_t out_size, const char *prefix, const char *instance, const char *ring)
{
    if (!prefix)
        prefix = SHM_DEFAULT_PREFIX;
    if (!instance)
        instance = SHM_DEFAULT_INSTANCE;
    if (!valid_part(prefix, 32, false))
        return se_err(-EINVAL, "bad segment prefix '%s': use 1-32 of [A-Za-z0-9_-]", prefix);
    if (!valid_part(instance, 32, false))
        return se_err(-EINVAL, "bad instance name '%s': use 1-32 of [A-Za-z0-9_-]", instance);
    if (!ring || !valid_part(ring, 64, true))
        return se_err(-EINVAL, "bad ring name '%s': use 1-64 of [A-Za-z0-9_.-], not starting with '.'",
                      ring ? ring : "(null)");
    int n = snprintf(out, out_size, "/%s.%s.%s", prefix, instance, ring);
    if (n < 0 || (size_t)n >= out_size)
        return se_err(-ENAMETOOLONG, "segment name for ring '%s' is too long", ring);
    return 0;
}

static bool is_pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

int shm_segment_validate(const shm_header_t *h, size_t file_size, const char *name)
{
    if (file_size == 0)
        return se_err(SE_ENOTREADY, "segment %s: empty (its writer is still creating it)", name);
    if (file_size < sizeof(shm_header_t))
        return se_err(SE_ECORRUPT, "segment %s: %zu bytes, smaller than a header (%zu)", name,
                      file_size, sizeof(shm_header_t));
    /* Pairs with the creator's release store of magic: fields read after it are complete. */
    uint64_t magic = shm__load_acquire(&h->magic);
    if (magic == 0)
        return se_err(SE_ENOTREADY, "segment %s: header not yet complete", name);
    if (magic != SHM_MAGIC)
        return se_err(SE_ECORRUPT, "segment %s: bad magic 0x%016llx (not an engine ring)", name,
                      (unsigned long long)magic);
    if (h->layout_version != SHM_LAYOUT_VERSION)
        return se_err(SE_EVERSION, "segment %s: layout version %u, this build uses %u", name,
                      h->layout_version, SHM_LAYOUT_VERSION);
    if (h->kind != SHM_KIND_SPSC && h->kind != SHM_KIND_BROADCAST && h->kind != SHM_KIND_STATS)
        return se_err(SE_ECORRUPT, "segment %s: unknown ring kind %u", name, h->kind);
    if (h->record_size < SHM_RECORD_MIN || h->record_size > SHM_RECORD_MAX || h->record_size % 64)
        return se_err(SE_ECORRUPT, "segment %s: record size %u is not a multiple of 64 in [%u, %u]",
                      name, h->record_size, SHM_RECORD_MIN, SHM_RECORD_MAX);
    if (!is_pow2(h->capacity) || h->capacity < 2 || h->capacity > SHM_CAPACITY_MAX)
        return se_err(SE_ECORRUPT, "segment %s: capacity %u is not a power of two in [2, %u]", name,
                      h->capacity, SHM_CAPACITY_MAX);
    if (h->header_size != sizeof(shm_header_t))
        return se_err(SE_ECORRUPT, "segment %s: header size %u, expected %zu", name, h->header_size,
                      sizeof(shm_header_t));
    if (h->pair == 0)
        return se_err(SE_ECORRUPT, "segment %s: no pairing id", name);
    uint64_t want = (uint64_t)h->header_size + (uint64_t)h->capacity * h->record_size;
    if (h->total_size != want || file_size != want)
        return se_err(SE_ECORRUPT, "segment %s: size %zu (header says %llu), layout needs %llu", name,
                      file_size, (unsigned long long)h->total_size, (unsigned long long)want);
    return 0;
}

static shm_trust_t trust;

void shm_trust_set(const shm_trust_t *t)
{
    trust = *t;
}

static bool trusted_user(uid_t uid)
{
    if (uid == geteuid() || uid == 0)
        return true;
    for (int i = 0; i < trust.nusers; i++)
        if (trust.users[i] == uid)
            return true;
    return false;
}

static bool trusted_group(gid_t gid)
{
    if (trust.use_group && gid == trust.gid)
        return true;
    for (int i = 0; i < trust.ngroups; i++)
        if (trust.groups[i] == gid)
            return true;
    return false;
}

/* The ring a segment or registry name is about: "/se.default.sig.x" and
 * "/se.default@spsc/sig.x" are both about "sig.x". */
static const char *ring_of(const char *name)
{
    const char *slash = strrchr(name + 1, '/');
    if (slash)
        return slash + 1;
    const char *dot = strchr(name + 1, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    return dot ? dot + 1 : name;
}

/* The user that alone may own the segments of `ring`, if the policy says. */
static bool writer_of_ring(const char *ring, uid_t *uid)
{
    for (int i = 0; i < trust.nwriters; i++) {
        const char *w = trust.writers[i].ring;
        size_t n = strlen(w);
        if (n && (w[n - 1] == '.' ? strncmp(ring, w, n) == 0 : strcmp(ring, w) == 0)) {
            *uid = trust.writers[i].uid;
            return true;
        }
    }
    return false;
}

/* "65534 (nobody)": a uid or gid with its name where there is one. */
static void describe_id(char *out, size_t size, unsigned id, bool group)
{
    const char *name = NULL;
    if (group) {
        const struct group *g = getgrgid((gid_t)id);
        name = g ? g->gr_name : NULL;
    } else {
        const struct passwd *pw = getpwuid((uid_t)id);
        name = pw ? pw->pw_name : NULL;
    }
    if (name)
        snprintf(out, size, "%u (%s)", id, name);
    else
        snprintf(out, size, "%u", id);
}

int shm_segment_check_owner(int fd, const char *name)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return se_err(-errno, "segment %s: fstat: %s", name, strerror(errno));
    if (trust.any_owner)
        return 0;
    mode_t mode = st.st_mode & 07777;
    uid_t writer;
    bool own_writer = writer_of_ring(ring_of(name), &writer);
    bool ours = S_ISREG(st.st_mode) && (own_writer ? st.st_uid == writer : trusted_user(st.st_uid));
    /* Others never; the group only when it is a configured one. */
    bool mode_ok = (mode & ~(mode_t)0660) == 0 && (!(mode & 0060) || trusted_group(st.st_gid));
    if (ours && mode_ok)
        return 0;
    char owner[80], group[80], me[80];
    describe_id(owner, sizeof owner, (unsigned)st.st_uid, false);
    describe_id(group, sizeof group, (unsigned)st.st_gid, true);
    describe_id(me, sizeof me, (unsigned)geteuid(), false);
    if (own_writer)
        describe_id(me, sizeof me, (unsigned)writer, false);
    return se_err(SE_EFOREIGN, "segment /dev/shm%s is owned by user %s, group %s, mode %04o; the engine "
                  "uses only segments of %s %s with mode 0600 (0640/0660 with engine.shmGroup)%s: "
                  "left untouched, remove it if it is not needed", name, owner, group, (unsigned)mode,
                  own_writer ? "its writer's user" : "its own user", me, trust.use_group ? " and that group" : "");
}

int shm__segment_map(shm_segment_t *s, const char *name, bool writable, shm_reg_mode_t reg)
{
    memset(s, 0, sizeof *s);
    s->fd = s->reg_fd = -1;
    if (strlen(name) >= sizeof s->name)
        return se_err(-ENAMETOOLONG, "segment name too long: %s", name);
    /* O_NOFOLLOW: /dev/shm is world-writable; a symlink there is never ours. */
    int fd = shm_open(name, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ELOOP ? se_err(SE_EFOREIGN, "segment /dev/shm%s is a symbolic link, not a segment: "
                                       "left untouched", name)
                              : se_err(-errno, "segment %s: %s", name, strerror(errno));
    int rc = shm_segment_check_owner(fd, name);
    struct stat st;
    if (rc == 0 && fstat(fd, &st) < 0)
        rc = se_err(-errno, "segment %s: fstat: %s", name, strerror(errno));
    if (rc < 0) {
        close(fd);
        return rc;
    }
    size_t size = (size_t)st.st_size;
    if (size < sizeof(shm_header_t)) {
        close(fd);
        return shm_segment_validate(NULL, size, name); /* rejects by size alone, never reads */
    }
    void *p = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = se_err(-errno, "segment %s: mmap %zu bytes: %s", name, size, strerror(errno));
        close(fd);
        return rc;
    }
    rc = shm_segment_validate(p, size, name);
    if (rc < 0) {
        munmap(p, size);
        close(fd);
        return rc;
    }
    strcpy(s->name, name);
    s->hdr = p;
    s->size = size;
    s->fd = fd;
    s->writable = writable;
    shm_segment_keep_geometry(s);
    /* The copy is taken after the validation: a peer rewriting the header in
     * between would leave one never validated. Everything indexes with it. */
    if (!shm_segment_geometry_ok(s)) {
        rc = se_err(SE_ECORRUPT, "segment %s: its header changed while it was read", name);
        shm_segment_unmap(s);
        return rc;
    }
    if (reg == SHM_REG_NONE || s->kind == SHM_KIND_STATS)
        return 0;
    rc = shm__registry_map(s, reg == SHM_REG_WRITE);
    if (rc < 0 && reg == SHM_REG_OBSERVE)
        rc = 0; /* an observer shows the ring without its readers */
    if (rc < 0)
        shm_segment_unmap(s);
    return rc;
}

int shm_segment_map(shm_segment_t *s, const char *name, bool writable)
{
    return shm__segment_map(s, name, writable, writable ? SHM_REG_WRITE : SHM_REG_OBSERVE);
}

/* ---- registries --------------------------------------------------------------- */

/* Splits "/<prefix>.<instance>.<ring>" into its instance part
 * "<prefix>.<instance>" and its ring. False when name is not of that form. */
static bool split_name(const char *name, char *inst, size_t isize, const char **ring)
{
    const char *dot1 = name[0] == '/' ? strchr(name + 1, '.') : NULL;
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || dot2[1] == '\0' || (size_t)(dot2 - name - 1) >= isize)
        return false;
    memcpy(inst, name + 1, (size_t)(dot2 - name - 1));
    inst[dot2 - name - 1] = '\0';
    *ring = dot2 + 1;
    return true;
}

/* The registry directory's suffix for a ring kind. */
static const char *registry_kind(shm_kind_t kind)
{
    return kind == SHM_KIND_SPSC ? "spsc" : "bcast";
}

int shm_registry_dir(const char *prefix, const char *instance, shm_kind_t kind, char *out, size_t size)
{
    int n = snprintf(out, size, "/dev/shm/%s.%s@%s", prefix ? prefix : SHM_DEFAULT_PREFIX,
                     instance ? instance : SHM_DEFAULT_INSTANCE, registry_kind(kind));
    return n < 0 || (size_t)n >= size ? se_err(-ENAMETOOLONG, "registry directory name too long") : 0;
}

/* The registry directory and file of segment s. */
static int registry_paths(const shm_segment_t *s, char *dir, size_t dsize, char *file, size_t fsize)
{
    char inst[SHM_NAME_MAX];
    const char *ring;
    if (!split_name(s->name, inst, sizeof inst, &ring))
        return se_err(-EINVAL, "segment %s: not a ring name", s->name);
    int n = snprintf(dir, dsize, "/dev/shm/%s@%s", inst, registry_kind(s->kind));
    int m = n < 0 || (size_t)n >= dsize ? -1 : snprintf(file, fsize, "%s/%s", dir, ring);
    return m < 0 || (size_t)m >= fsize ? se_err(-ENAMETOOLONG, "segment %s: registry path too long", s->name) : 0;
}

/* Checks owner and mode of an open registry file or directory like a segment's. */
static int check_owner_path(int fd, const char *path)
{
    /* shm_segment_check_owner names a segment by its /dev/shm-relative name. */
    return shm_segment_check_owner(fd, path + strlen("/dev/shm"));
}

/* Opens the registry directory for kind, creating it (0700, or 02770 for the
 * engine's group) when missing; refuses one that is not ours. */
static int open_registry_dir(const char *dir, const shm_perm_t *perm, bool create)
{
    bool group = perm && perm->use_group;
    /* With a group, several users make registries there: sticky, so each
     * replaces and removes only its own. mkdir's mode is cut by the umask. */
    int made = create ? mkdir(dir, group ? 03770 : 0700) : -1;
    if (create && made < 0 && errno != EEXIST)
        return se_err(-errno, "cannot create registry directory %s: %s", dir, strerror(errno));
    if (made == 0 && group && (chown(dir, (uid_t)-1, perm->gid) < 0 || chmod(dir, 03770) < 0))
        return se_err(-errno, "registry directory %s: cannot give it to group %u: %s", dir,
                      (unsigned)perm->gid, strerror(errno));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ENOENT
                               : se_err(errno == ELOOP || errno == ENOTDIR ? SE_EFOREIGN : -errno,
                                        "registry directory %s: %s", dir, strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    bool group_ok = trusted_group(st.st_gid) || (perm && perm->use_group && st.st_gid == perm->gid);
    if (rc == 0 && (!trusted_user(st.st_uid) || (st.st_mode & 0007) || ((st.st_mode & 0070) && !group_ok)) &&
        !trust.any_owner)
        rc = se_err(SE_EFOREIGN, "registry directory %s is owned by uid %u, mode %04o: not the engine's; left "
                    "untouched, remove it if it is not needed", dir, (unsigned)st.st_uid,
                    (unsigned)(st.st_mode & 07777));
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int shm__registry_map(shm_segment_t *s, bool writable)
{
    char dir[SHM_NAME_MAX + 32], file[2 * SHM_NAME_MAX + 32];
    int rc = registry_paths(s, dir, sizeof dir, file, sizeof file);
    if (rc < 0)
        return rc;
    int dfd = open_registry_dir(dir, NULL, false);
    if (dfd < 0)
        return dfd == -ENOENT ? se_err(SE_ENOTREADY, "ring %s: its registry is not there yet", s->name) : dfd;
    int fd = openat(dfd, strrchr(file, '/') + 1, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0)
        return e == ENOENT ? se_err(SE_ENOTREADY, "ring %s: its registry %s is not there yet", s->name, file)
                           : se_err(e == ELOOP ? SE_EFOREIGN : -e, "ring %s: registry %s: %s", s->name, file,
                                    strerror(e));
    struct stat st;
    rc = check_owner_path(fd, file);
    if (rc == 0 && fstat(fd, &st) < 0)
        rc = -errno;
    if (rc == 0 && (size_t)st.st_size != sizeof(shm_registry_t))
        rc = se_err(st.st_size == 0 ? SE_ENOTREADY : SE_ECORRUPT, "ring %s: registry %s is %lld bytes, "
                    "expected %zu", s->name, file, (long long)st.st_size, sizeof(shm_registry_t));
    shm_registry_t *reg = MAP_FAILED;
    if (rc == 0 && (reg = mmap(NULL, sizeof *reg, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd,
                               0)) == MAP_FAILED)
        rc = se_err(-errno, "ring %s: mmap registry: %s", s->name, strerror(errno));
    if (rc == 0) {
        /* Pairs with the creator's release store of magic. */
        uint64_t magic = shm__load_acquire(&reg->magic);
        if (magic != SHM_REGISTRY_MAGIC || reg->layout_version != SHM_LAYOUT_VERSION ||
            reg->max_readers != SHM_MAX_READERS)
            rc = se_err(magic == 0 ? SE_ENOTREADY : SE_ECORRUPT, "ring %s: registry %s is not a registry of "
                        "this layout (magic 0x%016llx, version %u, %u slots)", s->name, file,
                        (unsigned long long)magic, reg->layout_version, reg->max_readers);
        else if (reg->pair != s->hdr->pair)
            rc = se_err(SE_ENOTREADY, "ring %s: registry %s belongs to an earlier segment", s->name, file);
    }
    if (rc < 0) {
        if (reg != MAP_FAILED)
            munmap(reg, sizeof *reg);
        close(fd);
        return rc;
    }
    s->reg = reg;
    s->reg_fd = fd;
    return 0;
}

static int registry_create_once(shm_segment_t *s, const shm_perm_t *perm);

int shm__registry_create(shm_segment_t *s, const shm_perm_t *perm)
{
    /* Another ring's writer may remove the directory as we enter it (its
     * last registry went): make it again. */
    int rc = -ENOENT;
    for (int attempt = 0; attempt < 5 && rc == -ENOENT; attempt++)
        rc = registry_create_once(s, perm);
    return rc;
}

static int registry_create_once(shm_segment_t *s, const shm_perm_t *perm)
{
    char dir[SHM_NAME_MAX + 32], file[2 * SHM_NAME_MAX + 32], temp[2 * SHM_NAME_MAX + 48];
    int rc = registry_paths(s, dir, sizeof dir, file, sizeof file);
    if (rc < 0)
        return rc;
    int dfd = open_registry_dir(dir, perm, true);
    if (dfd < 0)
        return dfd;
    bool group = perm && (perm->use_group || perm->use_reg_gid);
    gid_t gid = perm && perm->use_reg_gid ? perm->reg_gid : perm ? perm->gid : 0;
    int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        rc = errno == ENOENT ? -ENOENT
                             : se_err(-errno, "ring %s: cannot create its registry in %s: %s", s->name, dir,
                                      strerror(errno));
    if (rc == 0 && ((group && fchown(fd, (uid_t)-1, gid) < 0) || fchmod(fd, group ? 0660 : 0600) < 0))
        rc = se_err(-errno, "ring %s: registry mode: %s", s->name, strerror(errno));
    int e = rc == 0 ? posix_fallocate(fd, 0, sizeof(shm_registry_t)) : 0;
    if (e)
        rc = se_err(-e, "ring %s: cannot reserve its registry in %s: %s", s->name, dir, strerror(e));
    shm_registry_t *reg = MAP_FAILED;
    if (rc == 0 && (reg = mmap(NULL, sizeof *reg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        rc = se_err(-errno, "ring %s: mmap registry: %s", s->name, strerror(errno));
    if (rc == 0) {
        reg->layout_version = SHM_LAYOUT_VERSION;
        reg->max_readers = SHM_MAX_READERS;
        reg->pair = s->hdr->pair;
        /* Pairs with the acquire load of magic in shm__registry_map. */
        shm__store_release(&reg->magic, SHM_REGISTRY_MAGIC);
        /* Whole, then linked under a temporary name and renamed over the old
         * one: a reader finds the old registry or the new, never none or half.
         * Only the holder of the segment's writer claim does this. */
        snprintf(temp, sizeof temp, "%s/.%s.new", dir, strrchr(file, '/') + 1);
        unlink(temp);
        if ((rc = shm__link_tmpfile(fd, temp)) == 0 && rename(temp, file) < 0)
            rc = errno == ENOENT ? -ENOENT
                                 : se_err(-errno, "ring %s: cannot put its registry in place: %s", s->name,
                                          strerror(errno));
        if (rc < 0)
            unlink(temp);
    }
    close(dfd);
    if (rc < 0) {
        if (reg != MAP_FAILED)
            munmap(reg, sizeof *reg);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    s->reg = reg;
    s->reg_fd = fd;
    return 0;
}

void shm__registry_unlink(const shm_segment_t *s)
{
    char dir[SHM_NAME_MAX + 32], file[2 * SHM_NAME_MAX + 32];
    struct stat a, b;
    if (!s->reg || registry_paths(s, dir, sizeof dir, file, sizeof file) < 0)
        return;
    if (fstat(s->reg_fd, &a) == 0 && lstat(file, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        unlink(file);
    /* The directory stays: a confined strategy may only write beneath the
     * one it was given at start (shm_registry_dirs_remove, at the end). */
}

void shm_registry_dirs_remove(const char *prefix, const char *instance)
{
    static const shm_kind_t kinds[] = { SHM_KIND_BROADCAST, SHM_KIND_SPSC };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char dir[SHM_NAME_MAX + 32];
        if (shm_registry_dir(prefix, instance, kinds[i], dir, sizeof dir) == 0)
            rmdir(dir); /* ENOTEMPTY while a ring still has a registry: kept */
    }
}

int shm_registry_dir_make(const char *prefix, const char *instance, shm_kind_t kind, const shm_perm_t *perm,
                          char *dir, size_t size)
{
    int rc = shm_registry_dir(prefix, instance, kind, dir, size);
    if (rc == 0 && (rc = open_registry_dir(dir, perm, true)) >= 0) {
        close(rc);
        rc = 0;
    }
    return rc;
}

int shm__link_tmpfile(int fd, const char *path)
{
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    /* Without /proc (or with it closed to a process that changed its uid),
     * AT_EMPTY_PATH does the same; it needs CAP_DAC_READ_SEARCH. */
    if ((errno == ENOENT || errno == EACCES) && linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
        return 0;
    return errno == EEXIST ? -EEXIST : se_err(-errno, "cannot link a new file as %s: %s", path, strerror(errno));
}

static int lock_op(int fd, int cmd, short type, off_t at, struct flock *l)
{
    memset(l, 0, sizeof *l);
    l->l_type = type;
    l->l_whence = SEEK_SET;
    l->l_start = at;
    l->l_len = 8;
    return fcntl(fd, cmd, l);
}

static int claim(int fd, off_t at, const char *name)
{
    struct flock l;
    if (lock_op(fd, F_OFD_SETLK, F_WRLCK, at, &l) == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES)
        return -EBUSY;
    return se_err(-errno, "segment %s: cannot lock byte %lld: %s", name, (long long)at, strerror(errno));
}

/* True when an open file other than fd's holds a lock on [at, at+8). An
 * error (no locks on this file system?) counts as held: never take over a
 * segment we cannot prove is free. */
static bool held_elsewhere(int fd, off_t at)
{
    struct flock l;
    if (lock_op(fd, F_OFD_GETLK, F_WRLCK, at, &l) < 0)
        return true;
    return l.l_type != F_UNLCK;
}

int shm_claim_writer(const shm_segment_t *s)
{
    return claim(s->fd, SHM_CLAIM_WRITER, s->name);
}

int shm_claim_reader(const shm_segment_t *s, int i)
{
    return claim(s->reg_fd, SHM_CLAIM_READER(i), s->name);
}

bool shm_segment_writer_alive(const shm_segment_t *s)
{
    return held_elsewhere(s->fd, SHM_CLAIM_WRITER);
}

bool shm_segment_reader_alive(const shm_segment_t *s, int i)
{
    return s->reg && held_elsewhere(s->reg_fd, SHM_CLAIM_READER(i));
}

/* True while `name` still names the file open as fd. */
bool shm__still_named(int fd, const char *name)
{
    char path[SHM_NAME_MAX + 16];
    struct stat a, b;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool shm__unlink_claimed(int fd, const char *name)
{
    return shm__still_named(fd, name) && shm_unlink(name) == 0;
}

int shm_segment_remove(const char *name)
{
    int fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return errno == ELOOP ? se_err(SE_EFOREIGN, "segment /dev/shm%s is a symbolic link: left untouched", name)
                              : se_err(-errno, "segment %s: %s", name, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = se_err(-errno, "segment %s: fstat: %s", name, strerror(errno));
    else if (!S_ISREG(st.st_mode) || !trusted_user(st.st_uid))
        rc = se_err(SE_EFOREIGN, "segment /dev/shm%s belongs to user %u, not to us (%u): left untouched", name,
                    (unsigned)st.st_uid, (unsigned)geteuid());
    if (rc == 0 && (rc = claim(fd, SHM_CLAIM_WRITER, name)) == -EBUSY)
        rc = se_err(-EBUSY, "segment %s: its writer is alive", name);
    if (rc == 0 && shm__still_named(fd, name)) {
        /* A valid ring: its readers are told, and its registry goes first. */
        shm_segment_t seg;
        if (shm__segment_map(&seg, name, true, SHM_REG_NONE) == 0) {
            if (seg.kind != SHM_KIND_STATS)
                shm__registry_map(&seg, true); /* none, or another's: only the segment goes */
            shm__retire(&seg);
            shm__registry_unlink(&seg);
            shm_segment_unmap(&seg);
        }
        if (!shm__unlink_claimed(fd, name) && errno != ENOENT)
            rc = se_err(-errno, "segment %s: cannot remove: %s", name, strerror(errno));
    }
    close(fd);
    return rc;
}

void shm__retire(const shm_segment_t *s)
{
    shm__store_release(&s->hdr->retired, 1);
    if (!s->reg)
        return;
    /* Pairs with the acquire load of wake_seq in shm_wait: a woken reader sees retired. */
    atomic_fetch_add_explicit(&s->reg->wake_seq, 1, memory_order_release);
    shm__futex_wake_all(&s->reg->wake_seq);
}

int shm_segment_writer_of(const char *name, uint64_t *owner, bool *alive)
{
    int fd = shm_open(name, O_RDONLY | O_NOFOLLOW, 0);
    if (fd < 0)
        return se_err(-errno, "segment %s: %s", name, strerror(errno));
    unsigned char buf[offsetof(shm_header_t, writer) + 8];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    if (n < (ssize_t)sizeof buf) {
        close(fd);
        return se_err(SE_ECORRUPT, "segment %s: too small to hold a writer", name);
    }
    memcpy(owner, buf + offsetof(shm_header_t, writer), sizeof *owner);
    if (alive) {
        uint32_t version;
        memcpy(&version, buf + offsetof(shm_header_t, layout_version), sizeof version);
        /* Writers of this version claim with a lock; older builds only wrote their pid. */
        *alive = version == SHM_LAYOUT_VERSION ? held_elsewhere(fd, SHM_CLAIM_WRITER) : shm_owner_alive(*owner);
    }
    close(fd);
    return 0;
}

void shm_segment_unmap(shm_segment_t *s)
{
    if (s->reg) {
        munmap(s->reg, sizeof *s->reg);
        close(s->reg_fd);
    }
    if (s->hdr) {
        munmap(s->hdr, s->size);
        close(s->fd);
    }
    s->hdr = NULL;
    s->reg = NULL;
    s->size = 0;
    s->fd = s->reg_fd = -1;
}

/* Reads the state (field 3) and start time (field 22) of pid from /proc.
 * Returns false when the process does not exist or /proc cannot be read. */
static bool read_proc_stat(pid_t pid, char *state, uint64_t *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: count fields
     * from the last ')'. The state follows it; start time is 19 fields later. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return false;
    *state = p[2];
    p += 2;
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return false;
    }
    *start = strtoull(p + 1, NULL, 10);
    return true;
}

uint64_t shm_pid_start(pid_t pid)
{
    char state;
    uint64_t start;
    return read_proc_stat(pid, &state, &start) ? start : 0;
}

bool shm_pid_alive(uint32_t pid, uint32_t start)
{
    if (pid == 0 || pid > (uint32_t)INT32_MAX)
        return false;
    if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
        return false;
    char state;
    uint64_t now;
    if (!read_proc_stat((pid_t)pid, &state, &now))
        return true; /* exists, but /proc hides it (another pid namespace): assume alive */
    if (state == 'Z' || state == 'X')
        return false; /* exited, not yet reaped by its parent */
    return start == 0 || (uint32_t)now == start;
}

bool shm_owner_alive(uint64_t owner)
{
    return owner != 0 && shm_pid_alive(SHM_OWNER_PID(owner), SHM_OWNER_START(owner));
}

uint64_t shm_owner_self(void)
{
    pid_t me = getpid();
    return SHM_OWNER((uint32_t)me, shm_pid_start(me));
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int shm_segment_list(const char *prefix, const char *instance,
                     void (*fn)(const char *name, const char *ring, void *arg), void *arg)
{
    char lead[80];
    snprintf(lead, sizeof lead, "%s.%s.", prefix ? prefix : SHM_DEFAULT_PREFIX,
             instance ? instance : SHM_DEFAULT_INSTANCE);
    size_t lead_len = strlen(lead);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return se_err(-errno, "cannot list /dev/shm: %s", strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, lead, lead_len) != 0 || e->d_name[lead_len] == '\0')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                rc = -ENOMEM;
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0) {
        if (n > 1)
            qsort(names, n, sizeof *names, cmp_names);
        for (size_t i = 0; i < n; i++) {
            char full[SHM_NAME_MAX];
            snprintf(full, sizeof full, "/%s", names[i]);
            fn(full, names[i] + lead_len, arg);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}
