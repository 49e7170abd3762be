/* attndrop.h - public API of attndrop: a character-level GPT (the nanoGPT
 * lecture's gpt.py model) trained on the CPU, with pluggable attention dropout.
 *
 * Conventions
 *  - Every fallible function returns an ad_status; on failure it fills *err
 *    (which may be NULL) with one readable line. The library never prints and
 *    never exits; misuse by the programmer (NULL where an object is required,
 *    sizes beyond what an object was created for) hits an assert.
 *  - Every create/load has a matching free that accepts NULL. The comment of
 *    each function says who owns what it returns.
 *  - All randomness is Philox4x32-10 keyed by the seed and by what the draw is
 *    for, so results do not depend on the number of threads.
 */
#ifndef ATTNDROP_H
#define ATTNDROP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AD_VERSION "0.1.0"

/* ---------------------------------------------------------------- status */

typedef enum {
    AD_OK = 0,
    AD_ERR_ARG,     /* a value out of range or inconsistent */
    AD_ERR_IO,      /* a file could not be opened, read or written */
    AD_ERR_FORMAT,  /* a file is malformed */
    AD_ERR_DATA,    /* training data unusable (empty, invalid UTF-8, too short) */
    AD_ERR_NOMEM,   /* an allocation failed or a size overflowed */
    AD_ERR_NUMERIC, /* a NaN or Inf appeared */
    AD_ERR_DEVICE   /* a device asked for is absent, not built in, or failed */
} ad_status;

typedef struct {
    ad_status status;
    char msg[512];
} ad_error;

/* A static string naming the status ("I/O error", ...). */
const char *ad_status_name(ad_status s);

/* The one strict reader of whole numbers used for every integer field (files
 * and command line): 1 and *out set if s is decimal digits only (no sign,
 * space, exponent or fraction) with a value <= max; 0 otherwise. */
int ad_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* ---------------------------------------------------------- atomic files */

/* A file that appears whole or not at all: written to a temporary file in the
 * target's directory (PATH.<pid>.<n>.tmp), which commit flushes to disk,
 * renames over the target and makes durable by syncing the directory. Every
 * file attndrop writes (checkpoints, train states, logs, a study's records,
 * CSVs and report) goes through it. */
typedef struct {
    FILE *f;          /* write here between open and commit (owned by the helper) */
    char path[4096];
    char tmp[4160];
} ad_atomic_file;
/* Creates the temporary file for path; a->f is then open for writing. */
ad_status ad_atomic_open(ad_atomic_file *a, const char *path, ad_error *err);
/* Flushes, fsyncs and renames over the target. On any failure (a write error
 * seen by the stream, a full disk, ...) the temporary file is removed, the
 * target is left as it was, and the message names the path and the cause. */
ad_status ad_atomic_commit(ad_atomic_file *a, ad_error *err);
/* Removes the temporary file, leaving the target as it was (NULL, or a file
 * already committed or aborted: nothing). */
void ad_atomic_abort(ad_atomic_file *a);

/* ---------------------------------------------------------------- Philox */

/* Philox4x32-10 (Salmon et al., SC 2011): out = bijection(ctr) under key. */
void ad_philox4x32(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]);
/* n blocks at once: out[4i..4i+3] = Philox((c0+i, c1, c2, c3), key) for i < n. */
void ad_philox4x32_blocks(uint32_t *out, uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                          const uint32_t key[2], int n);

/* What a random draw is for; part of every counter so that streams never
 * overlap. */
typedef enum {
    AD_RNG_INIT = 1,     /* weight initialisation */
    AD_RNG_BATCH = 2,    /* training batch offsets */
    AD_RNG_EVAL = 3,     /* estimate_loss batch offsets */
    AD_RNG_ATTN = 4,     /* attention-weight dropout */
    AD_RNG_RESID = 5,    /* dropout after the attention projection */
    AD_RNG_FFN = 6,      /* dropout after the feed-forward network */
    AD_RNG_SAMPLE = 7,   /* multinomial sampling */
    AD_RNG_TEST = 8,     /* tests and tools */
    AD_RNG_TASK = 9,     /* built-in synthetic tasks */
    AD_RNG_ATTN_ROW = 10, /* per-row draws of attention schemes (guarantees, counts) */
    AD_RNG_ATTN_KEY = 11, /* key masks (column, token) */
    AD_RNG_HEAD = 12,     /* head masks */
    AD_RNG_FCM = 13,      /* forgetful causal masking */
    AD_RNG_WORD = 14,     /* word and embedding dropout */
    AD_RNG_STATS = 15     /* random logits of the statistics' Monte Carlo */
} ad_rng_purpose;

/* A stream of 32-bit draws: draw i is a pure function of
 * (seed, purpose, a, b, c, i). a, b are 32-bit, c is 24-bit (its higher bits
 * are ignored), i is below 2^34 (the stream repeats beyond). */
typedef struct {
    uint32_t key[2];
    uint32_t ctr1, ctr2, ctr3;
} ad_rng;

ad_rng ad_rng_stream(uint64_t seed, ad_rng_purpose purpose, uint32_t a, uint32_t b, uint32_t c);
uint32_t ad_rng_u32(const ad_rng *r, uint64_t i);
/* Uniform in [0,1) with 53 random bits, from draws 2i and 2i+1. */
double ad_rng_uniform(const ad_rng *r, uint64_t i);
/* The 32-bit threshold t such that "keep iff u32 >= t" keeps with probability
 * 1-p to within 2^-32, for p in [0,1). Total: p <= 0 and NaN give 0 (keep
 * all), p >= 1 gives 2^32-1 (keep one draw in 2^32); callers validate p. */
uint32_t ad_keep_threshold(double p);

/* ------------------------------------------------------------- tokenizer */

/* The vocabulary: the sorted set of Unicode code points of a text. */
typedef struct {
    int size;
    uint32_t *chars; /* (size) code points, ascending */
} ad_vocab;

