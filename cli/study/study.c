/* study.c - `attndrop study`: the grid of settings x (scheme, p) cells x
 * seeds, its data, the worker processes that train it resumably, the timing
 * phase, and the report (report.c). */
#include "study.h"
#include "../cli.h"
#include "report.h"
#include "../lock.h"
#include "../mpi.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The entropy (nats) of the text's characters: the loss of the best model
 * that sees no context. */
static double unigram_entropy(const ad_dataset *d) {
    int V = d->vocab.size;
    double *c1 = calloc((size_t)V, sizeof *c1), e1 = 0.0, n = (double)d->n;
    if (!c1) return NAN;
    for (size_t i = 0; i < d->n; i++) c1[d->ids[i]] += 1.0;
    for (int a = 0; a < V; a++)
        if (c1[a] > 0) e1 -= c1[a] / n * log(c1[a] / n);
    free(c1);
    return e1;
}

/* The validation loss (nats) of a bigram model fitted to the training split
 * with add-1/2 counts: what counting character pairs of the same data
 * achieves, the bar a model must pass to have learned more than that. */
static double bigram_val_loss(const ad_dataset *d) {
    int V = d->vocab.size;
    double *c2 = calloc((size_t)V * V, sizeof *c2), *row = calloc((size_t)V, sizeof *row), loss = 0.0;
    if (!c2 || !row) { free(c2); free(row); return NAN; }
    for (size_t i = 1; i < d->n_train; i++) { c2[(size_t)d->ids[i - 1] * V + d->ids[i]] += 1.0; row[d->ids[i - 1]] += 1.0; }
    for (size_t i = d->n_train + 1; i < d->n; i++) {
        int a = d->ids[i - 1], b = d->ids[i];
        loss -= log((c2[(size_t)a * V + b] + 0.5) / (row[a] + 0.5 * V));
    }
    free(c2);
    free(row);
    return loss / (double)(d->n - d->n_train - 1);
}

/* Keeps the first `keep` tokens of the training split and the whole
 * validation split (the vocabulary is the full text's). */
static void cut_train(ad_dataset *d, long keep) {
    if (keep <= 0 || (size_t)keep >= d->n_train) return;
    size_t n_val = d->n - d->n_train;
    memmove(d->ids + keep, d->ids + d->n_train, n_val * sizeof *d->ids);
    d->n_train = (size_t)keep;
    d->n = (size_t)keep + n_val;
}

/* Loads every setting's data and checks it fits the model; an exit code. */
static int load_data(study_spec *sp, ad_dataset *ds) {
    ad_error err = {0};
    for (int i = 0; i < sp->n_set; i++) {
        study_setting *st = &sp->set[i];
        ad_status s;
        if (st->task >= 0) {
            char *text = ad_task_text((ad_task)st->task, 1337, STUDY_TEXT_CHARS);
            s = text ? ad_dataset_from_text(&ds[i], text, strlen(text), NULL, &err) : AD_ERR_NOMEM;
            free(text);
            st->floor = ad_task_entropy((ad_task)st->task, 1337);
        } else {
            s = sp->data_text ? ad_dataset_from_text(&ds[i], sp->data_text, (size_t)sp->data_len, NULL, &err)
                              : ad_dataset_load(&ds[i], sp->data_path, NULL, &err);
            st->floor = NAN;
        }
        if (s) { fprintf(stderr, "%s: %s\n", cli_prog, err.msg[0] ? err.msg : "out of memory"); return EXIT_INPUT; }
        st->unigram = unigram_entropy(&ds[i]); /* of the whole text, before a cut */
        cut_train(&ds[i], st->train_chars);
        st->bigram = bigram_val_loss(&ds[i]);
        if (isnan(st->unigram) || isnan(st->bigram)) { fprintf(stderr, "%s: out of memory\n", cli_prog); return EXIT_INPUT; }
        if (ds[i].n_train <= (size_t)st->block_size || ds[i].n - ds[i].n_train <= (size_t)st->block_size) {
            fprintf(stderr, "%s: the %s text is too short for --block-size %d\n", cli_prog, st->name, st->block_size);
            return EXIT_INPUT;
        }
        st->n_train = (long)ds[i].n_train;
        st->n_val = (long)(ds[i].n - ds[i].n_train);
        st->vocab = ds[i].vocab.size;
        int n_train = (int)ds[i].n_train; /* the split is part of the data's identity */
        st->data_hash = ad_hash_ids(ad_hash_ids(AD_HASH_INIT, ds[i].ids, ds[i].n), &n_train, 1);
        /* the model must fit before hours of training begin */
        ad_config c = ad_config_default();
        c.vocab_size = ds[i].vocab.size; c.block_size = st->block_size; c.n_embd = st->n_embd;
        c.n_head = st->n_head; c.n_layer = st->n_layer;
        if (ad_config_check(&c, &err)) return cli_die_usage("study ", "%s: %s", st->name, err.msg);
    }
    return 0;
}

