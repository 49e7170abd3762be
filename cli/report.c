/* report.c - turns a study's run records into its CSV files (runs,
 * positions, zero rows, summary, paired effects, per-position effects, the
 * share of dropout's benefit kept, settings, timing), the data files of its
 * plots, and report.md. Every number in the report is computed here from the
 * same records; the statistics are the library's (ad_effect_paired,
 * ad_ratio_paired). Every file is written atomically. */
#include "study.h"
#include "atomic.h"
#include "opts.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One paired comparison: a cell against its baseline in the same setting. */
typedef struct {
    int set, cell, base;
    ad_effect e;                 /* final val loss */
    ad_effect early, late;       /* val loss at positions 0-3 pooled, and at the others */
    ad_effect *pos;              /* (T) per position */
} eff_row;

typedef struct {
    const study_spec *sp;
    const study_timing *tm;
    run_rec *runs;
    int base[STUDY_MAX_SETTINGS]; /* the first run of each setting */
    int none[STUDY_MAX_SETTINGS];
    int learned[STUDY_MAX_SETTINGS];
    double criterion[STUDY_MAX_SETTINGS], thr[STUDY_MAX_SETTINGS];
    eff_row *eff;
    int n_eff;
    ad_effect *pos_mem;
    int plotted;
} rdata;

static run_rec *run_of(const rdata *d, int set, int cell, int seed0) {
    return &d->runs[d->base[set] + cell * d->sp->set[set].seeds + seed0];
}

static const char *sname(int scheme) { return ad_scheme_get((ad_scheme)scheme)->name; }

static int find_cell(const study_setting *st, int scheme, double p) {
    for (int c = 0; c < st->n_cells; c++)
        if (st->cell_scheme[c] == scheme && (scheme == AD_SCHEME_NONE || fabs(st->cell_p[c] - p) < 1e-12)) return c;
    return -1;
}

static const eff_row *find_eff(const rdata *d, int set, int scheme, double p) {
    for (int i = 0; i < d->n_eff; i++) {
        const eff_row *r = &d->eff[i];
        if (r->set == set && d->sp->set[set].cell_scheme[r->cell] == scheme && fabs(d->sp->set[set].cell_p[r->cell] - p) < 1e-12)
            return r;
    }
    return NULL;
}

/* mean and 95% interval of n values (NaN: missing) */
static ad_effect describe(const double *x, int n) {
    static const double zero[STUDY_MAX_SEEDS];
    ad_effect e;
    ad_effect_paired(&e, x, zero, n, 0.0, NULL);
    return e;
}

static double final_val(const run_rec *r) { return r->val[r->n_evals - 1]; }

/* "+0.0123 ± 0.0045" (or "+0.0123" with one seed) */
static void fmt_pm(char *buf, size_t n, double mean, double ci, int digits) {
    if (isnan(mean)) snprintf(buf, n, "n/a");
    else if (isnan(ci)) snprintf(buf, n, "%+.*f", digits, mean);
    else snprintf(buf, n, "%+.*f ± %.*f", digits, mean, digits, ci);
}

/* "+0.0123 ± 0.0045 nats (8 seeds): **worse**" and, if inconclusive, the seeds that would settle it */
static void fmt_effect(char *buf, size_t n, const ad_effect *e, int learned) {
    char pm[64];
    fmt_pm(pm, sizeof pm, e->mean, e->ci95, 4);
    int k = snprintf(buf, n, "%s (%d seeds)", pm, e->n);
    if (k < 0 || (size_t)k >= n) return;
    if (!learned) { snprintf(buf + k, n - k, ": no verdict (the task was not learned)"); return; }
    if (e->verdict != AD_VERDICT_INCONCLUSIVE) snprintf(buf + k, n - k, ": **%s**", ad_verdict_name(e->verdict));
    else if (e->seeds_needed > 0) snprintf(buf + k, n - k, ": inconclusive; about %d seeds would settle it at this spread", e->seeds_needed);
    else snprintf(buf + k, n - k, ": inconclusive");
}

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
                int got = study_read_run(path, sp, &k, run_of(d, i, c, s - 1));
                if (got != 1) {
                    fprintf(stderr, "%s: %s %s; delete it and rerun to redo that run\n", cli_prog, path,
                            got == 0 ? "is missing" : got == -1 ? "was made with other settings" : "is incomplete or damaged");
                    return EXIT_INPUT;
                }
            }
    return 0;
}

/* none's threshold and whether it learned the task, per setting */
static void analyse_settings(rdata *d) {
    const study_spec *sp = d->sp;
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        d->none[i] = find_cell(st, AD_SCHEME_NONE, 0.0);
        /* learned: every seed of none reaches (at some evaluation: a small-data run may overfit later) the
         * midpoint between the loss of a model that ignores the context (the unigram entropy) and the floor;
         * without a floor, the val loss of a bigram model fitted to the same training split */
        d->criterion[i] = isnan(st->floor) ? st->bigram : 0.5 * (st->unigram + st->floor);
        d->learned[i] = d->none[i] >= 0;
        double v[STUDY_MAX_SEEDS];
        for (int s = 0; s < st->seeds && d->none[i] >= 0; s++) {
            const run_rec *r = run_of(d, i, d->none[i], s);
            double lowest = r->val[0];
            for (int e = 1; e < r->n_evals; e++) if (r->val[e] < lowest) lowest = r->val[e];
            if (!(lowest < d->criterion[i])) d->learned[i] = 0;
            int half = 0; /* the evaluation nearest half the run */
            for (int e = 1; e < r->n_evals; e++)
                if (labs(r->step[e] - st->max_iters / 2) < labs(r->step[half] - st->max_iters / 2)) half = e;
            v[s] = r->val[half];
        }
        d->thr[i] = d->none[i] >= 0 ? describe(v, st->seeds).mean : NAN;
    }
}

/* per seed: the step of the first evaluation at or below the threshold (NaN: never) */
static void steps_to(const rdata *d, int set, int cell, double *out) {
    const study_setting *st = &d->sp->set[set];
    for (int s = 0; s < st->seeds; s++) {
        const run_rec *r = run_of(d, set, cell, s);
        out[s] = NAN;
        for (int e = 0; e < r->n_evals; e++)
            if (r->val[e] <= d->thr[set]) { out[s] = (double)r->step[e]; break; }
    }
}

