/* text.c - UTF-8 decoding, gpt.py's character vocabulary, data files and the
 * built-in synthetic text. */
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ad_status ad_utf8_decode(const char *text, size_t len, uint32_t **codepoints, size_t *n,
                         ad_error *err) {
    const unsigned char *s = (const unsigned char *)text;
    *codepoints = NULL;
    *n = 0;
    size_t cap = len ? len : 1;
    size_t bytes;
    if (!ad_mul_ok(cap, sizeof(uint32_t), &bytes))
        return ad_fail(err, AD_ERR_NOMEM, "text of %zu bytes is too large", len);
    uint32_t *out = malloc(bytes);
    if (!out) return ad_fail(err, AD_ERR_NOMEM, "cannot allocate %zu bytes for the text", bytes);
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        uint32_t cp;
        int extra;
        uint32_t min;
        if (c < 0x80) { cp = c; extra = 0; min = 0; }
        else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; extra = 1; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; extra = 2; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; extra = 3; min = 0x10000; }
        else {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (byte 0x%02x)", i, c);
        }
        if (len - i <= (size_t)extra) {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (truncated sequence)", i);
        }
        for (int e = 1; e <= extra; e++) {
            unsigned cc = s[i + e];
            if ((cc & 0xC0) != 0x80) {
                free(out);
                return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (bad continuation byte 0x%02x)", i + e, cc);
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (%s)", i,
                           cp < min ? "overlong encoding" : "not a Unicode scalar value");
        }
        if (cp == 0) {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "NUL byte at byte offset %zu: this is not a text file", i);
        }
        i += (size_t)extra + 1;
        /* Python's text mode, which gpt.py reads with, turns \r\n and \r into \n. */
        if (cp == '\r') {
            if (i < len && s[i] == '\n') i++;
            cp = '\n';
        }
        out[k++] = cp;
    }
    *codepoints = out;
    *n = k;
    return AD_OK;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

ad_status ad_vocab_build(ad_vocab *v, const uint32_t *cps, size_t n, ad_error *err) {
    v->size = 0;
    v->chars = NULL;
    if (n == 0) return ad_fail(err, AD_ERR_DATA, "the text is empty");
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the vocabulary");
    memcpy(tmp, cps, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || tmp[i] != tmp[u - 1]) tmp[u++] = tmp[i];
    uint32_t *chars = realloc(tmp, u * sizeof *chars);
    v->chars = chars ? chars : tmp;
    v->size = (int)u;
    return AD_OK;
}

void ad_vocab_free(ad_vocab *v) {
    if (!v) return;
    free(v->chars);
    v->chars = NULL;
    v->size = 0;
}

int ad_vocab_id(const ad_vocab *v, uint32_t cp) {
    int lo = 0, hi = v->size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v->chars[mid] == cp) return mid;
        if (v->chars[mid] < cp) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

ad_status ad_vocab_encode(const ad_vocab *v, const uint32_t *cps, size_t n, int *ids, ad_error *err) {
    for (size_t i = 0; i < n; i++) {
        int id = ad_vocab_id(v, cps[i]);
        if (id < 0) {
            char buf[8] = {0};
            ad_utf8_put(buf, cps[i]);
            return ad_fail(err, AD_ERR_DATA, "character U+%04X ('%s') at position %zu is not in the vocabulary",
                           (unsigned)cps[i], cps[i] >= 32 ? buf : "?", i);
        }
        ids[i] = id;
    }
    return AD_OK;
}

