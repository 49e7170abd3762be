/* report.c - turns a study's run records into its CSV files (runs,
 * positions, zero rows, summary, paired effects, per-position effects, the
 * share of dropout's benefit kept, settings, timing), the data files of its
 * plots, and report.md. Every number in the report is computed here from the
 * same records; the statistics are the library's (ad_effect_paired,
 * ad_ratio_paired). Every file is written atomically. */
#include "report.h"
#include "report_parts.h"
#include "../cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ analysis */

static int read_all(const char *dir, rdata *d) {
    const study_spec *sp = d->sp;
    int n = 0;
    for (int i = 0; i < sp->n_set; i++) { d->base[i] = n; n += sp->set[i].n_cells * sp->set[i].seeds; }
    d->runs = calloc((size_t)n, sizeof *d->runs);
    if (!d->runs) return EXIT_INPUT;
    char path[4096];
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++)
            for (int s = 1; s <= sp->set[i].seeds; s++) {
                run_key k = {i, c, s};
                study_run_path(path, sizeof path, dir, sp, &k);
                run_rec *r = report_run(d, i, c, s - 1);
                int got = study_read_run(path, sp, &k, r);
                if (got == 0 && d->allow_missing) { /* --report-only: a missing seed */
                    if (!study_missing_rec(sp, &k, r)) return EXIT_INPUT;
                    d->n_missing++;
                    continue;
                }
                if (got != 1) {
                    fprintf(stderr, "%s: %s %s; delete it and rerun to redo that run\n", cli_prog, path,
                            got == 0    ? "is missing"
                            : got == -1 ? "was made with other settings"
                            : got == -3 ? "is not a regular file"
                                        : "is incomplete or damaged (or holds impossible values)");
                    return EXIT_INPUT;
                }
            }
    if (d->n_missing == n) {
        fprintf(stderr, "%s: %s/runs holds no record of this grid's runs: nothing to report (run the study, or its "
                        "shards, with the same grid options first)\n", cli_prog, dir);
        return EXIT_INPUT;
    }
    int listed = 0; /* the first ten missing runs, by name */
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++)
            for (int s = 1; s <= sp->set[i].seeds && listed < 10; s++) {
                run_key k = {i, c, s};
                if (!report_run(d, i, c, s - 1)->missing) continue;
                study_run_path(path, sizeof path, dir, sp, &k);
                fprintf(stderr, "%s: not done yet: %s\n", cli_prog, path);
                listed++;
            }
    return 0;
}

/* none's threshold and whether it learned the task, per setting */
static void analyse_settings(rdata *d) {
    const study_spec *sp = d->sp;
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        d->none[i] = study_find_cell(st, d->s_base, 0.0);
        /* learned: every seed of none reaches (at some evaluation: a small-data run may overfit later) the
         * midpoint between the loss of a model that ignores the context (the unigram entropy) and the floor;
         * without a floor, the val loss of a bigram model fitted to the same training split */
        d->criterion[i] = isnan(st->floor) ? st->bigram : 0.5 * (st->unigram + st->floor);
        /* a setting none has no record of has not been shown to be learned */
        d->learned[i] = d->none[i] >= 0 && report_seeds_present(d, i, d->none[i]) > 0;
        double v[STUDY_MAX_SEEDS];
        for (int s = 0; s < st->seeds && d->none[i] >= 0; s++) {
            const run_rec *r = report_run(d, i, d->none[i], s);
            v[s] = NAN;
            if (r->missing) continue;
            double lowest = r->val[0];
            for (int e = 1; e < r->n_evals; e++) if (r->val[e] < lowest) lowest = r->val[e];
            if (!(lowest < d->criterion[i])) d->learned[i] = 0;
            int half = 0; /* the evaluation nearest half the run */
            for (int e = 1; e < r->n_evals; e++)
                if (labs(r->step[e] - st->max_iters / 2) < labs(r->step[half] - st->max_iters / 2)) half = e;
            v[s] = r->val[half];
        }
        d->thr[i] = d->none[i] >= 0 ? report_describe(v, st->seeds).mean : NAN;
    }
}

