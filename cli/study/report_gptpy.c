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
#include <stdlib.h>
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

static double val_of(const run_rec *r, int e, int measure);

/* The paired effect at evaluation e; measure -1: the whole sequence's val loss, else position bin `measure`
 * (mechanism settings only). */
static ad_effect effect_at(const rdata *d, int set, const pair_cells *pc, int e, int measure) {
    const study_setting *st = &d->sp->set[set];
    double x[STUDY_MAX_SEEDS], y[STUDY_MAX_SEEDS];
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *a = report_run(d, set, pc->cell, s), *b = report_run(d, set, pc->base, s);
        x[s] = val_of(a, e, measure);
        y[s] = val_of(b, e, measure);
    }
    ad_effect r;
    ad_effect_paired(&r, x, y, st->seeds, d->sp->margin, NULL);
    return r;
}

/* the evaluation nearest step (the first of two as near) */
static int eval_near(const rdata *d, int set, long step) {
    const run_rec *r = report_run(d, set, 0, 0);
    int best = 0;
    for (int e = 1; e < r->n_evals; e++)
        if (labs(r->step[e] - step) < labs(r->step[best] - step)) best = e;
    return best;
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

/* a run's val loss at evaluation e: the whole sequence's (measure -1) or position bin measure's (NaN without) */
static double val_of(const run_rec *r, int e, int measure) {
    return measure < 0 ? r->val[e] : r->qbin ? r->qbin[e * STUDY_POS_BINS + measure] : NAN;
}

/* Per seed, how much a comparison's effect (measure as val_of) changes from evaluation e0 to e1 (paired) */
static ad_effect effect_change(const rdata *d, int set, const pair_cells *pc, int e0, int e1, int measure) {
    const study_setting *st = &d->sp->set[set];
    double x[STUDY_MAX_SEEDS], y[STUDY_MAX_SEEDS];
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *a = report_run(d, set, pc->cell, s), *b = report_run(d, set, pc->base, s);
        x[s] = val_of(a, e1, measure) - val_of(b, e1, measure);
        y[s] = val_of(a, e0, measure) - val_of(b, e0, measure);
    }
    ad_effect r;
    ad_effect_paired(&r, x, y, st->seeds, d->sp->margin, NULL);
    return r;
}

