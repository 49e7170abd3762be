/* report_gptpy.c - the answers at gpt.py's shape and in its regime (issue 31),
 * measured rather than predicted: the corner setting (ROLE_CORNER: gpt.py's
 * T, H and L), the effects against the training step (ROLE_LONG), against
 * the rate (ROLE_SWEEP), in gpt.py's regime (ROLE_REGIME, and ROLE_GPTPY for
 * gpt.py exactly), and where the gain comes from (the attention sink and the
 * gradient RMS that mechanism settings record at each evaluation). Writes
 * steps.csv and mechanism.csv, the report's lines of "In short" and its
 * section. Every comparison is paired over seeds (ad_effect_paired,
 * ad_ratio_paired). */
#include "report_data.h"
#include "../cli.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* a comparison: the cells of scheme and of its baseline at rate p in a setting */
typedef struct { int cell, base; } pair_cells;

/* the control against the reference (which = 0) or the reference against the baseline (which = 1), at p */
static int pair_of(const rdata *d, int set, int which, double p, pair_cells *pc) {
    const study_setting *st = &d->sp->set[set];
    pc->cell = study_find_cell(st, which ? d->s_ref : d->s_ctl, p);
    pc->base = which ? d->none[set] : study_find_cell(st, d->s_ref, p);
    return pc->cell >= 0 && pc->base >= 0 && report_seeds_present(d, set, pc->cell) > 0;
}

static const char *pair_label(const rdata *d, int which, char *buf, size_t n) {
    snprintf(buf, n, "%s - %s", sname(which ? d->s_ref : d->s_ctl), sname(which ? d->s_base : d->s_ref));
    return buf;
}

/* the settings of a role, in grid order: the k-th (from 0), or -1 */
static int nth_of_role(const rdata *d, study_role role, int k) {
    for (int i = 0; i < d->sp->n_set; i++)
        if (d->sp->set[i].role == role && k-- == 0) return i;
    return -1;
}

/* the rate of a setting's first cell of the reference (the regime's one rate), or NaN */
static double first_rate(const rdata *d, int set) {
    const study_setting *st = &d->sp->set[set];
    for (int c = 0; c < st->n_cells; c++)
        if (st->cell_scheme[c] == d->s_ref) return st->cell_p[c];
    return NAN;
}

/* The paired effect at evaluation e; measure -1: the whole sequence's val loss, else position bin `measure`
 * (mechanism settings only). */
static ad_effect effect_at(const rdata *d, int set, const pair_cells *pc, int e, int measure) {
    const study_setting *st = &d->sp->set[set];
    double x[STUDY_MAX_SEEDS], y[STUDY_MAX_SEEDS];
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *a = report_run(d, set, pc->cell, s), *b = report_run(d, set, pc->base, s);
        x[s] = measure < 0 ? a->val[e] : a->qbin ? a->qbin[e * STUDY_POS_BINS + measure] : NAN;
        y[s] = measure < 0 ? b->val[e] : b->qbin ? b->qbin[e * STUDY_POS_BINS + measure] : NAN;
    }
    ad_effect r;
    ad_effect_paired(&r, x, y, st->seeds, d->sp->margin, NULL);
    return r;
}

/* the evaluation at step, or -1 */
static int eval_at(const rdata *d, int set, long step) {
    const run_rec *r = report_run(d, set, 0, 0);
    for (int e = 0; e < r->n_evals; e++)
        if (r->step[e] == step) return e;
    return -1;
}

/* Per seed, a mechanism quantity of a cell at evaluation e: the attention sink (what 0) or the gradient RMS
 * (what 1) of layer l, or their mean over the layers (l < 0). */
static void mech_values(const rdata *d, int set, int cell, int e, int what, int l, double *out) {
    const study_setting *st = &d->sp->set[set];
    int L = st->n_layer;
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *r = report_run(d, set, cell, s);
        const double *v = what ? r->grad : r->sink;
        out[s] = NAN;
        if (!v) continue;
        if (l >= 0) { out[s] = v[e * L + l]; continue; }
        double sum = 0.0;
        for (int k = 0; k < L; k++) sum += v[e * L + k] / L;
        out[s] = sum;
    }
}