/* the paired effects: every cell against the reference at its p, the reference against the baseline */
static int analyse_effects(rdata *d) {
    const study_spec *sp = d->sp;
    size_t n = 0, n_pos = 0;
    for (int i = 0; i < sp->n_set; i++) { n += (size_t)sp->set[i].n_cells; n_pos += (size_t)sp->set[i].n_cells * sp->set[i].block_size; }
    d->eff = calloc(n, sizeof *d->eff);
    d->pos_mem = calloc(n_pos, sizeof *d->pos_mem);
    size_t used = 0;
    if (!d->eff || !d->pos_mem) return EXIT_INPUT;
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        int T = st->block_size;
        for (int c = 0; c < st->n_cells; c++) {
            int sc = st->cell_scheme[c];
            if (sc == d->s_base) continue;
            int b = sc == d->s_ref ? d->none[i] : study_find_cell(st, d->s_ref, st->cell_p[c]);
            if (b < 0) continue;
            eff_row *r = &d->eff[d->n_eff];
            r->set = i; r->cell = c; r->base = b;
            r->pos = d->pos_mem + used;
            used += (size_t)T;
            d->n_eff++;
            double a[STUDY_MAX_SEEDS], z[STUDY_MAX_SEEDS], ae[STUDY_MAX_SEEDS], ze[STUDY_MAX_SEEDS];
            double al[STUDY_MAX_SEEDS], zl[STUDY_MAX_SEEDS];
            int early = T < 4 ? T : 4;
            for (int s = 0; s < st->seeds; s++) {
                const run_rec *x = report_run(d, i, c, s), *y = report_run(d, i, b, s);
                a[s] = report_final_val(x);
                z[s] = report_final_val(y);
                ae[s] = ze[s] = al[s] = zl[s] = 0.0;
                for (int t = 0; t < T; t++) {
                    if (t < early) { ae[s] += x->pos[t] / early; ze[s] += y->pos[t] / early; }
                    else { al[s] += x->pos[t] / (T - early); zl[s] += y->pos[t] / (T - early); }
                }
                if (T == early) al[s] = zl[s] = NAN;
            }
            ad_effect_paired(&r->e, a, z, st->seeds, sp->margin, NULL);
            ad_effect_paired(&r->early, ae, ze, st->seeds, sp->margin, NULL);
            ad_effect_paired(&r->late, al, zl, st->seeds, sp->margin, NULL);
            for (int bn = 0; bn < STUDY_POS_BINS; bn++) {
                double xb[STUDY_POS_BINS], yb[STUDY_POS_BINS];
                for (int s = 0; s < st->seeds; s++) {
                    study_pos_bins_of(report_run(d, i, c, s)->pos, T, xb);
                    study_pos_bins_of(report_run(d, i, b, s)->pos, T, yb);
                    a[s] = xb[bn];
                    z[s] = yb[bn];
                }
                ad_effect_paired(&r->bin[bn], a, z, st->seeds, sp->margin, NULL);
            }
            r->cost = (ad_ratio){0, NAN, NAN};
            if (sc != d->s_ref && d->none[i] >= 0) { /* (cell - reference) / (reference - none), paired over seeds */
                for (int s = 0; s < st->seeds; s++) {
                    double none = report_final_val(report_run(d, i, d->none[i], s)), ref = report_final_val(report_run(d, i, b, s));
                    a[s] = report_final_val(report_run(d, i, c, s)) - ref;
                    z[s] = ref - none;
                }
                ad_ratio_paired(&r->cost, a, z, st->seeds, NULL);
            }
            for (int t = 0; t < T; t++) {
                for (int s = 0; s < st->seeds; s++) { a[s] = report_run(d, i, c, s)->pos[t]; z[s] = report_run(d, i, b, s)->pos[t]; }
                ad_effect_paired(&r->pos[t], a, z, st->seeds, sp->margin, NULL);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------ CSV files */

/* a comparison's first columns: task,scheme,p,baseline, */
static void eff_key(FILE *f, const study_spec *sp, const eff_row *r) {
    const study_setting *st = &sp->set[r->set];
    fprintf(f, "%s,%s,%g,%s,", st->name, sname(st->cell_scheme[r->cell]), st->cell_p[r->cell], sname(st->cell_scheme[r->base]));
}

/* a setting's plot data file, written by w, which returns how many blocks it wrote (*blocks) */
typedef int (*set_writer)(FILE *f, const rdata *d, int set);
static int write_set_file(const char *dir, const char *name, set_writer w, const rdata *d, int set, int *blocks) {
    char path[4096];
    ad_atomic_file af;
    int rc = report_open_file(&af, path, sizeof path, dir, name);
    if (rc) return rc;
    *blocks = w(af.f, d, set);
    return report_commit_file(&af, path);
}

static void csv_runs(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,seed,step,train_loss,val_loss,elapsed_s\n");
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++)
            for (int s = 0; s < sp->set[i].seeds; s++) {
                const run_rec *r = report_run(d, i, c, s);
                for (int e = 0; e < r->n_evals && !r->missing; e++)
                    fprintf(f, "%s,%s,%g,%d,%ld,%.6f,%.6f,%.3f\n", sp->set[i].name, sname(sp->set[i].cell_scheme[c]),
                            sp->set[i].cell_p[c], s + 1, r->step[e], r->train[e], r->val[e], r->elapsed[e]);
            }
}
static void csv_positions(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,seed,pos,val_loss\n");
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++)
            for (int s = 0; s < sp->set[i].seeds; s++)
                for (int t = 0; t < sp->set[i].block_size && !report_run(d, i, c, s)->missing; t++)
                    fprintf(f, "%s,%s,%g,%d,%d,%.6f\n", sp->set[i].name, sname(sp->set[i].cell_scheme[c]), sp->set[i].cell_p[c],
                            s + 1, t, report_run(d, i, c, s)->pos[t]);
}
static void csv_zero_rows(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,pos,observed_rate,exact_rate\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        int T = st->block_size;
        for (int c = 0; c < st->n_cells; c++) {
            ad_stats sx;
            ad_stats_opts so = {(ad_scheme)st->cell_scheme[c], (float)st->cell_p[c], T, st->n_head, st->n_layer, 1, 1, 0, 1.0};
            int have = ad_stats_compute(&sx, &so, NULL) == AD_OK;
            for (int t = 0; t < T; t++) {
                unsigned long long z = 0, n = 0;
                for (int s = 0; s < st->seeds; s++) { z += report_run(d, i, c, s)->zero[t]; n += report_run(d, i, c, s)->rows[t]; }
                fprintf(f, "%s,%s,%g,%d,%.8g,%.8g\n", st->name, sname(st->cell_scheme[c]), st->cell_p[c], t,
                        n ? (double)z / (double)n : NAN, have ? sx.p_zero_exact[t] : NAN);
            }
            if (have) ad_stats_free(&sx);
        }
    }
}
static void csv_settings(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,role,train_chars,val_chars,vocab,n_head,n_layer,steps,lr,seeds,cells,floor,unigram,bigram_model_val,"
               "learned_below,learned,batch_size,block_size,n_embd,eval_interval,dropout\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        fprintf(f, "%s,%s,%ld,%ld,%d,%d,%d,%d,%g,%d,%d,%.6f,%.6f,%.6f,%.6f,%d,%d,%d,%d,%d,%g\n", st->name,
                report_role_name(st->role), st->n_train, st->n_val, st->vocab, st->n_head, st->n_layer, st->max_iters, st->lr,
                st->seeds, st->n_cells, st->floor, st->unigram, st->bigram, d->criterion[i], d->learned[i], st->batch_size,
                st->block_size, st->n_embd, st->eval_interval, st->dropout);
    }
}
static void csv_summary(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,seeds,final_val_mean,final_val_ci95,best_val_mean,train_val_gap_mean,floor,above_floor,"
               "threshold,steps_to_threshold_mean,steps_to_threshold_ci95,reached,learned\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        for (int c = 0; c < st->n_cells; c++) {
            double fv[STUDY_MAX_SEEDS], bv[STUDY_MAX_SEEDS], gap[STUDY_MAX_SEEDS], stp[STUDY_MAX_SEEDS];
            int reached = 0;
            for (int s = 0; s < st->seeds; s++) {
                const run_rec *r = report_run(d, i, c, s);
                fv[s] = report_final_val(r);
                gap[s] = report_final_val(r) - r->train[r->n_evals - 1];
                bv[s] = r->val[0];
                for (int e = 1; e < r->n_evals; e++) if (r->val[e] < bv[s]) bv[s] = r->val[e];
            }
            report_steps_to(d, i, c, stp);
            for (int s = 0; s < st->seeds; s++) reached += !isnan(stp[s]);
            ad_effect fe = report_describe(fv, st->seeds), be = report_describe(bv, st->seeds), ge = report_describe(gap, st->seeds),
                      se = report_describe(stp, st->seeds);
            fprintf(f, "%s,%s,%g,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f,%d,%d\n", st->name, sname(st->cell_scheme[c]),
                    st->cell_p[c], report_seeds_present(d, i, c), fe.mean, fe.ci95, be.mean, ge.mean, st->floor,
                    fe.mean - st->floor, d->thr[i],
                    se.mean, se.ci95, reached, d->learned[i]);
        }
    }
}
static void csv_effects(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,baseline,seeds,diff_mean,diff_ci95,margin,verdict,ratio_to_cost,ratio_ci95\n");
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        eff_key(f, sp, r);
        fprintf(f, "%d,%.6f,%.6f,%g,%s,%.6f,%.6f\n", r->e.n, r->e.mean, r->e.ci95, sp->margin,
                d->learned[r->set] ? ad_verdict_name(r->e.verdict) : "not-learned", r->cost.ratio, r->cost.ci95);
    }
}
static void csv_position_bins(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,baseline,bin,first_pos,last_pos,seeds,diff_mean,diff_ci95,verdict\n");
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        for (int b = 0; b < STUDY_POS_BINS; b++) {
            int lo, hi;
            study_pos_bin(b, sp->set[r->set].block_size, &lo, &hi);
            if (hi == lo) continue;
            eff_key(f, sp, r);
            fprintf(f, "%s,%d,%d,%d,%.6f,%.6f,%s\n", study_pos_bin_name[b], lo, hi - 1, r->bin[b].n, r->bin[b].mean,
                    r->bin[b].ci95, d->learned[r->set] ? ad_verdict_name(r->bin[b].verdict) : "not-learned");
        }
    }
}
static void csv_position_effects(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,baseline,pos,seeds,diff_mean,diff_ci95\n");
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        for (int t = 0; t < sp->set[r->set].block_size; t++) {
            eff_key(f, sp, r);
            fprintf(f, "%d,%d,%.6f,%.6f\n", t, r->pos[t].n, r->pos[t].mean, r->pos[t].ci95);
        }
        eff_key(f, sp, r);
        fprintf(f, "0-3,%d,%.6f,%.6f\n", r->early.n, r->early.mean, r->early.ci95);
    }
}
static void csv_benefit(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "task,scheme,p,seeds,share_of_benefit,share_ci95\n");
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++) {
            int sc;
            if (sp->set[i].cell_scheme[c] == d->s_base) continue;
            ad_ratio b = report_benefit(d, i, c, &sc);
            if (sc < 0) continue;
            fprintf(f, "%s,%s,%g,%d,%.6f,%.6f\n", sp->set[i].name, sname(sp->set[i].cell_scheme[c]), sp->set[i].cell_p[c],
                    b.n, b.ratio, b.ci95);
        }
}
static void csv_timing(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    const study_setting *st = &sp->set[0];
    int nc = d->none[0];
    fprintf(f, "task,scheme,p,rounds,steps_per_round,sec_per_step_median,sec_per_step_min,sec_per_step_max,vs_%s\n", sname(d->s_base));
    for (int c = 0; c < d->tm->n; c++)
        fprintf(f, "%s,%s,%g,%d,%d,%.6f,%.6f,%.6f,%.4f\n", st->name, sname(st->cell_scheme[c]), st->cell_p[c], d->tm->rounds,
                d->tm->steps, d->tm->median[c], d->tm->lo[c], d->tm->hi[c], nc >= 0 ? d->tm->median[c] / d->tm->median[nc] : NAN);
}

