/* adamw.h - one weight's AdamW update (torch.optim.AdamW: decoupled weight
 * decay, bias-corrected moments), for the CPU loop (model.c) and the GPU
 * kernel (gpu/layers.cu), with the step's scalars computed once by the
 * caller as ad_model_adamw_step does. */
#ifndef AD_ADAMW_H
#define AD_ADAMW_H
#include "../schemes/mask.h" /* AD_HD */

typedef struct {
    float b1, b2, eps;
    float decay;     /* 1 - lr * weight_decay */
    float step_size; /* lr / (1 - beta1^t) */
    float bc2_sqrt;  /* sqrt(1 - beta2^t) */
} ad_adamw_step_k;

AD_HD void ad_adamw_update_hd(float *p, float *m, float *v, float g, const ad_adamw_step_k *k) {
    *p *= k->decay;
    *m = k->b1 * *m + (1.0f - k->b1) * g;
    *v = k->b2 * *v + (1.0f - k->b2) * g * g;
    float denom = sqrtf(*v) / k->bc2_sqrt + k->eps;
    *p -= k->step_size * (*m / denom);
}

#endif
