/* stats.c - what each attention-dropout scheme does to attention rows: the
 * probability of an all-zero row, the mean and variance of a row's sum and
 * the bias of each weight, in closed form where one exists and by Monte Carlo
 * over random softmax weights. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ad_stats_free(ad_stats *st) {
    if (!st) return;
    free(st->p_zero_exact);
    memset(st, 0, sizeof *st);
}

/* mean and second moment of head scheme's multiplier: H/kept for a kept head,
 * 0 for a dropped one, 1 for all when every head would drop */
static void head_moments(double p, int H, double *m1, double *m2) {
    double e1 = pow(p, H), e2 = pow(p, H), binom = 1.0; /* C(H-1, k-1) */
    for (int k = 1; k <= H; k++) {
        double pk = binom * pow(1.0 - p, k) * pow(p, H - k), v = (double)H / k;
        e1 += pk * v;
        e2 += pk * v * v;
        binom = binom * (double)(H - k) / (double)k;
    }
    *m1 = e1;
    *m2 = e2;
}

/* E[S^2] - 1 of fixedcount's row sum given sum_j w_j^2 = A, row length n */
static double fixedcount_var(double p, int n, double A) {
    if (n == 1) return 0.0;
    double x = p * n, kf = floor(x), frac = x - kf, var = 0.0;
    for (int t = 0; t < 2; t++) {
        double prob = t == 0 ? 1.0 - frac : frac;
        int k = (int)kf + t;
        if (prob == 0.0) continue;
        if (k > n - 1) k = n - 1;
        double a = (double)n / (n - k), b = (double)n * (n - k - 1) / ((double)(n - 1) * (n - k));
        var += prob * (A * a + (1.0 - A) * b - 1.0);
    }
    return var;
}

