/* test_sdpa.c - the general fused attention (ad_sdpa_forward/_backward) in
 * C, so that the sanitizer builds run it too: float64 against a naive loop of
 * SDPA's definition (grouped heads, T_q != T_k, D_v != D, a mask broadcast
 * over heads with masked keys and a fully masked row, causal and not); its
 * gradients with a scheme against central differences; float32 against the
 * causal op's kernels with the same site (the same masks); every bad argument
 * refused with AD_ERR_ARG. */
#include "check.h"
#include <string.h>

enum { B = 2, H = 4, HK = 2, TQ = 5, TK = 7, D = 3, DV = 4 };

static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static ad_sdpa_view view(void *x, int heads, int rows, int width) {
    ad_sdpa_view v = {x, (int64_t)heads * rows * width, (int64_t)rows * width, width};
    return v;
}

/* SDPA's definition at p = 0: out (B,H,TQ,DV) */
static void naive(double *out, const double *q, const double *k, const double *v, const double *mask, int causal,
                  double scale) {
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < TQ; i++) {
                int hk = h / (H / HK);
                double s[TK], mx = -INFINITY, sum = 0;
                for (int j = 0; j < TK; j++) {
                    double m = mask[((size_t)b * TQ + i) * TK + j];
                    if ((causal && j > i) || m == -INFINITY) { s[j] = -INFINITY; continue; }
                    double dot = 0;
                    for (int c = 0; c < D; c++)
                        dot += q[(((size_t)b * H + h) * TQ + i) * D + c] * k[(((size_t)b * HK + hk) * TK + j) * D + c];
                    s[j] = dot * scale + m;
                    mx = s[j] > mx ? s[j] : mx;
                }
                for (int j = 0; j < TK; j++) { s[j] = s[j] == -INFINITY ? 0 : exp(s[j] - mx); sum += s[j]; }
                for (int c = 0; c < DV; c++) {
                    double o = 0;
                    for (int j = 0; j < TK; j++) o += sum > 0 ? s[j] / sum * v[(((size_t)b * HK + hk) * TK + j) * DV + c] : 0;
                    out[(((size_t)b * H + h) * TQ + i) * DV + c] = o;
                }
            }
}

static double loss(const ad_sdpa_shape *z, const double *q, const double *k, const double *v, const ad_sdpa_mask *m,
                   const ad_drop_site *site, const double *g, double *out, double *st, void *scr, size_t ns) {
    ad_error e;
    MUST(ad_sdpa_forward(z, view(out, H, TQ, DV), st, view((void *)q, H, TQ, D), view((void *)k, HK, TK, D),
                         view((void *)v, HK, TK, DV), m, site, scr, ns, &e));
    double l = 0;
    for (int x = 0; x < B * H * TQ * DV; x++) l += out[x] * g[x];
    return l;
}

