/* mpi.c - the tool's MPI layer (mpi.h): Open MPI calls when built with
 * MPI=1 (AD_MPI) and started by mpirun; a single process otherwise. */
#include "mpi.h"
#include <stdlib.h>
#include <string.h>
#ifdef AD_MPI
#include <mpi.h>
#include <time.h>
#endif

static int rank, size = 1;

#ifdef AD_MPI
static int joined; /* MPI_Init was called: this process belongs to an mpirun job */

/* Whether a launcher started this process (Open MPI's, or a PMI one such as Slurm's srun). */
static int launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

void cli_mpi_init(int *argc, char ***argv) {
    if (!launched()) return;
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
}

void cli_mpi_finalize(void) {
    if (joined) MPI_Finalize();
    joined = 0;
}

void cli_mpi_abort(int code) {
    if (joined && size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

void cli_mpi_sum(float *x, size_t n) {
    /* in pieces of at most 2^30 floats: MPI counts are int */
    for (size_t i = 0; size > 1 && i < n; i += (size_t)1 << 30) {
        size_t k = n - i < ((size_t)1 << 30) ? n - i : (size_t)1 << 30;
        MPI_Allreduce(MPI_IN_PLACE, x + i, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}

int cli_mpi_max(int v) {
    if (size > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

void cli_mpi_bcast_int(int *v) {
    if (size > 1) MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD);
}

void cli_mpi_bcast_raw(void *buf, size_t n) {
    for (size_t i = 0; size > 1 && i < n; i += (size_t)1 << 30) {
        size_t k = n - i < ((size_t)1 << 30) ? n - i : (size_t)1 << 30;
        MPI_Bcast((char *)buf + i, (int)k, MPI_CHAR, 0, MPI_COMM_WORLD);
    }
}

void cli_mpi_bcast_bytes(char **buf, long *n) {
    if (size == 1) return;
    MPI_Bcast(n, 1, MPI_LONG, 0, MPI_COMM_WORLD);
    if (*n < 0) { if (rank) *buf = NULL; return; }
    if (rank) *buf = malloc((size_t)*n + 1);
    int ok = rank == 0 || *buf != NULL, all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) { if (rank) { free(*buf); *buf = NULL; } *n = -1; return; }
    for (long i = 0; i < *n; i += 1L << 30) {
        long k = *n - i < (1L << 30) ? *n - i : 1L << 30;
        MPI_Bcast(*buf + i, (int)k, MPI_CHAR, 0, MPI_COMM_WORLD);
    }
    if (rank) (*buf)[*n] = '\0';
}

void cli_mpi_send(int to, int tag, const void *buf, size_t n) {
    MPI_Send(buf, (int)n, MPI_CHAR, to, tag, MPI_COMM_WORLD);
}

int cli_mpi_recv(int *from, int *tag, char **buf, size_t *n) {
    MPI_Status st;
    int count, flag = 0;
    /* polls with pauses rather than MPI_Probe's busy wait: rank 0 waits for whole runs, and must not
     * take a core from the ranks that train them */
    struct timespec pause = {0, 2000000};
    for (;;) {
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (flag) break;
        nanosleep(&pause, NULL);
    }
    MPI_Get_count(&st, MPI_CHAR, &count);
    *from = st.MPI_SOURCE;
    *tag = st.MPI_TAG;
    *n = (size_t)count;
    *buf = malloc((size_t)count + 1);
    if (!*buf) return -1;
    MPI_Recv(*buf, count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    (*buf)[count] = '\0';
    return 0;
}

#else /* one process */

void cli_mpi_init(int *argc, char ***argv) { (void)argc; (void)argv; }
void cli_mpi_finalize(void) {}
void cli_mpi_abort(int code) { exit(code); }
void cli_mpi_sum(float *x, size_t n) { (void)x; (void)n; }
int cli_mpi_max(int v) { return v; }
void cli_mpi_bcast_int(int *v) { (void)v; }
void cli_mpi_bcast_raw(void *buf, size_t n) { (void)buf; (void)n; }
void cli_mpi_bcast_bytes(char **buf, long *n) { (void)buf; (void)n; }
void cli_mpi_send(int to, int tag, const void *buf, size_t n) { (void)to; (void)tag; (void)buf; (void)n; }
int cli_mpi_recv(int *from, int *tag, char **buf, size_t *n) {
    (void)from; (void)tag; (void)n;
    *buf = NULL;
    return -1;
}

#endif

int cli_mpi_rank(void) { return rank; }
int cli_mpi_size(void) { return size; }
