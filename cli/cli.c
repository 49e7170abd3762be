/* cli.c - what the command-line tool's commands share: one-line messages and
 * exit codes from the library's statuses, and the clock. */
#include "cli.h"
#include <stdio.h>
#include <time.h>

int cli_die_status(const ad_error *e, const char *hint) {
    fprintf(stderr, "%s: %s%s%s\n", cli_prog, e->msg, hint ? "; " : "", hint ? hint : "");
    return e->status == AD_ERR_NUMERIC ? EXIT_NUMERIC : e->status == AD_ERR_ARG ? EXIT_USAGE : EXIT_INPUT;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
