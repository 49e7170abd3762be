/* test_model.c - model-level behaviour: determinism, independence from the
 * thread count, dropout only in training, learning, numerical failures,
 * refused configurations, and the sampler's distribution. */
#include "attndrop.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

static ad_config tiny(void) {
    ad_config c = {11, 16, 24, 3, 2, 0.2f, AD_SCHEME_STANDARD, 0.2f, AD_SCHEDULE_CONSTANT};
    return c;
}

/* n training steps on a fixed id sequence; returns the last loss */
static float train(ad_model *m, int steps, uint64_t seed, const int *data, size_t n, int B) {
    const ad_config *c = ad_model_config(m);
    int T = c->block_size;
    int *x = malloc((size_t)B * T * sizeof *x), *y = malloc((size_t)B * T * sizeof *y);
    ad_adamw opt = ad_adamw_default();
    opt.lr = 3e-3f;
    float loss = NAN;
    ad_error err = {0};
    for (int s = 0; s < steps; s++) {
        MUST(ad_get_batch(data, n, B, T, seed, AD_RNG_BATCH, (uint32_t)s, 0, x, y, &must_err));
        if (ad_model_forward(m, x, y, B, T, 1, seed, (uint64_t)s, &loss, &err)) { loss = NAN; break; }
        MUST(ad_model_backward(m, &must_err));
        MUST(ad_model_adamw_step(m, &opt, s + 1, &must_err));
    }
    free(x);
    free(y);
    return loss;
}

