/* model_priv.h - what the model (model.c) and its backends share: the model's
 * struct and the backend table. A backend holds the kernels of a forward and
 * backward pass on one device and how the model's buffers reach it; the model
 * picks one when it is created (the CPU's, backend_cpu.c) or moved
 * (ad_model_set_device: the CUDA one, src/gpu/backend_cuda.c), and calls
 * through it without asking where it runs. Not part of the public API. */
#ifndef AD_MODEL_PRIV_H
#define AD_MODEL_PRIV_H

#include "layers.h"
#include "adamw.h"

enum { P_LN1W, P_LN1B, P_WQKV, P_WPROJ, P_BPROJ, P_LN2W, P_LN2B, P_WFC, P_BFC, P_WFC2, P_BFC2, P_NLAYER };

/* One layer's activations kept for the backward pass: 10 C floats per token
 * (and a few per row). The LayerNorm outputs are recomputed from their inputs
 * and statistics, the attention weights from q, k and the row statistics. */
typedef struct {
    float *ln1_mean, *ln1_rstd;       // (B,T) (B,T)
    float *qkv;                       // (B,T,3C)
    float *att_stats;                 // (B,H,T,2): each attention row's max and 1/sum
    float *atty;                      // (B,T,C)
    float *res1;                      // (B,T,C)
    float *ln2_mean, *ln2_rstd;       // (B,T) (B,T)
    float *fch;                       // (B,T,4C): relu(fc(ln2)), in place
    float *res2;                      // (B,T,C)
} layer_acts;

struct ad_model {
    ad_config cfg;
    int max_batch, training;
    size_t n_params;
    size_t off_wte, off_wpe, off_lnfw, off_lnfb, off_wlm, off_blm;
    size_t *off_layer;                /* (L, P_NLAYER) */
    float *params, *grads, *adam_m, *adam_v;
    int n_tensors;
    ad_tensor_info *tensors;
    float *act_mem;
    layer_acts *acts;                 /* L entries when training, 1 otherwise */
    /* Shared buffers: lnbuf holds each LayerNorm output in turn (lnf last);
     * branch (forward) and dtmp (backward) are one buffer, as are d4 (the
     * FFN's hidden gradient) and dqkv, which are never needed together. */
    float *x0, *lnbuf, *lnf, *lnf_mean, *lnf_rstd, *logits, *probs, *branch; // (B,T,C) (B,T,C) = lnbuf ...
    float *dres, *dtmp, *dln, *d4, *dqkv;  // (B,T,C) x3, (B,T,4C), (B,T,3C) in d4
    float *attn_scratch;              /* (n_scratch,AD_ATT_SCRATCH(T,hs)): per-thread attention scratch */
    float *gemm_scratch;              /* a weight transposed, or (n_scratch,128,B*T) in the backward */
    float *kv_cache;                  /* (L,T,2C) keys | values of batch row 0: inference models only */
    int kv_len;                       /* positions 0..kv_len-1 of kv_cache hold the last sequence's */
    unsigned char *zero_flags;        /* (B,H,T): rows of one layer that came out all zero */
    int probs_valid;                  /* probs holds the last forward's softmax (not yet the gradient) */
    int n_scratch;
    int *idx, *targets;               /* (B,T) copies of the last forward's inputs */
    float *tok_mult;                  /* (B,T) word/embedding dropout of the last forward */
    int tok_active;
    size_t act_total;                 /* floats of act_mem */
    const struct ad_backend *be;      /* the kernels of the model's device: &ad_backend_cpu unless moved */
    void *dev;                        /* the device backend's state (its mirrors); NULL on the CPU */
    long total_steps;                 /* for the step-decay schedule */
    int row0;                         /* the batch's first row in a batch split over processes */
    int last_B, last_T, last_train, last_has_targets;
    uint64_t last_seed, last_step;
};

/* Every buffer argument is the model's host buffer; a device backend computes
 * on its mirror at the same offset. The encoder reads the batch from m->idx,
 * the loss its targets from m->targets. A device backend keeps the first
 * failure of its launches for report(); the CPU's never fails. */
