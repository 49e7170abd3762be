/* train.c - the train command: a run in a directory (model, train state
 * and log), started, resumed or extended, trained by the library's
 * ad_train_step with evaluations, interval saves and a clean stop on
 * SIGINT/SIGTERM. */
#include "cli.h"
#include "mpi.h"
#include "lock.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* ----------------------------------------------------------- progress */

typedef struct {
    int show; /* rank 0 alone reports progress */
    int tty;
    double last_draw;
} progress;

static void progress_draw(progress *p, long step, long total, float loss, double tok_s, double eta, int force) {
    if (!p->show) return;
    double t = cli_now();
    if (p->tty) {
        if (!force && t - p->last_draw < 0.2) return;
        fprintf(stderr, "\r\033[Kstep %ld/%ld  loss %.4f  %.0f tok/s  ETA %.0fs", step, total, loss, tok_s, eta);
        fflush(stderr);
    } else {
        if (!force && t - p->last_draw < 10.0) return;
        fprintf(stderr, "step %ld/%ld  loss %.4f  %.0f tok/s  ETA %.0fs\n", step, total, loss, tok_s, eta);
    }
    p->last_draw = t;
}

static void progress_clear(progress *p) {
    if (p->tty) fprintf(stderr, "\r\033[K");
}

/* -------------------------------------------------------------- train */

#define LOG_HEADER "step,train_loss,val_loss,elapsed_s,tokens_per_s\n"

/* Rebuilds log.csv for a resumed run, atomically: the header, then the whole,
 * well-formed rows up to step `last` in increasing order; a missing file gets
 * a header, and cut or garbled lines are dropped (and counted in *dropped).
 * *kept is the step of the last row kept (-1 if none). */
static int rebuild_log(const char *path, long last, long *kept, int *dropped) {
    *kept = -1;
    *dropped = 0;
    FILE *in = cli_fopen_regular(path); /* a FIFO or a device is not read: the log is rebuilt from nothing */
    ad_atomic_file af;
    ad_error err = {0};
    if (ad_atomic_open(&af, path, &err)) {
        if (in) fclose(in);
        return cli_die_status(&err, NULL);
    }
    FILE *out = af.f;
    fputs(LOG_HEADER, out);
    char line[512];
    int first = 1;
    while (in && fgets(line, sizeof line, in)) {
        size_t len = strlen(line);
        int whole = len > 0 && line[len - 1] == '\n';
        if (first && strcmp(line, LOG_HEADER) == 0) { first = 0; continue; }
        first = 0;
        if (!whole) { /* a cut line, or one too long to be a row: skip the rest of it */
            int c;
            while (len == sizeof line - 1 && (c = fgetc(in)) != EOF && c != '\n') {}
            (*dropped)++;
            continue;
        }
        char step_s[24];
        double a, b, c, d;
        char tail;
        uint64_t step;
        if (sscanf(line, "%23[0-9],%lf,%lf,%lf,%lf%c", step_s, &a, &b, &c, &d, &tail) != 6 || tail != '\n' ||
            !ad_parse_uint(step_s, 2147483647u, &step) || (long)step <= *kept) {
            (*dropped)++;
            continue;
        }
        if ((long)step > last) continue; /* a step that will run again */
        fputs(line, out);
        *kept = (long)step;
    }
    if (in) fclose(in);
    if (ad_atomic_commit(&af, &err)) return cli_die_status(&err, NULL);
    return 0;
}

static int ensure_dir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
        fprintf(stderr, "%s: '%s' exists and is not a directory\n", cli_prog, dir);
        return EXIT_INPUT;
    }
    fprintf(stderr, "%s: cannot create directory '%s': %s\n", cli_prog, dir, strerror(errno));
    return EXIT_INPUT;
}

static volatile sig_atomic_t stop_signal = 0;
static void on_stop_signal(int sig) { stop_signal = sig; }