static ad_effect mech_effect(const rdata *d, int set, const pair_cells *pc, int e, int what, int l) {
    double x[STUDY_MAX_SEEDS], y[STUDY_MAX_SEEDS];
    mech_values(d, set, pc->cell, e, what, l, x);
    mech_values(d, set, pc->base, e, what, l, y);
    ad_effect r;
    ad_effect_paired(&r, x, y, d->sp->set[set].seeds, 0.0, NULL);
    return r;
}

static ad_effect mech_level(const rdata *d, int set, int cell, int e, int what, int l) {
    double x[STUDY_MAX_SEEDS];
    mech_values(d, set, cell, e, what, l, x);
    return report_describe(x, d->sp->set[set].seeds);
}

/* Per seed, how much a comparison's whole-sequence effect changes from evaluation e0 to e1 (paired) */
static ad_effect effect_change(const rdata *d, int set, const pair_cells *pc, int e0, int e1) {
    const study_setting *st = &d->sp->set[set];
    double x[STUDY_MAX_SEEDS], y[STUDY_MAX_SEEDS];
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *a = report_run(d, set, pc->cell, s), *b = report_run(d, set, pc->base, s);
        x[s] = a->val[e1] - b->val[e1];
        y[s] = a->val[e0] - b->val[e0];
    }
    ad_effect r;
    ad_effect_paired(&r, x, y, st->seeds, d->sp->margin, NULL);
    return r;
}

static int has_steps(const study_setting *st) {
    return st->role == ROLE_LONG || st->role == ROLE_REGIME || st->role == ROLE_GPTPY || st->role == ROLE_CORNER;
}

/* ------------------------------------------------------------ files */

/* steps.csv: each comparison of the settings trained for it at every evaluation, whole sequence and (mechanism
 * settings) per position bin */
static void csv_steps(FILE *f, const rdata *d) {
    char label[64];
    fprintf(f, "task,comparison,p,step,measure,seeds,diff_mean,diff_ci95\n");
    for (int i = 0; i < d->sp->n_set; i++) {
        const study_setting *st = &d->sp->set[i];
        if (!has_steps(st)) continue;
        for (int c = 0; c < st->n_cells; c++) {
            if (st->cell_scheme[c] != d->s_ref) continue;
            for (int which = 0; which < 2; which++) {
                pair_cells pc;
                if (!pair_of(d, i, which, st->cell_p[c], &pc)) continue;
                const run_rec *r0 = report_run(d, i, pc.cell, 0);
                for (int e = 0; e < r0->n_evals; e++)
                    for (int m = -1; m < (st->mechanism ? STUDY_POS_BINS : 0); m++) {
                        ad_effect ef = effect_at(d, i, &pc, e, m);
                        fprintf(f, "%s,%s,%g,%ld,%s,%d,%.6f,%.6f\n", st->name, pair_label(d, which, label, sizeof label),
                                st->cell_p[c], r0->step[e], m < 0 ? "whole" : study_pos_bin_name[m], ef.n, ef.mean, ef.ci95);
                    }
            }
        }
    }
}

/* mechanism.csv: per cell, evaluation and layer (and "all", their mean) the attention sink and gradient RMS over
 * seeds, and the paired difference from the cell's baseline */
