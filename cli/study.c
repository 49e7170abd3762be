/* study.c - `attndrop study`: trains the attention-dropout schemes side by
 * side on built-in tasks (or a text file), resumably, and writes the CSVs,
 * plots and report that answer the source's questions (report.c). */
#include "study.h"
#include "attndrop.h"
#include "opts.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Splits a comma-separated list into at most max items (pointers into s). */
static int split(char *s, char **items, int max) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ",")) items[n++] = tok;
    return n;
}

/* One run of the grid. */
typedef struct {
    int task;          /* index into the study's tasks */
    int scheme;
    double p;
    int seed;
} run_key;

static void run_path(char *buf, size_t n, const char *dir, const study_spec *sp, const run_key *k) {
    snprintf(buf, n, "%s/runs/%s-%s-%g-%d.csv", dir, sp->task_names[k->task], ad_scheme_get((ad_scheme)k->scheme)->name,
             k->p, k->seed);
}

/* Trains one run and writes its record atomically: lines
 *   L,step,train_loss,val_loss,elapsed_s   at each evaluation
 *   P,pos,val_loss                          per position, at the end
 *   Z,pos,zero_rows,rows                    all-zero attention rows met
 *   T,seconds,steps                         training time and steps */
static int train_run(const study_spec *sp, const ad_dataset *ds, const run_key *k, const char *path, int run_no,
                     int n_runs, double t_study) {
    ad_config c = ad_config_default();
    c.vocab_size = ds->vocab.size;
    c.block_size = sp->block_size;
    c.n_embd = sp->n_embd;
    c.n_head = sp->n_head;
    c.n_layer = sp->n_layer;
    c.dropout = 0.0f; /* only attention dropout varies */
    c.scheme = (ad_scheme)k->scheme;
    c.attn_dropout = (float)k->p;
    ad_error err = {0};
    ad_model *m = NULL;
    uint64_t seed = (uint64_t)k->seed;
    if (ad_model_create(&m, &c, sp->batch_size, 1, seed, &err)) {
        fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
        return EXIT_INPUT;
    }
    ad_model_set_total_steps(m, sp->max_iters);
    int B = sp->batch_size, T = sp->block_size;
    int *xb = malloc((size_t)B * T * sizeof *xb), *yb = malloc((size_t)B * T * sizeof *yb);
    double *pos = calloc((size_t)T * 2, sizeof *pos), *pl = pos + T;
    size_t tmp_len = strlen(path) + 8;
    char *tmp = malloc(tmp_len);
    FILE *f = NULL;
    int rc = 0;
    if (!xb || !yb || !pos || !tmp) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    snprintf(tmp, tmp_len, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f) { fprintf(stderr, "%s: cannot write '%s': %s\n", cli_prog, tmp, strerror(errno)); rc = EXIT_INPUT; goto done; }
    ad_adamw opt = ad_adamw_default();
    opt.lr = (float)sp->lr;
    double train_time = 0.0;
    for (long it = 0; it < sp->max_iters; it++) {
        if (it % sp->eval_interval == 0 || it == sp->max_iters - 1) {
            float tl, vl;
            if (ad_estimate_loss(m, ds, B, sp->eval_iters, seed, (uint64_t)it, xb, yb, &tl, &vl, &err)) {
                fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
                rc = EXIT_INPUT;
                goto done;
            }
            fprintf(f, "L,%ld,%.6f,%.6f,%.3f\n", it, (double)tl, (double)vl, train_time);
        }
        double t0 = now_s();
        float loss;
        ad_get_batch(ds->ids, ds->n_train, B, T, seed, AD_RNG_BATCH, (uint32_t)it, 0, xb, yb);
        if (ad_model_forward(m, xb, yb, B, T, 1, seed, (uint64_t)it, &loss, &err) == AD_OK) {
            ad_model_backward(m);
            if (ad_model_check_grads(m, &err) == AD_OK) ad_model_adamw_step(m, &opt, it + 1);
        }
        if (err.msg[0]) {
            fprintf(stderr, "%s: run %s diverged at step %ld: %s\n", cli_prog, path, it, err.msg);
            rc = EXIT_NUMERIC;
            goto done;
        }
        train_time += now_s() - t0;
        if (isatty(2) && (it % 20 == 0 || it == sp->max_iters - 1)) {
            double done_runs = run_no + (double)(it + 1) / sp->max_iters, el = now_s() - t_study;
            fprintf(stderr, "\r\033[Krun %d/%d (%s %s p=%g seed %d) step %ld/%d  ETA %.0fs", run_no + 1, n_runs,
                    sp->task_names[k->task], ad_scheme_get((ad_scheme)k->scheme)->name, k->p, k->seed, it + 1,
                    sp->max_iters, done_runs > 0 ? el / done_runs * (n_runs - done_runs) : 0.0);
        }
    }
    /* the final per-position val loss, over the evaluation's batches, dropout off */
    size_t n_val = ds->n - ds->n_train;
    for (int e = 0; e < sp->eval_iters; e++) {
        ad_get_batch(ds->ids + ds->n_train, n_val, B, T, seed, AD_RNG_EVAL, (uint32_t)sp->max_iters, 0x7fffff00u | (uint32_t)e,
                     xb, yb);
        if (ad_model_forward(m, xb, yb, B, T, 0, seed, 0, NULL, &err) || ad_model_position_losses(m, pl, &err)) {
            fprintf(stderr, "%s: %s\n", cli_prog, err.msg);
            rc = EXIT_INPUT;
            goto done;
        }
        for (int t = 0; t < T; t++) pos[t] += pl[t] / sp->eval_iters;
    }
    for (int t = 0; t < T; t++) fprintf(f, "P,%d,%.6f\n", t, pos[t]);
    uint64_t *zero = malloc((size_t)T * 2 * sizeof *zero);
    if (!zero) { rc = EXIT_INPUT; goto done; }
    ad_model_zero_rows(m, zero, zero + T);
    for (int t = 0; t < T; t++)
        fprintf(f, "Z,%d,%llu,%llu\n", t, (unsigned long long)zero[t], (unsigned long long)zero[T + t]);
    free(zero);
    fprintf(f, "T,%.3f,%d\n", train_time, sp->max_iters);
    /* the record appears whole or not at all: an interruption loses at most this run */
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) { fprintf(stderr, "%s: cannot write '%s'\n", cli_prog, tmp); rc = EXIT_INPUT; }
    if (fclose(f) != 0 && !rc) { fprintf(stderr, "%s: cannot write '%s'\n", cli_prog, tmp); rc = EXIT_INPUT; }
    f = NULL;
    if (!rc && rename(tmp, path) != 0) { fprintf(stderr, "%s: cannot rename '%s': %s\n", cli_prog, tmp, strerror(errno)); rc = EXIT_INPUT; }
