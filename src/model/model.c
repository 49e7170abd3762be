/* model.c - gpt.py's GPTLanguageModel: parameters, activations, forward,
 * backward and AdamW. Every buffer is allocated once at creation. */
#include "model_priv.h"
#include "adamw.h"
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

ad_config ad_config_default(void) {
    ad_config c;
    c.vocab_size = 0;
    c.block_size = 256;
    c.n_embd = 384;
    c.n_head = 6;
    c.n_layer = 6;
    c.dropout = 0.2f;
    c.scheme = AD_SCHEME_STANDARD;
    c.attn_dropout = 0.2f;
    c.schedule = AD_SCHEDULE_CONSTANT;
    return c;
}


#define AD_MAX_DIM 65536

ad_status ad_config_check(const ad_config *c, ad_error *err) {
    if (c->vocab_size < 1 || c->vocab_size > 0x110000)
        return ad_fail(err, AD_ERR_ARG, "vocab_size must be in [1, 1114112], got %d", c->vocab_size);
    if (c->block_size < 1 || c->block_size > AD_MAX_BLOCK)
        return ad_fail(err, AD_ERR_ARG, "block_size must be in [1, %d], got %d", AD_MAX_BLOCK, c->block_size);
    if (c->n_embd < 1 || c->n_embd > AD_MAX_DIM)
        return ad_fail(err, AD_ERR_ARG, "n_embd must be in [1, %d], got %d", AD_MAX_DIM, c->n_embd);
    if (c->n_head < 1 || c->n_head > c->n_embd)
        return ad_fail(err, AD_ERR_ARG, "n_head must be in [1, n_embd=%d], got %d", c->n_embd, c->n_head);
    if (c->n_embd % c->n_head != 0)
        return ad_fail(err, AD_ERR_ARG, "n_embd (%d) must be divisible by n_head (%d)", c->n_embd, c->n_head);
    if (c->n_layer < 1 || c->n_layer > 1024)
        return ad_fail(err, AD_ERR_ARG, "n_layer must be in [1, 1024], got %d", c->n_layer);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return ad_fail(err, AD_ERR_ARG, "dropout must be in [0, 1), got %g", (double)c->dropout);
    if ((int)c->scheme < 0 || c->scheme >= AD_SCHEME_COUNT)
        return ad_fail(err, AD_ERR_ARG, "unknown attention-dropout scheme %d", (int)c->scheme);
    if (!(c->attn_dropout >= 0.0f && c->attn_dropout < 1.0f))
        return ad_fail(err, AD_ERR_ARG, "attn_dropout must be in [0, 1), got %g", (double)c->attn_dropout);
    if ((int)c->schedule < 0 || c->schedule >= AD_SCHEDULE_COUNT)
        return ad_fail(err, AD_ERR_ARG, "unknown dropout schedule %d", (int)c->schedule);
    return AD_OK;
}

/* Counts parameters (offsets filled when off != NULL); 0 on overflow. */
static size_t param_layout(const ad_config *c, struct ad_model *m) {
    size_t V = (size_t)c->vocab_size, T = (size_t)c->block_size, C = (size_t)c->n_embd;
    size_t L = (size_t)c->n_layer;
    /* all factors are bounded by ad_config_check, so these products fit in 64 bits */
    size_t per_layer[P_NLAYER] = {C, C, 3 * C * C, C * C, C, C, C, 4 * C * C, 4 * C, 4 * C * C, C};
    size_t n = 0;
    if (m) m->off_wte = n;
    n += V * C;
    if (m) m->off_wpe = n;
    n += T * C;
    for (size_t l = 0; l < L; l++)
        for (int k = 0; k < P_NLAYER; k++) {
            if (m) m->off_layer[l * P_NLAYER + k] = n;
            n += per_layer[k];
        }
    if (m) m->off_lnfw = n;
    n += C;
    if (m) m->off_lnfb = n;
    n += C;
    if (m) m->off_wlm = n;
    n += V * C;
    if (m) m->off_blm = n;
    n += V;
    return n;
}

/* Threads the attention kernels get scratch for: those OpenMP may use now. */
static int scratch_slots(void) {
#ifdef _OPENMP
    int n = omp_get_max_threads();
    return n < 1 ? 1 : n;
#else
    return 1;
#endif
}

/* Floats of the dense products' scratch: a weight transposed (the largest,
 * 4C x C or V x C) and, in training, each thread's transposed strip of
 * upstream gradients (AD_MATMUL_SCRATCH_ROWS x B*T); 0 on overflow, which
 * act_floats' own checks of the same products catch first. */
static size_t gemm_scratch_floats(const ad_config *c, int max_batch, int training) {
    size_t C = (size_t)c->n_embd, V = (size_t)c->vocab_size, BT, w, g = 0;
    if (!ad_mul_ok((size_t)max_batch, (size_t)c->block_size, &BT)) return 0;
    if (!ad_mul_ok(V > 4 * C ? V : 4 * C, C, &w)) return 0;
    if (training && !ad_mul_ok(BT, (size_t)AD_MATMUL_SCRATCH_ROWS * (size_t)scratch_slots(), &g)) return 0;
    return w > g ? w : g;
}