static void csv_mechanism(FILE *f, const rdata *d) {
    fprintf(f, "task,scheme,p,step,layer,seeds,sink_mean,sink_ci95,grad_rms_mean,grad_rms_ci95,baseline,sink_diff_mean,"
               "sink_diff_ci95,grad_rms_diff_mean,grad_rms_diff_ci95\n");
    for (int i = 0; i < d->sp->n_set; i++) {
        const study_setting *st = &d->sp->set[i];
        if (!st->mechanism) continue;
        for (int c = 0; c < st->n_cells; c++) {
            int sc = st->cell_scheme[c];
            pair_cells pc = {c, sc == d->s_ref ? d->none[i] : sc == d->s_base ? -1 : study_find_cell(st, d->s_ref, st->cell_p[c])};
            const run_rec *r0 = report_run(d, i, c, 0);
            for (int e = 0; e < r0->n_evals; e++)
                for (int l = -1; l < st->n_layer; l++) {
                    ad_effect sk = mech_level(d, i, c, e, 0, l), gr = mech_level(d, i, c, e, 1, l);
                    fprintf(f, "%s,%s,%g,%ld,", st->name, sname(sc), st->cell_p[c], r0->step[e]);
                    if (l < 0) fprintf(f, "all,");
                    else fprintf(f, "%d,", l);
                    fprintf(f, "%d,%.6f,%.6f,%.6g,%.6g,", sk.n, sk.mean, sk.ci95, gr.mean, gr.ci95);
                    if (pc.base < 0) { fprintf(f, ",,,,\n"); continue; }
                    ad_effect ds = mech_effect(d, i, &pc, e, 0, l), dg = mech_effect(d, i, &pc, e, 1, l);
                    fprintf(f, "%s,%.6f,%.6f,%.6g,%.6g\n", sname(st->cell_scheme[pc.base]), ds.mean, ds.ci95, dg.mean, dg.ci95);
                }
        }
    }
}

int report_gptpy_plot_steps(FILE *f, const rdata *d, int set) {
    const study_setting *st = &d->sp->set[set];
    char label[64];
    int blocks = 0;
    if (!has_steps(st) || st->role == ROLE_CORNER) return 0;
    for (int c = 0; c < st->n_cells; c++) {
        if (st->cell_scheme[c] != d->s_ref) continue;
        for (int which = 0; which < 2; which++) {
            pair_cells pc;
            if (!pair_of(d, set, which, st->cell_p[c], &pc)) continue;
            const run_rec *r0 = report_run(d, set, pc.cell, 0);
            fprintf(f, "%s\"%s p=%g\" diff lo hi\n", blocks++ ? "\n\n" : "", pair_label(d, which, label, sizeof label),
                    st->cell_p[c]);
            for (int e = 1; e < r0->n_evals; e++) { /* step 0: every pair starts equal */
                ad_effect ef = effect_at(d, set, &pc, e, -1);
                double ci = isnan(ef.ci95) ? 0.0 : ef.ci95;
                fprintf(f, "%ld %.6f %.6f %.6f\n", r0->step[e], ef.mean, ef.mean - ci, ef.mean + ci);
            }
        }
    }
    return blocks;
}

int report_gptpy_files(const char *dir, const rdata *d) {
    int steps = 0, mech = 0, rc = 0;
    for (int i = 0; i < d->sp->n_set; i++) {
        steps |= has_steps(&d->sp->set[i]) && d->sp->set[i].role != ROLE_CORNER;
        mech |= d->sp->set[i].mechanism;
    }
    if (steps) rc = report_write_file(dir, "steps.csv", csv_steps, d);
    if (!rc && mech) rc = report_write_file(dir, "mechanism.csv", csv_mechanism, d);
    return rc;
}

/* ------------------------------------------------------------ report.md */

static void fmt_effect(char *buf, size_t n, const rdata *d, const ad_effect *e) {
    if (e->n <= 0) snprintf(buf, n, "not run yet");
    else report_fmt_effect(buf, n, e, 1, d->sp->margin);
}

static void fmt_ratio(char *buf, size_t n, const ad_ratio *r) {
    if (r->n <= 0 || isnan(r->ratio)) snprintf(buf, n, "n/a");
    else report_fmt_pm(buf, n, r->ratio, r->ci95, 2);
}

/* a setting's seeds present in its reference's first cell, for "not run yet" */
static int done(const rdata *d, int set) {
    if (set < 0) return 0;
    double p = first_rate(d, set);
    int c = study_find_cell(&d->sp->set[set], d->s_ref, p);
    return c >= 0 && d->none[set] >= 0 && report_seeds_present(d, set, c) > 1 && report_seeds_present(d, set, d->none[set]) > 1;
}

