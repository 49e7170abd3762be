/* schemes.c - the table of attention-dropout schemes: one row per scheme,
 * with everything a caller asks of it (where it acts, its mask function, its
 * closed forms, its guarantee, its place in the study). Adding a scheme is an
 * enum line in attndrop.h, a row here with its functions (dropout.c, and
 * stats.c if it has closed forms), a test fixture and a row in
 * docs/schemes.md. */
#include "dropout.h"
#include <assert.h>
#include <string.h>

#define SOURCE_Q "the source's questions; see docs/schemes.md"

static const ad_scheme_def schemes[AD_SCHEME_COUNT] = {
    [AD_SCHEME_NONE] = {{"none", "no attention dropout", AD_WHERE_POST, 1, 1,
                         AD_STUDY_BASELINE | AD_STUDY_CORE, 1, NULL, NULL}, NULL, NULL, NULL, NULL},
    [AD_SCHEME_STANDARD] = {{"standard", "nn.Dropout on the whole T x T softmax matrix, 1/(1-p) (gpt.py)", AD_WHERE_POST, 0, 1,
                             AD_STUDY_REFERENCE | AD_STUDY_CORE, 2,
                             "PyTorch `nn.Dropout`, as in the nanoGPT lecture's `gpt.py`; inverted dropout (Srivastava et al., JMLR 2014)",
                             NULL},
                            ad_row_standard, NULL, ad_law_independent, ad_any_zero_rows},
    [AD_SCHEME_MASKED] = {{"masked", "each weight inside the causal mask, 1/(1-p)", AD_WHERE_POST, 0, 1,
                           AD_STUDY_COPY | AD_STUDY_MASK, 8, SOURCE_Q,
                           "**The source's remarks, \"drop on the mask\" and \"symmetric\" dropout.** "
                           "Dropping the whole T x T matrix (`standard`, as `nn.Dropout` does) or only the weights inside "
                           "the causal mask (`masked`) gives outputs with the same distribution: the weights above the "
                           "diagonal are already zero. Neither is biased: each kept weight is scaled by 1/(1−p). With causal "
                           "attention a symmetric mask only ever uses its lower triangle, so `symmetric` is `masked`, draw "
                           "for draw; it differs only for bidirectional attention (`attndrop stats --attention "
                           "bidirectional`)."},
                          ad_row_masked, NULL, ad_law_independent, ad_any_zero_rows},
    [AD_SCHEME_NONZERO] = {{"nonzero", "each weight, conditioned on at least one survivor per row, (1-p^n)/(1-p)", AD_WHERE_POST, 1, 1,
                            AD_STUDY_CONTROL | AD_STUDY_CORE | AD_STUDY_SURVIVOR, 3, SOURCE_Q, NULL},
                           ad_row_nonzero, NULL, ad_law_nonzero, NULL},
    [AD_SCHEME_KEEPDIAG] = {{"keepdiag", "each weight but the diagonal, which always survives; 1/(1-p) on the others", AD_WHERE_POST, 1, 1,
                             AD_STUDY_CORE | AD_STUDY_SURVIVOR | AD_STUDY_HEADLINE, 4, SOURCE_Q, NULL},
                            ad_row_keepdiag, NULL, ad_law_keepdiag, NULL},
    [AD_SCHEME_FIXEDCOUNT] = {{"fixedcount", "exactly round(p*n) weights per row (at most n-1), uniformly; n/kept", AD_WHERE_POST, 1, 1,
                               AD_STUDY_SURVIVOR, 0, SOURCE_Q, NULL},
                              ad_row_fixedcount, NULL, ad_law_fixedcount, NULL},
    [AD_SCHEME_RENORM] = {{"renorm", "each weight; survivors renormalised to sum 1 (DropAttention, element-wise)", AD_WHERE_PRE, 0, 0,
                           0, 0, "DropAttention (Zehui Lin et al., 2019)", NULL},
                          ad_row_renorm, NULL, ad_law_renorm, ad_any_zero_rows},
    [AD_SCHEME_COLUMN] = {{"column", "whole keys per (batch row, layer, head), 1/(1-p) (DropAttention, column-wise)", AD_WHERE_POST, 0, 1,
                           0, 0, "DropAttention (Zehui Lin et al., 2019)", NULL},
                          ad_row_column, NULL, ad_law_independent, ad_any_zero_column},
    [AD_SCHEME_TOKEN] = {{"token", "whole keys per (batch row, layer), shared by every head, 1/(1-p)", AD_WHERE_POST, 0, 1,
                          AD_STUDY_CORE | AD_STUDY_WHOLE | AD_STUDY_HEADLINE, 5, SOURCE_Q, NULL},
                         ad_row_token, NULL, ad_law_token, ad_any_zero_token},
    [AD_SCHEME_WORD] = {{"word", "whole input tokens: token embedding zeroed, position kept, 1/(1-p) (word dropout)", AD_WHERE_INPUT, 1, 1,
                         AD_STUDY_TEXT | AD_STUDY_WHOLE | AD_STUDY_HEADLINE, 6, "word dropout (Iyyer et al., ACL 2015)", NULL},
                        NULL, ad_input_word, NULL, NULL},
    [AD_SCHEME_EMBEDDING] = {{"embedding", "whole vocabulary entries per batch row, 1/(1-p) (embedding dropout)", AD_WHERE_INPUT, 1, 1,
                              AD_STUDY_WHOLE, 0, "embedding dropout (Gal and Ghahramani, NeurIPS 2016)", NULL},
                             NULL, ad_input_embedding, NULL, NULL},
    [AD_SCHEME_DROPKEY] = {{"dropkey", "logits to -inf per (query, key), at least one kept per row (DropKey)", AD_WHERE_PRE, 1, 0,
                            AD_STUDY_COPY | AD_STUDY_TEXT | AD_STUDY_SURVIVOR | AD_STUDY_HEADLINE, 7,
                            "DropKey (Li et al., CVPR 2023)", NULL},
                           ad_row_dropkey, NULL, NULL, NULL},
    [AD_SCHEME_FCM] = {{"fcm", "past keys per batch row at a rate ~ U[0,p], all layers and heads, key 0 kept (forgetful causal masking)",
                        AD_WHERE_PRE, 1, 0, 0, 0, "forgetful causal masking (Liu et al., 2022)", NULL},
                       ad_row_fcm, NULL, NULL, NULL},
    [AD_SCHEME_HEAD] = {{"head", "whole heads per (batch row, layer), H/kept, never all (DropHead)", AD_WHERE_POST, 0, 1,
                         AD_STUDY_COPY, 9, "DropHead (Zhou et al., 2020)", NULL},
                        ad_row_head, NULL, ad_law_head, NULL},
    [AD_SCHEME_SYMMETRIC] = {{"symmetric", "each weight with M[i][j] = M[j][i], 1/(1-p)", AD_WHERE_POST, 0, 1,
                              0, 0, SOURCE_Q, NULL},
                             ad_row_symmetric, NULL, ad_law_independent, ad_any_zero_symmetric},
};