/* Floats of activations: per layer (training: L of them, else 1) and shared. */
static int act_floats(const ad_config *c, int max_batch, int training, size_t *per_layer, size_t *shared) {
    size_t B = (size_t)max_batch, T = (size_t)c->block_size, C = (size_t)c->n_embd;
    size_t H = (size_t)c->n_head, V = (size_t)c->vocab_size;
    size_t BT, BTC, BTV, BHT;
    if (!ad_mul_ok(B, T, &BT) || !ad_mul_ok(BT, C, &BTC) || !ad_mul_ok(BT, V, &BTV)) return 0;
    if (!ad_mul_ok(BT, H, &BHT)) return 0;
    size_t pl = 0, sh = 0, t;
    /* qkv atty res1 res2 = 3+1+1+1 BTC, fch 4 BTC, 4 BT LayerNorm stats, 2 BHT attention stats */
    if (!ad_mul_ok(BTC, 10, &t) || !ad_add_ok(pl, t, &pl)) return 0;
    if (!ad_add_ok(pl, 4 * BT, &pl) || !ad_mul_ok(BHT, 2, &t) || !ad_add_ok(pl, t, &pl)) return 0;
    /* x0 lnbuf branch (3 BTC), lnf stats and token multipliers 3 BT, logits probs 2 BTV */
    if (!ad_mul_ok(BTC, 3, &t) || !ad_add_ok(sh, t, &sh)) return 0;
    if (!ad_add_ok(sh, 3 * BT, &sh)) return 0;
    if (!ad_mul_ok(BTV, 2, &t) || !ad_add_ok(sh, t, &sh)) return 0;
    if (!ad_mul_ok(AD_ATT_SCRATCH(T, C / H), (size_t)scratch_slots(), &t)) return 0;
    if (t < H * T) t = H * T; /* the KV step's (H,T) weights */
    if (!ad_add_ok(sh, t, &sh)) return 0;
    if (!ad_add_ok(sh, gemm_scratch_floats(c, max_batch, training), &sh)) return 0;
    if (training) { /* dres dln 2 BTC (dtmp is branch), d4 4 BTC (dqkv is d4) */
        if (!ad_mul_ok(BTC, 6, &t) || !ad_add_ok(sh, t, &sh)) return 0;
    } else { /* the KV cache of one sequence */
        if (!ad_mul_ok(T * C * 2, (size_t)c->n_layer, &t) || !ad_add_ok(sh, t, &sh)) return 0;
    }
    *per_layer = pl;
    *shared = sh;
    return 1;
}

size_t ad_model_bytes(const ad_config *c, int max_batch, int training) {
    if (ad_config_check(c, NULL) != AD_OK || max_batch < 1) return 0;
    size_t np = param_layout(c, NULL), pl, sh, total, t;
    if (!act_floats(c, max_batch, training, &pl, &sh)) return 0;
    size_t nl = training ? (size_t)c->n_layer : 1;
    if (!ad_mul_ok(np, training ? 4 : 1, &total)) return 0;
    if (!ad_mul_ok(pl, nl, &t) || !ad_add_ok(total, t, &total) || !ad_add_ok(total, sh, &total)) return 0;
    if (!ad_mul_ok(total, sizeof(float), &total)) return 0;
    size_t ints;
    if (!ad_mul_ok((size_t)max_batch * 2, (size_t)c->block_size, &ints)) return 0;
    if (!ad_add_ok(total, ints * sizeof(int), &total)) return 0;
    return total;
}

static void build_tensor_table(struct ad_model *m) {
    const ad_config *c = &m->cfg;
    int C = c->n_embd, H = c->n_head, hs = C / H, V = c->vocab_size;
    int k = 0;
    ad_tensor_info *t = m->tensors;
#define ADD(nm, r, cols, off)                                                              \
    do {                                                                                  \
        snprintf(t[k].name, sizeof t[k].name, "%s", nm);                                  \
        t[k].ndim = (cols) > 0 ? 2 : 1;                                                   \
        t[k].shape[0] = (r);                                                              \
        t[k].shape[1] = (cols) > 0 ? (cols) : 0;                                          \
        t[k].offset = (off);                                                              \
        k++;                                                                              \
    } while (0)
    char nm[96];
    ADD("token_embedding_table.weight", V, C, m->off_wte);
    ADD("position_embedding_table.weight", c->block_size, C, m->off_wpe);
    static const char *qkv_names[3] = {"query", "key", "value"};
    for (int l = 0; l < c->n_layer; l++) {
        const size_t *o = m->off_layer + (size_t)l * P_NLAYER;
        for (int h = 0; h < H; h++)
            for (int part = 0; part < 3; part++) {
                snprintf(nm, sizeof nm, "blocks.%d.sa.heads.%d.%s.weight", l, h, qkv_names[part]);
                ADD(nm, hs, C, o[P_WQKV] + ((size_t)part * C + (size_t)h * hs) * C);
            }
        snprintf(nm, sizeof nm, "blocks.%d.sa.proj.weight", l); ADD(nm, C, C, o[P_WPROJ]);
        snprintf(nm, sizeof nm, "blocks.%d.sa.proj.bias", l); ADD(nm, C, 0, o[P_BPROJ]);
        snprintf(nm, sizeof nm, "blocks.%d.ffwd.net.0.weight", l); ADD(nm, 4 * C, C, o[P_WFC]);
        snprintf(nm, sizeof nm, "blocks.%d.ffwd.net.0.bias", l); ADD(nm, 4 * C, 0, o[P_BFC]);
        snprintf(nm, sizeof nm, "blocks.%d.ffwd.net.2.weight", l); ADD(nm, C, 4 * C, o[P_WFC2]);
        snprintf(nm, sizeof nm, "blocks.%d.ffwd.net.2.bias", l); ADD(nm, C, 0, o[P_BFC2]);
        snprintf(nm, sizeof nm, "blocks.%d.ln1.weight", l); ADD(nm, C, 0, o[P_LN1W]);
        snprintf(nm, sizeof nm, "blocks.%d.ln1.bias", l); ADD(nm, C, 0, o[P_LN1B]);
        snprintf(nm, sizeof nm, "blocks.%d.ln2.weight", l); ADD(nm, C, 0, o[P_LN2W]);
        snprintf(nm, sizeof nm, "blocks.%d.ln2.bias", l); ADD(nm, C, 0, o[P_LN2B]);
    }
    ADD("ln_f.weight", C, 0, m->off_lnfw);
    ADD("ln_f.bias", C, 0, m->off_lnfb);
    ADD("lm_head.weight", V, C, m->off_wlm);
    ADD("lm_head.bias", V, 0, m->off_blm);
#undef ADD
    m->n_tensors = k;
}