ad_status ad_stats_compute(ad_stats *st, const ad_stats_opts *o, ad_error *err) {
    memset(st, 0, sizeof *st);
    int T = o->block_size, H = o->n_head, L = o->n_layer;
    if ((int)o->scheme < 0 || o->scheme >= AD_SCHEME_COUNT) return ad_fail(err, AD_ERR_ARG, "unknown scheme");
    if (!(o->p >= 0.0f && o->p < 1.0f)) return ad_fail(err, AD_ERR_ARG, "p must be in [0, 1)");
    if (T < 1 || T > 4096) return ad_fail(err, AD_ERR_ARG, "block_size must be in [1, 4096], got %d", T);
    if (H < 1 || H > 1024 || L < 1 || L > 1024) return ad_fail(err, AD_ERR_ARG, "n_head and n_layer must be in [1, 1024]");
    if (o->trials < 1 || o->trials > 1000000000L) return ad_fail(err, AD_ERR_ARG, "trials must be in [1, 1e9]");
    if (!(o->logit_std >= 0.0 && o->logit_std <= 100.0)) return ad_fail(err, AD_ERR_ARG, "logit_std must be in [0, 100]");
    double *mem = calloc((size_t)T * 9, sizeof *mem);
    double *acc = calloc((size_t)T * T * 2 + (size_t)T * 6, sizeof *acc);
    double *w = malloc((size_t)T * 2 * sizeof *w), *lg = malloc((size_t)T * T * sizeof *lg);
    char *zero_all = malloc((size_t)T);
    if (!mem || !acc || !w || !lg || !zero_all) {
        free(mem); free(acc); free(w); free(lg); free(zero_all);
        return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the statistics");
    }
    st->T = T;
    st->p_zero_exact = mem;
    st->p_zero_mc = mem + T;
    st->p_allheads_zero_exact = mem + 2 * T;
    st->p_allheads_zero_mc = mem + 3 * T;
    st->row_sum_mean_exact = mem + 4 * T;
    st->row_sum_mean_mc = mem + 5 * T;
    st->row_sum_var_exact = mem + 6 * T;
    st->row_sum_var_mc = mem + 7 * T;
    st->bias_mc = mem + 8 * T;
    /* accumulators: ratio sums and counts per (i,j); per i: zeros, all-head zeros, sum, sum^2, sum w^2, sum w^2 off-diagonal */
    double *ratio = acc, *ratio_n = acc + (size_t)T * T, *zc = acc + 2 * (size_t)T * T, *zac = zc + T;
    double *s1 = zac + T, *s2 = s1 + T, *w2 = s2 + T, *w2off = w2 + T;
    double *out = w + T;
    ad_drop_site site = {o->scheme, o->p, o->seed, 0, 0, H, T, o->bidirectional};
    for (long t = 0; t < o->trials; t++) {
        site.step = (uint32_t)t;
        memset(zero_all, 1, (size_t)T);
        for (int h = 0; h < H; h++) {
            ad_rng lr = ad_rng_stream(o->seed, AD_RNG_STATS, (uint32_t)t, (uint32_t)h, (uint32_t)(t >> 32));
            for (int i = 0; i < T; i++) {
                int n = o->bidirectional ? T : i + 1;
                double mx = -INFINITY, z = 0.0;
                for (int j = 0; j < n; j++) {
                    lg[j] = o->logit_std * ad_rng_normal(&lr, (uint64_t)i * T + j);
                    if (lg[j] > mx) mx = lg[j];
                }
                for (int j = 0; j < n; j++) { w[j] = exp(lg[j] - mx); z += w[j]; }
                double sq = 0.0, sqoff = 0.0;
                for (int j = 0; j < n; j++) {
                    w[j] /= z;
                    sq += w[j] * w[j];
                    if (j != i) sqoff += w[j] * w[j];
                }
                ad_drop_row(&site, 0, h, i, w, out);
                double sum = 0.0;
                int zero = 1;
                for (int j = 0; j < n; j++) {
                    sum += out[j];
                    if (out[j] != 0.0) zero = 0;
                    if (w[j] > 0.0) { /* an underflowed weight says nothing about bias */
                        ratio[(size_t)i * T + j] += out[j] / w[j];
                        ratio_n[(size_t)i * T + j] += 1.0;
                    }
                }
                zc[i] += zero;
                if (!zero) zero_all[i] = 0;
                s1[i] += sum;
                s2[i] += sum * sum;
                w2[i] += sq;
                w2off[i] += sqoff;
            }
        }
        for (int i = 0; i < T; i++) zac[i] += zero_all[i];
    }
    double p = o->p, nrows = (double)o->trials * H;
    ad_scheme sc = o->p > 0.0f ? o->scheme : AD_SCHEME_NONE;
    double hm1, hm2;
    head_moments(p, H, &hm1, &hm2);
    double log_none = 0.0; /* log P(no token's output is zero in one layer), element-wise schemes */
    for (int i = 0; i < T; i++) {
        int n = o->bidirectional ? T : i + 1;
        double pn = pow(p, n), A = w2[i] / nrows, Aoff = w2off[i] / nrows;
        double pz = 0.0, pza = 0.0, mean = 1.0, var = 0.0;
        switch (sc) {
        case AD_SCHEME_STANDARD: case AD_SCHEME_MASKED: case AD_SCHEME_SYMMETRIC: case AD_SCHEME_COLUMN:
            pz = pn; pza = pow(p, (double)n * H); var = A * p / (1.0 - p);
            break;
        case AD_SCHEME_TOKEN:
            pz = pn; pza = pn; var = A * p / (1.0 - p);
            break;
        case AD_SCHEME_RENORM:
            pz = pn; pza = pow(p, (double)n * H); mean = 1.0 - pn; var = pn * (1.0 - pn);
            break;
        case AD_SCHEME_KEEPDIAG: var = Aoff * p / (1.0 - p); break;
        case AD_SCHEME_NONZERO: var = (1.0 - pn) * (A / (1.0 - p) + 1.0 - A) - 1.0; break;
        case AD_SCHEME_FIXEDCOUNT: var = fixedcount_var(p, n, A); break;
        case AD_SCHEME_HEAD: pz = p - pow(p, H); mean = hm1; var = hm2 - hm1 * hm1; break;
        default: break; /* none, word, embedding, dropkey, fcm: rows keep summing to 1 */
        }
        st->p_zero_exact[i] = pz;
        st->p_allheads_zero_exact[i] = pza;
        st->row_sum_mean_exact[i] = mean;
        st->row_sum_var_exact[i] = var;
        st->p_zero_mc[i] = zc[i] / nrows;
        st->p_allheads_zero_mc[i] = zac[i] / (double)o->trials;
        st->row_sum_mean_mc[i] = s1[i] / nrows;
        st->row_sum_var_mc[i] = s2[i] / nrows - st->row_sum_mean_mc[i] * st->row_sum_mean_mc[i];
        double bias = 0.0;
        for (int j = 0; j < n; j++) {
            if (ratio_n[(size_t)i * T + j] == 0.0) continue;
            double e = fabs(ratio[(size_t)i * T + j] / ratio_n[(size_t)i * T + j] - 1.0);
            if (e > bias) bias = e;
        }
        st->bias_mc[i] = bias;
        st->zero_rows_per_head += pz;
        st->zero_rows_per_head_mc += st->p_zero_mc[i];
        log_none += log1p(-pza);
    }
    st->zero_rows_per_layer = st->zero_rows_per_head * H;
    st->zero_rows_per_model = st->zero_rows_per_layer * L;
    double q; /* P(some token's output is zero in every head of one layer) */
    switch (sc) {
    case AD_SCHEME_STANDARD: case AD_SCHEME_MASKED: case AD_SCHEME_RENORM:
        q = -expm1(log_none); /* rows use disjoint draws: independent */
        break;
    case AD_SCHEME_SYMMETRIC:
        q = o->bidirectional ? NAN : -expm1(log_none); /* bidirectional rows share draws */
        break;
    case AD_SCHEME_COLUMN: /* some row zero in every head iff key 0 (causal) or every key (bidirectional) is */
        q = pow(p, (double)H * (o->bidirectional ? T : 1));
        break;
    case AD_SCHEME_TOKEN:
        q = pow(p, o->bidirectional ? T : 1);
        break;
    default:
        q = 0.0;
    }
    st->p_any_zero_output = isnan(q) ? NAN : -expm1((double)L * log1p(-q));
    free(acc); free(w); free(lg); free(zero_all);
    return AD_OK;
}