/* Decodes UTF-8 text. On success *codepoints (owned by the caller, free())
 * holds *n code points. Invalid UTF-8 is AD_ERR_DATA naming the byte offset. */
ad_status ad_utf8_decode(const char *text, size_t len, uint32_t **codepoints, size_t *n, ad_error *err);
/* Builds the vocabulary of a decoded text; free it with ad_vocab_free. */
ad_status ad_vocab_build(ad_vocab *v, const uint32_t *cps, size_t n, ad_error *err);
void ad_vocab_free(ad_vocab *v);
/* The id of a code point, or -1 if absent. */
int ad_vocab_id(const ad_vocab *v, uint32_t cp);
/* Encodes code points to ids; a code point missing from the vocabulary is
 * AD_ERR_DATA naming it and its position. */
ad_status ad_vocab_encode(const ad_vocab *v, const uint32_t *cps, size_t n, int *ids, ad_error *err);
/* Appends the UTF-8 bytes of one code point to buf (at least 4 bytes free);
 * returns the number of bytes written. */
int ad_utf8_put(char *buf, uint32_t cp);

/* A tokenized text file split as gpt.py: first 90% train, last 10% val. */
typedef struct {
    ad_vocab vocab;
    int *ids;      /* (n) all token ids */
    size_t n;
    size_t n_train; /* ids[0 .. n_train) train, ids[n_train .. n) val */
} ad_dataset;

/* The largest text file ad_dataset_load reads: 1 GiB. */
#define AD_MAX_TEXT_BYTES ((size_t)1 << 30)
/* Reads a whole text file, as ad_dataset_load does (a regular file of at most
 * AD_MAX_TEXT_BYTES, not empty): *text (NUL-terminated, owned by the caller,
 * free()) holds its *len bytes. */
ad_status ad_read_text(const char *path, char **text, size_t *len, ad_error *err);
/* Reads and tokenizes a UTF-8 file, with the given vocabulary (copied) or,
 * when vocab is NULL, with the text's own. Only a regular file of at most
 * AD_MAX_TEXT_BYTES is read (a FIFO or a device is refused, never waited on).
 * Free with ad_dataset_free. */
ad_status ad_dataset_load(ad_dataset *d, const char *path, const ad_vocab *vocab, ad_error *err);
/* Tokenizes text already in memory, as ad_dataset_load. */
ad_status ad_dataset_from_text(ad_dataset *d, const char *text, size_t len, const ad_vocab *vocab,
                               ad_error *err);
void ad_dataset_free(ad_dataset *d);
/* FNV-1a (64-bit) of token ids, continuing from h (AD_HASH_INIT to start):
 * what identifies a run's data in its train state and a study's run records. */
#define AD_HASH_INIT 14695981039346656037ull
uint64_t ad_hash_ids(uint64_t h, const int *ids, size_t n);

/* Built-in synthetic texts, fixed by the seed:
 *  markov  a random order-3 character Markov chain over 32 symbols;
 *  copy    episodes "<8 random letters of 16>|<the same 8>\n";
 *  recall  episodes "<4 pairs 'key digit '>?<one of the keys><its digit>\n",
 *          keys distinct letters of 26. */
typedef enum { AD_TASK_MARKOV = 0, AD_TASK_COPY, AD_TASK_RECALL, AD_TASK_COUNT } ad_task;
const char *ad_task_name(ad_task t);
int ad_task_lookup(const char *name); /* -1 if unknown */
/* A malloc'ed, NUL-terminated UTF-8 text of n_chars characters (caller
 * frees), or NULL on no memory. */
char *ad_task_text(ad_task t, uint64_t seed, size_t n_chars);
/* The task's exact entropy rate in nats per character: the lowest mean loss
 * any model can reach on its text (given the whole past). NaN if out of
 * memory. */
double ad_task_entropy(ad_task t, uint64_t seed);

/* --------------------------------------------------------------- schemes */

/* Attention-dropout schemes: what is dropped in training, how survivors are
 * rescaled, what is guaranteed to survive (docs/schemes.md). */
typedef enum {
    AD_SCHEME_NONE = 0,
    AD_SCHEME_STANDARD,   /* nn.Dropout on the T x T softmax matrix, as gpt.py */
    AD_SCHEME_MASKED,     /* each weight inside the causal mask */
    AD_SCHEME_NONZERO,    /* per weight, conditioned on a survivor per row; (1-p^n)/(1-p) */
    AD_SCHEME_KEEPDIAG,   /* per weight, the diagonal always kept */
    AD_SCHEME_FIXEDCOUNT, /* exactly round(p n) weights per row, at most n-1; n/kept */
    AD_SCHEME_RENORM,     /* per weight, survivors renormalised to sum 1 (DropAttention) */
    AD_SCHEME_COLUMN,     /* whole keys per (row, layer, head) (DropAttention, column) */
    AD_SCHEME_TOKEN,      /* whole keys per (row, layer), shared by heads */
    AD_SCHEME_WORD,       /* whole input tokens' embeddings (word dropout) */
    AD_SCHEME_EMBEDDING,  /* whole vocabulary entries per row (embedding dropout) */
    AD_SCHEME_DROPKEY,    /* logits to -inf per weight, a survivor per row (DropKey) */
    AD_SCHEME_FCM,        /* past keys per row at a rate ~ U[0,p], key 0 kept (FCM) */
    AD_SCHEME_HEAD,       /* whole heads per (row, layer); H/kept (DropHead) */
    AD_SCHEME_SYMMETRIC,  /* M[i][j] = M[j][i] */
    AD_SCHEME_COUNT
} ad_scheme;

typedef enum { AD_WHERE_POST = 0, AD_WHERE_PRE = 1, AD_WHERE_INPUT = 2 } ad_scheme_where;

/* A scheme's roles in the study (flags of ad_scheme_info.study): what the
 * study's grids and report ask for, so that they name no scheme themselves. */
