/* backend_cuda.c - the CUDA backend table (src/model/model_priv.h), in builds
 * with AD_CUDA (make CUDA=1, or CUDA_EMUL=1 with the device emulated by
 * emul.c): each entry the CUDA kernel of ad_cuda.h with every buffer replaced
 * by its device mirror, at the same offset. A failing launch is kept and
 * reported by the pass's status (report). */
#include "../model/model_priv.h"
#include "ad_cuda.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>

typedef struct {
    float *params;                    /* (4, n_params): params, grads, adam_m, adam_v, as on the host */
    float *act;                       /* (act_total): the mirror of act_mem */
    int *idx, *targets;               /* (B,T) */
    double *row_loss, *part;          /* (B,T), (1024): the loss's sums */
    unsigned char *dropped;           /* (B,H,T,T): fixedcount's dropped keys, NULL for other schemes */
    int *fc_idx;                      /* (B,H,T,T): its shuffles' scratch */
    ad_status status;                 /* the first failure since the last report */
    ad_error err;
} model_gpu;

static model_gpu *gpu(const ad_model *m) { return (model_gpu *)m->dev; }

/* the device mirror of a float buffer of the model */
static float *dev(const ad_model *m, const float *h) {
    if (!h) return NULL;
    if (h >= m->params && h < m->params + 4 * m->n_params) return gpu(m)->params + (h - m->params);
    assert(h >= m->act_mem && h < m->act_mem + m->act_total);
    return gpu(m)->act + (h - m->act_mem);
}

#define GPU(m, call)                                                                                                    \
    do {                                                                                                                \
        ad_error e_ = {0};                                                                                              \
        ad_status s_ = (call);                                                                                          \
        if (s_ && !gpu(m)->status) { gpu(m)->status = s_; gpu(m)->err = e_; }                                         \
    } while (0)

static void encoder_fwd(ad_model *m, float *out, const float *wte, const float *wpe, const float *tok_mult, int B, int T,
                        int C) {
    GPU(m, ad_cuda_encoder_fwd(dev(m, out), gpu(m)->idx, dev(m, wte), dev(m, wpe), dev(m, tok_mult), B, T, C, &e_));
}

static void encoder_bwd(ad_model *m, float *dwte, float *dwpe, const float *dout, const float *tok_mult, int B, int T,
                        int C) {
    GPU(m, ad_cuda_encoder_bwd(dev(m, dwte), dev(m, dwpe), dev(m, dout), gpu(m)->idx, dev(m, tok_mult), B, T, C, &e_));
}

static void layernorm_fwd(ad_model *m, float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C) {
    GPU(m, ad_cuda_layernorm_fwd(dev(m, out), dev(m, mean), dev(m, rstd), dev(m, inp), dev(m, w), dev(m, b), N, C, 1e-5f,
                                 &e_));
}

static void layernorm_bwd(ad_model *m, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, const float *mean, const float *rstd, int N, int C) {
    GPU(m, ad_cuda_layernorm_bwd(dev(m, dinp), dev(m, dw), dev(m, db), dev(m, dout), dev(m, inp), dev(m, w), dev(m, mean),
                                 dev(m, rstd), N, C, &e_));
}

static void matmul_fwd(ad_model *m, float *out, const float *inp, const float *w, const float *bias, int N, int C,
                       int OC) {
    GPU(m, ad_cuda_matmul_fwd(dev(m, out), dev(m, inp), dev(m, w), dev(m, bias), N, C, OC, &e_));
}

static void matmul_bwd(ad_model *m, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                       const float *w, int N, int C, int OC) {
    GPU(m, ad_cuda_matmul_bwd(dev(m, dinp), dev(m, dw), dev(m, dbias), dev(m, dout), dev(m, inp), dev(m, w), N, C, OC,
                              &e_));
}

static void relu_fwd(ad_model *m, float *out, const float *inp, size_t n) {
    GPU(m, ad_cuda_relu_fwd(dev(m, out), dev(m, inp), n, &e_));
}

static void relu_bwd(ad_model *m, float *dinp, const float *dout, const float *inp, size_t n) {
    GPU(m, ad_cuda_relu_bwd(dev(m, dinp), dev(m, dout), dev(m, inp), n, &e_));
}

static void residual_dropout_fwd(ad_model *m, float *out, const float *res, const float *inp, const ad_elem_drop *d,
                                 int B, int T, int C) {
    GPU(m, ad_cuda_residual_dropout_fwd(dev(m, out), dev(m, res), dev(m, inp), d, B, T, C, &e_));
}

static void dropout_bwd(ad_model *m, float *dinp, const float *dout, const ad_elem_drop *d, int B, int T, int C) {
    GPU(m, ad_cuda_dropout_bwd(dev(m, dinp), dev(m, dout), d, B, T, C, &e_));
}

/* fixedcount's dropped keys of this layer and step, on the GPU (a row's full draw) */
static void fixedcount(ad_model *m, const ad_attn_drop *ad, int B) {
    if (ad_attn_drop_active(ad) && ad->site.scheme == AD_SCHEME_FIXEDCOUNT)
        GPU(m, ad_cuda_fixedcount(gpu(m)->dropped, gpu(m)->fc_idx, &ad->site, B, &e_));
}

static void attention_fwd(ad_model *m, float *out, float *stats, const float *qkv, unsigned char *zero_rows,
                          const ad_attn_drop *ad, int B, int T, int C, int H) {
    (void)zero_rows; /* not counted on the GPU yet: the model refuses an observer there */
    fixedcount(m, ad, B);
    GPU(m, ad_cuda_attention_fwd(dev(m, out), dev(m, stats), dev(m, qkv), ad_attn_drop_active(ad) ? &ad->site : NULL,
                                 gpu(m)->dropped, B, T, C, H, &e_));
}