/* gpt.py's _init_weights: N(0, 0.02) for Linear and Embedding weights, zero
 * biases, LayerNorm weight 1. Each tensor draws from its own stream. */
static void init_params(struct ad_model *m, uint64_t seed) {
    float *p = m->params;
    memset(p, 0, m->n_params * sizeof *p);
    for (int i = 0; i < m->n_tensors; i++) {
        const ad_tensor_info *t = &m->tensors[i];
        size_t n = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
        float *dst = p + t->offset;
        const char *nm = t->name;
        size_t len = strlen(nm);
        int is_ln = strstr(nm, ".ln1.") || strstr(nm, ".ln2.") || strncmp(nm, "ln_f.", 5) == 0;
        int is_bias = len > 5 && strcmp(nm + len - 5, ".bias") == 0;
        if (is_ln && !is_bias) {
            for (size_t k = 0; k < n; k++) dst[k] = 1.0f;
        } else if (!is_bias) {
            ad_rng r = ad_rng_stream(seed, AD_RNG_INIT, (uint32_t)i, 0, 0);
#pragma omp parallel for
            for (size_t k = 0; k < n; k++) dst[k] = (float)(0.02 * ad_rng_normal(&r, k));
        }
    }
}

size_t ad_config_num_params(const ad_config *c) {
    return ad_config_check(c, NULL) == AD_OK ? param_layout(c, NULL) : 0;
}

ad_status ad_model_create(ad_model **out, const ad_config *cfg, int max_batch, int training,
                          uint64_t seed, ad_error *err) {
    if (!out || !cfg) return ad_fail(err, AD_ERR_ARG, "model create: out or cfg is NULL");
    *out = NULL;
    ad_status s = ad_config_check(cfg, err);
    if (s) return s;
    if (ad_get_threads() > ad_max_threads())
        return ad_fail(err, AD_ERR_ARG, "%d threads asked for (OMP_NUM_THREADS?): at most %d run on this machine (%d per core)",
                       ad_get_threads(), ad_max_threads(), AD_THREADS_PER_CORE);
    if (max_batch < 1 || max_batch > (1 << 20))
        return ad_fail(err, AD_ERR_ARG, "batch_size must be in [1, 1048576], got %d", max_batch);
    size_t bytes = ad_model_bytes(cfg, max_batch, training);
    if (bytes == 0)
        return ad_fail(err, AD_ERR_NOMEM, "the model's buffers for this configuration overflow the address space");
    /* refuse what cannot fit rather than let the kernel kill the process later */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0 && (double)bytes > (double)pages * (double)page)
        return ad_fail(err, AD_ERR_NOMEM, "the model needs %.1f GiB for this configuration but the machine has %.1f GiB",
                       (double)bytes / 1073741824.0, (double)pages * (double)page / 1073741824.0);
    size_t limit = ad_get_memory_limit();
    if (limit && bytes > limit)
        return ad_fail(err, AD_ERR_NOMEM, "the model needs %.1f MiB for this configuration, above the limit of %.1f MiB",
                       (double)bytes / 1048576.0, (double)limit / 1048576.0);
#ifndef _OPENMP
    ad_set_threads(1); /* BLAS on one thread too: its threaded sgemm's bits depend on the thread count */
#endif
    struct ad_model *m = calloc(1, sizeof *m);
    if (!m) return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the model");
    m->be = &ad_backend_cpu;
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->training = training;
    int L = cfg->n_layer;
    m->off_layer = calloc((size_t)L * P_NLAYER, sizeof *m->off_layer);
    m->tensors = calloc((size_t)L * (3 * (size_t)cfg->n_head + 10) + 6, sizeof *m->tensors);
    m->acts = calloc(training ? (size_t)L : 1, sizeof *m->acts);
    if (!m->off_layer || !m->tensors || !m->acts) goto nomem;
    m->n_params = param_layout(cfg, m);
    build_tensor_table(m);
    size_t np = m->n_params;
    m->params = calloc(training ? 4 * np : np, sizeof(float));
    if (!m->params) goto nomem;
    if (training) {
        m->grads = m->params + np;
        m->adam_m = m->params + 2 * np;
        m->adam_v = m->params + 3 * np;
    }
    size_t pl, sh;
    act_floats(cfg, max_batch, training, &pl, &sh);
    size_t nl = training ? (size_t)L : 1;
    m->act_mem = malloc((pl * nl + sh) * sizeof(float));
    m->zero_flags = malloc((size_t)max_batch * cfg->n_head * cfg->block_size);
    if (!m->zero_flags) goto nomem;
    m->idx = malloc((size_t)max_batch * cfg->block_size * sizeof(int));
    m->targets = malloc((size_t)max_batch * cfg->block_size * sizeof(int));
    if (!m->act_mem || !m->idx || !m->targets) goto nomem;
    size_t B = (size_t)max_batch, T = (size_t)cfg->block_size, C = (size_t)cfg->n_embd;
    size_t BT = B * T, BTC = BT * C, BTV = BT * (size_t)cfg->vocab_size;
    size_t BHT = BT * (size_t)cfg->n_head;
    float *a = m->act_mem;