enum {
    AD_STUDY_BASELINE = 1 << 0,  /* no dropout: the baseline of every comparison */
    AD_STUDY_REFERENCE = 1 << 1, /* gpt.py's dropout: the baseline of the alternatives */
    AD_STUDY_CONTROL = 1 << 2,   /* the reference with no row ever all zero: whether zero rows matter */
    AD_STUDY_CORE = 1 << 3,      /* in every setting of the preset grids */
    AD_STUDY_COPY = 1 << 4,      /* also in the medium grid's copy setting */
    AD_STUDY_TEXT = 1 << 5,      /* also in the medium grid's text settings */
    AD_STUDY_WHOLE = 1 << 6,     /* drops whole words (the source's "why not drop whole words?") */
    AD_STUDY_SURVIVOR = 1 << 7,  /* guarantees a survivor per row ("why not keep one weight per row?") */
    AD_STUDY_HEADLINE = 1 << 8,  /* named in the report's summary */
    AD_STUDY_MASK = 1 << 9       /* the source's remark on dropping inside the mask */
};

typedef struct {
    const char *name;
    const char *description;   /* one line */
    ad_scheme_where where;     /* multiplies softmax weights, masks logits, or acts on the input */
    int guarantee;             /* never leaves an attention row all zero */
    int unbiased;              /* E[dropped weight] = weight */
    unsigned study;            /* AD_STUDY_* flags */
    int study_rank;            /* the order of the preset grids' cells (1 first; 0: after all others) */
    const char *source;        /* where it comes from, for the report's references (NULL: none) */
    const char *note;          /* a paragraph the report adds where it lists the scheme (NULL: none) */
} ad_scheme_info;

/* The table of schemes, indexed by ad_scheme (static storage); NULL for a
 * value outside [0, AD_SCHEME_COUNT). */
const ad_scheme_info *ad_scheme_get(ad_scheme s);
/* The scheme of that name, or -1. */
int ad_scheme_lookup(const char *name);
/* The first scheme (in enum order) with any of the AD_STUDY_* flags of
 * group, or -1. */
int ad_scheme_find(unsigned group);
/* The schemes with any flag of groups and none of exclude, in study_rank
 * order (then enum order) into out; returns how many. */
int ad_scheme_list(unsigned groups, unsigned exclude, ad_scheme out[AD_SCHEME_COUNT]);

typedef enum { AD_SCHEDULE_CONSTANT = 0, AD_SCHEDULE_LAYER_DECAY, AD_SCHEDULE_STEP_DECAY, AD_SCHEDULE_COUNT } ad_schedule;
/* "constant", "layer-decay", "step-decay" ("unknown" for another value);
 * lookup returns -1 if unknown. */
const char *ad_schedule_name(ad_schedule s);
int ad_schedule_lookup(const char *name);

/* One place where a scheme acts: enough to draw any of its masks. */
typedef struct {
    ad_scheme scheme;
    float p;              /* the rate after the schedule */
    uint64_t seed;
    uint32_t step;
    int layer;
    int n_head;
    int block_size;       /* T: rows and keys of the attention matrix */
    int bidirectional;    /* 0: row i has i+1 weights; 1: every row has T */
    int row0;             /* batch row b draws the masks of row row0 + b of the whole batch (0: unsplit) */
} ad_drop_site;

/* Largest block size (context length) a model or a site may have. */
#define AD_MAX_BLOCK 8192
/* AD_ERR_ARG naming the first field of s out of range: a known scheme, p in
 * [0,1), n_head and block_size in [1, AD_MAX_BLOCK] (n_head up to 4096),
 * layer in [0, 65535], row0 >= 0. */
ad_status ad_drop_site_check(const ad_drop_site *s, ad_error *err);
/* Applies the site's scheme to row i of head h of batch row b: w (n) are the
 * row's softmax weights, out (n) the weights after dropout, where n must be
 * i+1 (or block_size when bidirectional). Pre-softmax schemes renormalise the
 * survivors, which is what masking their logits to -inf does. Input-level
 * schemes (word, embedding) leave attention rows as they are. AD_ERR_ARG for
 * a bad site, b < 0, h outside [0, n_head), i outside [0, block_size), a
 * wrong n or a NULL buffer. */
ad_status ad_drop_row(const ad_drop_site *s, int b, int h, int i, const double *w, int n, double *out,
                      ad_error *err);
/* One layer's masks in one step, (B, n_head, block_size, block_size) floats
 * into out (contiguous): for a post-softmax scheme each weight's multiplier
 * (0 where dropped), for a pre-softmax one 1 where the logit is kept and 0
 * where it becomes -inf; entries past a causal row 0; ones for none, p = 0
 * and the input-level schemes. Batch row b takes the masks of row row0 + b.
 * What the fused attention applies, for callers that apply it themselves. */
ad_status ad_attention_masks(float *out, const ad_drop_site *s, int B, ad_error *err);
/* Input-level schemes (word, embedding): fills mult (T) with the multipliers
 * of the token embeddings of batch row b, whose ids are idx (T, each >= 0).
 * *applied (may be NULL) is 0, mult untouched, if the site's scheme is not
 * one, else 1. AD_ERR_ARG for a bad site, b < 0, T outside [1, block_size],
 * a negative id or a NULL buffer. */
ad_status ad_input_mult(const ad_drop_site *s, int b, const int *idx, int T, float *mult, int *applied,
                        ad_error *err);

/* ------------------------------------------------------ study statistics */

/* Paired comparisons over seeds: the runs of one seed share their initial
 * weights and batches, so a scheme is compared with its baseline through the
 * per-seed difference a[i] - b[i]. */
