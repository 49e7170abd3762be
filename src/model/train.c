/* train.c - gpt.py's training loop in parts: get_batch, one training step
 * and estimate_loss. */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>

ad_status ad_get_batch(const int *data, size_t n, int B, int T, uint64_t seed, ad_rng_purpose purpose,
                       uint32_t a, uint32_t b, int *x, int *y, ad_error *err) {
    if (!data || !x || !y) return ad_fail(err, AD_ERR_ARG, "get_batch: a buffer is NULL");
    if (B < 1 || T < 1) return ad_fail(err, AD_ERR_ARG, "get_batch: B and T must be >= 1, got %d and %d", B, T);
    if (n <= (size_t)T)
        return ad_fail(err, AD_ERR_DATA, "a split needs more than block_size=%d tokens, has %zu", T, n);
    ad_rng r = ad_rng_stream(seed, purpose, a, b, 0);
    uint64_t range = (uint64_t)(n - (size_t)T); /* torch.randint(len(data) - block_size) */
    for (int row = 0; row < B; row++) {
        uint64_t u = ((uint64_t)ad_rng_u32(&r, 2 * (uint64_t)row) << 32) | ad_rng_u32(&r, 2 * (uint64_t)row + 1);
        size_t off = (size_t)(u % range); /* bias below 2^-32 for any text that fits in memory */
        for (int t = 0; t < T; t++) {
            x[(size_t)row * T + t] = data[off + t];
            y[(size_t)row * T + t] = data[off + t + 1];
        }
    }
    return AD_OK;
}

ad_status ad_estimate_loss(ad_model *m, const ad_dataset *d, int B, int eval_iters, uint64_t seed,
                           uint64_t eval_index, int *xbuf, int *ybuf, float *train_loss,
                           float *val_loss, ad_error *err) {
    int T = ad_model_config(m)->block_size;
    size_t n_val = d->n - d->n_train;
    if (d->n_train <= (size_t)T || n_val <= (size_t)T)
        return ad_fail(err, AD_ERR_DATA, "each split needs more than block_size=%d tokens (train has %zu, val %zu)",
                       T, d->n_train, n_val);
    for (int split = 0; split < 2; split++) {
        const int *data = split == 0 ? d->ids : d->ids + d->n_train;
        size_t n = split == 0 ? d->n_train : n_val;
        double sum = 0.0;
        for (int k = 0; k < eval_iters; k++) {
            ad_status s = ad_get_batch(data, n, B, T, seed, AD_RNG_EVAL, (uint32_t)eval_index,
                                       ((uint32_t)split << 24) | (uint32_t)k, xbuf, ybuf, err);
            if (s) return s;
            float loss;
            s = ad_model_forward(m, xbuf, ybuf, B, T, 0, seed, 0, &loss, err);
            if (s) return s;
            sum += loss;
        }
        float mean = (float)(sum / eval_iters);
        if (split == 0) *train_loss = mean; else *val_loss = mean;
    }
    return AD_OK;
}

ad_status ad_train_step(ad_model *m, const ad_train_opts *o, long step, int *xbuf, int *ybuf, float *loss,
                        ad_error *err) {
    if (!m || !o || !o->data || !xbuf || !ybuf)
        return ad_fail(err, AD_ERR_ARG, "train step: the model, the options, the data or a batch buffer is NULL");
    if (step < 0 || step > UINT32_MAX) return ad_fail(err, AD_ERR_ARG, "train step: step %ld is out of range", step);
    int B = o->batch_size, T = ad_model_config(m)->block_size, rows = o->rows > 0 ? o->rows : B, row0 = o->row0;
    if (B < 1) return ad_fail(err, AD_ERR_ARG, "train step: the batch size must be >= 1, got %d", B);
    if (o->n <= (size_t)T)
        return ad_fail(err, AD_ERR_DATA, "the training split needs more than block_size=%d tokens, has %zu", T, o->n);
    if (row0 < 0 || rows < 1 || row0 + rows > B)
        return ad_fail(err, AD_ERR_ARG, "batch rows %d..%d are not within the batch of %d", row0, row0 + rows - 1, B);
    if (ad_model_device(m) != AD_DEVICE_CPU && (rows != B || o->reduce)) /* both act on the host's gradients */
        return ad_fail(err, AD_ERR_DEVICE, "a batch split over processes trains on the CPU only, not on the GPU yet");
    float l = 0.0f;
    ad_status s = ad_get_batch(o->data, o->n, B, T, o->seed, AD_RNG_BATCH, (uint32_t)step, 0, xbuf, ybuf, err);
    if (!s) s = ad_model_set_batch_offset(m, row0, err);
    if (s) return s;
    s = ad_model_forward_observed(m, xbuf + (size_t)row0 * T, ybuf + (size_t)row0 * T, rows, T, 1, o->seed,
                                            (uint64_t)step, &l, o->observer, err);
    if (s && s != AD_ERR_NUMERIC) return s; /* a bad argument: nothing was computed */
    ad_status sb = ad_model_backward(m, err); /* after a NaN loss too, so that every process reaches the reduction */
    if (sb) return sb;
    if (rows != B) { /* this process's share of the batch's mean */
        float w = (float)rows / (float)B, *g = ad_model_grads(m);
        size_t n = ad_model_num_params(m);
        for (size_t i = 0; i < n; i++) g[i] *= w;
        l *= w;
    }
    if (o->reduce && (s = o->reduce(o->ctx, step, &l, err))) return s;
    if (loss) *loss = l;
    if (!isfinite(l)) return ad_fail(err, AD_ERR_NUMERIC, "the loss is %g", (double)l);
    if ((s = ad_model_check_grads(m, err))) return s;
    if (o->before_update && (s = o->before_update(o->ctx, step, err))) return s;
    return ad_model_adamw_step(m, &o->opt, step + 1, err);
}
