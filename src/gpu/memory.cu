/* memory.cu - device memory for the model's mirror of its buffers. */
#include "ad_cuda.h"
#include <cuda_runtime.h>

static ad_status fail(ad_error *err, cudaError_t e, const char *what, size_t bytes) {
    return ad_fail(err, AD_ERR_DEVICE, "CUDA %s of %zu bytes: %s", what, bytes, cudaGetErrorString(e));
}

extern "C" ad_status ad_cuda_alloc(void **p, size_t bytes, ad_error *err) {
    *p = NULL;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e != cudaSuccess) { *p = NULL; return fail(err, e, "allocation", bytes); }
    e = cudaMemset(*p, 0, bytes);
    if (e != cudaSuccess) { cudaFree(*p); *p = NULL; return fail(err, e, "clearing", bytes); }
    return AD_OK;
}

extern "C" void ad_cuda_free(void *p) {
    if (p) cudaFree(p);
}

extern "C" ad_status ad_cuda_upload(void *dst, const void *src, size_t bytes, ad_error *err) {
    cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
    return e == cudaSuccess ? AD_OK : fail(err, e, "upload", bytes);
}

extern "C" ad_status ad_cuda_download(void *dst, const void *src, size_t bytes, ad_error *err) {
    cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
    return e == cudaSuccess ? AD_OK : fail(err, e, "download", bytes);
}

extern "C" ad_status ad_cuda_zero(void *p, size_t bytes, ad_error *err) {
    cudaError_t e = cudaMemset(p, 0, bytes);
    return e == cudaSuccess ? AD_OK : fail(err, e, "clearing", bytes);
}