/* the paired effects: every cell against standard at its p, standard against none */
static int analyse_effects(rdata *d) {
    const study_spec *sp = d->sp;
    int T = sp->block_size, n = 0;
    for (int i = 0; i < sp->n_set; i++) n += sp->set[i].n_cells;
    d->eff = calloc((size_t)n, sizeof *d->eff);
    d->pos_mem = calloc((size_t)n * T, sizeof *d->pos_mem);
    if (!d->eff || !d->pos_mem) return EXIT_INPUT;
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        for (int c = 0; c < st->n_cells; c++) {
            int sc = st->cell_scheme[c];
            if (sc == AD_SCHEME_NONE) continue;
            int b = sc == AD_SCHEME_STANDARD ? d->none[i] : find_cell(st, AD_SCHEME_STANDARD, st->cell_p[c]);
            if (b < 0) continue;
            eff_row *r = &d->eff[d->n_eff];
            r->set = i; r->cell = c; r->base = b;
            r->pos = d->pos_mem + (size_t)d->n_eff++ * T;
            double a[STUDY_MAX_SEEDS], z[STUDY_MAX_SEEDS], ae[STUDY_MAX_SEEDS], ze[STUDY_MAX_SEEDS];
            double al[STUDY_MAX_SEEDS], zl[STUDY_MAX_SEEDS];
            int early = T < 4 ? T : 4;
            for (int s = 0; s < st->seeds; s++) {
                const run_rec *x = run_of(d, i, c, s), *y = run_of(d, i, b, s);
                a[s] = final_val(x);
                z[s] = final_val(y);
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
            for (int t = 0; t < T; t++) {
                for (int s = 0; s < st->seeds; s++) { a[s] = run_of(d, i, c, s)->pos[t]; z[s] = run_of(d, i, b, s)->pos[t]; }
                ad_effect_paired(&r->pos[t], a, z, st->seeds, sp->margin, NULL);
            }
        }
    }
    return 0;
}

/* the share of dropout's benefit a cell keeps: (none - cell) / (none - standard at its p) */
static ad_ratio benefit(const rdata *d, int set, int cell, int *std_cell) {
    const study_setting *st = &d->sp->set[set];
    ad_ratio r = {0, NAN, NAN};
    int sc = find_cell(st, AD_SCHEME_STANDARD, st->cell_p[cell]), nc = d->none[set];
    *std_cell = sc;
    if (sc < 0 || nc < 0) return r;
    double a[STUDY_MAX_SEEDS], b[STUDY_MAX_SEEDS];
    for (int s = 0; s < st->seeds; s++) {
        double none = final_val(run_of(d, set, nc, s));
        a[s] = none - final_val(run_of(d, set, cell, s));
        b[s] = none - final_val(run_of(d, set, sc, s));
    }
    ad_ratio_paired(&r, a, b, st->seeds, NULL);
    return r;
}

/* ------------------------------------------------------------ CSV files */

/* one line for a failed write, the temporary file removed; an exit code */
static int io_fail(const char *path, atomic_file *af) {
    fprintf(stderr, "%s: cannot write '%s': %s\n", cli_prog, path, strerror(errno));
    atomic_abort(af);
    return EXIT_INPUT;
}

/* a comparison's first columns: task,scheme,p,baseline, */
static void eff_key(FILE *f, const study_spec *sp, const eff_row *r) {
    const study_setting *st = &sp->set[r->set];
    fprintf(f, "%s,%s,%g,%s,", st->name, sname(st->cell_scheme[r->cell]), st->cell_p[r->cell], sname(st->cell_scheme[r->base]));
}

#define OPEN(name)                                                                  \
    do {                                                                            \
        snprintf(path, sizeof path, "%s/%s", dir, name);                            \
        if (!(f = atomic_open(&af, path))) goto io;                                 \
    } while (0)
#define CLOSE()                                                                     \
    do {                                                                            \
        if (atomic_close(&af) != 0) goto io;                                        \
    } while (0)

