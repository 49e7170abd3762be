/* record.h - what a study writes and reads back: one record per run (its
 * first line every setting it was made with) and the timing phase's result. */
#ifndef ATTNDROP_CLI_RECORD_H
#define ATTNDROP_CLI_RECORD_H

#include "grid.h"
#include <stddef.h>

/* A run's record, as read back. */
typedef struct {
    int n_evals;
    long *step;                   /* (n_evals) */
    double *train, *val, *elapsed; /* (n_evals) each */
    double *pos;                  /* (T) final val loss per position */
    unsigned long long *zero, *rows; /* (T) all-zero attention rows met in training, and rows */
    double *sink, *grad;          /* (n_evals, n_layer) mechanism settings only: attention sink, gradient RMS */
    double *qbin;                 /* (n_evals, STUDY_POS_BINS) mechanism settings only: val loss per position bin */
    double seconds;
    int steps;
    int missing;                  /* a placeholder for a run not yet done: every loss NaN, no rows */
} run_rec;

/* Timing phase: seconds per training step of each cell of the first setting. */
typedef struct {
    int n;                        /* cells timed (those of set[0]), 0 if none */
    int rounds, steps;
    double median[STUDY_MAX_CELLS], lo[STUDY_MAX_CELLS], hi[STUDY_MAX_CELLS];
} study_timing;

/* The position bins every comparison is also made in: position 0 (where a row has one weight), 1-3,
 * 4-15 and the second half of the context (T/2 .. T-1); a bin the context does not reach is empty. */
#define STUDY_POS_BINS 4
extern const char *const study_pos_bin_name[STUDY_POS_BINS]; /* "pos0", "pos1-3", "pos4-15", "second-half" */
/* the first and one past the last position of bin b at context T (lo == hi: empty) */
void study_pos_bin(int b, int T, int *lo, int *hi);
/* the mean of per-position values x (T) in each bin (NaN: empty), into out (STUDY_POS_BINS) */
void study_pos_bins_of(const double *x, int T, double *out);

/* DIR/runs/<setting>-<scheme>-<p>-<seed>.csv */
void study_run_path(char *buf, size_t n, const char *dir, const study_spec *sp, const run_key *k);
/* The record's first line: every setting the run depends on. */
void study_run_signature(char *buf, size_t n, const study_spec *sp, const run_key *k);
/* The evaluations a run of the setting makes: every eval_interval steps and at its last step. */
int study_evals_of(const study_setting *st);
/* Reads a record: 1 read (r filled; free with study_rec_free), 0 absent,
 * -1 made with other settings, -2 incomplete, damaged or holding impossible
 * values, -3 not a regular file (a FIFO is never waited on). */
int study_read_run(const char *path, const study_spec *sp, const run_key *k, run_rec *r);
void study_rec_free(run_rec *r);
/* A placeholder for a run not done (losses NaN: a missing seed to the
 * statistics); 0 if out of memory. Free with study_rec_free. */
int study_missing_rec(const study_spec *sp, const run_key *k, run_rec *r);

#endif
