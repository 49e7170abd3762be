/* study_run.c - one run of a study: training, its record (written
 * atomically, first line the settings it was made with) and reading it back;
 * and the timing phase, which times every scheme in one quiet process. */
#include "study.h"
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void study_cell_label(char *buf, size_t n, int scheme, double p) {
    const ad_scheme_info *si = ad_scheme_get((ad_scheme)scheme);
    if (si->study & AD_STUDY_BASELINE) snprintf(buf, n, "%s", si->name);
    else snprintf(buf, n, "%s p=%g", si->name, p);
}

void study_run_path(char *buf, size_t n, const char *dir, const study_spec *sp, const run_key *k) {
    const study_setting *st = &sp->set[k->set];
    snprintf(buf, n, "%s/runs/%s-%s-%g-%d.csv", dir, st->name, ad_scheme_get((ad_scheme)st->cell_scheme[k->cell])->name,
             st->cell_p[k->cell], k->seed);
}

void study_run_signature(char *buf, size_t n, const study_spec *sp, const run_key *k) {
    const study_setting *st = &sp->set[k->set];
    snprintf(buf, n,
             "S,setting=%s,task=%s,train_chars=%ld,data=%016llx,vocab=%d,B=%d,T=%d,C=%d,H=%d,L=%d,steps=%d,"
             "eval=%dx%d,lr=%.9g,scheme=%s,p=%.9g,seed=%d",
             st->name, st->task >= 0 ? ad_task_name((ad_task)st->task) : "text", st->train_chars, st->data_hash,
             st->vocab, st->batch_size, st->block_size, st->n_embd, st->n_head, st->n_layer, st->max_iters,
             st->eval_interval, sp->eval_iters, st->lr, ad_scheme_get((ad_scheme)st->cell_scheme[k->cell])->name,
             st->cell_p[k->cell], k->seed);
}

/* the evaluations a run makes: every eval_interval steps and at its last step */
static int evals_of(const study_setting *st) {
    int n = 0;
    for (int it = 0; it < st->max_iters; it++) n += it % st->eval_interval == 0 || it == st->max_iters - 1;
    return n;
}

void study_rec_free(run_rec *r) {
    if (!r) return;
    free(r->step); free(r->train); free(r->val); free(r->elapsed);
    free(r->pos); free(r->zero); free(r->rows);
    memset(r, 0, sizeof *r);
}

/* A loss a record can hold: finite, not negative, and below 1000 nats (a
 * character model starts near log(vocab) < 12 and a diverging run ends
 * without a record). */
static int loss_ok(double x) { return x >= 0.0 && x < 1000.0; }

