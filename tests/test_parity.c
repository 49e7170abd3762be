/* test_parity.c - attndrop against PyTorch running gpt.py's model: logits,
 * loss, every gradient and ten AdamW steps on the same weights, batches and
 * dropout masks (tests/fixtures/parity.safetensors, made by tests/parity.py;
 * `make fixtures` remakes it), and for every other attention-dropout scheme
 * through its own masks (parity_<scheme>.safetensors, three steps). Relative
 * tolerance 1e-4 on each tensor's scale. */
#include "attndrop.h"
#include "check.h"
#include "schemes/dropout.h"
#include <stdlib.h>
#include <glob.h>
#include <string.h>

static float *get(const ad_st_file *f, const char *name, size_t n) {
    float *out = malloc(n * sizeof *out);
    ad_error err = {0};
    if (ad_st_get_f32(f, name, out, n, &err)) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        exit(1);
    }
    return out;
}

static size_t numel(const ad_tensor_info *t) { return (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1); }

/* Sets the model's weights to the fixture's initial ones (init.<name>). */
static void load_init(ad_model *m, const ad_st_file *f) {
    char name[200];
    for (int i = 0; i < ad_model_num_tensors(m); i++) {
        const ad_tensor_info *t = ad_model_tensor(m, i);
        snprintf(name, sizeof name, "init.%s", t->name);
        float *v = get(f, name, numel(t));
        memcpy(ad_model_params(m) + t->offset, v, numel(t) * sizeof(float));
        free(v);
    }
}