#define AD_EFFECT_MAX_SEEDS 10000
typedef enum { AD_VERDICT_INCONCLUSIVE = 0, AD_VERDICT_EQUIVALENT, AD_VERDICT_BETTER, AD_VERDICT_WORSE } ad_verdict;
typedef struct {
    int n;            /* pairs where both values are finite (NaN marks a missing seed) */
    double mean;      /* mean difference; NaN when n = 0 */
    double sd;        /* sample standard deviation of the differences; NaN when n < 2 */
    double ci95;      /* t(0.975, n-1) sd / sqrt(n); NaN when n < 2 */
    ad_verdict verdict;
    int seeds_needed; /* inconclusive only: the smallest n' > n whose interval at this mean and
                         spread would be decisive; -1 when n < 2 or none up to AD_EFFECT_MAX_SEEDS;
                         0 when not inconclusive */
} ad_effect;

/* The two-sided 95% Student t quantile t(0.975, df); NaN for df < 1. */
double ad_t975(int df);
/* The verdict on an interval mean +- ci with a margin of practical
 * equivalence: equivalent if the interval lies within [-margin, margin], else
 * better if it lies below 0, worse if above 0, else inconclusive. */
ad_verdict ad_verdict_of(double mean, double ci, double margin);
const char *ad_verdict_name(ad_verdict v); /* "equivalent", ...: a static string */
/* The paired effect of a over b (n values each; lower is better). */
ad_status ad_effect_paired(ad_effect *e, const double *a, const double *b, int n, double margin, ad_error *err);

/* mean(num) / mean(den) over the pairs where both are finite, with a 95%
 * interval by the delta method (t quantile at n-1); NaN where undefined. */
typedef struct { int n; double ratio, ci95; } ad_ratio;
ad_status ad_ratio_paired(ad_ratio *r, const double *num, const double *den, int n, ad_error *err);

/* The upper tail P(X >= x) of a chi-square variable with dof degrees of
 * freedom (exact sums, term by term in logarithms, up to 1000 dof; the
 * regularised incomplete gamma function beyond); NaN for dof < 1 or x NaN, 1
 * for x <= 0; a tail below the smallest double is 0. */
double ad_chi2_sf(double x, int dof);

/* Weighted least squares of y on k <= 2 regressors (x row-major, (n, k)),
 * each point weighted by 1/se^2 (se: its standard error, > 0): the
 * coefficients with their standard errors, chi2 = the sum of the squared
 * standardised residuals, dof = n - k and its p-value ad_chi2_sf(chi2, dof)
 * (small: the model does not describe the points within their errors; NaN
 * when dof = 0). Points with a value or error not finite are left out.
 * The weights' scale cancels: any finite se > 0 works, 1e-200 as 1e200.
 * AD_ERR_ARG for k outside 1..2, fewer usable points than k, a se <= 0, or
 * regressors that do not determine the coefficients; AD_ERR_NUMERIC where a
 * coefficient or its error overflows (the data need rescaling). */
typedef struct { int n, k, dof; double coef[2], se[2], chi2, p_value; } ad_fit;
ad_status ad_fit_wls(ad_fit *fit, const double *x, const double *y, const double *se, int n, int k, ad_error *err);

/* What a scheme does to attention rows: closed forms and Monte Carlo. */
typedef struct {
    ad_scheme scheme;
    float p;
    int block_size;       /* T */
    int n_head, n_layer;
    long trials;          /* Monte Carlo sequences (each with n_head heads) */
    uint64_t seed;
    int bidirectional;
    double logit_std;     /* the Monte Carlo's logits are N(0, logit_std^2); 0: uniform weights */
} ad_stats_opts;

typedef struct {
    int T;
    /* per position i (T each); NaN where no closed form exists */
    double *p_zero_exact, *p_zero_mc;                 /* row i of one head all zero */
    double *p_allheads_zero_exact, *p_allheads_zero_mc; /* ... in every head of a layer */
    double *row_sum_mean_exact, *row_sum_mean_mc, *row_sum_var_exact, *row_sum_var_mc;
    double *bias_mc;      /* max over the row of |E[dropped weight / weight] - 1| */
    double zero_rows_per_head, zero_rows_per_head_mc; /* expected all-zero rows per sequence and head */
    double zero_rows_per_layer, zero_rows_per_model;
    double p_any_zero_output;  /* P(some token's attention output is zero in some layer); NaN: n/a */
} ad_stats;

/* Computes the statistics (free with ad_stats_free). The closed forms that
 * depend on the weights (row-sum variances) are exact given the weights and
 * averaged over the same random weights as the Monte Carlo. */
ad_status ad_stats_compute(ad_stats *st, const ad_stats_opts *o, ad_error *err);
void ad_stats_free(ad_stats *st);

/* --------------------------------------------------------------- runtime */

/* Sets the number of threads used by the library (OpenMP and BLAS), n
 * clamped to [1, ad_max_threads()]. Results are the same, bit for bit, for
 * every n. A build without OpenMP (NO_OMP=1) runs on one thread, BLAS
 * included, whatever n. */
void ad_set_threads(int n);
/* The threads the library will use: ad_set_threads's, else OMP_NUM_THREADS's,
 * else one per core. */
int ad_get_threads(void);
/* The most threads the library runs: AD_THREADS_PER_CORE per online core (at
 * least 8, at most 4096). ad_model_create refuses more (an OMP_NUM_THREADS of
 * 100000 would make libgomp fail inside the first parallel loop). */
#define AD_THREADS_PER_CORE 4
int ad_max_threads(void);

/* The CPU OpenBLAS runs its kernels for ("Haswell", "SkylakeX", "Cooperlake",
 * ...): its own choice, or what OPENBLAS_CORETYPE asked for as it loaded. NULL
 * where the BLAS linked is not OpenBLAS. OpenBLAS owns the string. */
const char *ad_blas_core(void);
/* The most a model may allocate (0, the default: the machine's memory).
 * Creating a larger one is AD_ERR_NOMEM naming the size. */
void ad_set_memory_limit(size_t bytes);
size_t ad_get_memory_limit(void);

/* ----------------------------------------------------------------- model */

