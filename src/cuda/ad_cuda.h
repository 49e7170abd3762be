/* ad_cuda.h - the CUDA back end (attention.cu), for the library's C sources
 * and the GPU tests. Pointers are device pointers; shapes are those of the CPU
 * kernels (kernels.h). Launches are asynchronous on the default stream: an
 * error of the launch is returned here, one of the execution at the next
 * synchronising call. */
#ifndef AD_CUDA_H
#define AD_CUDA_H
#include "../internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the largest head size the kernels take (their per-thread rows) */
#define AD_CUDA_MAX_HS 128

/* AD_OK if a CUDA device is present and the driver answers. */
ad_status ad_cuda_device_check(ad_error *err);
/* fixedcount's dropped keys of every row: dropped (B,H,T,T) bytes, idx (B,H,T,T) ints scratch */
ad_status ad_cuda_fixedcount(unsigned char *dropped, int *idx, const ad_drop_site *s, int B, ad_error *err);
/* out (B,T,C), stats (B,H,T,2) from qkv (B,T,3C); s NULL or inactive: no dropout; dropped: fixedcount's */
ad_status ad_cuda_attention_fwd(float *out, float *stats, const float *qkv, const ad_drop_site *s,
                                const unsigned char *dropped, int B, int T, int C, int H, ad_error *err);
/* dqkv (B,T,3C) overwritten, from dout (B,T,C) and the forward's qkv, out and stats */
ad_status ad_cuda_attention_bwd(float *dqkv, const float *dout, const float *qkv, const float *out,
                                const float *stats, const ad_drop_site *s, const unsigned char *dropped, int B,
                                int T, int C, int H, ad_error *err);

#ifdef __cplusplus
}
#endif
#endif