#define TAKE(ptr, n) do { (ptr) = a; a += (n); } while (0)
    for (size_t l = 0; l < nl; l++) {
        layer_acts *la = &m->acts[l];
        TAKE(la->ln1_mean, BT); TAKE(la->ln1_rstd, BT);
        TAKE(la->qkv, 3 * BTC); TAKE(la->att_stats, 2 * BHT); TAKE(la->atty, BTC); TAKE(la->res1, BTC);
        TAKE(la->ln2_mean, BT); TAKE(la->ln2_rstd, BT);
        TAKE(la->fch, 4 * BTC); TAKE(la->res2, BTC);
    }
    TAKE(m->x0, BTC); TAKE(m->lnbuf, BTC); TAKE(m->branch, BTC);
    m->lnf = m->lnbuf;
    TAKE(m->lnf_mean, BT); TAKE(m->lnf_rstd, BT); TAKE(m->tok_mult, BT);
    TAKE(m->logits, BTV); TAKE(m->probs, BTV);
    m->n_scratch = scratch_slots();
    size_t scratch = AD_ATT_SCRATCH(T, C / (size_t)cfg->n_head) * (size_t)m->n_scratch;
    TAKE(m->attn_scratch, scratch > BHT / (size_t)B ? scratch : BHT / (size_t)B);
    TAKE(m->gemm_scratch, gemm_scratch_floats(cfg, max_batch, training));
    if (training) {
        TAKE(m->dres, BTC); TAKE(m->dln, BTC); TAKE(m->d4, 4 * BTC);
        m->dtmp = m->branch;
        m->dqkv = m->d4;
    } else {
        TAKE(m->kv_cache, T * C * 2 * (size_t)cfg->n_layer);
    }
#undef TAKE
    assert((size_t)(a - m->act_mem) == pl * nl + sh);
    /* touch every page now, in parallel, rather than inside the first steps */
    size_t total = pl * nl + sh, np_all = training ? 4 * np : np;
    m->act_total = total;
#pragma omp parallel for
    for (size_t i = 0; i < total; i += 1024) m->act_mem[i] = 0.0f;
#pragma omp parallel for
    for (size_t i = 0; i < np_all; i += 1024) m->params[i] = 0.0f;
    init_params(m, seed);
    *out = m;
    return AD_OK;
nomem:
    ad_model_free(m);
    return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the model: it needs %.1f MiB for this configuration",
                   (double)bytes / 1048576.0);
}

void ad_model_free(ad_model *m) {
    if (!m) return;
    if (m->be) m->be->release(m);
    free(m->off_layer);
    free(m->tensors);
    free(m->acts);
    free(m->params);
    free(m->act_mem);
    free(m->idx);
    free(m->targets);
    free(m->zero_flags);
    free(m);
}

const ad_config *ad_model_config(const ad_model *m) { return &m->cfg; }
size_t ad_model_num_params(const ad_model *m) { return m->n_params; }
float *ad_model_params(ad_model *m) { return m->params; }
float *ad_model_grads(ad_model *m) { return m->grads; }
float *ad_model_adam_m(ad_model *m) { return m->adam_m; }
float *ad_model_adam_v(ad_model *m) { return m->adam_v; }
int ad_model_num_tensors(const ad_model *m) { return m->n_tensors; }
const ad_tensor_info *ad_model_tensor(const ad_model *m, int i) {
    return m && i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}
const float *ad_model_logits(const ad_model *m) { return m->logits; }

void ad_model_set_total_steps(ad_model *m, long total) { m->total_steps = total; }
ad_status ad_model_set_batch_offset(ad_model *m, int row0, ad_error *err) {
    if (!m) return ad_fail(err, AD_ERR_ARG, "batch offset: the model is NULL");
    if (row0 < 0) return ad_fail(err, AD_ERR_ARG, "the batch offset row0 must be >= 0, got %d", row0);
    m->row0 = row0;
    return AD_OK;
}

float ad_model_attn_p(const ad_model *m, int layer, uint64_t step) {
    const ad_config *c = &m->cfg;
    double p = c->attn_dropout;
    if (c->schedule == AD_SCHEDULE_LAYER_DECAY && c->n_layer > 1)
        p *= (double)(c->n_layer - 1 - layer) / (double)(c->n_layer - 1);
    else if (c->schedule == AD_SCHEDULE_STEP_DECAY && m->total_steps > 0)
        p *= step >= (uint64_t)m->total_steps ? 0.0 : 1.0 - (double)step / (double)m->total_steps;
    return (float)p;
}