/* The data of a run: a file, or the built-in text of a seed. */
static ad_status load_data(ad_dataset *ds, const char *data, ad_task task, int task_chars, uint64_t seed,
                           ad_error *err) {
    if (data) return ad_dataset_load(ds, data, NULL, err);
    char *text = ad_task_text(task, seed, (size_t)task_chars);
    if (!text) {
        snprintf(err->msg, sizeof err->msg, "out of memory generating the %s text", ad_task_name(task));
        err->status = AD_ERR_NOMEM;
        return AD_ERR_NOMEM;
    }
    ad_status s = ad_dataset_from_text(ds, text, strlen(text), NULL, err);
    free(text);
    return s;
}

/* Saves the training state, then the checkpoint: each atomically, the state
 * alone enough to resume. */
static ad_status save_run(const ad_model *m, const ad_vocab *v, const ad_train_state *st, const char *state,
                          const char *ckpt, ad_error *err) {
    ad_status s = ad_train_state_save(m, v, st, state, err);
    return s ? s : ad_checkpoint_save(m, v, ckpt, err);
}

/* what identifies a run's data on resume */
static unsigned long long data_hash(const ad_dataset *ds) {
    return (unsigned long long)ad_hash_ids(AD_HASH_INIT, ds->ids, ds->n);
}

/* Reads the run settings a train state holds, "key=value" words, every
 * number with the strict parser; 0 if any is missing or invalid. *hash is 0
 * for a state written before runs recorded their data's hash. */
static int parse_run_args(const char *ra, int *batch, int *max_iters, int *eval_interval, int *eval_iters,
                          int *task_chars, unsigned long long *hash) {
    static const char *keys[5] = {"batch_size", "max_iters", "eval_interval", "eval_iters", "task_chars"};
    int *dst[5] = {batch, max_iters, eval_interval, eval_iters, task_chars}, seen = 0;
    char buf[512];
    *hash = 0;
    if (snprintf(buf, sizeof buf, "%s", ra) >= (int)sizeof buf) return 0;
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
        char *eq = strchr(w, '=');
        if (!eq) return 0;
        *eq = '\0';
        if (strcmp(w, "data_hash") == 0) {
            char *end;
            errno = 0;
            *hash = strtoull(eq + 1, &end, 16);
            if (strlen(eq + 1) != 16 || *end || errno) return 0;
            continue;
        }
        int k = 0;
        while (k < 5 && strcmp(w, keys[k]) != 0) k++;
        uint64_t v;
        if (k == 5 || (seen & (1 << k)) || !ad_parse_uint(eq + 1, 100000000, &v) || v < 1) return 0;
        *dst[k] = (int)v;
        seen |= 1 << k;
    }
    return seen == 31;
}

static int file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* A training run: its files, settings, data, model and state. */
typedef struct {
    const char *out;
    char *ckpt, *state, *logp;
    int resume, batch, max_iters, eval_interval, eval_iters, task_chars, ckpt_interval, lock;
    uint64_t seed;
    ad_config cfg;
    ad_dataset ds;
    ad_model *m;
    ad_train_state st;
} train_job;

/* Both splits must hold a window of block_size + 1 tokens. */
static int check_splits(const train_job *j) {
    size_t n_val = j->ds.n - j->ds.n_train;
    int block = j->cfg.block_size;
    if (j->ds.n_train > (size_t)block && n_val > (size_t)block) return 0;
    fprintf(stderr, "%s: the data has %zu characters: each split (90%% train: %zu, 10%% val: %zu) must be longer "
                    "than --block-size %d; use a longer text or a smaller --block-size\n",
            cli_prog, j->ds.n, j->ds.n_train, n_val, block);
    return EXIT_INPUT;
}

/* Loads the run saved in j->out, with its own settings and data (checked to be
 * the run's); extend_to (0: not given) lengthens it. *finished when nothing is
 * left to train. An exit code. */
