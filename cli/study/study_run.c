/* study_run.c - one run of a study: training, its record (written
 * atomically, first line the settings it was made with) and reading it back;
 * and the timing phase, which times every scheme in one quiet process. */
#include "study.h"
#include "../cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ad_status make_model(ad_model **m, const study_spec *sp, const ad_dataset *ds, const run_key *k,
                            ad_error *err) {
    const study_setting *st = &sp->set[k->set];
    ad_config c = ad_config_default();
    c.vocab_size = ds->vocab.size;
    c.block_size = st->block_size;
    c.n_embd = st->n_embd;
    c.n_head = st->n_head;
    c.n_layer = st->n_layer;
    /* only attention dropout varies, but where the setting drops after the projection and the FFN as gpt.py
     * does; the baseline drops nothing anywhere */
    c.dropout = ad_scheme_get((ad_scheme)st->cell_scheme[k->cell])->study & AD_STUDY_BASELINE ? 0.0f : (float)st->dropout;
    c.scheme = (ad_scheme)st->cell_scheme[k->cell];
    c.attn_dropout = (float)st->cell_p[k->cell];
    ad_status s = ad_model_create(m, &c, st->batch_size, 1, (uint64_t)k->seed, err);
    if (!s) ad_model_set_total_steps(*m, st->max_iters);
    if (!s && sp->device != AD_DEVICE_CPU && (s = ad_model_set_device(*m, (ad_device)sp->device, err))) {
        ad_model_free(*m);
        *m = NULL;
    }
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

/* The val loss per position (dropout off) over sp->eval_iters batches of the val split keyed (key, c3 | e),
 * into pos (T; pl scratch); with sink (n_layer; sl scratch), each layer's attention sink averaged over the same
 * batches. */
static ad_status val_positions(ad_model *m, const study_spec *sp, const ad_dataset *ds, int B, uint64_t seed,
                               uint32_t key, uint32_t c3, int *xb, int *yb, double *pos, double *pl, double *sink,
                               double *sl, ad_error *err) {
    const ad_config *c = ad_model_config(m);
    int T = c->block_size;
    size_t n_val = ds->n - ds->n_train;
    for (int t = 0; t < T; t++) pos[t] = 0.0;
    for (int l = 0; sink && l < c->n_layer; l++) sink[l] = 0.0;
    for (int e = 0; e < sp->eval_iters; e++) {
        ad_status s;
        if ((s = ad_get_batch(ds->ids + ds->n_train, n_val, B, T, seed, AD_RNG_EVAL, key, c3 | (uint32_t)e, xb, yb, err)) ||
            (s = ad_model_forward(m, xb, yb, B, T, 0, seed, 0, NULL, err)) || (s = ad_model_position_losses(m, pl, err)) ||
            (sink && (s = ad_model_attention_sink(m, sl, err))))
            return s;
        for (int t = 0; t < T; t++) pos[t] += pl[t] / sp->eval_iters;
        for (int l = 0; sink && l < c->n_layer; l++) sink[l] += sl[l] / sp->eval_iters;
    }
    return AD_OK;
}

/* The RMS gradient of each layer's parameters that AdamW's second moments estimate after t steps (bias
 * corrected; 0 before the first step), into rms (n_layer). */
static void grad_rms(ad_model *m, long t, double beta2, double *rms) {
    const ad_config *c = ad_model_config(m);
    const float *v = ad_model_adam_v(m);
    for (int l = 0; l < c->n_layer; l++) {
        char prefix[32];
        int n = snprintf(prefix, sizeof prefix, "blocks.%d.", l);
        double sum = 0.0;
        size_t count = 0;
        for (int i = 0; i < ad_model_num_tensors(m); i++) {
            const ad_tensor_info *ti = ad_model_tensor(m, i);
            if (strncmp(ti->name, prefix, (size_t)n) != 0) continue;
            size_t ne = (size_t)ti->shape[0] * (ti->ndim > 1 ? (size_t)ti->shape[1] : 1);
            for (size_t j = 0; j < ne; j++) sum += v[ti->offset + j];
            count += ne;
        }
        rms[l] = t > 0 && count ? sqrt(sum / (double)count / (1.0 - pow(beta2, (double)t))) : 0.0;
    }
}

/* Trains one run and writes its record atomically:
 *   S,<signature>                           the settings it was made with
 *   L,step,train_loss,val_loss,elapsed_s    at each evaluation
 *   P,pos,val_loss                          per position, at the end
 *   Z,pos,zero_rows,rows                    all-zero attention rows met
 *   M,step,layer,sink,grad_rms              mechanism settings, at each evaluation: each layer's
 *                                           attention sink and gradient RMS (see val_positions, grad_rms)
 *   Q,step,bin0,bin1,bin2,bin3              and the val loss in the position bins of study_pos_bins
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
    int L = st->n_layer;
    double *mech = calloc((size_t)L * 3, sizeof *mech); /* sink, its scratch, grad_rms */
    char sig[1024], label[64];
    int rc = 0;
    study_cell_label(label, sizeof label, st->cell_scheme[k->cell], st->cell_p[k->cell]);
    if (!xb || !yb || !pos || !zero || !mech) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    study_run_signature(sig, sizeof sig, sp, k);
    fprintf(f, "%s\n", sig);
    double train_time = 0.0;
    ad_observer obs = {zero, zero + T};
    /* the zero rows are counted on the CPU only: a device's record says 0 of 0 rows */
    ad_train_opts to = train_opts(ds, st, seed, sp->device == AD_DEVICE_CPU ? &obs : NULL);
    for (long it = 0; it < st->max_iters; it++) {
        if (it % st->eval_interval == 0 || it == st->max_iters - 1) {
            float tl, vl;
            if (ad_estimate_loss(m, ds, B, sp->eval_iters, seed, (uint64_t)it, xb, yb, &tl, &vl, &err)) {
                fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
                rc = EXIT_INPUT;
                goto done;
            }
            fprintf(f, "L,%ld,%.6f,%.6f,%.3f\n", it, (double)tl, (double)vl, train_time);
            if (st->mechanism) {
                if (val_positions(m, sp, ds, B, seed, (uint32_t)it, 0x7ffffe00u, xb, yb, pos, pl, mech, mech + L, &err)) {
                    fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
                    rc = EXIT_INPUT;
                    goto done;
                }
                grad_rms(m, it, to.opt.beta2, mech + 2 * L);
                for (int l = 0; l < L; l++) fprintf(f, "M,%ld,%d,%.6f,%.6g\n", it, l, mech[l], mech[2 * L + l]);
                double bins[STUDY_POS_BINS];
                study_pos_bins_of(pos, T, bins);
                fprintf(f, "Q,%ld", it);
                for (int b = 0; b < STUDY_POS_BINS; b++) fprintf(f, ",%.6f", bins[b]);
                fprintf(f, "\n");
            }
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
    if (val_positions(m, sp, ds, B, seed, (uint32_t)st->max_iters, 0x7fffff00u, xb, yb, pos, pl, NULL, NULL, &err)) {
        fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
        rc = EXIT_INPUT;
        goto done;
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
    free(mech);
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
