/* main.c - the attndrop command-line tool: train, sample and eval. It uses
 * only the public header; every failure is one line on stderr and a non-zero
 * exit (1: bad usage, 2: bad input or I/O, 3: numerical failure). */
#include "attndrop.h"
#include "opts.h"
#include "study.h"
#include "atomic.h"
#include "lock.h"
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


static int die_status(const ad_error *e, const char *hint) {
    fprintf(stderr, "%s: %s%s%s\n", cli_prog, e->msg, hint ? "; " : "", hint ? hint : "");
    return e->status == AD_ERR_NUMERIC ? EXIT_NUMERIC : e->status == AD_ERR_ARG ? EXIT_USAGE : EXIT_INPUT;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ----------------------------------------------------------- progress */

typedef struct {
    int tty;
    double last_draw;
} progress;

static void progress_draw(progress *p, long step, long total, float loss, double tok_s, double eta, int force) {
    double t = now_s();
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
    FILE *in = fopen(path, "r");
    atomic_file af;
    FILE *out = atomic_open(&af, path);
    if (!out) {
        fprintf(stderr, "%s: cannot rewrite '%s': %s\n", cli_prog, path, strerror(errno));
        if (in) fclose(in);
        return EXIT_INPUT;
    }
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
    if (atomic_close(&af) != 0) {
        fprintf(stderr, "%s: cannot rewrite '%s': %s; it is unchanged\n", cli_prog, path, strerror(errno));
        return EXIT_INPUT;
    }
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
        return die_status(&err, "--resume needs the train_state.safetensors of an earlier run in --out");
    ad_model_free(j->m);
    j->m = NULL;
    ad_vocab_free(&rv);
    if (!parse_run_args(j->st.run_args, &j->batch, &j->max_iters, &j->eval_interval, &j->eval_iters, &j->task_chars,
                        &hash)) {
        fprintf(stderr, "%s: %s: its run settings are missing or invalid; cannot resume\n", cli_prog, j->state);
        return EXIT_INPUT;
    }
    if ((s = ad_train_state_load(&j->m, &rv, &j->st, j->state, j->batch, &err))) return die_status(&err, NULL);
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
        rc = die_status(&err, "the run's data must still be there");
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
    if (load_data(&j->ds, data, (ad_task)task_id, j->task_chars, j->seed, &err)) return die_status(&err, NULL);
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
        return die_status(&err, "try a smaller --batch-size, --block-size or --n-embd");
    return 0;
}

/* Trains j from its step to j->max_iters: the log, evaluations, interval
 * saves, SIGINT/SIGTERM, and the final save. An exit code. */
static int job_train(train_job *j) {
    ad_error err = {0};
    ad_status s;
    int rc = 0, block = j->cfg.block_size;
    FILE *log = NULL;
    int *xb = malloc((size_t)j->batch * block * sizeof(int)), *yb = malloc((size_t)j->batch * block * sizeof(int));
    if (!xb || !yb) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    /* rows past the saved step come from steps that are lost and will run again: drop them */
    long logged = -1; /* the step of the log's last row */
    int dropped = 0;
    if (j->resume && (rc = rebuild_log(j->logp, j->st.step, &logged, &dropped))) goto done;
    if (dropped) fprintf(stderr, "%s: %s had %d cut or damaged line%s; rebuilt with the rows up to step %ld\n", cli_prog,
                         j->logp, dropped, dropped > 1 ? "s" : "", logged);
    log = fopen(j->logp, j->resume ? "a" : "w");
    if (!log) { fprintf(stderr, "%s: cannot write '%s': %s\n", cli_prog, j->logp, strerror(errno)); rc = EXIT_INPUT; goto done; }
    if (!j->resume) fputs(LOG_HEADER, log);
    fflush(log);
    printf("%.2f M parameters, vocabulary of %d characters, %zu training tokens, %d threads\n",
           (double)ad_model_num_params(j->m) / 1e6, j->cfg.vocab_size, j->ds.n_train, ad_get_threads());
    printf("attention dropout: %s at p=%g (%s), dropout elsewhere %g\n", ad_scheme_get(j->cfg.scheme)->name,
           (double)j->cfg.attn_dropout, ad_schedule_name(j->cfg.schedule), (double)j->cfg.dropout);
    if (j->resume) printf("resuming at step %ld of %d\n", j->st.step, j->max_iters);
    fflush(stdout);

    /* a signal ends the run at the next step boundary, with everything saved;
     * a file-size limit makes writes fail with an error instead of killing us */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART; /* a signal must not cut a write short */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);

    ad_model_set_total_steps(j->m, j->max_iters);
    progress pr = {isatty(2), 0.0};
    double t0 = now_s(), train_time = 0.0, train_time_at_row = 0.0;
    long tokens_at_row = 0, tokens = 0;
    float loss = 0.0f;
    long start = j->st.step; /* an interval save follows its step's evaluation: do not log that row twice */
    for (long iter = start; iter < j->max_iters; iter++) {
        if (stop_signal) {
            progress_clear(&pr);
            j->st.step = iter;
            if ((s = save_run(j->m, &j->ds.vocab, &j->st, j->state, j->ckpt, &err))) { rc = die_status(&err, NULL); goto done; }
            fprintf(stderr, "%s: stopped by %s after step %ld of %d; saved %s and %s; continue with "
                            "'%s train --resume --out %s'\n", cli_prog, stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
                    iter, j->max_iters, j->state, j->ckpt, cli_prog, j->out);
            rc = 128 + stop_signal;
            goto done;
        }
        if ((iter % j->eval_interval == 0 || iter == j->max_iters - 1) && !(iter == start && logged == start)) {
            float tl, vl;
            if ((s = ad_estimate_loss(j->m, &j->ds, j->batch, j->eval_iters, j->seed, (uint64_t)iter, xb, yb, &tl, &vl, &err))) {
                progress_clear(&pr);
                rc = die_status(&err, NULL);
                goto done;
            }
            double dt = train_time - train_time_at_row;
            double tps = dt > 0 ? (double)(tokens - tokens_at_row) / dt : 0.0;
            progress_clear(&pr);
            printf("step %ld: train loss %.4f, val loss %.4f\n", iter, (double)tl, (double)vl);
            fflush(stdout);
            fprintf(log, "%ld,%.6f,%.6f,%.3f,%.1f\n", iter, (double)tl, (double)vl, now_s() - t0, tps);
            fflush(log);
            train_time_at_row = train_time;
            tokens_at_row = tokens;
        }
        double ts = now_s();
        ad_get_batch(j->ds.ids, j->ds.n_train, j->batch, block, j->seed, AD_RNG_BATCH, (uint32_t)iter, 0, xb, yb);
        s = ad_model_forward(j->m, xb, yb, j->batch, block, 1, j->seed, (uint64_t)iter, &loss, &err);
        if (!s) {
            ad_model_backward(j->m);
            s = ad_model_check_grads(j->m, &err);
        }
        if (s) {
            progress_clear(&pr);
            fprintf(stderr, "%s: training diverged at step %ld: %s; the last saved state is kept "
                            "(try a smaller --learning-rate)\n", cli_prog, iter, err.msg);
            rc = EXIT_NUMERIC;
            goto done;
        }
        /* save here, before the update: the state of `iter` steps has just given a finite
         * loss and gradients, so a run that diverges later keeps a state that works */
        if (j->ckpt_interval > 0 && iter > start && iter % j->ckpt_interval == 0) {
            j->st.step = iter;
            double tsave = now_s();
            if ((s = save_run(j->m, &j->ds.vocab, &j->st, j->state, j->ckpt, &err))) {
                progress_clear(&pr);
                rc = die_status(&err, NULL);
                goto done;
            }
            ts += now_s() - tsave; /* saving is not training time */
        }
        ad_model_adamw_step(j->m, &j->st.opt, iter + 1);
        train_time += now_s() - ts;
        tokens += (long)j->batch * block;
        double tps = (double)tokens / train_time;
        progress_draw(&pr, iter + 1, j->max_iters, loss, tps, (double)(j->max_iters - iter - 1) * j->batch * block / tps,
                      iter + 1 == j->max_iters);
    }
    progress_clear(&pr);
    j->st.step = j->max_iters;
    if ((s = save_run(j->m, &j->ds.vocab, &j->st, j->state, j->ckpt, &err))) {
        rc = die_status(&err, NULL);
        goto done;
    }
    printf("saved %s (%.1f s)\n", j->ckpt, now_s() - t0);
done:
    if (log) fclose(log);
    free(xb);
    free(yb);
    return rc;
}

