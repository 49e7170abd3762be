/* attn_rows.h - causal attention one row at a time, the algorithm of the GPU
 * kernels (src/gpu/attention.cu, one thread per row), written once for the
 * host and the device:
 *   forward, per query row: one pass over its keys with an online softmax
 *     (running max and sum, the output rescaled as the max grows), the
 *     scheme's mask regenerated element by element (mask.h); it keeps only
 *     the row's max and 1/sum, as the CPU kernels do;
 *   backward, per query row (dq) and per key row (dk, dv), so that no two
 *     threads write the same element and no atomics (and no order of
 *     additions that changes from run to run) are needed. With
 *     D_i = dout_i . out_i = sum_j A_ij dA_ij, dS_ij = A_ij (dA_ij - D_i) scale.
 * Nothing of size T x T is stored; fixedcount alone reads its dropped keys
 * from a (B,H,T,T) byte array drawn beforehand, one row per thread.
 * tests/test_mask.c runs the host drivers at the end against the CPU kernels. */
#ifndef AD_ATTN_ROWS_H
#define AD_ATTN_ROWS_H

#include "../schemes/mask.h"

/* The mask of row i (n keys) of head h of batch row b (site->row0 added here);
 * fixedcount's dropped keys come from dropped (B,H,T,T), its row at
 * ((b H + h) T + i) T. */
AD_HD ad_mask_row ad_rows_mask_hd(const ad_drop_site *s, const unsigned char *dropped, int b, int h, int i, int n) {
    if (s->scheme == AD_SCHEME_FIXEDCOUNT) {
        const unsigned char *row = dropped + (((size_t)b * s->n_head + h) * s->block_size + i) * s->block_size;
        ad_mask_row r = ad_mask_row_begin_hd(s, s->row0 + b, h, i, n, 0, 0); /* fixedcount's part filled below */
        int kd = 0;
        for (int j = 0; j < n; j++) kd += row[j];
        r.dropped = row;
        r.value = (float)n / (float)(n - kd);
        return r;
    }
    return ad_mask_row_begin_hd(s, s->row0 + b, h, i, n, 0, 0);
}

/* fixedcount's dropped keys of one row into dropped (B,H,T,T); idx (T) scratch */
AD_HD void ad_fixedcount_row_mask_hd(unsigned char *dropped, const ad_drop_site *s, int b, int h, int i, int *idx) {
    int T = s->block_size, n = s->bidirectional ? T : i + 1;
    unsigned char *row = dropped + (((size_t)b * s->n_head + h) * T + i) * T;
    int kd = ad_fixedcount_row_hd(s, s->row0 + b, h, i, n, idx);
    for (int j = 0; j < T; j++) row[j] = 0;
    for (int k = 0; k < kd; k++) row[idx[k]] = 1;
}

AD_HD float ad_rows_dot_hd(const float *x, const float *y, int n) {
    float s = 0.0f;
    for (int c = 0; c < n; c++) s += x[c] * y[c];
    return s;
}

/* Forward of one query row: o (hs) and st = (max, 1/sum), or (-inf, 0) and
 * o = 0 where a pre-softmax scheme masked every key. q is the row's query,
 * k and v the first key's key and value (rows ldk and ldv apart); mr NULL: no
 * dropout. */
AD_HD void ad_rows_fwd_row_hd(float *o, float *st, const float *q, const float *k, int64_t ldk, const float *v,
                              int64_t ldv, int n, int hs, float scale, const ad_mask_row *mr) {
    int pre = mr && ad_mask_pre_hd(mr->scheme);
    float m = -INFINITY, l = 0.0f;
    for (int c = 0; c < hs; c++) o[c] = 0.0f;
    for (int j = 0; j < n; j++) {
        float mk = mr ? ad_mask_at_hd(mr, j) : 1.0f;
        if (pre && mk == 0.0f) continue;
        float s = scale * ad_rows_dot_hd(q, k + (size_t)j * ldk, hs);
        if (s > m) { /* a new max: what is summed so far shrinks by exp(old - new) */
            float corr = expf(m - s);
            l *= corr;
            for (int c = 0; c < hs; c++) o[c] *= corr;
            m = s;
        }
        float e = expf(s - m);
        l += e;
        float w = pre ? e : e * mk;
        const float *vj = v + (size_t)j * ldv;
        for (int c = 0; c < hs; c++) o[c] += w * vj[c];
    }
    if (l == 0.0f) {
        st[0] = -INFINITY;
        st[1] = 0.0f;
        return;
    }
    float inv = 1.0f / l;
    for (int c = 0; c < hs; c++) o[c] *= inv;
    st[0] = m;
    st[1] = inv;
}