static void short_corner(FILE *f, const rdata *d, int set) {
    const study_setting *st = &d->sp->set[set];
    char a[192], b[96];
    fprintf(f, "- **Does the zero-row effect matter at gpt.py's T, H and L? Measured** on `%s` (B%d T%d C%d H%d L%d, %d "
               "steps, the markov text; gpt.py's width C384, batch B64 and 5000 steps were not used): `%s − %s`, whole "
               "sequence",
            st->name, st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->max_iters, sname(d->s_ctl),
            sname(d->s_ref));
    static const double rates[2] = {0.2, 0.5};
    for (int r = 0; r < 2; r++) {
        const eff_row *e = report_find_eff(d, set, d->s_ctl, rates[r]);
        if (!e) continue;
        fmt_effect(a, sizeof a, d, &e->e);
        fmt_ratio(b, sizeof b, &e->cost);
        fprintf(f, "%s p=%g %s; ratio to dropout's own cost (`%s − %s`) %s", r ? ";" : ",", rates[r], a, sname(d->s_ref),
                sname(d->s_base), b);
    }
    fprintf(f, ". By position (p=0.5)");
    const eff_row *e = report_find_eff(d, set, d->s_ctl, 0.5);
    for (int bn = 0; e && bn < STUDY_POS_BINS; bn++) {
        report_fmt_pm(a, sizeof a, e->bin[bn].mean, e->bin[bn].ci95, 4);
        fprintf(f, "%s %s %s", bn ? "," : ":", study_pos_bin_name[bn], a);
    }
    fprintf(f, ". Dropout itself (`%s − %s`)", sname(d->s_ref), sname(d->s_base));
    for (int r = 0; r < 2; r++) {
        const eff_row *x = report_find_eff(d, set, d->s_ref, rates[r]);
        if (!x) continue;
        fmt_effect(a, sizeof a, d, &x->e);
        fprintf(f, "%s p=%g %s", r ? ";" : ":", rates[r], a);
    }
    fprintf(f, ".\n");
}

static void short_long(FILE *f, const rdata *d) {
    for (int k = 0, set; (set = nth_of_role(d, ROLE_LONG, k)) >= 0; k++) {
        const study_setting *st = &d->sp->set[set];
        pair_cells pc;
        double p = first_rate(d, set);
        if (!done(d, set) || !pair_of(d, set, 0, p, &pc)) {
            fprintf(f, "- **Training length** (`%s`, %d steps): not run yet.\n", st->name, st->max_iters);
            continue;
        }
        int e0 = eval_at(d, set, st->max_iters / 4), e1 = report_run(d, set, pc.cell, 0)->n_evals - 1;
        char a[192], b[192], c[192];
        ad_effect w0 = e0 >= 0 ? effect_at(d, set, &pc, e0, -1) : (ad_effect){0}, w1 = effect_at(d, set, &pc, e1, -1);
        ad_effect ch = e0 >= 0 ? effect_change(d, set, &pc, e0, e1) : (ad_effect){0};
        fmt_effect(a, sizeof a, d, &w0);
        fmt_effect(b, sizeof b, d, &w1);
        report_fmt_pm(c, sizeof c, ch.mean, ch.ci95, 4);
        fprintf(f, "- **Training length** (`%s`, B%d T%d H%d L%d, p=%g, 4x the steps): `%s − %s` is %s at step %d and %s "
                   "at step %d; the change, paired per seed, %s: %s.\n",
                st->name, st->batch_size, st->block_size, st->n_head, st->n_layer, p, sname(d->s_ctl), sname(d->s_ref), a,
                st->max_iters / 4, b, st->max_iters, c,
                ch.n < 2 ? "too few seeds"
                : ch.mean - ch.ci95 > 0 && w0.mean < 0 ? "the gain shrinks as training goes on (part of it is speed)"
                : ch.mean + ch.ci95 < 0 && w0.mean > 0 ? "the loss shrinks as training goes on"
                : fabs(ch.mean) + ch.ci95 < d->sp->margin ? "it does not change by more than the margin"
                                                          : "no change shown at these seeds");
    }
}

