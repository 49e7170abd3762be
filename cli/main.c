/* main.c - the attndrop command-line tool: dispatches to its commands, one
 * file each. The tool uses only the public header; every failure is one line
 * on stderr and a non-zero exit (1: bad usage, 2: bad input or I/O, 3:
 * numerical failure). */
#include "cli.h"
#include "mpi.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    int threads; /* runs OpenMP's parallel loops (the model): OMP_NUM_THREADS must fit the machine */
} commands[] = {
    {"train", cmd_train, 1}, {"sample", cmd_sample, 1}, {"eval", cmd_eval, 1}, {"text", cmd_text, 0},
    {"schemes", cmd_schemes, 0}, {"stats", cmd_stats, 0}, {"demo", cmd_demo, 0}, {"study", cmd_study, 1},
};

/* OpenMP's idle threads busy-wait before they sleep: 300,000 spins by default in libgomp. On a
 * machine another process also uses (a second run, the study's workers), a thread that spins
 * takes the core from one that works, and a 2-thread run went 4x slower than a 1-thread one.
 * libgomp reads its settings once, as it loads, so unless the user chose (GOMP_SPINCOUNT or
 * OMP_WAIT_POLICY), the tool asks for the short spin libgomp itself uses when it has more
 * threads than cores, and starts itself again. If that fails it goes on as it is. */
static void short_spin(char **argv) {
#ifdef _OPENMP
    if (getenv("GOMP_SPINCOUNT") || getenv("OMP_WAIT_POLICY")) return;
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
    execv("/proc/self/exe", argv);
#else
    (void)argv;
#endif
}

/* What a command wrote to standard output reached it whole, or the command fails with one line: a full
 * disk, /dev/full or a closed pipe must not leave a cut file behind an exit status of 0. */
static int check_stdout(int rc) {
    errno = 0;
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (fclose(stdout) != 0 && !bad) { bad = 1; e = errno; }
    if (!bad || rc) return rc; /* a command that failed has said why */
    fprintf(stderr, "%s: cannot write the output: %s\n", cli_prog, e ? strerror(e) : "write error");
    return rc ? rc : EXIT_INPUT;
}

int main(int argc, char **argv) {
    short_spin(argv);
    if (argc < 2) { usage(stderr); return EXIT_USAGE; }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) { usage(stdout); return check_stdout(0); }
    if (strcmp(cmd, "--version") == 0) {
        const char *core = ad_blas_core();
        printf("attndrop %s\n", AD_VERSION);
        if (core) printf("OpenBLAS kernels: %s\n", core);
        return check_stdout(0);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) != 0) continue;
        if (commands[i].threads && ad_get_threads() > ad_max_threads()) /* before any parallel loop: libgomp fails inside one */
        {
            fprintf(stderr, "%s: OMP_NUM_THREADS asks for %d threads; at most %d run on this machine (%d per core)\n",
                    cli_prog, ad_get_threads(), ad_max_threads(), AD_THREADS_PER_CORE);
            return EXIT_USAGE;
        }
        cli_mpi_init(&argc, &argv); /* under mpirun (an MPI build), this process joins the job */
        const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        long cores = sysconf(_SC_NPROCESSORS_ONLN), ranks_here = local ? atol(local) : 1;
        if (cli_mpi_size() > 1 && !getenv("OMP_NUM_THREADS") && ranks_here > 0) /* the cores shared by this node's ranks */
            ad_set_threads(cores / ranks_here > 1 ? (int)(cores / ranks_here) : 1);
        if (cli_mpi_rank() > 0) cli_err_stream = fopen("/dev/null", "w"); /* rank 0 alone reports bad usage */
        int rc = commands[i].run(argc - 2, argv + 2);
        rc = check_stdout(rc);
        /* a rank that failed alone ends the job, so that none waits for it forever; bad usage and a
         * stop signal end every rank at the same point */
        if (rc && rc != EXIT_USAGE && rc < 128 && cli_mpi_size() > 1) cli_mpi_abort(rc);
        cli_mpi_finalize();
        return rc;
    }
    return cli_die_usage(NULL, "unknown command '%s'", cmd);
}
