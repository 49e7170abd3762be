/* opts.h - the command-line tool's option parser, shared by its commands
 * and by the fuzzing harness of fuzz/. */
#ifndef ATTNDROP_CLI_OPTS_H
#define ATTNDROP_CLI_OPTS_H

#define EXIT_USAGE 1
#define EXIT_INPUT 2
#define EXIT_NUMERIC 3

#include <stdio.h>

extern const char *cli_prog;
extern FILE *cli_err_stream;  /* where usage errors go (NULL: stderr) */

typedef enum { OPT_INT, OPT_FLOAT, OPT_U64, OPT_STR, OPT_FLAG } opt_type;
typedef struct {
    const char *name;
    opt_type type;
    void *dst;         /* int, double, uint64_t, const char * or int (flag) */
    double lo, hi;     /* inclusive range for numbers */
    const char *help;
} opt;

/* Prints "attndrop: <message> (see 'attndrop CMD--help')" and returns EXIT_USAGE. */
int cli_die_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses argv into the options' destinations; 0 on success (or *help set),
 * else the exit code after printing one line. */
int cli_parse_opts(const char *cmd, opt *opts, int n_opts, int argc, char **argv, int *help);
void cli_print_opts(const opt *opts, int n);
/* Whether the last cli_parse_opts saw the option whose destination is dst. */
int cli_opt_given(const void *dst);

#endif