static ad_drop_site site_for(const ad_model *m, int layer) {
    ad_drop_site s;
    s.scheme = m->last_train ? m->cfg.scheme : AD_SCHEME_NONE;
    s.p = m->last_train ? ad_model_attn_p(m, layer, m->last_step) : 0.0f;
    s.seed = m->last_seed;
    s.step = (uint32_t)m->last_step;
    s.layer = layer;
    s.n_head = m->cfg.n_head;
    s.block_size = m->last_T;
    s.bidirectional = 0;
    s.row0 = m->row0;
    return s;
}

static ad_attn_drop attn_drop_for(const ad_model *m, int layer) {
    ad_drop_site s = site_for(m, layer);
    return ad_attn_drop_make(&s);
}

static ad_elem_drop elem_drop_for(const ad_model *m, ad_rng_purpose purpose, int layer) {
    float p = m->last_train ? m->cfg.dropout : 0.0f;
    ad_elem_drop d = ad_elem_drop_make(p, m->last_seed, purpose, (uint32_t)m->last_step, layer);
    d.base.ctr3 += (uint32_t)m->row0; /* batch row b draws the mask of row row0 + b */
    return d;
}

/* One block of gpt.py, x (B,T,C) -> a->res2. pos < 0: B whole sequences of T
 * tokens, with the step's dropout (the KV cache filled from batch row 0 when
 * the model has one and B == 1); pos >= 0: the one token at position pos of
 * the cached sequence (B = T = 1), attending to the cache. */
static void block_forward(ad_model *m, int l, layer_acts *a, const float *x, int B, int T, int pos,
                          const ad_observer *obs) {
    const ad_config *c = &m->cfg;
    int C = c->n_embd, H = c->n_head, BT = B * T;
    const float *p = m->params;
    const size_t *o = m->off_layer + (size_t)l * P_NLAYER;
    float *kv = m->kv_cache ? m->kv_cache + (size_t)l * c->block_size * 2 * C : NULL; /* (block_size,2C) */
    ad_elem_drop rd, fd; /* dropout descriptors only for a training forward: NULL is none */
    const ad_elem_drop *rdp = NULL, *fdp = NULL;
    if (m->last_train) {
        rd = elem_drop_for(m, AD_RNG_RESID, l);
        fd = elem_drop_for(m, AD_RNG_FFN, l);
        rdp = &rd;
        fdp = &fd;
    }
    m->be->layernorm_fwd(m, m->lnbuf, a->ln1_mean, a->ln1_rstd, x, p + o[P_LN1W], p + o[P_LN1B], BT, C);
    m->be->matmul_fwd(m, a->qkv, m->lnbuf, p + o[P_WQKV], NULL, BT, C, 3 * C);
    if (pos >= 0) {
        memcpy(kv + (size_t)pos * 2 * C, a->qkv + C, 2 * (size_t)C * sizeof(float));
        ad_k_attention_step_f(a->atty, m->attn_scratch, a->qkv, kv, pos + 1, C, H);
    } else {
        ad_attn_drop ad = attn_drop_for(m, l);
        int counting = ad_attn_drop_active(&ad);
        if (kv && B == 1) /* what the next ad_model_step attends to */
            for (int t = 0; t < T; t++)
                memcpy(kv + (size_t)t * 2 * C, a->qkv + (size_t)t * 3 * C + C, 2 * (size_t)C * sizeof(float));
        m->be->attention_fwd(m, a->atty, a->att_stats, a->qkv, counting ? m->zero_flags : NULL, &ad, B, T, C, H);
        if (obs && m->last_train) {
            for (int t = 0; t < T; t++) obs->rows[t] += (uint64_t)B * H;
            if (counting)
                for (int bh = 0; bh < B * H; bh++)
                    for (int t = 0; t < T; t++) obs->zero_rows[t] += m->zero_flags[(size_t)bh * T + t];
        }
    }
    m->be->matmul_fwd(m, m->branch, a->atty, p + o[P_WPROJ], p + o[P_BPROJ], BT, C, C);
    m->be->residual_dropout_fwd(m, a->res1, x, m->branch, rdp, B, T, C);
    m->be->layernorm_fwd(m, m->lnbuf, a->ln2_mean, a->ln2_rstd, a->res1, p + o[P_LN2W], p + o[P_LN2B], BT, C);
    m->be->matmul_fwd(m, a->fch, m->lnbuf, p + o[P_WFC], p + o[P_BFC], BT, C, 4 * C);
    m->be->relu_fwd(m, a->fch, a->fch, (size_t)BT * 4 * C);
    m->be->matmul_fwd(m, m->branch, a->fch, p + o[P_WFC2], p + o[P_BFC2], BT, 4 * C, C);
    m->be->residual_dropout_fwd(m, a->res2, a->res1, m->branch, fdp, B, T, C);
}

/* ln_f and lm_head over the N rows of x (N,C) into the logits (N,V). */
static void head_forward(ad_model *m, const float *x, int N) {
    const float *p = m->params;
    int C = m->cfg.n_embd;
    m->be->layernorm_fwd(m, m->lnf, m->lnf_mean, m->lnf_rstd, x, p + m->off_lnfw, p + m->off_lnfb, N, C);
    m->be->matmul_fwd(m, m->logits, m->lnf, p + m->off_wlm, p + m->off_blm, N, C, m->cfg.vocab_size);
}

