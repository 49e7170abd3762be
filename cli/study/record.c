/* record.c - a run's record (written by study_run.c, atomically, its first
 * line the settings it was made with) read back and checked whole, and the
 * placeholder of a run not done yet. */
#include "record.h"
#include "../cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const study_pos_bin_name[STUDY_POS_BINS] = {"pos0", "pos1-3", "pos4-15", "second-half"};

void study_pos_bin(int b, int T, int *lo, int *hi) {
    static const int from[STUDY_POS_BINS - 1] = {0, 1, 4}, to[STUDY_POS_BINS - 1] = {1, 4, 16};
    *lo = b < STUDY_POS_BINS - 1 ? from[b] : T / 2;
    *hi = b < STUDY_POS_BINS - 1 ? to[b] : T;
    if (*hi > T) *hi = T;
    if (*lo > *hi) *lo = *hi;
}

void study_pos_bins_of(const double *x, int T, double *out) {
    for (int b = 0; b < STUDY_POS_BINS; b++) {
        int lo, hi;
        study_pos_bin(b, T, &lo, &hi);
        double sum = 0.0;
        for (int t = lo; t < hi; t++) sum += x[t];
        out[b] = hi > lo ? sum / (hi - lo) : NAN;
    }
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
    size_t len = strlen(buf); /* the fields of issue 31, only where set: older records stay valid */
    if (st->dropout > 0.0 && len < n) len += (size_t)snprintf(buf + len, n - len, ",dropout=%.9g", st->dropout);
    if (st->mechanism && len < n) snprintf(buf + len, n - len, ",mechanism=1");
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
    free(r->sink); free(r->grad); free(r->qbin);
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
    int n_p = 0, n_z = 0, n_z0 = 0, got_t = 0, got_end = 0, prev = -1, L = st->n_layer, n_m = 0, n_q = 0, used;
    size_t nel = (size_t)ne * (size_t)L;
    if (st->mechanism) { /* NaN until read: each (evaluation, layer) once, at the evaluations' steps */
        r->sink = malloc(nel * sizeof *r->sink);
        r->grad = malloc(nel * sizeof *r->grad);
        r->qbin = malloc((size_t)ne * STUDY_POS_BINS * sizeof *r->qbin);
        if (!r->sink || !r->grad || !r->qbin) goto out;
        for (size_t i = 0; i < nel; i++) r->sink[i] = r->grad[i] = NAN;
        for (size_t i = 0; i < (size_t)ne * STUDY_POS_BINS; i++) r->qbin[i] = NAN;
    }
    /* the attention rows a run meets at each position: every step, batch row, head and layer */
    uint64_t rows_per_pos = (uint64_t)st->max_iters * (uint64_t)st->batch_size * (uint64_t)st->n_head * (uint64_t)st->n_layer;
    if (!r->step || !r->train || !r->val || !r->elapsed || !r->pos || !r->zero || !r->rows || !seen) goto out;
    if (!fgets(line, sizeof line, f)) goto out;
    if (!strchr(line, '\n')) goto out; /* a record cut inside its first line is damaged, not another grid's */
    line[strcspn(line, "\r\n")] = '\0'; /* CRLF (a record copied through another system) reads as LF */
    if (strncmp(line, "S,", 2) != 0) goto out;
    if (strcmp(line, sig) != 0) { rc = -1; goto out; }
    while (fgets(line, sizeof line, f)) {
        long a;
        double x, y, z;
        unsigned long long u, w;
        if (!strchr(line, '\n')) goto out; /* a cut line */
        size_t len = strlen(line);
        if (len >= 2 && line[len - 2] == '\r') { line[len - 2] = '\n'; line[len - 1] = '\0'; }
        if (got_end) goto out;
        /* each line whole: its fields, then the end of the line and nothing else (used: where the fields end) */
#define WHOLE(n_fields, ...) ((used = -1), sscanf(line, __VA_ARGS__, &used) == (n_fields) && used > 0 && strcmp(line + used, "\n") == 0)
        if (line[0] == 'L' && WHOLE(4, "L,%ld,%lf,%lf,%lf%n", &a, &x, &y, &z)) {
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
        } else if (line[0] == 'P' && WHOLE(2, "P,%ld,%lf%n", &a, &x) && a >= 0 && a < T && !seen[a] &&
                   loss_ok(x)) {
            r->pos[a] = x;
            seen[a] = 1;
            n_p++;
        } else if (line[0] == 'Z' && WHOLE(3, "Z,%ld,%llu,%llu%n", &a, &u, &w) && a >= 0 && a < T && !seen[T + a] &&
                   u <= w && (w == rows_per_pos || w == 0)) { /* a negative count reads as a huge one; 0 of 0: not counted (a device) */
            n_z0 += w == 0;
            r->zero[a] = u;
            r->rows[a] = w;
            seen[T + a] = 1;
            n_z++;
        } else if (st->mechanism && line[0] == 'M' && WHOLE(4, "M,%ld,%lf,%lf,%lf%n", &a, &x, &y, &z) &&
                   r->n_evals > 0 && a == r->step[r->n_evals - 1] && x >= 0 && x < L && x == (int)x &&
                   isnan(r->sink[(size_t)(r->n_evals - 1) * L + (size_t)x]) && y >= 0.0 && y <= 1.0 && z >= 0.0 && z < 1e30) {
            r->sink[(size_t)(r->n_evals - 1) * L + (size_t)x] = y; /* after its evaluation's L line */
            r->grad[(size_t)(r->n_evals - 1) * L + (size_t)x] = z;
            n_m++;
        } else if (st->mechanism && line[0] == 'Q' && r->n_evals > 0 &&
                   isnan(r->qbin[(size_t)(r->n_evals - 1) * STUDY_POS_BINS]) && ((used = -1), sscanf(line, "Q,%ld,%n", &a, &used) == 1) &&
                   used > 0 && line[used - 1] == ',' && a == r->step[r->n_evals - 1]) {
            double *q = r->qbin + (size_t)(r->n_evals - 1) * STUDY_POS_BINS;
            const char *c = line + used - 1; /* the comma before the first bin */
            for (int b = 0; b < STUDY_POS_BINS; b++) {
                char *end;
                int lo, hi;
                study_pos_bin(b, T, &lo, &hi);
                if (!c) goto out;
                q[b] = strtod(c + 1, &end);
                if (end == c + 1 || (*end != ',' && *end != '\n') || (hi > lo ? !loss_ok(q[b]) : !isnan(q[b]))) goto out;
                c = *end == ',' ? end : NULL;
            }
            if (c) goto out;
            n_q++;
        } else if (line[0] == 'T' && WHOLE(2, "T,%lf,%ld%n", &x, &a) && !got_t && x >= 0.0 && x < 1e9 &&
                   a == st->max_iters) { /* compared as a long: a count past an int is not the run's steps */
            r->seconds = x;
            r->steps = (int)a;
            got_t = 1;
        } else if (strcmp(line, "E\n") == 0) {
            got_end = 1;
        } else {
            goto out;
        }
    }
#undef WHOLE
    /* the zero rows counted at every position, or (a run on a device) at none */
    if (r->n_evals == ne && n_p == T && n_z == T && (n_z0 == 0 || n_z0 == T) && got_t && got_end &&
        r->steps == st->max_iters && (!st->mechanism || ((size_t)n_m == nel && n_q == ne)) &&
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
    if (st->mechanism) {
        r->sink = malloc((size_t)ne * st->n_layer * sizeof *r->sink);
        r->grad = malloc((size_t)ne * st->n_layer * sizeof *r->grad);
        r->qbin = malloc((size_t)ne * STUDY_POS_BINS * sizeof *r->qbin);
    }
    if (!r->step || !r->train || !r->val || !r->elapsed || !r->pos || !r->zero || !r->rows ||
        (st->mechanism && (!r->sink || !r->grad || !r->qbin))) {
        study_rec_free(r);
        return 0;
    }
    for (int i = 0; st->mechanism && i < ne * st->n_layer; i++) r->sink[i] = r->grad[i] = NAN;
    for (int i = 0; st->mechanism && i < ne * STUDY_POS_BINS; i++) r->qbin[i] = NAN;
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