int main(void) {
    static double q[B * H * TQ * D], k[B * HK * TK * D], v[B * HK * TK * DV], mask[B * TQ * TK], g[B * H * TQ * DV];
    static double out[B * H * TQ * DV], ref[B * H * TQ * DV], st[B * H * TQ * 2];
    static double dq[B * H * TQ * D], dk[B * HK * TK * D], dv[B * HK * TK * DV];
    uint64_t seed = 7;
    for (size_t x = 0; x < sizeof q / 8; x++) q[x] = urand(&seed);
    for (size_t x = 0; x < sizeof k / 8; x++) k[x] = urand(&seed);
    for (size_t x = 0; x < sizeof v / 8; x++) v[x] = urand(&seed);
    for (size_t x = 0; x < sizeof g / 8; x++) g[x] = urand(&seed);
    for (size_t x = 0; x < sizeof mask / 8; x++) mask[x] = urand(&seed) < -0.6 ? -INFINITY : urand(&seed);
    for (int j = 0; j < TK; j++) mask[(size_t)(1 * TQ + 3) * TK + j] = -INFINITY; /* batch row 1, query 3: no key */
    ad_sdpa_mask m = {mask, (int64_t)TQ * TK, 0, TK, 1}; /* (B,1,TQ,TK) broadcast over heads */
    ad_error e;
    for (int causal = 0; causal <= 1; causal++) {
        ad_sdpa_shape z = {B, H, HK, TQ, TK, D, DV, causal, AD_DTYPE_F64, 0.6};
        size_t ns = ad_sdpa_scratch_bytes(&z, 3);
        void *scr = malloc(ns);
        CHECK(ns > 0 && scr, "scratch bytes %zu", ns);
        loss(&z, q, k, v, &m, NULL, g, out, st, scr, ns);
        naive(ref, q, k, v, mask, causal, 0.6);
        double worst = 0;
        for (int x = 0; x < B * H * TQ * DV; x++) worst = fmax(worst, fabs(out[x] - ref[x]));
        CHECK(worst < 1e-13, "causal %d: float64 differs from SDPA's definition by %g", causal, worst);
        int zero = 1;
        for (int h = 0; h < H; h++)
            for (int c = 0; c < DV; c++) zero &= out[(((size_t)1 * H + h) * TQ + 3) * DV + c] == 0.0;
        CHECK(zero, "causal %d: the fully masked row is not zero", causal);
        /* gradients with a scheme (fixed keys: fixed masks) against central differences */
        ad_drop_site site = {AD_SCHEME_NONZERO, 0.4f, 3, 1, 2, 0, 0, 0, 0};
        loss(&z, q, k, v, &m, &site, g, out, st, scr, ns);
        MUST(ad_sdpa_backward(&z, view(dq, H, TQ, D), view(dk, HK, TK, D), view(dv, HK, TK, DV), view(g, H, TQ, DV),
                              view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), &m, st, &site, scr, ns,
                              &must_err));
        double *xs[3] = {q, k, v}, *ds[3] = {dq, dk, dv}, worst_g = 0;
        size_t n[3] = {sizeof q / 8, sizeof k / 8, sizeof v / 8};
        static double o2[B * H * TQ * DV], s2[B * H * TQ * 2];
        for (int t = 0; t < 3; t++)
            for (size_t x = 0; x < n[t]; x += 5) {
                double keep = xs[t][x], hstep = 1e-6;
                xs[t][x] = keep + hstep;
                double lp = loss(&z, q, k, v, &m, &site, g, o2, s2, scr, ns);
                xs[t][x] = keep - hstep;
                double lm = loss(&z, q, k, v, &m, &site, g, o2, s2, scr, ns);
                xs[t][x] = keep;
                worst_g = fmax(worst_g, fabs((lp - lm) / (2 * hstep) - ds[t][x]));
            }
        CHECK(worst_g < 1e-7, "causal %d: gradients differ from central differences by %g", causal, worst_g);
        free(scr);
    }
    /* float32, causal, T_q = T_k, no mask: the causal op's masks, so its output within rounding */
    {
        enum { T = 19, HS = 8, N = B * H * T * HS };
        static float qf[N], kf[N], vf[N], o1[N], o2[N], s1[B * H * T * 2], s2[B * H * T * 2];
        for (int x = 0; x < N; x++) { qf[x] = (float)urand(&seed); kf[x] = (float)urand(&seed); vf[x] = (float)urand(&seed); }
        ad_view c = {qf, (int64_t)H * T * HS, (int64_t)T * HS, HS}, ck = c, cv = c, co = c;
        ck.data = kf; cv.data = vf; co.data = o1;
        size_t nf = ad_attention_scratch_floats(T, HS, 1);
        float *scr1 = malloc(nf * 4);
        ad_sdpa_shape z = {B, H, H, T, T, HS, HS, 1, AD_DTYPE_F32, 0.35};
        size_t ns = ad_sdpa_scratch_bytes(&z, 1);
        void *scr2 = malloc(ns);
        int same = 0, schemes = 0;
        for (int s = 1; s < AD_SCHEME_COUNT; s++) {
            if (ad_scheme_get(s)->where == AD_WHERE_INPUT) continue;
            schemes++;
            ad_drop_site site = {s, 0.3f, 5, 7, 1, H, T, 0, 3};
            MUST(ad_attention_forward(co, s1, c, ck, cv, B, H, T, HS, 0.35f, &site, scr1, nf, &must_err));
            MUST(ad_sdpa_forward(&z, view(o2, H, T, HS), s2, view(qf, H, T, HS), view(kf, H, T, HS),
                                 view(vf, H, T, HS), NULL, &site, scr2, ns, &must_err));
            double worst = 0;
            for (int x = 0; x < N; x++) worst = fmax(worst, fabs((double)o1[x] - o2[x]));
            same += worst < 64 * T * 4 * 0x1p-24;
        }
        CHECK(same == schemes, "the general kernels' masks differ from the causal op's in %d of %d schemes",
              schemes - same, schemes);
        free(scr1);
        free(scr2);
    }
    /* bad arguments */
    {
        ad_sdpa_shape ok = {B, H, HK, TQ, TK, D, DV, 0, AD_DTYPE_F64, 0.5};
        size_t ns = ad_sdpa_scratch_bytes(&ok, 1);
        void *scr = malloc(ns);
        ad_sdpa_shape bad[6];
        for (int i = 0; i < 6; i++) bad[i] = ok;
        bad[0].H_kv = 3;             /* 4 heads not a multiple of 3 */
        bad[1].causal = 2;
        bad[2].dtype = 7;
        bad[3].scale = NAN;
        bad[4].T_k = AD_MAX_BLOCK + 1;
        bad[5].B = 0;
        const char *what[6] = {"H not a multiple of H_kv", "causal 2", "dtype 7", "a NaN scale", "T_k too long", "B = 0"};
        for (int i = 0; i < 6; i++) {
            CHECK(ad_sdpa_forward(&bad[i], view(out, H, TQ, DV), st, view(q, H, TQ, D), view(k, HK, TK, D),
                                  view(v, HK, TK, DV), NULL, NULL, scr, ns, &e) == AD_ERR_ARG,
                  "forward with %s accepted", what[i]);
            CHECK(ad_sdpa_scratch_bytes(&bad[i], 1) == 0, "scratch for %s", what[i]);
        }
        ad_sdpa_mask neg = {mask, -1, 0, TK, 1};
        ad_drop_site word = {AD_SCHEME_WORD, 0.2f, 1, 1, 0, 0, 0, 0, 0};
        ad_drop_site heads = {AD_SCHEME_STANDARD, 0.2f, 1, 1, 0, H + 1, 0, 0, 0};
        ad_sdpa_view null = {NULL, 0, 0, 0}, narrow = view(v, HK, TK, DV);
        narrow.stride_t = DV - 1;
        struct { const char *what; ad_status st; } cases[] = {
            {"NULL shape", ad_sdpa_forward(NULL, view(out, H, TQ, DV), st, view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), NULL, NULL, scr, ns, &e)},
            {"NULL stats", ad_sdpa_forward(&ok, view(out, H, TQ, DV), NULL, view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), NULL, NULL, scr, ns, &e)},
            {"NULL q", ad_sdpa_forward(&ok, view(out, H, TQ, DV), st, null, view(k, HK, TK, D), view(v, HK, TK, DV), NULL, NULL, scr, ns, &e)},
            {"v rows narrower than D_v", ad_sdpa_forward(&ok, view(out, H, TQ, DV), st, view(q, H, TQ, D), view(k, HK, TK, D), narrow, NULL, NULL, scr, ns, &e)},
            {"a negative mask stride", ad_sdpa_forward(&ok, view(out, H, TQ, DV), st, view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), &neg, NULL, scr, ns, &e)},
            {"scratch too small", ad_sdpa_forward(&ok, view(out, H, TQ, DV), st, view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), NULL, NULL, scr, ns - 1, &e)},
            {"the word scheme", ad_sdpa_forward(&ok, view(out, H, TQ, DV), st, view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), NULL, &word, scr, ns, &e)},
            {"a site of other heads", ad_sdpa_forward(&ok, view(out, H, TQ, DV), st, view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), NULL, &heads, scr, ns, &e)},
            {"NULL dk (backward)", ad_sdpa_backward(&ok, view(dq, H, TQ, D), null, view(dv, HK, TK, DV), view(g, H, TQ, DV), view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), NULL, st, NULL, scr, ns, &e)},
            {"NULL stats (backward)", ad_sdpa_backward(&ok, view(dq, H, TQ, D), view(dk, HK, TK, D), view(dv, HK, TK, DV), view(g, H, TQ, DV), view(q, H, TQ, D), view(k, HK, TK, D), view(v, HK, TK, DV), NULL, NULL, NULL, scr, ns, &e)},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            CHECK(cases[i].st == AD_ERR_ARG, "ad_sdpa with %s: status %d", cases[i].what, (int)cases[i].st);
        free(scr);
    }
    return check_done("sdpa");
}
