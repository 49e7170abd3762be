/* report.c - turns a study's run records into runs.csv, positions.csv,
 * zero_rows.csv, summary.csv, gnuplot plots and report.md. Every number in
 * the report is computed here from the same records, so a rerun over the
 * same records writes the same files. */
#include "study.h"
#include "attndrop.h"
#include "opts.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_EVALS 1024

typedef struct {
    int n_evals;
    long step[MAX_EVALS];
    double train[MAX_EVALS], val[MAX_EVALS], elapsed[MAX_EVALS];
    double *pos;                 /* (T) final val loss per position */
    unsigned long long *zero, *rows; /* (T) each */
    double seconds;
    int steps;
} run_rec;

typedef struct { double mean, ci; int n; } mstat;

/* 95% two-sided Student t quantiles, df 1..30 */
static const double t975[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};

static mstat summarise(const double *x, int n) {
    mstat s = {NAN, NAN, n};
    if (n < 1) return s;
    double m = 0.0, v = 0.0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    s.mean = m;
    s.ci = n > 1 ? (n - 1 <= 30 ? t975[n - 2] : 1.96) * sqrt(v / (n - 1)) / sqrt((double)n) : NAN;
    return s;
}

static int read_run(const char *path, int T, run_rec *r) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    int got_t = 0;
    while (fgets(line, sizeof line, f)) {
        long a;
        double x, y, z;
        unsigned long long u, w;
        if (line[0] == 'L' && sscanf(line, "L,%ld,%lf,%lf,%lf", &a, &x, &y, &z) == 4 && r->n_evals < MAX_EVALS) {
            r->step[r->n_evals] = a;
            r->train[r->n_evals] = x;
            r->val[r->n_evals] = y;
            r->elapsed[r->n_evals++] = z;
        } else if (line[0] == 'P' && sscanf(line, "P,%ld,%lf", &a, &x) == 2 && a >= 0 && a < T) {
            r->pos[a] = x;
        } else if (line[0] == 'Z' && sscanf(line, "Z,%ld,%llu,%llu", &a, &u, &w) == 3 && a >= 0 && a < T) {
            r->zero[a] = u;
            r->rows[a] = w;
        } else if (line[0] == 'T' && sscanf(line, "T,%lf,%ld", &x, &a) == 2) {
            r->seconds = x;
            r->steps = (int)a;
            got_t = 1;
        }
    }
    fclose(f);
    return got_t && r->n_evals > 0;
}

/* whether a task met any all-zero row at position 0 (else a log plot has nothing to show) */
static int has_zero_rows(const double *observed, int t, int nc, int T) {
    for (int c = 0; c < nc; c++)
        if (observed[(t * nc + c) * T] > 0.0) return 1;
    return 0;
}

/* whether some scheme was studied at several rates */
static int has_rates(const study_spec *sp) {
    for (int c = 0; c < sp->n_cells; c++)
        for (int d = c + 1; d < sp->n_cells; d++)
            if (sp->cell_scheme[c] == sp->cell_scheme[d]) return 1;
    return 0;
}

/* a label for a cell: "standard p=0.2", "none" */
static void cell_label(char *buf, size_t n, int scheme, double p) {
    if (scheme == AD_SCHEME_NONE) snprintf(buf, n, "none");
    else snprintf(buf, n, "%s p=%g", ad_scheme_get((ad_scheme)scheme)->name, p);
}

/* "what: a m ± ci, b m ± ci (verdict)": the verdict respects overlapping intervals */
static void compare_d(FILE *f, const char *what, const char *la, mstat a, const char *lb, mstat b, int digits) {
    if (what && *what) fprintf(f, "%s: ", what);
    if (isnan(a.mean) || isnan(b.mean)) { /* no seed got there: nothing to average */
        fprintf(f, "%s ", la);
        if (isnan(a.mean)) fprintf(f, "never"); else fprintf(f, "%.*f", digits, a.mean);
        fprintf(f, ", %s ", lb);
        if (isnan(b.mean)) fprintf(f, "never"); else fprintf(f, "%.*f", digits, b.mean);
        return;
    }
    fprintf(f, "%s %.*f ± %.*f, %s %.*f ± %.*f", la, digits, a.mean, digits, a.ci, lb, digits, b.mean, digits, b.ci);
    if (isnan(a.ci) || isnan(b.ci)) {
        fprintf(f, " (too few seeds for an interval: inconclusive)");
    } else if (fabs(a.mean - b.mean) <= a.ci + b.ci) {
        fprintf(f, " (the 95%% intervals overlap: inconclusive)");
    } else {
        fprintf(f, " (%s is %s by %.*f; the 95%% intervals do not overlap)", la, a.mean < b.mean ? "lower" : "higher",
                digits, fabs(a.mean - b.mean));
    }
}

