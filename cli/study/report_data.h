/* report_data.h - what every part of a study's report reads (report_data.c):
 * the analysed study (rdata: the records, each setting's baseline and
 * whether it was learned, the paired comparisons), lookups, the statistics'
 * one-line descriptions, and the atomic writing of the report's files. */
#ifndef ATTNDROP_CLI_REPORT_DATA_H
#define ATTNDROP_CLI_REPORT_DATA_H

#include "grid.h"
#include "record.h"
#include <stdio.h>

/* One paired comparison: a cell against its baseline in the same setting. */
typedef struct {
    int set, cell, base;
    ad_effect e;                 /* final val loss */
    ad_effect early, late;       /* val loss at positions 0-3 pooled, and at the others */
    ad_effect bin[STUDY_POS_BINS]; /* val loss in each position bin (study_pos_bin) */
    ad_ratio cost;               /* a cell against the reference: its difference over the reference's cost,
                                  * (cell - reference) / (reference - none), paired; NaN otherwise */
    ad_effect *pos;              /* (T) per position */
} eff_row;

typedef struct {
    const study_spec *sp;
    const study_timing *tm;
    run_rec *runs;
    int base[STUDY_MAX_SETTINGS]; /* the first run of each setting */
    int none[STUDY_MAX_SETTINGS];
    int learned[STUDY_MAX_SETTINGS];
    double criterion[STUDY_MAX_SETTINGS], thr[STUDY_MAX_SETTINGS];
    eff_row *eff;
    int n_eff;
    ad_effect *pos_mem;
    int plotted;
    int allow_missing, n_missing; /* --report-only: runs not done yet count as missing seeds */
    int s_base, s_ref, s_ctl;    /* the baseline, reference and control schemes (the table's study flags) */
} rdata;

static inline const char *sname(int scheme) { return ad_scheme_get((ad_scheme)scheme)->name; }

/* run seed0 (from 0) of a cell of a setting */
run_rec *report_run(const rdata *d, int set, int cell, int seed0);
/* The seeds of a cell with a record (all of them unless --report-only). */
int report_seeds_present(const rdata *d, int set, int cell);
/* the comparison of the cell of (scheme, p) in a setting, or NULL */
const eff_row *report_find_eff(const rdata *d, int set, int scheme, double p);
/* mean and 95% interval of n values (NaN: missing) */
ad_effect report_describe(const double *x, int n);
/* a run's last val loss */
double report_final_val(const run_rec *r);
/* "+0.0123 ± 0.0045" (or "+0.0123" with one seed) */
void report_fmt_pm(char *buf, size_t n, double mean, double ci, int digits);
/* "+0.0123 ± 0.0045 nats (8 seeds): **worse**" and, if inconclusive, the seeds that would settle it; a
 * verdict of better or worse whose mean lies within the margin says so */
void report_fmt_effect(char *buf, size_t n, const ad_effect *e, int learned, double margin);
/* per seed, the step of the first evaluation at or below the setting's threshold (NaN: never) */
void report_steps_to(const rdata *d, int set, int cell, double *out);
/* the share of dropout's benefit a cell keeps: (baseline - cell) / (baseline - reference at its p) */
ad_ratio report_benefit(const rdata *d, int set, int cell, int *std_cell);
/* what a setting's role is for, in words, and as settings.csv names it */
const char *report_role_text(study_role r);
const char *report_role_name(study_role r);
/* the verdict's name, "better (below the margin)" where better or worse by less than the margin */
const char *report_verdict_text(const ad_effect *e, double margin);
/* Writes DIR/NAME atomically with w (a failed write leaves the file there before, if any); an exit code. */
typedef void (*report_writer)(FILE *f, const rdata *d);
int report_write_file(const char *dir, const char *name, report_writer w, const rdata *d);
/* The same in two steps, for a writer of its own: DIR/NAME opened (path filled, n bytes), then committed;
 * each 0, or the exit code after one line (the temporary file removed). */
int report_open_file(ad_atomic_file *af, char *path, size_t n, const char *dir, const char *name);
int report_commit_file(ad_atomic_file *af, const char *path);
#endif