ad_status ad_model_forward(ad_model *m, const int *idx, const int *targets, int B, int T, int train,
                           uint64_t seed, uint64_t step, float *loss, ad_error *err) {
    return ad_model_forward_observed(m, idx, targets, B, T, train, seed, step, loss, NULL, err);
}

ad_status ad_model_forward_observed(ad_model *m, const int *idx, const int *targets, int B, int T, int train,
                                    uint64_t seed, uint64_t step, float *loss, const ad_observer *obs, ad_error *err) {
    if (!m || !idx) return ad_fail(err, AD_ERR_ARG, "forward: the model or the ids are NULL");
    const ad_config *c = &m->cfg;
    if (B < 1 || B > m->max_batch)
        return ad_fail(err, AD_ERR_ARG, "batch size B must be in [1, %d] (the model's batch), got %d", m->max_batch, B);
    if (T < 1 || T > c->block_size)
        return ad_fail(err, AD_ERR_ARG, "sequence length T must be in [1, block_size=%d], got %d", c->block_size, T);
    if (m->row0 > INT32_MAX - (B - 1)) /* row row0 + b's masks: an int for every batch row */
        return ad_fail(err, AD_ERR_ARG, "the batch offset row0 %d plus %d batch rows is beyond %d", m->row0, B, INT32_MAX);
    int C = c->n_embd, V = c->vocab_size, L = c->n_layer;
    size_t BT = (size_t)B * T;
    for (size_t i = 0; i < BT; i++) {
        if (idx[i] < 0 || idx[i] >= V)
            return ad_fail(err, AD_ERR_ARG, "token id %d at position %zu is outside the vocabulary [0, %d)", idx[i], i, V);
        if (targets && (targets[i] < 0 || targets[i] >= V))
            return ad_fail(err, AD_ERR_ARG, "target id %d at position %zu is outside the vocabulary [0, %d)", targets[i], i, V);
    }
    if (m->be->device != AD_DEVICE_CPU && obs)
        return ad_fail(err, AD_ERR_DEVICE, "counting zero attention rows is not done on the GPU yet: use the CPU");
    memcpy(m->idx, idx, BT * sizeof(int));
    if (targets) memcpy(m->targets, targets, BT * sizeof(int));
    m->last_B = B;
    m->last_T = T;
    m->last_train = train && m->training;
    m->last_has_targets = targets != NULL;
    m->last_seed = seed;
    m->last_step = step;
    m->kv_len = m->kv_cache && B == 1 ? T : 0;
    const float *p = m->params;
    ad_drop_site in_site = site_for(m, 0);
    m->tok_active = 0;
    if (in_site.p > 0.0f)
        for (int b = 0; b < B; b++)
            m->tok_active |= ad_input_mult_k(&in_site, b, idx + (size_t)b * T, T, m->tok_mult + (size_t)b * T);
    m->be->upload_batch(m, (int)BT, targets != NULL); /* the batch's ids, targets and word dropout, where the kernels run */
    m->be->encoder_fwd(m, m->x0, p + m->off_wte, p + m->off_wpe, m->tok_active ? m->tok_mult : NULL, B, T, C);
    const float *x = m->x0;
    for (int l = 0; l < L; l++) {
        layer_acts *a = &m->acts[m->training ? l : 0];
        block_forward(m, l, a, x, B, T, -1, obs);
        x = a->res2;
    }
    head_forward(m, x, (int)BT);
    if (targets) {
        double l = m->be->crossentropy_fwd(m, m->probs, m->logits, (int)BT, V);
        ad_status st = m->be->report(m, err);
        if (st) return st;
        m->probs_valid = 1;
        if (loss) *loss = (float)l;
        if (!isfinite(l)) return ad_fail(err, AD_ERR_NUMERIC, "the loss is %g", l);
    }
    return m->be->report(m, err);
}