/* dS_ij of query row i against key j, given the row's mask element mk (1 if
 * none), its statistics, and D_i; *a_out the weight that multiplied v_j. */
AD_HD float ad_rows_ds_hd(const float *q, const float *kj, const float *go, const float *vj, int hs, float scale,
                          float mx, float inv, float D, float mk, int pre, float *a_out) {
    float a = expf(scale * ad_rows_dot_hd(q, kj, hs) - mx) * inv;
    float dA = ad_rows_dot_hd(go, vj, hs) * (pre ? 1.0f : mk);
    *a_out = pre ? a : a * mk;
    return a * (dA - D) * scale;
}

/* Backward, query side: dq (hs) of query row i (n keys). */
AD_HD void ad_rows_dq_row_hd(float *dq, const float *q, const float *k, int64_t ldk, const float *v, int64_t ldv,
                             const float *go, const float *o, const float *st, int n, int hs, float scale,
                             const ad_mask_row *mr) {
    int pre = mr && ad_mask_pre_hd(mr->scheme);
    for (int c = 0; c < hs; c++) dq[c] = 0.0f;
    if (st[0] == -INFINITY) return; /* a zero row passes no gradient */
    float D = ad_rows_dot_hd(go, o, hs), a;
    for (int j = 0; j < n; j++) {
        float mk = mr ? ad_mask_at_hd(mr, j) : 1.0f;
        if (pre && mk == 0.0f) continue;
        const float *kj = k + (size_t)j * ldk;
        float ds = ad_rows_ds_hd(q, kj, go, v + (size_t)j * ldv, hs, scale, st[0], st[1], D, mk, pre, &a);
        for (int c = 0; c < hs; c++) dq[c] += ds * kj[c];
    }
}

/* One thread's work, the same on the host and the device: query row i (or
 * key row j) of head h of batch row b, whole tensors in and out, the row's
 * accumulators in caller scratch (hs floats each, on the GPU a local array).
 * Tensors are (B,H,T,hs) views: a base pointer and the strides in elements of
 * b, h and t (the last dimension contiguous), as the public op's ad_view;
 * stats (B,H,T,2) contiguous; s NULL: no dropout, else an active site;
 * dropped (B,H,T,T): fixedcount's. */
typedef struct {
    int64_t b, h, t;
} ad_rows_stride;

AD_HD size_t ad_rows_at_hd(ad_rows_stride s, int b, int h, int t) {
    return (size_t)b * (size_t)s.b + (size_t)h * (size_t)s.h + (size_t)t * (size_t)s.t;
}

/* The strides of every operand of one call: q, k, v, the forward's out, and
 * dout, dq, dk, dv for the backward. */
typedef struct {
    ad_rows_stride q, k, v, o, go, dq, dk, dv;
} ad_rows_layout;

AD_HD void ad_rows_fwd_sv_hd(float *out, float *stats, const float *q, const float *k, const float *v,
                             const ad_rows_layout *L, const ad_drop_site *s, const unsigned char *dropped, int b,
                             int h, int i, int T, int H, int hs, float scale, float *o) {
    ad_mask_row mr = {0};
    if (s) mr = ad_rows_mask_hd(s, dropped, b, h, i, i + 1);
    ad_rows_fwd_row_hd(o, stats + (((size_t)b * H + h) * T + i) * 2, q + ad_rows_at_hd(L->q, b, h, i),
                       k + ad_rows_at_hd(L->k, b, h, 0), L->k.t, v + ad_rows_at_hd(L->v, b, h, 0), L->v.t, i + 1, hs,
                       scale, s ? &mr : NULL);
    float *dst = out + ad_rows_at_hd(L->o, b, h, i);
    for (int c = 0; c < hs; c++) dst[c] = o[c];
}