static int write_csvs(const char *dir, const rdata *d) {
    static const struct { const char *name; report_writer w; } csvs[] = {
        {"runs.csv", csv_runs},
        {"positions.csv", csv_positions},
        {"zero_rows.csv", csv_zero_rows},
        {"settings.csv", csv_settings},
        {"summary.csv", csv_summary},
        {"effects.csv", csv_effects},
        {"position_effects.csv", csv_position_effects},
        {"position_bins.csv", csv_position_bins},
        {"benefit.csv", csv_benefit},
    };
    for (size_t k = 0; k < sizeof csvs / sizeof csvs[0]; k++) {
        int rc = report_write_file(dir, csvs[k].name, csvs[k].w, d);
        if (rc) return rc;
    }
    return d->tm && d->tm->n ? report_write_file(dir, "timing.csv", csv_timing, d) : 0;
}

/* ------------------------------------------------------- plot data files */

/* DIR/plots/<setting>.{curves,forest,poseff,zero}.dat: each block begins with a header line whose first field is
 * the series' title; each writer returns its blocks. */

/* learning curves: none first, the others after */
static int plot_curves(FILE *f, const rdata *d, int i) {
    const study_setting *st = &d->sp->set[i];
    char label[64];
    int blocks = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < st->n_cells; c++) {
            if ((pass == 0) != (c == d->none[i]) || !report_seeds_present(d, i, c)) continue;
            study_cell_label(label, sizeof label, st->cell_scheme[c], st->cell_p[c]);
            fprintf(f, "%s\"%s\" mean lo hi\n", blocks++ ? "\n\n" : "", label);
            const run_rec *r0 = report_run(d, i, c, 0);
            for (int e = 0; e < r0->n_evals; e++) {
                double v[STUDY_MAX_SEEDS];
                for (int s = 0; s < st->seeds; s++) v[s] = report_run(d, i, c, s)->val[e];
                ad_effect m = report_describe(v, st->seeds);
                double ci = isnan(m.ci95) ? 0.0 : m.ci95;
                fprintf(f, "%ld %.6f %.6f %.6f\n", r0->step[e], m.mean, m.mean - ci, m.mean + ci);
            }
        }
    return blocks;
}