int main(void) {
    ad_config c = tiny();
    ad_error err = {0};
    int B = 4;
    size_t n = 3000;
    int *data = malloc(n * sizeof *data);
    for (size_t i = 0; i < n; i++) data[i] = (int)((i * 7 + i / 3) % 11); /* a learnable pattern */

    /* the same seed gives bitwise the same model, whatever the thread count;
     * a different seed does not */
    ad_model *a, *b, *d;
    CHECK(ad_model_create(&a, &c, B, 1, 5, &err) == AD_OK, "%s", err.msg);
    CHECK(ad_model_create(&b, &c, B, 1, 5, &err) == AD_OK, "%s", err.msg);
    CHECK(ad_model_create(&d, &c, B, 1, 6, &err) == AD_OK, "%s", err.msg);
    size_t np = ad_model_num_params(a);
    CHECK(memcmp(ad_model_params(a), ad_model_params(b), np * sizeof(float)) == 0, "init depends on more than the seed");
    CHECK(memcmp(ad_model_params(a), ad_model_params(d), np * sizeof(float)) != 0, "init ignores the seed");
    /* init statistics: N(0, 0.02) for the token embedding */
    const ad_tensor_info *te = ad_model_tensor(a, 0);
    double s1 = 0, s2 = 0;
    size_t ne = (size_t)te->shape[0] * te->shape[1];
    for (size_t i = 0; i < ne; i++) { double v = ad_model_params(a)[te->offset + i]; s1 += v; s2 += v * v; }
    double sd = sqrt(s2 / ne);
    CHECK(fabs(sd - 0.02) < 0.004 && fabs(s1 / ne) < 0.006, "token embedding init: mean %.4f sd %.4f", s1 / ne, sd);

    ad_set_threads(1);
    float la = train(a, 20, 9, data, n, B);
    ad_set_threads(2);
    float lb = train(b, 20, 9, data, n, B);
    double pd = rel_err(ad_model_params(a), ad_model_params(b), np, 1e-6);
    printf("1 vs 2 threads after 20 steps: loss %.7f vs %.7f, weights max rel diff %.2g\n", (double)la, (double)lb, pd);
    CHECK(la == lb && memcmp(ad_model_params(a), ad_model_params(b), np * sizeof(float)) == 0,
          "results depend on the thread count");
    {
        /* and at a size where every product is cut into many pieces (1024 rows, 64 wide) and
         * OpenBLAS alone would thread inside each: 1, 2 and 3 threads, 8 steps, every weight, the
         * Adam moments and the loss bit for bit */
        ad_config cb = c;
        cb.block_size = 64; cb.n_embd = 64; cb.n_head = 4; cb.n_layer = 2; cb.attn_dropout = 0.2f;
        ad_set_threads(3);
        ad_model *m3[3];
        float l3[3];
        int same = 1;
        for (int k = 0; k < 3; k++) {
            CHECK(ad_model_create(&m3[k], &cb, 16, 1, 5, &err) == AD_OK, "%s", err.msg);
            ad_set_threads(k + 1);
            l3[k] = train(m3[k], 8, 9, data, n, 16);
        }
        size_t np3 = ad_model_num_params(m3[0]);
        for (int k = 1; k < 3; k++)
            same &= l3[k] == l3[0] && memcmp(ad_model_params(m3[k]), ad_model_params(m3[0]), np3 * sizeof(float)) == 0;
        printf("B16 T64 C64: loss after 8 steps with 1, 2, 3 threads: %.9g %.9g %.9g\n", (double)l3[0], (double)l3[1],
               (double)l3[2]);
        CHECK(same, "training at B16 T64 C64 depends on the thread count");
        for (int k = 0; k < 3; k++) ad_model_free(m3[k]);
    }
    float lb2 = train(d, 20, 9, data, n, B);
    (void)lb2;

    /* learning: 300 steps on a periodic pattern take the loss far below log(11) = 2.40 */
    ad_model *e;
    CHECK(ad_model_create(&e, &c, B, 1, 1, &err) == AD_OK, "%s", err.msg);
    float l300 = train(e, 300, 2, data, n, B);
    printf("loss after 300 steps on a periodic pattern: %.4f\n", (double)l300);
    CHECK(l300 < 1.0f, "the model does not learn (loss %.4f)", (double)l300);

    /* dropout acts in training only */
    int T = c.block_size, x[4 * 16], y[4 * 16];
    MUST(ad_get_batch(data, n, B, T, 3, AD_RNG_BATCH, 0, 0, x, y, &must_err));
    size_t nl = (size_t)B * T * c.vocab_size;
    float *l0 = malloc(nl * sizeof(float)), loss_eval, loss_train, loss_train2;
    ad_model_forward(e, x, y, B, T, 0, 1, 0, &loss_eval, &err);
    memcpy(l0, ad_model_logits(e), nl * sizeof(float));
    ad_model_forward(e, x, y, B, T, 0, 1, 7, NULL, &err);
    CHECK(memcmp(l0, ad_model_logits(e), nl * sizeof(float)) == 0, "evaluation depends on the step");
    ad_model_forward(e, x, y, B, T, 1, 1, 0, &loss_train, &err);
    CHECK(memcmp(l0, ad_model_logits(e), nl * sizeof(float)) != 0, "training forward applies no dropout");
    ad_model_forward(e, x, y, B, T, 1, 1, 1, &loss_train2, &err);
    CHECK(loss_train != loss_train2, "dropout masks do not change with the step");

    /* every scheme: training forwards are bitwise the same with 1 and 2 threads,
     * and at p=0 bitwise the `none` path */
    {
        float *ref = malloc(nl * sizeof(float)), *one = malloc(nl * sizeof(float));
        ad_config cn = c;
        cn.scheme = AD_SCHEME_NONE;
        ad_model *mn;
        ad_model_create(&mn, &cn, B, 1, 1, &err);
        memcpy(ad_model_params(mn), ad_model_params(e), np * sizeof(float));
        ad_model_forward(mn, x, y, B, T, 1, 4, 3, NULL, &err);
        memcpy(ref, ad_model_logits(mn), nl * sizeof(float));
        int threads_same = 0, zero_same = 0, changes = 0;
        for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
            ad_config cs = c;
            cs.scheme = (ad_scheme)sc;
            cs.attn_dropout = 0.5f;
            ad_model *ms;
            ad_model_create(&ms, &cs, B, 1, 1, &err);
            memcpy(ad_model_params(ms), ad_model_params(e), np * sizeof(float));
            ad_set_threads(1);
            ad_model_forward(ms, x, y, B, T, 1, 4, 3, NULL, &err);
            memcpy(one, ad_model_logits(ms), nl * sizeof(float));
            ad_set_threads(2);
            ad_model_forward(ms, x, y, B, T, 1, 4, 3, NULL, &err);
            threads_same += memcmp(one, ad_model_logits(ms), nl * sizeof(float)) == 0;
            cs.attn_dropout = 0.0f;
            ad_model_free(ms);
            ad_model_create(&ms, &cs, B, 1, 1, &err);
            memcpy(ad_model_params(ms), ad_model_params(e), np * sizeof(float));
            ad_model_forward(ms, x, y, B, T, 1, 4, 3, NULL, &err);
            zero_same += memcmp(ref, ad_model_logits(ms), nl * sizeof(float)) == 0;
            changes += memcmp(ref, one, nl * sizeof(float)) != 0;
            ad_model_free(ms);
        }
        CHECK(threads_same == AD_SCHEME_COUNT, "%d of %d schemes differ between 1 and 2 threads", AD_SCHEME_COUNT - threads_same, AD_SCHEME_COUNT);
        CHECK(zero_same == AD_SCHEME_COUNT, "%d of %d schemes at p=0 differ from none", AD_SCHEME_COUNT - zero_same, AD_SCHEME_COUNT);
        CHECK(changes == AD_SCHEME_COUNT - 1, "%d schemes at p=0.5 change the logits, expected all but none", changes);
        /* data parallel: the rows row0.. of a batch split over processes draw that batch's masks (the
         * whole batch's logits, for every scheme, to float rounding: BLAS may round a product of fewer rows
         * differently, while a mask drawn for another row would change them by far more), and the parts'
         * gradients weighted by rows/B sum to the whole batch's */
        int split_same = 0;
        double split_err = 0.0;
        float *gsum = malloc(np * sizeof(float)), *gwhole = malloc(np * sizeof(float)), *whole = malloc(nl * sizeof(float));
        for (int sc = 0; sc < AD_SCHEME_COUNT; sc++) {
            ad_config cs = c;
            cs.scheme = (ad_scheme)sc;
            cs.attn_dropout = 0.5f;
            ad_model *mw, *mp;
            ad_model_create(&mw, &cs, B, 1, 1, &err);
            ad_model_create(&mp, &cs, B, 1, 1, &err);
            memcpy(ad_model_params(mw), ad_model_params(e), np * sizeof(float));
            memcpy(ad_model_params(mp), ad_model_params(e), np * sizeof(float));
            ad_model_forward(mw, x, y, B, T, 1, 4, 3, NULL, &err);
            memcpy(whole, ad_model_logits(mw), nl * sizeof(float));
            MUST(ad_model_backward(mw, &must_err));
            memcpy(gwhole, ad_model_grads(mw), np * sizeof(float));
            memset(gsum, 0, np * sizeof(float));
            int ok = 1;
            for (int part = 0; part < 2; part++) {
                int row0 = part ? 1 : 0, rows = part ? B - 1 : 1;
                size_t off = (size_t)row0 * T, per = (size_t)T * c.vocab_size;
                MUST(ad_model_set_batch_offset(mp, row0, &must_err));
                ad_model_forward(mp, x + off, y + off, rows, T, 1, 4, 3, NULL, &err);
                ok &= rel_err(ad_model_logits(mp), whole + (size_t)row0 * per, (size_t)rows * per, 1e-6) < 1e-5;
                MUST(ad_model_backward(mp, &must_err));
                for (size_t k = 0; k < np; k++) gsum[k] += (float)rows / (float)B * ad_model_grads(mp)[k];
            }
            split_same += ok;
            double r = rel_err(gsum, gwhole, np, 1e-6);
            if (!(r <= split_err)) split_err = r;
            ad_model_free(mw);
            ad_model_free(mp);
        }
        CHECK(split_same == AD_SCHEME_COUNT, "%d of %d schemes draw other masks for a split batch", AD_SCHEME_COUNT - split_same,
              AD_SCHEME_COUNT);
        CHECK(split_err < 1e-5, "the parts' weighted gradients differ from the whole batch's by %.2g", split_err);
        printf("a batch split 1 + %d: masks equal, gradients max rel diff %.2g\n", B - 1, split_err);
        free(gsum);
        free(gwhole);
        free(whole);
        /* schedules: layer-decay from p at the first block to 0 at the last; step-decay to 0 at the end */
        ad_config cd = c;
        cd.attn_dropout = 0.4f;
        cd.n_layer = 3;
        cd.schedule = AD_SCHEDULE_LAYER_DECAY;
        ad_model *md;
        ad_model_create(&md, &cd, 1, 0, 1, &err);
        CHECK(ad_model_attn_p(md, 0, 0) == 0.4f && fabs(ad_model_attn_p(md, 1, 0) - 0.2f) < 1e-7 && ad_model_attn_p(md, 2, 0) == 0.0f,
              "layer-decay");
        ad_model_free(md);
        cd.schedule = AD_SCHEDULE_STEP_DECAY;
        ad_model_create(&md, &cd, 1, 0, 1, &err);
        ad_model_set_total_steps(md, 100);
        CHECK(ad_model_attn_p(md, 1, 0) == 0.4f && fabs(ad_model_attn_p(md, 1, 75) - 0.1f) < 1e-7 && ad_model_attn_p(md, 1, 100) == 0.0f,
              "step-decay");
        ad_model_free(md);
        ad_model_free(mn);
        free(ref);
        free(one);
    }

    /* per-position losses average to the loss; only between a forward and its backward */
    {
        double pl[16], mean = 0.0;
        float lfull;
        ad_model_forward(e, x, y, B, T, 0, 1, 0, &lfull, &err);
        CHECK(ad_model_position_losses(e, pl, &err) == AD_OK, "%s", err.msg);
        for (int t = 0; t < T; t++) mean += pl[t] / T;
        CHECK(fabs(mean - lfull) < 1e-5 * fabs((double)lfull), "position losses average %.7f, loss %.7f", mean, (double)lfull);
        ad_model_forward(e, x, y, B, T, 1, 1, 0, &lfull, &err);
        MUST(ad_model_backward(e, &must_err));
        CHECK(ad_model_position_losses(e, pl, &err) == AD_ERR_ARG, "position losses after a backward");
    }
    /* attention sink: with a layer's keys all zero every score is 0, so row i gives key 0 the weight
     * 1/(i+1) and the mean over rows 1..T-1 is (H_T - 1)/(T - 1); the other layer's is a weight in (0, 1) */
    {
        double sink[2], want = 0.0;
        for (int i = 1; i < T; i++) want += 1.0 / (i + 1) / (T - 1);
        ad_model *ms, *mi;
        MUST(ad_model_create(&ms, &c, B, 1, 3, &must_err));
        CHECK(ad_model_attention_sink(ms, sink, &err) == AD_ERR_ARG, "sink before any forward");
        for (int k = 0; k < ad_model_num_tensors(ms); k++) {
            const ad_tensor_info *ti = ad_model_tensor(ms, k);
            if (strncmp(ti->name, "blocks.1.", 9) == 0 && strstr(ti->name, ".key.weight"))
                memset(ad_model_params(ms) + ti->offset, 0, (size_t)ti->shape[0] * ti->shape[1] * sizeof(float));
        }
        MUST(ad_model_forward(ms, x, y, B, T, 0, 1, 0, NULL, &must_err));
        CHECK(ad_model_attention_sink(ms, sink, &err) == AD_OK, "%s", err.msg);
        CHECK(fabs(sink[1] - want) < 1e-6, "sink with zero keys %.8f, want %.8f", sink[1], want);
        CHECK(sink[0] > 0.0 && sink[0] < 1.0 && fabs(sink[0] - want) > 1e-6, "sink of layer 0 %.8f", sink[0]);
        CHECK(ad_model_attention_sink(NULL, sink, &err) == AD_ERR_ARG && ad_model_attention_sink(ms, NULL, &err) == AD_ERR_ARG,
              "sink with NULL arguments");
        MUST(ad_model_create(&mi, &c, B, 0, 3, &must_err));
        MUST(ad_model_forward(mi, x, y, B, T, 0, 1, 0, NULL, &must_err));
        CHECK(ad_model_attention_sink(mi, sink, &err) == AD_ERR_ARG, "sink on an inference model");
        ad_model_free(mi);
        ad_model_free(ms);
    }
    /* a batch offset whose last row would pass INT_MAX is refused at the forward, not overflowed */
    {
        ad_model *mo;
        MUST(ad_model_create(&mo, &c, B, 1, 3, &must_err));
        MUST(ad_model_set_batch_offset(mo, INT32_MAX, &must_err));
        CHECK(ad_model_forward(mo, x, y, 2, T, 1, 1, 0, NULL, &err) == AD_ERR_ARG && strstr(err.msg, "row0"),
              "row0 INT_MAX with 2 batch rows: %s", err.msg);
        CHECK(ad_model_forward(mo, x, y, 1, T, 1, 1, 0, NULL, &err) == AD_OK, "row0 INT_MAX with 1 batch row: %s", err.msg);
        ad_model_free(mo);
    }
    /* all-zero rows met in training: standard at p=0.5 meets them at rate 0.5^(t+1), nonzero never */
    {
        ad_config cz = c;
        cz.attn_dropout = 0.5f;
        uint64_t zero[16], rows[16];
        for (int k = 0; k < 2; k++) {
            cz.scheme = k ? AD_SCHEME_NONZERO : AD_SCHEME_STANDARD;
            ad_model *mz;
            ad_model_create(&mz, &cz, B, 1, 1, &err);
            memset(zero, 0, sizeof zero);
            memset(rows, 0, sizeof rows);
            ad_observer obs = {zero, rows};
            for (int st = 0; st < 200; st++) ad_model_forward_observed(mz, x, y, B, T, 1, 9, (uint64_t)st, NULL, &obs, &err);
            ad_model_forward_observed(mz, x, y, B, T, 0, 9, 0, NULL, &obs, &err); /* evaluation counts nothing */
            ad_model_forward(mz, x, y, B, T, 1, 9, 0, NULL, &err); /* nor a forward without an observer */
            int ok = rows[0] == (uint64_t)200 * B * cz.n_head * cz.n_layer;
            for (int t = 0; t < 6; t++) {
                double rate = (double)zero[t] / rows[t], want = k ? 0.0 : pow(0.5, t + 1);
                ok &= k ? zero[t] == 0 : fabs(rate - want) < 6 * sqrt(want * (1 - want) / rows[t]);
            }
            CHECK(ok, "%s: zero rows at positions 0-2: %llu %llu %llu of %llu", k ? "nonzero" : "standard",
                  (unsigned long long)zero[0], (unsigned long long)zero[1], (unsigned long long)zero[2],
                  (unsigned long long)rows[0]);
            ad_model_free(mz);
        }
    }

    /* a NaN weight is a numerical failure, not a silently wrong loss */
    ad_model_params(e)[ad_model_tensor(e, 0)->offset + (size_t)x[0] * c.n_embd] = NAN;
    float ln;
    CHECK(ad_model_forward(e, x, y, B, T, 0, 1, 0, &ln, &err) == AD_ERR_NUMERIC && strstr(err.msg, "loss"), "NaN loss: %s", err.msg);
    MUST(ad_model_backward(e, &must_err));
    CHECK(ad_model_check_grads(e, &err) == AD_ERR_NUMERIC && strstr(err.msg, "gradient of"), "NaN gradient: %s", err.msg);
    CHECK(ad_model_forward(e, (int[]){11}, NULL, 1, 1, 0, 1, 0, NULL, &err) == AD_ERR_ARG, "token id out of range accepted");

    /* bad calls are a status, nothing changed: no abort (these asserted before) */
    {
        ad_model *f, *inf;
        ad_error e2;
        MUST(ad_model_create(&f, &c, B, 1, 1, &must_err));
        MUST(ad_model_create(&inf, &c, 1, 0, 1, &must_err));
        float *p0 = ad_model_params(f), before = p0[0];
        CHECK(ad_model_backward(f, &e2) == AD_ERR_ARG && strstr(e2.msg, "forward"), "backward with no forward: %s", e2.msg);
        CHECK(ad_model_forward(f, x, NULL, B, T, 1, 1, 0, NULL, &err) == AD_OK, "%s", err.msg);
        CHECK(ad_model_backward(f, &e2) == AD_ERR_ARG, "backward after a forward without targets accepted");
        CHECK(ad_model_forward(f, x, y, B, T, 1, 1, 0, NULL, &err) == AD_OK, "%s", err.msg);
        CHECK(ad_model_backward(f, &e2) == AD_OK, "%s", e2.msg);
        CHECK(ad_model_backward(f, &e2) == AD_ERR_ARG, "a second backward of one forward accepted");
        CHECK(ad_model_forward(f, x, y, 0, T, 1, 1, 0, NULL, &e2) == AD_ERR_ARG && strstr(e2.msg, "batch"), "B = 0: %s", e2.msg);
        CHECK(ad_model_forward(f, x, y, B + 1, T, 1, 1, 0, NULL, &e2) == AD_ERR_ARG, "B past max_batch accepted");
        CHECK(ad_model_forward(f, x, y, B, 0, 1, 1, 0, NULL, &e2) == AD_ERR_ARG && strstr(e2.msg, "T "), "T = 0: %s", e2.msg);
        CHECK(ad_model_forward(f, x, y, B, c.block_size + 1, 1, 1, 0, NULL, &e2) == AD_ERR_ARG, "T past block_size");
        CHECK(ad_model_forward(NULL, x, y, B, T, 1, 1, 0, NULL, &e2) == AD_ERR_ARG, "NULL model accepted");
        ad_adamw o = ad_adamw_default(), onan = o;
        onan.lr = NAN;
        CHECK(ad_model_adamw_step(f, &o, 0, &e2) == AD_ERR_ARG, "AdamW at t = 0 accepted");
        CHECK(ad_model_adamw_step(f, &onan, 1, &e2) == AD_ERR_ARG, "AdamW with lr NaN accepted");
        CHECK(ad_model_adamw_step(inf, &o, 1, &e2) == AD_ERR_ARG, "AdamW on an inference model accepted");
        CHECK(ad_model_backward(inf, &e2) == AD_ERR_ARG, "backward on an inference model accepted");
        CHECK(p0[0] == before, "a refused call changed the weights");
        CHECK(ad_model_set_batch_offset(f, -1, &e2) == AD_ERR_ARG, "negative row0 accepted");
        CHECK(ad_model_tensor(f, -1) == NULL && ad_model_tensor(f, 1 << 20) == NULL, "tensor index out of range");
        int xb[4], yb[4];
        CHECK(ad_get_batch(x, 4, 1, 4, 1, AD_RNG_BATCH, 0, 0, xb, yb, &e2) == AD_ERR_DATA, "get_batch with n = T");
        CHECK(ad_get_batch(x, 40, 0, 4, 1, AD_RNG_BATCH, 0, 0, xb, yb, &e2) == AD_ERR_ARG, "get_batch with B = 0");
        ad_train_opts to = {0};
        to.data = x; to.n = 1000; to.batch_size = 0; to.opt = o;
        CHECK(ad_train_step(f, &to, 0, xb, yb, NULL, &e2) == AD_ERR_ARG, "train step with an empty batch accepted");
        ad_model_free(f);
        ad_model_free(inf);
    }

    /* configurations */
    ad_config bad = c;
    bad.n_head = 5;
    CHECK(ad_config_check(&bad, &err) == AD_ERR_ARG && strstr(err.msg, "divisible"), "%s", err.msg);
    bad = c; bad.dropout = 1.0f;
    CHECK(ad_config_check(&bad, &err) == AD_ERR_ARG && strstr(err.msg, "dropout"), "%s", err.msg);
    bad = c; bad.block_size = 0;
    CHECK(ad_config_check(&bad, &err) == AD_ERR_ARG && strstr(err.msg, "block_size"), "%s", err.msg);
    bad = c; bad.n_embd = 65536; bad.n_head = 1; bad.block_size = 8192; bad.vocab_size = 1000;
    ad_model *huge = (ad_model *)1;
    ad_status hs = ad_model_create(&huge, &bad, 1 << 20, 1, 0, &err);
    CHECK(hs == AD_ERR_NOMEM && huge == NULL && (strstr(err.msg, "GiB") || strstr(err.msg, "overflow")), "huge model: %d %s", hs, err.msg);
    CHECK(ad_model_bytes(&c, 4, 1) > ad_model_bytes(&c, 4, 0), "training needs more memory than inference");

    /* sampling */
    ad_model *g;
    CHECK(ad_model_create(&g, &c, 1, 0, 3, &err) == AD_OK, "%s", err.msg);
    memcpy(ad_model_params(g), ad_model_params(a), np * sizeof(float));
    int ctx[1] = {2}, out1[40], out2[40], out3[40];
    ad_sample_opts greedy = {0.0f, 0, 1, 0}, top1 = {1.0f, 1, 99, 0};
    CHECK(ad_generate(g, ctx, 1, 39, &greedy, out1, &err) == AD_OK, "%s", err.msg);
    CHECK(ad_generate(g, ctx, 1, 39, &top1, out2, &err) == AD_OK, "%s", err.msg);
    CHECK(memcmp(out1, out2, sizeof out1) == 0 && out1[0] == 2, "top-k 1 differs from greedy");
    /* a context longer than block_size is cropped, as gpt.py: same result as its last block_size tokens */
    int longctx[40], shortout[17 + 5], longout[40 + 5];
    for (int i = 0; i < 40; i++) longctx[i] = out1[i];
    ad_generate(g, longctx, 40, 5, &greedy, longout, &err);
    ad_generate(g, longctx + 40 - 16, 16, 5, &greedy, shortout, &err);
    CHECK(memcmp(longout + 40, shortout + 16, 5 * sizeof(int)) == 0, "context cropping");

    /* KV cache: each step's logits are those of a forward over the whole sequence */
    {
        int seq[16];
        for (int i = 0; i < 16; i++) seq[i] = out1[i + 3];
        float full[16 * 11];
        CHECK(ad_model_forward(g, seq, NULL, 1, 16, 0, 0, 0, NULL, &err) == AD_OK, "%s", err.msg);
        memcpy(full, ad_model_logits(g), sizeof full);
        CHECK(ad_model_forward(g, seq, NULL, 1, 5, 0, 0, 0, NULL, &err) == AD_OK && ad_model_cached(g) == 5,
              "a forward of one row fills the cache");
        double worst_step = 0.0, scale = 0.0;
        for (int i = 0; i < 16 * 11; i++) scale = fmax(scale, fabs(full[i]));
        for (int t = 5; t < 16; t++) {
            CHECK(ad_model_step(g, seq[t], &err) == AD_OK, "step %d: %s", t, err.msg);
            for (int v = 0; v < 11; v++)
                worst_step = fmax(worst_step, fabs(ad_model_logits(g)[v] - full[t * 11 + v]) / scale);
        }
        printf("  KV cache: 11 steps, max rel diff %.2e from the full forward\n", worst_step);
        CHECK(worst_step < 1e-5, "cached logits differ by %.3g", worst_step);
        CHECK(ad_model_cached(g) == 16 && ad_model_step(g, 1, &err) == AD_ERR_ARG && strstr(err.msg, "KV cache"),
              "a step past block_size is refused: %s", err.msg);
        CHECK(ad_model_forward(a, seq, NULL, 1, 8, 0, 0, 0, NULL, &err) == AD_OK && ad_model_cached(a) == 0,
              "a training model caches nothing");
        CHECK(ad_model_forward(g, seq, NULL, 1, 3, 0, 0, 0, NULL, &err) == AD_OK && ad_model_step(g, 11, &err) == AD_ERR_ARG,
              "a token outside the vocabulary is refused");
        CHECK(ad_model_step(a, 1, &err) == AD_ERR_ARG, "a training model has no cache");
        /* generate: the cache gives the same greedy and sampled tokens as recomputing (the window slides at 16) */
        ad_sample_opts rg = greedy, sm = {1.0f, 0, 7, 0}, rs = sm;
        rg.recompute = rs.recompute = 1;
        int c1[40], c2[40], s1[40], s2[40];
        ad_generate(g, ctx, 1, 39, &rg, c1, &err);
        ad_generate(g, ctx, 1, 39, &sm, s1, &err);
        ad_generate(g, ctx, 1, 39, &rs, s2, &err);
        memcpy(c2, out1, sizeof c2);
        CHECK(memcmp(c1, c2, sizeof c1) == 0, "greedy tokens with and without the KV cache differ");
        CHECK(memcmp(s1, s2, sizeof s1) == 0, "sampled tokens with and without the KV cache differ");
    }

    /* multinomial: the first sampled token's frequencies match softmax(logits / 0.7) */
    ad_model_forward(g, ctx, NULL, 1, 1, 0, 0, 0, NULL, &err);
    double prob[11], mx = -1e30, z = 0.0;
    for (int v = 0; v < 11; v++) { prob[v] = ad_model_logits(g)[v] / 0.7; if (prob[v] > mx) mx = prob[v]; }
    for (int v = 0; v < 11; v++) { prob[v] = exp(prob[v] - mx); z += prob[v]; }
    int counts[11] = {0}, N = 4000;
    for (int k = 0; k < N; k++) {
        ad_sample_opts so = {0.7f, 0, (uint64_t)k + 1000, 0};
        ad_generate(g, ctx, 1, 1, &so, out3, &err);
        counts[out3[1]]++;
    }
    int worst = 0;
    double worst_z = 0.0;
    for (int v = 0; v < 11; v++) {
        double pv = prob[v] / z, zs = fabs(counts[v] - N * pv) / sqrt(N * pv * (1 - pv) + 1e-12);
        if (zs > worst_z) { worst_z = zs; worst = v; }
    }
    CHECK(worst_z < 5.0, "token %d sampled %d times, expected %.1f", worst, counts[worst], N * prob[worst] / z);
    /* top-k 3: only the 3 most likely tokens ever appear */
    int allowed = 0;
    for (int k = 0; k < 500; k++) {
        ad_sample_opts so = {1.5f, 3, (uint64_t)k, 0};
        ad_generate(g, ctx, 1, 1, &so, out3, &err);
        int rank = 0;
        for (int v = 0; v < 11; v++) rank += prob[v] > prob[out3[1]];
        allowed += rank < 3;
    }
    CHECK(allowed == 500, "top-k 3 sampled outside the top 3 (%d of 500 inside)", allowed);
    ad_sample_opts badt = {-1.0f, 0, 0, 0};
    CHECK(ad_generate(g, ctx, 1, 1, &badt, out3, &err) == AD_ERR_ARG, "negative temperature accepted");

    ad_model_free(a); ad_model_free(b); ad_model_free(d); ad_model_free(e); ad_model_free(g);
    free(l0);
    free(data);
    return check_done("model");
}
