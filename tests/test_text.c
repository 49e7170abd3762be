/* test_text.c - UTF-8 decoding, gpt.py's vocabulary, the 90/10 split, batch
 * windows and the built-in markov text. */
#include "attndrop.h"
#include "check.h"
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

static void bad_utf8(const char *bytes, size_t len, const char *offset_text) {
    uint32_t *cps = NULL;
    size_t n;
    ad_error err = {0};
    ad_status s = ad_utf8_decode(bytes, len, &cps, &n, &err);
    CHECK(s == AD_ERR_DATA && strstr(err.msg, offset_text), "expected an error naming '%s', got %d '%s'", offset_text, s, err.msg);
    free(cps);
}

int main(void) {
    /* valid text of 1- to 4-byte characters, Python's newline translation */
    const char *txt = "b\xc3\xa9" "a\r\n\xe2\x82\xac\r\xf0\x9f\x98\x80" "a";
    uint32_t *cps;
    size_t n;
    ad_error err = {0};
    CHECK(ad_utf8_decode(txt, strlen(txt), &cps, &n, &err) == AD_OK, "%s", err.msg);
    uint32_t expect[] = {'b', 0xE9, 'a', '\n', 0x20AC, '\n', 0x1F600, 'a'};
    CHECK(n == 8 && memcmp(cps, expect, sizeof expect) == 0, "decoded %zu code points", n);
    ad_vocab v;
    CHECK(ad_vocab_build(&v, cps, n, &err) == AD_OK, "%s", err.msg);
    uint32_t sorted[] = {'\n', 'a', 'b', 0xE9, 0x20AC, 0x1F600};
    CHECK(v.size == 6 && memcmp(v.chars, sorted, sizeof sorted) == 0, "vocab of %d", v.size);
    CHECK(ad_vocab_id(&v, 0x20AC) == 4 && ad_vocab_id(&v, 'z') == -1, "ids");
    int ids[8];
    uint32_t missing[] = {'a', 'z'};
    CHECK(ad_vocab_encode(&v, missing, 2, ids, &err) == AD_ERR_DATA && strstr(err.msg, "U+007A") && strstr(err.msg, "position 1"),
          "missing character: %s", err.msg);
    char buf[8];
    for (int i = 0; i < v.size; i++) {
        int k = ad_utf8_put(buf, v.chars[i]);
        uint32_t *back;
        size_t m;
        CHECK(ad_utf8_decode(buf, (size_t)k, &back, &m, NULL) == AD_OK && m == 1 && back[0] == v.chars[i], "round trip U+%04X", v.chars[i]);
        free(back);
    }
    free(cps);
    ad_vocab_free(&v);
    ad_vocab_free(NULL);

    /* invalid UTF-8 names the byte offset */
    bad_utf8("ab\xff", 3, "offset 2");
    bad_utf8("abc\xc3", 4, "offset 3");              /* truncated */
    bad_utf8("a\xc3(", 3, "offset 2");               /* bad continuation */
    bad_utf8("\xc0\xaf", 2, "offset 0");             /* overlong */
    bad_utf8("xx\xed\xa0\x80", 5, "offset 2");       /* surrogate */
    bad_utf8("\xf4\x90\x80\x80", 4, "offset 0");     /* beyond U+10FFFF */
    bad_utf8("\x80", 1, "offset 0");                 /* lone continuation */
    bad_utf8("ab\0c", 4, "NUL byte at byte offset 2"); /* binary: no NUL can be stored in a checkpoint's vocab */

    /* dataset: gpt.py's split n = int(0.9 * len) */
    ad_dataset d;
    CHECK(ad_dataset_from_text(&d, "", 0, NULL, &err) == AD_ERR_DATA, "empty text accepted");
    const char *t10 = "abcdefghij";
    CHECK(ad_dataset_from_text(&d, t10, 10, NULL, &err) == AD_OK && d.n == 10 && d.n_train == 9 && d.vocab.size == 10, "split");
    ad_dataset_free(&d);
    ad_dataset_free(NULL);
    CHECK(ad_dataset_load(&d, "/nonexistent/file.txt", NULL, &err) == AD_ERR_IO && strstr(err.msg, "/nonexistent/file.txt"),
          "missing file: %s", err.msg);

    /* batches: windows of T+1 consecutive tokens, offsets in [0, n-T) */
    int data[50];
    for (int i = 0; i < 50; i++) data[i] = i;
    int x[4 * 8], y[4 * 8], hits_last = 0, ok = 1;
    for (uint32_t s = 0; s < 200; s++) {
        MUST(ad_get_batch(data, 50, 4, 8, 1, AD_RNG_BATCH, s, 0, x, y, &must_err));
        for (int b = 0; b < 4; b++) {
            int off = x[b * 8];
            ok &= off >= 0 && off < 42;
            hits_last += off == 41;
            for (int t = 0; t < 8; t++) ok &= x[b * 8 + t] == off + t && y[b * 8 + t] == off + t + 1;
        }
    }
    /* 800 draws over 42 offsets: the last is hit with probability 1-(41/42)^800 > 1-1e-8 */
    CHECK(ok && hits_last > 0, "batch windows (last offset hit %d times)", hits_last);

    /* the markov text: deterministic, 32 symbols, entropy well below log 32 */
    char *m1 = ad_task_text(AD_TASK_MARKOV, 3, 20000), *m2 = ad_task_text(AD_TASK_MARKOV, 3, 20000),
         *m3 = ad_task_text(AD_TASK_MARKOV, 4, 20000);
    CHECK(m1 && m2 && m3 && strcmp(m1, m2) == 0 && strcmp(m1, m3) != 0, "markov text is a function of the seed");
    CHECK(ad_dataset_from_text(&d, m1, strlen(m1), NULL, &err) == AD_OK && d.vocab.size == 32, "markov vocab %d", d.vocab.size);
    ad_dataset_free(&d);
    free(m1); free(m2); free(m3);
    /* markov: the exact entropy rate against the mean -log P of a long text under the true chain
     * (the text starts in state (0,0,0): skip 1000 characters; sd of the mean about 0.006) */
    {
        size_t n = 300000;
        char *t = ad_task_text(AD_TASK_MARKOV, 1337, n);
        double nll = 0.0, nll2 = 0.0;
        int a = ad_task_markov_symbol(t[997]), b = ad_task_markov_symbol(t[998]), c = ad_task_markov_symbol(t[999]);
        for (size_t i = 1000; i < n; i++) {
            int x = ad_task_markov_symbol(t[i]);
            double l = -ad_task_markov_logprob(1337, a, b, c, x);
            nll += l;
            nll2 += l * l;
            a = b; b = c; c = x;
        }
        double m = nll / (n - 1000), sd = sqrt((nll2 / (n - 1000) - m * m) / (n - 1000));
        double h = ad_task_entropy(AD_TASK_MARKOV, 1337);
        printf("markov: entropy rate %.5f, direct %.5f (sd %.4f)\n", h, m, sd);
        CHECK(fabs(h - m) < 6 * sd * 3, "markov entropy %.5f vs direct %.5f", h, m); /* x3: characters are correlated */
        free(t);
    }
    /* copy: the second half of each episode is the first; an oracle's loss is the entropy rate */
    {
        char *t = ad_task_text(AD_TASK_COPY, 5, 18 * 1000);
        int ok = 1;
        double nll = 0.0;
        for (int e = 0; e < 1000; e++) {
            const char *ep = t + 18 * e;
            ok &= ep[8] == '|' && ep[17] == '\n' && memcmp(ep, ep + 9, 8) == 0;
            for (int k = 0; k < 8; k++) ok &= ep[k] >= 'a' && ep[k] < 'a' + 16;
            nll += 8 * log(16.0); /* the first half is uniform, the rest determined */
        }
        CHECK(ok, "copy: an episode's second half differs from its first");
        CHECK(fabs(nll / (18 * 1000) - ad_task_entropy(AD_TASK_COPY, 5)) < 1e-12, "copy entropy");
        free(t);
    }
    /* recall: the answer is the digit paired with the asked key; the keys of an episode are distinct */
    {
        char *t = ad_task_text(AD_TASK_RECALL, 6, 16 * 2000);
        int ok = 1, asked[4] = {0};
        for (int e = 0; e < 2000; e++) {
            const char *ep = t + 16 * e;
            ok &= ep[12] == '?' && ep[15] == '\n';
            int found = -1;
            for (int k = 0; k < 4; k++) {
                ok &= ep[3 * k + 2] == ' ' && ep[3 * k + 1] >= '0' && ep[3 * k + 1] <= '9';
                for (int j = 0; j < k; j++) ok &= ep[3 * j] != ep[3 * k];
                if (ep[3 * k] == ep[13]) found = k;
            }
            ok &= found >= 0 && ep[14] == ep[3 * found + 1];
            if (found >= 0) asked[found]++;
        }
        CHECK(ok, "recall: an answer is not the asked key's digit");
        /* which pair is asked is uniform: 2000 draws, each count within 6 sd of 500 */
        int uniform = 1;
        for (int k = 0; k < 4; k++) uniform &= fabs(asked[k] - 500.0) < 6 * sqrt(2000 * 0.25 * 0.75);
        CHECK(uniform, "recall: asked pairs %d %d %d %d", asked[0], asked[1], asked[2], asked[3]);
        double h = (log(26.0 * 25 * 24 * 23) + 4 * log(10.0) + log(4.0)) / 16;
        CHECK(fabs(h - ad_task_entropy(AD_TASK_RECALL, 6)) < 1e-12, "recall entropy");
        free(t);
    }
    CHECK(ad_task_lookup("copy") == AD_TASK_COPY && ad_task_lookup("nope") == -1, "task names");
    return check_done("text");
}
