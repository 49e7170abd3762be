/* effects.c - the study's statistics: paired differences over seeds with a
 * Student-t interval, the verdict against a margin of practical
 * equivalence, the seeds a verdict would need, and a paired ratio with a
 * delta-method interval, and the weighted least-squares fits (with their
 * chi-square goodness of fit) that the scaling study describes its axes
 * with. Pure functions over arrays; NaN marks a missing seed. */
#include "../core/internal.h"
#include <math.h>
#include <string.h>

/* two-sided 95% Student t quantiles t(0.975, df), df 1..30 */
static const double t975_table[30] = {12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
                                      2.262157,  2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
                                      2.109816,  2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
                                      2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272};

double ad_t975(int df) {
    if (df < 1) return NAN;
    if (df <= 30) return t975_table[df - 1];
    /* Cornish-Fisher expansion about the normal quantile: within 1e-4 for df > 30 */
    double z = 1.959963985, v = (double)df, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

const char *ad_verdict_name(ad_verdict v) {
    switch (v) {
    case AD_VERDICT_EQUIVALENT: return "equivalent";
    case AD_VERDICT_BETTER: return "better";
    case AD_VERDICT_WORSE: return "worse";
    default: return "inconclusive";
    }
}

ad_verdict ad_verdict_of(double mean, double ci, double margin) {
    if (!isfinite(mean) || !isfinite(ci)) return AD_VERDICT_INCONCLUSIVE;
    double lo = mean - ci, hi = mean + ci;
    if (lo >= -margin && hi <= margin) return AD_VERDICT_EQUIVALENT;
    if (hi < 0.0) return AD_VERDICT_BETTER;
    if (lo > 0.0) return AD_VERDICT_WORSE;
    return AD_VERDICT_INCONCLUSIVE;
}

/* The smallest n' > n whose interval, at this mean and spread, would be
 * decisive: t(n'-1) sd / sqrt(n') < max(margin - |mean|, |mean|). */
static int seeds_needed(double mean, double sd, double margin, int n) {
    double room = fmax(margin - fabs(mean), fabs(mean));
    if (!(sd > 0.0) || !(room > 0.0)) return 0;
    for (int k = n + 1; k <= AD_EFFECT_MAX_SEEDS; k++)
        if (ad_t975(k - 1) * sd / sqrt((double)k) < room) return k;
    return -1;
}

ad_status ad_effect_paired(ad_effect *e, const double *a, const double *b, int n, double margin, ad_error *err) {
    e->n = 0;
    e->mean = e->sd = e->ci95 = NAN;
    e->verdict = AD_VERDICT_INCONCLUSIVE;
    e->seeds_needed = 0;
    if (n < 0 || !(margin >= 0.0)) return ad_fail(err, AD_ERR_ARG, "effect: bad count %d or margin %g", n, margin);
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i])) { sum += a[i] - b[i]; e->n++; }
    if (e->n == 0) return AD_OK;
    e->mean = sum / e->n;
    if (e->n < 2) { e->seeds_needed = -1; return AD_OK; }
    double ss = 0.0;
    for (int i = 0; i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i])) { double d = a[i] - b[i] - e->mean; ss += d * d; }
    e->sd = sqrt(ss / (e->n - 1));
    e->ci95 = ad_t975(e->n - 1) * e->sd / sqrt((double)e->n);
    e->verdict = ad_verdict_of(e->mean, e->ci95, margin);
    if (e->verdict == AD_VERDICT_INCONCLUSIVE) e->seeds_needed = seeds_needed(e->mean, e->sd, margin, e->n);
    return AD_OK;
}

