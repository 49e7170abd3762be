/* grid.c - a study's grid: the preset grids (quick, medium, full, scale),
 * the custom grid of --task/--schemes/--p, and the lookups every part of
 * the study shares (a cell by scheme and p, a run by its number, a shard's
 * runs, a cell's label). */
#include "grid.h"
#include "../opts.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_TRAIN_CHARS 20000
#define REGIME_TRAIN_CHARS 65000 /* the scale grid's text-regime: about gpt.py's 10 parameters per character */
#define REGIME_STEPS 1000        /* 4.1M tokens: 63 passes over the cut split (gpt.py: 82M tokens, 82 passes) */

/* Splits a comma-separated list into items (pointers into s); -1 if there are
 * more than max, and empty items are refused. */
static int split(char *s, char **items, int max) {
    int n = 0;
    char *p = s;
    for (;;) {
        char *c = strchr(p, ',');
        if (c) *c = '\0';
        if (!*p || n == max) return -1;
        items[n++] = p;
        if (!c) return n;
        p = c + 1;
    }
}

static study_setting *add_setting(study_spec *sp, const char *name, int task, study_role role, long train_chars,
                                  int n_head, int n_layer, int steps, int seeds, double lr) {
    study_setting *st = &sp->set[sp->n_set++];
    *st = (study_setting){.task = task, .role = role, .train_chars = train_chars, .n_head = n_head, .n_layer = n_layer,
                          .max_iters = steps, .eval_interval = steps / 8 > 0 ? steps / 8 : 1, .seeds = seeds, .lr = lr};
    snprintf(st->name, sizeof st->name, "%s", name);
    return st;
}

/* the scheme that drops nothing, whose cells have no p */
static int is_baseline(int scheme) { return (ad_scheme_get((ad_scheme)scheme)->study & AD_STUDY_BASELINE) != 0; }

int study_find_cell(const study_setting *st, int scheme, double p) {
    for (int c = 0; c < st->n_cells; c++)
        if (st->cell_scheme[c] == scheme && (is_baseline(scheme) || fabs(st->cell_p[c] - p) < 1e-12)) return c;
    return -1;
}

/* adds a cell unless the same (scheme, p) is there; 0 if the grid is full */
static int add_cell(study_setting *st, int scheme, double p) {
    if (is_baseline(scheme)) p = 0.0;
    for (int c = 0; c < st->n_cells; c++)
        if (st->cell_scheme[c] == scheme && st->cell_p[c] == p) return 1;
    if (st->n_cells == STUDY_MAX_CELLS) return 0;
    st->cell_scheme[st->n_cells] = scheme;
    st->cell_p[st->n_cells++] = p;
    return 1;
}

static void add_cells(study_setting *st, const ad_scheme *schemes, int n, double p) {
    for (int i = 0; i < n; i++) add_cell(st, schemes[i], p);
}

/* the scaling grid's width and batch at context T */
static void scale_shape(study_setting *st, int T) {
    st->batch_size = 16;
    st->block_size = T;
    st->n_embd = 96;
}