typedef struct {
    int vocab_size;
    int block_size;
    int n_embd;
    int n_head;
    int n_layer;
    float dropout;   /* p after proj and after the FFN, as gpt.py's `dropout` */
    ad_scheme scheme;      /* attention dropout scheme (gpt.py: standard) */
    float attn_dropout;    /* its rate p (gpt.py: the same `dropout`) */
    ad_schedule schedule;  /* how attn_dropout varies over layers or steps */
} ad_config;

/* gpt.py's hyperparameters (vocab_size 0: set from the data): scheme
 * standard, dropout and attn_dropout 0.2, constant schedule. */
ad_config ad_config_default(void);
/* Checks that a configuration is usable; the message names the bad value. */
ad_status ad_config_check(const ad_config *c, ad_error *err);

typedef struct ad_model ad_model;

/* Creates a model whose buffers fit batches of up to max_batch rows of up to
 * block_size tokens; with `training` it also owns gradients, AdamW moments
 * and what the backward pass needs. Weights are initialised as gpt.py
 * (N(0,0.02) for Linear and Embedding weights, zero biases, LayerNorm 1/0)
 * from `seed`. Free with ad_model_free. The size is checked first: a model
 * that cannot be allocated is AD_ERR_NOMEM naming the bytes it needs. */
ad_status ad_model_create(ad_model **out, const ad_config *cfg, int max_batch, int training,
                          uint64_t seed, ad_error *err);
void ad_model_free(ad_model *m);
const ad_config *ad_model_config(const ad_model *m);
/* Bytes the model of this configuration would allocate, or 0 on overflow. */
size_t ad_model_bytes(const ad_config *cfg, int max_batch, int training);
/* Parameters of a model of this configuration (0 if it is invalid). */
size_t ad_config_num_params(const ad_config *cfg);

size_t ad_model_num_params(const ad_model *m);
/* The flat parameter and gradient arrays (owned by the model). grads is NULL
 * for a model created without `training`. */
float *ad_model_params(ad_model *m);
float *ad_model_grads(ad_model *m);

/* The parameter tensors as gpt.py's state_dict names them. */
typedef struct {
    char name[96];
    int ndim;
    int shape[2];
    size_t offset;   /* into the flat parameter array; rows of `shape` are contiguous */
} ad_tensor_info;
int ad_model_num_tensors(const ad_model *m);
/* Tensor i (0 <= i < ad_model_num_tensors, else NULL); the pointer stays valid as long as m. */
const ad_tensor_info *ad_model_tensor(const ad_model *m, int i);

/* Forward pass over idx (B,T) ids. With targets (B,T) it computes the mean
 * cross-entropy into *loss (may be NULL otherwise). With train != 0 dropout is
 * applied, its masks drawn from (seed, step). The logits (B,T,V) are then
 * readable with ad_model_logits until the next forward. AD_ERR_ARG for B
 * outside [1, max_batch], T outside [1, block_size], an id outside the
 * vocabulary or a NULL model or ids. */
ad_status ad_model_forward(ad_model *m, const int *idx, const int *targets, int B, int T,
                           int train, uint64_t seed, uint64_t step, float *loss, ad_error *err);
/* What a training forward reports besides its loss, to a caller that asks:
 * the attention rows met at each position t (every batch row, head and
 * layer) are added to rows[t], those of them that came out of dropout all
 * zero to zero_rows[t]. Both (block_size), owned by the caller. */
typedef struct {
    uint64_t *zero_rows;
    uint64_t *rows;
} ad_observer;
/* ad_model_forward that also reports to obs (NULL: nothing) when train != 0. */
ad_status ad_model_forward_observed(ad_model *m, const int *idx, const int *targets, int B, int T, int train,
                                    uint64_t seed, uint64_t step, float *loss, const ad_observer *obs, ad_error *err);
/* The logits of the last forward, (B,T,V), owned by the model; after
 * ad_model_step, the (1,1,V) logits of its token. */
const float *ad_model_logits(const ad_model *m);
/* KV cache (models created with training == 0): a forward with B == 1 keeps
 * every layer's keys and values, and ad_model_step then appends one token at
 * the next position, computing only its row: the same logits as a forward
 * over the longer sequence, up to float rounding. ad_model_cached returns the
 * positions held (0 after a batched forward or on a training model); a step
 * needs 1 <= cached < block_size, since positions are absolute and a window
 * that slides must be recomputed. */
ad_status ad_model_step(ad_model *m, int token, ad_error *err);
int ad_model_cached(const ad_model *m);
/* The batches this model sees are rows row0.. of a larger batch split over
 * processes: every dropout mask of its batch row b is that of row row0 + b
 * (0, the default: the batch is whole). */
ad_status ad_model_set_batch_offset(ad_model *m, int row0, ad_error *err);
/* Total training steps, for the step-decay schedule (p falls linearly to 0). */
void ad_model_set_total_steps(ad_model *m, long total);
/* The attention-dropout rate of a layer at a step, after the schedule. */
float ad_model_attn_p(const ad_model *m, int layer, uint64_t step);

/* The loss at each position t < T of the last forward with targets (before
 * its backward): the mean over the batch rows of -log p(target). out (T). */
ad_status ad_model_position_losses(const ad_model *m, double *out, ad_error *err);

/* The attention sink strength of the last forward, per layer: the softmax
 * weight that query rows 1..T-1 give key 0, before dropout, averaged over
 * the batch rows, heads and those rows (row 0 has only key 0). out
 * (n_layer). AD_ERR_ARG for a model created without training (which keeps
 * one layer's activations), on a device, or before a forward over T >= 2. */
ad_status ad_model_attention_sink(const ad_model *m, double *out, ad_error *err);

/* Backward pass of the last forward: sets the gradients (it does not
 * accumulate). AD_ERR_ARG, nothing changed, for a model created without
 * training or when no forward with targets came since the last backward. */