const ad_scheme_def *ad_scheme_def_get(ad_scheme s) {
    assert(s >= 0 && s < AD_SCHEME_COUNT);
    return &schemes[s];
}

const ad_scheme_info *ad_scheme_get(ad_scheme s) {
    return (int)s >= 0 && (int)s < AD_SCHEME_COUNT ? &schemes[s].info : NULL;
}

int ad_scheme_lookup(const char *name) {
    for (int s = 0; s < AD_SCHEME_COUNT; s++)
        if (strcmp(schemes[s].info.name, name) == 0) return s;
    return -1;
}

int ad_scheme_find(unsigned group) {
    for (int s = 0; s < AD_SCHEME_COUNT; s++)
        if (schemes[s].info.study & group) return s;
    return -1;
}

int ad_scheme_list(unsigned groups, unsigned exclude, ad_scheme out[AD_SCHEME_COUNT]) {
    int n = 0;
    for (int s = 0; s < AD_SCHEME_COUNT; s++)
        if ((schemes[s].info.study & groups) && !(schemes[s].info.study & exclude)) out[n++] = (ad_scheme)s;
    /* insertion sort by study rank (rank 0 last), then by enum order */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            int ra = schemes[out[j - 1]].info.study_rank, rb = schemes[out[j]].info.study_rank;
            if (ra == 0) ra = 1 << 30;
            if (rb == 0) rb = 1 << 30;
            if (ra <= rb) break;
            ad_scheme t = out[j]; out[j] = out[j - 1]; out[j - 1] = t;
        }
    return n;
}

static const char *schedule_names[AD_SCHEDULE_COUNT] = {
    [AD_SCHEDULE_CONSTANT] = "constant", [AD_SCHEDULE_LAYER_DECAY] = "layer-decay", [AD_SCHEDULE_STEP_DECAY] = "step-decay"};

const char *ad_schedule_name(ad_schedule s) {
    return (int)s >= 0 && (int)s < AD_SCHEDULE_COUNT ? schedule_names[s] : "unknown";
}

int ad_schedule_lookup(const char *name) {
    for (int s = 0; s < AD_SCHEDULE_COUNT; s++)
        if (strcmp(schedule_names[s], name) == 0) return s;
    return -1;
}
