/* test_effects.c - the study's paired statistics against values worked out
 * by hand: means, standard deviations and t intervals of small tables, the
 * verdict rules at their boundaries, zero spread, two seeds, one seed, a
 * missing seed, the seeds a verdict would need, the t quantiles, and the
 * delta-method ratio. */
#include "attndrop.h"
#include "check.h"
#include <string.h>

#define NEAR(x, want, tol, what) CHECK(fabs((x) - (want)) <= (tol), "%s: %.9g, expected %.9g", what, (double)(x), (double)(want))

int main(void) {
    ad_effect e;
    /* t quantiles: the table and the expansion beyond df 30 (R's qt(0.975, df)) */
    NEAR(ad_t975(1), 12.706205, 1e-6, "t(1)");
    NEAR(ad_t975(7), 2.364624, 1e-6, "t(7)");
    NEAR(ad_t975(30), 2.042272, 1e-6, "t(30)");
    NEAR(ad_t975(40), 2.021075, 1e-4, "t(40)");
    NEAR(ad_t975(100), 1.983972, 1e-4, "t(100)");
    NEAR(ad_t975(1000), 1.962339, 1e-4, "t(1000)");
    CHECK(isnan(ad_t975(0)), "t(0) must be NaN");

    /* three seeds: differences 0.1, 0.2, 0.1; mean 0.133333, sd 0.057735, ci 4.3027*0.057735/sqrt(3) = 0.143423 */
    double a1[3] = {1.0, 2.0, 3.0}, b1[3] = {0.9, 1.8, 2.9};
    CHECK(ad_effect_paired(&e, a1, b1, 3, 0.01, NULL) == AD_OK, "effect of 3");
    CHECK(e.n == 3, "n = %d", e.n);
    NEAR(e.mean, 0.1333333333, 1e-9, "mean of 3");
    NEAR(e.sd, 0.0577350269, 1e-9, "sd of 3");
    NEAR(e.ci95, 0.143423, 1e-5, "ci of 3");
    CHECK(e.verdict == AD_VERDICT_INCONCLUSIVE, "[-0.010, 0.277] is inconclusive, got %s", ad_verdict_name(e.verdict));
    /* the interval must fall below |mean| = 0.1333: at 4 seeds 3.1824*0.057735/2 = 0.0919 does */
    CHECK(e.seeds_needed == 4, "seeds needed: %d, expected 4", e.seeds_needed);

    /* a missing seed (NaN) drops its pair: the same table as above */
    double a2[4] = {1.0, NAN, 3.0, 2.0}, b2[4] = {0.8, 1.0, 2.9, 1.9};
    ad_effect_paired(&e, a2, b2, 4, 0.01, NULL);
    CHECK(e.n == 3, "pairs with a NaN are skipped: n = %d", e.n);
    NEAR(e.mean, 0.1333333333, 1e-9, "mean without the missing seed");
    NEAR(e.ci95, 0.143423, 1e-5, "ci without the missing seed");

    /* two seeds: differences 0.05, 0.09; sd 0.0282843, ci 12.7062*0.0282843/sqrt(2) = 0.254124;
     * 3 seeds give 4.3027*0.0282843/sqrt(3) = 0.07026 > 0.07, 4 seeds 0.0450 < 0.07 */
    double a3[2] = {0.5, 0.7}, b3[2] = {0.45, 0.61};
    ad_effect_paired(&e, a3, b3, 2, 0.01, NULL);
    NEAR(e.mean, 0.07, 1e-12, "mean of 2");
    NEAR(e.ci95, 0.254124, 1e-5, "ci of 2");
    CHECK(e.verdict == AD_VERDICT_INCONCLUSIVE && e.seeds_needed == 4, "2 seeds: %s, needs %d (expected 4)",
          ad_verdict_name(e.verdict), e.seeds_needed);

    /* zero spread (exact binary fractions): the interval is a point */
    double a4[3] = {1.0078125, 2.0078125, 0.5078125}, b4[3] = {1.0, 2.0, 0.5};
    ad_effect_paired(&e, a4, b4, 3, 0.01, NULL);
    CHECK(e.sd == 0.0 && e.ci95 == 0.0, "zero spread: sd %g ci %g", e.sd, e.ci95);
    CHECK(e.verdict == AD_VERDICT_EQUIVALENT && e.seeds_needed == 0, "0.0078 with no spread is equivalent, got %s",
          ad_verdict_name(e.verdict));
    double a5[3] = {0.984375, 1.984375, 0.484375};
    ad_effect_paired(&e, a5, b4, 3, 0.01, NULL);
    CHECK(e.verdict == AD_VERDICT_BETTER, "-0.0156 with no spread is better, got %s", ad_verdict_name(e.verdict));

    /* four seeds, all worse: differences 0.1, 0.2, 0.15, 0.12; sd 0.0434933, ci 3.1824*0.0434933/2 = 0.069207 */
    double a6[4] = {1.1, 1.2, 1.15, 1.12}, b6[4] = {1.0, 1.0, 1.0, 1.0};
    ad_effect_paired(&e, a6, b6, 4, 0.01, NULL);
    NEAR(e.mean, 0.1425, 1e-12, "mean of 4");
    NEAR(e.ci95, 0.069207, 1e-5, "ci of 4");
    CHECK(e.verdict == AD_VERDICT_WORSE && e.seeds_needed == 0, "worse expected, got %s", ad_verdict_name(e.verdict));
    /* the same table against a margin of 0.5: inside it, so equivalent even though above 0 */
    ad_effect_paired(&e, a6, b6, 4, 0.5, NULL);
    CHECK(e.verdict == AD_VERDICT_EQUIVALENT, "within a margin of 0.5 is equivalent, got %s", ad_verdict_name(e.verdict));

    /* one seed: a mean but no interval; none: nothing */
    ad_effect_paired(&e, a1, b1, 1, 0.01, NULL);
    CHECK(e.n == 1 && fabs(e.mean - 0.1) < 1e-12 && isnan(e.ci95) && e.verdict == AD_VERDICT_INCONCLUSIVE &&
              e.seeds_needed == -1, "one seed: n %d mean %g ci %g needs %d", e.n, e.mean, e.ci95, e.seeds_needed);
    ad_effect_paired(&e, a1, b1, 0, 0.01, NULL);
    CHECK(e.n == 0 && isnan(e.mean), "no seed: n %d mean %g", e.n, e.mean);
    CHECK(ad_effect_paired(&e, a1, b1, 3, -1.0, NULL) == AD_ERR_ARG, "a negative margin is refused");

    /* verdict rules at their boundaries: the interval may touch the margin, not 0 */
    CHECK(ad_verdict_of(0.0, 0.01, 0.01) == AD_VERDICT_EQUIVALENT, "[-m, m] is equivalent");
    CHECK(ad_verdict_of(0.005, 0.01, 0.01) == AD_VERDICT_INCONCLUSIVE, "[-0.005, 0.015] is inconclusive");
    CHECK(ad_verdict_of(0.02, 0.01, 0.01) == AD_VERDICT_WORSE, "[0.01, 0.03] is worse");
    CHECK(ad_verdict_of(-0.02, 0.01, 0.01) == AD_VERDICT_BETTER, "[-0.03, -0.01] is better");
    CHECK(ad_verdict_of(0.015, 0.015, 0.01) == AD_VERDICT_INCONCLUSIVE, "[0, 0.03] touches 0: inconclusive");
    CHECK(ad_verdict_of(NAN, 0.01, 0.01) == AD_VERDICT_INCONCLUSIVE, "NaN is inconclusive");

    /* ratio: num 0.05, 0.06, 0.07 over den 0.1: 0.6; var = 1e-4 / (3 * 0.01), ci = 4.3027 * 0.057735 = 0.248417 */
    ad_ratio r;
    double num[3] = {0.05, 0.06, 0.07}, den[3] = {0.1, 0.1, 0.1};
    CHECK(ad_ratio_paired(&r, num, den, 3, NULL) == AD_OK, "ratio");
    NEAR(r.ratio, 0.6, 1e-12, "ratio");
    NEAR(r.ci95, 0.248417, 1e-5, "ratio ci");
    /* a denominator whose values move with the numerator: num = den gives a ratio of exactly 1, no spread */
    double d2[3] = {0.1, 0.2, 0.3};
    ad_ratio_paired(&r, d2, d2, 3, NULL);
    NEAR(r.ratio, 1.0, 1e-12, "ratio of equals");
    NEAR(r.ci95, 0.0, 1e-9, "ratio of equals: ci");
    double zeros[2] = {0.0, 0.0};
    ad_ratio_paired(&r, num, zeros, 2, NULL);
    CHECK(isnan(r.ratio), "a zero denominator gives NaN, got %g", r.ratio);
    /* the chi-square tail at the 5% critical values (R's qchisq(0.95, df)) and closed forms */
    NEAR(ad_chi2_sf(3.841459, 1), 0.05, 1e-6, "chi2 sf(3.84, 1)");
    NEAR(ad_chi2_sf(5.991465, 2), 0.05, 1e-6, "chi2 sf(5.99, 2)");
    NEAR(ad_chi2_sf(7.814728, 3), 0.05, 1e-6, "chi2 sf(7.81, 3)");
    NEAR(ad_chi2_sf(11.070498, 5), 0.05, 1e-6, "chi2 sf(11.07, 5)");
    NEAR(ad_chi2_sf(18.307038, 10), 0.05, 1e-6, "chi2 sf(18.31, 10)");
    NEAR(ad_chi2_sf(2.0, 2), exp(-1.0), 1e-12, "chi2 sf(2, 2) = e^-1");
    NEAR(ad_chi2_sf(1.0, 1), erfc(sqrt(0.5)), 1e-12, "chi2 sf(1, 1)");
    NEAR(ad_chi2_sf(0.0, 3), 1.0, 0.0, "chi2 sf(0, 3)");
    CHECK(isnan(ad_chi2_sf(1.0, 0)), "chi2 sf with 0 dof must be NaN");
    /* large dof: e^(-x/2) underflows from x near 1490, yet the tail is near 1/2 at x = dof. The Wilson-Hilferty
     * cube-root normal approximation is good to about 1e-4 there; the exact sums (dof <= 1000) and the
     * incomplete gamma function (beyond) must agree with it and with each other across the switch */
    {
        int dofs[] = {999, 1000, 1001, 1500, 4000, 100000};
        for (int i = 0; i < 6; i++)
            for (double z = -2.0; z <= 2.0; z += 1.0) {
                double k = dofs[i], x = k + z * sqrt(2.0 * k), c = 2.0 / (9.0 * k);
                double wh = 0.5 * erfc((cbrt(x / k) - (1.0 - c)) / sqrt(c) / sqrt(2.0));
                double got = ad_chi2_sf(x, dofs[i]);
                CHECK(fabs(got - wh) < 1e-3, "chi2 sf at dof %d, z %g: %.6f, Wilson-Hilferty %.6f", dofs[i], z, got, wh);
            }
        NEAR(ad_chi2_sf(1500.0, 1500), 0.4951, 1e-3, "chi2 sf(1500, 1500)");
        double t = ad_chi2_sf(3000.0, 1000); /* far in the tail: tiny, but not 0 */
        CHECK(t > 0.0 && t < 1e-100, "chi2 sf(3000, 1000) = %g", t);
        t = ad_chi2_sf(3000.0, 998);
        CHECK(t > 0.0 && t < 1e-100, "chi2 sf(3000, 998) = %g", t);
    }

    /* weighted least squares: y = 2x through the origin, unit errors at x = 1, 2, 3 fit exactly; a
     * y of (2, 4, 7) at se (1, 1, 0.5), w = 1/se^2, gives coef = sum(w x y)/sum(w x^2) = (2 + 8 + 4*3*7)/(1 + 4 + 36) */
    ad_fit fit;
    double fx[3] = {1, 2, 3}, fy[3] = {2, 4, 6}, fse[3] = {1, 1, 1};
    CHECK(ad_fit_wls(&fit, fx, fy, fse, 3, 1, NULL) == AD_OK, "fit y = 2x");
    NEAR(fit.coef[0], 2.0, 1e-12, "slope of y = 2x");
    NEAR(fit.se[0], 1.0 / sqrt(14.0), 1e-12, "slope se 1/sqrt(sum x^2)");
    NEAR(fit.chi2, 0.0, 1e-20, "exact fit chi2");
    CHECK(fit.dof == 2 && fabs(fit.p_value - 1.0) < 1e-12, "exact fit: dof %d p %g", fit.dof, fit.p_value);
    double fy2[3] = {2, 4, 7}, fse2[3] = {1, 1, 0.5};
    CHECK(ad_fit_wls(&fit, fx, fy2, fse2, 3, 1, NULL) == AD_OK, "weighted fit");
    NEAR(fit.coef[0], 94.0 / 41.0, 1e-12, "weighted slope");
    double c94 = 94.0 / 41.0, r0 = 2 - c94, r1 = 4 - 2 * c94, r2 = (7 - 3 * c94) / 0.5;
    NEAR(fit.chi2, r0 * r0 + r1 * r1 + r2 * r2, 1e-12, "weighted chi2");
    /* two regressors: intercept and slope of y = 1 + 0.5 t, exactly; the errors of an unweighted line */
    double fx2[8] = {1, 0, 1, 1, 1, 2, 1, 3}, fy3[4] = {1, 1.5, 2, 2.5}, fse3[4] = {1, 1, 1, 1};
    CHECK(ad_fit_wls(&fit, fx2, fy3, fse3, 4, 2, NULL) == AD_OK, "line fit");
    NEAR(fit.coef[0], 1.0, 1e-12, "intercept");
    NEAR(fit.coef[1], 0.5, 1e-12, "slope");
    NEAR(fit.se[1], 1.0 / sqrt(5.0), 1e-12, "slope se 1/sqrt(sum (t - mean t)^2)");
    NEAR(fit.se[0], sqrt(14.0 / 20.0), 1e-12, "intercept se sqrt(sum t^2 / det)");
    CHECK(fit.dof == 2, "line dof %d", fit.dof);
    /* a missing point is left out; bad input refused */
    double fy4[3] = {2, NAN, 6};
    CHECK(ad_fit_wls(&fit, fx, fy4, fse, 3, 1, NULL) == AD_OK && fit.n == 2 && fit.dof == 1, "a NaN point left out");
    ad_error ferr = {0};
    double fbad[3] = {1, 0, 1};
    CHECK(ad_fit_wls(&fit, fx, fy, fbad, 3, 1, &ferr) == AD_ERR_ARG && strstr(ferr.msg, "standard error"), "se 0 refused: %s", ferr.msg);
    CHECK(ad_fit_wls(&fit, fx, fy, fse, 3, 3, NULL) == AD_ERR_ARG, "k = 3 refused");
    CHECK(ad_fit_wls(&fit, fx, fy, fse, 1, 2, NULL) == AD_ERR_ARG, "fewer points than coefficients refused");
    double coll[6] = {1, 2, 2, 4, 3, 6};
    CHECK(ad_fit_wls(&fit, coll, fy, fse, 3, 2, NULL) == AD_ERR_ARG, "collinear regressors refused");
    CHECK(ad_fit_wls(NULL, fx, fy, fse, 3, 1, NULL) == AD_ERR_ARG, "NULL result refused");
    /* the same fit at standard errors scaled by 1e-200 and 1e200: the same coefficients, errors scaled alike */
    {
        ad_fit ref, tiny_fit, huge_fit;
        double st[3], sh[3];
        for (int i = 0; i < 3; i++) { st[i] = fse2[i] * 1e-200; sh[i] = fse2[i] * 1e200; }
        CHECK(ad_fit_wls(&ref, fx, fy2, fse2, 3, 1, NULL) == AD_OK, "weighted fit");
        CHECK(ad_fit_wls(&tiny_fit, fx, fy2, st, 3, 1, NULL) == AD_OK && ad_fit_wls(&huge_fit, fx, fy2, sh, 3, 1, NULL) == AD_OK,
              "fits with standard errors of 1e-200 and 1e200 refused");
        NEAR(tiny_fit.coef[0], ref.coef[0], 1e-12 * fabs(ref.coef[0]), "coefficient with se 1e-200");
        NEAR(huge_fit.coef[0], ref.coef[0], 1e-12 * fabs(ref.coef[0]), "coefficient with se 1e200");
        NEAR(tiny_fit.se[0] / 1e-200, ref.se[0], 1e-12 * ref.se[0], "its error with se 1e-200");
        NEAR(huge_fit.se[0] / 1e200, ref.se[0], 1e-12 * ref.se[0], "its error with se 1e200");
        NEAR(huge_fit.chi2, 0.0, 1e-300, "chi2 with se 1e200 is about 0");
    }
    return check_done("test_effects");
}
