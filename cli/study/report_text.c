/* report_text.c - report.md: the answers to the source's questions in prose,
 * every number from the analysis of report.c, every scheme named through the
 * scheme table's study flags. */
#include "report_parts.h"
#include "../cli.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void write_why(FILE *f, const rdata *d);

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

/* " (`a` − `ref`): <tally>; (`b` − `ref`): <tally>" for the headline schemes of a group */
static void headline_tallies(FILE *f, const rdata *d, unsigned group) {
    const char *ref = sname(d->s_ref);
    ad_scheme list[AD_SCHEME_COUNT];
    int n = ad_scheme_list(group, AD_STUDY_CONTROL, list), k = 0;
    for (int i = 0; i < n; i++) {
        if (!(ad_scheme_get(list[i])->study & AD_STUDY_HEADLINE)) continue;
        fprintf(f, "%s(`%s` − `%s`): ", k++ ? "; " : " ", sname(list[i]), ref);
        tally(f, d, list[i], (1 << ROLE_RICH) | (1 << ROLE_SMALL), 0);
    }
    if (!k) fprintf(f, ": not in this grid");
}

static void write_short(FILE *f, const rdata *d) {
    const char *base = sname(d->s_base), *ref = sname(d->s_ref), *ctl = sname(d->s_ctl);
    const study_spec *sp = d->sp;
    const study_setting *st0 = &sp->set[0];
    enum { RICH = 1 << ROLE_RICH, SMALL = 1 << ROLE_SMALL, SHAPE = 1 << ROLE_SHAPE };
    fprintf(f, "## In short\n\n"
               "Each answer is a count of paired verdicts (defined below) with the mean differences in nats; the sections "
               "that follow give every interval.\n\n");
    int sc = study_find_cell(st0, d->s_ref, 0.2);
    if (sc < 0) sc = study_find_cell(st0, d->s_ref, 0.5);
    if (sc >= 0) {
        unsigned long long z = 0, n = 0;
        for (int s = 0; s < st0->seeds; s++) { z += report_run(d, 0, sc, s)->zero[0]; n += report_run(d, 0, sc, s)->rows[0]; }
        fprintf(f, "1. **Yes.** With `%s` dropout at p=%g the first row of a head's attention was all zero in %.4f of "
                   "the %llu rows met in training on `%s` (exact: p).\n", ref, st0->cell_p[sc], n ? (double)z / n : NAN,
                n, st0->name);
        fprintf(f, "2. **Yes**, at rate p^(i+1) for position i, matched by the counts (question 2).\n");
    } else {
        fprintf(f, "1. and 2. No `%s` run on `%s` in this grid.\n", ref, st0->name);
    }
    fprintf(f, "3. Guaranteeing a survivor per row (`%s` − `%s`), loss at positions 0–3: ", ctl, ref);
    tally(f, d, d->s_ctl, RICH | SMALL, 1);
    fprintf(f, "; whole sequence: ");
    tally(f, d, d->s_ctl, RICH | SMALL, 0);
    fprintf(f, ". Dropout itself (`%s` − `%s`): ", ref, base);
    tally(f, d, d->s_ref, RICH | SMALL, 0);
    fprintf(f, ".\n4. With one head and one layer (`%s` − `%s`): ", ctl, ref);
    tally(f, d, d->s_ctl, SHAPE, 0);
    fprintf(f, "; positions 0–3: ");
    tally(f, d, d->s_ctl, SHAPE, 1);
    fprintf(f, ".\n5. In steps, see question 5 (steps to `%s`'s half-run loss); in time per step", base);
    if (d->tm && d->tm->n && d->none[0] >= 0) {
        int st = study_find_cell(st0, d->s_ref, 0.2);
        if (st < 0) st = sc;
        if (st >= 0)
            fprintf(f, ", `%s` p=%g costs %.2fx `%s`", ref, st0->cell_p[st], d->tm->median[st] / d->tm->median[d->none[0]],
                    base);
        int nz = study_find_cell(st0, d->s_ctl, 0.2);
        if (nz >= 0) fprintf(f, " and `%s` %.2fx", ctl, d->tm->median[nz] / d->tm->median[d->none[0]]);
    } else {
        fprintf(f, ": not measured (`--timing-rounds 0`)");
    }
    fprintf(f, ".\n6. Dropping whole words");
    headline_tallies(f, d, AD_STUDY_WHOLE);
    fprintf(f, ".\n7. Other ways to keep a survivor per row");
    headline_tallies(f, d, AD_STUDY_SURVIVOR);
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
        report_fmt_effect(buf, sizeof buf, &r->e, d->learned[r->set], d->sp->margin);
        fprintf(f, "- `%s`, %s p=%g − %s: %s\n", st->name, sname(scheme), st->cell_p[r->cell],
                sname(st->cell_scheme[r->base]), buf);
        n++;
    }
    if (!n) fprintf(f, "- `%s`: not in this grid\n", sname(scheme));
}

/* the share of dropout's benefit, for every small-data setting where the reference beats the baseline */
static int list_benefit(FILE *f, const rdata *d, int scheme) {
    const char *base = sname(d->s_base), *ref = sname(d->s_ref);
    int n = 0;
    for (int i = 0; i < d->sp->n_set; i++) {
        const study_setting *st = &d->sp->set[i];
        if (st->role != ROLE_SMALL || !d->learned[i]) continue;
        for (int c = 0; c < st->n_cells; c++) {
            if (st->cell_scheme[c] != scheme) continue;
            const eff_row *se = report_find_eff(d, i, d->s_ref, st->cell_p[c]);
            int sc;
            ad_ratio b = report_benefit(d, i, c, &sc);
            if (!se || se->e.verdict != AD_VERDICT_BETTER) continue;
            char pm[64];
            report_fmt_pm(pm, sizeof pm, b.ratio, b.ci95, 2);
            fprintf(f, "- `%s` (small training set), %s p=%g: keeps %s of `%s`'s benefit over `%s` (1 = all of it)\n",
                    st->name, sname(scheme), st->cell_p[c], pm + (pm[0] == '+'), ref, base);
            n++;
        }
    }
    return n;
}