ad_status ad_ratio_paired(ad_ratio *r, const double *num, const double *den, int n, ad_error *err) {
    r->n = 0;
    r->ratio = r->ci95 = NAN;
    if (n < 0) return ad_fail(err, AD_ERR_ARG, "ratio: bad count %d", n);
    double ma = 0.0, mb = 0.0;
    for (int i = 0; i < n; i++)
        if (isfinite(num[i]) && isfinite(den[i])) { ma += num[i]; mb += den[i]; r->n++; }
    if (r->n == 0) return AD_OK;
    ma /= r->n;
    mb /= r->n;
    if (mb == 0.0) return AD_OK;
    r->ratio = ma / mb;
    if (r->n < 2) return AD_OK;
    double vaa = 0.0, vbb = 0.0, vab = 0.0;
    for (int i = 0; i < n; i++)
        if (isfinite(num[i]) && isfinite(den[i])) {
            double da = num[i] - ma, db = den[i] - mb;
            vaa += da * da; vbb += db * db; vab += da * db;
        }
    vaa /= r->n - 1; vbb /= r->n - 1; vab /= r->n - 1;
    /* var(mean a / mean b) ~ (var a - 2 R cov ab + R^2 var b) / (n mean_b^2) */
    double v = (vaa - 2.0 * r->ratio * vab + r->ratio * r->ratio * vbb) / (r->n * mb * mb);
    r->ci95 = ad_t975(r->n - 1) * sqrt(v > 0.0 ? v : 0.0);
    return AD_OK;
}

/* Q(dof/2, x/2) for integer dof: for even dof e^(-h) sum_{j<dof/2} h^j/j!; for odd dof
 * erfc(sqrt h) + e^(-h) sum_{j=1}^{(dof-1)/2} h^(j-1/2)/Gamma(j+1/2), with h = x/2 */
/* Q(a, y), the regularised upper incomplete gamma function, for a > 0 and y > 0: the series of P for
 * y < a + 1, Lentz's continued fraction for Q otherwise, the prefactor y^a e^-y / Gamma(a) in logarithms so
 * that nothing underflows before the end */
static double gamma_q(double a, double y) {
    const double eps = 1e-16, tiny = 1e-300;
    double lpre = a * log(y) - y - lgamma(a);
    if (y < a + 1.0) {
        double term = 1.0 / a, sum = term;
        for (int n = 1; n < 100000 && fabs(term) > fabs(sum) * eps; n++) {
            term *= y / (a + n);
            sum += term;
        }
        double p = exp(lpre) * sum;
        return p < 1.0 ? 1.0 - p : 0.0;
    }
    double b = y + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 100000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < eps) break;
    }
    return exp(lpre) * h;
}

double ad_chi2_sf(double x, int dof) {
    if (dof < 1 || isnan(x)) return NAN;
    if (x <= 0.0) return 1.0;
    if (isinf(x)) return 0.0;
    double h = 0.5 * x, sum;
    if (dof > 1000) { /* the exact sums take dof/2 terms: the incomplete gamma function instead */
        sum = gamma_q(0.5 * dof, h);
    } else if (dof % 2 == 0) { /* e^-h sum_{j < dof/2} h^j / j!, each term by its logarithm (e^-h alone underflows) */
        sum = 0.0;
        for (int j = 0; j < dof / 2; j++) sum += exp(j * log(h) - h - lgamma(j + 1.0));
    } else { /* erfc(sqrt h) + sum_{1 <= j <= (dof-1)/2} h^(j-1/2) e^-h / Gamma(j+1/2) */
        sum = erfc(sqrt(h));
        for (int j = 1; j <= (dof - 1) / 2; j++) sum += exp((j - 0.5) * log(h) - h - lgamma(j + 0.5));
    }
    return sum < 1.0 ? sum : 1.0;
}

