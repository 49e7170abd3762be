/* cli.c - what the command-line tool's commands share: one-line messages and
 * exit codes from the library's statuses, and the clock. */
#include "cli.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_die_status(const ad_error *e, const char *hint) {
    fprintf(stderr, "%s: %s%s%s\n", cli_prog, e->msg, hint ? "; " : "", hint ? hint : "");
    return e->status == AD_ERR_NUMERIC ? EXIT_NUMERIC : e->status == AD_ERR_ARG ? EXIT_USAGE : EXIT_INPUT;
}

int cli_check_device(const char *cmd, const char *name, int gpu_ok, int *device) {
    int d = ad_device_lookup(name);
    if (d < 0) return cli_die_usage(cmd, "unknown device '%s' (cpu or cuda)", name);
    if (device) *device = d;
    if (d == AD_DEVICE_CPU) return 0;
    if (!gpu_ok) { /* first: no build would run this command on the GPU */
        fprintf(stderr, "%s: --device cuda: only train and study run on the GPU so far; use --device cpu (see docs/gpu.md)\n",
                cli_prog);
        return EXIT_INPUT;
    }
    ad_error err = {0};
    if (ad_device_check((ad_device)d, &err)) return cli_die_status(&err, NULL);
    return 0;
}

FILE *cli_fopen_regular(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    /* a regular file never blocks; clear O_NONBLOCK for stdio all the same */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "r");
    if (!f) close(fd);
    return f;
}

FILE *cli_fopen_write_regular(const char *path, int append) {
    /* never through a symbolic link, nor into a file with another name (a hard link): a link planted in a
     * shared directory would have the tool truncate and write its target */
    int fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : 0), 0644);
    if (fd < 0) { /* a FIFO without a reader: ENXIO; a symbolic link: ELOOP */
        if (errno == ENXIO || errno == ELOOP) errno = EINVAL;
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink > 1 || (!append && ftruncate(fd, 0) != 0)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, append ? "a" : "w");
    if (!f) close(fd);
    return f;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