/* Position 0, where `standard - none` is often negative: whether dropping the
 * first row is what helps, told by the control, which never drops that row
 * (its one weight is the guaranteed survivor, rescaled by (1-p)/(1-p) = 1). */
static void note_position0(FILE *f, const rdata *d) {
    const char *base = sname(d->s_base), *ref = sname(d->s_ref), *ctl = sname(d->s_ctl);
    int n = 0, neg = 0, sig = 0, best = -1;
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        const study_setting *st = &d->sp->set[r->set];
        if (!r->pos || !d->learned[r->set] || st->cell_scheme[r->cell] != d->s_ref ||
            st->cell_scheme[r->base] != d->s_base || isnan(r->pos[0].mean))
            continue;
        n++;
        neg += r->pos[0].mean < 0;
        if (r->pos[0].mean + r->pos[0].ci95 < 0) {
            sig++;
            if (report_find_eff(d, r->set, d->s_ctl, st->cell_p[r->cell]) &&
                (best < 0 || r->pos[0].mean < d->eff[best].pos[0].mean))
                best = k;
        }
    }
    if (best < 0) return; /* no comparison below 0 with the control beside it */
    const eff_row *r = &d->eff[best];
    const study_setting *st = &d->sp->set[r->set];
    double p = st->cell_p[r->cell];
    const eff_row *c = report_find_eff(d, r->set, d->s_ctl, p);
    char a[64], b[64];
    report_fmt_pm(a, sizeof a, r->pos[0].mean, r->pos[0].ci95, 3);
    report_fmt_pm(b, sizeof b, c->pos[0].mean, c->pos[0].ci95, 3);
    fprintf(f, "\n**Position 0.** `%s − %s` at position 0 is negative in %d of %d learned comparisons, %d of them with "
               "an interval below 0 (the largest: `%s` p=%g, %s): dropout seems to help the first position. Position 0's "
               "row has one weight, and `%s` never drops it (the guaranteed survivor is that weight, rescaled by "
               "(1−p)/(1−p) = 1), yet `%s − %s` at position 0 is %s there: `%s` gets the same gain at position 0 without "
               "ever dropping its row. So the gain is real but does not come from dropping position 0's row; it comes "
               "from what dropout at the other positions does to the shared weights. Our reading, not tested here: a "
               "model trained with noisy attention leans more on each token's own embedding (the residual path), which "
               "is all position 0 can use and too little for the later positions, where the same runs lose.\n",
            ref, base, neg, n, sig, st->name, p, a, ctl, ctl, ref, b, ctl);
}

/* Which file the text settings read, by name, size and the hash of each one's token ids. */
static void write_text_source(FILE *f, const study_spec *sp) {
    int any = 0;
    for (int i = 0; i < sp->n_set; i++) any |= sp->set[i].task < 0;
    if (!any) return;
    const char *name = strrchr(sp->data_path, '/');
    name = name ? name + 1 : sp->data_path;
    struct stat sb;
    long long bytes = sp->data_text ? (long long)sp->data_len : stat(sp->data_path, &sb) == 0 ? (long long)sb.st_size : -1;
    fprintf(f, "\nThe text settings read `%s`", name);
    if (bytes >= 0) fprintf(f, " (%lld bytes)", bytes);
    fprintf(f, ", the `--data` file, first 90%% for training and last 10%% for validation:");
    for (int i = 0, k = 0; i < sp->n_set; i++)
        if (sp->set[i].task < 0)
            fprintf(f, "%s `%s` %ld training and %ld validation characters, FNV-1a %016llx of its token ids",
                    k++ ? ";" : "", sp->set[i].name, sp->set[i].n_train, sp->set[i].n_val, sp->set[i].data_hash);
    fprintf(f, ".\n");
}

static void write_method(FILE *f, const rdata *d) {
    const char *base = sname(d->s_base), *ref = sname(d->s_ref);
    const study_spec *sp = d->sp;
    int learned_cmp = 0;
    for (int k = 0; k < d->n_eff; k++) learned_cmp += d->learned[d->eff[k].set];
    fprintf(f, "## How to read it\n\n"
               "Runs with the same seed share their initial weights and their batches (both come from Philox streams keyed by "
               "the seed), so every comparison is **paired**: for each seed, the final val loss of a scheme minus that of its "
               "baseline (`%s` at the same p, and `%s` for `%s` itself). The interval is the 95%% Student-t "
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
            ref, base, ref, sp->margin, sp->margin, 100.0 * (exp(sp->margin) - 1.0), sp->margin, learned_cmp,
            0.05 * learned_cmp);
}