static int write_csvs(const char *dir, const rdata *d) {
    const study_spec *sp = d->sp;
    int T = sp->block_size;
    char path[4096];
    atomic_file af;
    FILE *f;
    OPEN("runs.csv");
    fprintf(f, "task,scheme,p,seed,step,train_loss,val_loss,elapsed_s\n");
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++)
            for (int s = 0; s < sp->set[i].seeds; s++) {
                const run_rec *r = run_of(d, i, c, s);
                for (int e = 0; e < r->n_evals; e++)
                    fprintf(f, "%s,%s,%g,%d,%ld,%.6f,%.6f,%.3f\n", sp->set[i].name, sname(sp->set[i].cell_scheme[c]),
                            sp->set[i].cell_p[c], s + 1, r->step[e], r->train[e], r->val[e], r->elapsed[e]);
            }
    CLOSE();
    OPEN("positions.csv");
    fprintf(f, "task,scheme,p,seed,pos,val_loss\n");
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++)
            for (int s = 0; s < sp->set[i].seeds; s++)
                for (int t = 0; t < T; t++)
                    fprintf(f, "%s,%s,%g,%d,%d,%.6f\n", sp->set[i].name, sname(sp->set[i].cell_scheme[c]), sp->set[i].cell_p[c],
                            s + 1, t, run_of(d, i, c, s)->pos[t]);
    CLOSE();
    OPEN("zero_rows.csv");
    fprintf(f, "task,scheme,p,pos,observed_rate,exact_rate\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        for (int c = 0; c < st->n_cells; c++) {
            ad_stats sx;
            ad_stats_opts so = {(ad_scheme)st->cell_scheme[c], (float)st->cell_p[c], T, st->n_head, st->n_layer, 1, 1, 0, 1.0};
            int have = ad_stats_compute(&sx, &so, NULL) == AD_OK;
            for (int t = 0; t < T; t++) {
                unsigned long long z = 0, n = 0;
                for (int s = 0; s < st->seeds; s++) { z += run_of(d, i, c, s)->zero[t]; n += run_of(d, i, c, s)->rows[t]; }
                fprintf(f, "%s,%s,%g,%d,%.8g,%.8g\n", st->name, sname(st->cell_scheme[c]), st->cell_p[c], t,
                        n ? (double)z / (double)n : NAN, have ? sx.p_zero_exact[t] : NAN);
            }
            if (have) ad_stats_free(&sx);
        }
    }
    CLOSE();
    OPEN("settings.csv");
    fprintf(f, "task,role,train_chars,val_chars,vocab,n_head,n_layer,steps,lr,seeds,cells,floor,unigram,bigram_model_val,"
               "learned_below,learned\n");
    static const char *roles[] = {"data-rich", "small-data", "shape"};
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        fprintf(f, "%s,%s,%ld,%ld,%d,%d,%d,%d,%g,%d,%d,%.6f,%.6f,%.6f,%.6f,%d\n", st->name, roles[st->role], st->n_train,
                st->n_val, st->vocab, st->n_head, st->n_layer, st->max_iters, st->lr, st->seeds, st->n_cells, st->floor,
                st->unigram, st->bigram, d->criterion[i], d->learned[i]);
    }
    CLOSE();
    OPEN("summary.csv");
    fprintf(f, "task,scheme,p,seeds,final_val_mean,final_val_ci95,best_val_mean,train_val_gap_mean,floor,above_floor,"
               "threshold,steps_to_threshold_mean,steps_to_threshold_ci95,reached,learned\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        for (int c = 0; c < st->n_cells; c++) {
            double fv[STUDY_MAX_SEEDS], bv[STUDY_MAX_SEEDS], gap[STUDY_MAX_SEEDS], stp[STUDY_MAX_SEEDS];
            int reached = 0;
            for (int s = 0; s < st->seeds; s++) {
                const run_rec *r = run_of(d, i, c, s);
                fv[s] = final_val(r);
                gap[s] = final_val(r) - r->train[r->n_evals - 1];
                bv[s] = r->val[0];
                for (int e = 1; e < r->n_evals; e++) if (r->val[e] < bv[s]) bv[s] = r->val[e];
            }
            steps_to(d, i, c, stp);
            for (int s = 0; s < st->seeds; s++) reached += !isnan(stp[s]);
            ad_effect fe = describe(fv, st->seeds), be = describe(bv, st->seeds), ge = describe(gap, st->seeds),
                      se = describe(stp, st->seeds);
            fprintf(f, "%s,%s,%g,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f,%d,%d\n", st->name, sname(st->cell_scheme[c]),
                    st->cell_p[c], st->seeds, fe.mean, fe.ci95, be.mean, ge.mean, st->floor, fe.mean - st->floor, d->thr[i],
                    se.mean, se.ci95, reached, d->learned[i]);
        }
    }
    CLOSE();
    OPEN("effects.csv");
    fprintf(f, "task,scheme,p,baseline,seeds,diff_mean,diff_ci95,margin,verdict\n");
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        eff_key(f, sp, r);
        fprintf(f, "%d,%.6f,%.6f,%g,%s\n", r->e.n, r->e.mean, r->e.ci95, sp->margin,
                d->learned[r->set] ? ad_verdict_name(r->e.verdict) : "not-learned");
    }
    CLOSE();
    OPEN("position_effects.csv");
    fprintf(f, "task,scheme,p,baseline,pos,seeds,diff_mean,diff_ci95\n");
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        for (int t = 0; t < T; t++) {
            eff_key(f, sp, r);
            fprintf(f, "%d,%d,%.6f,%.6f\n", t, r->pos[t].n, r->pos[t].mean, r->pos[t].ci95);
        }
        eff_key(f, sp, r);
        fprintf(f, "0-3,%d,%.6f,%.6f\n", r->early.n, r->early.mean, r->early.ci95);
    }
    CLOSE();
    OPEN("benefit.csv");
    fprintf(f, "task,scheme,p,seeds,share_of_benefit,share_ci95\n");
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++) {
            int sc;
            if (sp->set[i].cell_scheme[c] == AD_SCHEME_NONE) continue;
            ad_ratio b = benefit(d, i, c, &sc);
            if (sc < 0) continue;
            fprintf(f, "%s,%s,%g,%d,%.6f,%.6f\n", sp->set[i].name, sname(sp->set[i].cell_scheme[c]), sp->set[i].cell_p[c],
                    b.n, b.ratio, b.ci95);
        }
    CLOSE();
    if (d->tm && d->tm->n) {
        const study_setting *st = &sp->set[0];
        int nc = d->none[0];
        OPEN("timing.csv");
        fprintf(f, "task,scheme,p,rounds,steps_per_round,sec_per_step_median,sec_per_step_min,sec_per_step_max,vs_none\n");
        for (int c = 0; c < d->tm->n; c++)
            fprintf(f, "%s,%s,%g,%d,%d,%.6f,%.6f,%.6f,%.4f\n", st->name, sname(st->cell_scheme[c]), st->cell_p[c], d->tm->rounds,
                    d->tm->steps, d->tm->median[c], d->tm->lo[c], d->tm->hi[c], nc >= 0 ? d->tm->median[c] / d->tm->median[nc] : NAN);
        CLOSE();
    }
    return 0;
io:
    return io_fail(path, &af);
}

/* ------------------------------------------------------- plot data files */

/* Writes DIR/plots/<setting>.{curves,forest,poseff,zero}.dat (each block
 * begins with a header line whose first field is the series' title) and
 * appends "name:letters" for the script to words. */
static int write_plot_data(const char *dir, const rdata *d, char *words, size_t words_n) {
    const study_spec *sp = d->sp;
    int T = sp->block_size;
    char path[4096], label[64];
    atomic_file af;
    FILE *f;
    snprintf(path, sizeof path, "%s/plots", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) goto io;
    words[0] = '\0';
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        char flags[8] = "c", name[64];
        /* learning curves: none first, the others after */
        snprintf(name, sizeof name, "plots/%s.curves.dat", st->name);
        OPEN(name);
        for (int pass = 0, first = 1; pass < 2; pass++)
            for (int c = 0; c < st->n_cells; c++) {
                if ((pass == 0) != (c == d->none[i])) continue;
                study_cell_label(label, sizeof label, st->cell_scheme[c], st->cell_p[c]);
                fprintf(f, "%s\"%s\" mean lo hi\n", first ? "" : "\n\n", label);
                first = 0;
                const run_rec *r0 = run_of(d, i, c, 0);
                for (int e = 0; e < r0->n_evals; e++) {
                    double v[STUDY_MAX_SEEDS];
                    for (int s = 0; s < st->seeds; s++) v[s] = run_of(d, i, c, s)->val[e];
                    ad_effect m = describe(v, st->seeds);
                    double ci = isnan(m.ci95) ? 0.0 : m.ci95;
                    fprintf(f, "%ld %.6f %.6f %.6f\n", r0->step[e], m.mean, m.mean - ci, m.mean + ci);
                }
            }
        CLOSE();
        int n_eff = 0;
        for (int k = 0; k < d->n_eff; k++) n_eff += d->eff[k].set == i;
        if (n_eff) {
            strcat(flags, "fe");
            snprintf(name, sizeof name, "plots/%s.forest.dat", st->name);
            OPEN(name);
            fprintf(f, "comparison diff lo hi\n");
            for (int k = 0; k < d->n_eff; k++) {
                const eff_row *r = &d->eff[k];
                if (r->set != i) continue;
                double ci = isnan(r->e.ci95) ? 0.0 : r->e.ci95;
                fprintf(f, "\"%s p=%g - %s\" %.6f %.6f %.6f\n", sname(st->cell_scheme[r->cell]), st->cell_p[r->cell],
                        sname(st->cell_scheme[r->base]), r->e.mean, r->e.mean - ci, r->e.mean + ci);
            }
            CLOSE();
            /* per-position effects of the comparisons that answer question 3: standard - none, nonzero - standard */
            snprintf(name, sizeof name, "plots/%s.poseff.dat", st->name);
            OPEN(name);
            int blocks = 0;
            for (int k = 0; k < d->n_eff; k++) {
                const eff_row *r = &d->eff[k];
                int sc = st->cell_scheme[r->cell];
                if (r->set != i || (sc != AD_SCHEME_STANDARD && sc != AD_SCHEME_NONZERO) || blocks == 6) continue;
                fprintf(f, "%s\"%s - %s, p=%g\" diff lo hi\n", blocks ? "\n\n" : "", sname(sc), sname(st->cell_scheme[r->base]),
                        st->cell_p[r->cell]);
                blocks++;
                for (int t = 0; t < T; t++) {
                    double ci = isnan(r->pos[t].ci95) ? 0.0 : r->pos[t].ci95;
                    fprintf(f, "%d %.6f %.6f %.6f\n", t, r->pos[t].mean, r->pos[t].mean - ci, r->pos[t].mean + ci);
                }
            }
            CLOSE();
            if (!blocks) flags[strlen(flags) - 1] = '\0';
        }
        /* all-zero rows met in training against the exact rate, for the cells that met any */
        snprintf(name, sizeof name, "plots/%s.zero.dat", st->name);
        OPEN(name);
        int blocks = 0;
        for (int c = 0; c < st->n_cells; c++) {
            unsigned long long z0 = 0;
            for (int s = 0; s < st->seeds; s++) z0 += run_of(d, i, c, s)->zero[0];
            if (!z0 || blocks == 8) continue;
            ad_stats sx;
            ad_stats_opts so = {(ad_scheme)st->cell_scheme[c], (float)st->cell_p[c], T, st->n_head, st->n_layer, 1, 1, 0, 1.0};
            int have = ad_stats_compute(&sx, &so, NULL) == AD_OK;
            study_cell_label(label, sizeof label, st->cell_scheme[c], st->cell_p[c]);
            fprintf(f, "%s\"%s\" observed exact\n", blocks++ ? "\n\n" : "", label);
            for (int t = 0; t < T; t++) {
                unsigned long long z = 0, n = 0;
                for (int s = 0; s < st->seeds; s++) { z += run_of(d, i, c, s)->zero[t]; n += run_of(d, i, c, s)->rows[t]; }
                if (z) fprintf(f, "%d %.8g", t, (double)z / (double)n); else fprintf(f, "%d ?", t);
                if (have && sx.p_zero_exact[t] > 0) fprintf(f, " %.8g\n", sx.p_zero_exact[t]); else fprintf(f, " ?\n");
            }
            if (have) ad_stats_free(&sx);
        }
        CLOSE();
        if (blocks) strcat(flags, "z");
        size_t len = strlen(words);
        snprintf(words + len, words_n - len, "%s%s:%s", len ? " " : "", st->name, flags);
    }
    return 0;
