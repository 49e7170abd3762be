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

/* A command's first step, the same in every command: its options parsed and,
 * with --help, its usage printed ("usage: attndrop NAME LINE" for each line of
 * usage, then about, then the options). Returns CLI_GO to go on, else the exit
 * code to return (0 after --help). */
#define CLI_GO (-1)
int cli_begin(const char *name, const char *usage, const char *about, opt *opts, int n_opts, int argc, char **argv);
#define CLI_N(opts) ((int)(sizeof(opts) / sizeof((opts)[0])))

/* Options several commands share, with one spelling and one range each. */
#define CLI_OPT_THREADS(dst) {"threads", OPT_INT, (dst), 1, ad_max_threads(), "threads (default: all cores)"}
#define CLI_OPT_DEVICE_CPU(dst) {"device", OPT_STR, (dst), 0, 0, "cpu (the default); cuda: only train and study run on the GPU so far"}
/* The model's shape, in train and study: the parser's ranges (ad_config_check
 * holds the model's own limits); the help strings name each command's defaults. */
typedef struct { int batch, block, n_embd, n_head, n_layer; } cli_shape;
#define CLI_OPTS_SHAPE(s, hb, ht, hc, hh, hl)                    \
    {"batch-size", OPT_INT, &(s).batch, 1, 65536, (hb)},         \
    {"block-size", OPT_INT, &(s).block, 1, 8192, (ht)},          \
    {"n-embd", OPT_INT, &(s).n_embd, 1, 65536, (hc)},            \
    {"n-head", OPT_INT, &(s).n_head, 1, 65536, (hh)},            \
    {"n-layer", OPT_INT, &(s).n_layer, 1, 1024, (hl)}

#endif