static void write_settings(FILE *f, const rdata *d) {
    const char *base = sname(d->s_base);
    const study_spec *sp = d->sp;
    fprintf(f, "## Settings\n\n"
               "A setting is learned when every seed of `%s` reaches a val loss (at any evaluation: a small-data run "
               "overfits later) below the midpoint between the loss of a model that ignores the context (the unigram "
               "entropy of the text) and the floor (the text's exact entropy rate); for a text without a known floor, "
               "below the val loss of a bigram model fitted to the same training split (character-pair counts with "
               "add-½ smoothing): the model has learned more than counting pairs of its data would give. No verdict is "
               "drawn on a setting that was not learned.\n\n"
               "| setting | what it is for | training chars | model | steps, lr | seeds | %s: final val | %s: best val | "
               "%s: val − train | floor | learned (below) |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
            base, base, base, base);
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        double fv[STUDY_MAX_SEEDS], bv[STUDY_MAX_SEEDS], gap[STUDY_MAX_SEEDS];
        int nc = d->none[i];
        for (int s = 0; s < st->seeds && nc >= 0; s++) {
            const run_rec *r = report_run(d, i, nc, s);
            fv[s] = report_final_val(r);
            gap[s] = report_final_val(r) - r->train[r->n_evals - 1];
            bv[s] = r->val[0];
            for (int e = 1; e < r->n_evals; e++) if (r->val[e] < bv[s]) bv[s] = r->val[e];
        }
        char a[64], b[64], g[64];
        ad_effect fe = report_describe(fv, nc >= 0 ? st->seeds : 0), be = report_describe(bv, nc >= 0 ? st->seeds : 0),
                  ge = report_describe(gap, nc >= 0 ? st->seeds : 0);
        report_fmt_pm(a, sizeof a, fe.mean, fe.ci95, 3);
        report_fmt_pm(b, sizeof b, be.mean, be.ci95, 3);
        report_fmt_pm(g, sizeof g, ge.mean, ge.ci95, 3);
        char seeds[32];
        int present = nc >= 0 ? report_seeds_present(d, i, nc) : st->seeds;
        if (present == st->seeds) snprintf(seeds, sizeof seeds, "%d", st->seeds);
        else snprintf(seeds, sizeof seeds, "%d of %d", present, st->seeds);
        fprintf(f, "| `%s` | %s | %ld | B%d T%d C%d H%d L%d | %d, %g | %s | %s | %s | %s | ", st->name, report_role_text(st->role),
                st->n_train, st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->max_iters, st->lr,
                seeds, a + (a[0] == '+'), b + (b[0] == '+'), g);
        if (isnan(st->floor)) fprintf(f, "unknown | ");
        else fprintf(f, "%.4f | ", st->floor);
        fprintf(f, "%s (%.3f) |\n", d->learned[i] ? "yes" : "**no**", d->criterion[i]);
    }
    write_text_source(f, sp);
    fprintf(f, "\nThe floor assumes the whole past is visible; a model sees only its window of %d characters, so on `copy` "
               "the characters whose original lies before the window cannot be predicted and even a perfect model ends "
               "above the floor.\n\n", sp->set[0].block_size);
}

static void answer_zero_rows(FILE *f, const rdata *d) {
    const char *ref = sname(d->s_ref);
    const study_spec *sp = d->sp;
    int i0 = 0, T = sp->set[i0].block_size;
    fprintf(f, "### 1. Is the first token's head output zero with probability p?\n\n");
    const study_setting *st = &sp->set[i0];
    int sc = -1;
    for (int c = 0; c < st->n_cells; c++)
        if (st->cell_scheme[c] == d->s_ref && (sc < 0 || st->cell_p[c] > st->cell_p[sc])) sc = c;
    if (sc < 0) { fprintf(f, "No `%s` run in this study.\n\n", ref); return; }
    fprintf(f, "A head's output, yes; the token's representation, no. Row 0 of a causal attention matrix has one weight, so "
               "it is all zero exactly when that weight is dropped, and the head's output at the first token is then zero. "
               "The token itself lives in the residual stream, x + attention(x) + FFN(x): a zero row removes one head's "
               "update to it, and all %d heads of a layer at once only with probability p^%d. Counting the all-zero rows "
               "met in training (every batch row, head, layer and step of `%s`; the interval is ±1.96 binomial standard "
               "errors):\n\n", st->n_head, st->n_head, st->name);
    for (int c = 0; c < st->n_cells; c++) {
        if (st->cell_scheme[c] != d->s_ref) continue;
        unsigned long long z = 0, n = 0;
        for (int s = 0; s < st->seeds; s++) { z += report_run(d, i0, c, s)->zero[0]; n += report_run(d, i0, c, s)->rows[0]; }
        double o = n ? (double)z / (double)n : NAN, p = st->cell_p[c];
        fprintf(f, "- p=%g: observed %.5f ± %.5f over %llu rows; exact p = %g\n", p, o,
                1.96 * sqrt(p * (1 - p) / (double)(n ? n : 1)), n, p);
    }
    fprintf(f, "\n### 2. Is the n-th token's output zero with probability p^n?\n\n"
               "Yes: the n-th row (position n−1) has n weights, dropped independently. `%s` at p=%g on `%s`:\n\n"
               "| position | observed | exact p^(i+1) |\n|---|---|---|\n", ref, st->cell_p[sc], st->name);
    for (int t = 0; t < T && t < 8; t++) {
        unsigned long long z = 0, n = 0;
        for (int s = 0; s < st->seeds; s++) { z += report_run(d, i0, sc, s)->zero[t]; n += report_run(d, i0, sc, s)->rows[t]; }
        fprintf(f, "| %d | %.6f | %.6f |\n", t, n ? (double)z / (double)n : NAN, pow(st->cell_p[sc], t + 1));
    }
    if (d->plotted) fprintf(f, "\n![zero rows](plots/zero_rows_%s.png)\n", st->name);
    fprintf(f, "\n");
}