/* Whether DIR may receive a study: absent, empty, or holding runs/ (a study's). */
static int study_dir_ok(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 1; /* absent, or not a directory: mkdir says which */
    int ok = 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/runs", dir);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) { ok = 0; break; }
    }
    closedir(d);
    return ok;
}

/* Trains the runs whose number is `job` modulo `jobs` and that are not done. */
static int run_grid(const study_spec *sp, const ad_dataset *ds, const char *out, int job, int jobs, int n_runs,
                    double t_study) {
    char path[4096];
    int rc = 0;
    long steps_left = 0, steps_done = 0;
    int max_seeds = 0;
    for (int i = 0; i < sp->n_set; i++) max_seeds = sp->set[i].seeds > max_seeds ? sp->set[i].seeds : max_seeds;
    /* seed by seed: a study stopped early has every cell with its first seeds, not some cells with all of
     * them; the jobs share the shard's runs in turn (run numbers stay in grid order, for --shard) */
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (int s = 1, turn = 0; s <= max_seeds && !rc; s++)
            for (int i = 0, first = 0; i < sp->n_set && !rc; first += sp->set[i].n_cells * sp->set[i].seeds, i++)
                for (int c = 0; c < sp->set[i].n_cells && !rc && s <= sp->set[i].seeds; c++) {
                    int run_no = first + c * sp->set[i].seeds + s - 1;
                    if (!study_in_shard(run_no, sp->shard, sp->n_shards) || turn++ % jobs != job) continue;
                    run_key k = {i, c, s};
                    study_run_path(path, sizeof path, out, sp, &k);
                    if (access(path, F_OK) == 0) continue;
                    if (pass == 0) { steps_left += sp->set[i].max_iters; continue; }
                    double t0 = cli_now();
                    rc = study_train_run(sp, &ds[i], &k, path, run_no, n_runs, t_study);
                    steps_done += sp->set[i].max_iters;
                    steps_left -= sp->set[i].max_iters;
                    if (!isatty(2) && !rc) {
                        double el = cli_now() - t_study;
                        fprintf(stderr, "run %d/%d done: %s %s p=%g seed %d (%.0f s, %.0f s so far, ETA %.0f s)\n",
                                run_no + 1, n_runs, sp->set[i].name, ad_scheme_get((ad_scheme)sp->set[i].cell_scheme[c])->name,
                                sp->set[i].cell_p[c], s, cli_now() - t0, el, el / steps_done * steps_left);
                    }
                }
    return rc;
}

/* Counts the runs already recorded; refuses records made with other settings
 * or damaged ones (an exit code in *rc). */