ad_status ad_model_backward(ad_model *m, ad_error *err);

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} ad_adamw;
/* torch.optim.AdamW's defaults with gpt.py's learning rate. */
ad_adamw ad_adamw_default(void);
/* One AdamW step (t counts from 1) using the current gradients. AD_ERR_ARG,
 * nothing changed, for a model without training, t < 1, or a NULL or
 * non-finite option (lr, eps, weight_decay >= 0; betas in [0,1)). */
ad_status ad_model_adamw_step(ad_model *m, const ad_adamw *opt, long t, ad_error *err);
/* The first and second moments (owned by the model; NULL without training). */
float *ad_model_adam_m(ad_model *m);
float *ad_model_adam_v(ad_model *m);

/* Checks the gradients for NaN/Inf; AD_ERR_NUMERIC names the first tensor. */
ad_status ad_model_check_grads(const ad_model *m, ad_error *err);


/* -------------------------------------------------------------- training */

/* One training batch of gpt.py's get_batch: B random windows of split data
 * (length n) of T+1 tokens; x (B,T), y (B,T). Offsets come from
 * (seed, purpose, a, b). AD_ERR_ARG unless B >= 1, T >= 1, n > T and the
 * buffers are not NULL. */
ad_status ad_get_batch(const int *data, size_t n, int B, int T, uint64_t seed, ad_rng_purpose purpose,
                       uint32_t a, uint32_t b, int *x, int *y, ad_error *err);

/* What a training step needs besides the model. */
typedef struct {
    const int *data;      /* the training split, n tokens (the caller's) */
    size_t n;
    int batch_size;       /* B, the whole batch; each sequence is the model's block_size long */
    uint64_t seed;        /* keys the batches and every dropout mask */
    ad_adamw opt;
    const ad_observer *observer; /* NULL, or where the step's forward reports */
    /* Data parallel: this process computes rows row0 .. row0+rows-1 of the
     * batch (rows 0: all of it), with those rows' masks; its gradients and
     * loss are weighted by rows/B, so that their sum over the processes is
     * the whole batch's. */
    int row0, rows;
    /* NULL, or called after the backward pass to sum the gradients
     * (ad_model_grads) and *loss over the processes, in place. */
    ad_status (*reduce)(void *ctx, long step, float *loss, ad_error *err);
    /* NULL, or called once the step's gradients are known to be finite and
     * before AdamW changes the weights (to save the state of `step` steps);
     * a status other than AD_OK ends the step with it, the weights unchanged. */
    ad_status (*before_update)(void *ctx, long step, ad_error *err);
    void *ctx;
} ad_train_opts;

/* Step `step` (0-based) of gpt.py's training loop: the batch of (seed, step),
 * a forward with dropout, the backward, the reduction over processes if any,
 * a check that the loss and every gradient are finite, then AdamW (its t =
 * step + 1). xbuf, ybuf (batch_size, block_size) are the caller's scratch,
 * for the whole batch; *loss (may be NULL) gets the batch's loss. A NaN or
 * Inf is AD_ERR_NUMERIC naming it, with the weights unchanged (and the same
 * on every process: the reduction carries it to all). */
ad_status ad_train_step(ad_model *m, const ad_train_opts *o, long step, int *xbuf, int *ybuf, float *loss,
                        ad_error *err);

/* gpt.py's estimate_loss: the mean loss over eval_iters batches of each split,
 * dropout off. `eval_index` keys the batches (use the evaluation's step). */
ad_status ad_estimate_loss(ad_model *m, const ad_dataset *d, int B, int eval_iters, uint64_t seed,
                           uint64_t eval_index, int *xbuf, int *ybuf, float *train_loss,
                           float *val_loss, ad_error *err);

/* ------------------------------------------------------------ checkpoint */

/* Writes the weights as safetensors with gpt.py's state_dict names and
 * __metadata__ {"format":"attndrop","config":...,"vocab":...}. The file is
 * written to a temporary file in the same directory, synced and renamed. */
ad_status ad_checkpoint_save(const ad_model *m, const ad_vocab *v, const char *path, ad_error *err);
/* Loads a checkpoint: creates *out (free with ad_model_free) sized for
 * max_batch, and fills *v (free with ad_vocab_free). */
ad_status ad_checkpoint_load(ad_model **out, ad_vocab *v, const char *path, int max_batch,
                             int training, ad_error *err);

/* The training state: everything a run needs to continue exactly (weights,
 * AdamW moments, step, seed, optimiser settings, config and vocabulary). The
 * data position and every dropout mask follow from the seed and the step. */
typedef struct {
    long step;        /* steps done */
    uint64_t seed;
    ad_adamw opt;
    char run_args[512];   /* the caller's own settings, stored as they are ("" for none) */
    char run_data[1024];  /* the caller's description of its data ("" for none) */
} ad_train_state;
/* Writes it atomically, like a checkpoint. */
ad_status ad_train_state_save(const ad_model *m, const ad_vocab *v, const ad_train_state *s, const char *path,
                              ad_error *err);
/* Reads it: creates *out (a training model for batches of max_batch rows;
 * free with ad_model_free) and fills *v (free with ad_vocab_free) and *s. */
ad_status ad_train_state_load(ad_model **out, ad_vocab *v, ad_train_state *s, const char *path, int max_batch,
                              ad_error *err);

