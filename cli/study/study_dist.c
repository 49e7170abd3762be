/* study_dist.c - a study's runs spread beyond the forked workers of one
 * machine: fixed shards of the grid (--shard K/N, for job arrays, GNU
 * parallel or a plain loop, merged by --report-only), and MPI ranks (rank 0
 * hands out the runs not yet recorded, largest first, to the ranks that are
 * free, and writes every record they send back: no shared filesystem). */
#include "study.h"
#include "../cli.h"
#include "../mpi.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { TAG_JOB = 1, TAG_STOP = 2, TAG_RECORD = 3, TAG_FAILED = 4 };

/* the relative cost of a run: steps times layers */
static long run_cost(const study_spec *sp, int run_no) {
    run_key k = study_run_key(sp, run_no);
    return (long)sp->set[k.set].max_iters * sp->set[k.set].n_layer;
}

static void send_job(int to, int run_no) {
    char msg[16];
    int n = snprintf(msg, sizeof msg, "%d", run_no);
    cli_mpi_send(to, TAG_JOB, msg, (size_t)n);
}

/* Rank 0: hands out the runs that have no record, largest first, one to each
 * free rank, and writes each record it receives; an exit code. */
int study_mpi_coordinate(const study_spec *sp, const char *out, int n_runs, double t_study) {
    int *pend = malloc((size_t)n_runs * sizeof *pend), np = 0, next = 0, busy = 0, rc = 0, done = 0;
    long left = 0, finished = 0;
    char path[4096];
    if (!pend) { fprintf(stderr, "%s: out of memory\n", cli_prog); return EXIT_INPUT; }
    for (int r = 0; r < n_runs; r++) {
        run_key k = study_run_key(sp, r);
        study_run_path(path, sizeof path, out, sp, &k);
        if (access(path, F_OK) != 0) { pend[np++] = r; left += run_cost(sp, r); }
    }
    for (int i = 1; i < np; i++) /* largest first, then in grid order */
        for (int j = i; j > 0 && run_cost(sp, pend[j]) > run_cost(sp, pend[j - 1]); j--) {
            int t = pend[j]; pend[j] = pend[j - 1]; pend[j - 1] = t;
        }
    for (int w = 1; w < cli_mpi_size(); w++) {
        if (next < np) { send_job(w, pend[next++]); busy++; }
        else cli_mpi_send(w, TAG_STOP, "", 0);
    }
    while (busy > 0) {
        int from, tag, run_no = -1;
        char *buf;
        size_t n;
        if (cli_mpi_recv(&from, &tag, &buf, &n)) { fprintf(stderr, "%s: out of memory\n", cli_prog); cli_mpi_abort(EXIT_INPUT); }
        busy--;
        char *body = buf ? strchr(buf, '\n') : NULL;
        if (tag == TAG_RECORD && body && sscanf(buf, "R,%d", &run_no) == 1 && run_no >= 0 && run_no < n_runs) {
            run_key k = study_run_key(sp, run_no);
            ad_atomic_file af;
            ad_error err = {0};
            study_run_path(path, sizeof path, out, sp, &k);
            body++;
            if (ad_atomic_open(&af, path, &err) == AD_OK) {
                fwrite(body, 1, n - (size_t)(body - buf), af.f);
                ad_atomic_commit(&af, &err);
            }
            if (err.msg[0] && !rc) rc = cli_die_status(&err, NULL);
            done++;
            finished += run_cost(sp, run_no);
            const study_setting *st = &sp->set[k.set];
            double el = cli_now() - t_study;
            fprintf(stderr, "run %d/%d done by rank %d: %s %s p=%g seed %d (%d of %d left to do, %.0f s so far, ETA %.0f s)\n",
                    run_no + 1, n_runs, from, st->name, ad_scheme_get((ad_scheme)st->cell_scheme[k.cell])->name,
                    st->cell_p[k.cell], k.seed, np - done, np, el, el / (double)finished * (double)(left - finished));
        } else if (!rc) { /* the rank said why on its own stderr */
            rc = tag == TAG_FAILED && buf && atoi(buf) > 0 ? atoi(buf) : EXIT_INPUT;
            fprintf(stderr, "%s: rank %d failed; the runs recorded so far are kept, and a rerun continues\n", cli_prog, from);
        }
        free(buf);
        if (!rc && next < np) { send_job(from, pend[next++]); busy++; }
        else cli_mpi_send(from, TAG_STOP, "", 0);
    }
    free(pend);
    return rc;
}

/* Ranks 1..: trains the runs rank 0 sends, returning each record to it, until
 * told to stop; an exit code. */
int study_mpi_work(const study_spec *sp, const ad_dataset *ds, int n_runs, double t_study) {
    for (;;) {
        int from, tag, rc;
        char *buf;
        size_t n;
        if (cli_mpi_recv(&from, &tag, &buf, &n)) { fprintf(stderr, "%s: out of memory\n", cli_prog); cli_mpi_abort(EXIT_INPUT); }
        int run_no = tag == TAG_JOB ? atoi(buf) : -1;
        free(buf);
        if (tag != TAG_JOB) return 0;
        run_key k = study_run_key(sp, run_no);
        char *rec = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&rec, &len);
        if (!f) { fprintf(stderr, "%s: out of memory\n", cli_prog); cli_mpi_abort(EXIT_INPUT); }
        fprintf(f, "R,%d\n", run_no);
        rc = study_train_record(sp, &ds[k.set], &k, f, run_no, n_runs, t_study);
        if (fclose(f) != 0 && !rc) rc = EXIT_INPUT;
        if (rc) {
            char msg[16];
            int m = snprintf(msg, sizeof msg, "%d", rc);
            cli_mpi_send(0, TAG_FAILED, msg, (size_t)m);
        } else {
            cli_mpi_send(0, TAG_RECORD, rec, len);
        }
        free(rec);
    }
}
