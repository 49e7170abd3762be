/* parse.c - the one strict reader of whole numbers, for every integer field
 * of a file or a command line: decimal digits only (no sign, space, exponent
 * or fraction), checked for overflow. */
#include "attndrop.h"

int ad_parse_uint(const char *s, uint64_t max, uint64_t *out) {
    if (!s || !*s) return 0;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (v > max) return 0;
    *out = v;
    return 1;
}