typedef struct ad_backend {
    ad_device device;
    void (*encoder_fwd)(ad_model *m, float *out, const float *wte, const float *wpe, const float *tok_mult, int B,
                        int T, int C);
    void (*encoder_bwd)(ad_model *m, float *dwte, float *dwpe, const float *dout, const float *tok_mult, int B, int T,
                        int C);
    void (*layernorm_fwd)(ad_model *m, float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int N, int C);
    void (*layernorm_bwd)(ad_model *m, float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, const float *mean, const float *rstd, int N, int C);
    void (*matmul_fwd)(ad_model *m, float *out, const float *inp, const float *w, const float *bias, int N, int C,
                       int OC);
    void (*matmul_bwd)(ad_model *m, float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                       const float *w, int N, int C, int OC);
    void (*relu_fwd)(ad_model *m, float *out, const float *inp, size_t n);
    void (*relu_bwd)(ad_model *m, float *dinp, const float *dout, const float *inp, size_t n);
    void (*residual_dropout_fwd)(ad_model *m, float *out, const float *res, const float *inp, const ad_elem_drop *d,
                                 int B, int T, int C);
    void (*dropout_bwd)(ad_model *m, float *dinp, const float *dout, const ad_elem_drop *d, int B, int T, int C);
    /* zero_rows (B,H,T) may be NULL; the backward reads the forward's output out (D_i = dout_i . out_i) */
    void (*attention_fwd)(ad_model *m, float *out, float *stats, const float *qkv, unsigned char *zero_rows,
                          const ad_attn_drop *ad, int B, int T, int C, int H);
    void (*attention_bwd)(ad_model *m, float *dqkv, const float *dout, const float *qkv, const float *out,
                          const float *stats, const ad_attn_drop *ad, int B, int T, int C, int H);
    double (*crossentropy_fwd)(ad_model *m, float *probs, const float *logits, int N, int V);
    void (*crossentropy_bwd)(ad_model *m, float *dlogits, const float *probs, int N, int V);
    void (*zero)(ad_model *m, float *p, size_t n);
    void (*adamw)(ad_model *m, const ad_adamw_step_k *k);
    /* the batch of the last forward (m->idx, m->targets, m->tok_mult), where the kernels read it */
    void (*upload_batch)(ad_model *m, int BT, int has_targets);
    /* the first failure since the last report, into err */
    ad_status (*report)(ad_model *m, ad_error *err);
    /* the host's parameters, moments, logits and probabilities brought up to date */
    ad_status (*sync)(ad_model *m, ad_error *err);
    /* the host's gradients brought up to date, after report */
    ad_status (*grads_home)(ad_model *m, ad_error *err);
    /* the backend's state freed (m->dev NULL) */
    void (*release)(ad_model *m);
} ad_backend;

/* The table of a backend whose file defines one static function per entry, named as the entry. */
#define AD_BACKEND_TABLE(dev)                                                                                          \
    {                                                                                                                  \
        .device = (dev), .encoder_fwd = encoder_fwd, .encoder_bwd = encoder_bwd, .layernorm_fwd = layernorm_fwd,      \
        .layernorm_bwd = layernorm_bwd, .matmul_fwd = matmul_fwd, .matmul_bwd = matmul_bwd, .relu_fwd = relu_fwd,     \
        .relu_bwd = relu_bwd, .residual_dropout_fwd = residual_dropout_fwd, .dropout_bwd = dropout_bwd,               \
        .attention_fwd = attention_fwd, .attention_bwd = attention_bwd, .crossentropy_fwd = crossentropy_fwd,         \
        .crossentropy_bwd = crossentropy_bwd, .zero = zero, .adamw = adamw, .upload_batch = upload_batch,             \
        .report = report, .sync = sync, .grads_home = grads_home, .release = release                                  \
    }

extern const ad_backend ad_backend_cpu; /* backend_cpu.c */
#ifdef AD_CUDA
/* m moved to the GPU: its device state made, parameters and moments uploaded,
 * m->be the CUDA backend (src/gpu/backend_cuda.c); on failure m is unchanged. */
ad_status ad_backend_cuda_attach(ad_model *m, ad_error *err);
#endif

#endif
