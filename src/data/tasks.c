/* tasks.c - the built-in synthetic texts (markov, copy, recall), each fixed
 * by its seed, and their exact entropy rates: the floors a model's loss is
 * measured against. */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