int study_read_run(const char *path, const study_spec *sp, const run_key *k, run_rec *r) {
    memset(r, 0, sizeof *r);
    FILE *f = cli_fopen_regular(path);
    if (!f) return errno == EINVAL ? -3 : errno == ENOENT ? 0 : -2;
    const study_setting *st = &sp->set[k->set];
    int T = st->block_size, ne = evals_of(st), rc = -2;
    char sig[1024], line[1100];
    study_run_signature(sig, sizeof sig, sp, k);
    r->step = calloc((size_t)ne, sizeof *r->step);
    r->train = calloc((size_t)ne, sizeof *r->train);
    r->val = calloc((size_t)ne, sizeof *r->val);
    r->elapsed = calloc((size_t)ne, sizeof *r->elapsed);
    r->pos = calloc((size_t)T, sizeof *r->pos);
    r->zero = calloc((size_t)T, sizeof *r->zero);
    r->rows = calloc((size_t)T, sizeof *r->rows);
    char *seen = calloc((size_t)T * 2, 1);
    int n_p = 0, n_z = 0, got_t = 0, got_end = 0, prev = -1;
    /* the attention rows a run meets at each position: every step, batch row, head and layer */
    uint64_t rows_per_pos = (uint64_t)st->max_iters * (uint64_t)st->batch_size * (uint64_t)st->n_head * (uint64_t)st->n_layer;
    if (!r->step || !r->train || !r->val || !r->elapsed || !r->pos || !r->zero || !r->rows || !seen) goto out;
    if (!fgets(line, sizeof line, f)) goto out;
    if (!strchr(line, '\n')) goto out; /* a record cut inside its first line is damaged, not another grid's */
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "S,", 2) != 0) goto out;
    if (strcmp(line, sig) != 0) { rc = -1; goto out; }
    while (fgets(line, sizeof line, f)) {
        long a;
        double x, y, z;
        unsigned long long u, w;
        if (!strchr(line, '\n')) goto out; /* a cut line */
        if (got_end) goto out;
        if (line[0] == 'L' && sscanf(line, "L,%ld,%lf,%lf,%lf", &a, &x, &y, &z) == 4) {
            if (r->n_evals >= ne) goto out;
            /* the evaluations come at the steps the run makes them, in order, once each */
            long want = prev + 1;
            while (want < st->max_iters && !(want % st->eval_interval == 0 || want == st->max_iters - 1)) want++;
            if (a != want || !loss_ok(x) || !loss_ok(y) || !(z >= 0.0 && z < 1e9)) goto out;
            prev = a;
            r->step[r->n_evals] = a;
            r->train[r->n_evals] = x;
            r->val[r->n_evals] = y;
            r->elapsed[r->n_evals++] = z;
        } else if (line[0] == 'P' && sscanf(line, "P,%ld,%lf", &a, &x) == 2 && a >= 0 && a < T && !seen[a] &&
                   loss_ok(x)) {
            r->pos[a] = x;
            seen[a] = 1;
            n_p++;
        } else if (line[0] == 'Z' && sscanf(line, "Z,%ld,%llu,%llu", &a, &u, &w) == 3 && a >= 0 && a < T && !seen[T + a] &&
                   u <= w && w == rows_per_pos) { /* a negative count reads as a huge one */
            r->zero[a] = u;
            r->rows[a] = w;
            seen[T + a] = 1;
            n_z++;
        } else if (line[0] == 'T' && sscanf(line, "T,%lf,%ld", &x, &a) == 2 && !got_t && x >= 0.0 && x < 1e9) {
            r->seconds = x;
            r->steps = (int)a;
            got_t = 1;
        } else if (strcmp(line, "E\n") == 0) {
            got_end = 1;
        } else {
            goto out;
        }
    }
    if (r->n_evals == ne && n_p == T && n_z == T && got_t && got_end && r->steps == st->max_iters &&
        r->step[ne - 1] == st->max_iters - 1)
        rc = 1;
out:
    free(seen);
    fclose(f);
    if (rc != 1) study_rec_free(r);
    return rc;
}

static ad_status make_model(ad_model **m, const study_spec *sp, const ad_dataset *ds, const run_key *k,
                            ad_error *err) {
    const study_setting *st = &sp->set[k->set];
    ad_config c = ad_config_default();
    c.vocab_size = ds->vocab.size;
    c.block_size = st->block_size;
    c.n_embd = st->n_embd;
    c.n_head = st->n_head;
    c.n_layer = st->n_layer;
    c.dropout = 0.0f; /* only attention dropout varies */
    c.scheme = (ad_scheme)st->cell_scheme[k->cell];
    c.attn_dropout = (float)st->cell_p[k->cell];
    ad_status s = ad_model_create(m, &c, st->batch_size, 1, (uint64_t)k->seed, err);
    if (!s) ad_model_set_total_steps(*m, st->max_iters);
    return s;
}

/* the training steps of a run of setting st: batches and masks keyed by seed */
static ad_train_opts train_opts(const ad_dataset *ds, const study_setting *st, uint64_t seed,
                                const ad_observer *obs) {
    ad_train_opts o = {.data = ds->ids, .n = ds->n_train, .batch_size = st->batch_size, .seed = seed,
                       .opt = ad_adamw_default(), .observer = obs};
    o.opt.lr = (float)st->lr;
    return o;
}

/* Trains one run and writes its record atomically:
 *   S,<signature>                           the settings it was made with
 *   L,step,train_loss,val_loss,elapsed_s    at each evaluation
 *   P,pos,val_loss                          per position, at the end
 *   Z,pos,zero_rows,rows                    all-zero attention rows met
 *   T,seconds,steps                         training time and steps
 *   E                                       the end */
