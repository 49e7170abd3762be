/* fuzz_state.c - the checkpoint and training-state readers on arbitrary
 * bytes (through a memory file): they refuse them or load a usable model. */
#define _GNU_SOURCE
#include "attndrop.h"
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        ad_set_memory_limit((size_t)64 << 20); /* a valid header may ask for any size: stay small */
        ad_set_threads(1);
        init = 1;
    }
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ad_model *m = NULL;
    ad_vocab v;
    if (ad_checkpoint_load(&m, &v, path, 1, 0, NULL) == AD_OK) {
        int ctx[1] = {0}, out[3];
        ad_sample_opts o = {0.0f, 0, 1, 0};
        ad_generate(m, ctx, 1, 2, &o, out, NULL);
        ad_model_free(m);
        ad_vocab_free(&v);
    }
    ad_train_state st;
    if (ad_train_state_load(&m, &v, &st, path, 1, NULL) == AD_OK) {
        ad_model_free(m);
        ad_vocab_free(&v);
    }
    close(fd);
    return 0;
}
