/* lock.c - one run per directory: an exclusive flock on DIR/.lock, held
 * until the process ends (the kernel drops it even after SIGKILL). The shards
 * of one study share the directory: each holds DIR/.lock shared (so that a
 * train, an unsharded study or --report-only, which hold it exclusively, are
 * refused while any shard runs, and a shard while they run) and its own
 * DIR/.lock-shard-K-of-N exclusively (the same shard twice is refused). Each
 * run's record is its own atomic file, so shards need nothing else. */
#include "lock.h"
#include "opts.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* DIR/name locked with op (LOCK_EX or LOCK_SH); -1 after one line. */
static int lock_file(const char *dir, const char *name, int op, const char *what) {
    char path[4096], owner[32] = "";
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "%s: the path '%s' is too long\n", cli_prog, dir);
        return -1;
    }
    /* never through a symbolic link or into a hard link: the pid written below would land in the link's target */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    struct stat sb;
    if (fd < 0 && errno == ELOOP) {
        fprintf(stderr, "%s: '%s' is a symbolic link: a lock is never followed; remove it\n", cli_prog, path);
        return -1;
    }
    if (fd < 0) {
        fprintf(stderr, "%s: cannot write into '%s': %s\n", cli_prog, dir, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink > 1) {
        fprintf(stderr, "%s: '%s' is not a regular file of its own (a FIFO, a device or a hard link); remove it\n",
                cli_prog, path);
        close(fd);
        return -1;
    }
    if (flock(fd, op | LOCK_NB) != 0) {
        ssize_t n = pread(fd, owner, sizeof owner - 1, 0);
        owner[n > 0 ? n : 0] = '\0';
        owner[strcspn(owner, "\n")] = '\0';
        fprintf(stderr, "%s: '%s' is in use by %s%s%s%s; wait for it to end, or use another --out\n", cli_prog, dir, what,
                owner[0] ? " (pid " : "", owner, owner[0] ? ")" : "");
        close(fd);
        return -1;
    }
    if (op == LOCK_EX) { /* the pid is only a courtesy: a shared lock's holders write none */
        char pid[32];
        int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) { /* nothing to do */ }
    } else if (ftruncate(fd, 0) != 0) { /* an exclusive holder's pid is stale now */ }
    return fd;
}

int dir_lock(const char *dir) { return lock_file(dir, ".lock", LOCK_EX, "another attndrop run"); }

int dir_lock_shard(const char *dir, int shard, int n_shards, int *shard_fd) {
    char name[64], what[96];
    snprintf(name, sizeof name, ".lock-shard-%d-of-%d", shard, n_shards);
    int fd = lock_file(dir, ".lock", LOCK_SH, "another attndrop run that is not a shard");
    if (fd < 0) return -1;
    snprintf(what, sizeof what, "another run of shard %d/%d", shard, n_shards);
    *shard_fd = lock_file(dir, name, LOCK_EX, what);
    if (*shard_fd < 0) {
        close(fd);
        return -1;
    }
    return fd;
}