io:
    return io_fail(path, &af);
}

/* ------------------------------------------------------------ report.md */

static void write_report_text(FILE *f, const rdata *d);

static int write_report(const char *dir, const rdata *d) {
    char path[4096];
    atomic_file af;
    FILE *f;
    OPEN("report.md");
    write_report_text(f, d);
    CLOSE();
    return 0;
io:
    return io_fail(path, &af);
}

int study_report(const char *dir, const study_spec *sp, const study_timing *tm) {
    rdata d;
    memset(&d, 0, sizeof d);
    d.sp = sp;
    d.tm = tm;
    int rc = read_all(dir, &d);
    if (!rc) {
        analyse_settings(&d);
        rc = analyse_effects(&d);
        if (rc) fprintf(stderr, "%s: out of memory\n", cli_prog);
    }
    if (!rc) rc = write_csvs(dir, &d);
    char words[STUDY_MAX_SETTINGS * 48];
    if (!rc) rc = write_plot_data(dir, &d, words, sizeof words);
    if (!rc) {
        d.plotted = study_draw_plots(dir, sp->margin, words);
        rc = write_report(dir, &d);
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

/* ---------------------------------------------------------- the prose */

static const char *role_text(study_role r) {
    return r == ROLE_SMALL ? "small training set: the regime where dropout helps"
         : r == ROLE_SHAPE ? "one head, one layer: question 4"
                           : "more data than the model can memorise";
}

/* "equivalent in 3 (markov p=0.2, ...), worse in 1 (...) of 4" for a scheme's comparisons on learned
 * settings of the roles in mask; which: 0 the whole sequence, 1 positions 0-3. Returns the count. */
static int tally(FILE *f, const rdata *d, int scheme, int roles_mask, int which) {
    static const ad_verdict order[4] = {AD_VERDICT_EQUIVALENT, AD_VERDICT_BETTER, AD_VERDICT_WORSE, AD_VERDICT_INCONCLUSIVE};
    int total = 0, printed = 0;
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        total += d->sp->set[r->set].cell_scheme[r->cell] == scheme && d->learned[r->set] &&
                 (roles_mask & (1 << d->sp->set[r->set].role));
    }
    if (!total) { fprintf(f, "not in this grid"); return 0; }
    for (int v = 0; v < 4; v++) {
        int n = 0;
        for (int pass = 0; pass < 2; pass++) {
            int listed = 0;
            for (int k = 0; k < d->n_eff; k++) {
                const eff_row *r = &d->eff[k];
                const study_setting *st = &d->sp->set[r->set];
                const ad_effect *e = which ? &r->early : &r->e;
                if (st->cell_scheme[r->cell] != scheme || !d->learned[r->set] || !(roles_mask & (1 << st->role)) ||
                    e->verdict != order[v])
                    continue;
                if (pass == 0) { n++; continue; }
                if (!listed) fprintf(f, "%s**%s** in %d (", printed++ ? ", " : "", ad_verdict_name(order[v]), n);
                fprintf(f, "%s`%s` p=%g: %+.4f", listed++ ? "; " : "", st->name, st->cell_p[r->cell], e->mean);
            }
            if (pass == 1 && listed) fprintf(f, ")");
            if (!n) break;
        }
    }
    fprintf(f, " of %d", total);
    return total;
}

/* a line of counted verdicts: text, then the tally of a scheme's comparisons */
typedef struct { const char *text; int scheme, roles, which; } tally_item;
static void tallies(FILE *f, const rdata *d, const tally_item *items, int n) {
    for (int i = 0; i < n; i++) {
        fputs(items[i].text, f);
        tally(f, d, items[i].scheme, items[i].roles, items[i].which);
    }
}

static void write_short(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    const study_setting *st0 = &sp->set[0];
    enum { RICH = 1 << ROLE_RICH, SMALL = 1 << ROLE_SMALL, SHAPE = 1 << ROLE_SHAPE };
    fprintf(f, "## In short\n\n"
               "Each answer is a count of paired verdicts (defined below) with the mean differences in nats; the sections "
               "that follow give every interval.\n\n");
    int sc = find_cell(st0, AD_SCHEME_STANDARD, 0.2);
    if (sc < 0) sc = find_cell(st0, AD_SCHEME_STANDARD, 0.5);
    if (sc >= 0) {
        unsigned long long z = 0, n = 0;
        for (int s = 0; s < st0->seeds; s++) { z += run_of(d, 0, sc, s)->zero[0]; n += run_of(d, 0, sc, s)->rows[0]; }
        fprintf(f, "1. **Yes.** With `standard` dropout at p=%g the first row of a head's attention was all zero in %.4f of "
                   "the %llu rows met in training on `%s` (exact: p).\n", st0->cell_p[sc], n ? (double)z / n : NAN, n, st0->name);
        fprintf(f, "2. **Yes**, at rate p^(i+1) for position i, matched by the counts (question 2).\n");
    } else {
        fprintf(f, "1. and 2. No `standard` run on `%s` in this grid.\n", st0->name);
    }
    const tally_item q34[] = {
        {"3. Guaranteeing a survivor per row (`nonzero` − `standard`), loss at positions 0–3: ", AD_SCHEME_NONZERO, RICH | SMALL, 1},
        {"; whole sequence: ", AD_SCHEME_NONZERO, RICH | SMALL, 0},
        {". Dropout itself (`standard` − `none`): ", AD_SCHEME_STANDARD, RICH | SMALL, 0},
        {".\n4. With one head and one layer (`nonzero` − `standard`): ", AD_SCHEME_NONZERO, SHAPE, 0},
        {"; positions 0–3: ", AD_SCHEME_NONZERO, SHAPE, 1},
    };
    const tally_item q67[] = {
        {".\n6. Dropping whole words (`token` − `standard`): ", AD_SCHEME_TOKEN, RICH | SMALL, 0},
        {"; (`word` − `standard`): ", AD_SCHEME_WORD, RICH | SMALL, 0},
        {".\n7. Keeping a token's own weight (`keepdiag` − `standard`): ", AD_SCHEME_KEEPDIAG, RICH | SMALL, 0},
        {"; masking logits with a survivor (`dropkey` − `standard`): ", AD_SCHEME_DROPKEY, RICH | SMALL, 0},
    };
    tallies(f, d, q34, 5);
    fprintf(f, ".\n5. In steps, see question 5 (steps to `none`'s half-run loss); in time per step");
    if (d->tm && d->tm->n && d->none[0] >= 0) {
        int st = find_cell(st0, AD_SCHEME_STANDARD, 0.2);
        if (st < 0) st = sc;
        if (st >= 0) fprintf(f, ", `standard` p=%g costs %.2fx `none`", st0->cell_p[st], d->tm->median[st] / d->tm->median[d->none[0]]);
        int nz = find_cell(st0, AD_SCHEME_NONZERO, 0.2);
        if (nz >= 0) fprintf(f, " and `nonzero` %.2fx", d->tm->median[nz] / d->tm->median[d->none[0]]);
    } else {
        fprintf(f, ": not measured (`--timing-rounds 0`)");
    }
    tallies(f, d, q67, 4);
    fprintf(f, ".\n\n");
}

/* "- `set`, scheme p=x - baseline: <effect>" for every setting where the comparison exists */
static void list_effects(FILE *f, const rdata *d, int scheme, int roles_mask) {
    char buf[256];
    int n = 0;
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        const study_setting *st = &d->sp->set[r->set];
        if (st->cell_scheme[r->cell] != scheme || !(roles_mask & (1 << st->role))) continue;
        fmt_effect(buf, sizeof buf, &r->e, d->learned[r->set]);
        fprintf(f, "- `%s`, %s p=%g − %s: %s\n", st->name, sname(scheme), st->cell_p[r->cell],
                sname(st->cell_scheme[r->base]), buf);
        n++;
    }
    if (!n) fprintf(f, "- `%s`: not in this grid\n", sname(scheme));
}