static int job_resume(train_job *j, int extend_to, int *finished) {
    ad_error err = {0};
    ad_vocab rv = {0, NULL};
    unsigned long long hash = 0;
    ad_status s;
    int rc = 0;
    /* one run per directory: a run still going in --out keeps it */
    struct stat sb;
    if (stat(j->out, &sb) == 0 && S_ISDIR(sb.st_mode) && (j->lock = dir_lock(j->out)) < 0) return EXIT_INPUT;
    /* everything comes from the saved state: config, optimiser, seed, data, schedule of evaluations */
    if ((s = ad_train_state_load(&j->m, &rv, &j->st, j->state, 1, &err)))
        return cli_die_status(&err, "--resume needs the train_state.safetensors of an earlier run in --out");
    ad_model_free(j->m);
    j->m = NULL;
    ad_vocab_free(&rv);
    if (!parse_run_args(j->st.run_args, &j->batch, &j->max_iters, &j->eval_interval, &j->eval_iters, &j->task_chars,
                        &hash)) {
        fprintf(stderr, "%s: %s: its run settings are missing or invalid; cannot resume\n", cli_prog, j->state);
        return EXIT_INPUT;
    }
    if ((s = ad_train_state_load(&j->m, &rv, &j->st, j->state, j->batch, &err))) return cli_die_status(&err, NULL);
    if (extend_to) { /* a run may be extended; everything else is the run's own */
        if (extend_to < j->st.step) {
            fprintf(stderr, "%s: --max-iters %d is below the %ld steps already done\n", cli_prog, extend_to, j->st.step);
            rc = EXIT_USAGE;
            goto done;
        }
        j->max_iters = extend_to;
        snprintf(j->st.run_args, sizeof j->st.run_args,
                 "batch_size=%d max_iters=%d eval_interval=%d eval_iters=%d task_chars=%d", j->batch, j->max_iters,
                 j->eval_interval, j->eval_iters, j->task_chars);
        if (hash) {
            size_t len = strlen(j->st.run_args);
            snprintf(j->st.run_args + len, sizeof j->st.run_args - len, " data_hash=%016llx", hash);
        }
    }
    j->seed = j->st.seed;
    const char *d = strncmp(j->st.run_data, "file:", 5) == 0 ? j->st.run_data + 5 : NULL;
    int task_id = strncmp(j->st.run_data, "task:", 5) == 0 ? ad_task_lookup(j->st.run_data + 5) : -1;
    if (!d && task_id < 0) {
        fprintf(stderr, "%s: %s: unknown data '%s'; cannot resume\n", cli_prog, j->state, j->st.run_data);
        rc = EXIT_INPUT;
        goto done;
    }
    if ((s = load_data(&j->ds, d, (ad_task)task_id, j->task_chars, j->seed, &err))) {
        rc = cli_die_status(&err, "the run's data must still be there");
        goto done;
    }
    if (j->ds.vocab.size != rv.size || memcmp(j->ds.vocab.chars, rv.chars, (size_t)rv.size * sizeof *rv.chars) != 0) {
        fprintf(stderr, "%s: %s has changed since the run started (its characters differ); cannot resume\n", cli_prog,
                d ? d : "the built-in text");
        rc = EXIT_INPUT;
        goto done;
    }
    if (hash && data_hash(&j->ds) != hash) {
        fprintf(stderr, "%s: %s has changed since the run started (same characters, other text: content hash "
                        "%016llx, the run's %016llx); cannot resume\n", cli_prog, d ? d : "the built-in text",
                data_hash(&j->ds), hash);
        rc = EXIT_INPUT;
        goto done;
    }
    j->cfg = *ad_model_config(j->m);
    if (j->st.step >= j->max_iters) {
        printf("the run in %s already finished (%ld of %d steps)\n", j->out, j->st.step, j->max_iters);
        *finished = 1;
        goto done;
    }
    rc = check_splits(j);
done:
    ad_vocab_free(&rv);
    return rc;
}

/* Starts a new run in j->out with j's settings and j->cfg's model (its
 * vocabulary taken from the data); overwrite replaces a run saved there. An
 * exit code. */
