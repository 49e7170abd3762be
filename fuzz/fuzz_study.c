/* fuzz_study.c - the study's command line and its run records on arbitrary
 * input. The first byte chooses: even, the rest split at NUL bytes is the
 * study's arguments, and a grid that parses must be within its limits (cells
 * distinct, rates in [0, 1), seeds and steps in range, names of [a-z0-9-]);
 * odd, the rest is a run record read back for a fixed small grid, and a
 * record that is accepted must be whole (every evaluation, position and
 * zero-row count, the last step). */
#include "../cli/opts.h"
#include "../cli/study/study.h"
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_grid(const study_spec *sp) {
    assert(sp->n_set >= 1 && sp->n_set <= STUDY_MAX_SETTINGS);
    assert(sp->margin >= 0.0 && isfinite(sp->margin));
    for (int i = 0; i < sp->n_set; i++) {
        const study_setting *st = &sp->set[i];
        assert(st->n_cells >= 1 && st->n_cells <= STUDY_MAX_CELLS);
        assert(st->seeds >= 2 && st->seeds <= STUDY_MAX_SEEDS);
        assert(st->max_iters >= 2 && st->eval_interval >= 1 && st->n_head >= 1 && st->n_layer >= 1);
        assert(st->batch_size >= 1 && st->block_size >= 1 && st->n_embd >= 1 && st->n_embd % st->n_head == 0);
        for (const char *c = st->name; *c; c++) assert((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-');
        for (int c = 0; c < st->n_cells; c++) {
            assert(st->cell_scheme[c] >= 0 && st->cell_scheme[c] < AD_SCHEME_COUNT);
            assert(st->cell_p[c] >= 0.0 && st->cell_p[c] < 1.0);
            for (int d = 0; d < c; d++)
                assert(st->cell_scheme[c] != st->cell_scheme[d] || st->cell_p[c] != st->cell_p[d]);
        }
    }
}

static void read_record(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/attndrop-fuzz-study-%ld.csv", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, size, f);
    fclose(f);
    static study_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.n_set = 1;
    study_setting *st = &sp.set[0];
    snprintf(st->name, sizeof st->name, "markov");
    st->task = AD_TASK_MARKOV;
    st->n_head = 1; st->n_layer = 1; st->max_iters = 4; st->eval_interval = 2; st->seeds = 2; st->lr = 1e-3;
    st->n_cells = 1; st->cell_scheme[0] = AD_SCHEME_STANDARD; st->cell_p[0] = 0.2;
    st->vocab = 32; st->data_hash = 0x1234;
    st->batch_size = 2; st->block_size = 4; st->n_embd = 8; sp.eval_iters = 1;
    run_key k = {0, 0, 1};
    run_rec r;
    int got = study_read_run(path, &sp, &k, &r);
    assert(got >= -3 && got <= 1 && got != 0);
    if (got == 1) {
        assert(r.n_evals == 3 && r.step[2] == 3 && r.steps == 4); /* evaluations at 0, 2 and the last step, 3 */
        study_rec_free(&r);
    }
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    cli_err_stream = devnull;
    if (size == 0) return 0;
    if (data[0] & 1) { read_record(data + 1, size - 1); return 0; }
    char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    char *argv[64];
    int argc = 0;
    for (size_t i = 0; i < size - 1 && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    static study_spec sp;
    study_cmd cmd;
    FILE *saved = stdout;
    stdout = devnull; /* --help prints the usage */
    int rc = study_parse(argc, argv, &sp, &cmd);
    stdout = saved;
    if (rc == 0 && !cmd.help) check_grid(&sp);
    free(buf);
    return 0;
}