static int count_done(const study_spec *sp, const char *out, int *rc) {
    char path[4096];
    int done = 0;
    for (int i = 0; i < sp->n_set; i++)
        for (int c = 0; c < sp->set[i].n_cells; c++)
            for (int s = 1; s <= sp->set[i].seeds; s++) {
                run_key k = {i, c, s};
                run_rec r;
                study_run_path(path, sizeof path, out, sp, &k);
                int got = study_read_run(path, sp, &k, &r);
                study_rec_free(&r);
                if (got == 1) done++;
                if (got == -1) {
                    fprintf(stderr, "%s: %s was made with other settings (model, steps, data or rate); use another --out, "
                                    "or delete it to redo the run\n", cli_prog, path);
                    *rc = EXIT_INPUT;
                    return done;
                }
                if (got == -2 || got == -3) {
                    fprintf(stderr, "%s: %s %s; delete it to redo the run\n", cli_prog, path,
                            got == -3 ? "is not a regular file" : "is incomplete or damaged (or holds impossible values)");
                    *rc = EXIT_INPUT;
                    return done;
                }
            }
    return done;
}

/* A worker killed by a signal (the OOM killer, kill -9) wrote no message of its own: say which run it lost
 * (its record's temporary file, named by its pid, is removed) and how to redo it. */
static void lost_worker(const char *out, int job, pid_t pid, int sig) {
    char dir[4096], lost[512] = "";
    snprintf(dir, sizeof dir, "%s/runs", out);
    DIR *d = opendir(dir);
    char mark[48];
    snprintf(mark, sizeof mark, ".%ld.", (long)pid);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        char *at = strstr(e->d_name, mark);
        if (n < 4 || strcmp(e->d_name + n - 4, ".tmp") != 0 || !at) continue;
        char path[4608];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
        if (!lost[0]) snprintf(lost, sizeof lost, "%.*s", (int)(at - e->d_name), e->d_name);
    }
    if (d) closedir(d);
    fprintf(stderr, "%s: worker %d (pid %ld) was killed by signal %d (%s)%s%s%s; the finished runs are kept: run the "
                    "same command again to redo the rest\n", cli_prog, job, (long)pid, sig,
            sig == SIGKILL ? "SIGKILL: the out-of-memory killer, or kill -9" : strsignal(sig),
            lost[0] ? " while training runs/" : "", lost, lost[0] ? ", which is lost" : "");
}

static int train_all(const study_spec *sp, const ad_dataset *ds, const char *out, int threads, int n_runs,
                     double t_study) {
    int jobs = sp->jobs, rc = 0;
    if (jobs <= 1) return run_grid(sp, ds, out, 0, 1, n_runs, t_study);
    /* small models use a core each better than two cores together: run the grid in `jobs`
     * processes, each taking every jobs-th run; results do not depend on the thread count */
    pid_t pids[16];
    int started = 0;
    fflush(stdout);
    for (int j = 0; j < jobs; j++) {
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed study takes its workers with it */
            if (getppid() == 1) _exit(EXIT_INPUT);
            ad_set_threads(threads > jobs ? threads / jobs : 1);
            _exit(run_grid(sp, ds, out, j, jobs, n_runs, t_study));
        }
        if (pid < 0) { fprintf(stderr, "%s: cannot start a worker: %s\n", cli_prog, strerror(errno)); rc = EXIT_INPUT; break; }
        pids[started++] = pid;
    }
    for (int j = 0; j < started; j++) {
        int status;
        while (waitpid(pids[j], &status, 0) < 0 && errno == EINTR) {}
        if (WIFSIGNALED(status)) lost_worker(out, j + 1, pids[j], WTERMSIG(status));
        if (!rc && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_INPUT;
    }
    return rc;
}

/* Reads DIR/timing.csv back when it times exactly the cells of set[0] with
 * the same rounds: the timing belongs to the machine, and a rerun that trains
 * nothing keeps the report's numbers. 1 if read. */