static int job_start(train_job *j, const char *data, int task_id, double lr, int overwrite) {
    ad_error err = {0};
    int rc;
    if (load_data(&j->ds, data, (ad_task)task_id, j->task_chars, j->seed, &err)) return cli_die_status(&err, NULL);
    j->cfg.vocab_size = j->ds.vocab.size;
    if (ad_config_check(&j->cfg, &err)) return cli_die_usage("train ", "%s", err.msg);
    j->st.seed = j->seed;
    j->st.opt = ad_adamw_default();
    j->st.opt.lr = (float)lr;
    /* the data is named by its absolute path (a resume may start elsewhere) and its content hash */
    snprintf(j->st.run_args, sizeof j->st.run_args,
             "batch_size=%d max_iters=%d eval_interval=%d eval_iters=%d task_chars=%d data_hash=%016llx", j->batch,
             j->max_iters, j->eval_interval, j->eval_iters, j->task_chars, data_hash(&j->ds));
    char *abs = data ? realpath(data, NULL) : NULL;
    if (data && (!abs || strlen(abs) + 6 > sizeof j->st.run_data)) {
        free(abs);
        return cli_die_usage("train ", "the --data path is too long");
    }
    if (data) snprintf(j->st.run_data, sizeof j->st.run_data, "file:%s", abs);
    else snprintf(j->st.run_data, sizeof j->st.run_data, "task:%s", ad_task_name((ad_task)task_id));
    free(abs);
    if ((rc = check_splits(j))) return rc;
    if (!overwrite && (file_exists(j->state) || file_exists(j->ckpt))) {
        fprintf(stderr, "%s: %s already holds a run; continue it with --resume, or replace it with --overwrite\n",
                cli_prog, j->out);
        return EXIT_USAGE;
    }
    if ((rc = ensure_dir(j->out))) return rc;
    if ((j->lock = dir_lock(j->out)) < 0) return EXIT_INPUT;
    /* a replaced run's files go now, so that a failure before the first save cannot leave the
     * old run's state beside the new run's log */
    if (overwrite && ((unlink(j->state) != 0 && errno != ENOENT) || (unlink(j->ckpt) != 0 && errno != ENOENT))) {
        fprintf(stderr, "%s: cannot remove the old run in '%s': %s\n", cli_prog, j->out, strerror(errno));
        return EXIT_INPUT;
    }
    if (ad_model_create(&j->m, &j->cfg, j->batch, 1, j->seed, &err))
        return cli_die_status(&err, "try a smaller --batch-size, --block-size or --n-embd");
    return 0;
}

/* What ad_train_step calls back: the sum over ranks (data parallel) and the
 * interval saves, made once a step's gradients prove finite and before its
 * update (the state of `step` steps; rank 0 alone writes). */
typedef struct {
    train_job *j;
    long start;    /* the step the run (re)started at: saved already */
    double save_s; /* seconds spent saving in the last step */
} step_ctx;

static ad_status sum_over_ranks(void *ctx, long step, float *loss, ad_error *err) {
    step_ctx *c = ctx;
    (void)step; (void)err;
    cli_mpi_sum(ad_model_grads(c->j->m), ad_model_num_params(c->j->m));
    cli_mpi_sum(loss, 1);
    return AD_OK;
}

static ad_status save_before_update(void *ctx, long step, ad_error *err) {
    step_ctx *c = ctx;
    train_job *j = c->j;
    if (cli_mpi_rank() != 0 || j->ckpt_interval <= 0 || step <= c->start || step % j->ckpt_interval != 0) return AD_OK;
    double t = cli_now();
    j->st.step = step;
    ad_status s = save_run(j->m, &j->ds.vocab, &j->st, j->state, j->ckpt, err);
    c->save_s += cli_now() - t;
    return s;
}

/* Opens the log for appending, rebuilt on a resume (*logged: the step of its
 * last row, -1 if none), and says what is trained; an exit code. */
static int open_log(const train_job *j, FILE **log, long *logged) {
    int dropped = 0, rc;
    *logged = -1;
    /* rows past the saved step come from steps that are lost and will run again: drop them */
    if (j->resume && (rc = rebuild_log(j->logp, j->st.step, logged, &dropped))) return rc;
    if (dropped) fprintf(stderr, "%s: %s had %d cut or damaged line%s; rebuilt with the rows up to step %ld\n", cli_prog,
                         j->logp, dropped, dropped > 1 ? "s" : "", *logged);
    *log = cli_fopen_write_regular(j->logp, j->resume);
    if (!*log) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", cli_prog, j->logp,
                errno == EINVAL ? "it is not a regular file" : strerror(errno));
        return EXIT_INPUT;
    }
    if (!j->resume) fputs(LOG_HEADER, *log);
    fflush(*log);
    printf("%.2f M parameters, vocabulary of %d characters, %zu training tokens, %d threads", (double)ad_model_num_params(j->m) / 1e6,
           j->cfg.vocab_size, j->ds.n_train, ad_get_threads());
    if (cli_mpi_size() > 1) printf(" per rank, %d ranks", cli_mpi_size());
    printf("\nattention dropout: %s at p=%g (%s), dropout elsewhere %g\n", ad_scheme_get(j->cfg.scheme)->name,
           (double)j->cfg.attn_dropout, ad_schedule_name(j->cfg.schedule), (double)j->cfg.dropout);
    if (j->resume) printf("resuming at step %ld of %d\n", j->st.step, j->max_iters);
    fflush(stdout);
    return 0;
}

