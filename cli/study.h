/* study.h - the study command: its grid (study.c), its runs and their
 * records (study_run.c), the analysis and report (report.c) and the plots
 * (study_plots.c, drawn by the static script cli/study.gp). */
#ifndef ATTNDROP_CLI_STUDY_H
#define ATTNDROP_CLI_STUDY_H

#include "attndrop.h"
#include <stddef.h>
#include <stdio.h>

#define STUDY_MAX_SETTINGS 16
#define STUDY_MAX_CELLS 128
#define STUDY_MAX_SEEDS 64
#define STUDY_TEXT_CHARS 200000 /* characters of a built-in task's text */

/* What a setting is for in the report's answers. */
typedef enum {
    ROLE_RICH = 0, /* more data than the model can memorise: the primary comparisons */
    ROLE_SMALL,    /* a small training set and a long run: the regime where dropout helps */
    ROLE_SHAPE,    /* another model shape (one head, one layer): question 4 */
    ROLE_SCALE     /* a point on an axis of the scaling grid (context, heads, layers) */
} study_role;

/* One setting of the grid: a text, a model shape and a schedule, with the
 * (scheme, p) cells trained on it, each over seeds 1..seeds. */
typedef struct {
    char name[32];        /* "markov", "markov-small", "text-h1l1"...: [a-z0-9-] only */
    int task;             /* ad_task, or -1 for the --data text */
    study_role role;
    long train_chars;     /* 0: the whole training split, else its first train_chars tokens */
    int batch_size, block_size, n_embd; /* B, T, C: the study's unless the grid sets its own */
    int n_head, n_layer, max_iters, eval_interval, seeds;
    double lr;
    int n_cells;
    int cell_scheme[STUDY_MAX_CELLS];
    double cell_p[STUDY_MAX_CELLS];
    /* from the data, filled before training */
    double floor;         /* exact entropy rate; NaN for a text */
    double unigram;       /* entropy of the whole text's characters */
    double bigram;        /* val loss of an add-1/2 bigram model fitted to the training split */
    long n_train, n_val;
    int vocab;
    unsigned long long data_hash; /* FNV-1a of the token ids of both splits */
} study_setting;

typedef struct {
    char grid[16];        /* quick, medium, full, scale or custom */
    int n_set;
    study_setting set[STUDY_MAX_SETTINGS];
    int batch_size, block_size, n_embd, eval_iters; /* the settings' defaults (B, T, C) */
    double margin;        /* the smallest effect that matters, in nats */
    int timing_rounds;    /* rounds of the timing phase (0: none) */
    int scale_base;       /* the setting the scaling axes pass through (ROLE_SCALE settings only) */
    int jobs;
    int shard, n_shards;  /* --shard K/N: only the runs of slice K (n_shards 0: all) */
    char data_path[1024];
    const char *data_text; /* the --data file's bytes when they came over MPI (NULL: read data_path) */
    long data_len;
} study_spec;

/* One run: setting, cell and seed (1-based). */
typedef struct { int set, cell, seed; } run_key;

/* A run's record, as read back. */
typedef struct {
    int n_evals;
    long *step;                   /* (n_evals) */
    double *train, *val, *elapsed; /* (n_evals) each */
    double *pos;                  /* (T) final val loss per position */
    unsigned long long *zero, *rows; /* (T) all-zero attention rows met in training, and rows */
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

/* What the command line asks of a study besides its grid. */
typedef struct {
    int help, threads, overwrite;
    int report_only;      /* no training: the report from the records there are */
    const char *out;
} study_cmd;
/* Parses the study's command line into its grid (no data read, nothing
 * written); 0, or the exit code after one line on stderr. */
int study_parse(int argc, char **argv, study_spec *sp, study_cmd *cmd);

/* study_run.c */
/* DIR/runs/<setting>-<scheme>-<p>-<seed>.csv */
void study_run_path(char *buf, size_t n, const char *dir, const study_spec *sp, const run_key *k);
/* The record's first line: every setting the run depends on. */
void study_run_signature(char *buf, size_t n, const study_spec *sp, const run_key *k);
/* Reads a record: 1 read (r filled; free with study_rec_free), 0 absent,
 * -1 made with other settings, -2 incomplete, damaged or holding impossible
 * values, -3 not a regular file (a FIFO is never waited on). */
int study_read_run(const char *path, const study_spec *sp, const run_key *k, run_rec *r);
void study_rec_free(run_rec *r);
/* Trains one run and writes its record to f; returns an exit code. */
int study_train_record(const study_spec *sp, const ad_dataset *ds, const run_key *k, FILE *f, int run_no,
                       int n_runs, double t_study);
/* Trains one run and writes its record atomically to path; an exit code. */
int study_train_run(const study_spec *sp, const ad_dataset *ds, const run_key *k, const char *path, int run_no,
                    int n_runs, double t_study);
/* A placeholder for a run not done (losses NaN: a missing seed to the
 * statistics); 0 if out of memory. Free with study_rec_free. */
int study_missing_rec(const study_spec *sp, const run_key *k, run_rec *r);
/* The cell of (scheme, p) in a setting (the baseline has no p), or -1. */
int study_find_cell(const study_setting *st, int scheme, double p);
/* Times every cell of set[0] in interleaved rounds, in this process. */
int study_time_cells(const study_spec *sp, const ad_dataset *ds, study_timing *tm);

/* study_dist.c */
/* The key of run number run_no (0-based, in grid order: settings, cells, seeds). */
run_key study_run_key(const study_spec *sp, int run_no);
/* Whether run run_no belongs to shard K of N (K from 1; N <= 1: every run). */
int study_in_shard(int run_no, int shard, int n_shards);
/* MPI rank 0: hands out the runs without a record and writes the records the
 * other ranks send back; an exit code. */
int study_mpi_coordinate(const study_spec *sp, const char *out, int n_runs, double t_study);
/* MPI ranks 1..: trains what rank 0 sends until told to stop; an exit code. */
int study_mpi_work(const study_spec *sp, const ad_dataset *ds, int n_runs, double t_study);

/* report.c: reads DIR/runs/ and writes the CSVs, plots and report.md.
 * With allow_missing, a run not recorded yet is a missing seed (its losses
 * NaN) and the report says how many there are. Returns an exit code. */
int study_report(const char *dir, const study_spec *sp, const study_timing *tm, int allow_missing);

/* study_plots.c: draws the plots from DIR/plots/<setting>.*.dat with the
 * static script; 1 if gnuplot succeeded. `flags` is one word per setting,
 * "name:letters" (c curves, f forest, e position effects, z zero rows). */
int study_draw_plots(const char *dir, double margin, const char *settings_words);

/* a label for a cell: "standard p=0.2", "none" */
void study_cell_label(char *buf, size_t n, int scheme, double p);

#endif
