/* study.h - the study command (study.c) and its report (report.c). */
#ifndef ATTNDROP_CLI_STUDY_H
#define ATTNDROP_CLI_STUDY_H

#define STUDY_MAX_TASKS 4
#define STUDY_MAX_CELLS 64

/* What a study trains: tasks x cells (scheme, p) x seeds, each run with the
 * same model and schedule. */
typedef struct {
    int full;
    int n_tasks;
    char task_names[STUDY_MAX_TASKS][16];
    int task_ids[STUDY_MAX_TASKS];      /* ad_task, or -1 for the --data text */
    double floor[STUDY_MAX_TASKS];      /* exact entropy rate, NaN if unknown */
    char data_path[1024];
    int n_cells;
    int cell_scheme[STUDY_MAX_CELLS];
    double cell_p[STUDY_MAX_CELLS];
    int seeds, max_iters, eval_interval, eval_iters;
    int batch_size, block_size, n_embd, n_head, n_layer;
    double lr;
} study_spec;

int cmd_study(int argc, char **argv);
/* Reads DIR/runs/ and writes runs.csv, positions.csv, zero_rows.csv,
 * summary.csv, the plots and report.md. Returns an exit code. */
int study_report(const char *dir, const study_spec *sp);

#endif
