/* report_scale.c - the scaling grid's analysis (the settings of role
 * ROLE_SCALE, `study --scale`): the zero-row comparisons along three axes
 * (context T, heads H, layers L) that share one base setting, the fits that
 * describe each axis (weighted least squares, the library's ad_fit_wls), and
 * the prediction for gpt.py's shape by an additive model of the axes, paired
 * over seeds. Writes scale.csv, scale_fits.csv, scale_prediction.csv, the
 * plot data plots/<axis>.scale.dat and the report's scaling section. */
#include "report_data.h"
#include "../cli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { AXES = 3, MAX_POINTS = STUDY_MAX_SETTINGS, MAX_CMP = 4, N_RATES = 2, WHOLE = 0, EARLY = 1 };

static const char *axis_name[AXES] = {"context", "heads", "layers"};
static const char *axis_letter[AXES] = {"T", "H", "L"};
/* gpt.py's shape, the point the prediction is for */
static const int target[AXES] = {256, 6, 6};
static const double rates[N_RATES] = {0.2, 0.5};
static const char *measure_name[2] = {"whole", "pos0-3"};

typedef struct {
    int n, set[MAX_POINTS];
    double x[MAX_POINTS];
} scale_axis;

/* a comparison: scheme against its baseline (the reference against none, the others against the reference) */
typedef struct { int scheme, base; } scale_cmp;

typedef struct {
    int base;                /* the setting every axis passes through */
    scale_axis ax[AXES];
    int n_cmp;
    scale_cmp cmp[MAX_CMP];
} scale_grid;

static int coord(const study_setting *st, int a) { return a == 0 ? st->block_size : a == 1 ? st->n_head : st->n_layer; }

/* The axes through the base setting, each sorted by its value; 0 if the grid has no scaling settings. */
static int scale_axes(const rdata *d, scale_grid *g) {
    const study_spec *sp = d->sp;
    memset(g, 0, sizeof *g);
    g->base = sp->scale_base;
    if (g->base < 0 || g->base >= sp->n_set || sp->set[g->base].role != ROLE_SCALE) return 0;
    const study_setting *b = &sp->set[g->base];
    for (int a = 0; a < AXES; a++) {
        scale_axis *ax = &g->ax[a];
        for (int i = 0; i < sp->n_set; i++) {
            const study_setting *st = &sp->set[i];
            int on = st->role == ROLE_SCALE && st->task == b->task && st->n_embd == b->n_embd && st->batch_size == b->batch_size;
            for (int o = 0; o < AXES && on; o++) on = o == a || coord(st, o) == coord(b, o);
            if (!on || ax->n == MAX_POINTS) continue;
            int j = ax->n++; /* insertion by value */
            while (j > 0 && ax->x[j - 1] > coord(st, a)) { ax->x[j] = ax->x[j - 1]; ax->set[j] = ax->set[j - 1]; j--; }
            ax->x[j] = coord(st, a);
            ax->set[j] = i;
        }
    }
    /* the comparisons: the reference against the baseline first, then each other scheme of the base setting */
    g->cmp[g->n_cmp++] = (scale_cmp){d->s_ref, d->s_base};
    for (int c = 0; c < b->n_cells && g->n_cmp < MAX_CMP; c++) {
        int sc = b->cell_scheme[c], seen = sc == d->s_ref || sc == d->s_base;
        for (int k = 0; k < g->n_cmp && !seen; k++) seen = g->cmp[k].scheme == sc;
        if (!seen) g->cmp[g->n_cmp++] = (scale_cmp){sc, d->s_ref};
    }
    return 1;
}

/* the paired effect of a comparison at p in a setting, whole sequence or positions 0-3; NULL if not there */
static const ad_effect *effect_of(const rdata *d, int set, const scale_cmp *c, double p, int measure) {
    const eff_row *r = report_find_eff(d, set, c->scheme, p);
    if (!r || d->sp->set[set].cell_scheme[r->base] != c->base) return NULL;
    return measure == WHOLE ? &r->e : &r->early;
}