int study_train_record(const study_spec *sp, const ad_dataset *ds, const run_key *k, FILE *f, int run_no,
                       int n_runs, double t_study) {
    const study_setting *st = &sp->set[k->set];
    ad_error err = {0};
    ad_model *m = NULL;
    uint64_t seed = (uint64_t)k->seed;
    if (make_model(&m, sp, ds, k, &err)) {
        fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
        return EXIT_INPUT;
    }
    int B = st->batch_size, T = st->block_size;
    int *xb = malloc((size_t)B * T * sizeof *xb), *yb = malloc((size_t)B * T * sizeof *yb);
    double *pos = calloc((size_t)T * 2, sizeof *pos), *pl = pos ? pos + T : NULL;
    uint64_t *zero = calloc((size_t)T * 2, sizeof *zero);
    char sig[1024], label[64];
    int rc = 0;
    study_cell_label(label, sizeof label, st->cell_scheme[k->cell], st->cell_p[k->cell]);
    if (!xb || !yb || !pos || !zero) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    study_run_signature(sig, sizeof sig, sp, k);
    fprintf(f, "%s\n", sig);
    double train_time = 0.0;
    ad_observer obs = {zero, zero + T};
    ad_train_opts to = train_opts(ds, st, seed, &obs);
    for (long it = 0; it < st->max_iters; it++) {
        if (it % st->eval_interval == 0 || it == st->max_iters - 1) {
            float tl, vl;
            if (ad_estimate_loss(m, ds, B, sp->eval_iters, seed, (uint64_t)it, xb, yb, &tl, &vl, &err)) {
                fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
                rc = EXIT_INPUT;
                goto done;
            }
            fprintf(f, "L,%ld,%.6f,%.6f,%.3f\n", it, (double)tl, (double)vl, train_time);
        }
        double t0 = cli_now();
        if (ad_train_step(m, &to, it, xb, yb, NULL, &err)) {
            fprintf(stderr, "%s: run %s %s seed %d diverged at step %ld: %s\n", cli_prog, st->name, label, k->seed, it,
                    err.msg);
            rc = EXIT_NUMERIC;
            goto done;
        }
        train_time += cli_now() - t0;
        if (isatty(2) && (it % 20 == 0 || it == st->max_iters - 1)) {
            double done_runs = run_no + (double)(it + 1) / st->max_iters, el = cli_now() - t_study;
            fprintf(stderr, "\r\033[Krun %d/%d (%s %s p=%g seed %d) step %ld/%d  ETA %.0fs", run_no + 1, n_runs, st->name,
                    ad_scheme_get((ad_scheme)st->cell_scheme[k->cell])->name, st->cell_p[k->cell], k->seed, it + 1,
                    st->max_iters, done_runs > 0 ? el / done_runs * (n_runs - done_runs) : 0.0);
        }
    }
    /* the final per-position val loss, over the evaluation's batches, dropout off */
    size_t n_val = ds->n - ds->n_train;
    for (int e = 0; e < sp->eval_iters; e++) {
        if (ad_get_batch(ds->ids + ds->n_train, n_val, B, T, seed, AD_RNG_EVAL, (uint32_t)st->max_iters,
                         0x7fffff00u | (uint32_t)e, xb, yb, &err) ||
            ad_model_forward(m, xb, yb, B, T, 0, seed, 0, NULL, &err) || ad_model_position_losses(m, pl, &err)) {
            fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
            rc = EXIT_INPUT;
            goto done;
        }
        for (int t = 0; t < T; t++) pos[t] += pl[t] / sp->eval_iters;
    }
    for (int t = 0; t < T; t++) fprintf(f, "P,%d,%.6f\n", t, pos[t]);
    for (int t = 0; t < T; t++)
        fprintf(f, "Z,%d,%llu,%llu\n", t, (unsigned long long)zero[t], (unsigned long long)zero[T + t]);
    fprintf(f, "T,%.3f,%d\nE\n", train_time, st->max_iters);
done:
    free(xb);
    free(yb);
    free(pos);
    free(zero);
    ad_model_free(m);
    return rc;
}

int study_train_run(const study_spec *sp, const ad_dataset *ds, const run_key *k, const char *path, int run_no,
                    int n_runs, double t_study) {
    ad_atomic_file af;
    ad_error err = {0};
    /* the record appears whole or not at all: an interruption loses at most this run */
    if (ad_atomic_open(&af, path, &err)) return cli_die_status(&err, NULL);
    int rc = study_train_record(sp, ds, k, af.f, run_no, n_runs, t_study);
    if (!rc && ad_atomic_commit(&af, &err)) rc = cli_die_status(&err, NULL);
    ad_atomic_abort(&af);
    return rc;
}

