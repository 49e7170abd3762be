/* cli.h - what the command-line tool's commands share: one entry point per
 * command (each in its own file), exit codes from statuses, the clock. */
#ifndef ATTNDROP_CLI_H
#define ATTNDROP_CLI_H

#include "attndrop.h"
#include "opts.h"

/* The commands: argc and argv after the command's name; an exit code. */
int cmd_train(int argc, char **argv);   /* train.c */
int cmd_sample(int argc, char **argv);  /* sample.c */
int cmd_eval(int argc, char **argv);    /* eval.c */
int cmd_text(int argc, char **argv);    /* text.c */
int cmd_schemes(int argc, char **argv); /* schemes.c */
int cmd_stats(int argc, char **argv);   /* schemes.c */
int cmd_demo(int argc, char **argv);    /* schemes.c */
int cmd_study(int argc, char **argv);   /* study.c */

/* Prints "attndrop: <e->msg>[; hint]" and returns the exit code of e's
 * status: EXIT_NUMERIC, EXIT_USAGE for a bad argument, else EXIT_INPUT. */
int cli_die_status(const ad_error *e, const char *hint);
/* --device NAME of command cmd ("train "): 0 if it can run there (the CPU;
 * the GPU where the build and machine have one and the command, gpu_ok, runs
 * on it), *device (may be NULL) set to it; otherwise one line on stderr saying
 * why not, and the exit code. */
int cli_check_device(const char *cmd, const char *name, int gpu_ok, int *device);
/* fopen(path, "r") of a regular file only: a FIFO, a device or a directory
 * is NULL with errno EINVAL, never waited on (opened without blocking, then
 * checked). NULL with errno ENOENT where it is absent. */
FILE *cli_fopen_regular(const char *path);
/* The same for writing (created if absent; truncated, or appended to where
 * append): a FIFO or a device is NULL with errno EINVAL, never waited on. */
FILE *cli_fopen_write_regular(const char *path, int append);
/* Seconds on the monotonic clock. */
double cli_now(void);

#endif