static void short_sweep(FILE *f, const rdata *d) {
    int set = nth_of_role(d, ROLE_SWEEP, 0);
    if (set < 0) return;
    const study_setting *st = &d->sp->set[set];
    if (!done(d, set)) { fprintf(f, "- **The rate** (`%s`): not run yet.\n", st->name); return; }
    fprintf(f, "- **The rate** (`%s`, B%d T%d H%d L%d): `%s − %s` over dropout's cost `%s − %s`, paired,", st->name,
            st->batch_size, st->block_size, st->n_head, st->n_layer, sname(d->s_ctl), sname(d->s_ref), sname(d->s_ref),
            sname(d->s_base));
    int n = 0;
    for (int c = 0; c < st->n_cells; c++) {
        if (st->cell_scheme[c] != d->s_ctl) continue;
        const eff_row *e = report_find_eff(d, set, d->s_ctl, st->cell_p[c]);
        char a[64], b[96];
        fmt_ratio(a, sizeof a, &e->cost);
        report_fmt_pm(b, sizeof b, e->e.mean, e->e.ci95, 4);
        fprintf(f, "%s p=%g %s (difference %s)", n++ ? ";" : "", st->cell_p[c], a, b);
    }
    fprintf(f, ".\n");
}

static void short_regime(FILE *f, const rdata *d) {
    for (int k = 0; k < 2; k++) {
        int set = nth_of_role(d, k ? ROLE_GPTPY : ROLE_REGIME, 0);
        if (set < 0) continue;
        const study_setting *st = &d->sp->set[set];
        double p = first_rate(d, set);
        if (!done(d, set)) { fprintf(f, "- **gpt.py's regime** (`%s`): not run yet.\n", st->name); continue; }
        int sc = study_find_cell(st, d->s_ref, p), cc = study_find_cell(st, d->s_ctl, p), std_cell;
        const eff_row *se = report_find_eff(d, set, d->s_ref, p), *ce = report_find_eff(d, set, d->s_ctl, p);
        char a[192], b[192], c[96];
        fmt_effect(a, sizeof a, d, &se->e);
        fmt_effect(b, sizeof b, d, &ce->e);
        fprintf(f, "- **gpt.py's regime** (`%s`: the text's first %ld training characters, B%d T%d C%d H%d L%d, %d steps, "
                   "dropout %g at all three sites; `%s` drops nothing): dropout itself (`%s − %s`) %s",
                st->name, st->n_train, st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->max_iters,
                st->dropout, sname(d->s_base), sname(d->s_ref), sname(d->s_base), a);
        if (se->e.verdict == AD_VERDICT_BETTER && cc >= 0 && sc >= 0) {
            ad_ratio r = report_benefit(d, set, cc, &std_cell);
            fmt_ratio(c, sizeof c, &r);
            fprintf(f, "; `%s` keeps %s of that benefit (1 = all of it); `%s − %s` %s.\n", sname(d->s_ctl), c,
                    sname(d->s_ctl), sname(d->s_ref), b);
        } else {
            fprintf(f, ": dropout does not help here, so there is no benefit to share; `%s − %s` %s.\n", sname(d->s_ctl),
                    sname(d->s_ref), b);
        }
    }
}