/* dq of query row i */
AD_HD void ad_rows_dq_sv_hd(float *dqo, const float *dout, const float *q, const float *k, const float *v,
                            const float *out, const float *stats, const ad_rows_layout *L, const ad_drop_site *s,
                            const unsigned char *dropped, int b, int h, int i, int T, int H, int hs, float scale,
                            float *dq) {
    ad_mask_row mr = {0};
    if (s) mr = ad_rows_mask_hd(s, dropped, b, h, i, i + 1);
    ad_rows_dq_row_hd(dq, q + ad_rows_at_hd(L->q, b, h, i), k + ad_rows_at_hd(L->k, b, h, 0), L->k.t,
                      v + ad_rows_at_hd(L->v, b, h, 0), L->v.t, dout + ad_rows_at_hd(L->go, b, h, i),
                      out + ad_rows_at_hd(L->o, b, h, i), stats + (((size_t)b * H + h) * T + i) * 2, i + 1, hs, scale,
                      s ? &mr : NULL);
    float *dst = dqo + ad_rows_at_hd(L->dq, b, h, i);
    for (int c = 0; c < hs; c++) dst[c] = dq[c];
}

/* dk and dv of key row j, from every query row i >= j */
AD_HD void ad_rows_dkv_sv_hd(float *dko, float *dvo, const float *dout, const float *q, const float *k,
                             const float *v, const float *out, const float *stats, const ad_rows_layout *L,
                             const ad_drop_site *s, const unsigned char *dropped, int b, int h, int j, int T, int H,
                             int hs, float scale, float *dk, float *dv) {
    int pre = s && ad_mask_pre_hd(s->scheme);
    float a;
    const float *kj = k + ad_rows_at_hd(L->k, b, h, j), *vj = v + ad_rows_at_hd(L->v, b, h, j);
    const float *st = stats + ((size_t)b * H + h) * T * 2;
    for (int c = 0; c < hs; c++) dk[c] = dv[c] = 0.0f;
    for (int i = j; i < T; i++) {
        if (st[2 * i] == -INFINITY) continue;
        float mk = 1.0f;
        if (s) {
            ad_mask_row mr = ad_rows_mask_hd(s, dropped, b, h, i, i + 1);
            mk = ad_mask_at_hd(&mr, j);
        }
        if (pre && mk == 0.0f) continue;
        const float *qi = q + ad_rows_at_hd(L->q, b, h, i), *goi = dout + ad_rows_at_hd(L->go, b, h, i);
        float D = ad_rows_dot_hd(goi, out + ad_rows_at_hd(L->o, b, h, i), hs);
        float ds = ad_rows_ds_hd(qi, kj, goi, vj, hs, scale, st[2 * i], st[2 * i + 1], D, mk, pre, &a);
        for (int c = 0; c < hs; c++) { dk[c] += ds * qi[c]; dv[c] += a * goi[c]; }
    }
    float *dkd = dko + ad_rows_at_hd(L->dk, b, h, j), *dvd = dvo + ad_rows_at_hd(L->dv, b, h, j);
    for (int c = 0; c < hs; c++) { dkd[c] = dk[c]; dvd[c] = dv[c]; }
}

/* The model's packed layout: qkv and dqkv (B,T,3C), head h's q, k, v at
 * columns h hs, C + h hs, 2C + h hs; out and dout (B,T,C); scale 1/sqrt(hs). */
AD_HD float ad_rows_scale_hd(int hs) { return (float)(1.0 / sqrt((double)hs)); }

AD_HD ad_rows_layout ad_rows_packed_hd(int T, int C, int H) {
    int64_t hs = C / H, big = (int64_t)T * 3 * C, small = (int64_t)T * C;
    ad_rows_stride p = {big, hs, 3 * (int64_t)C}, o = {small, hs, C};
    ad_rows_layout L = {p, p, p, o, o, p, p, p};
    return L;
}

AD_HD void ad_rows_fwd_at_hd(float *out, float *stats, const float *qkv, const ad_drop_site *s,
                             const unsigned char *dropped, int b, int h, int i, int T, int C, int H, float *o) {
    ad_rows_layout L = ad_rows_packed_hd(T, C, H);
    ad_rows_fwd_sv_hd(out, stats, qkv, qkv + C, qkv + 2 * C, &L, s, dropped, b, h, i, T, H, C / H,
                      ad_rows_scale_hd(C / H), o);
}