/* per seed, the difference of a comparison in a setting (NaN: missing); 0 if the cells are not there */
static int seed_diffs(const rdata *d, int set, const scale_cmp *c, double p, int measure, double *out) {
    const study_setting *st = &d->sp->set[set];
    const eff_row *r = report_find_eff(d, set, c->scheme, p);
    if (!r || st->cell_scheme[r->base] != c->base) return 0;
    for (int s = 0; s < STUDY_MAX_SEEDS; s++) out[s] = NAN;
    int early = st->block_size < 4 ? st->block_size : 4;
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *x = report_run(d, set, r->cell, s), *y = report_run(d, set, r->base, s);
        if (measure == WHOLE) { out[s] = report_final_val(x) - report_final_val(y); continue; }
        double v = 0.0;
        for (int t = 0; t < early; t++) v += (x->pos[t] - y->pos[t]) / early;
        out[s] = v;
    }
    return 1;
}

/* the standard error behind a 95% t interval over n seeds */
static double se_of(const ad_effect *e) { return e && e->n >= 2 && e->ci95 > 0 ? e->ci95 / ad_t975(e->n - 1) : NAN; }

/* A fit along an axis: model 0 constant, 1 a/T (context only), 2 a + b log2(x). 1 if fitted. */
static int fit_axis(const rdata *d, const scale_grid *g, int a, const scale_cmp *c, double p, int measure, int model,
                    ad_fit *fit) {
    const scale_axis *ax = &g->ax[a];
    double x[2 * MAX_POINTS], y[MAX_POINTS], se[MAX_POINTS];
    int k = model == 2 ? 2 : 1;
    for (int i = 0; i < ax->n; i++) {
        const ad_effect *e = d->learned[ax->set[i]] ? effect_of(d, ax->set[i], c, p, measure) : NULL;
        y[i] = e ? e->mean : NAN;
        se[i] = se_of(e);
        if (model == 0) x[i] = 1.0;
        else if (model == 1) x[i] = 1.0 / ax->x[i];
        else { x[2 * i] = 1.0; x[2 * i + 1] = log2(ax->x[i]); }
    }
    return ad_fit_wls(fit, x, y, se, ax->n, k, NULL) == AD_OK;
}

static const char *model_name(int model) { return model == 0 ? "constant" : model == 1 ? "a/T" : "a+b*log2(x)"; }

/* the models fitted on an axis: context constant and a/T; heads and layers constant and a + b log2 */
static int axis_models(int a, int *models) {
    models[0] = 0;
    models[1] = a == 0 ? 1 : 2;
    return 2;
}

/* The additive model of the axes at gpt.py's shape, paired over seeds: for each seed the difference at
 * the three axis points of the target (T256, H6, L6) minus twice that of the base. 0 if a point is missing. */
static int predict(const rdata *d, const scale_grid *g, const scale_cmp *c, double p, int measure, ad_effect *e) {
    int pts[AXES];
    for (int a = 0; a < AXES; a++) {
        pts[a] = -1;
        for (int i = 0; i < g->ax[a].n; i++) if ((int)g->ax[a].x[i] == target[a]) pts[a] = g->ax[a].set[i];
        if (pts[a] < 0 || !d->learned[pts[a]]) return 0;
    }
    if (!d->learned[g->base]) return 0;
    double sum[STUDY_MAX_SEEDS], v[STUDY_MAX_SEEDS], zero[STUDY_MAX_SEEDS] = {0};
    if (!seed_diffs(d, g->base, c, p, measure, v)) return 0;
    for (int s = 0; s < STUDY_MAX_SEEDS; s++) sum[s] = -2.0 * v[s];
    for (int a = 0; a < AXES; a++) {
        if (!seed_diffs(d, pts[a], c, p, measure, v)) return 0;
        for (int s = 0; s < STUDY_MAX_SEEDS; s++) sum[s] += v[s];
    }
    int n = d->sp->set[g->base].seeds;
    return ad_effect_paired(e, sum, zero, n, d->sp->margin, NULL) == AD_OK && e->n > 0;
}

static void cmp_label(char *buf, size_t n, const scale_cmp *c) { snprintf(buf, n, "%s - %s", sname(c->scheme), sname(c->base)); }

/* ------------------------------------------------------------ files */