/* how a comparison's effect moved from w0 to w1 (the change ch, paired), in words the intervals allow */
static const char *change_words(const ad_effect *w0, const ad_effect *w1, const ad_effect *ch, double margin) {
    if (ch->n < 2 || isnan(ch->ci95)) return "too few seeds to tell";
    int up = ch->mean - ch->ci95 > 0, down = ch->mean + ch->ci95 < 0;
    int gain0 = w0->verdict == AD_VERDICT_BETTER, loss0 = w0->verdict == AD_VERDICT_WORSE;
    int gain1 = w1->verdict == AD_VERDICT_BETTER, loss1 = w1->verdict == AD_VERDICT_WORSE;
    if (fabs(ch->mean) + ch->ci95 < margin) return "it does not change by more than the margin";
    if (up && gain0 && loss1) return "the gain reverses into a loss";
    if (down && loss0 && gain1) return "the loss reverses into a gain";
    if (up && gain0) return "the gain shrinks as training goes on (consistent with a speed effect)";
    if (down && loss0) return "the loss shrinks as training goes on";
    if (down) return "the difference falls as training goes on (a gain that grows, or a loss that shrinks)";
    if (up) return "the difference rises as training goes on (a loss that grows, or a gain that shrinks)";
    return "no change shown at these seeds";
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

static void fmt_effect(char *buf, size_t n, const rdata *d, int set, const ad_effect *e) {
    if (e->n <= 0) snprintf(buf, n, "not run yet");
    else report_fmt_effect(buf, n, e, d->learned[set], d->sp->margin);
}

static void fmt_ratio(char *buf, size_t n, const ad_ratio *r);

/* a ratio to dropout's cost, where that cost (the reference against the baseline at the same p) is resolved:
 * over a cost whose interval holds 0 the ratio means nothing */
static void fmt_cost_ratio(char *buf, size_t n, const rdata *d, int set, const eff_row *r) {
    const study_setting *st = &d->sp->set[set];
    const eff_row *cost = report_find_eff(d, set, d->s_ref, st->cell_p[r->cell]);
    if (!cost || (cost->e.verdict != AD_VERDICT_BETTER && cost->e.verdict != AD_VERDICT_WORSE))
        snprintf(buf, n, "n/a (dropout's cost not resolved)");
    else fmt_ratio(buf, n, &r->cost);
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
               "steps at lr %g, the %s text; gpt.py itself is B64 C384, 5000 steps at lr 3e-4, with dropout at three "
               "sites): `%s − %s`, whole sequence",
            st->name, st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->max_iters, st->lr,
            st->task >= 0 ? ad_task_name((ad_task)st->task) : "--data", sname(d->s_ctl), sname(d->s_ref));
    static const double rates[2] = {0.2, 0.5};
    int n = 0;
    for (int r = 0; r < 2; r++) {
        const eff_row *e = report_find_eff(d, set, d->s_ctl, rates[r]);
        if (!e) continue;
        fmt_effect(a, sizeof a, d, set, &e->e);
        fmt_cost_ratio(b, sizeof b, d, set, e);
        fprintf(f, "%s p=%g %s; ratio to dropout's own cost (`%s − %s`) %s", n++ ? ";" : ",", rates[r], a, sname(d->s_ref),
                sname(d->s_base), b);
    }
    for (int r = 0; r < 2; r++) {
        const eff_row *e = report_find_eff(d, set, d->s_ctl, rates[r]);
        if (!e) continue;
        fprintf(f, ". By position (p=%g)", rates[r]);
        for (int bn = 0; bn < STUDY_POS_BINS; bn++) {
            report_fmt_pm(a, sizeof a, e->bin[bn].mean, e->bin[bn].ci95, 4);
            fprintf(f, "%s %s %s", bn ? "," : ":", study_pos_bin_name[bn], a);
        }
    }
    fprintf(f, ". Dropout itself (`%s − %s`)", sname(d->s_ref), sname(d->s_base));
    n = 0;
    for (int r = 0; r < 2; r++) {
        const eff_row *x = report_find_eff(d, set, d->s_ref, rates[r]);
        if (!x) continue;
        fmt_effect(a, sizeof a, d, set, &x->e);
        fprintf(f, "%s p=%g %s", n++ ? ";" : ":", rates[r], a);
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
        const run_rec *r0 = report_run(d, set, pc.cell, 0);
        int e1 = r0->n_evals - 1, e0 = eval_near(d, set, st->max_iters / 4);
        char a[192], b[192], c[64], times[48] = "";
        ad_effect w0 = effect_at(d, set, &pc, e0, -1), w1 = effect_at(d, set, &pc, e1, -1);
        ad_effect ch = effect_change(d, set, &pc, e0, e1, -1);
        fmt_effect(a, sizeof a, d, set, &w0);
        fmt_effect(b, sizeof b, d, set, &w1);
        report_fmt_pm(c, sizeof c, ch.mean, ch.ci95, 4);
        int base = d->sp->scale_base;
        if (base >= 0 && base < d->sp->n_set && d->sp->set[base].max_iters > 0 && st->max_iters != d->sp->set[base].max_iters)
            snprintf(times, sizeof times, ", %.3gx the base's steps", (double)st->max_iters / d->sp->set[base].max_iters);
        fprintf(f, "- **Training length** (`%s`, B%d T%d H%d L%d, p=%g, %d steps%s): `%s − %s` is %s at step %ld and %s "
                   "at step %ld; the change, paired per seed, %s: %s.\n",
                st->name, st->batch_size, st->block_size, st->n_head, st->n_layer, p, st->max_iters, times,
                sname(d->s_ctl), sname(d->s_ref), a, r0->step[e0], b, r0->step[e1], c,
                e0 == e1 ? "one evaluation only" : change_words(&w0, &w1, &ch, d->sp->margin));
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
        if (!e) continue;
        char a[64], b[96];
        fmt_cost_ratio(a, sizeof a, d, set, e);
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
        if (!se || !ce) { fprintf(f, "- **gpt.py's regime** (`%s`): its cells are not all there.\n", st->name); continue; }
        char a[192], b[192], c[96];
        fmt_effect(a, sizeof a, d, set, &se->e);
        fmt_effect(b, sizeof b, d, set, &ce->e);
        fprintf(f, "- **gpt.py's regime** (`%s`: the text's first %ld training characters, B%d T%d C%d H%d L%d, %d steps, "
                   "dropout %g at all three sites; `%s` drops nothing): dropout itself (`%s − %s`) %s",
                st->name, st->n_train, st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->max_iters,
                st->dropout, sname(d->s_base), sname(d->s_ref), sname(d->s_base), a);
        if (se->e.verdict == AD_VERDICT_BETTER && d->learned[set] && cc >= 0 && sc >= 0) {
            ad_ratio r = report_benefit(d, set, cc, &std_cell);
            fmt_ratio(c, sizeof c, &r);
            fprintf(f, "; `%s` keeps %s of that benefit (1 = all of it); `%s − %s` %s.\n", sname(d->s_ctl), c,
                    sname(d->s_ctl), sname(d->s_ref), b);
        } else {
            fprintf(f, ": %s, so there is no benefit to share; `%s − %s` %s.\n",
                    se->e.verdict == AD_VERDICT_WORSE ? "dropout costs here" : "dropout is not shown to help here",
                    sname(d->s_ctl), sname(d->s_ref), b);
        }
    }
}

