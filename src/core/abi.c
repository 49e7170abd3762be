/* abi.c - the layout of the public structs, for bindings that copy them by
 * hand (python/attndrop/lib.py checks its ctypes structs against it when it
 * loads the library, so that a field added here fails there at once instead
 * of shifting every field after it). */
#include "attndrop.h"
#include <stddef.h>
#include <string.h>

typedef struct {
    const char *type, *field; /* field NULL: the size of the type */
    size_t value;
} layout_row;

#define SIZE(t) {#t, NULL, sizeof(t)}
#define FIELD(t, f) {#t, #f, offsetof(t, f)}

static const layout_row rows[] = {
    SIZE(ad_error), FIELD(ad_error, status), FIELD(ad_error, msg),
    SIZE(ad_vocab), FIELD(ad_vocab, size), FIELD(ad_vocab, chars),
    SIZE(ad_drop_site), FIELD(ad_drop_site, scheme), FIELD(ad_drop_site, p), FIELD(ad_drop_site, seed),
    FIELD(ad_drop_site, step), FIELD(ad_drop_site, layer), FIELD(ad_drop_site, n_head),
    FIELD(ad_drop_site, block_size), FIELD(ad_drop_site, bidirectional), FIELD(ad_drop_site, row0),
    SIZE(ad_scheme_info), FIELD(ad_scheme_info, name), FIELD(ad_scheme_info, description),
    FIELD(ad_scheme_info, where), FIELD(ad_scheme_info, guarantee), FIELD(ad_scheme_info, unbiased),
    FIELD(ad_scheme_info, study), FIELD(ad_scheme_info, study_rank), FIELD(ad_scheme_info, source),
    FIELD(ad_scheme_info, note),
    SIZE(ad_stats_opts), FIELD(ad_stats_opts, scheme), FIELD(ad_stats_opts, p), FIELD(ad_stats_opts, block_size),
    FIELD(ad_stats_opts, n_head), FIELD(ad_stats_opts, n_layer), FIELD(ad_stats_opts, trials),
    FIELD(ad_stats_opts, seed), FIELD(ad_stats_opts, bidirectional), FIELD(ad_stats_opts, logit_std),
    SIZE(ad_stats), FIELD(ad_stats, T), FIELD(ad_stats, p_zero_exact), FIELD(ad_stats, p_zero_mc),
    FIELD(ad_stats, p_allheads_zero_exact), FIELD(ad_stats, p_allheads_zero_mc), FIELD(ad_stats, row_sum_mean_exact),
    FIELD(ad_stats, row_sum_mean_mc), FIELD(ad_stats, row_sum_var_exact), FIELD(ad_stats, row_sum_var_mc),
    FIELD(ad_stats, bias_mc), FIELD(ad_stats, zero_rows_per_head), FIELD(ad_stats, zero_rows_per_head_mc),
    FIELD(ad_stats, zero_rows_per_layer), FIELD(ad_stats, zero_rows_per_model), FIELD(ad_stats, p_any_zero_output),
    SIZE(ad_config), FIELD(ad_config, vocab_size), FIELD(ad_config, block_size), FIELD(ad_config, n_embd),
    FIELD(ad_config, n_head), FIELD(ad_config, n_layer), FIELD(ad_config, dropout), FIELD(ad_config, scheme),
    FIELD(ad_config, attn_dropout), FIELD(ad_config, schedule),
    SIZE(ad_tensor_info), FIELD(ad_tensor_info, name), FIELD(ad_tensor_info, ndim), FIELD(ad_tensor_info, shape),
    FIELD(ad_tensor_info, offset),
    SIZE(ad_adamw), FIELD(ad_adamw, lr), FIELD(ad_adamw, beta1), FIELD(ad_adamw, beta2), FIELD(ad_adamw, eps),
    FIELD(ad_adamw, weight_decay),
    SIZE(ad_sample_opts), FIELD(ad_sample_opts, temperature), FIELD(ad_sample_opts, top_k),
    FIELD(ad_sample_opts, seed), FIELD(ad_sample_opts, recompute),
    SIZE(ad_view), FIELD(ad_view, data), FIELD(ad_view, stride_b), FIELD(ad_view, stride_h),
    FIELD(ad_view, stride_t),
    SIZE(ad_sdpa_shape), FIELD(ad_sdpa_shape, B), FIELD(ad_sdpa_shape, H), FIELD(ad_sdpa_shape, H_kv),
    FIELD(ad_sdpa_shape, T_q), FIELD(ad_sdpa_shape, T_k), FIELD(ad_sdpa_shape, D), FIELD(ad_sdpa_shape, D_v),
    FIELD(ad_sdpa_shape, causal), FIELD(ad_sdpa_shape, dtype), FIELD(ad_sdpa_shape, scale),
    SIZE(ad_sdpa_view), FIELD(ad_sdpa_view, data), FIELD(ad_sdpa_view, stride_b), FIELD(ad_sdpa_view, stride_h),
    FIELD(ad_sdpa_view, stride_t),
    SIZE(ad_sdpa_mask), FIELD(ad_sdpa_mask, data), FIELD(ad_sdpa_mask, stride_b), FIELD(ad_sdpa_mask, stride_h),
    FIELD(ad_sdpa_mask, stride_q), FIELD(ad_sdpa_mask, stride_k),
};

long ad_abi_layout(const char *type, const char *field) {
    if (!type) return -1;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strcmp(rows[i].type, type) == 0 &&
            (field ? rows[i].field && strcmp(rows[i].field, field) == 0 : rows[i].field == NULL))
            return (long)rows[i].value;
    return -1;
}

int ad_abi_fields(const char *type) {
    int n = 0;
    if (!type) return -1;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) n += rows[i].field && strcmp(rows[i].type, type) == 0;
    return n;
}
