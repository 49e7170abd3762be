/* record.c - a run's record (written by study_run.c, atomically, its first
 * line the settings it was made with) read back and checked whole, and the
 * placeholder of a run not done yet. */
#include "record.h"
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int study_evals_of(const study_setting *st) {
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
    int T = st->block_size, ne = study_evals_of(st), rc = -2;
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

int study_missing_rec(const study_spec *sp, const run_key *k, run_rec *r) {
    const study_setting *st = &sp->set[k->set];
    int T = st->block_size, ne = study_evals_of(st);
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

