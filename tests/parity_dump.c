/* parity_dump.c - writes the inputs of the PyTorch parity test for one
 * attention-dropout scheme: a small model's initial weights, training batches
 * and every mask attndrop draws for them (attention multipliers or keep masks,
 * token multipliers, the proj and FFN keep masks). tests/parity.py runs
 * gpt.py's model on these and adds PyTorch's results. */
#include "attndrop.h"
#include "schemes/dropout.h"
#include "check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The multiplier of element c of position t of batch row b (C per position). */
static float elem_mult(const ad_elem_drop *d, int b, int t, int c, int C) {
    if (d->p <= 0.0f) return 1.0f;
    float m[4];
    uint64_t i = (uint64_t)t * (uint64_t)C + (uint64_t)c;
    ad_elem_mult_run(d, b, i & ~(uint64_t)3, 4, m);
    return m[i & 3];
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: parity_dump OUT.safetensors [SCHEME [STEPS [BLOCK_SIZE]]]\n");
        return 1;
    }
    int scheme = argc > 2 ? ad_scheme_lookup(argv[2]) : AD_SCHEME_STANDARD;
    int STEPS = argc > 3 ? atoi(argv[3]) : 10;
    int block = argc > 4 ? atoi(argv[4]) : 8; /* above 64, the attention's blocks are crossed */
    if (scheme < 0 || STEPS < 1 || STEPS > 100) { fprintf(stderr, "parity_dump: bad scheme or steps\n"); return 1; }
    /* attention dropout 0.4 (other sites 0.2) makes dropped weights and zero rows common */
    ad_config c = {23, block, 16, 2, 2, 0.2f, (ad_scheme)scheme, scheme == AD_SCHEME_STANDARD ? 0.2f : 0.4f, AD_SCHEDULE_CONSTANT};
    const ad_scheme_info *si = ad_scheme_get(c.scheme);
    int B = 4, T = c.block_size, C = c.n_embd, H = c.n_head, L = c.n_layer;
    uint64_t seed = 42;
    ad_error err = {0};
    ad_model *m;
    if (ad_model_create(&m, &c, B, 1, seed, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    ad_st_writer *w = ad_st_writer_new();
    char cfg[256], name[160];
    snprintf(cfg, sizeof cfg, "{\"vocab_size\":%d,\"block_size\":%d,\"n_embd\":%d,\"n_head\":%d,\"n_layer\":%d,\"dropout\":%.9g}",
             c.vocab_size, c.block_size, c.n_embd, c.n_head, c.n_layer, (double)c.dropout);
    ad_st_writer_meta(w, "config", cfg, NULL);
    ad_st_writer_meta(w, "seed", "42", NULL);
    snprintf(name, sizeof name, "%d", B);
    ad_st_writer_meta(w, "batch_size", name, NULL);
    snprintf(name, sizeof name, "%d", STEPS);
    ad_st_writer_meta(w, "steps", name, NULL);
    ad_st_writer_meta(w, "learning_rate", "0.0003", NULL);
    ad_st_writer_meta(w, "scheme", si->name, NULL);
    snprintf(name, sizeof name, "%.9g", (double)c.attn_dropout);
    ad_st_writer_meta(w, "attn_dropout", name, NULL);
    ad_st_writer_meta(w, "attn_where", si->where == AD_WHERE_PRE ? "pre" : si->where == AD_WHERE_INPUT ? "input" : "post", NULL);

    /* names are copied by the writer, data is not: keep every buffer alive */
    int nt = ad_model_num_tensors(m);
    const float *p = ad_model_params(m);
    for (int i = 0; i < nt; i++) {
        const ad_tensor_info *t = ad_model_tensor(m, i);
        int64_t shape[2] = {t->shape[0], t->shape[1]};
        snprintf(name, sizeof name, "init.%s", t->name);
        ad_st_writer_add(w, name, p + t->offset, t->ndim, shape, NULL);
    }
    /* random token ids stand in for text */
    size_t n = 400;
    int *data = malloc(n * sizeof *data);
    ad_rng r = ad_rng_stream(seed, AD_RNG_TEST, 0, 0, 0);
    for (size_t i = 0; i < n; i++) data[i] = (int)(ad_rng_u32(&r, i) % (uint32_t)c.vocab_size);
    size_t per_step = (size_t)3 * B * T + (size_t)L * H * B * T * T + (size_t)2 * L * B * T * C;
    float *buf = calloc(per_step * STEPS, sizeof *buf);
    int *x = malloc((size_t)B * T * sizeof *x), *y = malloc((size_t)B * T * sizeof *y);
    float *mult = malloc((size_t)T * sizeof *mult);
    float *q = buf;
    for (int s = 0; s < STEPS; s++) {
        MUST(ad_get_batch(data, n, B, T, seed, AD_RNG_BATCH, (uint32_t)s, 0, x, y, &must_err));
        int64_t sh2[2] = {B, T};
        snprintf(name, sizeof name, "step%d.x", s);
        for (int i = 0; i < B * T; i++) q[i] = (float)x[i];
        ad_st_writer_add(w, name, q, 2, sh2, NULL);
        q += B * T;
        snprintf(name, sizeof name, "step%d.y", s);
        for (int i = 0; i < B * T; i++) q[i] = (float)y[i];
        ad_st_writer_add(w, name, q, 2, sh2, NULL);
        q += B * T;
        if (si->where == AD_WHERE_INPUT) {
            ad_drop_site site = {c.scheme, c.attn_dropout, seed, (uint32_t)s, 0, H, T, 0, 0};
            for (int b = 0; b < B; b++) MUST(ad_input_mult(&site, b, x + b * T, T, q + b * T, NULL, &must_err));
            snprintf(name, sizeof name, "step%d.tok", s);
            ad_st_writer_add(w, name, q, 2, sh2, NULL);
            q += B * T;
        }
        for (int l = 0; l < L; l++) {
            ad_drop_site site = {c.scheme, c.attn_dropout, seed, (uint32_t)s, l, H, T, 0, 0};
            ad_attn_drop d = ad_attn_drop_make(&site);
            if (si->where != AD_WHERE_INPUT) {
                for (int h = 0; h < H; h++) {
                    /* post: the multipliers; pre: 1 kept, 0 dropped */
                    for (int b = 0; b < B; b++)
                        for (int i = 0; i < T; i++) {
                            if (si->where == AD_WHERE_PRE) ad_attn_row_keep(&d, b, h, i, mult);
                            else ad_attn_row_mult(&d, b, h, i, mult);
                            for (int j = 0; j <= i; j++) q[((size_t)b * T + i) * T + j] = mult[j];
                        }
                    int64_t sh3[3] = {B, T, T};
                    snprintf(name, sizeof name, "step%d.attn.%d.%d", s, l, h);
                    ad_st_writer_add(w, name, q, 3, sh3, NULL);
                    q += (size_t)B * T * T;
                }
            }
            static const char *kinds[2] = {"resid", "ffn"};
            ad_rng_purpose purposes[2] = {AD_RNG_RESID, AD_RNG_FFN};
            for (int k = 0; k < 2; k++) {
                ad_elem_drop e = ad_elem_drop_make(c.dropout, seed, purposes[k], (uint32_t)s, l);
                for (int b = 0; b < B; b++)
                    for (int t = 0; t < T; t++)
                        for (int cc = 0; cc < C; cc++)
                            q[((size_t)b * T + t) * C + cc] = elem_mult(&e, b, t, cc, C) > 0.0f ? 1.0f : 0.0f;
                int64_t sh3[3] = {B, T, C};
                snprintf(name, sizeof name, "step%d.%s.%d", s, kinds[k], l);
                ad_st_writer_add(w, name, q, 3, sh3, NULL);
                q += (size_t)B * T * C;
            }
        }
    }
    int rc = 0;
    if (ad_st_writer_write(w, argv[1], &err)) { fprintf(stderr, "%s\n", err.msg); rc = 1; }
    ad_st_writer_free(w);
    free(buf); free(x); free(y); free(mult); free(data);
    ad_model_free(m);
    return rc;
}
