/* backend_cpu.c - the CPU's backend table (model_priv.h): each entry the
 * float kernel of layers.inc on the model's own buffers and scratch. */
#include "model_priv.h"
#include "../core/dispatch.h"
#include <string.h>

static void encoder_fwd(ad_model *m, float *out, const float *wte, const float *wpe, const float *tok_mult, int B, int T,
                        int C) {
    ad_k_encoder_fwd_f(out, m->idx, wte, wpe, tok_mult, B, T, C);
}

static void encoder_bwd(ad_model *m, float *dwte, float *dwpe, const float *dout, const float *tok_mult, int B, int T,
                        int C) {
    ad_k_encoder_bwd_f(dwte, dwpe, dout, m->idx, tok_mult, B, T, C);
}

static void layernorm_fwd(ad_model *m, float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C) {
    (void)m;
    ad_k_layernorm_fwd_f(out, mean, rstd, inp, w, b, N, C, 1e-5f);
}

static void layernorm_bwd(ad_model *m, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, const float *mean, const float *rstd, int N, int C) {
    (void)m;
    ad_k_layernorm_bwd_f(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
}

static void matmul_fwd(ad_model *m, float *out, const float *inp, const float *w, const float *bias, int N, int C,
                       int OC) {
    ad_k_matmul_fwd_f(out, m->gemm_scratch, inp, w, bias, N, C, OC);
}

static void matmul_bwd(ad_model *m, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                       const float *w, int N, int C, int OC) {
    ad_k_matmul_bwd_f(dinp, dw, dbias, m->gemm_scratch, dout, inp, w, N, C, OC, m->n_scratch);
}

static void relu_fwd(ad_model *m, float *out, const float *inp, size_t n) {
    (void)m;
    ad_k_relu_fwd_f(out, inp, n);
}

static void relu_bwd(ad_model *m, float *dinp, const float *dout, const float *inp, size_t n) {
    (void)m;
    ad_k_relu_bwd_f(dinp, dout, inp, n);
}

static void residual_dropout_fwd(ad_model *m, float *out, const float *res, const float *inp, const ad_elem_drop *d,
                                 int B, int T, int C) {
    (void)m;
    ad_k_residual_dropout_fwd_f(out, res, inp, d, B, T, C);
}

static void dropout_bwd(ad_model *m, float *dinp, const float *dout, const ad_elem_drop *d, int B, int T, int C) {
    (void)m;
    ad_k_dropout_bwd_f(dinp, dout, d, B, T, C);
}

static void attention_fwd(ad_model *m, float *out, float *stats, const float *qkv, unsigned char *zero_rows,
                          const ad_attn_drop *ad, int B, int T, int C, int H) {
    ad_k_attention_fwd_f(out, stats, m->attn_scratch, qkv, zero_rows, ad, B, T, C, H, m->n_scratch);
}

static void attention_bwd(ad_model *m, float *dqkv, const float *dout, const float *qkv, const float *out,
                          const float *stats, const ad_attn_drop *ad, int B, int T, int C, int H) {
    (void)out; /* the CPU's backward recomputes the weights from q, k and the row statistics */
    ad_k_attention_bwd_f(dqkv, m->attn_scratch, dout, qkv, stats, ad, B, T, C, H, m->n_scratch);
}

static double crossentropy_fwd(ad_model *m, float *probs, const float *logits, int N, int V) {
    return ad_k_crossentropy_fwd_f(probs, logits, m->targets, N, V);
}

static void crossentropy_bwd(ad_model *m, float *dlogits, const float *probs, int N, int V) {
    ad_k_crossentropy_bwd_f(dlogits, probs, m->targets, N, V);
}

static void zero(ad_model *m, float *p, size_t n) {
    (void)m;
    memset(p, 0, n * sizeof(float));
}

AD_HOT static void adamw(ad_model *m, const ad_adamw_step_k *k) {
    float *p = m->params, *g = m->grads, *mm = m->adam_m, *vv = m->adam_v;
    size_t n = m->n_params;
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) ad_adamw_update_hd(&p[i], &mm[i], &vv[i], g[i], k);
}

/* the host is where the CPU's kernels read and write: nothing to move, nothing to report */
static void upload_batch(ad_model *m, int BT, int has_targets) {
    (void)m;
    (void)BT;
    (void)has_targets;
}

/* nothing to report, bring home or free: the buffers are the host's */
static ad_status report(ad_model *m, ad_error *err) {
    (void)m;
    (void)err;
    return AD_OK;
}

static ad_status sync(ad_model *m, ad_error *err) { return report(m, err); }

static ad_status grads_home(ad_model *m, ad_error *err) { return report(m, err); }

static void release(ad_model *m) { (void)m; }

const ad_backend ad_backend_cpu = AD_BACKEND_TABLE(AD_DEVICE_CPU);
