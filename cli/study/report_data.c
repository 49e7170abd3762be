/* report_data.c - what every part of a study's report reads: a run's record
 * and a comparison by key, the statistics' one-line descriptions, the share
 * of dropout's benefit, a setting's role in words, and the atomic writing of
 * the report's files. report.c (the analysis and the CSVs), report_text.c,
 * report_scale.c and report_gptpy.c build on it and on nothing of each other
 * but the sections report_parts.h names. */
#include "report_data.h"
#include "../cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

run_rec *report_run(const rdata *d, int set, int cell, int seed0) {
    return &d->runs[d->base[set] + cell * d->sp->set[set].seeds + seed0];
}

const eff_row *report_find_eff(const rdata *d, int set, int scheme, double p) {
    for (int i = 0; i < d->n_eff; i++) {
        const eff_row *r = &d->eff[i];
        if (r->set == set && d->sp->set[set].cell_scheme[r->cell] == scheme && fabs(d->sp->set[set].cell_p[r->cell] - p) < 1e-12)
            return r;
    }
    return NULL;
}

/* mean and 95% interval of n values (NaN: missing) */
ad_effect report_describe(const double *x, int n) {
    static const double zero[STUDY_MAX_SEEDS];
    ad_effect e;
    ad_effect_paired(&e, x, zero, n, 0.0, NULL);
    return e;
}

double report_final_val(const run_rec *r) { return r->val[r->n_evals - 1]; }

/* "+0.0123 ± 0.0045" (or "+0.0123" with one seed) */
void report_fmt_pm(char *buf, size_t n, double mean, double ci, int digits) {
    if (isnan(mean)) snprintf(buf, n, "n/a");
    else if (isnan(ci)) snprintf(buf, n, "%+.*f", digits, mean);
    else snprintf(buf, n, "%+.*f ± %.*f", digits, mean, digits, ci);
}

/* "+0.0123 ± 0.0045 nats (8 seeds): **worse**" and, if inconclusive, the seeds that would settle it */
void report_fmt_effect(char *buf, size_t n, const ad_effect *e, int learned, double margin) {
    char pm[64];
    report_fmt_pm(pm, sizeof pm, e->mean, e->ci95, 4);
    int k = snprintf(buf, n, "%s (%d seeds)", pm, e->n);
    if (k < 0 || (size_t)k >= n) return;
    if (!learned) { snprintf(buf + k, n - k, ": no verdict (the task was not learned)"); return; }
    if (e->verdict == AD_VERDICT_BETTER || e->verdict == AD_VERDICT_WORSE)
        snprintf(buf + k, n - k, ": **%s**%s", ad_verdict_name(e->verdict),
                 fabs(e->mean) < margin ? ", by less than the margin" : "");
    else if (e->verdict != AD_VERDICT_INCONCLUSIVE) snprintf(buf + k, n - k, ": **%s**", ad_verdict_name(e->verdict));
    else if (e->seeds_needed > 0) snprintf(buf + k, n - k, ": inconclusive; about %d seeds would settle it at this spread", e->seeds_needed);
    else snprintf(buf + k, n - k, ": inconclusive");
}

const char *report_verdict_text(const ad_effect *e, double margin) {
    if (e->verdict == AD_VERDICT_BETTER && fabs(e->mean) < margin) return "better (below the margin)";
    if (e->verdict == AD_VERDICT_WORSE && fabs(e->mean) < margin) return "worse (below the margin)";
    return ad_verdict_name(e->verdict);
}

int report_seeds_present(const rdata *d, int set, int cell) {
    int n = 0;
    for (int s = 0; s < d->sp->set[set].seeds; s++) n += !report_run(d, set, cell, s)->missing;
    return n;
}

/* per seed: the step of the first evaluation at or below the threshold (NaN: never) */
void report_steps_to(const rdata *d, int set, int cell, double *out) {
    const study_setting *st = &d->sp->set[set];
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *r = report_run(d, set, cell, s);
        out[s] = NAN;
        for (int e = 0; e < r->n_evals; e++)
            if (r->val[e] <= d->thr[set]) { out[s] = (double)r->step[e]; break; }
    }
}

/* the share of dropout's benefit a cell keeps: (baseline - cell) / (baseline - reference at its p) */
ad_ratio report_benefit(const rdata *d, int set, int cell, int *std_cell) {
    const study_setting *st = &d->sp->set[set];
    ad_ratio r = {0, NAN, NAN};
    int sc = study_find_cell(st, d->s_ref, st->cell_p[cell]), nc = d->none[set];
    *std_cell = sc;
    if (sc < 0 || nc < 0) return r;
    double a[STUDY_MAX_SEEDS], b[STUDY_MAX_SEEDS];
    for (int s = 0; s < st->seeds; s++) {
        double none = report_final_val(report_run(d, set, nc, s));
        a[s] = none - report_final_val(report_run(d, set, cell, s));
        b[s] = none - report_final_val(report_run(d, set, sc, s));
    }
    ad_ratio_paired(&r, a, b, st->seeds, NULL);
    return r;
}

/* one line for a failed write, the temporary file removed; an exit code */
static int io_fail(const char *path, ad_atomic_file *af, const ad_error *err) {
    if (err->msg[0]) fprintf(stderr, "%s: %s\n", cli_prog, err->msg);
    else fprintf(stderr, "%s: cannot write '%s': %s\n", cli_prog, path, strerror(errno));
    ad_atomic_abort(af);
    return EXIT_INPUT;
}

int report_open_file(ad_atomic_file *af, char *path, size_t n, const char *dir, const char *name) {
    ad_error err = {0};
    memset(af, 0, sizeof *af);
    if (snprintf(path, n, "%s/%s", dir, name) >= (int)n) {
        fprintf(stderr, "%s: the path %s/%s is too long\n", cli_prog, dir, name);
        return EXIT_INPUT;
    }
    return ad_atomic_open(af, path, &err) ? io_fail(path, af, &err) : 0;
}

int report_commit_file(ad_atomic_file *af, const char *path) {
    ad_error err = {0};
    return ad_atomic_commit(af, &err) ? io_fail(path, af, &err) : 0;
}

int report_write_file(const char *dir, const char *name, report_writer w, const rdata *d) {
    char path[4096];
    ad_atomic_file af;
    int rc = report_open_file(&af, path, sizeof path, dir, name);
    if (rc) return rc;
    w(af.f, d);
    return report_commit_file(&af, path);
}

const char *report_role_text(study_role r) {
    return r == ROLE_SMALL ? "small training set: the regime where dropout helps"
         : r == ROLE_SHAPE ? "one head, one layer: question 4"
         : r == ROLE_SCALE ? "a point of the scaling grid"
         : r == ROLE_CORNER ? "gpt.py's context, heads and layers, measured"
         : r == ROLE_LONG ? "a scaling setting trained 4x longer: the effects against the step"
         : r == ROLE_SWEEP ? "the base setting at four rates: the effects against p"
         : r == ROLE_REGIME ? "gpt.py's regime: the text cut so that dropout helps, dropout at all three sites"
         : r == ROLE_GPTPY ? "gpt.py exactly: its shape, schedule, dropout and text"
                           : "more data than the model can memorise";
}

const char *report_role_name(study_role r) {
    static const char *names[] = {"data-rich", "small-data", "shape", "scale", "corner", "long", "sweep", "regime", "gptpy"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