/* the paired effects of the setting, one line each */
static int plot_forest(FILE *f, const rdata *d, int i) {
    const study_setting *st = &d->sp->set[i];
    int rows = 0;
    fprintf(f, "comparison diff lo hi\n");
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        if (r->set != i || r->e.n == 0) continue;
        double ci = isnan(r->e.ci95) ? 0.0 : r->e.ci95;
        fprintf(f, "\"%s p=%g - %s\" %.6f %.6f %.6f\n", sname(st->cell_scheme[r->cell]), st->cell_p[r->cell],
                sname(st->cell_scheme[r->base]), r->e.mean, r->e.mean - ci, r->e.mean + ci);
        rows++;
    }
    return rows;
}

/* per-position effects of the comparisons that answer question 3: reference - baseline, control - reference */
static int plot_poseff(FILE *f, const rdata *d, int i) {
    const study_setting *st = &d->sp->set[i];
    int blocks = 0;
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        int sc = st->cell_scheme[r->cell];
        if (r->set != i || (sc != d->s_ref && sc != d->s_ctl) || blocks == 6 || r->e.n == 0) continue;
        fprintf(f, "%s\"%s - %s, p=%g\" diff lo hi\n", blocks ? "\n\n" : "", sname(sc), sname(st->cell_scheme[r->base]),
                st->cell_p[r->cell]);
        blocks++;
        for (int t = 0; t < st->block_size; t++) {
            double ci = isnan(r->pos[t].ci95) ? 0.0 : r->pos[t].ci95;
            fprintf(f, "%d %.6f %.6f %.6f\n", t, r->pos[t].mean, r->pos[t].mean - ci, r->pos[t].mean + ci);
        }
    }
    return blocks;
}

