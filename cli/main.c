/* main.c - the attndrop command-line tool: dispatches to its commands, one
 * file each. The tool uses only the public header; every failure is one line
 * on stderr and a non-zero exit (1: bad usage, 2: bad input or I/O, 3:
 * numerical failure). */
#include "cli.h"
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: %s COMMAND [options]\n\n"
            "attndrop %s: gpt.py's character-level GPT on the CPU, for studying attention dropout.\n\n"
            "commands:\n"
            "  study    the main job: train the schemes side by side and write a report\n"
            "  train    train a model on a text file or a built-in task\n"
            "  sample   generate text from a checkpoint\n"
            "  eval     train and val loss of a checkpoint on a text file\n"
            "  text     write a built-in task's text (or its entropy rate)\n"
            "  schemes  list the attention-dropout schemes\n"
            "  stats    what a scheme does to attention rows: exact and Monte Carlo\n"
            "  demo     the source's toy: dropout on a small causal matrix, zero rows marked\n\n"
            "'%s COMMAND --help' lists a command's options.\n",
            cli_prog, AD_VERSION, cli_prog);
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return EXIT_USAGE; }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) { usage(stdout); return 0; }
    if (strcmp(cmd, "--version") == 0) { printf("attndrop %s\n", AD_VERSION); return 0; }
    if (strcmp(cmd, "train") == 0) return cmd_train(argc - 2, argv + 2);
    if (strcmp(cmd, "sample") == 0) return cmd_sample(argc - 2, argv + 2);
    if (strcmp(cmd, "eval") == 0) return cmd_eval(argc - 2, argv + 2);
    if (strcmp(cmd, "text") == 0) return cmd_text(argc - 2, argv + 2);
    if (strcmp(cmd, "schemes") == 0) return cmd_schemes(argc - 2, argv + 2);
    if (strcmp(cmd, "stats") == 0) return cmd_stats(argc - 2, argv + 2);
    if (strcmp(cmd, "demo") == 0) return cmd_demo(argc - 2, argv + 2);
    if (strcmp(cmd, "study") == 0) return cmd_study(argc - 2, argv + 2);
    return cli_die_usage(NULL, "unknown command '%s'", cmd);
}