/* The reading of the mechanism measurements of one setting at its last evaluation; returns 1 if it said one. */
static int mechanism_reading(FILE *f, const rdata *d, int set, int in_short) {
    const study_setting *st = &d->sp->set[set];
    double p = first_rate(d, set);
    pair_cells pc;
    if (!st->mechanism || !done(d, set) || !pair_of(d, set, 0, p, &pc)) return 0;
    int e1 = report_run(d, set, pc.cell, 0)->n_evals - 1, e0 = eval_at(d, set, st->max_iters / 4);
    ad_effect sk = mech_effect(d, set, &pc, e1, 0, -1), gr = mech_effect(d, set, &pc, e1, 1, -1);
    ad_effect sref = mech_level(d, set, pc.base, e1, 0, -1), gref = mech_level(d, set, pc.base, e1, 1, -1);
    ad_effect w = effect_at(d, set, &pc, e1, -1), first = effect_at(d, set, &pc, e1, 0),
              late = effect_at(d, set, &pc, e1, STUDY_POS_BINS - 1);
    ad_effect ch = e0 >= 0 && e0 < e1 ? effect_change(d, set, &pc, e0, e1) : (ad_effect){0};
    char a[64], b[64], c[64], g[64], x[64], y[64];
    report_fmt_pm(a, sizeof a, sk.mean, sk.ci95, 4);
    report_fmt_pm(b, sizeof b, gr.mean, gr.ci95, 5);
    report_fmt_pm(c, sizeof c, first.mean, first.ci95, 4);
    report_fmt_pm(g, sizeof g, late.mean, late.ci95, 4);
    report_fmt_pm(x, sizeof x, sref.mean, NAN, 4);
    report_fmt_pm(y, sizeof y, gref.mean, NAN, 5);
    int sink_differs = sk.n > 1 && fabs(sk.mean) > sk.ci95;
    int grad_differs = gr.n > 1 && fabs(gr.mean) > gr.ci95;
    int late_gain = late.n > 1 && late.mean + late.ci95 < 0;
    int fades = ch.n > 1 && w.mean < 0 && ch.mean - ch.ci95 > 0;
    const char *reading =
        late_gain && sink_differs ? "later positions read position 0 differently: the data support the channel through a "
                                    "perturbed position 0 (the sink)"
        : late_gain && fades && !sink_differs ? "the gain at later positions fades with training while the sink does not "
                                                "change: the data support slower learning under `standard`"
        : late_gain ? "later positions gain, but neither the sink nor the training length singles out a channel at these seeds"
                    : "no gain at later positions to explain at these seeds";
    fprintf(f, "%s`%s`, p=%g, at step %ld, `%s − %s`: attention sink (the weight rows 1..T−1 give position 0, mean over "
               "layers; `%s` %s) %s; gradient RMS (`%s` %s) %s; val loss at position 0 %s, second half %s: %s%s",
            in_short ? "- **Where the gain comes from** (" : "", st->name, p, report_run(d, set, pc.cell, 0)->step[e1],
            sname(d->s_ctl), sname(d->s_ref), sname(d->s_ref), x + (x[0] == '+'), a, sname(d->s_ref), y + (y[0] == '+'), b,
            c, g, reading, grad_differs ? "; the gradients' size differs too" : "");
    fprintf(f, in_short ? ").\n" : ".\n\n");
    return 1;
}

static void short_mechanism(FILE *f, const rdata *d) {
    int said = 0;
    for (int i = 0; i < d->sp->n_set && !said; i++)
        if (d->sp->set[i].mechanism && d->sp->set[i].role == ROLE_LONG) said = mechanism_reading(f, d, i, 1);
    if (!said)
        for (int i = 0; i < d->sp->n_set; i++)
            if (d->sp->set[i].mechanism) {
                fprintf(f, "- **Where the gain comes from**: the mechanism settings are not run yet.\n");
                break;
            }
}

int report_has_gptpy(const rdata *d) {
    for (int i = 0; i < d->sp->n_set; i++) {
        study_role r = d->sp->set[i].role;
        if (r == ROLE_CORNER || r == ROLE_LONG || r == ROLE_SWEEP || r == ROLE_REGIME || r == ROLE_GPTPY) return 1;
    }
    return 0;
}

void report_gptpy_short(FILE *f, const rdata *d) {
    int corner = nth_of_role(d, ROLE_CORNER, 0);
    if (corner >= 0 && done(d, corner)) short_corner(f, d, corner);
    else if (corner >= 0) fprintf(f, "- **At gpt.py's T, H and L** (`%s`): not run yet.\n", d->sp->set[corner].name);
    short_long(f, d);
    short_regime(f, d);
    short_sweep(f, d);
    short_mechanism(f, d);
}

/* ------------------------------------------------------------ the section */

