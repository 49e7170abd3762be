/* lock.c - one run per directory: an exclusive flock on DIR/.lock, held
 * until the process ends (the kernel drops it even after SIGKILL). */
#include "lock.h"
#include "opts.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int dir_lock(const char *dir) {
    char path[4096], owner[32] = "";
    if (snprintf(path, sizeof path, "%s/.lock", dir) >= (int)sizeof path) {
        fprintf(stderr, "%s: the path '%s' is too long\n", cli_prog, dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot write into '%s': %s\n", cli_prog, dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t n = pread(fd, owner, sizeof owner - 1, 0);
        owner[n > 0 ? n : 0] = '\0';
        owner[strcspn(owner, "\n")] = '\0';
        fprintf(stderr, "%s: '%s' is in use by another attndrop run%s%s%s; wait for it to end, or use another --out\n",
                cli_prog, dir, owner[0] ? " (pid " : "", owner, owner[0] ? ")" : "");
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) { /* the pid is only a courtesy */ }
    return fd;
}