static int cmd_train(int argc, char **argv) {
    ad_config cfg = ad_config_default();
    int batch = 64, block = cfg.block_size, n_embd = cfg.n_embd, n_head = cfg.n_head, n_layer = cfg.n_layer;
    int max_iters = 5000, eval_interval = 500, eval_iters = 200, threads = 0, task_chars = 200000;
    int resume = 0, overwrite = 0, ckpt_interval = 0;
    double dropout = cfg.dropout, lr = 3e-4, attn_dropout = -1.0;
    uint64_t seed = 1337;
    const char *data = NULL, *task = NULL, *out = "out", *scheme = "standard", *schedule = "constant";
    opt opts[] = {
        {"data", OPT_STR, &data, 0, 0, "UTF-8 text file to train on (first 90% train, last 10% val)"},
        {"task", OPT_STR, &task, 0, 0, "built-in text instead of --data: markov (the default), copy, recall"},
        {"task-chars", OPT_INT, &task_chars, 1000, 100000000, "length of the built-in text (200000)"},
        {"batch-size", OPT_INT, &batch, 1, 65536, "sequences per step (64)"},
        {"block-size", OPT_INT, &block, 1, 8192, "context length (256)"},
        {"n-embd", OPT_INT, &n_embd, 1, 65536, "embedding width (384)"},
        {"n-head", OPT_INT, &n_head, 1, 65536, "attention heads (6)"},
        {"n-layer", OPT_INT, &n_layer, 1, 1024, "blocks (6)"},
        {"dropout", OPT_FLOAT, &dropout, 0, 0.999999, "dropout probability in [0,1) (0.2)"},
        {"scheme", OPT_STR, &scheme, 0, 0, "attention-dropout scheme (standard; see 'attndrop schemes')"},
        {"attn-dropout", OPT_FLOAT, &attn_dropout, 0, 0.999999, "the scheme's p (default: --dropout)"},
        {"dropout-schedule", OPT_STR, &schedule, 0, 0, "constant, layer-decay or step-decay (constant)"},
        {"learning-rate", OPT_FLOAT, &lr, 1e-12, 1e3, "AdamW learning rate (3e-4)"},
        {"max-iters", OPT_INT, &max_iters, 1, 100000000, "training steps (5000)"},
        {"eval-interval", OPT_INT, &eval_interval, 1, 100000000, "steps between evaluations (500)"},
        {"eval-iters", OPT_INT, &eval_iters, 1, 1000000, "batches per split in each evaluation (200)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed of every random draw (1337)"},
        {"threads", OPT_INT, &threads, 1, 4096, "threads (default: all cores)"},
        {"out", OPT_STR, &out, 0, 0, "output directory (out)"},
        {"checkpoint-interval", OPT_INT, &ckpt_interval, 0, 100000000, "also save every N steps, once they prove finite (0: at the end only)"},
        {"resume", OPT_FLAG, &resume, 0, 0, "continue the run saved in --out, with its own settings"},
        {"overwrite", OPT_FLAG, &overwrite, 0, 0, "replace a run already saved in --out"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help, rc;
    if ((rc = cli_parse_opts("train ", opts, n_opts, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s train [--data FILE | --task markov|copy|recall] [options]\n"
               "       %s train --resume --out DIR\n\n"
               "Trains gpt.py's model and writes OUT/model.safetensors, OUT/train_state.safetensors\n"
               "and OUT/log.csv (step,train_loss,val_loss,elapsed_s,tokens_per_s). SIGINT or SIGTERM\n"
               "finishes the current step, saves and exits; --resume continues exactly where it stopped.\n\n"
               "options:\n", cli_prog, cli_prog);
        cli_print_opts(opts, n_opts);
        return 0;
    }
    if (data && task) return cli_die_usage("train ", "give either --data or --task, not both");
    if (resume && overwrite) return cli_die_usage("train ", "give either --resume or --overwrite, not both");
    if (resume) /* a resumed run keeps its own settings: say so rather than ignore a flag */
        for (int k = 0; k < n_opts; k++) {
            const char *nm = opts[k].name;
            if (cli_opt_given(opts[k].dst) && strcmp(nm, "resume") && strcmp(nm, "out") && strcmp(nm, "max-iters") &&
                strcmp(nm, "threads") && strcmp(nm, "checkpoint-interval"))
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
    j.batch = batch; j.max_iters = max_iters; j.eval_interval = eval_interval; j.eval_iters = eval_iters;
    j.task_chars = task_chars; j.ckpt_interval = ckpt_interval; j.seed = seed;
    size_t path_len = strlen(out) + 32;
    j.ckpt = malloc(path_len); j.state = malloc(path_len); j.logp = malloc(path_len);
    if (!j.ckpt || !j.state || !j.logp) { rc = EXIT_INPUT; fprintf(stderr, "%s: out of memory\n", cli_prog); goto done; }
    snprintf(j.ckpt, path_len, "%s/model.safetensors", out);
    snprintf(j.state, path_len, "%s/train_state.safetensors", out);
    snprintf(j.logp, path_len, "%s/log.csv", out);
    if (resume) {
        int finished = 0;
        rc = job_resume(&j, cli_opt_given(&max_iters) ? max_iters : 0, &finished);
        if (rc || finished) goto done;
    } else {
        cfg.block_size = block;
        cfg.n_embd = n_embd;
        cfg.n_head = n_head;
        cfg.n_layer = n_layer;
        cfg.dropout = (float)dropout;
        cfg.scheme = (ad_scheme)scheme_id;
        cfg.attn_dropout = (float)(attn_dropout >= 0.0 ? attn_dropout : dropout);
        cfg.schedule = (ad_schedule)schedule_id;
        j.cfg = cfg;
        if ((rc = job_start(&j, data, task_id, lr, overwrite))) goto done;
    }
    rc = job_train(&j);
done:
    if (j.lock >= 0) close(j.lock);
    free(j.ckpt);
    free(j.state);
    free(j.logp);
    ad_model_free(j.m);
    ad_dataset_free(&j.ds);
    return rc;
}

/* ------------------------------------------------------------- sample */

static int cmd_sample(int argc, char **argv) {
    const char *ckpt = NULL, *prompt = NULL;
    int max_new = 500, top_k = 0, threads = 0, no_cache = 0;
    double temperature = 1.0;
    uint64_t seed = 1337;
    opt opts[] = {
        {"ckpt", OPT_STR, &ckpt, 0, 0, "checkpoint (model.safetensors) to sample from"},
        {"prompt", OPT_STR, &prompt, 0, 0, "text to continue (default: token 0, as gpt.py)"},
        {"max-new-tokens", OPT_INT, &max_new, 0, 10000000, "characters to generate (500)"},
        {"temperature", OPT_FLOAT, &temperature, 0, 1e6, "softmax temperature; 0 is greedy (1.0)"},
        {"top-k", OPT_INT, &top_k, 0, 1114112, "sample among the k most likely (0: all)"},
        {"seed", OPT_U64, &seed, 0, 0, "sampling seed (1337)"},
        {"threads", OPT_INT, &threads, 1, 4096, "threads (default: all cores)"},
        {"no-cache", OPT_FLAG, &no_cache, 0, 0, "recompute the whole context for every token, as gpt.py"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help, rc;
    if ((rc = cli_parse_opts("sample ", opts, n_opts, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s sample --ckpt FILE [options]\n\nWrites the generated text, prompt included, to stdout.\n\noptions:\n", cli_prog);
        cli_print_opts(opts, n_opts);
        return 0;
    }
    if (!ckpt) return cli_die_usage("sample ", "--ckpt is required");
    if (threads > 0) ad_set_threads(threads);
    ad_error err = {0};
    ad_model *m;
    ad_vocab v;
    if (ad_checkpoint_load(&m, &v, ckpt, 1, 0, &err)) return die_status(&err, NULL);
    int n_ctx = 1;
    int *ctx = NULL;
    uint32_t *cps = NULL;
    rc = 0;
    if (prompt) {
        size_t n;
        if (ad_utf8_decode(prompt, strlen(prompt), &cps, &n, &err)) { rc = die_status(&err, NULL); goto done; }
        if (n == 0 || n > 100000000) { rc = cli_die_usage("sample ", "the prompt must hold 1 to 1e8 characters"); goto done; }
        n_ctx = (int)n;
    }
    ctx = malloc(((size_t)n_ctx + (size_t)max_new) * sizeof(int));
    if (!ctx) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    if (prompt) {
        if (ad_vocab_encode(&v, cps, (size_t)n_ctx, ctx, &err)) {
            rc = die_status(&err, "the prompt may only use characters of the training text");
            goto done;
        }
    } else {
        ctx[0] = 0;
    }
    ad_sample_opts so = {(float)temperature, top_k, seed, no_cache};
    if (ad_generate(m, ctx, n_ctx, max_new, &so, ctx, &err)) { rc = die_status(&err, NULL); goto done; }
    for (int i = 0; i < n_ctx + max_new; i++) {
        char buf[4];
        fwrite(buf, 1, (size_t)ad_utf8_put(buf, v.chars[ctx[i]]), stdout);
    }
    fputc('\n', stdout);
    if (fflush(stdout) != 0) { fprintf(stderr, "%s: cannot write the sample: %s\n", cli_prog, strerror(errno)); rc = EXIT_INPUT; }
done:
    free(ctx);
    free(cps);
    ad_model_free(m);
    ad_vocab_free(&v);
    return rc;
}

/* --------------------------------------------------------------- eval */

static int cmd_eval(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL;
    int eval_iters = 200, batch = 64, threads = 0;
    uint64_t seed = 1337;
    opt opts[] = {
        {"ckpt", OPT_STR, &ckpt, 0, 0, "checkpoint (model.safetensors)"},
        {"data", OPT_STR, &data, 0, 0, "UTF-8 text, split 90/10 as in training"},
        {"eval-iters", OPT_INT, &eval_iters, 1, 1000000, "batches per split (200)"},
        {"batch-size", OPT_INT, &batch, 1, 65536, "sequences per batch (64)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed of the evaluation batches (1337)"},
        {"threads", OPT_INT, &threads, 1, 4096, "threads (default: all cores)"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help, rc;
    if ((rc = cli_parse_opts("eval ", opts, n_opts, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s eval --ckpt FILE --data FILE [options]\n\nPrints the mean train and val loss, dropout off.\n\noptions:\n", cli_prog);
        cli_print_opts(opts, n_opts);
        return 0;
    }
    if (!ckpt || !data) return cli_die_usage("eval ", "--ckpt and --data are required");
    if (threads > 0) ad_set_threads(threads);
    ad_error err = {0};
    ad_model *m;
    ad_vocab v;
    if (ad_checkpoint_load(&m, &v, ckpt, batch, 0, &err)) return die_status(&err, NULL);
    ad_dataset ds;
    if (ad_dataset_load(&ds, data, &v, &err)) {
        ad_model_free(m);
        ad_vocab_free(&v);
        return die_status(&err, "the data may only use characters of the checkpoint's training text");
    }
    int T = ad_model_config(m)->block_size;
    int *xb = malloc((size_t)batch * T * sizeof(int)), *yb = malloc((size_t)batch * T * sizeof(int));
    float tl, vl;
    rc = 0;
    if (!xb || !yb) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; }
    else if (ad_estimate_loss(m, &ds, batch, eval_iters, seed, 0, xb, yb, &tl, &vl, &err)) rc = die_status(&err, NULL);
    else printf("train loss %.4f, val loss %.4f\n", (double)tl, (double)vl);
    free(xb);
    free(yb);
    ad_dataset_free(&ds);
    ad_model_free(m);
    ad_vocab_free(&v);
    return rc;
}

/* --------------------------------------------------------------- text */

static int cmd_text(int argc, char **argv) {
    const char *task = "markov";
    int chars = 200000, entropy = 0;
    uint64_t seed = 1337;
    opt opts[] = {
        {"task", OPT_STR, &task, 0, 0, "built-in task: markov (the default), copy, recall"},
        {"task-chars", OPT_INT, &chars, 1, 1000000000, "characters to write (200000)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed that fixes the chain and the text (1337)"},
        {"entropy", OPT_FLAG, &entropy, 0, 0, "print the task's exact entropy rate (nats/char) instead"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help, rc;
    if ((rc = cli_parse_opts("text ", opts, n_opts, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s text [--task markov|copy|recall] [options]\n\nWrites a built-in task's text to stdout, exactly as "
               "'train --task' uses it,\nso that other tools can train on the same data.\n\noptions:\n", cli_prog);
        cli_print_opts(opts, n_opts);
        return 0;
    }
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

/* -------------------------------------------------------- stats, demo */

static int parse_scheme(const char *cmd, const char *name, int *out) {
    *out = ad_scheme_lookup(name);
    if (*out < 0) return cli_die_usage(cmd, "unknown scheme '%s' (see '%s schemes')", name, cli_prog);
    return 0;
}

static int parse_attention(const char *cmd, const char *name, int *bidirectional) {
    if (strcmp(name, "causal") == 0) *bidirectional = 0;
    else if (strcmp(name, "bidirectional") == 0) *bidirectional = 1;
    else return cli_die_usage(cmd, "--attention must be causal or bidirectional, got '%s'", name);
    return 0;
}

static void print_num(double v, int csv) {
    if (isnan(v)) printf(csv ? "n/a" : "%12s", "n/a");
    else printf(csv ? "%.8g" : "%12.6g", v);
}

static int cmd_stats(int argc, char **argv) {
    const char *scheme = "standard", *attention = "causal", *format = "table";
    double p = 0.5, logit_std = 1.0;
    int T = 8, H = 4, L = 4, trials = 100000;
    uint64_t seed = 1337;
    opt opts[] = {
        {"scheme", OPT_STR, &scheme, 0, 0, "scheme (standard)"},
        {"p", OPT_FLOAT, &p, 0, 0.999999, "dropout probability (0.5)"},
        {"block-size", OPT_INT, &T, 1, 4096, "positions T (8)"},
        {"n-head", OPT_INT, &H, 1, 1024, "heads per layer (4)"},
        {"n-layer", OPT_INT, &L, 1, 1024, "layers (4)"},
        {"trials", OPT_INT, &trials, 1, 1000000000, "Monte Carlo sequences (100000)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed (1337)"},
        {"logit-std", OPT_FLOAT, &logit_std, 0, 100, "Monte Carlo logits ~ N(0, s^2); 0: uniform weights (1)"},
        {"attention", OPT_STR, &attention, 0, 0, "causal or bidirectional (causal)"},
        {"format", OPT_STR, &format, 0, 0, "table, csv or json (table)"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help, rc, sc, bidir;
    if ((rc = cli_parse_opts("stats ", opts, n_opts, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s stats [options]\n\nWhat a scheme does to attention rows, per position: exact and Monte Carlo.\n\noptions:\n", cli_prog);
        cli_print_opts(opts, n_opts);
        return 0;
    }
    if ((rc = parse_scheme("stats ", scheme, &sc)) || (rc = parse_attention("stats ", attention, &bidir))) return rc;
    int fmt = strcmp(format, "table") == 0 ? 0 : strcmp(format, "csv") == 0 ? 1 : strcmp(format, "json") == 0 ? 2 : -1;
    if (fmt < 0) return cli_die_usage("stats ", "--format must be table, csv or json, got '%s'", format);
    ad_stats_opts so = {(ad_scheme)sc, (float)p, T, H, L, trials, seed, bidir, logit_std};
    ad_stats st;
    ad_error err = {0};
    if (ad_stats_compute(&st, &so, &err)) return die_status(&err, NULL);
    const double *cols[9] = {st.p_zero_exact, st.p_zero_mc, st.p_allheads_zero_exact, st.p_allheads_zero_mc,
                             st.row_sum_mean_exact, st.row_sum_mean_mc, st.row_sum_var_exact, st.row_sum_var_mc, st.bias_mc};
    static const char *names[9] = {"p_zero_exact", "p_zero_mc", "p_allheads_zero_exact", "p_allheads_zero_mc",
                                   "row_sum_mean_exact", "row_sum_mean_mc", "row_sum_var_exact", "row_sum_var_mc", "bias_mc"};
    if (fmt == 2) {
        printf("{\"scheme\":\"%s\",\"p\":%.9g,\"block_size\":%d,\"n_head\":%d,\"n_layer\":%d,\"trials\":%d,"
               "\"attention\":\"%s\",\"logit_std\":%.9g,\"positions\":[", scheme, p, T, H, L, trials, attention, logit_std);
        for (int i = 0; i < T; i++) {
            printf("%s{\"pos\":%d", i ? "," : "", i);
            for (int k = 0; k < 9; k++) {
                if (isnan(cols[k][i])) printf(",\"%s\":null", names[k]);
                else printf(",\"%s\":%.9g", names[k], cols[k][i]);
            }
            printf("}");
        }
        printf("],\"zero_rows_per_sequence_head\":%.9g,\"zero_rows_per_sequence_head_mc\":%.9g,"
               "\"zero_rows_per_sequence_layer\":%.9g,\"zero_rows_per_sequence_model\":%.9g,",
               st.zero_rows_per_head, st.zero_rows_per_head_mc, st.zero_rows_per_layer, st.zero_rows_per_model);
        if (isnan(st.p_any_zero_output)) printf("\"p_any_zero_output\":null}\n");
        else printf("\"p_any_zero_output\":%.9g}\n", st.p_any_zero_output);
    } else {
        if (fmt == 0)
            printf("scheme %s, p=%g, T=%d, H=%d, L=%d, %s attention, %d Monte Carlo sequences, logits N(0, %g^2)\n",
                   scheme, p, T, H, L, attention, trials, logit_std);
        printf(fmt ? "pos" : "%4s", "pos");
        for (int k = 0; k < 9; k++) printf(fmt ? ",%s" : " %12.12s", names[k]);
        printf("\n");
        for (int i = 0; i < T; i++) {
            printf(fmt ? "%d" : "%4d", i);
            for (int k = 0; k < 9; k++) {
                printf(fmt ? "," : " ");
                print_num(cols[k][i], fmt);
            }
            printf("\n");
        }
        if (fmt == 0) {
            printf("expected all-zero rows per sequence: per head %.6g (Monte Carlo %.6g), per layer %.6g, per model %.6g\n",
                   st.zero_rows_per_head, st.zero_rows_per_head_mc, st.zero_rows_per_layer, st.zero_rows_per_model);
            if (isnan(st.p_any_zero_output))
                printf("P(some token's attention output is zero in some layer): n/a\n");
            else
                printf("P(some token's attention output is zero in some layer): %.6g\n", st.p_any_zero_output);
        }
    }
    ad_stats_free(&st);
    return 0;
}

static int cmd_demo(int argc, char **argv) {
    const char *scheme = "standard", *attention = "causal", *format = "text";
    double p = 0.5;
    int T = 4, dim = 10;
    uint64_t seed = 1367149;
    opt opts[] = {
        {"scheme", OPT_STR, &scheme, 0, 0, "scheme (standard)"},
        {"p", OPT_FLOAT, &p, 0, 0.999999, "dropout probability (0.5)"},
        {"block-size", OPT_INT, &T, 1, 64, "size of the similarity matrix (4)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed (1367149)"},
        {"attention", OPT_STR, &attention, 0, 0, "causal or bidirectional (causal)"},
        {"format", OPT_STR, &format, 0, 0, "text or json (text)"},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help, rc, sc, bidir;
    if ((rc = cli_parse_opts("demo ", opts, n_opts, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s demo [options]\n\nThe source's toy: random causal similarities, dropout, times random values;\n"
               "rows that come out all zero are marked.\n\noptions:\n", cli_prog);
        cli_print_opts(opts, n_opts);
        return 0;
    }
    if ((rc = parse_scheme("demo ", scheme, &sc)) || (rc = parse_attention("demo ", attention, &bidir))) return rc;
    int json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "text") != 0) return cli_die_usage("demo ", "--format must be text or json, got '%s'", format);
    double sim[64 * 64], drop[64 * 64], val[64 * 10], prod[64 * 10];
    ad_rng r = ad_rng_stream(seed, AD_RNG_TEST, 0, 0, 0), rv = ad_rng_stream(seed, AD_RNG_TEST, 1, 0, 0);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) sim[i * T + j] = (bidir || j <= i) ? ad_rng_uniform(&r, (uint64_t)(i * T + j)) : 0.0;
    for (int i = 0; i < T * dim; i++) val[i] = ad_rng_uniform(&rv, (uint64_t)i);
    ad_drop_site site = {(ad_scheme)sc, (float)p, seed, 0, 0, 1, T, bidir};
    for (int i = 0; i < T; i++) {
        int n = bidir ? T : i + 1;
        ad_drop_row(&site, 0, 0, i, sim + i * T, drop + i * T);
        for (int j = n; j < T; j++) drop[i * T + j] = 0.0;
    }
    int zero[64], nzero = 0;
    for (int i = 0; i < T; i++) {
        zero[i] = 1;
        for (int c = 0; c < dim; c++) {
            double acc = 0.0;
            for (int j = 0; j < T; j++) acc += drop[i * T + j] * val[j * dim + c];
            prod[i * dim + c] = acc;
            if (acc != 0.0) zero[i] = 0;
        }
        nzero += zero[i];
    }
    const double *mats[4] = {sim, drop, val, prod};
    static const char *mnames[4] = {"similarities", "after_dropout", "values", "product"};
    int rows[4] = {T, T, T, T}, cols[4] = {T, T, dim, dim};
    if (json) {
        printf("{\"scheme\":\"%s\",\"p\":%.9g,\"block_size\":%d,\"seed\":%llu,\"attention\":\"%s\"", scheme, p, T,
               (unsigned long long)seed, attention);
        for (int k = 0; k < 4; k++) {
            printf(",\"%s\":[", mnames[k]);
            for (int i = 0; i < rows[k]; i++) {
                printf("%s[", i ? "," : "");
                for (int j = 0; j < cols[k]; j++) printf("%s%.9g", j ? "," : "", mats[k][i * cols[k] + j]);
                printf("]");
            }
            printf("]");
        }
        printf(",\"zero_rows\":[");
        for (int i = 0, first = 1; i < T; i++)
            if (zero[i]) { printf("%s%d", first ? "" : ",", i); first = 0; }
        printf("]}\n");
        return 0;
    }
    printf("scheme %s, p=%g, %s attention, seed %llu\n", scheme, p, attention, (unsigned long long)seed);
    for (int k = 0; k < 4; k++) {
        printf("\n%s (%d x %d)%s\n", mnames[k], rows[k], cols[k], k == 1 && ad_scheme_get((ad_scheme)sc)->where == AD_WHERE_PRE
               ? ": survivors renormalised, as masking their logits does" : "");
        for (int i = 0; i < rows[k]; i++) {
            for (int j = 0; j < cols[k]; j++) printf(" %7.4f", mats[k][i * cols[k] + j]);
            if (k == 3 && zero[i]) printf("   <- all zero: token %d's head output is 0", i);
            printf("\n");
        }
    }
    printf("\n%d of %d rows all zero\n", nzero, T);
    return 0;
}

/* ------------------------------------------------------------ schemes */

static int cmd_schemes(int argc, char **argv) {
    opt opts[1];
    int help, rc;
    if ((rc = cli_parse_opts("schemes ", opts, 0, argc, argv, &help))) return rc;
    if (help) {
        printf("usage: %s schemes\n\nLists the attention-dropout schemes of --scheme.\n", cli_prog);
        return 0;
    }
    static const char *where[3] = {"after softmax", "before softmax", "input"};
    for (int i = 0; i < AD_SCHEME_COUNT; i++) {
        const ad_scheme_info *si = ad_scheme_get((ad_scheme)i);
        printf("%-11s %-14s %s\n", si->name, where[si->where], si->description);
    }
    return 0;
}

/* --------------------------------------------------------------- main */

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