static int read_timing(const char *out, const study_spec *sp, study_timing *tm) {
    char path[4096], line[512], task[64], scheme[64];
    const study_setting *st = &sp->set[0];
    snprintf(path, sizeof path, "%s/timing.csv", out);
    FILE *f = cli_fopen_regular(path); /* a FIFO there is not waited on: no timing kept */
    if (!f) return 0;
    memset(tm, 0, sizeof *tm);
    int ok = fgets(line, sizeof line, f) != NULL, c = 0;
    while (ok && fgets(line, sizeof line, f)) {
        double p, med, lo, hi, vs;
        int rounds, steps;
        if (c >= st->n_cells ||
            sscanf(line, "%63[^,],%63[^,],%lf,%d,%d,%lf,%lf,%lf,%lf", task, scheme, &p, &rounds, &steps, &med, &lo, &hi, &vs) != 9 ||
            strcmp(task, st->name) != 0 || ad_scheme_lookup(scheme) != st->cell_scheme[c] || fabs(p - st->cell_p[c]) > 1e-9 ||
            rounds != sp->timing_rounds || !(med > 0 && lo > 0 && hi > 0)) {
            ok = 0;
            break;
        }
        tm->rounds = rounds;
        tm->steps = steps;
        tm->median[c] = med;
        tm->lo[c] = lo;
        tm->hi[c] = hi;
        c++;
    }
    fclose(f);
    ok = ok && c == st->n_cells;
    tm->n = ok ? c : 0;
    return ok;
}

/* --shard K/N, 1 <= K <= N <= 100000 */
static int parse_shard(const char *s, study_spec *sp) {
    char buf[32], *slash;
    uint64_t k, n;
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf || !(slash = strchr(buf, '/')))
        return cli_die_usage("study ", "--shard: '%s' is not K/N", s);
    *slash = '\0';
    if (!ad_parse_uint(buf, 100000, &k) || !ad_parse_uint(slash + 1, 100000, &n) || k < 1 || k > n)
        return cli_die_usage("study ", "--shard: '%s' is not K/N with 1 <= K <= N <= 100000", s);
    sp->shard = (int)k;
    sp->n_shards = (int)n;
    return 0;
}