/* dq of query row i into dqkv */
AD_HD void ad_rows_dq_at_hd(float *dqkv, const float *dout, const float *qkv, const float *out, const float *stats,
                            const ad_drop_site *s, const unsigned char *dropped, int b, int h, int i, int T, int C,
                            int H, float *dq) {
    ad_rows_layout L = ad_rows_packed_hd(T, C, H);
    ad_rows_dq_sv_hd(dqkv, dout, qkv, qkv + C, qkv + 2 * C, out, stats, &L, s, dropped, b, h, i, T, H, C / H,
                     ad_rows_scale_hd(C / H), dq);
}

/* dk and dv of key row j into dqkv, from every query row i >= j */
AD_HD void ad_rows_dkv_at_hd(float *dqkv, const float *dout, const float *qkv, const float *out, const float *stats,
                             const ad_drop_site *s, const unsigned char *dropped, int b, int h, int j, int T, int C,
                             int H, float *dk, float *dv) {
    ad_rows_layout L = ad_rows_packed_hd(T, C, H);
    ad_rows_dkv_sv_hd(dqkv + C, dqkv + 2 * C, dout, qkv, qkv + C, qkv + 2 * C, out, stats, &L, s, dropped, b, h, j,
                      T, H, C / H, ad_rows_scale_hd(C / H), dk, dv);
}

#ifndef __CUDACC__
/* Host drivers: the GPU kernels' grid as loops (src/gpu/emul.c, test_mask). */
static inline void ad_fixedcount_masks_hd(unsigned char *dropped, const ad_drop_site *s, int B, int T) {
    int idx[T];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < s->n_head; h++)
            for (int i = 0; i < T; i++) ad_fixedcount_row_mask_hd(dropped, s, b, h, i, idx);
}

/* The strided form of the public op's GPU path (ad_attention_forward_cuda):
 * every query row, then in the backward every query row's dq and every key
 * row's dk and dv; fixedcount's dropped keys drawn by the caller. */
static inline void ad_rows_attention_fwd_sv(float *out, float *stats, const float *q, const float *k, const float *v,
                                            const ad_rows_layout *L, const ad_drop_site *s,
                                            const unsigned char *dropped, int B, int T, int H, int hs, float scale) {
    float o[hs];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) ad_rows_fwd_sv_hd(out, stats, q, k, v, L, s, dropped, b, h, i, T, H, hs, scale, o);
}

static inline void ad_rows_attention_bwd_sv(float *dq, float *dk, float *dv, const float *dout, const float *q,
                                            const float *k, const float *v, const float *out, const float *stats,
                                            const ad_rows_layout *L, const ad_drop_site *s,
                                            const unsigned char *dropped, int B, int T, int H, int hs, float scale) {
    float x[hs], y[hs];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                ad_rows_dq_sv_hd(dq, dout, q, k, v, out, stats, L, s, dropped, b, h, i, T, H, hs, scale, x);
                ad_rows_dkv_sv_hd(dk, dv, dout, q, k, v, out, stats, L, s, dropped, b, h, i, T, H, hs, scale, x, y);
            }
}

static inline void ad_rows_attention_fwd(float *out, float *stats, const float *qkv, const ad_drop_site *s,
                                         const unsigned char *dropped, int B, int T, int C, int H) {
    float o[C / H];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) ad_rows_fwd_at_hd(out, stats, qkv, s, dropped, b, h, i, T, C, H, o);
}

static inline void ad_rows_attention_bwd(float *dqkv, const float *dout, const float *qkv, const float *out,
                                         const float *stats, const ad_drop_site *s, const unsigned char *dropped,
                                         int B, int T, int C, int H) {
    float x[C / H], y[C / H];
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                ad_rows_dq_at_hd(dqkv, dout, qkv, out, stats, s, dropped, b, h, i, T, C, H, x);
                ad_rows_dkv_at_hd(dqkv, dout, qkv, out, stats, s, dropped, b, h, i, T, C, H, x, y);
            }
}
#endif

#endif