static void write_points(FILE *f, const rdata *d) {
    scale_grid grid, *g = &grid;
    scale_axes(d, g);
    fprintf(f, "axis,setting,T,H,L,comparison,p,measure,seeds,diff_mean,diff_ci95,learned\n");
    for (int a = 0; a < AXES; a++)
        for (int i = 0; i < g->ax[a].n; i++) {
            int set = g->ax[a].set[i];
            const study_setting *st = &d->sp->set[set];
            for (int k = 0; k < g->n_cmp; k++)
                for (int r = 0; r < N_RATES; r++) {
                    const eff_row *row = report_find_eff(d, set, g->cmp[k].scheme, rates[r]);
                    if (!row || st->cell_scheme[row->base] != g->cmp[k].base) continue;
                    const ad_effect *es[6] = {&row->e, &row->early, &row->pos[0], st->block_size > 1 ? &row->pos[1] : NULL,
                                              st->block_size > 2 ? &row->pos[2] : NULL, st->block_size > 3 ? &row->pos[3] : NULL};
                    static const char *names[6] = {"whole", "pos0-3", "pos0", "pos1", "pos2", "pos3"};
                    for (int m = 0; m < 6; m++) {
                        if (!es[m]) continue;
                        fprintf(f, "%s,%s,%d,%d,%d,%s-%s,%g,%s,%d,%.6f,%.6f,%d\n", axis_name[a], st->name, st->block_size,
                                st->n_head, st->n_layer, sname(g->cmp[k].scheme), sname(g->cmp[k].base), rates[r], names[m],
                                es[m]->n, es[m]->mean, es[m]->ci95, d->learned[set]);
                    }
                }
        }
}

static void write_fits(FILE *f, const rdata *d) {
    scale_grid grid, *g = &grid;
    scale_axes(d, g);
    fprintf(f, "axis,comparison,p,measure,model,points,coef_a,coef_a_se,coef_b,coef_b_se,chi2,dof,p_value\n");
    for (int a = 0; a < AXES; a++) {
        int models[2], nm = axis_models(a, models);
        for (int k = 0; k < g->n_cmp; k++)
            for (int r = 0; r < N_RATES; r++)
                for (int m = 0; m < 2; m++)
                    for (int j = 0; j < nm; j++) {
                        ad_fit fit;
                        if (!fit_axis(d, g, a, &g->cmp[k], rates[r], m, models[j], &fit)) continue;
                        fprintf(f, "%s,%s-%s,%g,%s,%s,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%.6g\n", axis_name[a],
                                sname(g->cmp[k].scheme), sname(g->cmp[k].base), rates[r], measure_name[m], model_name(models[j]),
                                fit.n, fit.coef[0], fit.se[0], fit.coef[1], fit.se[1], fit.chi2, fit.dof, fit.p_value);
                    }
    }
}

static void write_prediction(FILE *f, const rdata *d) {
    scale_grid grid, *g = &grid;
    scale_axes(d, g);
    fprintf(f, "comparison,p,measure,T,H,L,seeds,diff_mean,diff_ci95,margin,verdict,method\n");
    for (int k = 0; k < g->n_cmp; k++)
        for (int r = 0; r < N_RATES; r++)
            for (int m = 0; m < 2; m++) {
                ad_effect e;
                if (predict(d, g, &g->cmp[k], rates[r], m, &e))
                    fprintf(f, "%s-%s,%g,%s,%d,%d,%d,%d,%.6f,%.6f,%g,%s,additive\n", sname(g->cmp[k].scheme),
                            sname(g->cmp[k].base), rates[r], measure_name[m], target[0], target[1], target[2], e.n, e.mean,
                            e.ci95, d->sp->margin, ad_verdict_name(e.verdict));
            }
}

/* plots/<axis>.scale.dat: 4 panels (p 0.2 whole, p 0.2 positions 0-3, p 0.5 whole, p 0.5 positions 0-3),
 * each with one block per comparison that has points (x spread a little, so the bars do not hide each
 * other; the last column the comparison's colour) and, where it could be fitted, a block with the fit of
 * the control comparison (a/T on the context axis' whole sequence, the constant elsewhere);
 * plots/<axis>.scale.idx: per panel, its first block, its comparison blocks and whether a fit follows */
