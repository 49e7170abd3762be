/* fileio.c - opening the files the library reads: regular files only, with
 * a size limit, and never blocking (a FIFO given as data would otherwise
 * wait forever for a writer, and a device such as /dev/zero never ends). */
#include "../core/internal.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ad_status ad_open_regular(FILE **out, const char *path, size_t max_bytes, size_t *size, ad_error *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ad_fail(err, AD_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    ad_status s = AD_OK;
    int flags;
    if (fstat(fd, &st) != 0)
        s = ad_fail(err, AD_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = ad_fail(err, AD_ERR_IO, "'%s' is not a regular file (%s)", path,
                    S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a pipe" :
                    S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : S_ISSOCK(st.st_mode) ? "a socket" : "not a file");
    else if ((unsigned long long)st.st_size > (unsigned long long)max_bytes)
        s = ad_fail(err, AD_ERR_DATA, "'%s' has %lld bytes, more than the limit of %zu", path, (long long)st.st_size, max_bytes);
    else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 || !(*out = fdopen(fd, "rb")))
        s = ad_fail(err, AD_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    if (s) { close(fd); return s; }
    *size = (size_t)st.st_size;
    return AD_OK;
}
