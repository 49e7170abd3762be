/* schemes.c - the commands that show what the schemes do: the list, their
 * exact and Monte Carlo statistics, and the source's toy example. */
#include "cli.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

/* stats and demo: which scheme at which p, over causal or bidirectional attention */
typedef struct { const char *scheme, *attention; double p; int id, bidirectional; } scheme_args;
#define SCHEME_OPTS(a)                                                            \
    {"scheme", OPT_STR, &(a).scheme, 0, 0, "scheme (standard)"},                  \
    {"p", OPT_FLOAT, &(a).p, 0, 0.999999, "dropout probability (0.5)"},           \
    {"attention", OPT_STR, &(a).attention, 0, 0, "causal or bidirectional (causal)"}

/* the names of scheme_args resolved; 0, or the exit code after one line */
static int resolve(const char *cmd, scheme_args *a) {
    a->id = ad_scheme_lookup(a->scheme);
    if (a->id < 0) return cli_die_usage(cmd, "unknown scheme '%s' (see '%s schemes')", a->scheme, cli_prog);
    if (strcmp(a->attention, "causal") == 0) a->bidirectional = 0;
    else if (strcmp(a->attention, "bidirectional") == 0) a->bidirectional = 1;
    else return cli_die_usage(cmd, "--attention must be causal or bidirectional, got '%s'", a->attention);
    return 0;
}

static void print_num(double v, int csv) {
    if (isnan(v)) printf(csv ? "n/a" : "%12s", "n/a");
    else printf(csv ? "%.8g" : "%12.6g", v);
}

int cmd_stats(int argc, char **argv) {
    const char *format = "table";
    scheme_args a = {"standard", "causal", 0.5, 0, 0};
    double logit_std = 1.0;
    int T = 8, H = 4, L = 4, trials = 100000;
    uint64_t seed = 1337;
    opt opts[] = {
        SCHEME_OPTS(a),
        {"block-size", OPT_INT, &T, 1, 4096, "positions T (8)"},
        {"n-head", OPT_INT, &H, 1, 1024, "heads per layer (4)"},
        {"n-layer", OPT_INT, &L, 1, 1024, "layers (4)"},
        {"trials", OPT_INT, &trials, 1, 1000000000, "Monte Carlo sequences (100000)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed (1337)"},
        {"logit-std", OPT_FLOAT, &logit_std, 0, 100, "Monte Carlo logits ~ N(0, s^2); 0: uniform weights (1)"},
        {"format", OPT_STR, &format, 0, 0, "table, csv or json (table)"},
    };
    int rc = cli_begin("stats", "[options]", "What a scheme does to attention rows, per position: exact and Monte Carlo.", opts,
                       CLI_N(opts), argc, argv);
    if (rc != CLI_GO || (rc = resolve("stats ", &a))) return rc;
    int fmt = strcmp(format, "table") == 0 ? 0 : strcmp(format, "csv") == 0 ? 1 : strcmp(format, "json") == 0 ? 2 : -1;
    if (fmt < 0) return cli_die_usage("stats ", "--format must be table, csv or json, got '%s'", format);
    ad_stats_opts so = {(ad_scheme)a.id, (float)a.p, T, H, L, trials, seed, a.bidirectional, logit_std};
    ad_stats st;
    ad_error err = {0};
    if (ad_stats_compute(&st, &so, &err)) return cli_die_status(&err, NULL);
    const double *cols[9] = {st.p_zero_exact, st.p_zero_mc, st.p_allheads_zero_exact, st.p_allheads_zero_mc,
                             st.row_sum_mean_exact, st.row_sum_mean_mc, st.row_sum_var_exact, st.row_sum_var_mc, st.bias_mc};
    static const char *names[9] = {"p_zero_exact", "p_zero_mc", "p_allheads_zero_exact", "p_allheads_zero_mc",
                                   "row_sum_mean_exact", "row_sum_mean_mc", "row_sum_var_exact", "row_sum_var_mc", "bias_mc"};
    if (fmt == 2) {
        printf("{\"scheme\":\"%s\",\"p\":%.9g,\"block_size\":%d,\"n_head\":%d,\"n_layer\":%d,\"trials\":%d,"
               "\"attention\":\"%s\",\"logit_std\":%.9g,\"positions\":[", a.scheme, a.p, T, H, L, trials, a.attention, logit_std);
        for (int i = 0; i < T; i++) {
            printf("%s{\"pos\":%d", i ? "," : "", i);
            for (int k = 0; k < 9; k++) {
                if (isnan(cols[k][i])) printf(",\"%s\":null", names[k]);
                else printf(",\"%s\":%.9g", names[k], cols[k][i]);
            }
            printf("}");
        }
        printf("],\"zero_rows_per_sequence_head\":%.9g,\"zero_rows_per_sequence_head_mc\":%.9g,"
               "\"zero_rows_per_sequence_layer\":%.9g,\"zero_rows_per_sequence_model\":%.9g,",
               st.zero_rows_per_head, st.zero_rows_per_head_mc, st.zero_rows_per_layer, st.zero_rows_per_model);
        if (isnan(st.p_any_zero_output)) printf("\"p_any_zero_output\":null}\n");
        else printf("\"p_any_zero_output\":%.9g}\n", st.p_any_zero_output);
    } else {
        if (fmt == 0)
            printf("scheme %s, p=%g, T=%d, H=%d, L=%d, %s attention, %d Monte Carlo sequences, logits N(0, %g^2)\n",
                   a.scheme, a.p, T, H, L, a.attention, trials, logit_std);
        printf(fmt ? "pos" : "%4s", "pos");
        for (int k = 0; k < 9; k++) printf(fmt ? ",%s" : " %12.12s", names[k]);
        printf("\n");
        for (int i = 0; i < T; i++) {
            printf(fmt ? "%d" : "%4d", i);
            for (int k = 0; k < 9; k++) {
                printf(fmt ? "," : " ");
                print_num(cols[k][i], fmt);
            }
            printf("\n");
        }
        if (fmt == 0) {
            printf("expected all-zero rows per sequence: per head %.6g (Monte Carlo %.6g), per layer %.6g, per model %.6g\n",
                   st.zero_rows_per_head, st.zero_rows_per_head_mc, st.zero_rows_per_layer, st.zero_rows_per_model);
            if (isnan(st.p_any_zero_output))
                printf("P(some token's attention output is zero in some layer): n/a\n");
            else
                printf("P(some token's attention output is zero in some layer): %.6g\n", st.p_any_zero_output);
        }
    }
    ad_stats_free(&st);
    return 0;
}