static void attention_bwd(ad_model *m, float *dqkv, const float *dout, const float *qkv, const float *out,
                          const float *stats, const ad_attn_drop *ad, int B, int T, int C, int H) {
    fixedcount(m, ad, B);
    GPU(m, ad_cuda_attention_bwd(dev(m, dqkv), dev(m, dout), dev(m, qkv), dev(m, out), dev(m, stats),
                                 ad_attn_drop_active(ad) ? &ad->site : NULL, gpu(m)->dropped, B, T, C, H, &e_));
}

static double crossentropy_fwd(ad_model *m, float *probs, const float *logits, int N, int V) {
    double l = NAN;
    GPU(m, ad_cuda_crossentropy_fwd(dev(m, probs), &l, gpu(m)->row_loss, gpu(m)->part, dev(m, logits), gpu(m)->targets,
                                    N, V, &e_));
    return l;
}

static void crossentropy_bwd(ad_model *m, float *dlogits, const float *probs, int N, int V) {
    GPU(m, ad_cuda_crossentropy_bwd(dev(m, dlogits), dev(m, probs), gpu(m)->targets, N, V, &e_));
}

static void zero(ad_model *m, float *p, size_t n) { GPU(m, ad_cuda_zero(dev(m, p), n * sizeof(float), &e_)); }

static void adamw(ad_model *m, const ad_adamw_step_k *k) {
    GPU(m, ad_cuda_adamw(dev(m, m->params), dev(m, m->grads), dev(m, m->adam_m), dev(m, m->adam_v), m->n_params, k, &e_));
}

static void upload_batch(ad_model *m, int BT, int has_targets) {
    GPU(m, ad_cuda_upload(gpu(m)->idx, m->idx, (size_t)BT * sizeof(int), &e_));
    if (has_targets) GPU(m, ad_cuda_upload(gpu(m)->targets, m->targets, (size_t)BT * sizeof(int), &e_));
    if (m->tok_active) GPU(m, ad_cuda_upload(dev(m, m->tok_mult), m->tok_mult, (size_t)BT * sizeof(float), &e_));
}

static ad_status report(ad_model *m, ad_error *err) {
    ad_status s = gpu(m)->status;
    if (s && err) *err = gpu(m)->err;
    gpu(m)->status = AD_OK;
    return s;
}

static ad_status sync(ad_model *m, ad_error *err) {
    ad_status s = report(m, err);
    if (!s) s = ad_cuda_download(m->params, gpu(m)->params, 4 * m->n_params * sizeof(float), err);
    /* logits and probs are adjacent in act_mem: the last forward's, for its readers */
    size_t n = (size_t)m->last_B * m->last_T * m->cfg.vocab_size;
    if (!s && n) s = ad_cuda_download(m->logits, dev(m, m->logits), n * sizeof(float), err);
    if (!s && n) s = ad_cuda_download(m->probs, dev(m, m->probs), n * sizeof(float), err);
    return s;
}

static ad_status grads_home(ad_model *m, ad_error *err) {
    ad_status s = report(m, err);
    return s ? s : ad_cuda_download(m->grads, dev(m, m->grads), m->n_params * sizeof(float), err);
}

static void release(ad_model *m) {
    model_gpu *g = gpu(m);
    if (!g) return;
    ad_cuda_free(g->params);
    ad_cuda_free(g->act);
    ad_cuda_free(g->idx);
    ad_cuda_free(g->targets);
    ad_cuda_free(g->row_loss);
    ad_cuda_free(g->part);
    ad_cuda_free(g->dropped);
    ad_cuda_free(g->fc_idx);
    free(g);
    m->dev = NULL;
}

static const ad_backend cuda_backend = AD_BACKEND_TABLE(AD_DEVICE_CUDA);

ad_status ad_backend_cuda_attach(ad_model *m, ad_error *err) {
    const ad_config *c = &m->cfg;
    size_t BT = (size_t)m->max_batch * c->block_size, rows = BT * c->n_head * c->block_size;
    model_gpu *g = calloc(1, sizeof *g);
    if (!g) return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the model's GPU state");
    m->dev = g;
    ad_status s = ad_cuda_alloc((void **)&g->params, 4 * m->n_params * sizeof(float), err);
    if (!s) s = ad_cuda_alloc((void **)&g->act, m->act_total * sizeof(float), err);
    if (!s) s = ad_cuda_alloc((void **)&g->idx, BT * sizeof(int), err);
    if (!s) s = ad_cuda_alloc((void **)&g->targets, BT * sizeof(int), err);
    if (!s) s = ad_cuda_alloc((void **)&g->row_loss, BT * sizeof(double), err);
    if (!s) s = ad_cuda_alloc((void **)&g->part, 1024 * sizeof(double), err);
    if (!s && c->scheme == AD_SCHEME_FIXEDCOUNT) {
        s = ad_cuda_alloc((void **)&g->dropped, rows, err);
        if (!s) s = ad_cuda_alloc((void **)&g->fc_idx, rows * sizeof(int), err);
    }
    /* parameters and the optimiser's moments go over; gradients start at zero there */
    if (!s) s = ad_cuda_upload(g->params, m->params, m->n_params * sizeof(float), err);
    if (!s) s = ad_cuda_upload(g->params + 2 * m->n_params, m->adam_m, 2 * m->n_params * sizeof(float), err);
    if (s) {
        release(m);
        return s;
    }
    m->be = &cuda_backend;
    return AD_OK;
}