static void write_plot(FILE *f, FILE *idx, const rdata *d, const scale_grid *g, int a) {
    static const unsigned colors[MAX_CMP] = {0x1b9e77, 0xd95f02, 0x7570b3, 0xe7298a};
    const scale_axis *ax = &g->ax[a];
    int blocks = 0, ctl = -1;
    for (int k = 0; k < g->n_cmp; k++) if (g->cmp[k].scheme == d->s_ctl) ctl = k;
    fprintf(idx, "first_block comparison_blocks has_fit\n");
    for (int r = 0; r < N_RATES; r++)
        for (int m = 0; m < 2; m++) {
            int first = blocks;
            for (int k = 0; k < g->n_cmp; k++) {
                char label[64];
                cmp_label(label, sizeof label, &g->cmp[k]);
                int rows = 0;
                for (int i = 0; i < ax->n; i++) {
                    const ad_effect *e = d->learned[ax->set[i]] ? effect_of(d, ax->set[i], &g->cmp[k], rates[r], m) : NULL;
                    if (!e || isnan(e->mean)) continue;
                    if (!rows++) fprintf(f, "%s\"%s\" x diff lo hi color\n", blocks++ ? "\n\n" : "", label);
                    double ci = isnan(e->ci95) ? 0.0 : e->ci95, x = ax->x[i] * pow(1.05, k - 0.5 * (g->n_cmp - 1));
                    fprintf(f, "%.6g %.6f %.6f %.6f %u\n", x, e->mean, e->mean - ci, e->mean + ci, colors[k]);
                }
            }
            int n_cmp = blocks - first;
            ad_fit fit;
            int model = a == 0 && m == WHOLE ? 1 : 0;
            /* a fit is drawn only where its chi-square does not reject it */
            int have = n_cmp && ctl >= 0 && ax->n > 1 && fit_axis(d, g, a, &g->cmp[ctl], rates[r], m, model, &fit) &&
                       fit.p_value >= 0.05;
            if (have) {
                fprintf(f, "\n\n\"fit to %s - %s: %s\" x fit\n", sname(d->s_ctl), sname(d->s_ref), model == 1 ? "a/T" : "constant");
                blocks++;
                for (int j = 0; j <= 24; j++) {
                    double x = ax->x[0] * pow(ax->x[ax->n - 1] / ax->x[0], j / 24.0);
                    fprintf(f, "%.6g %.6f\n", x, model == 1 ? fit.coef[0] / x : fit.coef[0]);
                }
            }
            fprintf(idx, "%d %d %d\n", first, n_cmp, have);
        }
}

int report_scale_files(const char *dir, const rdata *d, char *words, size_t words_n) {
    scale_grid g;
    if (!scale_axes(d, &g)) return 0;
    int rc;
    if ((rc = report_write_file(dir, "scale.csv", write_points, d)) || (rc = report_write_file(dir, "scale_fits.csv", write_fits, d)) ||
        (rc = report_write_file(dir, "scale_prediction.csv", write_prediction, d)))
        return rc;
    for (int a = 0; a < AXES; a++) {
        if (g.ax[a].n < 2) continue;
        char path[4096], ipath[4096], name[64];
        ad_atomic_file af, ai;
        snprintf(name, sizeof name, "plots/%s.scale.idx", axis_name[a]);
        if ((rc = report_open_file(&ai, ipath, sizeof ipath, dir, name))) return rc;
        snprintf(name, sizeof name, "plots/%s.scale.dat", axis_name[a]);
        if ((rc = report_open_file(&af, path, sizeof path, dir, name))) { ad_atomic_abort(&ai); return rc; }
        write_plot(af.f, ai.f, d, &g, a);
        if ((rc = report_commit_file(&af, path))) { ad_atomic_abort(&ai); return rc; }
        if ((rc = report_commit_file(&ai, ipath))) return rc;
        size_t len = strlen(words);
        snprintf(words + len, words_n - len, "%s%s:s", len ? " " : "", axis_name[a]);
    }
    return 0;
}

/* ------------------------------------------------------------ report.md */

int report_is_scale(const rdata *d) {
    scale_grid g;
    return scale_axes(d, &g);
}


/* one sentence on how the fit describes the points */
static void describe_fit(FILE *f, const ad_fit *fit, int model) {
    char pm[64];
    report_fmt_pm(pm, sizeof pm, fit->coef[model == 2 ? 1 : 0], 1.96 * fit->se[model == 2 ? 1 : 0], 4);
    if (model == 0) fprintf(f, "constant %s", pm);
    else if (model == 1) fprintf(f, "a/T with a = %s", pm);
    else fprintf(f, "a slope of %s per doubling", pm);
    if (fit->dof > 0 && fit->p_value < 1e-4) fprintf(f, " (χ² = %.1f on %d dof, p < 0.0001)", fit->chi2, fit->dof);
    else if (fit->dof > 0) fprintf(f, " (χ² = %.2f on %d dof, p = %.2g)", fit->chi2, fit->dof, fit->p_value);
    else fprintf(f, " (no degrees of freedom left)");
}

