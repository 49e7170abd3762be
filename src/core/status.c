/* status.c - status names, error messages and checked size arithmetic. */
#include "internal.h"
#include <stdio.h>
#include <string.h>

const char *ad_status_name(ad_status s) {
    switch (s) {
    case AD_OK: return "ok";
    case AD_ERR_ARG: return "invalid argument";
    case AD_ERR_IO: return "I/O error";
    case AD_ERR_FORMAT: return "malformed file";
    case AD_ERR_DATA: return "unusable data";
    case AD_ERR_NOMEM: return "out of memory";
    case AD_ERR_NUMERIC: return "numerical failure";
    case AD_ERR_DEVICE: return "device unavailable";
    }
    return "unknown status";
}

ad_status ad_fail(ad_error *err, ad_status s, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = s;
    }
    return s;
}

int ad_mul_ok(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}

int ad_add_ok(size_t a, size_t b, size_t *out) {
    if (b > (size_t)-1 - a) return 0;
    *out = a + b;
    return 1;
}

void ad_error_prefix(ad_error *err, const char *a, const char *b) {
    if (!err) return;
    char tmp[sizeof err->msg];
    size_t n = 0;
    const char *parts[3] = {a, b, err->msg};
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; p && *p && n + 1 < sizeof tmp; p++) tmp[n++] = *p;
    tmp[n] = '\0';
    memcpy(err->msg, tmp, n + 1);
}