static int run_fixture(const char *path) {
    const double tol = 1e-4;
    ad_error err = {0};
    ad_st_file f;
    if (ad_st_read(&f, path, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    ad_config c;
    if (sscanf(ad_st_meta(&f, "config"), "{\"vocab_size\":%d,\"block_size\":%d,\"n_embd\":%d,\"n_head\":%d,\"n_layer\":%d,\"dropout\":%f}",
               &c.vocab_size, &c.block_size, &c.n_embd, &c.n_head, &c.n_layer, &c.dropout) != 6) {
        fprintf(stderr, "fixture: cannot read its config\n");
        return 1;
    }
    const char *scheme_name = ad_st_meta(&f, "scheme") ? ad_st_meta(&f, "scheme") : "standard";
    int scheme = ad_scheme_lookup(scheme_name);
    if (scheme < 0) { fprintf(stderr, "fixture: unknown scheme '%s'\n", scheme_name); return 1; }
    c.scheme = (ad_scheme)scheme;
    c.attn_dropout = ad_st_meta(&f, "attn_dropout") ? strtof(ad_st_meta(&f, "attn_dropout"), NULL) : c.dropout;
    c.schedule = AD_SCHEDULE_CONSTANT;
    const ad_scheme_info *si = ad_scheme_get(c.scheme);
    printf("scheme %s, attention dropout %g\n", si->name, (double)c.attn_dropout);
    int B = atoi(ad_st_meta(&f, "batch_size")), steps = atoi(ad_st_meta(&f, "steps"));
    uint64_t seed = strtoull(ad_st_meta(&f, "seed"), NULL, 10);
    ad_adamw opt = ad_adamw_default();
    opt.lr = strtof(ad_st_meta(&f, "learning_rate"), NULL);
    int T = c.block_size, V = c.vocab_size, C = c.n_embd, H = c.n_head, L = c.n_layer;
    ad_model *m;
    if (ad_model_create(&m, &c, B, 1, 0, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    int nt = ad_model_num_tensors(m);
    float *p = ad_model_params(m), *g = ad_model_grads(m);
    char name[200];
    load_init(m, &f);
    int *x = malloc((size_t)B * T * sizeof *x), *y = malloc((size_t)B * T * sizeof *y);
    size_t BTV = (size_t)B * T * V;

    /* the masks attndrop regenerates are the fixture's masks */
    float *mult = malloc((size_t)T * sizeof *mult);
    long mask_diff = 0;
    for (int s = 0; s < steps && si->where != AD_WHERE_INPUT; s++)
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                snprintf(name, sizeof name, "step%d.attn.%d.%d", s, l, h);
                float *want = get(&f, name, (size_t)B * T * T);
                ad_drop_site site = {c.scheme, c.attn_dropout, seed, (uint32_t)s, l, H, T, 0, 0};
                ad_attn_drop d = ad_attn_drop_make(&site);
                for (int b = 0; b < B; b++)
                    for (int i = 0; i < T; i++) {
                        if (si->where == AD_WHERE_PRE) ad_attn_row_keep(&d, b, h, i, mult);
                        else ad_attn_row_mult(&d, b, h, i, mult);
                        for (int j = 0; j <= i; j++) mask_diff += mult[j] != want[((size_t)b * T + i) * T + j];
                    }
                free(want);
            }
    CHECK(mask_diff == 0, "%ld attention mask entries differ from the fixture", mask_diff);

    float *xf = get(&f, "step0.x", (size_t)B * T), *yf = get(&f, "step0.y", (size_t)B * T);
    for (int i = 0; i < B * T; i++) { x[i] = (int)xf[i]; y[i] = (int)yf[i]; }
    free(xf); free(yf);

    /* inference: dropout off */
    float loss;
    CHECK(ad_model_forward(m, x, NULL, B, T, 0, seed, 0, NULL, &err) == AD_OK, "%s", err.msg);
    float *ref = get(&f, "torch.eval_logits", BTV);
    double e = rel_err(ad_model_logits(m), ref, BTV, 1e-6);
    printf("eval logits: max rel diff %.3g\n", e);
    CHECK(e < tol, "eval logits differ by %.3g", e);
    free(ref);

    /* one training step's forward and backward with dropout */
    CHECK(ad_model_forward(m, x, y, B, T, 1, seed, 0, &loss, &err) == AD_OK, "%s", err.msg);
    ref = get(&f, "torch.logits", BTV);
    e = rel_err(ad_model_logits(m), ref, BTV, 1e-6);
    printf("train logits: max rel diff %.3g\n", e);
    CHECK(e < tol, "training logits differ by %.3g", e);
    free(ref);
    ref = get(&f, "torch.loss", 1);
    printf("loss: attndrop %.7f torch %.7f\n", (double)loss, (double)ref[0]);
    CHECK(fabs((double)loss - ref[0]) < tol * fabs((double)ref[0]), "loss %.7f vs %.7f", (double)loss, (double)ref[0]);
    free(ref);
    MUST(ad_model_backward(m, &must_err));
    double worst = 0.0;
    const char *worst_name = "";
    for (int i = 0; i < nt; i++) {
        const ad_tensor_info *t = ad_model_tensor(m, i);
        snprintf(name, sizeof name, "torch.grad.%s", t->name);
        ref = get(&f, name, numel(t));
        e = rel_err(g + t->offset, ref, numel(t), 1e-8);
        CHECK(e < tol, "gradient of %s differs by %.3g", t->name, e);
        if (e > worst) { worst = e; worst_name = t->name; }
        free(ref);
    }
    printf("gradients: %d tensors, max rel diff %.3g (%s)\n", nt, worst, worst_name);

    /* gpt.py's loop: ten AdamW steps from the same weights */
    load_init(m, &f);
    float *losses = get(&f, "torch.losses", (size_t)steps);
    double worst_loss = 0.0;
    for (int s = 0; s < steps; s++) {
        snprintf(name, sizeof name, "step%d.x", s);
        xf = get(&f, name, (size_t)B * T);
        snprintf(name, sizeof name, "step%d.y", s);
        yf = get(&f, name, (size_t)B * T);
        for (int i = 0; i < B * T; i++) { x[i] = (int)xf[i]; y[i] = (int)yf[i]; }
        free(xf); free(yf);
        CHECK(ad_model_forward(m, x, y, B, T, 1, seed, (uint64_t)s, &loss, &err) == AD_OK, "%s", err.msg);
        double d = fabs((double)loss - losses[s]) / fabs((double)losses[s]);
        if (d > worst_loss) worst_loss = d;
        CHECK(d < tol, "step %d: loss %.7f vs torch %.7f", s, (double)loss, (double)losses[s]);
        MUST(ad_model_backward(m, &must_err));
        MUST(ad_model_adamw_step(m, &opt, s + 1, &must_err));
    }
    printf("losses of %d AdamW steps: max rel diff %.3g\n", steps, worst_loss);
    free(losses);
    /* Adam divides by the gradients' root mean square, so an element whose gradient is at
     * rounding level can take a step of a different sign: the weights are compared in
     * absolute terms, against a tenth of one Adam step (0.1 lr), which any error in the
     * optimiser itself (an update of the wrong size or sign) exceeds. */
    worst = 0.0;
    for (int i = 0; i < nt; i++) {
        const ad_tensor_info *t = ad_model_tensor(m, i);
        snprintf(name, sizeof name, "torch.final.%s", t->name);
        ref = get(&f, name, numel(t));
        e = rel_err(p + t->offset, ref, numel(t), 1.0); /* with floor 1: the max absolute difference */
        CHECK(e < 0.1 * opt.lr, "weights of %s after %d steps differ by %.3g", t->name, steps, e);
        if (e > worst) { worst = e; worst_name = t->name; }
        free(ref);
    }
    printf("weights after %d steps: max abs diff %.3g (%s), bound %.3g\n", steps, worst, worst_name, 0.1 * opt.lr);
    (void)C;
    free(x); free(y); free(mult);
    ad_model_free(m);
    ad_st_free(&f);
    return 0;
}

/* Every fixture named on the command line, or all of tests/fixtures/parity*.safetensors. */
int main(int argc, char **argv) {
    glob_t g;
    memset(&g, 0, sizeof g);
    if (argc < 2 && glob("tests/fixtures/parity*.safetensors", 0, NULL, &g) != 0) {
        fprintf(stderr, "no fixtures found (run from the repository root)\n");
        return 1;
    }
    int n = argc > 1 ? argc - 1 : (int)g.gl_pathc;
    for (int i = 0; i < n; i++) {
        const char *path = argc > 1 ? argv[i + 1] : g.gl_pathv[i];
        printf("-- %s\n", path);
        if (run_fixture(path)) return 1;
    }
    globfree(&g);
    return check_done("parity");
}