/* all-zero rows met in training against the exact rate, for the cells that met any */
static int plot_zero(FILE *f, const rdata *d, int i) {
    const study_setting *st = &d->sp->set[i];
    char label[64];
    int blocks = 0, T = st->block_size;
    for (int c = 0; c < st->n_cells; c++) {
        unsigned long long z0 = 0;
        for (int s = 0; s < st->seeds; s++) z0 += report_run(d, i, c, s)->zero[0];
        if (!z0 || blocks == 8) continue;
        ad_stats sx;
        ad_stats_opts so = {(ad_scheme)st->cell_scheme[c], (float)st->cell_p[c], T, st->n_head, st->n_layer, 1, 1, 0, 1.0};
        int have = ad_stats_compute(&sx, &so, NULL) == AD_OK;
        study_cell_label(label, sizeof label, st->cell_scheme[c], st->cell_p[c]);
        fprintf(f, "%s\"%s\" observed exact\n", blocks++ ? "\n\n" : "", label);
        for (int t = 0; t < T; t++) {
            unsigned long long z = 0, n = 0;
            for (int s = 0; s < st->seeds; s++) { z += report_run(d, i, c, s)->zero[t]; n += report_run(d, i, c, s)->rows[t]; }
            if (z) fprintf(f, "%d %.8g", t, (double)z / (double)n); else fprintf(f, "%d ?", t);
            if (have && sx.p_zero_exact[t] > 0) fprintf(f, " %.8g\n", sx.p_zero_exact[t]); else fprintf(f, " ?\n");
        }
        if (have) ad_stats_free(&sx);
    }
    return blocks;
}

