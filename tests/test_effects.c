/* test_effects.c - the study's paired statistics against values worked out
 * by hand: means, standard deviations and t intervals of small tables, the
 * verdict rules at their boundaries, zero spread, two seeds, one seed, a
 * missing seed, the seeds a verdict would need, the t quantiles, and the
 * delta-method ratio. */
#include "attndrop.h"
#include "check.h"

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
    return check_done("test_effects");
}
