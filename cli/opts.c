/* opts.c - the command-line tool's option parser: --name VALUE or
 * --name=VALUE, strict numbers with ranges, one-line errors. */
#include "opts.h"
#include "attndrop.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cli_prog = "attndrop";
FILE *cli_err_stream;

int cli_die_usage(const char *cmd, const char *fmt, ...) {
    FILE *f = cli_err_stream ? cli_err_stream : stderr;
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "%s: ", cli_prog);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fprintf(f, " (see '%s %s--help')\n", cli_prog, cmd ? cmd : "");
    return EXIT_USAGE;
}

/* The options the last parse_opts saw on the command line. */
static const void *given_dst[64];
static int n_given;
int cli_opt_given(const void *dst) {
    for (int i = 0; i < n_given; i++)
        if (given_dst[i] == dst) return 1;
    return 0;
}

int cli_parse_opts(const char *cmd, opt *opts, int n_opts, int argc, char **argv, int *help) {
    *help = 0;
    n_given = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { *help = 1; return 0; }
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        opt *o = NULL;
        for (int k = 0; k < n_opts; k++)
            if (strncmp(a, "--", 2) == 0 && strlen(opts[k].name) == nlen - 2 && strncmp(a + 2, opts[k].name, nlen - 2) == 0)
                o = &opts[k];
        if (!o) return cli_die_usage(cmd, "unknown option '%.*s'", (int)nlen, a);
        if (n_given < 64) given_dst[n_given++] = o->dst;
        if (o->type == OPT_FLAG) {
            if (eq) return cli_die_usage(cmd, "--%s takes no value", o->name);
            *(int *)o->dst = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return cli_die_usage(cmd, "--%s needs a value", o->name);
        if (o->type == OPT_STR) {
            if (!*v) return cli_die_usage(cmd, "--%s needs a non-empty value", o->name);
            *(const char **)o->dst = v;
            continue;
        }
        char *end;
        errno = 0;
        if (o->type == OPT_FLOAT) {
            /* a decimal number as written: no leading space, no hexadecimal, no inf or nan (strtod takes them all) */
            int plain = strspn(v, "+-.0123456789eE") == strlen(v) && *v && strpbrk(v, "0123456789");
            double d = plain ? strtod(v, &end) : 0.0;
            if (!plain || end == v || *end || errno == ERANGE || !isfinite(d))
                return cli_die_usage(cmd, "--%s: '%s' is not a number", o->name, v);
            if (!(d >= o->lo && d <= o->hi))
                return cli_die_usage(cmd, "--%s: %s is out of range [%g, %g]", o->name, v, o->lo, o->hi);
            *(double *)o->dst = d;
        } else {
            if (*v == '-' && o->lo >= 0) return cli_die_usage(cmd, "--%s: '%s' must not be negative", o->name, v);
            uint64_t u;
            if (!ad_parse_uint(v, UINT64_MAX, &u))
                return cli_die_usage(cmd, "--%s: '%s' is not a whole number in range", o->name, v);
            if (o->type == OPT_U64) {
                *(uint64_t *)o->dst = u;
            } else {
                if (!((double)u >= o->lo && (double)u <= o->hi))
                    return cli_die_usage(cmd, "--%s: %s is out of range [%.0f, %.0f]", o->name, v, o->lo, o->hi);
                *(int *)o->dst = (int)u;
            }
        }
    }
    return 0;
}

void cli_print_opts(const opt *opts, int n) {
    for (int k = 0; k < n; k++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s", opts[k].name,
                 opts[k].type == OPT_FLAG ? "" : opts[k].type == OPT_STR ? " S" : " N");
        printf("  %-22s %s\n", left, opts[k].help);
    }
}

int cli_begin(const char *name, const char *usage, const char *about, opt *opts, int n_opts, int argc, char **argv) {
    char cmd[64];
    int help, rc;
    snprintf(cmd, sizeof cmd, "%s ", name);
    if ((rc = cli_parse_opts(cmd, opts, n_opts, argc, argv, &help))) return rc;
    if (!help) return CLI_GO;
    for (const char *line = usage, *first = usage; line; first = NULL) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        printf("%s %s %s%s%.*s\n", first ? "usage:" : "      ", cli_prog, name, len ? " " : "", len, line);
        line = nl ? nl + 1 : NULL;
    }
    printf("\n%s\n", about);
    if (n_opts) {
        printf("\noptions:\n");
        cli_print_opts(opts, n_opts);
    }
    return 0;
}