/* The preset grids. B32 T32 C64 models, attention dropout only, but for the regime and gptpy settings. */
void grid_preset(study_spec *sp, const char *grid, int with_text) {
    /* the cells come from the scheme table's study flags, in its rank order: primary[0..2] are
     * the baseline, the reference and the control, primary[4] the headline whole-word scheme */
    ad_scheme primary[AD_SCHEME_COUNT], copy_cells[AD_SCHEME_COUNT], text_cells[AD_SCHEME_COUNT], half[AD_SCHEME_COUNT],
        all[AD_SCHEME_COUNT];
    ad_scheme_list(AD_STUDY_CORE, 0, primary);
    int n_copy = ad_scheme_list(AD_STUDY_CORE | AD_STUDY_COPY, 0, copy_cells);
    int n_text = ad_scheme_list(AD_STUDY_CORE | AD_STUDY_TEXT, 0, text_cells);
    int n_half = ad_scheme_list(AD_STUDY_CORE, AD_STUDY_BASELINE, half);
    for (int s = 0; s < AD_SCHEME_COUNT; s++) all[s] = (ad_scheme)s;
    study_setting *st;
    snprintf(sp->grid, sizeof sp->grid, "%s", grid);
    if (strcmp(grid, "quick") == 0) {
        /* every question answered: word on the small training set, where dropout helps (question 6),
         * and a one-head one-layer setting (question 4) beside the zero-row comparisons. 132 runs,
         * about 88,000 step-equivalents (a one-layer step costs about half) */
        ad_scheme word[AD_SCHEME_COUNT];
        ad_scheme_list(AD_STUDY_WHOLE, AD_STUDY_CORE, word); /* word[0]: the first whole-word scheme outside the core, word */
        st = add_setting(sp, "markov", AD_TASK_MARKOV, ROLE_RICH, 0, 4, 2, 480, 8, 3e-3);
        add_cells(st, primary, 5, 0.2);
        add_cells(st, half, 2, 0.5);
        st = add_setting(sp, "markov-small", AD_TASK_MARKOV, ROLE_SMALL, SMALL_TRAIN_CHARS, 4, 2, 1000, 8, 3e-3);
        add_cells(st, primary, 3, 0.2);
        add_cell(st, primary[4], 0.2);
        add_cell(st, word[0], 0.2);
        st = add_setting(sp, "copy", AD_TASK_COPY, ROLE_RICH, 0, 4, 2, 1200, 4, 1e-3);
        add_cells(st, primary, 3, 0.2);
        st = add_setting(sp, "markov-h1l1", AD_TASK_MARKOV, ROLE_SHAPE, 0, 1, 1, 480, 8, 3e-3);
        add_cells(st, primary, 3, 0.5);
        if (with_text) {
            st = add_setting(sp, "text", -1, ROLE_RICH, 0, 4, 2, 1000, 4, 3e-3);
            add_cells(st, primary, 3, 0.2);
            st = add_setting(sp, "text-small", -1, ROLE_SMALL, SMALL_TRAIN_CHARS, 4, 2, 1000, 4, 3e-3);
            add_cells(st, primary, 3, 0.2);
        }
        return;
    }
    if (strcmp(grid, "scale") == 0) {
        /* issue 25's scaling grid: the zero-row comparisons along three axes from one base (T64 H2 L2),
         * C96 (the narrowest width 1, 2 and 6 heads divide, so the 6-layer and T256 runs fit 2 cores),
         * B16 sequences per step at every T, as gpt.py keeps batch_size when block_size changes. 576 runs */
        ad_scheme word[AD_SCHEME_COUNT];
        ad_scheme_list(AD_STUDY_WHOLE, AD_STUDY_CORE, word);
        ad_scheme zr[4] = {primary[1], primary[2], primary[4], word[0]}; /* standard, nonzero, token, word */
        static const struct { const char *name; int T, H, L; } axis[] = {
            {"t32", 32, 2, 2}, {"t64", 64, 2, 2}, {"t128", 128, 2, 2}, {"t256", 256, 2, 2},
            {"h1", 64, 1, 2}, {"h6", 64, 6, 2}, {"l1", 64, 2, 1}, {"l6", 64, 2, 6}};
        sp->scale_base = sp->n_set + 1; /* t64 */
        for (size_t a = 0; a < sizeof axis / sizeof axis[0]; a++) {
            st = add_setting(sp, axis[a].name, AD_TASK_MARKOV, ROLE_SCALE, 0, axis[a].H, axis[a].L, 400, 8, 3e-3);
            scale_shape(st, axis[a].T);
            add_cell(st, primary[0], 0.0);
            add_cells(st, zr, 4, 0.2);
            add_cells(st, zr, 4, 0.5);
        }
        /* issue 31: gpt.py's T256 H6 L6 measured directly (C96 B16, steps and lr as the axes), the
         * baseline, the reference and the control at both rates, 16 seeds. 80 runs */
        st = add_setting(sp, "t256-h6-l6", AD_TASK_MARKOV, ROLE_CORNER, 0, 6, 6, 400, 16, 3e-3);
        scale_shape(st, 256);
        add_cells(st, primary, 3, 0.2);
        add_cells(st, primary, 3, 0.5);
        /* the training length: the base and its six-layer point 4x longer, 16 evaluations, p=0.5, 12 seeds,
         * with the attention sink and the gradient RMS per layer at each evaluation. 72 runs */
        static const struct { const char *name; int L; } longer[] = {{"t64-long", 2}, {"l6-long", 6}};
        for (int i = 0; i < 2; i++) {
            st = add_setting(sp, longer[i].name, AD_TASK_MARKOV, ROLE_LONG, 0, 2, longer[i].L, 1600, 12, 3e-3);
            scale_shape(st, 64);
            st->eval_interval = 100;
            st->mechanism = 1;
            add_cells(st, primary, 3, 0.5);
        }
        /* the rate: the base at p 0.1, 0.2, 0.3 and 0.5, 16 seeds. 144 runs */
        st = add_setting(sp, "p-sweep", AD_TASK_MARKOV, ROLE_SWEEP, 0, 2, 2, 400, 16, 3e-3);
        scale_shape(st, 64);
        static const double sweep[4] = {0.1, 0.2, 0.3, 0.5};
        for (int r = 0; r < 4; r++) add_cells(st, primary, 3, sweep[r]);
        if (with_text) {
            /* gpt.py's regime on the --data text: T256 H6 L6, its training split cut to REGIME_TRAIN_CHARS (about
             * gpt.py's parameters per training character, so that the model overfits and dropout helps), dropout
             * 0.2 at all three sites as gpt.py; `none` drops nothing anywhere. 30 runs */
            st = add_setting(sp, "text-regime", -1, ROLE_REGIME, REGIME_TRAIN_CHARS, 6, 6, REGIME_STEPS, 10, 3e-3);
            scale_shape(st, 256);
            st->eval_interval = 100;
            st->dropout = 0.2;
            st->mechanism = 1;
            add_cells(st, primary, 3, 0.2);
        }
        return;
    }
    if (strcmp(grid, "gptpy") == 0) {
        /* gpt.py exactly, for a cluster or a GPU: B64 T256 C384 H6 L6, lr 3e-4, 5000 steps evaluated every 500,
         * dropout 0.2 at all three sites, on the --data text's whole training split; `none` drops nothing. 24 runs */
        st = add_setting(sp, "gptpy", -1, ROLE_GPTPY, 0, 6, 6, 5000, 8, 3e-4);
        st->batch_size = 64;
        st->block_size = 256;
        st->n_embd = 384;
        st->eval_interval = 500;
        st->dropout = 0.2;
        add_cells(st, primary, 3, 0.2);
        return;
    }
    int full = strcmp(grid, "full") == 0;
    static const double rates[3] = {0.1, 0.2, 0.5};
    /* medium: 434,800 steps, 59 minutes measured on 2 shared cores; full: every scheme at three rates */
    st = add_setting(sp, "markov", AD_TASK_MARKOV, ROLE_RICH, 0, 4, 2, 480, full ? 16 : 10, 3e-3);
    for (int r = 0; r < 3; r++)
        if (full || r == 1) add_cells(st, all, AD_SCHEME_COUNT, rates[r]);
    add_cells(st, half, n_half, 0.5);
    st = add_setting(sp, "markov-small", AD_TASK_MARKOV, ROLE_SMALL, SMALL_TRAIN_CHARS, 4, 2, 1000, full ? 12 : 10, 3e-3);
    for (int r = 0; r < 3; r++)
        if (full || r == 1) add_cells(st, all, AD_SCHEME_COUNT, rates[r]);
    st = add_setting(sp, "copy", AD_TASK_COPY, ROLE_RICH, 0, 4, 2, 1200, full ? 10 : 6, 1e-3);
    if (full)
        for (int r = 0; r < 3; r++) add_cells(st, all, AD_SCHEME_COUNT, rates[r]);
    else
        add_cells(st, copy_cells, n_copy, 0.2);
    st = add_setting(sp, "markov-h1l1", AD_TASK_MARKOV, ROLE_SHAPE, 0, 1, 1, 480, full ? 16 : 10, 3e-3);
    add_cells(st, primary, 3, 0.5);
    add_cells(st, primary, 3, 0.2);
    if (full) {
        st = add_setting(sp, "recall", AD_TASK_RECALL, ROLE_RICH, 0, 4, 2, 2000, 10, 1e-3);
        for (int r = 0; r < 3; r++) add_cells(st, all, AD_SCHEME_COUNT, rates[r]);
    }
    if (with_text) {
        st = add_setting(sp, "text", -1, ROLE_RICH, 0, 4, 2, 1000, full ? 12 : 8, 3e-3);
        for (int r = 0; r < 3; r++)
            if (full) add_cells(st, all, AD_SCHEME_COUNT, rates[r]);
        if (!full) add_cells(st, text_cells, n_text, 0.2);
        st = add_setting(sp, "text-small", -1, ROLE_SMALL, SMALL_TRAIN_CHARS, 4, 2, 1000, full ? 12 : 8, 3e-3);
        for (int r = 0; r < 3; r++)
            if (full) add_cells(st, all, AD_SCHEME_COUNT, rates[r]);
        if (!full) add_cells(st, text_cells, n_text, 0.2);
    }
}