/* A safetensors file read whole, for tools and tests. */
typedef struct {
    char name[128];
    char dtype[8];
    int ndim;
    int64_t shape[8];
    size_t begin, end;   /* byte offsets into data */
} ad_st_tensor;
typedef struct {
    unsigned char *buf;  /* the whole file */
    size_t size;
    const unsigned char *data; /* the byte buffer after the header */
    size_t data_size;
    int n;
    ad_st_tensor *tensors;
    int n_meta;
    char (*meta_keys)[64];
    char **meta_vals;
} ad_st_file;
/* Reads and validates a safetensors file (free with ad_st_free). */
ad_status ad_st_read(ad_st_file *f, const char *path, ad_error *err);
ad_status ad_st_parse(ad_st_file *f, const unsigned char *bytes, size_t size, ad_error *err);
void ad_st_free(ad_st_file *f);
const ad_st_tensor *ad_st_find(const ad_st_file *f, const char *name);
const char *ad_st_meta(const ad_st_file *f, const char *key);
/* Copies tensor `name` (dtype F32, numel elements) into out. */
ad_status ad_st_get_f32(const ad_st_file *f, const char *name, float *out, size_t numel, ad_error *err);

/* A writer of safetensors files, for tools and tests. Tensors are F32. */
typedef struct ad_st_writer ad_st_writer;
ad_st_writer *ad_st_writer_new(void);
void ad_st_writer_free(ad_st_writer *w);
/* Adds a tensor; data is not copied and must stay valid until the write. */
ad_status ad_st_writer_add(ad_st_writer *w, const char *name, const float *data, int ndim,
                           const int64_t *shape, ad_error *err);
ad_status ad_st_writer_meta(ad_st_writer *w, const char *key, const char *value, ad_error *err);
/* Writes atomically (temporary file, fsync, rename, fsync of the directory). */
ad_status ad_st_writer_write(ad_st_writer *w, const char *path, ad_error *err);

/* -------------------------------------------------------------- sampling */

typedef struct {
    float temperature; /* 0: greedy */
    int top_k;         /* 0: off */
    uint64_t seed;
    int recompute;     /* 1: no KV cache, the whole context every token, as gpt.py's generate */
} ad_sample_opts;

/* Generates max_new tokens after ctx (n_ctx >= 1 ids) into out (n_ctx + max_new
 * ids, prompt included). The context is cropped to the last block_size ids,
 * as gpt.py's generate does. While the sequence fits in block_size each new
 * token is one ad_model_step on the KV cache; once the window slides, every
 * position changes and the window is recomputed. m must have been created with
 * max_batch >= 1. */
ad_status ad_generate(ad_model *m, const int *ctx, int n_ctx, int max_new, const ad_sample_opts *o,
                      int *out, ad_error *err);

/* ------------------------------------------------------- fused attention */

/* Causal scaled dot-product attention with any scheme's dropout, on (B,H,T,D)
 * float tensors given by their strides (PyTorch's layouts need no copy): the
 * op of torch.nn.functional.scaled_dot_product_attention(q, k, v,
 * is_causal=True, scale=scale) with the site's dropout on the softmax weights
 * (or, for a pre-softmax scheme, on the logits). Only each row's max and 1/sum
 * are kept between the forward and the backward, which recomputes the scores
 * and regenerates the masks from the site's keys: nothing of size T x T is
 * stored. Runs on as many OpenMP threads as the scratch has slots. */
typedef struct {
    float *data;
    int64_t stride_b, stride_h, stride_t; /* in elements; the last dimension's stride is 1 */
} ad_view;
/* Floats of scratch for `threads` threads at (T, D): the caller's, only during a call. */
size_t ad_attention_scratch_floats(int T, int D, int threads);
/* out (B,H,T,D), stats (B,H,T,2) contiguous, from q, k, v (B,H,T,D). site NULL
 * (or p = 0, or scheme none): no dropout; else its scheme, p, seed, step,
 * layer and row0 (batch row b draws the masks of row row0 + b) key the masks,
 * and its n_head and block_size must be H and T (0: taken from them), causal.
 * AD_ERR_ARG naming the first bad argument: sizes (T <= AD_MAX_BLOCK), NULL
 * data, row strides beyond an int, a scale that is not finite and > 0, a
 * scratch smaller than one thread's, an input-level scheme (word, embedding:
 * they act on tokens). */
ad_status ad_attention_forward(ad_view out, float *stats, ad_view q, ad_view k, ad_view v, int B, int H, int T, int D,
                               float scale, const ad_drop_site *site, float *scratch, size_t scratch_floats,
                               ad_error *err);
/* dq, dk, dv (B,H,T,D), overwritten, from the upstream gradient dout
 * (B,H,T,D) and the forward's inputs, stats and site. */
ad_status ad_attention_backward(ad_view dq, ad_view dk, ad_view dv, ad_view dout, ad_view q, ad_view k, ad_view v,
                                const float *stats, int B, int H, int T, int D, float scale,
                                const ad_drop_site *site, float *scratch, size_t scratch_floats, ad_error *err);

/* The same op on CUDA device memory, in a library built with `make CUDA=1`
 * (AD_ERR_DEVICE in any other): out, stats, q, k, v (and the backward's
 * tensors) are device pointers with the views and shapes above, and the
 * kernels are launched on `stream` (a cudaStream_t; NULL: the default
 * stream), asynchronously: an error in the kernels shows at the stream's
 * next synchronisation. One thread per query row (and per key row in the
 * backward) runs the online-softmax rows of src/model/attn_rows.h; head sizes up
 * to 128. The backward also takes the forward's out (D_i = dout_i . out_i).
 * fixedcount needs ad_attention_cuda_scratch_bytes of device scratch (its
 * dropped keys, drawn in each call: nothing is kept between the two); other
 * schemes none (scratch may be NULL). */
size_t ad_attention_cuda_scratch_bytes(const ad_drop_site *site, int B, int H, int T);
ad_status ad_attention_forward_cuda(ad_view out, float *stats, ad_view q, ad_view k, ad_view v, int B, int H, int T,
                                    int D, float scale, const ad_drop_site *site, void *scratch, size_t scratch_bytes,
                                    void *stream, ad_error *err);
ad_status ad_attention_backward_cuda(ad_view dq, ad_view dk, ad_view dv, ad_view dout, ad_view q, ad_view k,
                                     ad_view v, ad_view out, const float *stats, int B, int H, int T, int D,
                                     float scale, const ad_drop_site *site, void *scratch, size_t scratch_bytes,
                                     void *stream, ad_error *err);

