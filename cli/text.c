/* text.c - the text command: a built-in task's text, or its entropy rate. */
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_text(int argc, char **argv) {
    const char *task = "markov";
    int chars = 200000, entropy = 0;
    uint64_t seed = 1337;
    opt opts[] = {
        {"task", OPT_STR, &task, 0, 0, "built-in task: markov (the default), copy, recall"},
        {"task-chars", OPT_INT, &chars, 1, 1000000000, "characters to write (200000)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed that fixes the chain and the text (1337)"},
        {"entropy", OPT_FLAG, &entropy, 0, 0, "print the task's exact entropy rate (nats/char) instead"},
    };
    int rc = cli_begin("text", "[--task markov|copy|recall] [options]",
                       "Writes a built-in task's text to stdout, exactly as 'train --task' uses it,\nso that other tools can "
                       "train on the same data.", opts, CLI_N(opts), argc, argv);
    if (rc != CLI_GO) return rc;
    int task_id = ad_task_lookup(task);
    if (task_id < 0) return cli_die_usage("text ", "unknown task '%s' (known: markov, copy, recall)", task);
    if (entropy) {
        double h = ad_task_entropy((ad_task)task_id, seed);
        if (!isfinite(h)) { fprintf(stderr, "%s: out of memory\n", cli_prog); return EXIT_INPUT; }
        printf("%.6f\n", h);
        return 0;
    }
    char *text = ad_task_text((ad_task)task_id, seed, (size_t)chars);
    if (!text) { fprintf(stderr, "%s: out of memory\n", cli_prog); return EXIT_INPUT; }
    fwrite(text, 1, strlen(text), stdout);
    free(text);
    if (fflush(stdout) != 0) { fprintf(stderr, "%s: cannot write: %s\n", cli_prog, strerror(errno)); return EXIT_INPUT; }
    return 0;
}