int study_total_runs(const study_spec *sp) {
    int n = 0;
    for (int i = 0; i < sp->n_set; i++) n += sp->set[i].n_cells * sp->set[i].seeds;
    return n;
}

int grid_custom(study_spec *sp, const char *tasks, const char *schemes, const char *ps, int with_text, long train_chars) {
    char tbuf[256], sbuf[512], pbuf[256];
    char *titems[STUDY_MAX_SETTINGS], *sitems[AD_SCHEME_COUNT], *pitems[8];
    snprintf(sp->grid, sizeof sp->grid, "custom");
    int nt = 0;
    if (tasks || !with_text) {
        if (snprintf(tbuf, sizeof tbuf, "%s", tasks ? tasks : "markov") >= (int)sizeof tbuf ||
            (nt = split(tbuf, titems, AD_TASK_COUNT)) < 0)
            return cli_die_usage("study ", "--task: give at most %d distinct tasks, comma-separated", AD_TASK_COUNT);
    }
    int ns = 1, np = 1;
    sitems[0] = (char *)ad_scheme_get((ad_scheme)ad_scheme_find(AD_STUDY_REFERENCE))->name;
    if (schemes && (snprintf(sbuf, sizeof sbuf, "%s", schemes) >= (int)sizeof sbuf ||
                    (ns = split(sbuf, sitems, AD_SCHEME_COUNT)) < 0))
        return cli_die_usage("study ", "--schemes: give at most %d schemes, comma-separated", AD_SCHEME_COUNT);
    double pv[8] = {0.2};
    if (ps) {
        if (snprintf(pbuf, sizeof pbuf, "%s", ps) >= (int)sizeof pbuf || (np = split(pbuf, pitems, 8)) < 0)
            return cli_die_usage("study ", "--p: give at most 8 rates, comma-separated");
        for (int j = 0; j < np; j++) {
            char *end, canon[32];
            pv[j] = strtod(pitems[j], &end);
            if (end == pitems[j] || *end || !(pv[j] >= 0.0 && pv[j] < 1.0))
                return cli_die_usage("study ", "--p: '%s' is not a rate in [0, 1)", pitems[j]);
            snprintf(canon, sizeof canon, "%g", pv[j]); /* the rate as run files name it */
            pv[j] = strtod(canon, NULL);
            if (!(pv[j] < 1.0)) /* 0.9999999 names 1 in 6 digits */
                return cli_die_usage("study ", "--p: '%s' is not a rate in [0, 1) to 6 digits", pitems[j]);
            for (int i = 0; i < j; i++)
                if (pv[i] == pv[j]) return cli_die_usage("study ", "--p: %s is given twice (as %g)", pitems[j], pv[j]);
        }
    }
    int tasks_seen[AD_TASK_COUNT] = {0};
    for (int i = 0; i < nt + with_text; i++) {
        int task = -1;
        if (i < nt) {
            task = ad_task_lookup(titems[i]);
            if (task < 0) return cli_die_usage("study ", "unknown task '%s' (known: markov, copy, recall)", titems[i]);
            if (tasks_seen[task]++) return cli_die_usage("study ", "--task: '%s' is given twice", titems[i]);
        }
        study_setting *st = add_setting(sp, task >= 0 ? titems[i] : "text", task, train_chars ? ROLE_SMALL : ROLE_RICH,
                                        train_chars, 4, 2, 480, 3, 3e-3);
        add_cell(st, ad_scheme_find(AD_STUDY_BASELINE), 0.0); /* the baseline every comparison needs */
        for (int s = 0; s < ns; s++) {
            int sc = ad_scheme_lookup(sitems[s]);
            if (sc < 0) return cli_die_usage("study ", "unknown scheme '%s' (see '%s schemes')", sitems[s], cli_prog);
            for (int j = 0; j < np; j++) {
                if (!is_baseline(sc) && study_find_cell(st, sc, pv[j]) >= 0)
                    return cli_die_usage("study ", "--schemes: '%s' is given twice", sitems[s]);
                if (!add_cell(st, sc, pv[j])) return cli_die_usage("study ", "the grid holds at most %d cells", STUDY_MAX_CELLS);
            }
        }
    }
    return 0;
}

run_key study_run_key(const study_spec *sp, int run_no) {
    run_key k = {0, 0, 1};
    for (int i = 0; i < sp->n_set; i++) {
        int n = sp->set[i].n_cells * sp->set[i].seeds;
        if (run_no < n) {
            k.set = i;
            k.cell = run_no / sp->set[i].seeds;
            k.seed = run_no % sp->set[i].seeds + 1;
            return k;
        }
        run_no -= n;
    }
    return k;
}

int study_in_shard(int run_no, int shard, int n_shards) { return n_shards <= 1 || run_no % n_shards == shard - 1; }

void study_cell_label(char *buf, size_t n, int scheme, double p) {
    const ad_scheme_info *si = ad_scheme_get((ad_scheme)scheme);
    if (si->study & AD_STUDY_BASELINE) snprintf(buf, n, "%s", si->name);
    else snprintf(buf, n, "%s p=%g", si->name, p);
}

