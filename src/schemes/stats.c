/* stats.c - what each attention-dropout scheme does to attention rows: the
 * probability of an all-zero row, the mean and variance of a row's sum and
 * the bias of each weight, in closed form where one exists and by Monte Carlo
 * over random softmax weights. */
#include "dropout.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ad_stats_free(ad_stats *st) {
    if (!st) return;
    free(st->p_zero_exact);
    memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------ closed forms */

void ad_law_independent(const ad_law_in *in, ad_law *o) {
    double p = in->p;
    o->p_zero = pow(p, in->n);
    o->p_allheads_zero = pow(p, (double)in->n * in->H);
    o->var = in->A * p / (1.0 - p);
}

void ad_law_token(const ad_law_in *in, ad_law *o) {
    double p = in->p;
    o->p_zero = o->p_allheads_zero = pow(p, in->n);
    o->var = in->A * p / (1.0 - p);
}

void ad_law_renorm(const ad_law_in *in, ad_law *o) {
    double pn = pow(in->p, in->n);
    o->p_zero = pn;
    o->p_allheads_zero = pow(in->p, (double)in->n * in->H);
    o->mean = 1.0 - pn;
    o->var = pn * (1.0 - pn);
}

void ad_law_keepdiag(const ad_law_in *in, ad_law *o) { o->var = in->A_off * in->p / (1.0 - in->p); }

void ad_law_nonzero(const ad_law_in *in, ad_law *o) {
    double p = in->p, pn = pow(p, in->n);
    o->var = (1.0 - pn) * (in->A / (1.0 - p) + 1.0 - in->A) - 1.0;
}

/* E[S^2] - 1 of the row sum given sum_j w_j^2 = A, row length n */
void ad_law_fixedcount(const ad_law_in *in, ad_law *o) {
    double p = in->p, A = in->A;
    int n = in->n;
    if (n == 1) return;
    double x = p * n, kf = floor(x), frac = x - kf, var = 0.0;
    for (int t = 0; t < 2; t++) {
        double prob = t == 0 ? 1.0 - frac : frac;
        int k = (int)kf + t;
        if (prob == 0.0) continue;
        if (k > n - 1) k = n - 1;
        double a = (double)n / (n - k), b = (double)n * (n - k - 1) / ((double)(n - 1) * (n - k));
        var += prob * (A * a + (1.0 - A) * b - 1.0);
    }
    o->var = var;
}

/* the multiplier H/kept of a kept head, 0 of a dropped one, 1 for all when
 * every head would drop: its mean and second moment */
void ad_law_head(const ad_law_in *in, ad_law *o) {
    double p = in->p;
    int H = in->H;
    double e1 = pow(p, H), e2 = pow(p, H), binom = 1.0; /* C(H-1, k-1) */
    for (int k = 1; k <= H; k++) {
        double pk = binom * pow(1.0 - p, k) * pow(p, H - k), v = (double)H / k;
        e1 += pk * v;
        e2 += pk * v * v;
        binom = binom * (double)(H - k) / (double)k;
    }
    o->p_zero = p - pow(p, H);
    o->mean = e1;
    o->var = e2 - e1 * e1;
}

double ad_any_zero_rows(const ad_law_in *in, double log_none) {
    (void)in;
    return -expm1(log_none); /* rows use disjoint draws: independent */
}

double ad_any_zero_symmetric(const ad_law_in *in, double log_none) {
    return in->bidirectional ? NAN : -expm1(log_none); /* bidirectional rows share draws */
}

/* some row is zero in every head iff key 0 (causal) or every key (bidirectional) is */
double ad_any_zero_column(const ad_law_in *in, double log_none) {
    (void)log_none;
    return pow(in->p, (double)in->H * (in->bidirectional ? in->T : 1));
}

double ad_any_zero_token(const ad_law_in *in, double log_none) {
    (void)log_none;
    return pow(in->p, in->bidirectional ? in->T : 1);
}

/* ------------------------------------------------------------- statistics */

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
    ad_drop_site site = {o->scheme, o->p, o->seed, 0, 0, H, T, o->bidirectional, 0};
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
                ad_drop_row_k(&site, 0, h, i, w, out);
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
    double nrows = (double)o->trials * H;
    const ad_scheme_def *def = ad_scheme_def_get(o->p > 0.0f ? o->scheme : AD_SCHEME_NONE);
    ad_law_in in = {o->p, 0, H, T, o->bidirectional, 0.0, 0.0};
    double log_none = 0.0; /* log P(no token's output is zero in one layer), element-wise schemes */
    for (int i = 0; i < T; i++) {
        in.n = o->bidirectional ? T : i + 1;
        in.A = w2[i] / nrows;
        in.A_off = w2off[i] / nrows;
        ad_law law = {0.0, 0.0, 1.0, 0.0};
        if (def->law) def->law(&in, &law);
        st->p_zero_exact[i] = law.p_zero;
        st->p_allheads_zero_exact[i] = law.p_allheads_zero;
        st->row_sum_mean_exact[i] = law.mean;
        st->row_sum_var_exact[i] = law.var;
        st->p_zero_mc[i] = zc[i] / nrows;
        st->p_allheads_zero_mc[i] = zac[i] / (double)o->trials;
        st->row_sum_mean_mc[i] = s1[i] / nrows;
        st->row_sum_var_mc[i] = s2[i] / nrows - st->row_sum_mean_mc[i] * st->row_sum_mean_mc[i];
        double bias = 0.0;
        for (int j = 0; j < in.n; j++) {
            if (ratio_n[(size_t)i * T + j] == 0.0) continue;
            double e = fabs(ratio[(size_t)i * T + j] / ratio_n[(size_t)i * T + j] - 1.0);
            if (e > bias) bias = e;
        }
        st->bias_mc[i] = bias;
        st->zero_rows_per_head += law.p_zero;
        st->zero_rows_per_head_mc += st->p_zero_mc[i];
        log_none += log1p(-law.p_allheads_zero);
    }
    st->zero_rows_per_layer = st->zero_rows_per_head * H;
    st->zero_rows_per_model = st->zero_rows_per_layer * L;
    double q = def->any_zero ? def->any_zero(&in, log_none) : 0.0; /* P(some token's output is zero in every head of one layer) */
    st->p_any_zero_output = isnan(q) ? NAN : -expm1((double)L * log1p(-q));
    free(acc); free(w); free(lg); free(zero_all);
    return AD_OK;
}