ad_status ad_model_backward(ad_model *m, ad_error *err) {
    if (!m) return ad_fail(err, AD_ERR_ARG, "backward: the model is NULL");
    if (!m->training) return ad_fail(err, AD_ERR_ARG, "backward needs a model created for training");
    if (!m->last_has_targets || !m->probs_valid)
        return ad_fail(err, AD_ERR_ARG, "backward needs a forward with targets since the last backward");
    const ad_config *c = &m->cfg;
    int B = m->last_B, T = m->last_T, C = c->n_embd, V = c->vocab_size, H = c->n_head, L = c->n_layer;
    int BT = B * T;
    const float *p = m->params;
    float *g = m->grads;
    float *dlogits = m->probs; /* in place */
    m->probs_valid = 0;
    m->be->crossentropy_bwd(m, dlogits, m->probs, BT, V);
    m->be->matmul_bwd(m, m->dln, g + m->off_wlm, g + m->off_blm, dlogits, m->lnf, p + m->off_wlm, BT, C, V);
    m->be->zero(m, m->dres, (size_t)BT * C);
    const float *xL = m->acts[L - 1].res2;
    m->be->layernorm_bwd(m, m->dres, g + m->off_lnfw, g + m->off_lnfb, m->dln, xL, p + m->off_lnfw, m->lnf_mean,
                    m->lnf_rstd, BT, C);
    for (int l = L - 1; l >= 0; l--) {
        layer_acts *a = &m->acts[l];
        const float *x = l > 0 ? m->acts[l - 1].res2 : m->x0;
        const size_t *o = m->off_layer + (size_t)l * P_NLAYER;
        ad_attn_drop ad = attn_drop_for(m, l);
        ad_elem_drop rd = elem_drop_for(m, AD_RNG_RESID, l), fd = elem_drop_for(m, AD_RNG_FFN, l);
        /* res2 = res1 + drop(fc2(relu(fc(ln2(res1))))) */
        m->be->dropout_bwd(m, m->dtmp, m->dres, &fd, B, T, C);
        m->be->matmul_bwd(m, m->d4, g + o[P_WFC2], g + o[P_BFC2], m->dtmp, a->fch, p + o[P_WFC2], BT, 4 * C, C);
        m->be->relu_bwd(m, m->d4, m->d4, a->fch, (size_t)BT * 4 * C); /* relu(x) > 0 exactly where x > 0 */
        m->be->layernorm_fwd(m, m->lnbuf, a->ln2_mean, a->ln2_rstd, a->res1, p + o[P_LN2W], p + o[P_LN2B], BT, C);
        m->be->matmul_bwd(m, m->dln, g + o[P_WFC], g + o[P_BFC], m->d4, m->lnbuf, p + o[P_WFC], BT, C, 4 * C);
        m->be->layernorm_bwd(m, m->dres, g + o[P_LN2W], g + o[P_LN2B], m->dln, a->res1, p + o[P_LN2W], a->ln2_mean,
                        a->ln2_rstd, BT, C);
        /* res1 = x + drop(proj(attention(ln1(x)))) */
        m->be->dropout_bwd(m, m->dtmp, m->dres, &rd, B, T, C);
        m->be->matmul_bwd(m, m->dln, g + o[P_WPROJ], g + o[P_BPROJ], m->dtmp, a->atty, p + o[P_WPROJ], BT, C, C);
        m->be->attention_bwd(m, m->dqkv, m->dln, a->qkv, a->atty, a->att_stats, &ad, B, T, C, H);
        m->be->layernorm_fwd(m, m->lnbuf, a->ln1_mean, a->ln1_rstd, x, p + o[P_LN1W], p + o[P_LN1B], BT, C);
        m->be->matmul_bwd(m, m->dln, g + o[P_WQKV], NULL, m->dqkv, m->lnbuf, p + o[P_WQKV], BT, C, 3 * C);
        m->be->layernorm_bwd(m, m->dres, g + o[P_LN1W], g + o[P_LN1B], m->dln, x, p + o[P_LN1W], a->ln1_mean,
                        a->ln1_rstd, BT, C);
    }
    m->be->zero(m, g + m->off_wte, (size_t)V * C);
    m->be->zero(m, g + m->off_wpe, (size_t)c->block_size * C);
    m->be->encoder_bwd(m, g + m->off_wte, g + m->off_wpe, m->dres, m->tok_active ? m->tok_mult : NULL, B, T, C);
    return AD_OK;
}

ad_status ad_model_position_losses(const ad_model *m, double *out, ad_error *err) {
    if (!m->probs_valid)
        return ad_fail(err, AD_ERR_ARG, "per-position losses need a forward with targets, before its backward");
    ad_status s = ad_model_sync((ad_model *)m, err);
    if (s) return s;
    int B = m->last_B, T = m->last_T, V = m->cfg.vocab_size;
    for (int t = 0; t < T; t++) {
        double sum = 0.0;
        for (int b = 0; b < B; b++) {
            size_t bt = (size_t)b * T + t;
            double p = m->probs[bt * V + m->targets[bt]];
            sum += -log(p > 1e-45 ? p : 1e-45);
        }
        out[t] = sum / B;
    }
    return AD_OK;
}

ad_status ad_model_attention_sink(const ad_model *m, double *out, ad_error *err) {
    if (!m || !out) return ad_fail(err, AD_ERR_ARG, "attention sink: the model or out is NULL");
    if (!m->training) return ad_fail(err, AD_ERR_ARG, "attention sink: needs a model created for training (it keeps every layer's queries and keys)");
    if (m->be->device != AD_DEVICE_CPU) return ad_fail(err, AD_ERR_ARG, "attention sink: the model's activations are on the %s", ad_device_name(m->be->device));
    if (m->last_B < 1 || m->last_T < 2) return ad_fail(err, AD_ERR_ARG, "attention sink: needs a forward over at least 2 positions first");
    const ad_config *c = &m->cfg;
    int B = m->last_B, T = m->last_T, C = c->n_embd, H = c->n_head, hs = C / H;
    float scale = (float)(1.0 / sqrt((double)hs));
    for (int l = 0; l < c->n_layer; l++) {
        const layer_acts *a = &m->acts[l];
        double sum = 0.0;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                const float *k0 = a->qkv + (size_t)b * T * 3 * C + C + (size_t)h * hs; /* key 0 of row b, head h */
                for (int i = 1; i < T; i++) {
                    const float *qi = a->qkv + ((size_t)b * T + i) * 3 * C + (size_t)h * hs;
                    const float *st = a->att_stats + (((size_t)b * H + h) * T + i) * 2;
                    float s = 0.0f;
                    for (int d = 0; d < hs; d++) s += qi[d] * k0[d];
                    if (st[1] > 0.0f) sum += expf(scale * s - st[0]) * st[1];
                }
            }
        out[l] = sum / ((double)B * H * (T - 1));
    }
    return AD_OK;
}