static void text_corner(FILE *f, const rdata *d, int set) {
    const study_setting *st = &d->sp->set[set];
    char buf[192];
    fprintf(f, "### gpt.py's context, heads and layers, measured (`%s`)\n\n"
               "B%d T%d C%d H%d L%d, %d steps at lr %g, %d seeds, attention dropout only. Each comparison is paired over "
               "seeds; the position bins are the val loss at position 0 (one weight per row), positions 1–3, 4–15 and the "
               "second half of the context; the ratio is the difference over dropout's own cost at the same p, "
               "(cell − `%s`)/(`%s` − `%s`), paired, with a delta-method interval.\n\n"
               "| comparison | p | whole sequence | pos 0 | pos 1–3 | pos 4–15 | second half | ratio to cost |\n"
               "|---|---|---|---|---|---|---|---|\n",
            st->name, st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->max_iters, st->lr, st->seeds,
            sname(d->s_ref), sname(d->s_ref), sname(d->s_base));
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        if (r->set != set) continue;
        fmt_effect(buf, sizeof buf, d, &r->e);
        fprintf(f, "| %s − %s | %g | %s |", sname(st->cell_scheme[r->cell]), sname(st->cell_scheme[r->base]),
                st->cell_p[r->cell], buf);
        for (int b = 0; b < STUDY_POS_BINS; b++) {
            report_fmt_pm(buf, sizeof buf, r->bin[b].mean, r->bin[b].ci95, 4);
            fprintf(f, " %s |", buf);
        }
        fmt_ratio(buf, sizeof buf, &r->cost);
        fprintf(f, " %s |\n", st->cell_scheme[r->cell] == d->s_ref ? "" : buf);
    }
    fprintf(f, "\n");
}

static void text_steps(FILE *f, const rdata *d, int set) {
    const study_setting *st = &d->sp->set[set];
    double p = first_rate(d, set);
    char buf[192], label[64];
    fprintf(f, "### `%s`: %s\n\nB%d T%d C%d H%d L%d, lr %g, %d seeds, p=%g%s. Paired differences in val loss at the "
               "evaluations (`steps.csv` has every one, and per position bin):\n\n| step |",
            st->name, report_role_text(st->role), st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->lr,
            st->seeds, p, st->dropout > 0 ? ", dropout also after the projection and the FFN (not in `none`)" : "");
    pair_cells pc[2];
    int have[2];
    for (int w = 0; w < 2; w++) {
        have[w] = pair_of(d, set, w, p, &pc[w]);
        if (have[w]) fprintf(f, " %s |", pair_label(d, w, label, sizeof label));
    }
    if (!have[0] && !have[1]) { fprintf(f, "\n\nNot run yet.\n\n"); return; }
    fprintf(f, "\n|---|%s%s\n", have[0] ? "---|" : "", have[1] ? "---|" : "");
    const run_rec *r0 = report_run(d, set, 0, 0);
    int stride = r0->n_evals > 9 ? 2 : 1;
    for (int e = 0; e < r0->n_evals; e++) {
        if (e % stride && e != r0->n_evals - 1) continue;
        fprintf(f, "| %ld |", r0->step[e]);
        for (int w = 0; w < 2; w++) {
            if (!have[w]) continue;
            ad_effect ef = effect_at(d, set, &pc[w], e, -1);
            fmt_effect(buf, sizeof buf, d, &ef);
            fprintf(f, " %s |", buf);
        }
        fprintf(f, "\n");
    }
    if (d->plotted) fprintf(f, "\n![the differences against the step, %s](plots/steps_%s.png)\n", st->name, st->name);
    fprintf(f, "\n");
}

static void text_sweep(FILE *f, const rdata *d, int set) {
    const study_setting *st = &d->sp->set[set];
    char a[192], b[192], c[64];
    fprintf(f, "### `%s`: %s\n\nB%d T%d C%d H%d L%d, %d steps, %d seeds.\n\n"
               "| p | `%s − %s` | `%s − %s` | ratio to cost |\n|---|---|---|---|\n",
            st->name, report_role_text(st->role), st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer,
            st->max_iters, st->seeds, sname(d->s_ref), sname(d->s_base), sname(d->s_ctl), sname(d->s_ref));
    for (int cl = 0; cl < st->n_cells; cl++) {
        if (st->cell_scheme[cl] != d->s_ref) continue;
        double p = st->cell_p[cl];
        const eff_row *se = report_find_eff(d, set, d->s_ref, p), *ce = report_find_eff(d, set, d->s_ctl, p);
        if (!se || !ce) continue;
        fmt_effect(a, sizeof a, d, &se->e);
        fmt_effect(b, sizeof b, d, &ce->e);
        fmt_ratio(c, sizeof c, &ce->cost);
        fprintf(f, "| %g | %s | %s | %s |\n", p, a, b, c);
    }
    fprintf(f, "\n");
}

