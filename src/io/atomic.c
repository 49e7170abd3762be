/* atomic.c - files that appear whole or not at all: written to a temporary
 * file in the target's directory, flushed to disk, renamed over the target,
 * and the directory synced so that the rename survives a crash too. */
#include "../core/internal.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

ad_status ad_atomic_open(ad_atomic_file *a, const char *path, ad_error *err) {
    static unsigned counter; /* with the pid: a name no other writer uses */
    memset(a, 0, sizeof *a);
    if (snprintf(a->path, sizeof a->path, "%s", path) >= (int)sizeof a->path)
        return ad_fail(err, AD_ERR_IO, "cannot write '%.200s...': the path is too long", path);
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        snprintf(a->tmp, sizeof a->tmp, "%s.%ld.%u.tmp", path, (long)getpid(), n);
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
        ad_status s = ad_fail(err, AD_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        if (fd >= 0) { close(fd); unlink(a->tmp); }
        return s;
    }
    return AD_OK;
}

static void sync_dir(const char *path) {
    char buf[sizeof ((ad_atomic_file *)0)->path];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

ad_status ad_atomic_commit(ad_atomic_file *a, ad_error *err) {
    if (!a->f) return ad_fail(err, AD_ERR_IO, "cannot write '%s': it was not opened", a->path);
    int saved = 0;
    if (ferror(a->f)) saved = errno ? errno : EIO; /* a write failed earlier: stdio left its errno */
    else if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) saved = errno ? errno : EIO;
    if (fclose(a->f) != 0 && !saved) saved = errno ? errno : EIO;
    a->f = NULL;
    int ok = !saved;
    if (ok && rename(a->tmp, a->path) == 0) {
        sync_dir(a->path);
        return AD_OK;
    }
    if (!saved) saved = errno ? errno : EIO; /* the rename */
    unlink(a->tmp);
    return ad_fail(err, AD_ERR_IO, "cannot write '%s': %s (the previous file, if any, is intact)", a->path,
                   strerror(saved));
}

void ad_atomic_abort(ad_atomic_file *a) {
    if (!a || !a->f) return;
    fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}
