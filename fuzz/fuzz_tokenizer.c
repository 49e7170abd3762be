/* fuzz_tokenizer.c - UTF-8 decoding, gpt.py's vocabulary and the 90/10
 * split on arbitrary bytes; valid text must round-trip through the ids. */
#include "attndrop.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ad_dataset d;
    if (ad_dataset_from_text(&d, (const char *)data, size, NULL, NULL) != AD_OK) return 0;
    assert(d.n >= 1 && d.n_train <= d.n && d.vocab.size >= 1);
    for (int i = 1; i < d.vocab.size; i++) assert(d.vocab.chars[i - 1] < d.vocab.chars[i]);
    /* ids re-encode to text that decodes to the same code points */
    char *text = malloc(d.n * 4 + 1);
    size_t k = 0;
    for (size_t i = 0; i < d.n; i++) {
        assert(d.ids[i] >= 0 && d.ids[i] < d.vocab.size);
        k += (size_t)ad_utf8_put(text + k, d.vocab.chars[d.ids[i]]);
    }
    ad_dataset e;
    int ok = ad_dataset_from_text(&e, text, k, &d.vocab, NULL) == AD_OK;
    assert(ok && e.n == d.n && memcmp(e.ids, d.ids, d.n * sizeof(int)) == 0);
    ad_dataset_free(&e);
    free(text);
    ad_dataset_free(&d);
    return 0;
}