static void answer_bothered(FILE *f, const rdata *d) {
    const char *base = sname(d->s_base), *ref = sname(d->s_ref), *ctl = sname(d->s_ctl);
    const study_spec *sp = d->sp;
    char buf[256];
    fprintf(f, "### 3. Should we be bothered?\n\n"
               "If the zero rows at the first positions cost anything, it shows in the loss at those positions (final val "
               "loss per position, dropout off, paired over seeds), and `%s`, which never leaves a row all zero but "
               "is otherwise `%s`, must beat `%s` there. Positions 0–3 pooled (their mean loss per seed):\n\n",
            ctl, ref, ref);
    int any = 0;
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        const study_setting *st = &sp->set[r->set];
        int sc = st->cell_scheme[r->cell];
        if (sc != d->s_ref && sc != d->s_ctl) continue;
        any = 1;
        report_fmt_effect(buf, sizeof buf, &r->early, d->learned[r->set], d->sp->margin);
        fprintf(f, "- `%s`, %s − %s at p=%g, positions 0–3: %s", st->name, sname(sc), sname(st->cell_scheme[r->base]),
                st->cell_p[r->cell], buf);
        report_fmt_effect(buf, sizeof buf, &r->late, d->learned[r->set], d->sp->margin);
        fprintf(f, "; positions 4–%d: %s\n", st->block_size - 1, buf);
    }
    if (!any) fprintf(f, "- no `%s` or `%s` runs in this study\n", ref, ctl);
    note_position0(f, d);
    fprintf(f, "\nPooling positions 0–3 can average effects of opposite sign (position 0 alone against positions 1–3), "
               "so `position_bins.csv` gives each comparison at position 0, 1–3, 4–15 and the second half of the "
               "context apart. Where a gain of `%s` shows in the second half, whose rows are almost never all zero "
               "(probability at most p^(T/2+1) per head), it is not a local cost of the zero rows; the scaling study's "
               "mechanism settings measure where it comes from (docs/results/scale).\n", ctl);
    fprintf(f, "\nOver the whole sequence (final val loss), `%s` against `%s`:\n\n", ctl, ref);
    list_effects(f, d, d->s_ctl, 7);
    fprintf(f, "\nWhere dropout helps (a small training set), the real question is how much of dropout's benefit the zero "
               "rows waste: the share of `%s`'s gain over `%s` that `%s` keeps, (%s − %s)/(%s − %s), with a delta-method "
               "interval:\n\n", ref, base, ctl, base, ctl, base, ref);
    if (!list_benefit(f, d, d->s_ctl))
        fprintf(f, "- no learned small-data setting where `%s` beats `%s` holds `%s`\n", ref, base, ctl);
    if (d->plotted)
        for (int i = 0; i < sp->n_set; i++)
            if (d->learned[i] && sp->set[i].role != ROLE_SHAPE && report_find_eff(d, i, d->s_ref, 0.2))
                fprintf(f, "\n![per-position effects, %s](plots/position_effects_%s.png)\n", sp->set[i].name, sp->set[i].name);
    fprintf(f, "\n");
}

static void answer_heads(FILE *f, const rdata *d) {
    const char *ref = sname(d->s_ref), *ctl = sname(d->s_ctl);
    const study_spec *sp = d->sp;
    const study_setting *st0 = &sp->set[0];
    char buf[256];
    fprintf(f, "### 4. Do several layers and heads make it negligible?\n\n");
    ad_stats sx;
    double p = 0.5;
    ad_stats_opts so = {(ad_scheme)d->s_ref, (float)p, st0->block_size, st0->n_head, st0->n_layer, 1, 1, 0, 1.0};
    if (ad_stats_compute(&sx, &so, NULL) == AD_OK) {
        fprintf(f, "A token's attention output in a layer is zero only if its row is dropped in all %d heads: at p=%g and "
                   "position 0 that is p^H = %.3g (one head: %.3g), at position 1 %.3g. The probability that some token of a "
                   "sequence has a zero attention output in some of the %d layers is %.4f (exact, `attndrop stats`). So "
                   "heads make a whole zero output rare, but each head still loses its first rows often. The experiment: if "
                   "zero rows matter, guaranteeing a survivor (`%s` − `%s`) must help more with one head and one "
                   "layer, where nothing compensates.\n\n",
                st0->n_head, p, sx.p_allheads_zero_exact[0], sx.p_zero_exact[0],
                st0->block_size > 1 ? sx.p_allheads_zero_exact[1] : 0.0, st0->n_layer, sx.p_any_zero_output, ctl, ref);
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
            if (st->cell_scheme[c] != d->s_ctl) continue;
            const eff_row *r = report_find_eff(d, i, d->s_ctl, st->cell_p[c]);
            if (!r) continue;
            report_fmt_effect(buf, sizeof buf, &r->e, d->learned[i], d->sp->margin);
            fprintf(f, "- `%s` (H%d L%d), %s − %s at p=%g: whole sequence %s", st->name, st->n_head, st->n_layer, ctl,
                    ref, st->cell_p[c], buf);
            report_fmt_effect(buf, sizeof buf, &r->early, d->learned[i], d->sp->margin);
            fprintf(f, "; positions 0–3 %s\n", buf);
        }
    }
    list_effects(f, d, d->s_ref, 1 << ROLE_SHAPE);
    fprintf(f, "\nThe same difference as a share of dropout's own cost, (`%s` − `%s`)/(`%s` − `%s`) paired over seeds "
               "(`effects.csv`'s ratio_to_cost), says whether more heads and layers shrink the effect or only the "
               "loss it is measured against:\n\n", ctl, ref, ref, sname(d->s_base));
    for (int k = 0; k < d->n_eff; k++) {
        const eff_row *r = &d->eff[k];
        const study_setting *st = &sp->set[r->set];
        if (st->cell_scheme[r->cell] != d->s_ctl || !d->learned[r->set] || isnan(r->cost.ratio) || st->role == ROLE_SMALL)
            continue;
        char pm[64];
        report_fmt_pm(pm, sizeof pm, r->cost.ratio, r->cost.ci95, 2);
        fprintf(f, "- `%s` (H%d L%d), p=%g: %s\n", st->name, st->n_head, st->n_layer, st->cell_p[r->cell], pm);
    }
    if (d->plotted) fprintf(f, "\n![per-position effects, %s](plots/position_effects_%s.png)\n", sp->set[shape].name, sp->set[shape].name);
    fprintf(f, "\n");
}