static void text_mechanism(FILE *f, const rdata *d) {
    int any = 0;
    for (int i = 0; i < d->sp->n_set; i++) any |= d->sp->set[i].mechanism;
    if (!any) return;
    fprintf(f, "### Where the gain comes from\n\n"
               "Two channels could make `%s` beat `%s`. **Slower learning everywhere**: dropout's noise slows training, "
               "and a scheme with less noise learns faster at every position, a gain that fades as training converges. "
               "**A perturbed position 0**: under `%s` position 0's row is dropped whole with probability p in each "
               "head, so the residual stream at position 0 carries a noisy update into the next layer, and later "
               "positions that attend to position 0 (an attention sink) read that noise; removing the zero rows then "
               "helps the later positions and changes how much they rely on position 0. The mechanism settings record, "
               "at every evaluation, each layer's attention sink (the softmax weight that rows 1..T−1 give key 0, dropout "
               "off, on the evaluation's val batches) and the gradient RMS that AdamW's second moments estimate "
               "(`mechanism.csv`), and the val loss per position bin (`steps.csv`).\n\n",
            sname(d->s_ctl), sname(d->s_ref), sname(d->s_ref));
    int said = 0;
    for (int i = 0; i < d->sp->n_set; i++) {
        const study_setting *st = &d->sp->set[i];
        if (!st->mechanism) continue;
        double p = first_rate(d, i);
        pair_cells pc;
        if (!done(d, i) || !pair_of(d, i, 0, p, &pc)) { fprintf(f, "`%s`: not run yet.\n\n", st->name); continue; }
        said += mechanism_reading(f, d, i, 0);
        int e1 = report_run(d, i, pc.cell, 0)->n_evals - 1;
        fprintf(f, "| layer | sink `%s` | sink `%s − %s` | gradient RMS `%s` | gradient RMS `%s − %s` |\n|---|---|---|---|---|\n",
                sname(d->s_ref), sname(d->s_ctl), sname(d->s_ref), sname(d->s_ref), sname(d->s_ctl), sname(d->s_ref));
        for (int l = 0; l < st->n_layer; l++) {
            ad_effect s0 = mech_level(d, i, pc.base, e1, 0, l), ds = mech_effect(d, i, &pc, e1, 0, l);
            ad_effect g0 = mech_level(d, i, pc.base, e1, 1, l), dg = mech_effect(d, i, &pc, e1, 1, l);
            char a[64], b[64], c[64], e[64];
            report_fmt_pm(a, sizeof a, s0.mean, s0.ci95, 4);
            report_fmt_pm(b, sizeof b, ds.mean, ds.ci95, 4);
            report_fmt_pm(c, sizeof c, g0.mean, g0.ci95, 5);
            report_fmt_pm(e, sizeof e, dg.mean, dg.ci95, 5);
            fprintf(f, "| %d | %s | %s | %s | %s |\n", l, a + (a[0] == '+'), b, c + (c[0] == '+'), e);
        }
        fprintf(f, "\n");
    }
    (void)said;
}

void report_gptpy_text(FILE *f, const rdata *d) {
    if (!report_has_gptpy(d)) return;
    fprintf(f, "## At gpt.py's shape and in its regime, measured\n\n");
    int set;
    if ((set = nth_of_role(d, ROLE_CORNER, 0)) >= 0) text_corner(f, d, set);
    for (int k = 0; (set = nth_of_role(d, ROLE_LONG, k)) >= 0; k++) text_steps(f, d, set);
    if ((set = nth_of_role(d, ROLE_REGIME, 0)) >= 0) text_steps(f, d, set);
    if ((set = nth_of_role(d, ROLE_GPTPY, 0)) >= 0) text_steps(f, d, set);
    if ((set = nth_of_role(d, ROLE_SWEEP, 0)) >= 0) text_sweep(f, d, set);
    text_mechanism(f, d);
}