/* the share of dropout's benefit, for every small-data setting where standard beats none */
static int list_benefit(FILE *f, const rdata *d, int scheme) {
    int n = 0;
    for (int i = 0; i < d->sp->n_set; i++) {
        const study_setting *st = &d->sp->set[i];
        if (st->role != ROLE_SMALL || !d->learned[i]) continue;
        for (int c = 0; c < st->n_cells; c++) {
            if (st->cell_scheme[c] != scheme) continue;
            const eff_row *se = find_eff(d, i, AD_SCHEME_STANDARD, st->cell_p[c]);
            int sc;
            ad_ratio b = benefit(d, i, c, &sc);
            if (!se || se->e.verdict != AD_VERDICT_BETTER) continue;
            char pm[64];
            fmt_pm(pm, sizeof pm, b.ratio, b.ci95, 2);
            fprintf(f, "- `%s` (small training set), p=%g: keeps %s of standard dropout's benefit over none (1 = all of it)\n",
                    st->name, st->cell_p[c], pm + (pm[0] == '+'));
            n++;
        }
    }
    return n;
}

static void write_method(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    int learned_cmp = 0;
    for (int k = 0; k < d->n_eff; k++) learned_cmp += d->learned[d->eff[k].set];
    fprintf(f, "## How to read it\n\n"
               "Runs with the same seed share their initial weights and their batches (both come from Philox streams keyed by "
               "the seed), so every comparison is **paired**: for each seed, the final val loss of a scheme minus that of its "
               "baseline (`standard` at the same p, and `none` for `standard` itself). The interval is the 95%% Student-t "
               "interval of the mean difference over seeds, t(0.975, n−1)·sd/√n. Negative differences mean lower loss.\n\n"
               "The **margin** of %g nats per character is the smallest difference treated as mattering: exp(%g) − 1 = %.1f%% "
               "in perplexity, well below what would make a practitioner pick one scheme over another, and about the "
               "seed-to-seed spread of a single run's final loss here. The verdicts:\n\n"
               "- **equivalent**: the whole interval lies within ±%g: any difference is too small to matter;\n"
               "- **better** / **worse**: the interval lies entirely below / above 0;\n"
               "- **inconclusive** otherwise, with the number of seeds that would give a verdict if the mean difference and "
               "its spread stayed as observed.\n\n"
               "The report makes %d paired comparisons on learned settings. If no scheme differed from its baseline at all, "
               "95%% intervals would still call about %.1f of them better or worse by chance (5%% each), so a lone verdict "
               "near the edge of its interval deserves less weight than a consistent pattern.\n\n",
            sp->margin, sp->margin, 100.0 * (exp(sp->margin) - 1.0), sp->margin, learned_cmp, 0.05 * learned_cmp);
}