int cmd_demo(int argc, char **argv) {
    const char *format = "text";
    scheme_args a = {"standard", "causal", 0.5, 0, 0};
    int T = 4, dim = 10;
    uint64_t seed = 1367149;
    opt opts[] = {
        SCHEME_OPTS(a),
        {"block-size", OPT_INT, &T, 1, 64, "size of the similarity matrix (4)"},
        {"seed", OPT_U64, &seed, 0, 0, "seed (1367149)"},
        {"format", OPT_STR, &format, 0, 0, "text or json (text)"},
    };
    int rc = cli_begin("demo", "[options]", "The source's toy: random causal similarities, dropout, times random values;\n"
                       "rows that come out all zero are marked.", opts, CLI_N(opts), argc, argv);
    if (rc != CLI_GO || (rc = resolve("demo ", &a))) return rc;
    int sc = a.id, bidir = a.bidirectional;
    double p = a.p;
    int json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "text") != 0) return cli_die_usage("demo ", "--format must be text or json, got '%s'", format);
    double sim[64 * 64], drop[64 * 64], val[64 * 10], prod[64 * 10];
    ad_rng r = ad_rng_stream(seed, AD_RNG_TEST, 0, 0, 0), rv = ad_rng_stream(seed, AD_RNG_TEST, 1, 0, 0);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) sim[i * T + j] = (bidir || j <= i) ? ad_rng_uniform(&r, (uint64_t)(i * T + j)) : 0.0;
    for (int i = 0; i < T * dim; i++) val[i] = ad_rng_uniform(&rv, (uint64_t)i);
    ad_drop_site site = {(ad_scheme)sc, (float)p, seed, 0, 0, 1, T, bidir, 0};
    for (int i = 0; i < T; i++) {
        int n = bidir ? T : i + 1;
        ad_error err;
        if (ad_drop_row(&site, 0, 0, i, sim + i * T, n, drop + i * T, &err)) return cli_die_usage("demo ", "%s", err.msg);
        for (int j = n; j < T; j++) drop[i * T + j] = 0.0;
    }
    int zero[64], nzero = 0;
    for (int i = 0; i < T; i++) {
        zero[i] = 1;
        for (int c = 0; c < dim; c++) {
            double acc = 0.0;
            for (int j = 0; j < T; j++) acc += drop[i * T + j] * val[j * dim + c];
            prod[i * dim + c] = acc;
            if (acc != 0.0) zero[i] = 0;
        }
        nzero += zero[i];
    }
    const double *mats[4] = {sim, drop, val, prod};
    static const char *mnames[4] = {"similarities", "after_dropout", "values", "product"};
    int rows[4] = {T, T, T, T}, cols[4] = {T, T, dim, dim};
    if (json) {
        printf("{\"scheme\":\"%s\",\"p\":%.9g,\"block_size\":%d,\"seed\":%llu,\"attention\":\"%s\"", a.scheme, p, T,
               (unsigned long long)seed, a.attention);
        for (int k = 0; k < 4; k++) {
            printf(",\"%s\":[", mnames[k]);
            for (int i = 0; i < rows[k]; i++) {
                printf("%s[", i ? "," : "");
                for (int j = 0; j < cols[k]; j++) printf("%s%.9g", j ? "," : "", mats[k][i * cols[k] + j]);
                printf("]");
            }
            printf("]");
        }
        printf(",\"zero_rows\":[");
        for (int i = 0, first = 1; i < T; i++)
            if (zero[i]) { printf("%s%d", first ? "" : ",", i); first = 0; }
        printf("]}\n");
        return 0;
    }
    printf("scheme %s, p=%g, %s attention, seed %llu\n", a.scheme, p, a.attention, (unsigned long long)seed);
    for (int k = 0; k < 4; k++) {
        printf("\n%s (%d x %d)%s\n", mnames[k], rows[k], cols[k], k == 1 && ad_scheme_get((ad_scheme)sc)->where == AD_WHERE_PRE
               ? ": survivors renormalised, as masking their logits does" : "");
        for (int i = 0; i < rows[k]; i++) {
            for (int j = 0; j < cols[k]; j++) printf(" %7.4f", mats[k][i * cols[k] + j]);
            if (k == 3 && zero[i]) printf("   <- all zero: token %d's head output is 0", i);
            printf("\n");
        }
    }
    printf("\n%d of %d rows all zero\n", nzero, T);
    return 0;
}

int cmd_schemes(int argc, char **argv) {
    opt opts[1];
    int rc = cli_begin("schemes", "", "Lists the attention-dropout schemes of --scheme.", opts, 0, argc, argv);
    if (rc != CLI_GO) return rc;
    static const char *where[3] = {"after softmax", "before softmax", "input"};
    for (int i = 0; i < AD_SCHEME_COUNT; i++) {
        const ad_scheme_info *si = ad_scheme_get((ad_scheme)i);
        printf("%-11s %-14s %s\n", si->name, where[si->where], si->description);
    }
    return 0;
}