/* A signal ends the run at the next step boundary, with everything saved; a
 * file-size limit makes writes fail with an error instead of killing us. */
static void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART; /* a signal must not cut a write short */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);
}

/* Rank 0 saves the state of `iter` steps after a stop signal; the exit code. */
static int stop_and_save(train_job *j, long iter, int sig) {
    ad_error err = {0};
    j->st.step = iter;
    if (cli_mpi_rank() == 0) {
        if (save_run(j->m, &j->ds.vocab, &j->st, j->state, j->ckpt, &err)) return cli_die_status(&err, NULL);
        fprintf(stderr, "%s: stopped by %s after step %ld of %d; saved %s and %s; continue with '%s train --resume --out %s'\n",
                cli_prog, sig == SIGINT ? "SIGINT" : "SIGTERM", iter, j->max_iters, j->state, j->ckpt, cli_prog, j->out);
    }
    return 128 + sig;
}

/* This rank's rows of the batch: an even split, the first ranks one more. */
static void my_rows(int B, int *row0, int *rows) {
    int r = cli_mpi_rank(), n = cli_mpi_size();
    *rows = B / n + (r < B % n);
    *row0 = r * (B / n) + (r < B % n ? r : B % n);
}

/* Trains j from its step to j->max_iters: the log, evaluations, interval
 * saves, SIGINT/SIGTERM, and the final save (on rank 0: the other ranks of a
 * data-parallel run only compute their rows). An exit code. */
