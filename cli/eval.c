/* eval.c - the eval command: a checkpoint's train and val loss on a text. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>

int cmd_eval(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *device = "cpu";
    int eval_iters = 200, batch = 64, threads = 0;
    uint64_t seed = 1337;
    opt opts[] = {
        {"ckpt", OPT_STR, &ckpt, 0, 0, "checkpoint (model.safetensors)"},
        {"data", OPT_STR, &data, 0, 0, "UTF-8 text, split 90/10 as in training"},
        {"eval-iters", OPT_INT, &eval_iters, 1, 1000000, "batches per split (200)"},
        {"batch-size", OPT_INT, &batch, 1, 65536, "sequences per batch (64)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed of the evaluation batches (1337)"},
        CLI_OPT_THREADS(&threads),
        CLI_OPT_DEVICE_CPU(&device),
    };
    int rc = cli_begin("eval", "--ckpt FILE --data FILE [options]", "Prints the mean train and val loss, dropout off.", opts,
                       CLI_N(opts), argc, argv);
    if (rc != CLI_GO) return rc;
    if (!ckpt || !data) return cli_die_usage("eval ", "--ckpt and --data are required");
    if ((rc = cli_check_device("eval ", device, 0, NULL))) return rc;
    if (threads > 0) ad_set_threads(threads);
    ad_error err = {0};
    ad_model *m;
    ad_vocab v;
    if (ad_checkpoint_load(&m, &v, ckpt, batch, 0, &err)) return cli_die_status(&err, NULL);
    ad_dataset ds;
    if (ad_dataset_load(&ds, data, &v, &err)) {
        ad_model_free(m);
        ad_vocab_free(&v);
        return cli_die_status(&err, "the data may only use characters of the checkpoint's training text");
    }
    int T = ad_model_config(m)->block_size;
    int *xb = malloc((size_t)batch * T * sizeof(int)), *yb = malloc((size_t)batch * T * sizeof(int));
    float tl, vl;
    rc = 0;
    if (!xb || !yb) { fprintf(stderr, "%s: out of memory\n", cli_prog); rc = EXIT_INPUT; }
    else if (ad_estimate_loss(m, &ds, batch, eval_iters, seed, 0, xb, yb, &tl, &vl, &err)) rc = cli_die_status(&err, NULL);
    else printf("train loss %.4f, val loss %.4f\n", (double)tl, (double)vl);
    free(xb);
    free(yb);
    ad_dataset_free(&ds);
    ad_model_free(m);
    ad_vocab_free(&v);
    return rc;
}
