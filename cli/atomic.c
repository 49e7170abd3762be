/* atomic.c - files that appear whole or not at all: written to a temporary
 * file in the same directory, flushed to disk, renamed over the target, and
 * the directory synced. */
#include "atomic.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *atomic_open(atomic_file *a, const char *path) {
    memset(a, 0, sizeof *a);
    if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path ||
        snprintf(a->tmp, sizeof a->tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof a->tmp) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    a->f = fopen(a->tmp, "w");
    return a->f;
}

/* fsyncs the directory holding path, so that the rename itself survives a crash */
static int sync_dir(const char *path) {
    char buf[sizeof ((atomic_file *)0)->path];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int atomic_close(atomic_file *a) {
    if (!a->f) return -1;
    int ok = !ferror(a->f) && fflush(a->f) == 0 && fsync(fileno(a->f)) == 0;
    int saved = errno;
    ok = fclose(a->f) == 0 && ok;
    a->f = NULL;
    if (ok && rename(a->tmp, a->path) == 0) {
        sync_dir(a->path);
        return 0;
    }
    if (!saved) saved = errno;
    unlink(a->tmp);
    errno = saved ? saved : EIO;
    return -1;
}

void atomic_abort(atomic_file *a) {
    if (!a->f) return;
    fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}