static void write_settings(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "## Settings\n\n"
               "A setting is learned when every seed of `none` reaches a val loss (at any evaluation: a small-data run "
               "overfits later) below the midpoint between the loss of a model that ignores the context (the unigram "
               "entropy of the text) and the floor (the text's exact entropy rate); for a text without a known floor, "
               "below the val loss of a bigram model fitted to the same training split (character-pair counts with "
               "add-½ smoothing): the model has learned more than counting pairs of its data would give. No verdict is "
               "drawn on a setting that was not learned.\n\n"
               "| setting | what it is for | training chars | model | steps, lr | seeds | none: final val | none: best val | "
               "none: val − train | floor | learned (below) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        double fv[STUDY_MAX_SEEDS], bv[STUDY_MAX_SEEDS], gap[STUDY_MAX_SEEDS];
        int nc = d->none[i];
        for (int s = 0; s < st->seeds && nc >= 0; s++) {
            const run_rec *r = run_of(d, i, nc, s);
            fv[s] = final_val(r);
            gap[s] = final_val(r) - r->train[r->n_evals - 1];
            bv[s] = r->val[0];
            for (int e = 1; e < r->n_evals; e++) if (r->val[e] < bv[s]) bv[s] = r->val[e];
        }
        char a[64], b[64], g[64];
        ad_effect fe = describe(fv, nc >= 0 ? st->seeds : 0), be = describe(bv, nc >= 0 ? st->seeds : 0),
                  ge = describe(gap, nc >= 0 ? st->seeds : 0);
        fmt_pm(a, sizeof a, fe.mean, fe.ci95, 3);
        fmt_pm(b, sizeof b, be.mean, be.ci95, 3);
        fmt_pm(g, sizeof g, ge.mean, ge.ci95, 3);
        fprintf(f, "| `%s` | %s | %ld | B%d T%d C%d H%d L%d | %d, %g | %d | %s | %s | %s | ", st->name, role_text(st->role),
                st->n_train, sp->batch_size, sp->block_size, sp->n_embd, st->n_head, st->n_layer, st->max_iters, st->lr,
                st->seeds, a + 1, b + 1, g);
        if (isnan(st->floor)) fprintf(f, "unknown | ");
        else fprintf(f, "%.4f | ", st->floor);
        fprintf(f, "%s (%.3f) |\n", d->learned[i] ? "yes" : "**no**", d->criterion[i]);
    }
    fprintf(f, "\nThe floor assumes the whole past is visible; a model sees only its window of %d characters, so on `copy` "
               "the characters whose original lies before the window cannot be predicted and even a perfect model ends "
               "above the floor.\n\n", sp->block_size);
}

static void answer_zero_rows(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    int T = sp->block_size, i0 = 0;
    fprintf(f, "### 1. Is the first token's head output zero with probability p?\n\n");
    const study_setting *st = &sp->set[i0];
    int sc = -1;
    for (int c = 0; c < st->n_cells; c++)
        if (st->cell_scheme[c] == AD_SCHEME_STANDARD && (sc < 0 || st->cell_p[c] > st->cell_p[sc])) sc = c;
    if (sc < 0) { fprintf(f, "No `standard` run in this study.\n\n"); return; }
    fprintf(f, "Yes. Row 0 of a causal attention matrix has one weight, so it is all zero exactly when that weight is dropped. "
               "Counting the all-zero rows met in training (every batch row, head, layer and step of `%s`; the interval is "
               "±1.96 binomial standard errors):\n\n", st->name);
    for (int c = 0; c < st->n_cells; c++) {
        if (st->cell_scheme[c] != AD_SCHEME_STANDARD) continue;
        unsigned long long z = 0, n = 0;
        for (int s = 0; s < st->seeds; s++) { z += run_of(d, i0, c, s)->zero[0]; n += run_of(d, i0, c, s)->rows[0]; }
        double o = n ? (double)z / (double)n : NAN, p = st->cell_p[c];
        fprintf(f, "- p=%g: observed %.5f ± %.5f over %llu rows; exact p = %g\n", p, o,
                1.96 * sqrt(p * (1 - p) / (double)(n ? n : 1)), n, p);
    }
    fprintf(f, "\n### 2. Is the n-th token's output zero with probability p^n?\n\n"
               "Yes: the n-th row (position n−1) has n weights, dropped independently. `standard` at p=%g on `%s`:\n\n"
               "| position | observed | exact p^(i+1) |\n|---|---|---|\n", st->cell_p[sc], st->name);
    for (int t = 0; t < T && t < 8; t++) {
        unsigned long long z = 0, n = 0;
        for (int s = 0; s < st->seeds; s++) { z += run_of(d, i0, sc, s)->zero[t]; n += run_of(d, i0, sc, s)->rows[t]; }
        fprintf(f, "| %d | %.6f | %.6f |\n", t, n ? (double)z / (double)n : NAN, pow(st->cell_p[sc], t + 1));
    }
    if (d->plotted) fprintf(f, "\n![zero rows](plots/zero_rows_%s.png)\n", st->name);
    fprintf(f, "\n");
}

static void answer_bothered(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    char buf[256];
    fprintf(f, "### 3. Should we be bothered?\n\n"
               "If the zero rows at the first positions cost anything, it shows in the loss at those positions (final val "
               "loss per position, dropout off, paired over seeds), and `nonzero`, which never leaves a row all zero but "
               "is otherwise standard dropout, must beat `standard` there. Positions 0–3 pooled (their mean loss per "
               "seed):\n\n");
    int any = 0;
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        const study_setting *st = &sp->set[r->set];
        int sc = st->cell_scheme[r->cell];
        if (sc != AD_SCHEME_STANDARD && sc != AD_SCHEME_NONZERO) continue;
        any = 1;
        fmt_effect(buf, sizeof buf, &r->early, d->learned[r->set]);
        fprintf(f, "- `%s`, %s − %s at p=%g, positions 0–3: %s", st->name, sname(sc), sname(st->cell_scheme[r->base]),
                st->cell_p[r->cell], buf);
        fmt_effect(buf, sizeof buf, &r->late, d->learned[r->set]);
        fprintf(f, "; positions 4–%d: %s\n", sp->block_size - 1, buf);
    }
    if (!any) fprintf(f, "- no `standard` or `nonzero` runs in this study\n");
    fprintf(f, "\nOver the whole sequence (final val loss), `nonzero` against `standard`:\n\n");
    list_effects(f, d, AD_SCHEME_NONZERO, 7);
    fprintf(f, "\nWhere dropout helps (a small training set), the real question is how much of dropout's benefit the zero "
               "rows waste: the share of standard dropout's gain over `none` that `nonzero` keeps, (none − nonzero)/(none "
               "− standard), with a delta-method interval:\n\n");
    if (!list_benefit(f, d, AD_SCHEME_NONZERO))
        fprintf(f, "- no learned small-data setting where standard dropout beats none holds `nonzero`\n");
    if (d->plotted)
        for (int i = 0; i < sp->n_set; i++)
            if (d->learned[i] && sp->set[i].role != ROLE_SHAPE && find_eff(d, i, AD_SCHEME_STANDARD, 0.2))
                fprintf(f, "\n![per-position effects, %s](plots/position_effects_%s.png)\n", sp->set[i].name, sp->set[i].name);
    fprintf(f, "\n");
}