static int job_train(train_job *j) {
    ad_error err = {0};
    ad_status s;
    int rc = 0, block = j->cfg.block_size, lead = cli_mpi_rank() == 0;
    FILE *log = NULL;
    long logged = -1;
    int *xb = malloc((size_t)j->batch * block * sizeof(int)), *yb = malloc((size_t)j->batch * block * sizeof(int));
    if (!xb || !yb) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    if (lead && (rc = open_log(j, &log, &logged))) goto done;
    catch_stop_signals();
    ad_model_set_total_steps(j->m, j->max_iters);
    step_ctx sc = {j, j->st.step, 0.0};
    ad_train_opts to = {.data = j->ds.ids, .n = j->ds.n_train, .batch_size = j->batch, .seed = j->seed, .opt = j->st.opt,
                        .before_update = save_before_update, .ctx = &sc};
    if (cli_mpi_size() > 1) to.reduce = sum_over_ranks;
    my_rows(j->batch, &to.row0, &to.rows);
    progress pr = {lead, lead && isatty(2), 0.0};
    double t0 = cli_now(), train_time = 0.0, train_time_at_row = 0.0;
    long tokens_at_row = 0, tokens = 0;
    float loss = 0.0f;
    long start = j->st.step; /* an interval save follows its step's evaluation: do not log that row twice */
    for (long iter = start; iter < j->max_iters; iter++) {
        int stop = cli_mpi_size() > 1 ? cli_mpi_max(stop_signal) : stop_signal; /* every rank stops at the same step */
        if (stop) {
            progress_clear(&pr);
            rc = stop_and_save(j, iter, stop);
            goto done;
        }
        if (lead && (iter % j->eval_interval == 0 || iter == j->max_iters - 1) && !(iter == start && logged == start)) {
            float tl, vl;
            if ((s = ad_estimate_loss(j->m, &j->ds, j->batch, j->eval_iters, j->seed, (uint64_t)iter, xb, yb, &tl, &vl, &err))) {
                progress_clear(&pr);
                if (s == AD_ERR_NUMERIC) { /* the weights went bad in the last step: seen first here */
                    fprintf(stderr, "%s: training diverged at step %ld (seen in its evaluation): %s; the last saved state "
                                    "is kept (try a smaller --learning-rate)\n", cli_prog, iter, err.msg);
                    rc = EXIT_NUMERIC;
                } else {
                    rc = cli_die_status(&err, NULL);
                }
                goto done;
            }
            double dt = train_time - train_time_at_row;
            progress_clear(&pr);
            printf("step %ld: train loss %.4f, val loss %.4f\n", iter, (double)tl, (double)vl);
            fflush(stdout);
            fprintf(log, "%ld,%.6f,%.6f,%.3f,%.1f\n", iter, (double)tl, (double)vl, cli_now() - t0,
                    dt > 0 ? (double)(tokens - tokens_at_row) / dt : 0.0);
            fflush(log);
            train_time_at_row = train_time;
            tokens_at_row = tokens;
        }
        double ts = cli_now();
        sc.save_s = 0.0;
        if ((s = ad_train_step(j->m, &to, iter, xb, yb, &loss, &err))) {
            progress_clear(&pr);
            if (s == AD_ERR_NUMERIC && lead)
                fprintf(stderr, "%s: training diverged at step %ld: %s; the last saved state is kept "
                                "(try a smaller --learning-rate)\n", cli_prog, iter, err.msg);
            rc = s == AD_ERR_NUMERIC ? EXIT_NUMERIC : cli_die_status(&err, NULL);
            goto done;
        }
        train_time += cli_now() - ts - sc.save_s; /* saving is not training time */
        tokens += (long)j->batch * block;
        double tps = (double)tokens / train_time;
        progress_draw(&pr, iter + 1, j->max_iters, loss, tps, (double)(j->max_iters - iter - 1) * j->batch * block / tps,
                      iter + 1 == j->max_iters);
    }
    progress_clear(&pr);
    j->st.step = j->max_iters;
    if (lead && (s = save_run(j->m, &j->ds.vocab, &j->st, j->state, j->ckpt, &err))) {
        rc = cli_die_status(&err, NULL);
        goto done;
    }
    if (lead) printf("saved %s (%.1f s)\n", j->ckpt, cli_now() - t0);
done:
    if (log) fclose(log);
    free(xb);
    free(yb);
    return rc;
}

/* Data parallel: rank 0 has started or resumed the run (its rc, and whether
 * it had finished); every other rank receives its settings, data and state,
 * so that it needs no file of its own. An exit code, the same on every rank. */
static int share_job(train_job *j, int rc, int *finished) {
    int head[2] = {rc, *finished}, lead = cli_mpi_rank() == 0;
    ad_error err = {0};
    cli_mpi_bcast_raw(head, sizeof head);
    *finished = head[1];
    if (head[0] || head[1]) return head[0];
    int nums[7] = {j->batch, j->max_iters, j->eval_interval, j->eval_iters, j->task_chars, j->ckpt_interval, j->resume};
    cli_mpi_bcast_raw(nums, sizeof nums);
    j->batch = nums[0]; j->max_iters = nums[1]; j->eval_interval = nums[2]; j->eval_iters = nums[3];
    j->task_chars = nums[4]; j->ckpt_interval = nums[5]; j->resume = nums[6];
    cli_mpi_bcast_raw(&j->seed, sizeof j->seed);
    cli_mpi_bcast_raw(&j->cfg, sizeof j->cfg);
    cli_mpi_bcast_raw(&j->st, sizeof j->st);
    if (j->batch < cli_mpi_size())
        return lead ? cli_die_usage("train ", "--batch-size %d is smaller than the %d ranks", j->batch, cli_mpi_size()) : EXIT_USAGE;
    size_t n[2] = {j->ds.n, j->ds.n_train};
    cli_mpi_bcast_raw(n, sizeof n);
    if (!lead) {
        j->ds.n = n[0];
        j->ds.n_train = n[1];
        j->ds.ids = malloc(n[0] * sizeof *j->ds.ids);
        if (!j->ds.ids) { fprintf(stderr, "%s: out of memory\n", cli_prog); cli_mpi_abort(EXIT_INPUT); }
        if (ad_model_create(&j->m, &j->cfg, j->batch, 1, j->seed, &err)) { cli_die_status(&err, NULL); cli_mpi_abort(EXIT_INPUT); }
    }
    cli_mpi_bcast_raw(j->ds.ids, n[0] * sizeof *j->ds.ids);
    size_t np = ad_model_num_params(j->m) * sizeof(float);
    cli_mpi_bcast_raw(ad_model_params(j->m), np); /* the run's weights and moments, fresh or resumed */
    cli_mpi_bcast_raw(ad_model_adam_m(j->m), np);
    cli_mpi_bcast_raw(ad_model_adam_v(j->m), np);
    return 0;
}

