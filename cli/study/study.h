/* study.h - the study command: its command line (study.c), its runs
 * (study_run.c) and their spread over shards and MPI ranks (study_dist.c).
 * The grid is grid.h's, the records record.h's, the report report.h's. */
#ifndef ATTNDROP_CLI_STUDY_H
#define ATTNDROP_CLI_STUDY_H

#include "grid.h"
#include "record.h"
#include <stdio.h>

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
/* Trains one run and writes its record to f; returns an exit code. */
int study_train_record(const study_spec *sp, const ad_dataset *ds, const run_key *k, FILE *f, int run_no,
                       int n_runs, double t_study);
/* Trains one run and writes its record atomically to path; an exit code. */
int study_train_run(const study_spec *sp, const ad_dataset *ds, const run_key *k, const char *path, int run_no,
                    int n_runs, double t_study);
/* Times every cell of set[0] in interleaved rounds, in this process. */
int study_time_cells(const study_spec *sp, const ad_dataset *ds, study_timing *tm);

/* study_dist.c */
/* MPI rank 0: hands out the runs without a record and writes the records the
 * other ranks send back; an exit code. */
int study_mpi_coordinate(const study_spec *sp, const char *out, int n_runs, double t_study);
/* MPI ranks 1..: trains what rank 0 sends until told to stop; an exit code. */
int study_mpi_work(const study_spec *sp, const ad_dataset *ds, int n_runs, double t_study);
#endif