static void answer_heads(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    const study_setting *st0 = &sp->set[0];
    char buf[256];
    fprintf(f, "### 4. Do several layers and heads make it negligible?\n\n");
    ad_stats sx;
    double p = 0.5;
    ad_stats_opts so = {AD_SCHEME_STANDARD, (float)p, sp->block_size, st0->n_head, st0->n_layer, 1, 1, 0, 1.0};
    if (ad_stats_compute(&sx, &so, NULL) == AD_OK) {
        fprintf(f, "A token's attention output in a layer is zero only if its row is dropped in all %d heads: at p=%g and "
                   "position 0 that is p^H = %.3g (one head: %.3g), at position 1 %.3g. The probability that some token of a "
                   "sequence has a zero attention output in some of the %d layers is %.4f (exact, `attndrop stats`). So "
                   "heads make a whole zero output rare, but each head still loses its first rows often. The experiment: if "
                   "zero rows matter, guaranteeing a survivor (`nonzero` − `standard`) must help more with one head and one "
                   "layer, where nothing compensates.\n\n",
                st0->n_head, p, sx.p_allheads_zero_exact[0], sx.p_zero_exact[0],
                sp->block_size > 1 ? sx.p_allheads_zero_exact[1] : 0.0, st0->n_layer, sx.p_any_zero_output);
        ad_stats_free(&sx);
    }
    int shape = -1;
    for (int i = 0; i < sp->n_set; i++) if (sp->set[i].role == ROLE_SHAPE) shape = i;
    if (shape < 0) {
        fprintf(f, "This grid has no one-head, one-layer setting (`--medium` has one).\n\n");
        return;
    }
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        if (st->task != sp->set[shape].task || st->role == ROLE_SMALL) continue;
        for (int c = 0; c < st->n_cells; c++) {
            if (st->cell_scheme[c] != AD_SCHEME_NONZERO) continue;
            const eff_row *r = find_eff(d, i, AD_SCHEME_NONZERO, st->cell_p[c]);
            if (!r) continue;
            fmt_effect(buf, sizeof buf, &r->e, d->learned[i]);
            fprintf(f, "- `%s` (H%d L%d), nonzero − standard at p=%g: whole sequence %s", st->name, st->n_head, st->n_layer,
                    st->cell_p[c], buf);
            fmt_effect(buf, sizeof buf, &r->early, d->learned[i]);
            fprintf(f, "; positions 0–3 %s\n", buf);
        }
    }
    list_effects(f, d, AD_SCHEME_STANDARD, 1 << ROLE_SHAPE);
    if (d->plotted) fprintf(f, "\n![per-position effects, %s](plots/position_effects_%s.png)\n", sp->set[shape].name, sp->set[shape].name);
    fprintf(f, "\n");
}

static void answer_slowdown(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    fprintf(f, "### 5. Does attention dropout slow down training on toy examples?\n\n"
               "In steps: the threshold of a setting is the val loss `none` reaches at half its run; the steps to it are "
               "those of the first evaluation at or below it, paired over the seeds where both runs reached it.\n\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        int nc = d->none[i];
        if (nc < 0) continue;
        for (int c = 0; c < st->n_cells; c++) {
            if (st->cell_scheme[c] != AD_SCHEME_STANDARD) continue;
            double a[STUDY_MAX_SEEDS], b[STUDY_MAX_SEEDS];
            steps_to(d, i, c, a);
            steps_to(d, i, nc, b);
            int ra = 0, rb = 0;
            for (int s = 0; s < st->seeds; s++) { ra += !isnan(a[s]); rb += !isnan(b[s]); }
            ad_effect e;
            ad_effect_paired(&e, a, b, st->seeds, 0.0, NULL);
            char pm[64];
            fmt_pm(pm, sizeof pm, e.mean, e.ci95, 0);
            fprintf(f, "- `%s`, standard p=%g: reached the threshold (%.3f) in %d of %d seeds, none in %d; steps more than "
                       "none: %s%s\n", st->name, st->cell_p[c], d->thr[i], ra, st->seeds, rb, pm,
                    d->learned[i] ? "" : " (setting not learned)");
        }
    }
    const study_timing *tm = d->tm;
    if (tm && tm->n && d->none[0] >= 0) {
        const study_setting *st = &sp->set[0];
        double none = tm->median[d->none[0]];
        fprintf(f, "\nIn time: seconds per training step at `%s`'s shape, measured in a timing phase of its own (one process, "
                   "every other worker idle, %d interleaved rounds of %d steps per scheme; the median over rounds, and the "
                   "range of the rounds' ratios to none's median). `none`: %.2f ms per step.\n\n"
                   "| scheme | ms per step | vs none | range |\n|---|---|---|---|\n",
                st->name, tm->rounds, tm->steps, 1e3 * none);
        for (int c = 0; c < tm->n; c++) {
            char label[64];
            study_cell_label(label, sizeof label, st->cell_scheme[c], st->cell_p[c]);
            fprintf(f, "| %s | %.2f | %.2fx | %.2f–%.2f |\n", label, 1e3 * tm->median[c], tm->median[c] / none,
                    tm->lo[c] / none, tm->hi[c] / none);
        }
    } else {
        fprintf(f, "\nNo timing phase was run (`--timing-rounds 0`).\n");
    }
    fprintf(f, "\n");
}

static void answer_words(FILE *f, const rdata *d) {
    fprintf(f, "### 6. Why not drop whole words?\n\n"
               "`token` drops whole keys (words) for every head of a layer, `word` drops input tokens' embeddings and "
               "`embedding` whole vocabulary entries; all keep the batch rectangular (a dropped word is masked, not "
               "removed), so batching is not the obstacle. Against `standard` at the same p:\n\n");
    static const int whole[3] = {AD_SCHEME_TOKEN, AD_SCHEME_WORD, AD_SCHEME_EMBEDDING};
    for (int w = 0; w < 3; w++) list_effects(f, d, whole[w], 7);
    fprintf(f, "\nShare of standard dropout's benefit kept where dropout helps:\n\n");
    int nb = 0;
    for (int w = 0; w < 3; w++) nb += list_benefit(f, d, whole[w]);
    if (!nb) fprintf(f, "- no learned small-data setting where standard dropout beats none holds these schemes\n");
    fprintf(f, "\n");
}

