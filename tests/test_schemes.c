/* test_schemes.c - the attention-dropout schemes' masks and statistics, with
 * fixed seeds and bounds of several standard errors: keep rates, unbiasedness,
 * guarantees, closed forms against Monte Carlo, and scheme identities. */
#include "attndrop.h"
#include "check.h"
#include "schemes/dropout.h"
#include <stdlib.h>
#include <string.h>

static ad_drop_site site(ad_scheme s, float p, uint32_t step, int T) {
    ad_drop_site d = {s, p, 77, step, 1, 4, T, 0, 0};
    return d;
}

int main(void) {
    enum { T = 8 };

    /* closed forms against Monte Carlo, for every scheme, at p = 0.3 and 0.6 */
    float ps[2] = {0.3f, 0.6f};
    for (int s = 0; s < AD_SCHEME_COUNT; s++)
        for (int k = 0; k < 2; k++) {
            const ad_scheme_info *si = ad_scheme_get((ad_scheme)s);
            ad_stats_opts o = {(ad_scheme)s, ps[k], T, 4, 3, 10000, 5, 0, 1.0};
            ad_stats st;
            ad_error err = {0};
            CHECK(ad_stats_compute(&st, &o, &err) == AD_OK, "%s", err.msg);
            int ok_zero = 1, ok_all = 1, ok_mean = 1, ok_var = 1, ok_bias = 1;
            for (int i = 0; i < T; i++) {
                double e = st.p_zero_exact[i], m = st.p_zero_mc[i];
                /* heads' rows are not independent for head/token: use the per-sequence count */
                double se = sqrt(e * (1 - e) / (double)o.trials);
                if (e == 0.0 ? m != 0.0 : fabs(m - e) > 6 * se) ok_zero = 0;
                e = st.p_allheads_zero_exact[i]; m = st.p_allheads_zero_mc[i];
                se = sqrt(e * (1 - e) / (double)o.trials);
                if (e == 0.0 ? m != 0.0 : fabs(m - e) > 6 * se + 1e-12) ok_all = 0;
                double v = st.row_sum_var_exact[i];
                if (fabs(st.row_sum_mean_mc[i] - st.row_sum_mean_exact[i]) > 6 * sqrt(v / (double)o.trials) + 1e-12) ok_mean = 0;
                /* relative for spread-out sums, absolute (Bernoulli-like) for rare zero rows */
                if (fabs(st.row_sum_var_mc[i] - v) > 0.06 * v + 6 * sqrt(v / (double)o.trials) + 1e-12) ok_var = 0;
                /* unbiased schemes: each E[dropped/weight] within 6 standard errors of 1: every
                 * multiplier here has variance <= 1/(1-p), and at least `trials` independent draws */
                if (si->unbiased && st.bias_mc[i] > 6 * sqrt(1.0 / ((1 - ps[k]) * (double)o.trials))) ok_bias = 0;
            }
            CHECK(ok_zero, "%s p=%.1f: p_zero Monte Carlo disagrees with the closed form", si->name, ps[k]);
            CHECK(ok_all, "%s p=%.1f: p_allheads_zero Monte Carlo disagrees", si->name, ps[k]);
            CHECK(ok_mean, "%s p=%.1f: row-sum mean disagrees", si->name, ps[k]);
            CHECK(ok_var, "%s p=%.1f: row-sum variance disagrees", si->name, ps[k]);
            CHECK(ok_bias, "%s p=%.1f: biased although it claims not to be", si->name, ps[k]);
            if (si->guarantee) CHECK(st.zero_rows_per_head_mc == 0.0, "%s: an all-zero row", si->name);
            if (s == AD_SCHEME_STANDARD)
                for (int i = 0; i < T; i++)
                    CHECK(fabs(st.p_zero_exact[i] - pow(ps[k], i + 1)) < 1e-15, "standard p_zero(%d) is not p^(i+1)", i);
            if (s == AD_SCHEME_TOKEN)
                for (int i = 0; i < T; i++)
                    CHECK(st.p_allheads_zero_exact[i] == st.p_zero_exact[i], "token: all-heads differs from one head");
            ad_stats_free(&st);
        }
    /* renorm is biased: its rows lose mass exactly when they are all dropped */
    {
        ad_stats_opts o = {AD_SCHEME_RENORM, 0.5f, T, 1, 1, 20000, 9, 0, 1.0};
        ad_stats st;
        ad_stats_compute(&st, &o, NULL);
        CHECK(st.bias_mc[0] > 0.4, "renorm's bias at position 0 is %.3f, expected about 0.5", st.bias_mc[0]);
        ad_stats_free(&st);
    }

    /* keep rate 1-p of the element and key schemes: 200000 draws, 6 sd */
    ad_scheme rate_schemes[6] = {AD_SCHEME_STANDARD, AD_SCHEME_MASKED, AD_SCHEME_SYMMETRIC, AD_SCHEME_COLUMN, AD_SCHEME_TOKEN, AD_SCHEME_RENORM};
    for (int r = 0; r < 6; r++) {
        long kept = 0, n = 0;
        float m[T];
        for (uint32_t step = 0; step < 2000; step++) {
            ad_drop_site ds = site(rate_schemes[r], 0.3f, step, T);
            ad_attn_drop d = ad_attn_drop_make(&ds);
            for (int b = 0; b < 4; b++)
                for (int i = 0; i < T; i++) {
                    if (ad_attn_drop_pre(&d)) ad_attn_row_keep(&d, b, 0, i, m); else ad_attn_row_mult(&d, b, 0, i, m);
                    for (int j = 0; j <= i; j++) { kept += m[j] > 0.0f; n++; }
                }
        }
        double rate = (double)kept / n, sd = sqrt(0.3 * 0.7 / n);
        /* key schemes repeat a key's draw across rows: their sd is up to sqrt(T) larger */
        double bound = 6 * sd * (rate_schemes[r] == AD_SCHEME_COLUMN || rate_schemes[r] == AD_SCHEME_TOKEN ? sqrt(T) : 1.0);
        CHECK(fabs(rate - 0.7) < bound, "%s keeps %.5f, expected 0.7", ad_scheme_get(rate_schemes[r])->name, rate);
    }

    /* masked and standard: the same distribution of survivors in a row of 4 (binomial(4, 0.6)) */
    for (int s = 0; s < 2; s++) {
        long hist[5] = {0}, n = 0;
        float m[T];
        for (uint32_t step = 0; step < 20000; step++) {
            ad_drop_site ds = site(s ? AD_SCHEME_MASKED : AD_SCHEME_STANDARD, 0.4f, step, T);
            ad_attn_drop d = ad_attn_drop_make(&ds);
            ad_attn_row_mult(&d, 0, 2, 3, m);
            int c = 0;
            for (int j = 0; j < 4; j++) c += m[j] > 0.0f;
            hist[c]++;
            n++;
        }
        int ok = 1;
        for (int c = 0; c <= 4; c++) {
            double pc = (c == 0 ? 1 : c == 1 ? 4 : c == 2 ? 6 : c == 3 ? 4 : 1) * pow(0.6, c) * pow(0.4, 4 - c);
            if (fabs((double)hist[c] / n - pc) > 6 * sqrt(pc * (1 - pc) / n)) ok = 0;
        }
        CHECK(ok, "%s: survivors of a row of 4 are not binomial(4, 0.6)", s ? "masked" : "standard");
    }
    /* masked draws differ from standard's (another realisation), symmetric's mirror */
    {
        float a[T], b[T];
        ad_drop_site s1 = site(AD_SCHEME_STANDARD, 0.5f, 3, T), s2 = site(AD_SCHEME_MASKED, 0.5f, 3, T);
        ad_attn_drop d1 = ad_attn_drop_make(&s1), d2 = ad_attn_drop_make(&s2);
        int differ = 0;
        for (int i = 1; i < T; i++) {
            ad_attn_row_mult(&d1, 0, 0, i, a);
            ad_attn_row_mult(&d2, 0, 0, i, b);
            differ += memcmp(a, b, (size_t)(i + 1) * sizeof(float)) != 0;
        }
        CHECK(differ > 0, "masked reuses standard's draws");
        /* under causal attention symmetric keeps each (i, j) with its mirror, which is never used:
         * it is masked, draw for draw */
        ad_drop_site s3 = site(AD_SCHEME_SYMMETRIC, 0.5f, 3, T);
        ad_attn_drop d3 = ad_attn_drop_make(&s3);
        int same = 1;
        for (int i = 0; i < T; i++) {
            ad_attn_row_mult(&d2, 1, 2, i, a);
            ad_attn_row_mult(&d3, 1, 2, i, b);
            same &= memcmp(a, b, (size_t)(i + 1) * sizeof(float)) == 0;
        }
        CHECK(same, "causal symmetric differs from masked");
        ad_drop_site sb = site(AD_SCHEME_SYMMETRIC, 0.5f, 3, T);
        sb.bidirectional = 1;
        ad_attn_drop ds = ad_attn_drop_make(&sb);
        float M[T][T];
        for (int i = 0; i < T; i++) ad_attn_row_mult(&ds, 0, 0, i, M[i]);
        int sym = 1;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) sym &= M[i][j] == M[j][i];
        CHECK(sym, "symmetric's bidirectional mask is not symmetric");
    }

    /* fixedcount drops floor or ceil of p*n (at most n-1), p*n on average */
    {
        float m[T];
        long drops = 0, n = 0;
        int ok = 1;
        for (uint32_t step = 0; step < 20000; step++) {
            ad_drop_site ds = site(AD_SCHEME_FIXEDCOUNT, 0.35f, step, T);
            ad_attn_drop d = ad_attn_drop_make(&ds);
            ad_attn_row_mult(&d, 0, 0, 5, m); /* n = 6, p n = 2.1 */
            int c = 0;
            for (int j = 0; j < 6; j++) c += m[j] == 0.0f;
            ok &= c == 2 || c == 3;
            for (int j = 0; j < 6; j++) ok &= m[j] == 0.0f || m[j] == 6.0f / (6 - c);
            drops += c;
            n++;
        }
        double mean = (double)drops / n; /* sd of one count 0.3 */
        CHECK(ok && fabs(mean - 2.1) < 6 * 0.3 / sqrt((double)n), "fixedcount: mean drops %.4f, expected 2.1", mean);
    }

    /* fcm: key 0 always kept, one mask for every layer and head, drop rate p/2 on average */
    {
        float m[T], m2[T];
        long dropped = 0, n = 0;
        int key0 = 1, shared = 1;
        for (uint32_t step = 0; step < 5000; step++) {
            ad_drop_site ds = site(AD_SCHEME_FCM, 0.6f, step, T), ds2 = ds;
            ds2.layer = 3;
            ad_attn_drop d = ad_attn_drop_make(&ds), d2 = ad_attn_drop_make(&ds2);
            ad_attn_row_keep(&d, 1, 0, T - 1, m);
            ad_attn_row_keep(&d2, 1, 3, T - 1, m2);
            key0 &= m[0] == 1.0f;
            shared &= memcmp(m, m2, sizeof m) == 0;
            for (int j = 1; j < T; j++) { dropped += m[j] == 0.0f; n++; }
        }
        /* the rate is shared by a row's 7 keys: sd of the mean <= sqrt(var(rate)*49 + 7*0.25) / (7 sqrt(5000)) */
        double rate = (double)dropped / n;
        CHECK(key0 && shared && fabs(rate - 0.3) < 6 * sqrt(0.03 + 0.25 / 7) / sqrt(5000.0), "fcm: key0 %d shared %d rate %.4f", key0, shared, rate);
    }

    /* word and embedding dropout */
    {
        int idx[T] = {1, 2, 1, 3, 1, 2, 0, 1};
        float m[T];
        long kept = 0, n = 0;
        int same = 1, scaled = 1;
        for (uint32_t step = 0; step < 5000; step++) {
            ad_drop_site ds = site(AD_SCHEME_EMBEDDING, 0.4f, step, T);
            MUST(ad_input_mult(&ds, 2, idx, T, m, NULL, &must_err));
            same &= m[0] == m[2] && m[2] == m[4] && m[4] == m[7] && m[1] == m[5];
            ds.scheme = AD_SCHEME_WORD;
            MUST(ad_input_mult(&ds, 2, idx, T, m, NULL, &must_err));
            for (int t = 0; t < T; t++) { kept += m[t] > 0.0f; n++; scaled &= m[t] == 0.0f || fabs(m[t] - 1 / 0.6f) < 1e-6; }
        }
        CHECK(same, "embedding: occurrences of one character drop differently");
        CHECK(scaled, "word: survivors not scaled by 1/(1-p)");
        CHECK(fabs((double)kept / n - 0.6) < 6 * sqrt(0.24 / n), "word keeps %.4f", (double)kept / n);
    }

    /* renorm rows sum to 1 (or 0); any scheme at p=0 changes nothing */
    {
        double w[T], out[T];
        for (int j = 0; j < T; j++) w[j] = (j + 1) / 36.0;
        int ok = 1;
        for (uint32_t step = 0; step < 500; step++) {
            ad_drop_site ds = site(AD_SCHEME_RENORM, 0.5f, step, T);
            MUST(ad_drop_row(&ds, 0, 0, T - 1, w, T, out, &must_err));
            double s = 0;
            for (int j = 0; j < T; j++) s += out[j];
            ok &= fabs(s - 1) < 1e-12 || s == 0.0;
        }
        CHECK(ok, "renorm rows do not sum to 1");
        int same = 1;
        for (int s = 0; s < AD_SCHEME_COUNT; s++) {
            ad_drop_site ds = site((ad_scheme)s, 0.0f, 1, T);
            MUST(ad_drop_row(&ds, 0, 0, T - 1, w, T, out, &must_err));
            same &= memcmp(w, out, sizeof w) == 0;
        }
        CHECK(same, "a scheme at p=0 changes the weights");
    }

    /* bad arguments are a status and a message, never an abort or a read past the row */
    {
        double w[T], out[T];
        int ids[T], applied = -1;
        float mult[T];
        for (int j = 0; j < T; j++) { w[j] = 1.0 / T; ids[j] = j; }
        ad_error e;
        struct { const char *what; ad_drop_site s; int b, h, i, n; } bad[] = {
            {"p = 1", site(AD_SCHEME_STANDARD, 1.0f, 0, T), 0, 0, 3, 4},
            {"p = 2", site(AD_SCHEME_STANDARD, 2.0f, 0, T), 0, 0, 3, 4},
            {"p = -0.1", site(AD_SCHEME_STANDARD, -0.1f, 0, T), 0, 0, 3, 4},
            {"p = NaN", site(AD_SCHEME_STANDARD, NAN, 0, T), 0, 0, 3, 4},
            {"scheme 99", site((ad_scheme)99, 0.5f, 0, T), 0, 0, 3, 4},
            {"scheme -1", site((ad_scheme)-1, 0.5f, 0, T), 0, 0, 3, 4},
            {"row past the block", site(AD_SCHEME_STANDARD, 0.5f, 0, T), 0, 0, T, T + 1},
            {"negative row", site(AD_SCHEME_STANDARD, 0.5f, 0, T), 0, 0, -1, 0},
            {"more weights than the row has", site(AD_SCHEME_STANDARD, 0.5f, 0, T), 0, 0, 3, 5},
            {"fewer weights than the row has", site(AD_SCHEME_STANDARD, 0.5f, 0, T), 0, 0, 3, 3},
            {"head past n_head", site(AD_SCHEME_STANDARD, 0.5f, 0, T), 0, 4, 3, 4},
            {"negative batch row", site(AD_SCHEME_STANDARD, 0.5f, 0, T), -1, 0, 3, 4},
        };
        int nb = (int)(sizeof bad / sizeof bad[0]), refused = 0;
        for (int k = 0; k < nb; k++) {
            e.msg[0] = 0;
            ad_status st = ad_drop_row(&bad[k].s, bad[k].b, bad[k].h, bad[k].i, w, bad[k].n, out, &e);
            CHECK(st == AD_ERR_ARG && e.msg[0], "ad_drop_row with %s: status %d", bad[k].what, (int)st);
            refused += st == AD_ERR_ARG;
        }
        printf("ad_drop_row: %d of %d bad calls refused (e.g. \"%s\")\n", refused, nb, e.msg);
        ad_drop_site ws = site(AD_SCHEME_WORD, 0.5f, 0, T), bs = ws;
        bs.p = 1.0f;
        CHECK(ad_input_mult(&bs, 0, ids, T, mult, &applied, &e) == AD_ERR_ARG, "ad_input_mult at p = 1 accepted");
        CHECK(ad_input_mult(&ws, 0, ids, T + 1, mult, &applied, &e) == AD_ERR_ARG, "ad_input_mult past block_size accepted");
        ids[2] = -5;
        CHECK(ad_input_mult(&ws, 0, ids, T, mult, &applied, &e) == AD_ERR_ARG, "ad_input_mult with a negative id accepted");
        ids[2] = 2;
        CHECK(ad_input_mult(&ws, 0, ids, T, mult, &applied, &e) == AD_OK && applied == 1, "ad_input_mult: word not applied");
        ad_drop_site ss = site(AD_SCHEME_STANDARD, 0.5f, 0, T);
        CHECK(ad_input_mult(&ss, 0, ids, T, mult, &applied, &e) == AD_OK && applied == 0, "ad_input_mult: standard applied");
        CHECK(ad_keep_threshold(1.0) == UINT32_MAX && ad_keep_threshold(NAN) == 0 && ad_keep_threshold(-1.0) == 0,
              "ad_keep_threshold outside [0,1): %u %u %u", ad_keep_threshold(1.0), ad_keep_threshold(NAN),
              ad_keep_threshold(-1.0));
        CHECK(ad_scheme_get((ad_scheme)AD_SCHEME_COUNT) == NULL && ad_scheme_get((ad_scheme)-1) == NULL,
              "ad_scheme_get out of range is not NULL");
        CHECK(strcmp(ad_schedule_name((ad_schedule)7), "unknown") == 0, "ad_schedule_name(7)");
        /* a NaN weight stays visible through a renormalising scheme */
        ad_drop_site rs = site(AD_SCHEME_RENORM, 0.5f, 3, T);
        for (int j = 0; j < T; j++) w[j] = j == 1 ? NAN : 1.0 / T;
        MUST(ad_drop_row(&rs, 0, 0, T - 1, w, T, out, &must_err));
        int nan_out = 0;
        for (int j = 0; j < T; j++) nan_out += isnan(out[j]);
        CHECK(nan_out == T, "renorm turned a row with a NaN weight into %d NaN of %d", nan_out, T);
    }
    return check_done("schemes");
}