done:
    if (f) fclose(f);
    if (rc && tmp) unlink(tmp);
    free(tmp);
    free(xb);
    free(yb);
    free(pos);
    ad_model_free(m);
    return rc;
}

/* Trains the runs of the grid whose number is `job` modulo `jobs` and that
 * are not done yet. */
static int run_grid(const study_spec *sp, const ad_dataset *ds, const char *out, int job, int jobs, int n_runs,
                    int done_before, double t_study) {
    char path[4096];
    int run_no = 0, trained = 0, rc = 0;
    for (int t = 0; t < sp->n_tasks && !rc; t++)
        for (int c = 0; c < sp->n_cells && !rc; c++)
            for (int s = 1; s <= sp->seeds && !rc; s++, run_no++) {
                if (run_no % jobs != job) continue;
                run_key k = {t, sp->cell_scheme[c], sp->cell_p[c], s};
                run_path(path, sizeof path, out, sp, &k);
                if (access(path, F_OK) == 0) continue;
                rc = train_run(sp, &ds[t], &k, path, run_no, n_runs, t_study);
                trained++;
                if (!isatty(2) && !rc) {
                    double el = now_s() - t_study;
                    int left = (n_runs - done_before) / jobs - trained;
                    fprintf(stderr, "run %d/%d done: %s %s p=%g seed %d (%.0f s so far, ETA %.0f s)\n", run_no + 1, n_runs,
                            sp->task_names[t], ad_scheme_get((ad_scheme)k.scheme)->name, k.p, s, el,
                            left > 0 ? el / trained * left : 0.0);
                }
            }
    return rc;
}