static void compare(FILE *f, const char *what, const char *la, mstat a, const char *lb, mstat b) {
    compare_d(f, what, la, a, lb, b, 4);
}

/* What the report is written from. */
typedef struct {
    const study_spec *sp;
    const mstat *fin, *sts, *secs, *sps; /* (task, cell) */
    const int *reached;
    const double *thr, *observed, *exact; /* (task), (task, cell, pos), (cell, pos) */
    int none_cell, plotted;
    const run_rec *runs;               /* (task, cell, seed) */
} report_data;

static int find_cell(const study_spec *sp, int scheme, double p) {
    for (int c = 0; c < sp->n_cells; c++)
        if (sp->cell_scheme[c] == scheme && (scheme == AD_SCHEME_NONE || fabs(sp->cell_p[c] - p) < 1e-9)) return c;
    return -1;
}

/* the first cell of a scheme at any rate, preferring p (or -1) */
static int find_scheme(const study_spec *sp, int scheme, double p) {
    int c = find_cell(sp, scheme, p);
    for (int d = 0; d < sp->n_cells && c < 0; d++)
        if (sp->cell_scheme[d] == scheme) c = d;
    return c;
}

/* the mean over seeds of the final val loss at position i, and its interval */
static mstat pos_stat(const report_data *r, int t, int c, int i) {
    const study_spec *sp = r->sp;
    double v[32];
    for (int s = 0; s < sp->seeds; s++) v[s] = r->runs[(t * sp->n_cells + c) * sp->seeds + s].pos[i];
    return summarise(v, sp->seeds);
}

static void fmt_stat(char *buf, size_t n, mstat a, int digits) {
    if (isnan(a.mean)) snprintf(buf, n, "n/a");
    else if (isnan(a.ci)) snprintf(buf, n, "%.*f", digits, a.mean);
    else snprintf(buf, n, "%.*f ± %.*f", digits, a.mean, digits, a.ci);
}