/* Every setting's plot data, and "name:letters" for the script in words (the letters of the plots with data). */
static int write_plot_data(const char *dir, const rdata *d, char *words, size_t words_n) {
    static const struct { const char *suffix; set_writer w; char letter; } kinds[] = {
        {"curves", plot_curves, 'c'}, {"forest", plot_forest, 'f'}, {"poseff", plot_poseff, 'e'}, {"zero", plot_zero, 'z'},
        {"steps", report_gptpy_plot_steps, 'd'}};
    const study_spec *sp = d->sp;
    char path[4096], name[64];
    snprintf(path, sizeof path, "%s/plots", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot make %s: %s\n", cli_prog, path, strerror(errno));
        return EXIT_INPUT;
    }
    words[0] = '\0';
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        int present = 0, n_eff = 0, n = 0;
        char flags[8];
        for (int c = 0; c < st->n_cells; c++) present += report_seeds_present(d, i, c);
        for (int k = 0; k < d->n_eff; k++) n_eff += d->eff[k].set == i && d->eff[k].e.n > 0;
        if (!present) continue; /* --report-only before any of its runs: nothing to draw */
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            int blocks = 0, rc;
            if ((kinds[k].letter == 'f' || kinds[k].letter == 'e') && !n_eff) continue;
            if (kinds[k].letter == 'd' && st->role != ROLE_LONG && st->role != ROLE_REGIME && st->role != ROLE_GPTPY) continue;
            snprintf(name, sizeof name, "plots/%s.%s.dat", st->name, kinds[k].suffix);
            if ((rc = write_set_file(dir, name, kinds[k].w, d, i, &blocks))) return rc;
            if (blocks) flags[n++] = kinds[k].letter;
        }
        flags[n] = '\0';
        size_t len = strlen(words);
        snprintf(words + len, words_n - len, "%s%s:%s", len ? " " : "", st->name, flags);
    }
    return 0;
}

/* ------------------------------------------------------------ report.md */


int study_report(const char *dir, const study_spec *sp, const study_timing *tm, int allow_missing) {
    rdata d;
    memset(&d, 0, sizeof d);
    d.allow_missing = allow_missing;
    d.sp = sp;
    d.tm = tm;
    d.s_base = ad_scheme_find(AD_STUDY_BASELINE);
    d.s_ref = ad_scheme_find(AD_STUDY_REFERENCE);
    d.s_ctl = ad_scheme_find(AD_STUDY_CONTROL);
    int rc = read_all(dir, &d);
    if (!rc) {
        analyse_settings(&d);
        rc = analyse_effects(&d);
        if (rc) fprintf(stderr, "%s: out of memory\n", cli_prog);
    }
    if (!rc) rc = write_csvs(dir, &d);
    char words[STUDY_MAX_SETTINGS * 48 + 64];
    if (!rc) rc = write_plot_data(dir, &d, words, sizeof words);
    if (!rc) rc = report_scale_files(dir, &d, words, sizeof words);
    if (!rc) rc = report_gptpy_files(dir, &d);
    if (!rc) {
        d.plotted = study_draw_plots(dir, sp->margin, words);
        rc = report_write_file(dir, "report.md", report_write_text, &d);
    }
    if (d.runs) {
        int n = 0;
        for (int i = 0; i < sp->n_set; i++) n += sp->set[i].n_cells * sp->set[i].seeds;
        for (int k = 0; k < n; k++) study_rec_free(&d.runs[k]);
    }
    free(d.runs);
    free(d.eff);
    free(d.pos_mem);
    return rc;
}