int study_parse(int argc, char **argv, study_spec *sp, study_cmd *cmd) {
    int quick = 0, medium = 0, full = 0, scale = 0, gptpy = 0, seeds = 0, threads = 0, jobs = 0, timing = 5, overwrite = 0;
    int max_iters = 0, eval_interval = 0, eval_iters = 8;
    cli_shape sh = {32, 32, 64, 4, 2};
    int train_chars = 0;
    double lr = 3e-3, margin = 0.01;
    const char *tasks = NULL, *data = NULL, *schemes = NULL, *ps = NULL, *out = "study", *shard = NULL, *device = "cpu";
    int report_only = 0;
    opt opts[] = {
        {"quick", OPT_FLAG, &quick, 0, 0, "the default grid: markov, a small-data markov, copy, one head one layer (132 runs, about 9 minutes on 2 cores)"},
        {"medium", OPT_FLAG, &medium, 0, 0, "every scheme, the Q4 shapes and, with --data, the text (550 runs, about 1 hour on 2 cores)"},
        {"full", OPT_FLAG, &full, 0, 0, "every scheme at p 0.1, 0.2, 0.5 on every setting and recall (for clusters)"},
        {"scale", OPT_FLAG, &scale, 0, 0, "the zero-row comparisons along context, heads and layers, at gpt.py's T H L, against steps and p, and with --data in gpt.py's regime (872 runs; 902 with --data)"},
        {"gptpy", OPT_FLAG, &gptpy, 0, 0, "gpt.py exactly on --data: none, standard, nonzero, 8 seeds of 5000 steps (for a cluster or a GPU)"},
        {"task", OPT_STR, &tasks, 0, 0, "a custom grid on these tasks: markov, copy, recall (default markov)"},
        {"data", OPT_STR, &data, 0, 0, "a UTF-8 text file to study as well (settings 'text' and 'text-small')"},
        {"schemes", OPT_STR, &schemes, 0, 0, "a custom grid of these schemes, with none (default standard)"},
        {"p", OPT_STR, &ps, 0, 0, "comma-separated rates for --schemes (default 0.2)"},
        {"train-chars", OPT_INT, &train_chars, 1, 1e9, "custom grid: keep the first N characters of the training split"},
        {"seeds", OPT_INT, &seeds, 2, STUDY_MAX_SEEDS, "seeds per cell (the grid's; custom 3)"},
        {"max-iters", OPT_INT, &max_iters, 2, 100000000, "training steps per run (the grid's; custom 480)"},
        {"eval-interval", OPT_INT, &eval_interval, 1, 100000000, "steps between evaluations (max-iters/8)"},
        {"eval-iters", OPT_INT, &eval_iters, 1, 256, "batches per split per evaluation (8; at most 256: each evaluation's batches are keyed by 8 bits)"},
        CLI_OPTS_SHAPE(sh, "sequences per step (the grid's: 32)", "context length (the grid's: 32)",
                       "embedding width (the grid's: 64)", "heads (the grid's: 4)", "blocks (the grid's: 2)"),
        {"learning-rate", OPT_FLOAT, &lr, 1e-12, 10, "AdamW learning rate (the grid's: 3e-3, copy 1e-3)"},
        {"margin", OPT_FLOAT, &margin, 0, 10, "the smallest difference in val loss that matters, nats (0.01)"},
        {"timing-rounds", OPT_INT, &timing, 0, 100, "rounds of the timing phase, 0 for none (5)"},
        {"threads", OPT_INT, &threads, 1, ad_max_threads(), "threads in all (default: all cores)"},
        {"device", OPT_STR, &device, 0, 0, "cpu (the default) or cuda: every run on the GPU, one at a time (a make CUDA=1 build)"},
        {"jobs", OPT_INT, &jobs, 1, 16, "runs trained at once, in separate processes (default: one per core, at most 16)"},
        {"out", OPT_STR, &out, 0, 0, "output directory (study)"},
        {"shard", OPT_STR, &shard, 0, 0, "K/N: train only the K-th of N fixed slices of the grid (K from 1), no report"},
        {"report-only", OPT_FLAG, &report_only, 0, 0, "train nothing: the report from the runs recorded, listing those missing"},
        {"overwrite", OPT_FLAG, &overwrite, 0, 0, "write into an --out that holds files of its own (not a study's)"},
    };
    memset(cmd, 0, sizeof *cmd);
    int rc = cli_begin("study", "[--quick | --medium | --full | --scale | --gptpy | --task T --schemes S --p P] [options]",
                       "Trains the attention-dropout schemes side by side and writes OUT/report.md with its plots and\n"
                       "the CSVs behind it. Rerunning with the same --out skips the runs already done.",
                       opts, CLI_N(opts), argc, argv);
    if (rc != CLI_GO) {
        cmd->help = rc == 0;
        return rc;
    }
    int device_id = AD_DEVICE_CPU;
    if ((rc = cli_check_device("study ", device, 1, &device_id))) return rc;
    if (quick + medium + full + scale + gptpy > 1)
        return cli_die_usage("study ", "give one of --quick, --medium, --full, --scale or --gptpy, not two");
    const char *preset = quick ? "quick" : medium ? "medium" : full ? "full" : scale ? "scale" : gptpy ? "gptpy" : NULL;
    if (preset && (tasks || schemes || ps || cli_opt_given(&train_chars)))
        return cli_die_usage("study ", "--task, --schemes, --p and --train-chars make a custom grid: not with --%s", preset);
    if ((scale || gptpy) && (cli_opt_given(&sh.block) || cli_opt_given(&sh.n_head) || cli_opt_given(&sh.n_layer)))
        return cli_die_usage("study ", "the %s grid sets each setting's context, heads and layers: --block-size, --n-head "
                             "and --n-layer would collapse them (use a custom grid)", preset);
    if (gptpy && !data) return cli_die_usage("study ", "--gptpy trains on a text: give --data FILE (gpt.py's is tiny Shakespeare)");
    if (gptpy && !cli_opt_given(&eval_iters)) eval_iters = 200; /* gpt.py's */
    if (ps && !schemes) return cli_die_usage("study ", "--p needs --schemes");
    memset(sp, 0, sizeof *sp);
    if (data) {
        if (strlen(data) >= sizeof sp->data_path) return cli_die_usage("study ", "the --data path is too long");
        snprintf(sp->data_path, sizeof sp->data_path, "%s", data);
    }
    if (tasks || schemes || cli_opt_given(&train_chars)) {
        if ((rc = grid_custom(sp, tasks, schemes, ps, data != NULL, train_chars))) return rc;
    } else {
        grid_preset(sp, preset ? preset : "quick", data != NULL);
    }
    sp->eval_iters = eval_iters;
    sp->margin = margin;
    sp->timing_rounds = timing;
    for (int i = 0; i < sp->n_set; i++) {
        study_setting *st = &sp->set[i];
        if (!st->batch_size || cli_opt_given(&sh.batch)) st->batch_size = sh.batch;
        if (!st->block_size || cli_opt_given(&sh.block)) st->block_size = sh.block;
        if (!st->n_embd || cli_opt_given(&sh.n_embd)) st->n_embd = sh.n_embd;
        if (seeds) st->seeds = seeds;
        if (max_iters) st->max_iters = max_iters;
        if (max_iters || eval_interval) st->eval_interval = eval_interval ? eval_interval : (st->max_iters / 8 > 0 ? st->max_iters / 8 : 1);
        if (cli_opt_given(&lr)) st->lr = lr;
        if (cli_opt_given(&sh.n_head)) st->n_head = sh.n_head;
        if (cli_opt_given(&sh.n_layer)) st->n_layer = sh.n_layer;
        if (st->n_embd % st->n_head != 0)
            return cli_die_usage("study ", "%s: n_embd (%d) must be divisible by n_head (%d)", st->name, st->n_embd, st->n_head);
    }
    sp->jobs = jobs;
    sp->device = device_id;
    if (device_id != AD_DEVICE_CPU) {
        if (jobs > 1) return cli_die_usage("study ", "--device %s trains one run at a time: --jobs must be 1", device);
        sp->jobs = 1;
        for (int i = 0; i < sp->n_set; i++)
            if (sp->set[i].mechanism)
                return cli_die_usage("study ", "%s records the attention sink, which needs the CPU's activations: "
                                     "train it with --device cpu", sp->set[i].name);
    }
    if (shard && (rc = parse_shard(shard, sp))) return rc;
    if (shard && report_only) return cli_die_usage("study ", "give either --shard or --report-only, not both");
    cmd->report_only = report_only;
    cmd->threads = threads;
    cmd->overwrite = overwrite;
    cmd->out = out;
    return 0;
}