static void answer_slowdown(FILE *f, const rdata *d) {
    const char *base = sname(d->s_base), *ref = sname(d->s_ref);
    const study_spec *sp = d->sp;
    fprintf(f, "### 5. Does attention dropout slow down training on toy examples?\n\n"
               "In steps: the threshold of a setting is the val loss `%s` reaches at half its run; the steps to it are "
               "those of the first evaluation at or below it, paired over the seeds where both runs reached it.\n\n",
            base);
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        int nc = d->none[i];
        if (nc < 0) continue;
        for (int c = 0; c < st->n_cells; c++) {
            if (st->cell_scheme[c] != d->s_ref) continue;
            double a[STUDY_MAX_SEEDS], b[STUDY_MAX_SEEDS];
            report_steps_to(d, i, c, a);
            report_steps_to(d, i, nc, b);
            int ra = 0, rb = 0;
            for (int s = 0; s < st->seeds; s++) { ra += !isnan(a[s]); rb += !isnan(b[s]); }
            ad_effect e;
            ad_effect_paired(&e, a, b, st->seeds, 0.0, NULL);
            char pm[64];
            report_fmt_pm(pm, sizeof pm, e.mean, e.ci95, 0);
            fprintf(f, "- `%s`, %s p=%g: reached the threshold (%.3f) in %d of %d seeds, %s in %d; steps more than "
                       "%s: %s%s\n", st->name, ref, st->cell_p[c], d->thr[i], ra, st->seeds, base, rb, base, pm,
                    d->learned[i] ? "" : " (setting not learned)");
        }
    }
    const study_timing *tm = d->tm;
    if (tm && tm->n && d->none[0] >= 0) {
        const study_setting *st = &sp->set[0];
        double none = tm->median[d->none[0]];
        fprintf(f, "\nIn time: seconds per training step at `%s`'s shape, measured in a timing phase of its own (one process, "
                   "every other worker idle, %d interleaved rounds of %d steps per scheme; the median over rounds, and the "
                   "range of the rounds' ratios to %s's median). `%s`: %.2f ms per step.\n\n"
                   "| scheme | ms per step | vs %s | range |\n|---|---|---|---|\n",
                st->name, tm->rounds, tm->steps, base, base, 1e3 * none, base);
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

/* each scheme of a group: "- `name`: description", then its effects against the reference and the
 * share of the reference's benefit it keeps, then the notes of the schemes in `noted` */
static void answer_group(FILE *f, const rdata *d, unsigned group, unsigned noted) {
    const char *base = sname(d->s_base), *ref = sname(d->s_ref);
    ad_scheme list[AD_SCHEME_COUNT];
    int n = ad_scheme_list(group, 0, list), nb = 0;
    for (int k = 0; k < n; k++) fprintf(f, "- `%s`: %s\n", sname(list[k]), ad_scheme_get(list[k])->description);
    fprintf(f, "\nAgainst `%s` at the same p:\n\n", ref);
    for (int k = 0; k < n; k++) list_effects(f, d, list[k], 7);
    fprintf(f, "\nShare of `%s`'s benefit kept where dropout helps:\n\n", ref);
    for (int k = 0; k < n; k++) nb += list_benefit(f, d, list[k]);
    if (!nb) fprintf(f, "- no learned small-data setting where `%s` beats `%s` holds these schemes\n", ref, base);
    n = noted ? ad_scheme_list(noted, 0, list) : 0;
    for (int k = 0; k < n; k++) {
        fprintf(f, "\n%s\n\n", ad_scheme_get(list[k])->note);
        list_effects(f, d, list[k], 7);
    }
    fprintf(f, "\n");
}

static void answer_words(FILE *f, const rdata *d) {
    fprintf(f, "### 6. Why not drop whole words?\n\n"
               "These schemes drop whole words; all keep the batch rectangular (a dropped word is masked, not removed), so "
               "batching is not the obstacle:\n\n");
    answer_group(f, d, AD_STUDY_WHOLE, 0);
}

static void answer_guarantee(FILE *f, const rdata *d) {
    fprintf(f, "### 7. Why not guarantee at least one nonzero weight per row?\n\n");
    write_why(f, d);
    fprintf(f, "\nThese schemes never leave an attention row all zero (`zero_rows.csv`), each in its own way:\n\n");
    answer_group(f, d, AD_STUDY_SURVIVOR, AD_STUDY_MASK);
}

static void write_comparisons(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    char buf[256], label[64];
    fprintf(f, "## Every comparison, by setting\n\n");
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        fprintf(f, "### `%s`: %s\n\n", st->name, report_role_text(st->role));
        fprintf(f, "| scheme | final val loss | paired difference | baseline | verdict | seeds needed | share of benefit |\n"
                   "|---|---|---|---|---|---|---|\n");
        for (int c = 0; c < st->n_cells; c++) {
            double fv[STUDY_MAX_SEEDS];
            for (int s = 0; s < st->seeds; s++) fv[s] = report_final_val(report_run(d, i, c, s));
            ad_effect fe = report_describe(fv, st->seeds);
            study_cell_label(label, sizeof label, st->cell_scheme[c], st->cell_p[c]);
            report_fmt_pm(buf, sizeof buf, fe.mean, fe.ci95, 4);
            fprintf(f, "| %s | %s |", label, buf + (buf[0] == '+'));
            const eff_row *r = NULL;
            for (int k = 0; k < d->n_eff; k++) if (d->eff[k].set == i && d->eff[k].cell == c) r = &d->eff[k];
            if (!r) { fprintf(f, " | | | | |\n"); continue; }
            report_fmt_pm(buf, sizeof buf, r->e.mean, r->e.ci95, 4);
            fprintf(f, " %s | %s | %s | ", buf, sname(st->cell_scheme[r->base]),
                    d->learned[i] ? ad_verdict_name(r->e.verdict) : "not learned");
            if (r->e.verdict == AD_VERDICT_INCONCLUSIVE && r->e.seeds_needed > 0) fprintf(f, "%d", r->e.seeds_needed);
            fprintf(f, " | ");
            int sc;
            ad_ratio b = report_benefit(d, i, c, &sc);
            const eff_row *se = report_find_eff(d, i, d->s_ref, st->cell_p[c]);
            if (st->role == ROLE_SMALL && se && se->e.verdict == AD_VERDICT_BETTER && !isnan(b.ratio)) {
                report_fmt_pm(buf, sizeof buf, b.ratio, b.ci95, 2);
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

/* whether two schemes cite the same source */
static int same_source(int a, int b) {
    const char *x = ad_scheme_get((ad_scheme)a)->source, *y = ad_scheme_get((ad_scheme)b)->source;
    return x && y && strcmp(x, y) == 0;
}

/* Question 7's why: what fused kernels do, why a head may want to output zero, where attention dropout is
 * still used, and the DropKey disagreement where the grid has dropkey */
static void write_why(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    const char *ref = sname(d->s_ref);
    char buf[256];
    fprintf(f, "**Why fused kernels do not guarantee a survivor.** FlashAttention and PyTorch's SDPA draw an i.i.d. "
               "Bernoulli mask element by element, tile by tile, from a counter-based generator (Philox) so that the "
               "backward pass can redraw it; a survivor per row would need the row's decisions across every key tile "
               "before its first tile is used, which the single pass over key tiles does not have. And the zero rows "
               "sit at the first positions, where a head that attends to nothing outputs what trained heads often try to "
               "output anyway: attention sinks (Xiao et al. 2023, Gu et al. "
               "2024), heads that learn to do nothing (Bondarenko et al. 2023) and gated attention (Qiu et al. 2025) "
               "all let a head return about zero. Modern pretraining sets attention dropout to 0 (Liu et al. 2025, "
               "\"Drop Dropout on Single-Epoch Language Model Pretraining\"), so the question matters for small-data "
               "training like gpt.py's. Other ways to regularise attention drop whole keys or heads instead: "
               "DropAttention (Zehui et al. 2019), DropKey (Li et al. 2023, which drops keys before the softmax), "
               "DropHead (Zhou et al. 2020); pure attention without its residual path loses rank quickly (Dong et al. "
               "2021), which the residual stream of answer 1 prevents.");
    const eff_row *dk = NULL;
    int s_dropkey = ad_scheme_lookup("dropkey");
    for (int i = 0; i < sp->n_set && s_dropkey >= 0 && !dk; i++)
        if (d->learned[i]) dk = report_find_eff(d, i, s_dropkey, 0.2);
    if (dk && dk->e.n > 1) {
        report_fmt_effect(buf, sizeof buf, &dk->e, d->learned[dk->set], sp->margin);
        fprintf(f, " **DropKey here**: `dropkey − %s` on `%s` at p=0.2 is %s; its paper reports gains for vision "
                   "transformers trained for hundreds of epochs, where dropping keys before the softmax renormalises the "
                   "survivors. Short runs of a small character model are far from that setting, so this grid does not "
                   "test the paper's claim.", ref, sp->set[dk->set].name, buf);
    }
    fprintf(f, "\n");
}

/* the seven questions, answered from the settings measured at gpt.py's shape (the scale grid's report) */
static void write_seven(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    const char *base = sname(d->s_base), *ref = sname(d->s_ref), *ctl = sname(d->s_ctl);
    int corner = -1;
    for (int i = 0; i < sp->n_set; i++) if (sp->set[i].role == ROLE_CORNER && corner < 0) corner = i;
    int at = corner >= 0 ? corner : sp->n_set - 1;
    const study_setting *st = &sp->set[at];
    int H = st->n_head;
    char buf[256];
    fprintf(f, "## The seven questions at gpt.py's shape\n\n");
    /* 1 and 2: counted where the grid measures gpt.py's shape */
    int sc = study_find_cell(st, d->s_ref, 0.2);
    unsigned long long z = 0, n = 0, z1 = 0, n1 = 0;
    for (int s = 0; sc >= 0 && s < st->seeds; s++) {
        const run_rec *r = report_run(d, at, sc, s);
        z += r->zero[0]; n += r->rows[0];
        if (st->block_size > 1) { z1 += r->zero[1]; n1 += r->rows[1]; }
    }
    char counted[160], counted1[160];
    if (n) snprintf(counted, sizeof counted, "on `%s` at p=0.2, %.4f ± %.4f of %llu rows met in training", st->name,
                    (double)z / (double)n, 1.96 * sqrt(0.2 * 0.8 / (double)n), n);
    else snprintf(counted, sizeof counted, "not counted on `%s`: no run of `%s` at p=0.2 on the CPU", st->name, ref);
    if (n1) snprintf(counted1, sizeof counted1, "position 1 on `%s` at p=0.2: %.4f ± %.4f observed, %.2f exact", st->name,
                     (double)z1 / (double)n1, 1.96 * sqrt(0.04 * 0.96 / (double)n1), pow(0.2, 2));
    else snprintf(counted1, sizeof counted1, "not counted here");
    fprintf(f, "1. **A head's output at the first token, yes; the token's representation, no.** Row 0 of a causal "
               "attention matrix has one weight, so under `%s` a head's attention output at position 0 is zero exactly when "
               "that weight is dropped: with probability p (%s; the interval ±1.96 binomial standard errors). But a "
               "token's representation is the residual stream, x + attention(x) + FFN(x): a zero row zeroes one head's "
               "*update* to it, never the token. All %d heads of a layer drop position 0 at once with probability p^%d "
               "(%.2g at p=0.2, %.2g at p=0.5).\n",
            ref, counted, H, H, pow(0.2, H), pow(0.5, H));
    fprintf(f, "2. Position i's row has i+1 weights, all dropped with probability p^(i+1) (%s; every position in "
               "`zero_rows.csv`).\n", counted1);
    /* 3: the measured effect and where it lives */
    const eff_row *c2 = corner >= 0 ? report_find_eff(d, corner, d->s_ctl, 0.2) : NULL;
    const eff_row *c5 = corner >= 0 ? report_find_eff(d, corner, d->s_ctl, 0.5) : NULL;
    if (c2 && c5 && c2->e.n > 1 && c5->e.n > 1 && d->learned[corner]) {
        char a[64], b[64], x0[64], xh[64];
        const ad_effect *half = &c5->bin[STUDY_POS_BINS - 1];
        report_fmt_pm(a, sizeof a, c2->e.mean, c2->e.ci95, 4);
        report_fmt_pm(b, sizeof b, c5->e.mean, c5->e.ci95, 4);
        report_fmt_pm(x0, sizeof x0, c5->bin[0].mean, c5->bin[0].ci95, 4);
        report_fmt_pm(xh, sizeof xh, half->mean, half->ci95, 4);
        /* a row of the second half (i >= T/2) is all zero with probability at most p^(T/2+1) per head */
        double rare = pow(0.5, st->block_size / 2 + 1);
        fprintf(f, "3. **At gpt.py's T, H and L: %s at p=0.2 (%s), %s at p=0.5 (%s)**, removing every zero row "
                   "(`%s − %s`, whole sequence, on `%s`). At p=0.5, position 0, where the zero rows are, moves by %s and the "
                   "second half of the context, whose rows are all zero with probability at most %.2g, by %s: %s\n",
                report_verdict_text(&c2->e, sp->margin), a, report_verdict_text(&c5->e, sp->margin), b, ctl, ref, st->name,
                x0, rare, xh,
                c5->e.verdict == AD_VERDICT_BETTER && half->mean + half->ci95 < 0
                    ? "part of the gain lies where no row is ever all zero in practice, so it is not a local cost of "
                      "the zero rows (\"Where the gain comes from\" measures the channel)."
                    : "the data do not place a gain away from the zero rows.");
    } else if (corner >= 0 && c5 && c5->e.n > 1) {
        fprintf(f, "3. The corner setting (`%s`) was not learned by the study's criterion: no verdict.\n", st->name);
    } else {
        fprintf(f, "3. The corner setting (gpt.py's T, H and L) is not run yet; see the axes below.\n");
    }
    /* 4: heads and layers, from the scaling points and the corner */
    fprintf(f, "4. **Heads make a whole layer's zero update rare (p^H), but each head still loses its first rows.** "
               "Measured: `%s − %s` at p=0.5, whole sequence, and its ratio to dropout's cost (`%s − %s`):", ctl, ref, ref,
            base);
    double lo = INFINITY, hi = -INFINITY, top = -INFINITY, bottom = INFINITY;
    int listed = 0, ratios = 0;
    for (int i = 0; i < sp->n_set; i++) {
        if (sp->set[i].role != ROLE_SCALE && sp->set[i].role != ROLE_CORNER) continue;
        const eff_row *r = report_find_eff(d, i, d->s_ctl, 0.5);
        if (!r || r->e.n < 2 || !d->learned[i]) continue;
        char a[64];
        report_fmt_pm(a, sizeof a, r->e.mean, r->e.ci95, 4);
        const eff_row *cost = report_find_eff(d, i, d->s_ref, 0.5);
        int resolved = cost && cost->e.verdict == AD_VERDICT_BETTER ? 1 : cost && cost->e.verdict == AD_VERDICT_WORSE;
        char rb[64] = "n/a (dropout's cost not resolved)";
        if (resolved) report_fmt_pm(rb, sizeof rb, r->cost.ratio, r->cost.ci95, 2);
        fprintf(f, "%s `%s` (T%d H%d L%d) %s, ratio %s", listed++ ? ";" : "", sp->set[i].name, sp->set[i].block_size,
                sp->set[i].n_head, sp->set[i].n_layer, a, rb);
        if (!resolved || !isfinite(r->cost.ratio) || !isfinite(r->cost.ci95)) continue;
        ratios++;
        if (r->cost.ratio < lo) lo = r->cost.ratio;
        if (r->cost.ratio > hi) hi = r->cost.ratio;
        if (r->cost.ratio - r->cost.ci95 > top) top = r->cost.ratio - r->cost.ci95; /* the highest lower end */
        if (r->cost.ratio + r->cost.ci95 < bottom) bottom = r->cost.ratio + r->cost.ci95;
    }
    if (ratios >= 2)
        fprintf(f, ". The ratio ranges from %.2f to %.2f over the %d settings where dropout's cost is resolved; %s\n", lo,
                hi, ratios,
                top <= bottom ? "every ratio's interval holds one common value, so the data are consistent with one share "
                                "of dropout's cost for every context, head and layer count measured (which does not "
                                "show that it is the same)."
                              : "no one share fits every setting's interval, so the share changes with the shape.");
    else if (listed) fprintf(f, ". Fewer than two ratios are resolved: nothing to compare across shapes yet.\n");
    else fprintf(f, " none measured yet.\n");
    fprintf(f, "5. In steps: the training-length settings above (a gain that shrinks with training is consistent with a "
               "speed effect); in time per step, the timing phase (`timing.csv`) when run.\n");
    const eff_row *w = NULL;
    for (int i = 0; i < sp->n_set && !w; i++)
        if (sp->set[i].role == ROLE_SCALE && sp->set[i].block_size == 256) {
            ad_scheme word[AD_SCHEME_COUNT];
            if (ad_scheme_list(AD_STUDY_WHOLE, AD_STUDY_CORE, word) > 0) w = report_find_eff(d, i, word[0], 0.2);
        }
    if (w && w->e.n > 1) {
        report_fmt_effect(buf, sizeof buf, &w->e, d->learned[w->set], sp->margin);
        fprintf(f, "6. Dropping whole words instead (`%s − %s` on `%s`, p=0.2): %s.\n",
                sname(sp->set[w->set].cell_scheme[w->cell]), ref, sp->set[w->set].name, buf);
    } else {
        fprintf(f, "6. Whole words: see the medium grid's report.\n");
    }
    fprintf(f, "7. ");
    write_why(f, d);
    fprintf(f, "\n");
}

void report_write_text(FILE *f, const rdata *d) {
    const study_spec *sp = d->sp;
    int n_runs = 0;
    double total = 0.0;
    for (int i = 0; i < sp->n_set; i++) n_runs += sp->set[i].n_cells * sp->set[i].seeds;
    for (int k = 0; k < n_runs; k++) total += d->runs[k].seconds;
    int scale = report_is_scale(d), one_shape = 1;
    char shape[64];
    for (int i = 1; i < sp->n_set; i++)
        one_shape = one_shape && sp->set[i].batch_size == sp->set[0].batch_size &&
                    sp->set[i].block_size == sp->set[0].block_size && sp->set[i].n_embd == sp->set[0].n_embd;
    if (one_shape) snprintf(shape, sizeof shape, "B%d T%d C%d", sp->set[0].batch_size, sp->set[0].block_size, sp->set[0].n_embd);
    else snprintf(shape, sizeof shape, "the shape its setting gives");
    fprintf(f, "# Attention dropout: what it does, measured%s\n\n"
               "This report %s with measurements: the `%s` grid, %d runs in %d settings, each a GPT with %s trained "
               "with AdamW and attention dropout only (no dropout after the projection or the feed-forward network, except "
               "where a setting says so), "
               "evaluated on %d batches per split. Training took %.0f s of worker time in all. Every number below comes "
               "from the CSV files beside this report (`effects.csv`, `position_effects.csv`, `benefit.csv`, "
               "`summary.csv`, `settings.csv`, %s`timing.csv`, and the raw `runs.csv`, `positions.csv`, "
               "`zero_rows.csv`).\n\n",
            scale ? " at scale" : "",
            scale ? "asks whether the zero rows of attention dropout (the source's question about nanoGPT's `Head`) still "
                    "matter as the context, the heads and the layers grow to gpt.py's, and answers"
                  : "answers the questions of the source (dropout on the causal softmax matrix of nanoGPT's `Head`)",
            sp->grid, n_runs, sp->n_set, shape, sp->eval_iters, total,
            scale ? "`position_bins.csv`, `scale.csv`, `scale_fits.csv`, `scale_prediction.csv`, `steps.csv`, `mechanism.csv`, "
                  : "`position_bins.csv`, ");
    if (d->n_missing)
        fprintf(f, "**Incomplete: %d of the %d runs are not done yet** (built with `--report-only`); each counts as a "
                   "missing seed, so the intervals below use fewer seeds than the grid's. Rerun the study, or its shards, "
                   "to finish it.\n\n", d->n_missing, n_runs);
    if (!d->plotted)
        fprintf(f, "*The plots could not be drawn: gnuplot (Debian's `gnuplot-nox`) failed, is missing, or could not "
                   "write them whole (a full disk); the plots there before, if any, are unchanged. See the study's "
                   "message and `plots/gnuplot.log`. The data files are in `plots/`; `gnuplot -c plots/study.gp DIR MARGIN SETTINGS` "
                   "redraws them.*\n\n");
    if (scale || report_has_gptpy(d)) {
        fprintf(f, "## In short\n\n"
                   "Measured at the shape and in the regime each line names; the sections below give every interval.\n\n");
        report_gptpy_short(f, d);
        report_scale_short(f, d);
        fprintf(f, "\n");
        write_seven(f, d);
    } else {
        write_short(f, d);
    }
    write_method(f, d);
    write_settings(f, d);
    if (scale || report_has_gptpy(d)) {
        report_gptpy_text(f, d);
        report_scale_text(f, d);
    } else {
        fprintf(f, "## The answers\n\n");
        answer_zero_rows(f, d);
        answer_bothered(f, d);
        answer_heads(f, d);
        answer_slowdown(f, d);
        answer_words(f, d);
        answer_guarantee(f, d);
    }
    write_comparisons(f, d);
    fprintf(f, "## References\n\n");
    for (int k = 0; k < AD_SCHEME_COUNT; k++) { /* the schemes of one source on one line, where it first appears */
        int seen = !ad_scheme_get((ad_scheme)k)->source;
        for (int j = 0; j < k && !seen; j++) seen = same_source(j, k);
        if (seen) continue;
        for (int j = k, n = 0; j < AD_SCHEME_COUNT; j++)
            if (same_source(j, k)) fprintf(f, "%s`%s`", n++ ? ", " : "- ", sname(j));
        fprintf(f, ": %s.\n", ad_scheme_get((ad_scheme)k)->source);
    }
}
