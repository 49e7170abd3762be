/* report_parts.h - the sections of a study's report, each built on
 * report_data.h alone: the scaling axes (report_scale.c), the settings
 * measured at gpt.py's shape (report_gptpy.c) and report.md, which uses both
 * (report_text.c). report.c calls them once the analysis is done. */
#ifndef ATTNDROP_CLI_REPORT_PARTS_H
#define ATTNDROP_CLI_REPORT_PARTS_H

#include "report_data.h"

/* report_scale.c: the scaling grid's CSVs and plot data (words gets "axis:s" per axis); an exit code */
int report_scale_files(const char *dir, const rdata *d, char *words, size_t words_n);
/* whether the grid has the scaling axes */
int report_is_scale(const rdata *d);
/* the scaling answers of "In short", and the scaling section */
void report_scale_short(FILE *f, const rdata *d);
void report_scale_text(FILE *f, const rdata *d);
/* report_gptpy.c: the settings measured at gpt.py's shape and regime (corner, long, sweep, regime, gptpy):
 * steps.csv and mechanism.csv (an exit code), whether the grid has any, its lines of "In short" and its section */
int report_gptpy_files(const char *dir, const rdata *d);
/* plots/<setting>.steps.dat: the paired differences against the step, one block per comparison; its blocks */
int report_gptpy_plot_steps(FILE *f, const rdata *d, int set);
int report_has_gptpy(const rdata *d);
void report_gptpy_short(FILE *f, const rdata *d);
void report_gptpy_text(FILE *f, const rdata *d);
/* report.md (report_text.c) */
void report_write_text(FILE *f, const rdata *d);


#endif