/* The axes' prediction for gpt.py's shape, a secondary line of "In short" (the corner is measured). */
void report_scale_short(FILE *f, const rdata *d) {
    scale_grid g;
    if (!scale_axes(d, &g)) return;
    scale_cmp zr = {d->s_ctl, d->s_ref};
    char text[N_RATES][192];
    int have[N_RATES];
    for (int r = 0; r < N_RATES; r++) {
        ad_effect e;
        have[r] = predict(d, &g, &zr, rates[r], WHOLE, &e);
        if (have[r]) report_fmt_effect(text[r], sizeof text[r], &e, 1, d->sp->margin);
    }
    if (!have[0] && !have[1]) return;
    fprintf(f, "- **Predicted from the axes** (secondary: a model, not a measurement): `%s − %s` at T%d H%d L%d, whole "
               "sequence, by the additive model of the three axes (per seed: T%d + H%d + L%d − 2 × the base)",
            sname(d->s_ctl), sname(d->s_ref), target[0], target[1], target[2], target[0], target[1], target[2]);
    for (int r = 0; r < N_RATES; r++)
        if (have[r]) fprintf(f, "; p=%g %s", rates[r], text[r]);
    fprintf(f, ". It assumes the axes do not interact, which the measured corner tests.\n");
}

static const char *fit_reading(const ad_fit *one, const ad_fit *other) {
    int a = one->p_value >= 0.05, b = other->p_value >= 0.05;
    return a && b ? "both describe the points within their errors: the data cannot tell them apart"
         : a      ? "only the first describes the points within their errors"
         : b      ? "only the second describes the points within their errors"
                  : "neither describes the points within their errors";
}

