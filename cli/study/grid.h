/* grid.h - a study's grid: its settings (a text, a model shape, a schedule)
 * with their (scheme, p) cells and seeds, the run keys, and the preset grids.
 * What the study command (study.c), the runs (study_run.c, record.c) and the
 * report (report*.c) all read; it depends on none of them. */
#ifndef ATTNDROP_CLI_GRID_H
#define ATTNDROP_CLI_GRID_H

#include "attndrop.h"
#include <stddef.h>

#define STUDY_MAX_SETTINGS 16
#define STUDY_MAX_CELLS 128
#define STUDY_MAX_SEEDS 64
#define STUDY_TEXT_CHARS 200000 /* characters of a built-in task's text */

/* What a setting is for in the report's answers. */
typedef enum {
    ROLE_RICH = 0, /* more data than the model can memorise: the primary comparisons */
    ROLE_SMALL,    /* a small training set and a long run: the regime where dropout helps */
    ROLE_SHAPE,    /* another model shape (one head, one layer): question 4 */
    ROLE_SCALE,    /* a point on an axis of the scaling grid (context, heads, layers) */
    ROLE_CORNER,   /* gpt.py's T, H and L at the scaling grid's width and batch: measured, not predicted */
    ROLE_LONG,     /* a scaling setting trained 4x longer: the effects against the step */
    ROLE_SWEEP,    /* the base setting at more rates: the effects against p */
    ROLE_REGIME,   /* gpt.py's regime: the --data text cut so that dropout helps, dropout at all three sites */
    ROLE_GPTPY     /* gpt.py exactly (`study --gptpy`): its shape, schedule and dropout */
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
    double dropout;       /* after the projection and the FFN in every cell but the baseline (0: attention only) */
    int mechanism;        /* its records hold, at each evaluation, the attention sink and gradient RMS per layer */
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
    char grid[16];        /* quick, medium, full, scale, gptpy or custom */
    int n_set;
    study_setting set[STUDY_MAX_SETTINGS];
    int eval_iters;
    double margin;        /* the smallest effect that matters, in nats */
    int timing_rounds;    /* rounds of the timing phase (0: none) */
    int scale_base;       /* the setting the scaling axes pass through (ROLE_SCALE settings only) */
    int jobs;
    int device;           /* ad_device every run trains on (the timing phase too) */
    int shard, n_shards;  /* --shard K/N: only the runs of slice K (n_shards 0: all) */
    char data_path[1024];
    const char *data_text; /* the --data file's bytes when they came over MPI (NULL: read data_path) */
    long data_len;
} study_spec;

/* One run: setting, cell and seed (1-based). */
typedef struct { int set, cell, seed; } run_key;

/* Fills sp with a preset grid: quick, medium, full, scale or gptpy (with_text: the --data text's settings
 * too; gptpy needs it). B, T and C stay 0 where the study's options decide them. */
void grid_preset(study_spec *sp, const char *grid, int with_text);
/* The custom grid of --task/--schemes/--p; 0, or the exit code after one line. */
int grid_custom(study_spec *sp, const char *tasks, const char *schemes, const char *ps, int with_text, long train_chars);
/* The cell of (scheme, p) in a setting (the baseline has no p), or -1. */
int study_find_cell(const study_setting *st, int scheme, double p);
/* The runs of the grid: settings x cells x seeds. */
int study_total_runs(const study_spec *sp);
/* The key of run number run_no (0-based, in grid order: settings, cells, seeds). */
run_key study_run_key(const study_spec *sp, int run_no);
/* Whether run run_no belongs to shard K of N (K from 1; N <= 1: every run). */
int study_in_shard(int run_no, int shard, int n_shards);
/* a label for a cell: "standard p=0.2", "none" */
void study_cell_label(char *buf, size_t n, int scheme, double p);

#endif