ad_adamw ad_adamw_default(void) {
    ad_adamw o = {3e-4f, 0.9f, 0.999f, 1e-8f, 0.01f};
    return o;
}

/* torch.optim.AdamW (decoupled weight decay, bias-corrected moments). */
ad_status ad_model_adamw_step(ad_model *m, const ad_adamw *opt, long t, ad_error *err) {
    if (!m || !opt) return ad_fail(err, AD_ERR_ARG, "AdamW: the model or the options are NULL");
    if (!m->training) return ad_fail(err, AD_ERR_ARG, "AdamW needs a model created for training");
    if (t < 1) return ad_fail(err, AD_ERR_ARG, "AdamW's step count t starts at 1, got %ld", t);
    if (!(isfinite(opt->lr) && opt->lr >= 0.0f && isfinite(opt->eps) && opt->eps >= 0.0f &&
          isfinite(opt->weight_decay) && opt->weight_decay >= 0.0f && opt->beta1 >= 0.0f && opt->beta1 < 1.0f &&
          opt->beta2 >= 0.0f && opt->beta2 < 1.0f))
        return ad_fail(err, AD_ERR_ARG, "AdamW options out of range: lr %g, betas %g %g, eps %g, weight decay %g",
                       (double)opt->lr, (double)opt->beta1, (double)opt->beta2, (double)opt->eps,
                       (double)opt->weight_decay);
    double bc1 = 1.0 - pow((double)opt->beta1, (double)t);
    double bc2 = 1.0 - pow((double)opt->beta2, (double)t);
    float step_size = (float)((double)opt->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay = (float)(1.0 - (double)opt->lr * (double)opt->weight_decay);
    ad_adamw_step_k k = {opt->beta1, opt->beta2, opt->eps, decay, step_size, bc2_sqrt};
    m->be->adamw(m, &k);
    return m->be->report(m, err);
}

ad_status ad_model_check_grads(const ad_model *m, ad_error *err) {
    if (!m->grads) return AD_OK;
    ad_status s = m->be->grads_home((ad_model *)m, err); /* the backward's failures, then its gradients, where they are */
    if (s) return s;
    for (int i = 0; i < m->n_tensors; i++) {
        const ad_tensor_info *t = &m->tensors[i];
        size_t n = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
        const float *gg = m->grads + t->offset;
        for (size_t k = 0; k < n; k++)
            if (!isfinite(gg[k]))
                return ad_fail(err, AD_ERR_NUMERIC, "the gradient of %s is %g", t->name, (double)gg[k]);
    }
    return AD_OK;
}

ad_status ad_model_step(ad_model *m, int token, ad_error *err) {
    if (!m) return ad_fail(err, AD_ERR_ARG, "step: the model is NULL");
    const ad_config *c = &m->cfg;
    int C = c->n_embd, V = c->vocab_size, L = c->n_layer, pos = m->kv_len;
    if (!m->kv_cache) return ad_fail(err, AD_ERR_ARG, "a training model has no KV cache");
    if (pos < 1 || pos >= c->block_size)
        return ad_fail(err, AD_ERR_ARG, "the KV cache holds %d positions: a step needs 1 to %d", pos, c->block_size - 1);
    if (token < 0 || token >= V)
        return ad_fail(err, AD_ERR_ARG, "token id %d is outside the vocabulary [0, %d)", token, V);
    const float *p = m->params;
    float *x = m->x0;
    for (int k = 0; k < C; k++) x[k] = p[m->off_wte + (size_t)token * C + k] + p[m->off_wpe + (size_t)pos * C + k];
    m->last_train = 0;
    for (int l = 0; l < L; l++) {
        block_forward(m, l, &m->acts[0], x, 1, 1, pos, NULL);
        x = m->acts[0].res2;
    }
    head_forward(m, x, 1);
    m->kv_len = pos + 1;
    m->last_B = m->last_T = 1;
    m->probs_valid = 0;
    m->last_has_targets = 0;
    return AD_OK;
}

int ad_model_cached(const ad_model *m) { return m->kv_len; }

/* ------------------------------------------------------------- devices */

ad_device ad_model_device(const ad_model *m) { return m->be->device; }

ad_status ad_model_sync(ad_model *m, ad_error *err) { return m->be->sync(m, err); }

ad_status ad_model_set_device(ad_model *m, ad_device d, ad_error *err) {
    ad_status s = ad_device_check(d, err);
    if (s) return s;
    if (d == ad_model_device(m)) return AD_OK;
    /* the activations stay where they were made: a backward needs a forward on the new device first */
    m->last_has_targets = 0;
    m->probs_valid = 0;
    if (d == AD_DEVICE_CPU) { /* home again: the host copies brought up to date, the device's freed */
        s = ad_model_sync(m, err);
        if (!s) {
            m->be->release(m);
            m->be = &ad_backend_cpu;
        }
        return s;
    }
    if (!m->training)
        return ad_fail(err, AD_ERR_DEVICE, "only a training model goes to the GPU so far (sampling and evaluation run on the CPU)");
#ifdef AD_CUDA
    return ad_backend_cuda_attach(m, err);
#else
    return ad_fail(err, AD_ERR_DEVICE, "this attndrop was built without CUDA (build it with make CUDA=1)");
#endif
}
