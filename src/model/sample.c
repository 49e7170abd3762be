/* sample.c - gpt.py's generate: softmax(logits/temperature), optional top-k,
 * multinomial sampling; temperature 0 is greedy. New tokens use the model's
 * KV cache until the context fills block_size. */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

ad_status ad_generate(ad_model *m, const int *ctx, int n_ctx, int max_new, const ad_sample_opts *o,
                      int *out, ad_error *err) {
    const ad_config *c = ad_model_config(m);
    int V = c->vocab_size, BS = c->block_size;
    if (n_ctx < 1) return ad_fail(err, AD_ERR_ARG, "the context must hold at least one token");
    if (max_new < 0) return ad_fail(err, AD_ERR_ARG, "max_new_tokens must be >= 0, got %d", max_new);
    if (!(o->temperature >= 0.0f) || !isfinite(o->temperature))
        return ad_fail(err, AD_ERR_ARG, "temperature must be a finite number >= 0");
    if (o->top_k < 0) return ad_fail(err, AD_ERR_ARG, "top_k must be >= 0, got %d", o->top_k);
    float *prob = malloc((size_t)V * 2 * sizeof(float));
    if (!prob) return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the sampling buffer");
    float *sorted = prob + V;
    memcpy(out, ctx, (size_t)n_ctx * sizeof(int));
    ad_rng r = ad_rng_stream(o->seed, AD_RNG_SAMPLE, 0, 0, 0);
    ad_status s = AD_OK;
    for (int step = 0; step < max_new; step++) {
        int len = n_ctx + step;
        int T = len < BS ? len : BS;
        const int *win = out + len - T;
        /* the cache holds out[0..len-1) exactly when the last call was this loop's, on a window from 0 */
        int cached = step > 0 && !o->recompute && len <= BS && ad_model_cached(m) == len - 1;
        s = cached ? ad_model_step(m, out[len - 1], err) : ad_model_forward(m, win, NULL, 1, T, 0, 0, 0, NULL, err);
        if (s) break;
        const float *logits = ad_model_logits(m) + (cached ? 0 : (size_t)(T - 1) * V);
        int next = 0;
        if (o->temperature == 0.0f) {
            for (int v = 1; v < V; v++) if (logits[v] > logits[next]) next = v;
        } else {
            float mx = -INFINITY;
            for (int v = 0; v < V; v++) { prob[v] = logits[v] / o->temperature; if (prob[v] > mx) mx = prob[v]; }
            if (!isfinite(mx)) { /* a temperature so small that logits / T overflow: the same softmax, shifted first */
                float lmax = logits[0];
                for (int v = 1; v < V; v++) if (logits[v] > lmax) lmax = logits[v];
                for (int v = 0; v < V; v++) prob[v] = (logits[v] - lmax) / o->temperature;
                mx = 0.0f;
            }
            if (o->top_k > 0 && o->top_k < V) {
                /* keep the top-k logits, as the nanoGPT sampler: values below the k-th are -inf */
                memcpy(sorted, prob, (size_t)V * sizeof(float));
                qsort(sorted, (size_t)V, sizeof(float), cmp_desc);
                float kth = sorted[o->top_k - 1];
                for (int v = 0; v < V; v++) if (prob[v] < kth) prob[v] = -INFINITY;
            }
            double sum = 0.0;
            for (int v = 0; v < V; v++) { prob[v] = expf(prob[v] - mx); sum += prob[v]; }
            double u = ad_rng_uniform(&r, (uint64_t)step) * sum, acc = 0.0;
            next = -1;
            for (int v = 0; v < V; v++) {
                acc += prob[v];
                if (prob[v] > 0.0f) next = v;
                if (u < acc && prob[v] > 0.0f) break;
            }
            if (next < 0) { s = ad_fail(err, AD_ERR_NUMERIC, "the sampling distribution is empty"); break; }
        }
        out[len] = next;
    }
    free(prob);
    return s;
}
