/* fuzz_safetensors.c - the safetensors reader on arbitrary bytes: it either
 * refuses them or yields tensors whose every byte can be read. */
#include "attndrop.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ad_st_file f;
    if (ad_st_parse(&f, data, size, NULL) != AD_OK) return 0;
    for (int i = 0; i < f.n; i++) {
        const ad_st_tensor *t = &f.tensors[i];
        if (strcmp(t->dtype, "F32") != 0) continue;
        size_t n = (t->end - t->begin) / sizeof(float);
        float *buf = malloc(n ? n * sizeof(float) : 1);
        if (buf && ad_st_get_f32(&f, t->name, buf, n, NULL) == AD_OK && n) {
            volatile float sink = buf[n - 1];
            (void)sink;
        }
        free(buf);
    }
    for (int i = 0; i < f.n_meta; i++) (void)ad_st_meta(&f, f.meta_keys[i]);
    ad_st_free(&f);
    return 0;
}