/* ------------------------------------------- the general fused attention */

/* The whole contract of torch.nn.functional.scaled_dot_product_attention,
 * fused, with any attention scheme's dropout: grouped-query attention (query
 * head h reads key/value head h / (H / H_kv), no copy), T_q != T_k, a value
 * head size D_v != D, causal or not (causal: query i sees keys j <= i, SDPA's
 * top-left alignment), an additive mask broadcast by its strides (-inf masks
 * a key; a boolean mask is 0 / -inf), any finite scale, float32 or float64
 * tensors (computed in their own precision). On masked keys a scheme keeps
 * none: a masked key's weight is 0; nonzero, dropkey and fixedcount, whose
 * laws count a row's keys, draw on its visible keys (their row of n visible
 * keys laid on them in order); the other schemes draw each key at its
 * position. A row with no visible key (or every key dropped by a pre-softmax
 * scheme) is zero and passes no gradient, as SDPA's fully masked rows. The
 * CPU's kernels, one (batch row, head) per thread, each holding its T_q x T_k
 * scores; the CUDA back end has only the causal op above. */
typedef enum { AD_DTYPE_F32 = 0, AD_DTYPE_F64 = 1 } ad_dtype;
typedef struct {
    int B, H, H_kv;   /* batch rows, query heads, key/value heads (H a multiple of H_kv) */
    int T_q, T_k;     /* query rows, keys (each at most AD_MAX_BLOCK) */
    int D, D_v;       /* query/key head size, value head size */
    int causal;       /* 0 or 1 */
    int dtype;        /* an ad_dtype: every tensor's, the mask and stats included */
    double scale;     /* multiplies q . k; any finite value */
} ad_sdpa_shape;
/* A (B, heads, rows, size) tensor by its strides in elements; the last dimension contiguous. */
typedef struct {
    void *data;
    int64_t stride_b, stride_h, stride_t;
} ad_sdpa_view;
/* An additive mask (B,H,T_q,T_k) by its four strides in elements (0 broadcasts). */
typedef struct {
    const void *data;
    int64_t stride_b, stride_h, stride_q, stride_k;
} ad_sdpa_mask;
/* Bytes of scratch for `threads` threads (0 for a shape out of range). */
size_t ad_sdpa_scratch_bytes(const ad_sdpa_shape *shape, int threads);
/* out (B,H,T_q,D_v) and stats (B,H,T_q,2), contiguous, of the shape's dtype,
 * from q (B,H,T_q,D), k (B,H_kv,T_k,D), v (B,H_kv,T_k,D_v). mask NULL or its
 * data NULL: none. site as ad_attention_forward's (its n_head H or 0, its
 * block_size max(T_q, T_k) or 0, bidirectional exactly when not causal: set
 * here). AD_ERR_ARG naming the first bad argument. */
ad_status ad_sdpa_forward(const ad_sdpa_shape *shape, ad_sdpa_view out, void *stats, ad_sdpa_view q, ad_sdpa_view k,
                          ad_sdpa_view v, const ad_sdpa_mask *mask, const ad_drop_site *site, void *scratch,
                          size_t scratch_bytes, ad_error *err);
/* dq, dk, dv (the shapes of q, k, v), overwritten, from dout (B,H,T_q,D_v),
 * the forward's inputs, mask, stats and site. */
ad_status ad_sdpa_backward(const ad_sdpa_shape *shape, ad_sdpa_view dq, ad_sdpa_view dk, ad_sdpa_view dv,
                           ad_sdpa_view dout, ad_sdpa_view q, ad_sdpa_view k, ad_sdpa_view v, const ad_sdpa_mask *mask,
                           const void *stats, const ad_drop_site *site, void *scratch, size_t scratch_bytes,
                           ad_error *err);

/* --------------------------------------------------------------- bindings */

/* The layout of a public struct, for bindings that copy it by hand (Python's
 * ctypes): the byte offset of `field` in the struct named `type`
 * ("ad_drop_site", ...), or its size with field NULL; -1 for a type or field
 * the table does not hold. ad_abi_fields: how many of its fields the table
 * holds (-1 for NULL). */
long ad_abi_layout(const char *type, const char *field);
int ad_abi_fields(const char *type);

/* ---------------------------------------------------------------- devices */

/* Where a model's arithmetic runs. The CPU always; CUDA only in a build made
 * with `make CUDA=1` (the whole training step on the GPU, every scheme:
 * docs/gpu.md) on a machine with an NVIDIA GPU. */
typedef enum { AD_DEVICE_CPU = 0, AD_DEVICE_CUDA = 1 } ad_device;
/* "cpu", "cuda"; lookup returns -1 if unknown. */
const char *ad_device_name(ad_device d);
int ad_device_lookup(const char *name);
/* AD_OK if d can be used here; otherwise AD_ERR_DEVICE saying why (not built
 * in, no GPU, the driver's error). */
ad_status ad_device_check(ad_device d, ad_error *err);

/* Moves a training model's arithmetic to d, with its parameters and AdamW
 * state (gradients restart at zero); AD_DEVICE_CPU brings it home. On the GPU
 * the forward, backward and AdamW step run there, one copy of the batch's ids
 * going over per forward; the host views (ad_model_params, _grads, _adam_m,
 * _adam_v, _logits) are then out of date until ad_model_sync, which the
 * savers and ad_model_position_losses call themselves. A forward with an
 * observer (zero-row counts) is refused on the GPU. */
ad_status ad_model_set_device(ad_model *m, ad_device d, ad_error *err);
ad_device ad_model_device(const ad_model *m);
/* Brings the host views of a model on the GPU up to date (a no-op on the CPU),
 * or reports the GPU's first failure since the last status. */
ad_status ad_model_sync(ad_model *m, ad_error *err);

#ifdef __cplusplus
}
#endif

#endif
