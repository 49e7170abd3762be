/* sample.c - the sample command: text generated from a checkpoint. */
#include "cli.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_sample(int argc, char **argv) {
    const char *ckpt = NULL, *prompt = NULL, *device = "cpu";
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
        CLI_OPT_THREADS(&threads),
        {"no-cache", OPT_FLAG, &no_cache, 0, 0, "recompute the whole context for every token, as gpt.py"},
        CLI_OPT_DEVICE_CPU(&device),
    };
    int rc = cli_begin("sample", "--ckpt FILE [options]", "Writes the generated text, prompt included, to stdout.", opts,
                       CLI_N(opts), argc, argv);
    if (rc != CLI_GO) return rc;
    if (!ckpt) return cli_die_usage("sample ", "--ckpt is required");
    if ((rc = cli_check_device("sample ", device, 0, NULL))) return rc;
    if (threads > 0) ad_set_threads(threads);
    ad_error err = {0};
    ad_model *m;
    ad_vocab v;
    if (ad_checkpoint_load(&m, &v, ckpt, 1, 0, &err)) return cli_die_status(&err, NULL);
    int n_ctx = 1;
    int *ctx = NULL;
    uint32_t *cps = NULL;
    rc = 0;
    if (prompt) {
        size_t n;
        if (ad_utf8_decode(prompt, strlen(prompt), &cps, &n, &err)) { rc = cli_die_status(&err, NULL); goto done; }
        if (n == 0 || n > 100000000) { rc = cli_die_usage("sample ", "the prompt must hold 1 to 1e8 characters"); goto done; }
        n_ctx = (int)n;
    }
    ctx = malloc(((size_t)n_ctx + (size_t)max_new) * sizeof(int));
    if (!ctx) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; goto done; }
    if (prompt) {
        if (ad_vocab_encode(&v, cps, (size_t)n_ctx, ctx, &err)) {
            rc = cli_die_status(&err, "the prompt may only use characters of the training text");
            goto done;
        }
    } else {
        ctx[0] = 0;
    }
    ad_sample_opts so = {(float)temperature, top_k, seed, no_cache};
    if (ad_generate(m, ctx, n_ctx, max_new, &so, ctx, &err)) { rc = cli_die_status(&err, NULL); goto done; }
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