/* FNV-1a of every run's signature (the settings it depends on) and of the margin: what the ranks of one
 * study must agree on */
static uint64_t grid_hash(const study_spec *sp) {
    uint64_t h = 1469598103934665603ULL;
    char sig[1024];
    int n = study_total_runs(sp);
    for (int r = 0; r < n; r++) {
        run_key k = study_run_key(sp, r);
        study_run_signature(sig, sizeof sig, sp, &k);
        for (const char *c = sig; *c; c++) { h ^= (unsigned char)*c; h *= 1099511628211ULL; }
    }
    uint64_t m;
    memcpy(&m, &sp->margin, sizeof m);
    return (h ^ m) * 1099511628211ULL;
}

/* Rank 0's --data file, sent to every rank (no shared filesystem needed); an exit code. */
static int share_data(study_spec *sp, char **text) {
    long n = -1;
    *text = NULL;
    if (cli_mpi_rank() == 0) {
        ad_error err = {0};
        size_t len;
        if (ad_read_text(sp->data_path, text, &len, &err)) cli_die_status(&err, NULL);
        else n = (long)len;
    }
    cli_mpi_bcast_bytes(text, &n);
    if (n < 0) return EXIT_INPUT;
    sp->data_text = *text;
    sp->data_len = n;
    return 0;
}

/* The temporary records in DIR/runs of runs that were interrupted (record.csv.PID.N.tmp): removed. Only
 * under the directory's exclusive lock, which no shard or other study holds at the same time, so none of
 * them is being written. */