int study_missing_rec(const study_spec *sp, const run_key *k, run_rec *r) {
    const study_setting *st = &sp->set[k->set];
    int T = st->block_size, ne = evals_of(st);
    memset(r, 0, sizeof *r);
    r->step = calloc((size_t)ne, sizeof *r->step);
    r->train = malloc((size_t)ne * sizeof *r->train);
    r->val = malloc((size_t)ne * sizeof *r->val);
    r->elapsed = calloc((size_t)ne, sizeof *r->elapsed);
    r->pos = malloc((size_t)T * sizeof *r->pos);
    r->zero = calloc((size_t)T, sizeof *r->zero);
    r->rows = calloc((size_t)T, sizeof *r->rows);
    if (!r->step || !r->train || !r->val || !r->elapsed || !r->pos || !r->zero || !r->rows) {
        study_rec_free(r);
        return 0;
    }
    for (int e = 0, it = 0; it < st->max_iters; it++)
        if (it % st->eval_interval == 0 || it == st->max_iters - 1) {
            r->step[e] = it;
            r->train[e] = r->val[e] = NAN;
            e++;
        }
    for (int t = 0; t < T; t++) r->pos[t] = NAN;
    r->n_evals = ne;
    r->steps = st->max_iters;
    r->missing = 1;
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int study_time_cells(const study_spec *sp, const ad_dataset *ds, study_timing *tm) {
    enum { WARMUP = 3 };
    const study_setting *st = &sp->set[0];
    memset(tm, 0, sizeof *tm);
    if (sp->timing_rounds <= 0) return 0;
    int nc = st->n_cells, B = st->batch_size, T = st->block_size, rc = 0;
    ad_model *m[STUDY_MAX_CELLS] = {0};
    double *sec = malloc((size_t)nc * sp->timing_rounds * sizeof *sec);
    int *xb = malloc((size_t)B * T * sizeof *xb), *yb = malloc((size_t)B * T * sizeof *yb);
    ad_error err = {0};
    ad_train_opts to = train_opts(ds, st, 1, NULL);
    tm->rounds = sp->timing_rounds;
    tm->steps = 20;
    if (!sec || !xb || !yb) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    for (int c = 0; c < nc && !rc; c++) {
        run_key k = {0, c, 1};
        if (make_model(&m[c], sp, ds, &k, &err)) { fprintf(stderr, "%s: %s\n", cli_prog, err.msg); rc = EXIT_INPUT; }
        for (long it = 0; it < WARMUP && !rc; it++)
            if (ad_train_step(m[c], &to, it, xb, yb, NULL, &err)) { fprintf(stderr, "%s: %s\n", cli_prog, err.msg); rc = EXIT_NUMERIC; }
    }
    /* interleaved rounds: every cell once per round, so a slow minute slows them all */
    for (int r = 0; r < sp->timing_rounds && !rc; r++)
        for (int c = 0; c < nc && !rc; c++) {
            double t0 = cli_now();
            for (long it = 0; it < tm->steps && !rc; it++)
                if (ad_train_step(m[c], &to, WARMUP + r * tm->steps + it, xb, yb, NULL, &err)) {
                    fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
                    rc = EXIT_NUMERIC;
                }
            sec[c * sp->timing_rounds + r] = (cli_now() - t0) / tm->steps;
        }
    if (!rc) {
        tm->n = nc;
        for (int c = 0; c < nc; c++) {
            double *v = sec + c * sp->timing_rounds;
            int R = sp->timing_rounds;
            qsort(v, (size_t)R, sizeof *v, cmp_double);
            tm->median[c] = R % 2 ? v[R / 2] : 0.5 * (v[R / 2 - 1] + v[R / 2]);
            tm->lo[c] = v[0];
            tm->hi[c] = v[R - 1];
        }
    }
done:
    for (int c = 0; c < nc; c++) ad_model_free(m[c]);
    free(sec);
    free(xb);
    free(yb);
    return rc;
}