int cmd_train(int argc, char **argv) {
    ad_config cfg = ad_config_default();
    cli_shape sh = {64, cfg.block_size, cfg.n_embd, cfg.n_head, cfg.n_layer};
    int max_iters = 5000, eval_interval = 500, eval_iters = 200, threads = 0, task_chars = 200000;
    int resume = 0, overwrite = 0, ckpt_interval = 0;
    double dropout = cfg.dropout, lr = 3e-4, attn_dropout = -1.0;
    uint64_t seed = 1337;
    const char *data = NULL, *task = NULL, *out = "out", *scheme = "standard", *schedule = "constant", *device = "cpu";
    opt opts[] = {
        {"data", OPT_STR, &data, 0, 0, "UTF-8 text file to train on (first 90% train, last 10% val)"},
        {"task", OPT_STR, &task, 0, 0, "built-in text instead of --data: markov (the default), copy, recall"},
        {"task-chars", OPT_INT, &task_chars, 1000, 100000000, "length of the built-in text (200000)"},
        CLI_OPTS_SHAPE(sh, "sequences per step (64)", "context length (256)", "embedding width (384)", "attention heads (6)",
                       "blocks (6)"),
        {"dropout", OPT_FLOAT, &dropout, 0, 0.999999, "dropout probability in [0,1) (0.2)"},
        {"scheme", OPT_STR, &scheme, 0, 0, "attention-dropout scheme (standard; see 'attndrop schemes')"},
        {"attn-dropout", OPT_FLOAT, &attn_dropout, 0, 0.999999, "the scheme's p (default: --dropout)"},
        {"dropout-schedule", OPT_STR, &schedule, 0, 0, "constant, layer-decay or step-decay (constant)"},
        {"learning-rate", OPT_FLOAT, &lr, 1e-12, 1e3, "AdamW learning rate (3e-4)"},
        {"max-iters", OPT_INT, &max_iters, 1, 100000000, "training steps (5000)"},
        {"eval-interval", OPT_INT, &eval_interval, 1, 100000000, "steps between evaluations (500)"},
        {"eval-iters", OPT_INT, &eval_iters, 1, 1000000, "batches per split in each evaluation (200)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed of every random draw (1337)"},
        CLI_OPT_THREADS(&threads),
        {"device", OPT_STR, &device, 0, 0, "cpu (the default) or cuda: a GPU, in a build made with make CUDA=1"},
        {"out", OPT_STR, &out, 0, 0, "output directory (out)"},
        {"checkpoint-interval", OPT_INT, &ckpt_interval, 0, 100000000, "also save every N steps, once they prove finite (0: at the end only)"},
        {"resume", OPT_FLAG, &resume, 0, 0, "continue the run saved in --out, with its own settings"},
        {"overwrite", OPT_FLAG, &overwrite, 0, 0, "replace a run already saved in --out"},
    };
    int n_opts = CLI_N(opts);
    int rc = cli_begin("train", "[--data FILE | --task markov|copy|recall] [options]\n--resume --out DIR",
                       "Trains gpt.py's model and writes OUT/model.safetensors, OUT/train_state.safetensors\n"
                       "and OUT/log.csv (step,train_loss,val_loss,elapsed_s,tokens_per_s). SIGINT or SIGTERM\n"
                       "finishes the current step, saves and exits; --resume continues exactly where it stopped.",
                       opts, n_opts, argc, argv);
    if (rc != CLI_GO) return rc;
    int device_id = AD_DEVICE_CPU;
    if ((rc = cli_check_device("train ", device, 1, &device_id))) return rc;
    if (device_id != AD_DEVICE_CPU && cli_mpi_size() > 1)
        return cli_die_usage("train ", "--device cuda trains in one process, not under mpirun");
    if (data && task) return cli_die_usage("train ", "give either --data or --task, not both");
    if (resume && overwrite) return cli_die_usage("train ", "give either --resume or --overwrite, not both");
    if (resume) /* a resumed run keeps its own settings: say so rather than ignore a flag */
        for (int k = 0; k < n_opts; k++) {
            const char *nm = opts[k].name;
            if (cli_opt_given(opts[k].dst) && strcmp(nm, "resume") && strcmp(nm, "out") && strcmp(nm, "max-iters") &&
                strcmp(nm, "threads") && strcmp(nm, "checkpoint-interval") && strcmp(nm, "device"))
                return cli_die_usage("train ", "--%s cannot be changed on --resume: the run keeps its own settings (only "
                                               "--max-iters, --threads and --checkpoint-interval may be given)", nm);
        }
    int scheme_id = ad_scheme_lookup(scheme), schedule_id = ad_schedule_lookup(schedule);
    if (scheme_id < 0) return cli_die_usage("train ", "unknown scheme '%s' (see '%s schemes')", scheme, cli_prog);
    if (schedule_id < 0)
        return cli_die_usage("train ", "unknown dropout schedule '%s' (constant, layer-decay or step-decay)", schedule);
    int task_id = task ? ad_task_lookup(task) : AD_TASK_MARKOV;
    if (task_id < 0) return cli_die_usage("train ", "unknown task '%s' (known: markov, copy, recall)", task);
    if (threads > 0) ad_set_threads(threads);

    train_job j;
    memset(&j, 0, sizeof j);
    j.out = out;
    j.resume = resume;
    j.lock = -1;
    j.batch = sh.batch; j.max_iters = max_iters; j.eval_interval = eval_interval; j.eval_iters = eval_iters;
    j.task_chars = task_chars; j.ckpt_interval = ckpt_interval; j.seed = seed;
    size_t path_len = strlen(out) + 32;
    j.ckpt = malloc(path_len); j.state = malloc(path_len); j.logp = malloc(path_len);
    if (!j.ckpt || !j.state || !j.logp) { rc = EXIT_INPUT; fprintf(stderr, "%s: out of memory\n", cli_prog); goto done; }
    snprintf(j.ckpt, path_len, "%s/model.safetensors", out);
    snprintf(j.state, path_len, "%s/train_state.safetensors", out);
    snprintf(j.logp, path_len, "%s/log.csv", out);
    int finished = 0;
    if (cli_mpi_rank() == 0) { /* under mpirun, rank 0 alone reads and writes the run's files */
        cfg.block_size = sh.block;
        cfg.n_embd = sh.n_embd;
        cfg.n_head = sh.n_head;
        cfg.n_layer = sh.n_layer;
        cfg.dropout = (float)dropout;
        cfg.scheme = (ad_scheme)scheme_id;
        cfg.attn_dropout = (float)(attn_dropout >= 0.0 ? attn_dropout : dropout);
        cfg.schedule = (ad_schedule)schedule_id;
        j.cfg = cfg;
        rc = resume ? job_resume(&j, cli_opt_given(&max_iters) ? max_iters : 0, &finished)
                    : job_start(&j, data, task_id, lr, overwrite);
    }
    if (cli_mpi_size() > 1) rc = share_job(&j, rc, &finished);
    if (!rc && !finished && device_id != AD_DEVICE_CPU) { /* the model, new or resumed, goes to the GPU */
        ad_error err = {0};
        if (ad_model_set_device(j.m, (ad_device)device_id, &err)) rc = cli_die_status(&err, NULL);
    }
    if (!rc && !finished) rc = job_train(&j);
done:
    if (j.lock >= 0) close(j.lock);
    free(j.ckpt);
    free(j.state);
    free(j.logp);
    ad_model_free(j.m);
    ad_dataset_free(&j.ds);
    return rc;
}
