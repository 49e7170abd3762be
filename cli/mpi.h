/* mpi.h - the tool's use of MPI (make MPI=1): which process this is, and the
 * few operations train and study need. In the default build, and in an MPI
 * build not started by mpirun, there is one process and every call is
 * trivial. */
#ifndef ATTNDROP_CLI_MPI_H
#define ATTNDROP_CLI_MPI_H

#include <stddef.h>

/* Joins the MPI job when mpirun started this process; call first thing. */
void cli_mpi_init(int *argc, char ***argv);
void cli_mpi_finalize(void);
int cli_mpi_rank(void);
int cli_mpi_size(void);
/* Ends every process of the job with this exit code. */
void cli_mpi_abort(int code);
/* Sums n floats over the processes, in place; the same result on every one. */
void cli_mpi_sum(float *x, size_t n);
/* The largest v over the processes. */
int cli_mpi_max(int v);
/* Rank 0's *v to every process. */
void cli_mpi_bcast_int(int *v);
/* Rank 0's n bytes at buf to every process's buf. */
void cli_mpi_bcast_raw(void *buf, size_t n);
/* Rank 0's n bytes to every process: on the others *buf is allocated (free()
 * it) and *n set; an n of -1 on rank 0 says it has nothing (then *buf NULL). */
void cli_mpi_bcast_bytes(char **buf, long *n);
/* Point to point, for the study's runs: a message of n bytes with a tag. */
void cli_mpi_send(int to, int tag, const void *buf, size_t n);
/* The next message from any process: its sender, tag and bytes (allocated,
 * NUL-terminated; free() it). 0 on success, -1 if out of memory. */
int cli_mpi_recv(int *from, int *tag, char **buf, size_t *n);

#endif