int ad_utf8_put(char *buf, uint32_t cp) {
    unsigned char *b = (unsigned char *)buf;
    if (cp < 0x80) { b[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { b[0] = 0xC0 | (cp >> 6); b[1] = 0x80 | (cp & 0x3F); return 2; }
    if (cp < 0x10000) {
        b[0] = 0xE0 | (cp >> 12); b[1] = 0x80 | ((cp >> 6) & 0x3F); b[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    b[0] = 0xF0 | (cp >> 18); b[1] = 0x80 | ((cp >> 12) & 0x3F);
    b[2] = 0x80 | ((cp >> 6) & 0x3F); b[3] = 0x80 | (cp & 0x3F);
    return 4;
}

ad_status ad_dataset_from_text(ad_dataset *d, const char *text, size_t len, const ad_vocab *vocab,
                               ad_error *err) {
    memset(d, 0, sizeof *d);
    if (len == 0) return ad_fail(err, AD_ERR_DATA, "the data is empty");
    uint32_t *cps;
    size_t n;
    ad_status s = ad_utf8_decode(text, len, &cps, &n, err);
    if (s) return s;
    if (vocab) {
        d->vocab.chars = malloc((size_t)vocab->size * sizeof *d->vocab.chars);
        if (!d->vocab.chars) { free(cps); return ad_fail(err, AD_ERR_NOMEM, "cannot copy the vocabulary"); }
        memcpy(d->vocab.chars, vocab->chars, (size_t)vocab->size * sizeof *d->vocab.chars);
        d->vocab.size = vocab->size;
    } else {
        s = ad_vocab_build(&d->vocab, cps, n, err);
    }
    if (s) { free(cps); return s; }
    d->ids = malloc(n * sizeof *d->ids);
    if (!d->ids) { free(cps); ad_dataset_free(d); return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the token ids"); }
    s = ad_vocab_encode(&d->vocab, cps, n, d->ids, err);
    free(cps);
    if (s) { ad_dataset_free(d); return s; }
    d->n = n;
    d->n_train = (size_t)(0.9 * (double)n);  /* gpt.py: n = int(0.9*len(data)) */
    return AD_OK;
}

ad_status ad_dataset_load(ad_dataset *d, const char *path, const ad_vocab *vocab, ad_error *err) {
    memset(d, 0, sizeof *d);
    size_t size;
    FILE *f;
    ad_status s = ad_open_regular(&f, path, AD_MAX_TEXT_BYTES, &size, err);
    if (s) return s;
    char *buf = malloc(size ? size : 1);
    if (!buf) { fclose(f); return ad_fail(err, AD_ERR_NOMEM, "cannot hold '%s' (%zu bytes) in memory", path, size); }
    size_t len = fread(buf, 1, size, f);
    int bad = ferror(f) || len != size;
    int saved = errno;
    fclose(f);
    if (bad) { free(buf); return ad_fail(err, AD_ERR_IO, "cannot read '%s': %s", path, len != size ? "it changed while being read" : strerror(saved)); }
    if (len == 0) { free(buf); return ad_fail(err, AD_ERR_DATA, "'%s' is empty", path); }
    s = ad_dataset_from_text(d, buf, len, vocab, err);
    free(buf);
    if (s) ad_error_prefix(err, path, ": ");
    return s;
}

uint64_t ad_hash_ids(uint64_t h, const int *ids, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)ids[i];
        for (int b = 0; b < 4; b++) { h ^= (v >> (8 * b)) & 0xffu; h *= 1099511628211ull; }
    }
    return h;
}

void ad_dataset_free(ad_dataset *d) {
    if (!d) return;
    ad_vocab_free(&d->vocab);
    free(d->ids);
    d->ids = NULL;
    d->n = d->n_train = 0;
}

/* The markov task's alphabet: 32 symbols. */
static const char markov_alphabet[] = "abcdefghijklmnopqrstuvwxyz .,;!\n";
#define MARKOV_K 32

/* An order-3 chain a small model can learn by stages: the log-probability of
 * the next symbol is a sum of one table per earlier position,
 *   logit(next | a, b, c) = 2.5 A[c][next] + 1.5 B[b][next] + D[a][next]
 * with A, B, D standard normal: the last symbol matters most, the two before
 * it less, so the loss falls from log 32 through bigram and trigram stages. */
static void markov_logits(const float *tab, int a, int b, int c, double *out) {
    const float *A = tab, *B = tab + MARKOV_K * MARKOV_K, *D = tab + 2 * MARKOV_K * MARKOV_K;
    for (int k = 0; k < MARKOV_K; k++)
        out[k] = 2.5 * A[c * MARKOV_K + k] + 1.5 * B[b * MARKOV_K + k] + 1.0 * D[a * MARKOV_K + k];
}

static char *markov_text(uint64_t seed, size_t n_chars) {
    size_t bytes;
    if (!ad_add_ok(n_chars, 1, &bytes)) return NULL;
    char *text = malloc(bytes);
    if (!text) return NULL;
    float tab[3 * MARKOV_K * MARKOV_K];
    ad_rng tr = ad_rng_stream(seed, AD_RNG_TASK, 0, 0, 0);
    for (int i = 0; i < 3 * MARKOV_K * MARKOV_K; i++) tab[i] = (float)ad_rng_normal(&tr, (uint64_t)i);
    ad_rng sr = ad_rng_stream(seed, AD_RNG_TASK, 1, 0, 0);
    int a = 0, b = 0, c = 0;
    double lg[MARKOV_K];
    for (size_t t = 0; t < n_chars; t++) {
        markov_logits(tab, a, b, c, lg);
        double mx = lg[0], z = 0.0;
        for (int k = 1; k < MARKOV_K; k++) if (lg[k] > mx) mx = lg[k];
        for (int k = 0; k < MARKOV_K; k++) { lg[k] = exp(lg[k] - mx); z += lg[k]; }
        double u = ad_rng_uniform(&sr, t) * z, acc = 0.0;
        int next = MARKOV_K - 1;
        for (int k = 0; k < MARKOV_K; k++) {
            acc += lg[k];
            if (u < acc) { next = k; break; }
        }
        text[t] = markov_alphabet[next];
        a = b; b = c; c = next;
    }
    text[n_chars] = '\0';
    return text;
}

static double markov_entropy(uint64_t seed) {
    enum { S = MARKOV_K * MARKOV_K * MARKOV_K };
    float tab[3 * MARKOV_K * MARKOV_K];
    ad_rng tr = ad_rng_stream(seed, AD_RNG_TASK, 0, 0, 0);
    for (int i = 0; i < 3 * MARKOV_K * MARKOV_K; i++) tab[i] = (float)ad_rng_normal(&tr, (uint64_t)i);
    double *P = malloc((size_t)S * MARKOV_K * sizeof *P), *H = malloc(S * sizeof *H);
    double *pi = malloc(S * sizeof *pi), *nx = malloc(S * sizeof *nx);
    double rate = NAN;
    if (!P || !H || !pi || !nx) goto done;
    for (int s = 0; s < S; s++) {
        int a = s / (MARKOV_K * MARKOV_K), b = (s / MARKOV_K) % MARKOV_K, c = s % MARKOV_K;
        double *p = P + (size_t)s * MARKOV_K, mx, z = 0.0, h = 0.0;
        markov_logits(tab, a, b, c, p);
        mx = p[0];
        for (int k = 1; k < MARKOV_K; k++) if (p[k] > mx) mx = p[k];
        for (int k = 0; k < MARKOV_K; k++) { p[k] = exp(p[k] - mx); z += p[k]; }
        for (int k = 0; k < MARKOV_K; k++) { p[k] /= z; if (p[k] > 0) h -= p[k] * log(p[k]); }
        H[s] = h;
        pi[s] = 1.0 / S;
    }
    /* the stationary distribution of the state (a,b,c), by power iteration */
    for (int it = 0; it < 10000; it++) {
        memset(nx, 0, S * sizeof *nx);
        for (int s = 0; s < S; s++) {
            int bc = s % (MARKOV_K * MARKOV_K);
            const double *p = P + (size_t)s * MARKOV_K;
            for (int k = 0; k < MARKOV_K; k++) nx[bc * MARKOV_K + k] += pi[s] * p[k];
        }
        double diff = 0.0;
        for (int s = 0; s < S; s++) diff += fabs(nx[s] - pi[s]);
        memcpy(pi, nx, S * sizeof *pi);
        if (diff < 1e-13) break;
    }
    rate = 0.0;
    for (int s = 0; s < S; s++) rate += pi[s] * H[s];
done:
    free(P); free(H); free(pi); free(nx);
    return rate;
}

double ad_task_markov_logprob(uint64_t seed, int a, int b, int c, int next) {
    float tab[3 * MARKOV_K * MARKOV_K];
    ad_rng tr = ad_rng_stream(seed, AD_RNG_TASK, 0, 0, 0);
    for (int i = 0; i < 3 * MARKOV_K * MARKOV_K; i++) tab[i] = (float)ad_rng_normal(&tr, (uint64_t)i);
    double lg[MARKOV_K], mx = -INFINITY, z = 0.0;
    markov_logits(tab, a, b, c, lg);
    for (int k = 0; k < MARKOV_K; k++) if (lg[k] > mx) mx = lg[k];
    for (int k = 0; k < MARKOV_K; k++) z += exp(lg[k] - mx);
    return lg[next] - mx - log(z);
}

int ad_task_markov_symbol(char ch) {
    const char *p = strchr(markov_alphabet, ch);
    return p && ch ? (int)(p - markov_alphabet) : -1;
}

/* copy: COPY_K letters of COPY_A, '|', the same letters, '\n' */
#define COPY_K 8
#define COPY_A 16
/* recall: RECALL_N pairs "key digit ", '?', a key, its digit, '\n' */
#define RECALL_N 4
#define RECALL_KEYS 26

static const char *task_names[AD_TASK_COUNT] = {"markov", "copy", "recall"};

const char *ad_task_name(ad_task t) {
    return t >= 0 && t < AD_TASK_COUNT ? task_names[t] : "?";
}

int ad_task_lookup(const char *name) {
    for (int t = 0; t < AD_TASK_COUNT; t++)
        if (strcmp(task_names[t], name) == 0) return t;
    return -1;
}

/* Writes episode e of a copy or recall text into ep; returns its length. */
static int episode(ad_task t, uint64_t seed, uint64_t e, char *ep) {
    ad_rng r = ad_rng_stream(seed, AD_RNG_TASK, t == AD_TASK_COPY ? 2u : 3u, (uint32_t)e, (uint32_t)(e >> 32) & 0xffffffu);
    int n = 0;
    if (t == AD_TASK_COPY) {
        for (int k = 0; k < COPY_K; k++) ep[n++] = (char)('a' + (int)(ad_rng_uniform(&r, (uint64_t)k) * COPY_A));
        ep[n++] = '|';
        for (int k = 0; k < COPY_K; k++) ep[n++] = ep[k];
        ep[n++] = '\n';
        return n;
    }
    /* recall: distinct keys by a partial shuffle of the alphabet */
    char keys[RECALL_KEYS], vals[RECALL_N];
    for (int k = 0; k < RECALL_KEYS; k++) keys[k] = (char)('a' + k);
    for (int k = 0; k < RECALL_N; k++) {
        int j = k + (int)(ad_rng_uniform(&r, (uint64_t)k) * (RECALL_KEYS - k));
        char tmp = keys[k]; keys[k] = keys[j]; keys[j] = tmp;
        vals[k] = (char)('0' + (int)(ad_rng_uniform(&r, (uint64_t)(RECALL_N + k)) * 10));
        ep[n++] = keys[k];
        ep[n++] = vals[k];
        ep[n++] = ' ';
    }
    int q = (int)(ad_rng_uniform(&r, 2 * RECALL_N) * RECALL_N);
    ep[n++] = '?';
    ep[n++] = keys[q];
    ep[n++] = vals[q];
    ep[n++] = '\n';
    return n;
}

char *ad_task_text(ad_task t, uint64_t seed, size_t n_chars) {
    if (t == AD_TASK_MARKOV) return markov_text(seed, n_chars);
    if (t != AD_TASK_COPY && t != AD_TASK_RECALL) return NULL;
    size_t bytes;
    if (!ad_add_ok(n_chars, 1, &bytes)) return NULL;
    char *text = malloc(bytes);
    if (!text) return NULL;
    char ep[64];
    size_t k = 0;
    for (uint64_t e = 0; k < n_chars; e++) {
        int len = episode(t, seed, e, ep);
        for (int i = 0; i < len && k < n_chars; i++) text[k++] = ep[i];
    }
    text[n_chars] = '\0';
    return text;
}

double ad_task_entropy(ad_task t, uint64_t seed) {
    switch (t) {
    case AD_TASK_MARKOV:
        return markov_entropy(seed);
    case AD_TASK_COPY: /* only the first half of an episode is random */
        return COPY_K * log((double)COPY_A) / (2 * COPY_K + 2);
    case AD_TASK_RECALL: { /* distinct keys, digits, and which key is asked; the answer is determined */
        double h = RECALL_N * log(10.0) + log((double)RECALL_N);
        for (int k = 0; k < RECALL_N; k++) h += log((double)(RECALL_KEYS - k));
        return h / (3 * RECALL_N + 4);
    }
    default:
        return NAN;
    }
}