static void sweep_tmp(const char *runs) {
    DIR *d = opendir(runs);
    if (!d) return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        const char *csv = strstr(e->d_name, ".csv.");
        if (n < 10 || strcmp(e->d_name + n - 4, ".tmp") != 0 || !csv) continue;
        unsigned long pid, k;
        char tail[8];
        if (sscanf(csv, ".csv.%lu.%lu%7s", &pid, &k, tail) != 3 || strcmp(tail, ".tmp") != 0) continue;
        snprintf(p, sizeof p, "%s/%s", runs, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* The output directory made ready and locked (rank 0); an exit code. */
static int prepare_out(const char *out, int overwrite, int report_only, const study_spec *sp, int *lock, int *shard_lock) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/runs", out) >= (int)sizeof path) return cli_die_usage("study ", "the --out path is too long");
    if (report_only) { /* a report reads a study: it never makes one */
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "%s: '%s' holds no study (no runs/ directory): nothing to report\n", cli_prog, out);
            return EXIT_INPUT;
        }
        return (*lock = dir_lock(out)) < 0 ? EXIT_INPUT : 0;
    }
    if (!overwrite && !study_dir_ok(out)) {
        fprintf(stderr, "%s: '%s' holds files that are not a study's (it has no runs/); use another --out, or "
                        "--overwrite to write the study into it\n", cli_prog, out);
        return EXIT_INPUT;
    }
    if ((mkdir(out, 0755) != 0 && errno != EEXIST) || (mkdir(path, 0755) != 0 && errno != EEXIST) || access(path, W_OK) != 0) {
        fprintf(stderr, "%s: cannot write into '%s': %s\n", cli_prog, out, strerror(errno));
        return EXIT_INPUT;
    }
    if (sp->n_shards) return (*lock = dir_lock_shard(out, sp->shard, sp->n_shards, shard_lock)) < 0 ? EXIT_INPUT : 0;
    if ((*lock = dir_lock(out)) < 0) return EXIT_INPUT;
    sweep_tmp(path);
    return 0;
}

static void print_grid(const study_spec *sp, const char *out, int n_runs, const char *how) {
    long steps = 0;
    for (int i = 0; i < sp->n_set; i++) steps += (long)sp->set[i].n_cells * sp->set[i].seeds * sp->set[i].max_iters;
    printf("study (%s): %d settings, %d runs, %ld steps in all in %s, %s\n", sp->grid, sp->n_set, n_runs, steps, out, how);
    for (int i = 0; i < sp->n_set; i++)
        printf("  %-12s %2d cells x %2d seeds x %5d steps, B%d T%d C%d H%d L%d, lr %g, %ld training characters\n",
               sp->set[i].name, sp->set[i].n_cells, sp->set[i].seeds, sp->set[i].max_iters, sp->set[i].batch_size,
               sp->set[i].block_size, sp->set[i].n_embd, sp->set[i].n_head, sp->set[i].n_layer, sp->set[i].lr,
               sp->set[i].n_train);
    fflush(stdout);
}

/* The timing phase (or the timing already there) and the report; an exit code. */
static int finish(const study_spec *sp, const ad_dataset *ds, const char *out, int report_only) {
    study_timing tm;
    memset(&tm, 0, sizeof tm);
    int rc = 0;
    if (sp->timing_rounds > 0 && read_timing(out, sp, &tm)) {
        printf("kept the timing of %s/timing.csv (delete it to time again)\n", out);
    } else if (sp->timing_rounds > 0 && !report_only) {
        /* the other workers are done: one process times every scheme, interleaved */
        ad_set_threads(1);
        double t0 = cli_now();
        rc = study_time_cells(sp, &ds[0], &tm);
        if (!rc) printf("timed %d cells of %s, %d rounds (%.0f s)\n", tm.n, sp->set[0].name, tm.rounds, cli_now() - t0);
    }
    return rc ? rc : study_report(out, sp, &tm, report_only);
}