int cmd_study(int argc, char **argv) {
    int quick = 0, full = 0, seeds = 0, threads = 0, jobs = 0;
    int max_iters = 0, batch = 32, block = 32, n_embd = 64, n_head = 4, n_layer = 2, eval_interval = 0, eval_iters = 10;
    double lr = 3e-3;
    const char *tasks = NULL, *data = NULL, *schemes = NULL, *ps = NULL, *out = "study";
    opt opts[] = {
        {"quick", OPT_FLAG, &quick, 0, 0, "the default grid: about 10 minutes on 2 cores"},
        {"full", OPT_FLAG, &full, 0, 0, "every scheme at p 0.1, 0.2, 0.5, 5 seeds, every task"},
        {"task", OPT_STR, &tasks, 0, 0, "comma-separated tasks: markov, copy, recall (quick: markov,copy)"},
        {"data", OPT_STR, &data, 0, 0, "a UTF-8 text file to study as well (full) or instead (quick)"},
        {"schemes", OPT_STR, &schemes, 0, 0, "comma-separated schemes (default: the grid's)"},
        {"p", OPT_STR, &ps, 0, 0, "comma-separated rates for --schemes (default 0.2)"},
        {"seeds", OPT_INT, &seeds, 1, 30, "seeds per cell (quick 3, full 5)"},
        {"max-iters", OPT_INT, &max_iters, 2, 100000000, "training steps per run (quick 480, full 2000)"},
        {"eval-interval", OPT_INT, &eval_interval, 1, 100000000, "steps between evaluations (max-iters/8)"},
        {"eval-iters", OPT_INT, &eval_iters, 1, 100000, "batches per split per evaluation (quick 8, full 20)"},
        {"batch-size", OPT_INT, &batch, 1, 4096, "sequences per step (32)"},
        {"block-size", OPT_INT, &block, 2, 1024, "context length (32)"},
        {"n-embd", OPT_INT, &n_embd, 1, 4096, "embedding width (64)"},
        {"n-head", OPT_INT, &n_head, 1, 256, "heads (4)"},
        {"n-layer", OPT_INT, &n_layer, 1, 64, "blocks (2)"},
        {"learning-rate", OPT_FLOAT, &lr, 1e-12, 10, "AdamW learning rate (3e-3)"},
        {"threads", OPT_INT, &threads, 1, 4096, "threads in all (default: all cores)"},
        {"jobs", OPT_INT, &jobs, 1, 16, "runs trained at once, in separate processes (default: one per core, at most 16)"},
        {"out", OPT_STR, &out, 0, 0, "output directory (study)"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help, rc;
    if ((rc = cli_parse_opts("study ", opts, n_opts, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s study [--quick | --full] [options]\n\n"
               "Trains the attention-dropout schemes side by side and writes OUT/report.md with its plots and\n"
               "the CSVs behind it. Rerunning with the same --out skips the runs already done.\n\noptions:\n", cli_prog);
        cli_print_opts(opts, n_opts);
        return 0;
    }
    if (quick && full) return cli_die_usage("study ", "give either --quick or --full, not both");
    study_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.full = full;
    sp.seeds = seeds ? seeds : full ? 5 : 3;
    sp.max_iters = max_iters ? max_iters : full ? 2000 : 480;
    sp.eval_interval = eval_interval ? eval_interval : (sp.max_iters / 8 > 0 ? sp.max_iters / 8 : 1);
    sp.eval_iters = cli_opt_given(&eval_iters) ? eval_iters : full ? 20 : 8;
    sp.batch_size = batch;
    sp.block_size = block;
    sp.n_embd = n_embd;
    sp.n_head = n_head;
    sp.n_layer = n_layer;
    sp.lr = lr;
    if (n_embd % n_head != 0) return cli_die_usage("study ", "n_embd (%d) must be divisible by n_head (%d)", n_embd, n_head);

    /* tasks */
    char task_buf[256];
    snprintf(task_buf, sizeof task_buf, "%s", tasks ? tasks : full ? "markov,copy,recall" : (data ? "" : "markov,copy"));
    char *titems[8];
    int nt = split(task_buf, titems, 8);
    for (int i = 0; i < nt; i++) {
        if (ad_task_lookup(titems[i]) < 0) return cli_die_usage("study ", "unknown task '%s' (known: markov, copy, recall)", titems[i]);
        snprintf(sp.task_names[sp.n_tasks], sizeof sp.task_names[0], "%s", titems[i]);
        sp.task_ids[sp.n_tasks++] = ad_task_lookup(titems[i]);
    }
    if (data) {
        if (strlen(data) >= sizeof sp.data_path) return cli_die_usage("study ", "the --data path is too long");
        snprintf(sp.data_path, sizeof sp.data_path, "%s", data);
        snprintf(sp.task_names[sp.n_tasks], sizeof sp.task_names[0], "text");
        sp.task_ids[sp.n_tasks++] = -1;
    }
    if (sp.n_tasks == 0) return cli_die_usage("study ", "no task to study");

    /* the grid of (scheme, p) cells */
    if (schemes) {
        char sbuf[512], pbuf[256];
        snprintf(sbuf, sizeof sbuf, "%s", schemes);
        snprintf(pbuf, sizeof pbuf, "%s", ps ? ps : "0.2");
        char *sitems[AD_SCHEME_COUNT + 1], *pitems[8];
        int ns = split(sbuf, sitems, AD_SCHEME_COUNT + 1), np = split(pbuf, pitems, 8);
        double pv[8];
        for (int j = 0; j < np; j++) {
            char *end;
            pv[j] = strtod(pitems[j], &end);
            if (end == pitems[j] || *end || !(pv[j] >= 0.0 && pv[j] < 1.0))
                return cli_die_usage("study ", "--p: '%s' is not a rate in [0, 1)", pitems[j]);
        }
        for (int i = 0; i < ns; i++) {
            int s = ad_scheme_lookup(sitems[i]);
            if (s < 0) return cli_die_usage("study ", "unknown scheme '%s' (see '%s schemes')", sitems[i], cli_prog);
            for (int j = 0; j < np && sp.n_cells < STUDY_MAX_CELLS; j++) {
                sp.cell_scheme[sp.n_cells] = s;
                sp.cell_p[sp.n_cells++] = s == AD_SCHEME_NONE ? 0.0 : pv[j];
                if (s == AD_SCHEME_NONE) break;
            }
        }
    } else if (full) {
        static const double fp[3] = {0.1, 0.2, 0.5};
        sp.cell_scheme[sp.n_cells] = AD_SCHEME_NONE;
        sp.cell_p[sp.n_cells++] = 0.0;
        for (int s = 1; s < AD_SCHEME_COUNT; s++)
            for (int j = 0; j < 3; j++) {
                sp.cell_scheme[sp.n_cells] = s;
                sp.cell_p[sp.n_cells++] = fp[j];
            }
    } else {
        static const ad_scheme q2[] = {AD_SCHEME_NONE, AD_SCHEME_STANDARD, AD_SCHEME_MASKED, AD_SCHEME_NONZERO,
                                       AD_SCHEME_KEEPDIAG, AD_SCHEME_RENORM, AD_SCHEME_COLUMN, AD_SCHEME_TOKEN,
                                       AD_SCHEME_WORD, AD_SCHEME_DROPKEY, AD_SCHEME_HEAD};
        static const ad_scheme q5[] = {AD_SCHEME_STANDARD, AD_SCHEME_NONZERO, AD_SCHEME_TOKEN};
        for (size_t i = 0; i < sizeof q2 / sizeof q2[0]; i++) {
            sp.cell_scheme[sp.n_cells] = q2[i];
            sp.cell_p[sp.n_cells++] = q2[i] == AD_SCHEME_NONE ? 0.0 : 0.2;
        }
        for (size_t i = 0; i < sizeof q5 / sizeof q5[0]; i++) {
            sp.cell_scheme[sp.n_cells] = q5[i];
            sp.cell_p[sp.n_cells++] = 0.5;
        }
    }
    int has_none = 0;
    for (int i = 0; i < sp.n_cells; i++) has_none |= sp.cell_scheme[i] == AD_SCHEME_NONE;
    if (!has_none) { /* the baseline every comparison needs */
        memmove(sp.cell_scheme + 1, sp.cell_scheme, (size_t)sp.n_cells * sizeof sp.cell_scheme[0]);
        memmove(sp.cell_p + 1, sp.cell_p, (size_t)sp.n_cells * sizeof sp.cell_p[0]);
        sp.cell_scheme[0] = AD_SCHEME_NONE;
        sp.cell_p[0] = 0.0;
        sp.n_cells++;
    }
    if (!jobs) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = cores < 1 ? 1 : cores > 16 ? 16 : (int)cores;
        if (threads > 0 && threads < jobs) jobs = threads;
    }
    if (jobs == 1 && threads > 0) ad_set_threads(threads);

    /* data, once per task, checked before any training */
    ad_dataset ds[STUDY_MAX_TASKS];
    memset(ds, 0, sizeof ds);
    ad_error err = {0};
    rc = 0;
    for (int t = 0; t < sp.n_tasks && !rc; t++) {
        ad_status s;
        if (sp.task_ids[t] >= 0) {
            char *text = ad_task_text((ad_task)sp.task_ids[t], 1337, 200000);
            s = text ? ad_dataset_from_text(&ds[t], text, strlen(text), NULL, &err) : AD_ERR_NOMEM;
            free(text);
            sp.floor[t] = ad_task_entropy((ad_task)sp.task_ids[t], 1337);
        } else {
            s = ad_dataset_load(&ds[t], sp.data_path, NULL, &err);
            sp.floor[t] = NAN;
        }
        if (s) { fprintf(stderr, "%s: %s\n", cli_prog, err.msg[0] ? err.msg : "out of memory"); rc = EXIT_INPUT; break; }
        if (ds[t].n_train <= (size_t)block || ds[t].n - ds[t].n_train <= (size_t)block) {
            fprintf(stderr, "%s: the %s text is too short for --block-size %d\n", cli_prog, sp.task_names[t], block);
            rc = EXIT_INPUT;
        }
        /* the model must fit before hours of training begin */
        ad_config c = ad_config_default();
        c.vocab_size = ds[t].vocab.size; c.block_size = block; c.n_embd = n_embd; c.n_head = n_head; c.n_layer = n_layer;
        if (!rc && ad_config_check(&c, &err)) { rc = cli_die_usage("study ", "%s", err.msg); }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/runs", out);
    if (!rc && ((mkdir(out, 0755) != 0 && errno != EEXIST) || (mkdir(path, 0755) != 0 && errno != EEXIST) || access(path, W_OK) != 0)) {
        fprintf(stderr, "%s: cannot write into '%s': %s\n", cli_prog, out, strerror(errno));
        rc = EXIT_INPUT;
    }
    int n_runs = sp.n_tasks * sp.n_cells * sp.seeds, done_before = 0;
    double t_study = now_s();
    if (!rc) {
        for (int t = 0; t < sp.n_tasks; t++)
            for (int c = 0; c < sp.n_cells; c++)
                for (int s = 1; s <= sp.seeds; s++) {
                    run_key k = {t, sp.cell_scheme[c], sp.cell_p[c], s};
                    run_path(path, sizeof path, out, &sp, &k);
                    done_before += access(path, F_OK) == 0;
                }
        printf("study: %d tasks x %d cells x %d seeds = %d runs of %d steps (B%d T%d C%d H%d L%d) in %s, %d at a time\n",
               sp.n_tasks, sp.n_cells, sp.seeds, n_runs, sp.max_iters, batch, block, n_embd, n_head, n_layer, out, jobs);
        fflush(stdout);
    }
    if (!rc && jobs > 1) {
        /* small models use a core each better than two cores together: run the grid in `jobs`
         * processes, each taking every jobs-th run; results do not depend on the thread count */
        pid_t pids[16];
        int started = 0;
        for (int j = 0; j < jobs; j++) {
            pid_t pid = fork();
            if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed study takes its workers with it */
                if (getppid() == 1) _exit(EXIT_INPUT);
                ad_set_threads(threads > jobs ? threads / jobs : 1);
                _exit(run_grid(&sp, ds, out, j, jobs, n_runs, done_before, t_study));
            }
            if (pid < 0) { fprintf(stderr, "%s: cannot start a worker: %s\n", cli_prog, strerror(errno)); rc = EXIT_INPUT; break; }
            pids[started++] = pid;
        }
        for (int j = 0; j < started; j++) {
            int status;
            while (waitpid(pids[j], &status, 0) < 0 && errno == EINTR) {}
            if (!rc && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
                rc = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_INPUT;
        }
    } else if (!rc) {
        rc = run_grid(&sp, ds, out, 0, 1, n_runs, done_before, t_study);
    }
    if (isatty(2)) fprintf(stderr, "\r\033[K");
    for (int t = 0; t < sp.n_tasks; t++) ad_dataset_free(&ds[t]);
    if (rc) return rc;
    if (done_before) printf("%d of %d runs were already done in %s\n", done_before, n_runs, out);
    rc = study_report(out, &sp);
    if (!rc) printf("wrote %s/report.md (%.0f s)\n", out, now_s() - t_study);
    return rc;
}
