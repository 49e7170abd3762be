/* fuzz_flags.c - the command-line option parser on arbitrary arguments (the
 * input split at NUL bytes): every value it accepts is within its range. */
#include "../cli/opts.h"
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    cli_err_stream = devnull;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[64];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    int n = 100, flag = 0;
    double p = 0.5;
    uint64_t seed = 7;
    const char *str = NULL;
    opt opts[] = {
        {"n", OPT_INT, &n, 1, 1000, "an int"},
        {"p", OPT_FLOAT, &p, 0, 0.999999, "a probability"},
        {"seed", OPT_U64, &seed, 0, 0, "a seed"},
        {"name", OPT_STR, &str, 0, 0, "a string"},
        {"flag", OPT_FLAG, &flag, 0, 0, "a flag"},
    };
    int help;
    if (cli_parse_opts("fuzz ", opts, 5, argc, argv, &help) == 0) {
        assert(n >= 1 && n <= 1000);
        assert(p >= 0.0 && p <= 0.999999 && isfinite(p));
        assert(flag == 0 || flag == 1);
        assert(!str || *str);
    }
    free(buf);
    return 0;
}