int cmd_study(int argc, char **argv) {
    static study_spec sp;
    static ad_dataset ds[STUDY_MAX_SETTINGS];
    study_cmd cmd;
    int rc = study_parse(argc, argv, &sp, &cmd), rank = cli_mpi_rank(), size = cli_mpi_size(), lock = -1, shard_lock = -1;
    if (rc || cmd.help) return rc;
    if (size > 1 && (sp.n_shards || cmd.report_only))
        return cli_die_usage("study ", "--shard and --report-only are for runs without mpirun");
    signal(SIGXFSZ, SIG_IGN); /* a file-size limit is a write error with a message, not a silent kill */
    const char *out = cmd.out;
    if (!sp.jobs) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        sp.jobs = cores < 1 ? 1 : cores > 16 ? 16 : (int)cores;
        if (cmd.threads > 0 && cmd.threads < sp.jobs) sp.jobs = cmd.threads;
    }
    if (size > 1) { /* a rank trains one run at a time, with --threads threads, or one as a forked worker does */
        sp.jobs = 1;
        ad_set_threads(cmd.threads > 0 ? cmd.threads : 1);
    } else if (sp.jobs == 1 && cmd.threads > 0) {
        ad_set_threads(cmd.threads);
    }
    char *text = NULL;
    memset(ds, 0, sizeof ds);
    if (size > 1 && sp.data_path[0]) rc = share_data(&sp, &text);
    if (!rc) rc = load_data(&sp, ds);
    int n_runs = study_total_runs(&sp), done_before = 0;
    double t_study = cli_now();
    if (size > 1) { /* every rank must train rank 0's grid: a rank started with other options would record runs
                      * that rank 0 then refuses. Collective on every rank, whatever its rc */
        uint64_t mine = rc ? 0 : grid_hash(&sp), rank0 = mine;
        cli_mpi_bcast_raw(&rank0, sizeof rank0); /* rank 0's */
        if (cli_mpi_max(!rc && rank0 && mine != rank0) && !rc) {
            if (rank == 0)
                fprintf(stderr, "%s: the ranks were started with different study options (grid, shape, steps, rates, "
                                "seeds or data): give every rank the same command\n", cli_prog);
            rc = EXIT_USAGE;
        }
    }
    if (!rc && rank == 0) rc = prepare_out(out, cmd.overwrite, cmd.report_only, &sp, &lock, &shard_lock);
    if (!rc && rank == 0) done_before = count_done(&sp, out, &rc);
    if (size > 1) { /* the other ranks train only if rank 0 is ready */
        int go = rc;
        cli_mpi_bcast_int(&go);
        if (rank > 0) rc = go ? go : rc ? rc : study_mpi_work(&sp, ds, n_runs, t_study);
    }
    char how[64];
    if (size > 1) snprintf(how, sizeof how, "rank 0 handing runs to %d ranks", size - 1);
    else if (sp.n_shards) snprintf(how, sizeof how, "shard %d of %d, %d at a time", sp.shard, sp.n_shards, sp.jobs);
    else snprintf(how, sizeof how, "%d at a time", sp.jobs);
    if (!rc && rank == 0 && !cmd.report_only) {
        print_grid(&sp, out, n_runs, how);
        rc = size > 1 ? study_mpi_coordinate(&sp, out, n_runs, t_study) : train_all(&sp, ds, out, cmd.threads, n_runs, t_study);
        if (isatty(2)) fprintf(stderr, "\r\033[K");
    }
    if (!rc && rank == 0 && sp.n_shards) {
        printf("shard %d of %d done in %s; once every shard is, '%s study ... --report-only' (the same grid options) "
               "writes the report\n", sp.shard, sp.n_shards, out, cli_prog);
    } else if (!rc && rank == 0) {
        if (done_before && !cmd.report_only) printf("%d of %d runs were already done in %s\n", done_before, n_runs, out);
        rc = finish(&sp, ds, out, cmd.report_only);
        if (!rc) printf("wrote %s/report.md (%.0f s)\n", out, cli_now() - t_study);
    }
    for (int i = 0; i < STUDY_MAX_SETTINGS; i++) ad_dataset_free(&ds[i]);
    free(text);
    if (shard_lock >= 0) close(shard_lock);
    if (lock >= 0) close(lock);
    return rc;
}