static void answer_guarantee(FILE *f, const rdata *d) {
    fprintf(f, "### 7. Why not guarantee at least one nonzero weight per row?\n\n"
               "`nonzero` samples the mask conditioned on a survivor per row (exactly, rescaling by (1−p^n)/(1−p) so every "
               "weight stays unbiased), `keepdiag` always keeps a token's weight on itself, `fixedcount` drops a fixed "
               "count, `dropkey` masks logits before the softmax with a survivor per row. None of them ever leaves an "
               "attention row all zero (`zero_rows.csv`). Against `standard` at the same p:\n\n");
    static const int guar[4] = {AD_SCHEME_NONZERO, AD_SCHEME_KEEPDIAG, AD_SCHEME_FIXEDCOUNT, AD_SCHEME_DROPKEY};
    for (int g = 0; g < 4; g++) list_effects(f, d, guar[g], 7);
    fprintf(f, "\nShare of standard dropout's benefit kept where dropout helps:\n\n");
    int nb = 0;
    for (int g = 0; g < 4; g++) nb += list_benefit(f, d, guar[g]);
    if (!nb) fprintf(f, "- no learned small-data setting where standard dropout beats none holds these schemes\n");
    fprintf(f, "\n**The source's remarks, \"drop on the mask\" and \"symmetric\" dropout.** Dropping the whole T x T matrix "
               "(`standard`, as `nn.Dropout` does) or only the weights inside the causal mask (`masked`) gives outputs with "
               "the same distribution: the weights above the diagonal are already zero. Neither is biased: each kept "
               "weight is scaled by 1/(1−p). With causal attention a symmetric mask only ever uses its lower triangle, so "
               "`symmetric` is `masked`, draw for draw; it differs only for bidirectional attention (`attndrop stats "
               "--attention bidirectional`).\n\n");
    list_effects(f, d, AD_SCHEME_MASKED, 7);
    fprintf(f, "\n");
}

static void write_comparisons(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    char buf[256], label[64];
    fprintf(f, "## Every comparison, by setting\n\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        fprintf(f, "### `%s`: %s\n\n", st->name, role_text(st->role));
        fprintf(f, "| scheme | final val loss | paired difference | baseline | verdict | seeds needed | share of benefit |\n"
                   "|---|---|---|---|---|---|---|\n");
        for (int c = 0; c < st->n_cells; c++) {
            double fv[STUDY_MAX_SEEDS];
            for (int s = 0; s < st->seeds; s++) fv[s] = final_val(run_of(d, i, c, s));
            ad_effect fe = describe(fv, st->seeds);
            study_cell_label(label, sizeof label, st->cell_scheme[c], st->cell_p[c]);
            fmt_pm(buf, sizeof buf, fe.mean, fe.ci95, 4);
            fprintf(f, "| %s | %s |", label, buf + 1);
            const eff_row *r = NULL;
            for (int k = 0; k < d->n_eff; k++) if (d->eff[k].set == i && d->eff[k].cell == c) r = &d->eff[k];
            if (!r) { fprintf(f, " | | | | |\n"); continue; }
            fmt_pm(buf, sizeof buf, r->e.mean, r->e.ci95, 4);
            fprintf(f, " %s | %s | %s | ", buf, sname(st->cell_scheme[r->base]),
                    d->learned[i] ? ad_verdict_name(r->e.verdict) : "not learned");
            if (r->e.verdict == AD_VERDICT_INCONCLUSIVE && r->e.seeds_needed > 0) fprintf(f, "%d", r->e.seeds_needed);
            fprintf(f, " | ");
            int sc;
            ad_ratio b = benefit(d, i, c, &sc);
            const eff_row *se = find_eff(d, i, AD_SCHEME_STANDARD, st->cell_p[c]);
            if (st->role == ROLE_SMALL && se && se->e.verdict == AD_VERDICT_BETTER && !isnan(b.ratio)) {
                fmt_pm(buf, sizeof buf, b.ratio, b.ci95, 2);
                fprintf(f, "%s", buf + (buf[0] == '+'));
            }
            fprintf(f, " |\n");
        }
        if (d->plotted) {
            int has = 0;
            for (int k = 0; k < d->n_eff; k++) has |= d->eff[k].set == i;
            if (has) fprintf(f, "\n![effects, %s](plots/forest_%s.png)\n", st->name, st->name);
            fprintf(f, "\n![learning curves, %s](plots/curves_%s.png)\n", st->name, st->name);
        }
        fprintf(f, "\n");
    }
}

static void write_report_text(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    int n_runs = 0;
    double total = 0.0;
    for (int i = 0; i < sp->n_set; i++) n_runs += sp->set[i].n_cells * sp->set[i].seeds;
    for (int k = 0; k < n_runs; k++) total += d->runs[k].seconds;
    fprintf(f, "# Attention dropout: what it does, measured\n\n"
               "This report answers the questions of the source (dropout on the causal softmax matrix of nanoGPT's `Head`) "
               "with measurements: the `%s` grid, %d runs in %d settings, each a GPT with B%d T%d C%d trained with AdamW "
               "and attention dropout only (no dropout after the projection or the feed-forward network), evaluated on %d "
               "batches per split. Training took %.0f s of worker time in all. Every number below comes from the CSV "
               "files beside this report (`effects.csv`, `position_effects.csv`, `benefit.csv`, `summary.csv`, "
               "`settings.csv`, `timing.csv`, and the raw `runs.csv`, `positions.csv`, `zero_rows.csv`).\n\n",
            sp->grid, n_runs, sp->n_set, sp->batch_size, sp->block_size, sp->n_embd, sp->eval_iters, total);
    if (!d->plotted)
        fprintf(f, "*The plots could not be drawn: gnuplot (Debian's `gnuplot-nox`) failed or is missing; see "
                   "`plots/gnuplot.log`. The data files are in `plots/`; `gnuplot -c plots/study.gp DIR MARGIN SETTINGS` "
                   "redraws them.*\n\n");
    write_short(f, d);
    write_method(f, d);
    write_settings(f, d);
    fprintf(f, "## The answers\n\n");
    answer_zero_rows(f, d);
    answer_bothered(f, d);
    answer_heads(f, d);
    answer_slowdown(f, d);
    answer_words(f, d);
    answer_guarantee(f, d);
    write_comparisons(f, d);
    fprintf(f, "## References\n\n"
               "- `standard`: PyTorch `nn.Dropout`, as in the nanoGPT lecture's `gpt.py`; inverted dropout (Srivastava et al., "
               "JMLR 2014).\n"
               "- `renorm`, `column`: DropAttention (Zehui Lin et al., 2019).\n"
               "- `word`: word dropout (Iyyer et al., ACL 2015). `embedding`: embedding dropout (Gal and Ghahramani, NeurIPS "
               "2016).\n"
               "- `dropkey`: DropKey (Li et al., CVPR 2023). `fcm`: forgetful causal masking (Liu et al., 2022). `head`: "
               "DropHead (Zhou et al., 2020).\n"
               "- `nonzero`, `keepdiag`, `fixedcount`, `token`, `masked`, `symmetric`: the source's questions; see "
               "docs/schemes.md.\n");
}