static int write_report(const char *dir, const report_data *r) {
    const study_spec *sp = r->sp;
    int nc = sp->n_cells, T = sp->block_size, H = sp->n_head, L = sp->n_layer;
    char path[4096], label[64], a[64], b[64], c2[64];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { fprintf(stderr, "%s: cannot write '%s': %s\n", cli_prog, tmp, strerror(errno)); return EXIT_INPUT; }
    double total = 0.0;
    for (int i = 0; i < sp->n_tasks * nc * sp->seeds; i++) total += r->runs[i].seconds;
    fprintf(f, "# Attention dropout: what it does, measured\n\n"
               "This report answers the questions of the source (dropout on the causal softmax matrix of nanoGPT's `Head`) with "
               "measurements of %d runs: %d task(s) x %d cells (scheme, p) x %d seeds, each %d AdamW steps (lr %g) of a "
               "GPT with B%d T%d C%d H%d L%d, attention dropout only (no dropout after the projection or the feed-forward "
               "network), evaluated every %d steps on %d batches per split. Training took %.0f s in all. Every number below "
               "comes from the CSV files beside this report; intervals are 95%% Student-t intervals over seeds.\n\n",
            sp->n_tasks * nc * sp->seeds, sp->n_tasks, nc, sp->seeds, sp->max_iters, sp->lr, sp->batch_size, T, sp->n_embd,
            H, L, sp->eval_interval, sp->eval_iters, total);
    if (!r->plotted) fprintf(f, "*The plots could not be drawn: gnuplot (Debian's `gnuplot-nox`) failed or is missing.*\n\n");
    fprintf(f, "The threshold of a task is the val loss that `none` reaches at half its run; *steps* and *seconds* to the "
               "threshold are those of the first evaluation at or below it (over the seeds that reached it).\n\n");
    for (int t = 0; t < sp->n_tasks; t++) {
        const char *tn = sp->task_names[t];
        fprintf(f, "## Task `%s`\n\n", tn);
        if (!isnan(sp->floor[t])) fprintf(f, "Loss floor (the text's exact entropy rate): %.4f nats per character. ", sp->floor[t]);
        fprintf(f, "Threshold: %.4f.\n\n", r->thr[t]);
        fprintf(f, "| scheme | final val loss | above floor | steps to threshold | seconds to threshold | reached | s/step vs none |\n"
                   "|---|---|---|---|---|---|---|\n");
        for (int c = 0; c < nc; c++) {
            int i = t * nc + c;
            cell_label(label, sizeof label, sp->cell_scheme[c], sp->cell_p[c]);
            fmt_stat(a, sizeof a, r->fin[i], 4);
            fmt_stat(b, sizeof b, r->sts[i], 0);
            fmt_stat(c2, sizeof c2, r->secs[i], 2);
            fprintf(f, "| %s | %s | %.4f | %s | %s | %d/%d | %.2f |\n", label, a, r->fin[i].mean - sp->floor[t], b, c2,
                    r->reached[i], sp->seeds, r->sps[i].mean / r->sps[t * nc + r->none_cell].mean);
        }
        if (r->plotted) {
            fprintf(f, "\n![loss](plots/loss_%s.png)\n![time](plots/time_%s.png)\n![positions](plots/positions_%s.png)\n", tn, tn, tn);
            if (has_zero_rows(r->observed, t, nc, T)) fprintf(f, "![zero rows](plots/zero_rows_%s.png)\n", tn);
            if (has_rates(sp)) fprintf(f, "![loss against p](plots/loss_vs_p_%s.png)\n", tn);
        }
        fprintf(f, "\n");
    }

    /* the questions, on the first task (and every task where it matters) */
    int t0 = 0;
    int std2 = find_scheme(sp, AD_SCHEME_STANDARD, 0.2), std5 = find_cell(sp, AD_SCHEME_STANDARD, 0.5);
    int stdq = std5 >= 0 ? std5 : std2, none = r->none_cell;
    fprintf(f, "## 1. Is the first token's head output zero with probability p?\n\n");
    if (stdq < 0) {
        fprintf(f, "No `standard` run in this study.\n\n");
    } else {
        fprintf(f, "Yes. Row 0 of a causal attention matrix has one weight, so it is all zero exactly when that weight is dropped. "
                   "Counting the all-zero rows actually met in training (every batch row, head, layer and step):\n\n");
        for (int c = 0; c < nc; c++)
            if (sp->cell_scheme[c] == AD_SCHEME_STANDARD)
                for (int t = 0; t < sp->n_tasks; t++)
                    fprintf(f, "- `%s`, p=%g: observed %.4f, exact p = %.4f\n", sp->task_names[t], sp->cell_p[c],
                            r->observed[(t * nc + c) * T], r->exact[c * T]);
        fprintf(f, "\n");
    }
    fprintf(f, "## 2. Is the n-th token's output zero with probability p^n?\n\n");
    if (stdq >= 0) {
        fprintf(f, "Yes: the n-th row (position n-1) has n weights, dropped independently. `standard` at p=%g on `%s`:\n\n"
                   "| position | observed | exact p^(i+1) |\n|---|---|---|\n", sp->cell_p[stdq], sp->task_names[t0]);
        for (int i = 0; i < T && i < 8; i++)
            fprintf(f, "| %d | %.6f | %.6f |\n", i, r->observed[(t0 * nc + stdq) * T + i], r->exact[stdq * T + i]);
        fprintf(f, "\n");
    }
    fprintf(f, "## 3. Should we be bothered?\n\n");
    if (stdq >= 0) {
        double zr = 0.0;
        for (int i = 0; i < T; i++) zr += r->exact[stdq * T + i];
        fprintf(f, "At p=%g a head meets %.3f all-zero rows per sequence of %d (exact: the sum of p^(i+1)), nearly all of them in "
                   "the first few positions. Whether it costs anything shows in the loss at those positions (final val loss, "
                   "dropout off):\n\n", sp->cell_p[stdq], zr, T);
        int nz = find_cell(sp, AD_SCHEME_NONZERO, sp->cell_p[stdq]);
        for (int t = 0; t < sp->n_tasks; t++) {
            fprintf(f, "- `%s`:\n", sp->task_names[t]);
            for (int i = 0; i < 3 && i < T; i++) {
                fprintf(f, "  - position %d: ", i);
                compare(f, "", "standard", pos_stat(r, t, stdq, i), "none", pos_stat(r, t, none, i));
                if (nz >= 0) { fprintf(f, "; "); compare(f, "", "nonzero", pos_stat(r, t, nz, i), "standard", pos_stat(r, t, stdq, i)); }
                fprintf(f, "\n");
            }
            fprintf(f, "  - whole sequence: ");
            compare(f, "", "standard", r->fin[t * nc + stdq], "none", r->fin[t * nc + none]);
            fprintf(f, "\n");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "## 4. Do several layers and heads make it negligible?\n\n");
    if (stdq >= 0) {
        ad_stats st;
        ad_stats_opts so = {AD_SCHEME_STANDARD, (float)sp->cell_p[stdq], T, H, L, 1, 1, 0, 1.0};
        if (ad_stats_compute(&st, &so, NULL) == AD_OK) {
            fprintf(f, "A token's attention output in a layer is zero only if its row is dropped in all %d heads: at position 0 "
                       "that is p^H = %.3g (one head: %.3g), at position 1 %.3g. The probability that some token of a sequence "
                       "has a zero attention output in some of the %d layers is %.4f (exact, `attndrop stats`). So the first "
                       "token's output is often zero in one head, but rarely in a whole layer; the measured effect on the loss:\n\n",
                    H, st.p_allheads_zero_exact[0], st.p_zero_exact[0], T > 1 ? st.p_allheads_zero_exact[1] : 0.0, L,
                    st.p_any_zero_output);
            ad_stats_free(&st);
        }
        for (int t = 0; t < sp->n_tasks; t++) {
            fprintf(f, "- `%s`: ", sp->task_names[t]);
            compare(f, "final val loss", "standard", r->fin[t * nc + stdq], "none", r->fin[t * nc + none]);
            fprintf(f, "\n");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "## 5. Does attention dropout slow down training on toy examples?\n\n");
    for (int c = 0; c < nc; c++) {
        if (sp->cell_scheme[c] != AD_SCHEME_STANDARD) continue;
        for (int t = 0; t < sp->n_tasks; t++) {
            fprintf(f, "- `%s`, standard p=%g: ", sp->task_names[t], sp->cell_p[c]);
            compare_d(f, "steps to the threshold", "standard", r->sts[t * nc + c], "none", r->sts[t * nc + none], 0);
            fprintf(f, " (reached by %d and %d of %d seeds); seconds per step %.2fx none's\n", r->reached[t * nc + c],
                    r->reached[t * nc + none], sp->seeds, r->sps[t * nc + c].mean / r->sps[t * nc + none].mean);
        }
    }
    fprintf(f, "\n## 6. Why not drop whole words?\n\n"
               "`token` drops whole keys (words) for every head of a layer and `word`/`embedding` drop input tokens; all keep "
               "the batch rectangular (a dropped word is masked, not removed), so batching is not the obstacle. Against "
               "`standard` at the same p:\n\n");
    static const int whole[3] = {AD_SCHEME_TOKEN, AD_SCHEME_WORD, AD_SCHEME_EMBEDDING};
    for (int w = 0; w < 3; w++)
        for (int c = 0; c < nc; c++) {
            if (sp->cell_scheme[c] != whole[w]) continue;
            int sc = find_cell(sp, AD_SCHEME_STANDARD, sp->cell_p[c]);
            if (sc < 0) continue;
            for (int t = 0; t < sp->n_tasks; t++) {
                fprintf(f, "- `%s`, p=%g: ", sp->task_names[t], sp->cell_p[c]);
                compare(f, "final val loss", ad_scheme_get((ad_scheme)whole[w])->name, r->fin[t * nc + c], "standard", r->fin[t * nc + sc]);
                fprintf(f, "; seconds per step %.2fx standard's\n", r->sps[t * nc + c].mean / r->sps[t * nc + sc].mean);
            }
        }
    fprintf(f, "\n## 7. Why not guarantee a nonzero weight?\n\n"
               "`nonzero` samples the mask conditioned on a survivor per row (exactly, rescaling by (1-p^n)/(1-p) so every weight "
               "stays unbiased), `keepdiag` always keeps a token's weight on itself, `fixedcount` drops a fixed count, `dropkey` "
               "masks logits before the softmax with a survivor per row. None of them ever produces an all-zero row (see "
               "`zero_rows.csv`). Against `standard` at the same p:\n\n");
    static const int guar[4] = {AD_SCHEME_NONZERO, AD_SCHEME_KEEPDIAG, AD_SCHEME_FIXEDCOUNT, AD_SCHEME_DROPKEY};
    for (int g = 0; g < 4; g++)
        for (int c = 0; c < nc; c++) {
            if (sp->cell_scheme[c] != guar[g]) continue;
            int sc = find_cell(sp, AD_SCHEME_STANDARD, sp->cell_p[c]);
            if (sc < 0) continue;
            for (int t = 0; t < sp->n_tasks; t++) {
                fprintf(f, "- `%s`, p=%g: ", sp->task_names[t], sp->cell_p[c]);
                compare(f, "final val loss", ad_scheme_get((ad_scheme)guar[g])->name, r->fin[t * nc + c], "standard", r->fin[t * nc + sc]);
                fprintf(f, "\n");
            }
        }
    fprintf(f, "\n## The source's remarks: \"drop on the mask\" and \"symmetric\" dropout\n\n"
               "Dropping the whole T x T matrix (`standard`, as `nn.Dropout` does) or only the weights inside the causal mask "
               "(`masked`) gives outputs with the same distribution: the weights above the diagonal are already zero, so "
               "dropping them changes nothing. It is not biased either: each kept weight is scaled by 1/(1-p). With causal "
               "attention a symmetric mask (M[i][j] = M[j][i]) only ever uses its lower triangle, so `symmetric` is `masked`, "
               "draw for draw; it differs only for bidirectional attention (`attndrop stats --attention bidirectional`).\n\n");
    int mk = find_scheme(sp, AD_SCHEME_MASKED, 0.2);
    if (mk >= 0) {
        int sc = find_cell(sp, AD_SCHEME_STANDARD, sp->cell_p[mk]);
        for (int t = 0; t < sp->n_tasks && sc >= 0; t++) {
            fprintf(f, "- `%s`, p=%g: ", sp->task_names[t], sp->cell_p[mk]);
            compare(f, "final val loss", "masked", r->fin[t * nc + mk], "standard", r->fin[t * nc + sc]);
            fprintf(f, "\n");
        }
    }
    fprintf(f, "\n## References\n\n"
               "- `standard`: PyTorch `nn.Dropout`, as in the nanoGPT lecture's `gpt.py`; inverted dropout (Srivastava et al., JMLR 2014).\n"
               "- `renorm`, `column`: DropAttention (Zehui Lin et al., 2019).\n"
               "- `word`: word dropout (Iyyer et al., ACL 2015). `embedding`: embedding dropout (Gal and Ghahramani, NeurIPS 2016).\n"
               "- `dropkey`: DropKey (Li et al., CVPR 2023). `fcm`: forgetful causal masking (Liu et al., 2022). "
               "`head`: DropHead (Zhou et al., 2020).\n"
               "- `nonzero`, `keepdiag`, `fixedcount`, `token`, `masked`, `symmetric`: the source's questions; see docs/schemes.md.\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: cannot write '%s'\n", cli_prog, path);
        return EXIT_INPUT;
    }
    return 0;
}

int study_report(const char *dir, const study_spec *sp) {
    int T = sp->block_size, nc = sp->n_cells, ns = sp->seeds, ntk = sp->n_tasks;
    int n_runs = ntk * nc * ns;
    run_rec *runs = calloc((size_t)n_runs, sizeof *runs);
    double *pos_mem = calloc((size_t)n_runs * T, sizeof *pos_mem);
    unsigned long long *cnt_mem = calloc((size_t)n_runs * T * 2, sizeof *cnt_mem);
    if (!runs || !pos_mem || !cnt_mem) { free(runs); free(pos_mem); free(cnt_mem); fprintf(stderr, "%s: out of memory\n", cli_prog); return EXIT_INPUT; }
    char path[4096], label[64];
    int rc = 0;
#define RUN(t, c, s) runs[((t) * nc + (c)) * ns + (s)]
    for (int t = 0; t < ntk && !rc; t++)
        for (int c = 0; c < nc && !rc; c++)
            for (int s = 0; s < ns; s++) {
                run_rec *r = &RUN(t, c, s);
                size_t i = (size_t)((t * nc + c) * ns + s);
                r->pos = pos_mem + i * T;
                r->zero = cnt_mem + i * 2 * T;
                r->rows = r->zero + T;
                snprintf(path, sizeof path, "%s/runs/%s-%s-%g-%d.csv", dir, sp->task_names[t],
                         ad_scheme_get((ad_scheme)sp->cell_scheme[c])->name, sp->cell_p[c], s + 1);
                if (!read_run(path, T, r)) {
                    fprintf(stderr, "%s: %s is missing or damaged; delete it and rerun to redo that run\n", cli_prog, path);
                    rc = EXIT_INPUT;
                    break;
                }
            }
    FILE *f = NULL;
    double *exact = NULL, *observed = NULL;
    mstat *fin = NULL, *sts = NULL, *secs = NULL, *sps = NULL;
    int *reached = NULL;
    double *thr = NULL;
    if (rc) goto done;

    /* runs.csv, positions.csv */
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (!(f = fopen(path, "w"))) goto io;
    fprintf(f, "task,scheme,p,seed,step,train_loss,val_loss,elapsed_s\n");
    for (int t = 0; t < ntk; t++)
        for (int c = 0; c < nc; c++)
            for (int s = 0; s < ns; s++) {
                run_rec *r = &RUN(t, c, s);
                for (int e = 0; e < r->n_evals; e++)
                    fprintf(f, "%s,%s,%g,%d,%ld,%.6f,%.6f,%.3f\n", sp->task_names[t],
                            ad_scheme_get((ad_scheme)sp->cell_scheme[c])->name, sp->cell_p[c], s + 1, r->step[e],
                            r->train[e], r->val[e], r->elapsed[e]);
            }
    fclose(f);
    snprintf(path, sizeof path, "%s/positions.csv", dir);
    if (!(f = fopen(path, "w"))) goto io;
    fprintf(f, "task,scheme,p,seed,pos,val_loss\n");
    for (int t = 0; t < ntk; t++)
        for (int c = 0; c < nc; c++)
            for (int s = 0; s < ns; s++)
                for (int i = 0; i < T; i++)
                    fprintf(f, "%s,%s,%g,%d,%d,%.6f\n", sp->task_names[t], ad_scheme_get((ad_scheme)sp->cell_scheme[c])->name,
                            sp->cell_p[c], s + 1, i, RUN(t, c, s).pos[i]);
    fclose(f);

    /* zero_rows.csv: pooled over seeds, against the closed form */
    exact = malloc((size_t)nc * T * sizeof *exact);
    observed = malloc((size_t)ntk * nc * T * sizeof *observed);
    if (!exact || !observed) { rc = EXIT_INPUT; goto done; }
    for (int c = 0; c < nc; c++) {
        ad_stats st;
        ad_stats_opts so = {(ad_scheme)sp->cell_scheme[c], (float)sp->cell_p[c], T, sp->n_head, sp->n_layer, 1, 1, 0, 1.0};
        if (ad_stats_compute(&st, &so, NULL) == AD_OK) {
            for (int i = 0; i < T; i++) exact[c * T + i] = st.p_zero_exact[i];
            ad_stats_free(&st);
        } else {
            for (int i = 0; i < T; i++) exact[c * T + i] = NAN;
        }
    }
    snprintf(path, sizeof path, "%s/zero_rows.csv", dir);
    if (!(f = fopen(path, "w"))) goto io;
    fprintf(f, "task,scheme,p,pos,observed_rate,exact_rate\n");
    for (int t = 0; t < ntk; t++)
        for (int c = 0; c < nc; c++)
            for (int i = 0; i < T; i++) {
                unsigned long long z = 0, n = 0;
                for (int s = 0; s < ns; s++) { z += RUN(t, c, s).zero[i]; n += RUN(t, c, s).rows[i]; }
                double o = n ? (double)z / (double)n : NAN;
                observed[(t * nc + c) * T + i] = o;
                fprintf(f, "%s,%s,%g,%d,%.8g,%.8g\n", sp->task_names[t], ad_scheme_get((ad_scheme)sp->cell_scheme[c])->name,
                        sp->cell_p[c], i, o, exact[c * T + i]);
            }
    fclose(f);

    /* summary.csv */
    int none_cell = 0;
    for (int c = 0; c < nc; c++) if (sp->cell_scheme[c] == AD_SCHEME_NONE) { none_cell = c; break; }
    fin = calloc((size_t)ntk * nc, sizeof *fin);
    sts = calloc((size_t)ntk * nc, sizeof *sts);
    secs = calloc((size_t)ntk * nc, sizeof *secs);
    sps = calloc((size_t)ntk * nc, sizeof *sps);
    reached = calloc((size_t)ntk * nc, sizeof *reached);
    thr = calloc((size_t)ntk, sizeof *thr);
    if (!fin || !sts || !secs || !sps || !reached || !thr) { rc = EXIT_INPUT; goto done; }
    for (int t = 0; t < ntk; t++) {
        /* the threshold: the val loss `none` reaches at half its run */
        double v[32];
        for (int s = 0; s < ns; s++) {
            run_rec *r = &RUN(t, none_cell, s);
            int best = 0;
            for (int e = 1; e < r->n_evals; e++)
                if (labs(r->step[e] - sp->max_iters / 2) < labs(r->step[best] - sp->max_iters / 2)) best = e;
            v[s] = r->val[best];
        }
        thr[t] = summarise(v, ns).mean;
        for (int c = 0; c < nc; c++) {
            double fv[32], st_[32], se[32], sp_[32];
            int nr = 0;
            for (int s = 0; s < ns; s++) {
                run_rec *r = &RUN(t, c, s);
                fv[s] = r->val[r->n_evals - 1];
                sp_[s] = r->seconds / (r->steps > 0 ? r->steps : 1);
                for (int e = 0; e < r->n_evals; e++)
                    if (r->val[e] <= thr[t]) { st_[nr] = (double)r->step[e]; se[nr++] = r->elapsed[e]; break; }
            }
            fin[t * nc + c] = summarise(fv, ns);
            sts[t * nc + c] = summarise(st_, nr);
            secs[t * nc + c] = summarise(se, nr);
            sps[t * nc + c] = summarise(sp_, ns);
            reached[t * nc + c] = nr;
        }
    }
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (!(f = fopen(path, "w"))) goto io;
    fprintf(f, "task,scheme,p,seeds,final_val_mean,final_val_ci95,floor,above_floor,threshold,steps_to_threshold_mean,"
               "steps_to_threshold_ci95,seconds_to_threshold_mean,seconds_to_threshold_ci95,reached,sec_per_step,"
               "sec_per_step_vs_none\n");
    for (int t = 0; t < ntk; t++)
        for (int c = 0; c < nc; c++) {
            int i = t * nc + c;
            fprintf(f, "%s,%s,%g,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f,%.3f,%.3f,%d,%.6f,%.4f\n", sp->task_names[t],
                    ad_scheme_get((ad_scheme)sp->cell_scheme[c])->name, sp->cell_p[c], ns, fin[i].mean, fin[i].ci,
                    sp->floor[t], fin[i].mean - sp->floor[t], thr[t], sts[i].mean, sts[i].ci, secs[i].mean, secs[i].ci,
                    reached[i], sps[i].mean, sps[i].mean / sps[t * nc + none_cell].mean);
        }
    fclose(f);

    /* plots: data files and one gnuplot script */
    snprintf(path, sizeof path, "%s/plots", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) goto io;
    for (int t = 0; t < ntk; t++)
        for (int c = 0; c < nc; c++) {
            snprintf(path, sizeof path, "%s/plots/%s-%d.dat", dir, sp->task_names[t], c);
            if (!(f = fopen(path, "w"))) goto io;
            run_rec *r0 = &RUN(t, c, 0);
            fprintf(f, "# step mean lo hi elapsed\n");
            for (int e = 0; e < r0->n_evals; e++) {
                double v[32], el[32];
                for (int s = 0; s < ns; s++) {
                    run_rec *r = &RUN(t, c, s);
                    v[s] = e < r->n_evals ? r->val[e] : NAN;
                    el[s] = e < r->n_evals ? r->elapsed[e] : NAN;
                }
                mstat a = summarise(v, ns), b = summarise(el, ns);
                double ci = isnan(a.ci) ? 0.0 : a.ci;
                fprintf(f, "%ld %.6f %.6f %.6f %.4f\n", r0->step[e], a.mean, a.mean - ci, a.mean + ci, b.mean);
            }
            fprintf(f, "\n\n# pos mean observed exact\n");
            for (int i = 0; i < T; i++) {
                double v[32];
                for (int s = 0; s < ns; s++) v[s] = RUN(t, c, s).pos[i];
                fprintf(f, "%d %.6f %.8g %.8g\n", i, summarise(v, ns).mean, observed[(t * nc + c) * T + i], exact[c * T + i]);
            }
            fclose(f);
        }
    snprintf(path, sizeof path, "%s/plots/plots.gp", dir);
    if (!(f = fopen(path, "w"))) goto io;
    fprintf(f, "set terminal pngcairo size 1000,620 font ',10'\nset grid\nset key outside right\n");
    for (int t = 0; t < ntk; t++) {
        const char *tn = sp->task_names[t];
        fprintf(f, "set output '%s/plots/loss_%s.png'\nset title 'val loss against step, %s (mean and 95%% band over %d seeds)'\n"
                   "set xlabel 'step'\nset ylabel 'val loss'\nunset logscale y\nplot ", dir, tn, tn, ns);
        for (int c = 0; c < nc; c++) {
            cell_label(label, sizeof label, sp->cell_scheme[c], sp->cell_p[c]);
            fprintf(f, "%s'%s/plots/%s-%d.dat' index 0 using 1:3:4 with filledcurves fs transparent solid 0.12 lc %d notitle, "
                       "'' index 0 using 1:2 with lines lw 2 lc %d title '%s'", c ? ", " : "", dir, tn, c, c + 1, c + 1, label);
        }
        fprintf(f, "\nset output '%s/plots/time_%s.png'\nset title 'val loss against training time, %s'\nset xlabel 'seconds'\nplot ",
                dir, tn, tn);
        for (int c = 0; c < nc; c++) {
            cell_label(label, sizeof label, sp->cell_scheme[c], sp->cell_p[c]);
            fprintf(f, "%s'%s/plots/%s-%d.dat' index 0 using 5:2 with lines lw 2 lc %d title '%s'", c ? ", " : "", dir, tn, c, c + 1, label);
        }
        fprintf(f, "\nset output '%s/plots/positions_%s.png'\nset title 'final val loss per position, %s'\nset xlabel 'position'\nplot ",
                dir, tn, tn);
        for (int c = 0; c < nc; c++) {
            cell_label(label, sizeof label, sp->cell_scheme[c], sp->cell_p[c]);
            fprintf(f, "%s'%s/plots/%s-%d.dat' index 1 using 1:2 with linespoints lw 2 lc %d title '%s'", c ? ", " : "", dir, tn, c, c + 1, label);
        }
        fprintf(f, "\n");
        if (has_zero_rows(observed, t, nc, T))
            fprintf(f, "set output '%s/plots/zero_rows_%s.png'\nset title 'all-zero attention rows met in training, %s: observed (points) and exact (lines)'\n"
                       "set xlabel 'position'\nset ylabel 'rate'\nset logscale y\nplot ", dir, tn, tn);
        int first = 1;
        for (int c = 0; c < nc; c++) {
            if (!(observed[(t * nc + c) * T] > 0.0)) continue; /* nothing to draw on a log scale */
            cell_label(label, sizeof label, sp->cell_scheme[c], sp->cell_p[c]);
            fprintf(f, "%s'%s/plots/%s-%d.dat' index 1 using 1:($3>0?$3:1/0) with points pt 7 lc %d title '%s', "
                       "'' index 1 using 1:4 with lines lc %d notitle", first ? "" : ", ", dir, tn, c, c + 1, label, c + 1);
            first = 0;
        }
        fprintf(f, "\nunset logscale y\n");
        /* final loss against p, for the schemes studied at several rates */
        snprintf(path, sizeof path, "%s/plots/%s-p.dat", dir, tn);
        FILE *g = fopen(path, "w");
        if (!g) { fclose(f); goto io; }
        int blocks = 0;
        char names[STUDY_MAX_CELLS][24];
        for (int c = 0; c < nc; c++) {
            int seen = 0, count = 0;
            for (int d = 0; d < c; d++) seen |= sp->cell_scheme[d] == sp->cell_scheme[c];
            for (int d = 0; d < nc; d++) count += sp->cell_scheme[d] == sp->cell_scheme[c];
            if (seen || count < 2) continue;
            fprintf(g, "# %s\n%g %.6f %.6f\n", ad_scheme_get((ad_scheme)sp->cell_scheme[c])->name, 0.0,
                    fin[t * nc + none_cell].mean, isnan(fin[t * nc + none_cell].ci) ? 0.0 : fin[t * nc + none_cell].ci);
            for (int d = 0; d < nc; d++)
                if (sp->cell_scheme[d] == sp->cell_scheme[c])
                    fprintf(g, "%g %.6f %.6f\n", sp->cell_p[d], fin[t * nc + d].mean, isnan(fin[t * nc + d].ci) ? 0.0 : fin[t * nc + d].ci);
            fprintf(g, "\n\n");
            snprintf(names[blocks++], sizeof names[0], "%s", ad_scheme_get((ad_scheme)sp->cell_scheme[c])->name);
        }
        fclose(g);
        if (blocks)
            fprintf(f, "set output '%s/plots/loss_vs_p_%s.png'\nset title 'final val loss against p, %s (p=0: none)'\nset xlabel 'p'\nset ylabel 'final val loss'\nplot ",
                    dir, tn, tn);
        for (int b = 0; b < blocks; b++)
            fprintf(f, "%s'%s/plots/%s-p.dat' index %d using 1:2:3 with yerrorlines lw 2 title '%s'", b ? ", " : "", dir, tn, b, names[b]);
        fprintf(f, "\n");
    }
    fclose(f);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s/plots/plots.gp' 2>/dev/null", dir);
    int plotted = system(cmd) == 0;
    if (!plotted) fprintf(stderr, "%s: plots not drawn: gnuplot (Debian's gnuplot-nox) failed or is missing\n", cli_prog);

    report_data rd = {sp, fin, sts, secs, sps, reached, thr, observed, exact, none_cell, plotted, runs};
    rc = write_report(dir, &rd);
    goto done;
io:
    fprintf(stderr, "%s: cannot write '%s': %s\n", cli_prog, path, strerror(errno));
    rc = EXIT_INPUT;
done:
    free(fin); free(sts); free(secs); free(sps); free(reached); free(thr);
    free(exact); free(observed);
    free(runs); free(pos_mem); free(cnt_mem);
    return rc;
#undef RUN
}