ad_status ad_fit_wls(ad_fit *fit, const double *x, const double *y, const double *se, int n, int k, ad_error *err) {
    if (!fit) return ad_fail(err, AD_ERR_ARG, "fit: NULL result");
    memset(fit, 0, sizeof *fit);
    fit->coef[0] = fit->coef[1] = fit->se[0] = fit->se[1] = fit->chi2 = fit->p_value = NAN;
    if (k < 1 || k > 2 || n < 0 || (n > 0 && (!x || !y || !se)))
        return ad_fail(err, AD_ERR_ARG, "fit: bad sizes (n %d, k %d) or a NULL array", n, k);
    double a[3] = {0.0, 0.0, 0.0}, b[2] = {0.0, 0.0}; /* the normal equations: [a0 a1; a1 a2] c = b */
    int used = 0;
    /* the weights relative to the smallest standard error, s0: 1/se^2 itself overflows or underflows for
     * standard errors far from 1, while the coefficients do not depend on the weights' scale */
    double s0 = INFINITY;
    for (int i = 0; i < n; i++) {
        int ok = isfinite(y[i]) && isfinite(se[i]);
        for (int j = 0; j < k; j++) ok = ok && isfinite(x[i * k + j]);
        if (!ok) continue;
        if (!(se[i] > 0.0)) return ad_fail(err, AD_ERR_ARG, "fit: point %d has standard error %g (must be > 0)", i, se[i]);
        if (se[i] < s0) s0 = se[i];
    }
    for (int i = 0; i < n; i++) {
        int ok = isfinite(y[i]) && isfinite(se[i]);
        for (int j = 0; j < k; j++) ok = ok && isfinite(x[i * k + j]);
        if (!ok) continue;
        double rel = s0 / se[i], w = rel * rel, x0 = x[i * k], x1 = k == 2 ? x[i * k + 1] : 0.0;
        a[0] += w * x0 * x0; a[1] += w * x0 * x1; a[2] += w * x1 * x1;
        b[0] += w * x0 * y[i]; b[1] += w * x1 * y[i];
        used++;
    }
    if (used < k) return ad_fail(err, AD_ERR_ARG, "fit: %d usable points for %d coefficients", used, k);
    if (k == 1) {
        if (!(a[0] > 0.0)) return ad_fail(err, AD_ERR_ARG, "fit: the regressor is zero at every point");
        fit->coef[0] = b[0] / a[0];
        fit->se[0] = s0 * sqrt(1.0 / a[0]);
    } else {
        double det = a[0] * a[2] - a[1] * a[1];
        if (!(det > 1e-12 * a[0] * a[2])) return ad_fail(err, AD_ERR_ARG, "fit: the two regressors are collinear");
        fit->coef[0] = (a[2] * b[0] - a[1] * b[1]) / det;
        fit->coef[1] = (a[0] * b[1] - a[1] * b[0]) / det;
        fit->se[0] = s0 * sqrt(a[2] / det);
        fit->se[1] = s0 * sqrt(a[0] / det);
    }
    if (!isfinite(fit->coef[0]) || !isfinite(fit->se[0]) || (k == 2 && (!isfinite(fit->coef[1]) || !isfinite(fit->se[1])))) {
        double keep = fit->coef[0];
        fit->coef[0] = fit->coef[1] = fit->se[0] = fit->se[1] = NAN;
        return ad_fail(err, AD_ERR_NUMERIC, "fit: the coefficients or their errors overflow (%g): rescale the data", keep);
    }
    double chi2 = 0.0;
    for (int i = 0; i < n; i++) {
        int ok = isfinite(y[i]) && isfinite(se[i]);
        for (int j = 0; j < k; j++) ok = ok && isfinite(x[i * k + j]);
        if (!ok) continue;
        double pred = fit->coef[0] * x[i * k] + (k == 2 ? fit->coef[1] * x[i * k + 1] : 0.0), r = (y[i] - pred) / se[i];
        chi2 += r * r;
    }
    fit->n = used;
    fit->k = k;
    fit->dof = used - k;
    fit->chi2 = chi2;
    fit->p_value = fit->dof > 0 ? ad_chi2_sf(chi2, fit->dof) : NAN;
    return AD_OK;
}
