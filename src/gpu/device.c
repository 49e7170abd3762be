/* device.c - which devices this build and machine can use. The CUDA back end
 * (src/gpu/, `make CUDA=1`) is compiled in only when AD_CUDA is defined. */
#include "../core/internal.h"
#include <string.h>
#ifdef AD_CUDA
#include "ad_cuda.h"
#endif

const char *ad_device_name(ad_device d) {
    switch (d) {
    case AD_DEVICE_CPU: return "cpu";
    case AD_DEVICE_CUDA: return "cuda";
    }
    return "unknown";
}

int ad_device_lookup(const char *name) {
    if (!name) return -1;
    if (strcmp(name, "cpu") == 0) return AD_DEVICE_CPU;
    if (strcmp(name, "cuda") == 0) return AD_DEVICE_CUDA;
    return -1;
}

ad_status ad_device_check(ad_device d, ad_error *err) {
    switch (d) {
    case AD_DEVICE_CPU: return AD_OK;
    case AD_DEVICE_CUDA:
#ifdef AD_CUDA
        return ad_cuda_device_check(err);
#else
        return ad_fail(err, AD_ERR_DEVICE, "this attndrop was built without CUDA (build it with make CUDA=1)");
#endif
    }
    return ad_fail(err, AD_ERR_ARG, "unknown device %d", (int)d);
}