void report_scale_text(FILE *f, const rdata *d) {
    scale_grid g;
    if (!scale_axes(d, &g)) return;
    const study_spec *sp = d->sp;
    const study_setting *b = &sp->set[g.base];
    const char *ref = sname(d->s_ref), *ctl = sname(d->s_ctl);
    char buf[256], label[64];
    fprintf(f, "## The zero-row effect against context, heads and layers\n\n"
               "Three axes through one base setting (`%s`: B%d T%d C%d H%d L%d), each varying one of the context T, the "
               "heads H and the layers L. A row at position i is all zero with probability p^(i+1) in a head, so only the "
               "first few positions lose rows often, and their share of a sequence's rows falls as 1/T: if the zero rows "
               "cost a fixed amount at each early position, the whole-sequence effect of removing them (`%s − %s`) "
               "falls as a/T and the effect at positions 0–3 stays the same. Each point is a paired difference over "
               "seeds with its 95%% interval (`scale.csv`); each fit is weighted least squares with the points' standard "
               "errors, and its χ² p-value says whether the model describes the points within their errors (small: it "
               "does not; `scale_fits.csv`). The χ² treats the standard errors, estimated from the seeds, as known, so its "
               "p-value is approximate and somewhat too small (with 8 seeds each squared residual averages 7/5, not 1). "
               "Slopes and coefficients carry ±1.96 standard errors.\n\n",
            b->name, b->batch_size, b->block_size, b->n_embd, b->n_head, b->n_layer, ctl, ref);
    for (int a = 0; a < AXES; a++) {
        const scale_axis *ax = &g.ax[a];
        if (ax->n < 2) continue;
        fprintf(f, "### Against %s (%s)\n\n", axis_name[a], axis_letter[a]);
        for (int m = 0; m < 2; m++) {
            fprintf(f, "%s, paired difference in val loss (nats), mean ± 95%% interval:\n\n| comparison | p |",
                    m == WHOLE ? "Whole sequence" : "Positions 0–3 pooled");
            for (int i = 0; i < ax->n; i++)
                fprintf(f, " %s%g (`%s`%s) |", axis_letter[a], ax->x[i], sp->set[ax->set[i]].name,
                        d->learned[ax->set[i]] ? "" : ", not learned");
            fprintf(f, "\n|---|---|");
            for (int i = 0; i < ax->n; i++) fprintf(f, "---|");
            fprintf(f, "\n");
            for (int k = 0; k < g.n_cmp; k++)
                for (int r = 0; r < N_RATES; r++) {
                    cmp_label(label, sizeof label, &g.cmp[k]);
                    fprintf(f, "| %s | %g |", label, rates[r]);
                    for (int i = 0; i < ax->n; i++) {
                        const ad_effect *e = effect_of(d, ax->set[i], &g.cmp[k], rates[r], m);
                        char x[64] = "n/a";
                        if (e) report_fmt_pm(x, sizeof x, e->mean, e->ci95, 4);
                        fprintf(f, " %s |", x);
                    }
                    fprintf(f, "\n");
                }
            fprintf(f, "\n");
        }
        if (a == 0) { /* the theory's share of zero rows, beside the measured effects */
            fprintf(f, "The exact share of a head's attention rows that are all zero under `%s`, sum over i < T of "
                       "p^(i+1) / T = p(1 − p^T)/((1 − p)T):", ref);
            for (int r = 0; r < N_RATES; r++) {
                fprintf(f, "%s p=%g:", r ? ";" : "", rates[r]);
                for (int i = 0; i < ax->n; i++) {
                    double p = rates[r], T = ax->x[i];
                    fprintf(f, "%s T%g %.4f", i ? "," : "", T, p * (1.0 - pow(p, T)) / ((1.0 - p) * T));
                }
            }
            fprintf(f, ".\n\n");
        }
        fprintf(f, "Fits to `%s − %s`:\n\n", ctl, ref);
        int models[2];
        axis_models(a, models);
        scale_cmp zr = {d->s_ctl, d->s_ref};
        for (int r = 0; r < N_RATES; r++)
            for (int m = 0; m < 2; m++) {
                ad_fit f0, f1;
                if (!fit_axis(d, &g, a, &zr, rates[r], m, models[0], &f0) || !fit_axis(d, &g, a, &zr, rates[r], m, models[1], &f1))
                    continue;
                fprintf(f, "- p=%g, %s: ", rates[r], m == WHOLE ? "whole sequence" : "positions 0–3");
                describe_fit(f, &f1, models[1]);
                fprintf(f, "; ");
                describe_fit(f, &f0, 0);
                fprintf(f, ": %s.\n", fit_reading(&f1, &f0));
            }
        if (d->plotted) fprintf(f, "\n![the comparisons against %s](plots/scale_%s.png)\n", axis_name[a], axis_name[a]);
        fprintf(f, "\n");
    }
    int corner = -1;
    for (int i = 0; i < sp->n_set; i++)
        if (sp->set[i].role == ROLE_CORNER && sp->set[i].task == b->task) corner = i;
    fprintf(f, "### At gpt.py's shape: predicted from the axes, and measured\n\n"
               "The prediction adds the three axes' changes from the base: for each seed, the difference at T%d plus "
               "that at H%d plus that at L%d, minus twice that of the base, and the t interval of its mean over seeds "
               "(runs of one seed share nothing across settings, so the interval holds the four settings' noise). It "
               "assumes the axes do not interact. %s\n\n"
               "| comparison | p | predicted, whole sequence | measured, whole sequence | predicted, positions 0–3 | "
               "measured, positions 0–3 |\n|---|---|---|---|---|---|\n",
            target[0], target[1], target[2],
            corner >= 0 ? "The corner setting, trained at that shape (`t256-h6-l6`, the same width, batch, steps and "
                          "learning rate, its own seeds), measures it: a difference beyond both intervals would suggest "
                          "that the axes interact."
                        : "This grid has no corner setting to test it.");
    for (int k = 0; k < g.n_cmp; k++)
        for (int r = 0; r < N_RATES; r++) {
            ad_effect w, e;
            int hw = predict(d, &g, &g.cmp[k], rates[r], WHOLE, &w), he = predict(d, &g, &g.cmp[k], rates[r], EARLY, &e);
            const ad_effect *mw = corner >= 0 && d->learned[corner] ? effect_of(d, corner, &g.cmp[k], rates[r], WHOLE) : NULL;
            const ad_effect *me = corner >= 0 && d->learned[corner] ? effect_of(d, corner, &g.cmp[k], rates[r], EARLY) : NULL;
            if (!hw && !he && !mw) continue;
            cmp_label(label, sizeof label, &g.cmp[k]);
            fprintf(f, "| %s | %g |", label, rates[r]);
            const ad_effect *cols[4] = {hw ? &w : NULL, mw, he ? &e : NULL, me};
            for (int c = 0; c < 4; c++) {
                buf[0] = '\0';
                if (cols[c] && cols[c]->n > 0) report_fmt_effect(buf, sizeof buf, cols[c], 1, d->sp->margin);
                fprintf(f, " %s |", cols[c] && cols[c]->n > 0 ? buf : "n/a");
            }
            fprintf(f, "\n");
        }
    fprintf(f, "\n");
}
