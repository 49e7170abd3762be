/* report.h - a study's report: report.c reads the run records, analyses them
 * (report_data.h) and writes the CSVs, the plot data and report.md (the
 * sections of report_parts.h); study_plots.c draws the plots. */
#ifndef ATTNDROP_CLI_REPORT_H
#define ATTNDROP_CLI_REPORT_H

#include "grid.h"
#include "record.h"

/* report.c: reads DIR/runs/ and writes the CSVs, plots and report.md.
 * With allow_missing, a run not recorded yet is a missing seed (its losses
 * NaN) and the report says how many there are. Returns an exit code. */
int study_report(const char *dir, const study_spec *sp, const study_timing *tm, int allow_missing);
/* study_plots.c: draws the plots from DIR/plots/<name>.*.dat with the static
 * script; 1 if gnuplot succeeded. `flags` is one word per setting or scaling
 * axis, "name:letters" (c curves, f forest, e position effects, z zero rows,
 * s an axis of the scaling grid). */
int study_draw_plots(const char *dir, double margin, const char *settings_words);

#endif
