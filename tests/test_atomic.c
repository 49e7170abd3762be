/* test_atomic.c - the one atomic-write helper every file of attndrop goes
 * through (ad_atomic_*), and the safetensors writer on top of it: a commit
 * replaces the target whole; an abort, a missing directory, a target that is
 * a directory and a full disk (a file-size limit) each leave the target as it
 * was and no temporary file behind, with one message naming the file. */
#include "attndrop.h"
#include "check.h"
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

/* the whole content of path, or "" (static buffer) */
static const char *slurp(const char *path) {
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    return buf;
}

/* files in dir whose name ends in .tmp */
static int temporaries(void) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        n += len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0;
    }
    if (d) closedir(d);
    return n;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/attndrop_atomic_XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char path[128], sub[128];
    snprintf(path, sizeof path, "%s/a.txt", dir);
    ad_atomic_file af;
    ad_error err = {0};

    /* a commit replaces the target whole; the temporary file sits beside it until then */
    CHECK(ad_atomic_open(&af, path, &err) == AD_OK && af.f, "open: %s", err.msg);
    fputs("hello\n", af.f);
    CHECK(temporaries() == 1 && access(path, F_OK) != 0, "before the commit: %d temporaries, target exists: %d",
          temporaries(), access(path, F_OK) == 0);
    CHECK(ad_atomic_commit(&af, &err) == AD_OK, "commit: %s", err.msg);
    CHECK(strcmp(slurp(path), "hello\n") == 0 && temporaries() == 0, "after the commit: '%s'", slurp(path));
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0444) == 0444, "a committed file is readable by all (mode %o)",
          (unsigned)sb.st_mode & 0777);

    /* an abort leaves the target as it was */
    CHECK(ad_atomic_open(&af, path, &err) == AD_OK, "open again: %s", err.msg);
    fputs("half a new file", af.f);
    ad_atomic_abort(&af);
    ad_atomic_abort(&af); /* twice is nothing */
    ad_atomic_abort(NULL);
    CHECK(strcmp(slurp(path), "hello\n") == 0 && temporaries() == 0, "after an abort: '%s'", slurp(path));

    /* two writers at once never share a temporary file; the last commit wins whole */
    ad_atomic_file a2;
    CHECK(ad_atomic_open(&af, path, &err) == AD_OK && ad_atomic_open(&a2, path, &err) == AD_OK &&
              strcmp(af.tmp, a2.tmp) != 0, "two writers: %s / %s", af.tmp, a2.tmp);
    fputs("first\n", af.f);
    fputs("second\n", a2.f);
    CHECK(ad_atomic_commit(&af, &err) == AD_OK && ad_atomic_commit(&a2, &err) == AD_OK, "two commits: %s", err.msg);
    CHECK(strcmp(slurp(path), "second\n") == 0 && temporaries() == 0, "two writers: '%s'", slurp(path));

    /* a missing directory: an I/O error naming the file */
    snprintf(sub, sizeof sub, "%s/missing/b.txt", dir);
    err.msg[0] = '\0';
    CHECK(ad_atomic_open(&af, sub, &err) == AD_ERR_IO && strstr(err.msg, sub) && strstr(err.msg, "No such file"),
          "missing directory: %s", err.msg);
    ad_atomic_abort(&af);

    /* a target that is a directory: the rename fails, nothing is left behind */
    snprintf(sub, sizeof sub, "%s/adir", dir);
    mkdir(sub, 0755);
    CHECK(ad_atomic_open(&af, sub, &err) == AD_OK, "open beside a directory: %s", err.msg);
    fputs("x", af.f);
    CHECK(ad_atomic_commit(&af, &err) == AD_ERR_IO && strstr(err.msg, "intact") && temporaries() == 0,
          "target is a directory: %s, %d temporaries", err.msg, temporaries());

    /* a full disk, as a file-size limit: the write fails, the target keeps its old content */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
    char big[10000];
    memset(big, 'z', sizeof big);
    CHECK(ad_atomic_open(&af, path, &err) == AD_OK, "open under a limit: %s", err.msg);
    fwrite(big, 1, sizeof big, af.f);
    CHECK(ad_atomic_commit(&af, &err) == AD_ERR_IO && strstr(err.msg, "File too large") && strstr(err.msg, path),
          "full disk: %s", err.msg);
    CHECK(strcmp(slurp(path), "second\n") == 0 && temporaries() == 0, "full disk: target '%.20s', %d temporaries",
          slurp(path), temporaries());

    /* the safetensors writer goes through the same helper */
    snprintf(sub, sizeof sub, "%s/w.safetensors", dir);
    float data[2048] = {0};
    int64_t shape[1] = {2048};
    ad_st_writer *w = ad_st_writer_new();
    CHECK(w && ad_st_writer_add(w, "x", data, 1, shape, &err) == AD_OK, "writer: %s", err.msg);
    CHECK(ad_st_writer_write(w, sub, &err) == AD_ERR_IO && strstr(err.msg, "File too large") && access(sub, F_OK) != 0 &&
              temporaries() == 0, "safetensors on a full disk: %s", err.msg);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(ad_st_writer_write(w, sub, &err) == AD_OK && access(sub, F_OK) == 0, "safetensors: %s", err.msg);
    ad_st_writer_free(w);

    unlink(sub);
    unlink(path);
    snprintf(sub, sizeof sub, "%s/adir", dir);
    rmdir(sub);
    rmdir(dir);
    return check_done("atomic");
}