/* The reading of the mechanism measurements of one setting at its last evaluation; returns 1 if it said one. */
static int mechanism_reading(FILE *f, const rdata *d, int set, int in_short) {
    const study_setting *st = &d->sp->set[set];
    double p = first_rate(d, set);
    pair_cells pc;
    if (!st->mechanism || !done(d, set) || !pair_of(d, set, 0, p, &pc)) return 0;
    const run_rec *r0 = report_run(d, set, pc.cell, 0);
    int e1 = r0->n_evals - 1, e0 = eval_near(d, set, st->max_iters / 4), last = STUDY_POS_BINS - 1;
    ad_effect sk = mech_effect(d, set, &pc, e1, 0, -1), gr = mech_effect(d, set, &pc, e1, 1, -1);
    ad_effect sref = mech_level(d, set, pc.base, e1, 0, -1), gref = mech_level(d, set, pc.base, e1, 1, -1);
    ad_effect first = effect_at(d, set, &pc, e1, 0), late = effect_at(d, set, &pc, e1, last);
    /* the second half's effect from the early evaluation to the last, per seed */
    ad_effect ch = e0 < e1 ? effect_change(d, set, &pc, e0, e1, last) : (ad_effect){0, NAN, NAN, NAN, 0, 0};
    char a[64], b[64], c[64], g[64], x[64], y[64], h[64];
    report_fmt_pm(a, sizeof a, sk.mean, sk.ci95, 4);
    report_fmt_pm(b, sizeof b, gr.mean, gr.ci95, 7);
    report_fmt_pm(c, sizeof c, first.mean, first.ci95, 4);
    report_fmt_pm(g, sizeof g, late.mean, late.ci95, 4);
    report_fmt_pm(x, sizeof x, sref.mean, NAN, 4);
    report_fmt_pm(y, sizeof y, gref.mean, NAN, 7);
    report_fmt_pm(h, sizeof h, ch.mean, ch.ci95, 4);
    int sink_differs = sk.n > 1 && fabs(sk.mean) > sk.ci95;
    int grad_differs = gr.n > 1 && fabs(gr.mean) > gr.ci95;
    int late_gain = late.n > 1 && late.mean + late.ci95 < 0;
    int fades = ch.n > 1 && ch.mean - ch.ci95 > 0; /* the second half's (negative) difference rises toward 0 */
    const char *reading =
        !late_gain ? "no gain at later positions to explain at these seeds"
        : sink_differs && !fades ? "later positions gain and attend to position 0 differently: consistent with the "
                                   "channel through a perturbed position 0 (the sink), not shown to be a speed effect"
        : fades && !sink_differs ? "the later positions' gain shrinks with training and no sink difference is shown: "
                                   "consistent with slower learning under `standard` (a speed effect)"
        : fades ? "the later positions' gain shrinks with training and the sink differs: both channels are consistent "
                  "with the data"
                : "later positions gain, but neither the sink nor the training length singles out a channel at these seeds";
    fprintf(f, "%s`%s`, p=%g, at step %ld, `%s − %s`: attention sink (the weight rows 1..T−1 give position 0, mean over "
               "layers; `%s` %s) %s; gradient RMS (`%s` %s) %s; val loss at position 0 %s, second half %s (its change "
               "since step %ld, paired, %s): %s%s",
            in_short ? "- **Where the gain comes from** (" : "", st->name, p, r0->step[e1], sname(d->s_ctl), sname(d->s_ref),
            sname(d->s_ref), x + (x[0] == '+'), a, sname(d->s_ref), y + (y[0] == '+'), b, c, g, r0->step[e0], h, reading,
            grad_differs ? "; the gradients' size differs too" : "");
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
        fmt_effect(buf, sizeof buf, d, set, &r->e);
        fprintf(f, "| %s − %s | %g | %s |", sname(st->cell_scheme[r->cell]), sname(st->cell_scheme[r->base]),
                st->cell_p[r->cell], buf);
        for (int b = 0; b < STUDY_POS_BINS; b++) {
            report_fmt_pm(buf, sizeof buf, r->bin[b].mean, r->bin[b].ci95, 4);
            fprintf(f, " %s |", buf);
        }
        fmt_cost_ratio(buf, sizeof buf, d, set, r);
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
            fmt_effect(buf, sizeof buf, d, set, &ef);
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
        fmt_effect(a, sizeof a, d, set, &se->e);
        fmt_effect(b, sizeof b, d, set, &ce->e);
        fmt_cost_ratio(c, sizeof c, d, set, ce);
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
    for (int i = 0; i < d->sp->n_set; i++) {
        const study_setting *st = &d->sp->set[i];
        if (!st->mechanism) continue;
        double p = first_rate(d, i);
        pair_cells pc;
        if (!done(d, i) || !pair_of(d, i, 0, p, &pc)) { fprintf(f, "`%s`: not run yet.\n\n", st->name); continue; }
        mechanism_reading(f, d, i, 0);
        int e1 = report_run(d, i, pc.cell, 0)->n_evals - 1;
        fprintf(f, "| layer | sink `%s` | sink `%s − %s` | gradient RMS `%s` | gradient RMS `%s − %s` |\n|---|---|---|---|---|\n",
                sname(d->s_ref), sname(d->s_ctl), sname(d->s_ref), sname(d->s_ref), sname(d->s_ctl), sname(d->s_ref));
        for (int l = 0; l < st->n_layer; l++) {
            ad_effect s0 = mech_level(d, i, pc.base, e1, 0, l), ds = mech_effect(d, i, &pc, e1, 0, l);
            ad_effect g0 = mech_level(d, i, pc.base, e1, 1, l), dg = mech_effect(d, i, &pc, e1, 1, l);
            char a[64], b[64], c[64], e[64];
            report_fmt_pm(a, sizeof a, s0.mean, s0.ci95, 4);
            report_fmt_pm(b, sizeof b, ds.mean, ds.ci95, 4);
            report_fmt_pm(c, sizeof c, g0.mean, g0.ci95, 7);
            report_fmt_pm(e, sizeof e, dg.mean, dg.ci95, 7);
            fprintf(f, "| %d | %s | %s | %s | %s |\n", l, a + (a[0] == '+'), b, c + (c[0] == '+'), e);
        }
        fprintf(f, "\n");
    }
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
