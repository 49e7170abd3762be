/* test_safetensors.c - checkpoints round-trip bit for bit with gpt.py's
 * tensor names; malformed files of every kind are refused with a message
 * saying what is wrong. */
#include "attndrop.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/attndrop-st-XXXXXX";

/* header JSON + n_data bytes of zeros, length prefix computed */
static unsigned char *make(const char *json, size_t n_data, size_t *size) {
    size_t hl = strlen(json);
    *size = 8 + hl + n_data;
    unsigned char *b = calloc(*size, 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, json, hl);
    return b;
}

static void bad(const char *json, size_t n_data, const char *needle) {
    size_t size;
    unsigned char *b = make(json, n_data, &size);
    ad_st_file f;
    ad_error err = {0};
    ad_status s = ad_st_parse(&f, b, size, &err);
    CHECK(s == AD_ERR_FORMAT && strstr(err.msg, needle), "%s: expected '%s', got %d '%s'", json, needle, s, err.msg);
    if (s == AD_OK) ad_st_free(&f);
    free(b);
}

static void write_file(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static void bad_ckpt(const char *path, const char *needle) {
    ad_model *m = (ad_model *)1;
    ad_vocab v;
    ad_error err = {0};
    ad_status s = ad_checkpoint_load(&m, &v, path, 1, 0, &err);
    CHECK(s != AD_OK && m == NULL && strstr(err.msg, needle), "expected '%s', got %d '%s'", needle, s, err.msg);
}

int main(void) {
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char path[256], path2[256];
    ad_error err = {0};

    /* ---- round trip */
    ad_config c = {5, 6, 8, 2, 2, 0.1f, AD_SCHEME_TOKEN, 0.3f, AD_SCHEDULE_LAYER_DECAY};
    ad_model *m, *m2;
    CHECK(ad_model_create(&m, &c, 2, 1, 99, &err) == AD_OK, "%s", err.msg);
    uint32_t chars[5] = {'\n', ' ', 'a', 0xE9, 0x1F600};
    ad_vocab v = {5, chars}, v2;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(ad_checkpoint_save(m, &v, path, &err) == AD_OK, "%s", err.msg);
    CHECK(ad_checkpoint_load(&m2, &v2, path, 3, 0, &err) == AD_OK, "%s", err.msg);
    const ad_config *c2 = ad_model_config(m2);
    CHECK(c2->vocab_size == 5 && c2->block_size == 6 && c2->n_embd == 8 && c2->n_head == 2 && c2->n_layer == 2 &&
          c2->dropout == 0.1f && c2->scheme == AD_SCHEME_TOKEN && c2->attn_dropout == 0.3f &&
          c2->schedule == AD_SCHEDULE_LAYER_DECAY, "config round trip");
    CHECK(v2.size == 5 && memcmp(v2.chars, chars, sizeof chars) == 0, "vocab round trip");
    CHECK(ad_model_num_params(m) == ad_model_num_params(m2) &&
          memcmp(ad_model_params(m), ad_model_params(m2), ad_model_num_params(m) * sizeof(float)) == 0, "weights round trip");
    ad_model_free(m2);
    ad_vocab_free(&v2);

    /* gpt.py's state_dict: names and shapes */
    ad_st_file f;
    CHECK(ad_st_read(&f, path, &err) == AD_OK, "%s", err.msg);
    CHECK(f.n == 2 + 2 * (3 * 2 + 10) + 4, "%d tensors", f.n);
    const ad_st_tensor *t = ad_st_find(&f, "blocks.1.sa.heads.1.value.weight");
    CHECK(t && t->ndim == 2 && t->shape[0] == 4 && t->shape[1] == 8 && strcmp(t->dtype, "F32") == 0, "head value shape");
    t = ad_st_find(&f, "blocks.0.ffwd.net.2.weight");
    CHECK(t && t->shape[0] == 8 && t->shape[1] == 32, "ffwd.net.2 shape");
    t = ad_st_find(&f, "position_embedding_table.weight");
    CHECK(t && t->shape[0] == 6 && t->shape[1] == 8, "position embedding shape");
    CHECK(ad_st_find(&f, "lm_head.bias") && !ad_st_find(&f, "blocks.0.sa.heads.0.tril"), "lm_head.bias present, tril absent");
    CHECK(strcmp(ad_st_meta(&f, "format"), "attndrop") == 0 && strstr(ad_st_meta(&f, "config"), "\"n_embd\":8"), "metadata");
    CHECK(((size_t)(f.data - f.buf)) % 8 == 0, "data is 8-byte aligned");
    /* the query rows of head 1 are rows 4..7 of the fused matrix: check through the model's tensor table */
    int found = 0;
    for (int i = 0; i < ad_model_num_tensors(m); i++) {
        const ad_tensor_info *ti = ad_model_tensor(m, i);
        const ad_st_tensor *st = ad_st_find(&f, ti->name);
        found += st && memcmp(f.data + st->begin, ad_model_params(m) + ti->offset, st->end - st->begin) == 0;
    }
    CHECK(found == ad_model_num_tensors(m), "every tensor's bytes are the model's (%d of %d)", found, ad_model_num_tensors(m));

    /* ---- checkpoint-level faults, each from a copy of the good file */
    size_t good_size = f.size;
    unsigned char *good = malloc(good_size);
    memcpy(good, f.buf, good_size);
    ad_st_free(&f);
    snprintf(path2, sizeof path2, "%s/bad.safetensors", dir);
    write_file(path2, good, good_size - 3);
    bad_ckpt(path2, "data");                               /* truncated data */
    write_file(path2, good, 5);
    bad_ckpt(path2, "too short");
    bad_ckpt("/nonexistent/x.safetensors", "cannot open");
    {   /* a NaN weight */
        unsigned char *b = malloc(good_size);
        memcpy(b, good, good_size);
        float nan = NAN;
        memcpy(b + good_size - 4, &nan, 4);
        write_file(path2, b, good_size);
        bad_ckpt(path2, "weight is");
        free(b);
    }
    /* missing, extra and misshapen tensors through the writer */
    float zeros[64] = {0};
    int64_t s1[1] = {8}, s2[2] = {4, 8};
    ad_st_writer *w = ad_st_writer_new();
    ad_st_writer_meta(w, "format", "attndrop", NULL);
    ad_st_writer_meta(w, "config", "{\"vocab_size\":5,\"block_size\":6,\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"dropout\":0.1}", NULL);
    ad_st_writer_meta(w, "vocab", "\"\\n a\\u00e9\\ud83d\\ude00\"", NULL);
    ad_st_writer_add(w, "ln_f.bias", zeros, 1, s1, NULL);
    CHECK(ad_st_writer_write(w, path2, &err) == AD_OK, "%s", err.msg);
    bad_ckpt(path2, "tensors are missing");
    ad_st_writer_free(w);

    w = ad_st_writer_new();
    ad_st_writer_meta(w, "format", "attndrop", NULL);
    ad_st_writer_meta(w, "config", "{\"vocab_size\":5,\"block_size\":6,\"n_embd\":8,\"n_head\":3,\"n_layer\":2,\"dropout\":0.1}", NULL);
    ad_st_writer_meta(w, "vocab", "\"ab\"", NULL);
    CHECK(ad_st_writer_write(w, path2, &err) == AD_OK, "%s", err.msg);
    bad_ckpt(path2, "config is invalid");
    ad_st_writer_free(w);

    w = ad_st_writer_new();
    ad_st_writer_meta(w, "format", "attndrop", NULL);
    ad_st_writer_meta(w, "config", "{\"vocab_size\":5,\"block_size\":6,\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"dropout\":0.1}", NULL);
    ad_st_writer_meta(w, "vocab", "\"ab\"", NULL);
    CHECK(ad_st_writer_write(w, path2, &err) == AD_OK, "%s", err.msg);
    bad_ckpt(path2, "vocab_size is 5");
    ad_st_writer_meta(w, "vocab", "\"ba\\n \\u00e9\"", NULL);
    CHECK(ad_st_writer_write(w, path2, &err) == AD_OK, "%s", err.msg);
    bad_ckpt(path2, "sorted set");
    ad_st_writer_meta(w, "vocab", "[1,2]", NULL);
    CHECK(ad_st_writer_write(w, path2, &err) == AD_OK, "%s", err.msg);
    bad_ckpt(path2, "not a JSON string");
    ad_st_writer_meta(w, "format", "something-else", NULL);
    CHECK(ad_st_writer_write(w, path2, &err) == AD_OK, "%s", err.msg);
    bad_ckpt(path2, "not an attndrop file");
    ad_st_writer_free(w);

    /* a good file plus one tensor: unexpected; a good file with a wrong shape */
    {
        ad_st_file g;
        CHECK(ad_st_read(&g, path, &err) == AD_OK, "%s", err.msg);
        for (int variant = 0; variant < 2; variant++) {
            w = ad_st_writer_new();
            for (int i = 0; i < g.n_meta; i++) ad_st_writer_meta(w, g.meta_keys[i], g.meta_vals[i], NULL);
            for (int i = 0; i < g.n; i++) {
                const ad_st_tensor *gt = &g.tensors[i];
                int64_t sh[2] = {gt->shape[0], gt->ndim == 2 ? gt->shape[1] : 0};
                if (variant == 1 && strcmp(gt->name, "blocks.0.ln1.weight") == 0) continue;
                ad_st_writer_add(w, gt->name, (const float *)(g.data + gt->begin), gt->ndim, sh, NULL);
            }
            if (variant == 0) ad_st_writer_add(w, "blocks.0.sa.heads.0.tril", zeros, 2, s2, NULL);
            else ad_st_writer_add(w, "blocks.0.ln1.weight", zeros, 2, s2, NULL);
            CHECK(ad_st_writer_write(w, path2, &err) == AD_OK, "%s", err.msg);
            bad_ckpt(path2, variant == 0 ? "unexpected tensor 'blocks.0.sa.heads.0.tril'" : "disagrees with the config");
            ad_st_writer_free(w);
        }
        ad_st_free(&g);
    }

    /* ---- format-level faults */
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "outside");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "cover 8 of the 12");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "do not match");
    bad("{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlaps");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "hole");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "overflows");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8, "non-negative integer");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "non-negative integer");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "outside");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets");
    bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8, "twice");
    bad("{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    bad("{\"__metadata__\":[1]}", 0, "not an object");
    bad("{\"a\":", 0, "not valid JSON");
    bad("[1,2]", 0, "not a JSON object");
    bad("{\"a\":5}", 0, "not an object");
    bad("{} x", 0, "trailing");
    /* read as gpt.py's st_read reads them (one reading in both loaders) */
    bad("{\"__metadata__\":{\"config\\u0000x\":\"a\",\"config\":\"b\"}}", 0, "NUL character");
    bad("{\"__metadata__\":{\"k\":\"a\tb\"}}", 0, "control character");
    bad("{\"__metadata__\":{\"k\":\"a\xc0\xaf" "b\"}}", 0, "not valid UTF-8");     /* overlong '/' */
    bad("{\"__metadata__\":{\"k\":\"a\xed\xa0\x80\"}}", 0, "not valid UTF-8");  /* a surrogate */
    bad("{\"__metadata__\":{\"k\":\"a\xf4\x90\x80\x80\"}}", 0, "not valid UTF-8"); /* above U+10FFFF */
    bad("{\"__metadata__\":{\"k\":\"a\xe2\x82\"}}", 0, "not valid UTF-8");      /* a cut sequence */
    bad("\xef\xbb\xbf{}", 0, "not a JSON object");                                    /* a byte order mark */
    {   /* 64 levels are read, 65 are not; an escaped backslash before u0000 is no NUL; UTF-8 passes */
        char deep[512];
        for (int levels = 64; levels <= 65; levels++) {
            int n = snprintf(deep, sizeof deep, "{\"__metadata__\":{\"k\":\"a\\\\u0000\\u00e9\xc3\xa9\"},\"x\":");
            for (int i = 0; i < levels - 1; i++) deep[n++] = '[';
            for (int i = 0; i < levels - 1; i++) deep[n++] = ']';
            deep[n++] = '}';
            deep[n] = 0;
            size_t size;
            unsigned char *b = make(deep, 0, &size);
            ad_st_file g;
            ad_status s = ad_st_parse(&g, b, size, &err);
            if (levels == 64) CHECK(s == AD_ERR_FORMAT && strstr(err.msg, "tensor 'x' is not an object"), "64 deep: %s", err.msg);
            else CHECK(s == AD_ERR_FORMAT && strstr(err.msg, "more than 64 deep"), "65 deep: %s", err.msg);
            free(b);
        }
    }
    {
        unsigned char b[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
        ad_st_file g;
        CHECK(ad_st_parse(&g, b, sizeof b, &err) == AD_ERR_FORMAT && strstr(err.msg, "beyond the end"), "%s", err.msg);
        CHECK(ad_st_parse(&g, b, 5, &err) == AD_ERR_FORMAT && strstr(err.msg, "too short"), "%s", err.msg);
    }
    {   /* a valid file with padding and an empty tensor parses */
        size_t size;
        unsigned char *b = make("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ", 8, &size);
        ad_st_file g;
        CHECK(ad_st_parse(&g, b, size, &err) == AD_OK && g.n == 2, "valid file refused: %s", err.msg);
        if (g.buf) ad_st_free(&g);
        free(b);
    }

    /* ---- training state: weights, moments, step, seed, vocabulary */
    snprintf(path2, sizeof path2, "%s/state.safetensors", dir);
    size_t np = ad_model_num_params(m);
    for (size_t i = 0; i < np; i++) { ad_model_adam_m(m)[i] = (float)i * 1e-3f; ad_model_adam_v(m)[i] = (float)i * 1e-6f; }
    ad_train_state st = {1234, 18446744073709551557ull, ad_adamw_default(), "batch_size=2", "file:/x y.txt"}, st2;
    CHECK(ad_train_state_save(m, &v, &st, path2, &err) == AD_OK, "%s", err.msg);
    CHECK(ad_train_state_load(&m2, &v2, &st2, path2, 2, &err) == AD_OK, "%s", err.msg);
    CHECK(st2.step == 1234 && st2.seed == st.seed && st2.opt.lr == st.opt.lr && st2.opt.beta2 == st.opt.beta2 &&
          strcmp(st2.run_args, "batch_size=2") == 0 && strcmp(st2.run_data, "file:/x y.txt") == 0,
          "state round trip (seed %llu)", (unsigned long long)st2.seed);
    CHECK(memcmp(ad_model_params(m), ad_model_params(m2), np * sizeof(float)) == 0 &&
          memcmp(ad_model_adam_m(m), ad_model_adam_m(m2), np * sizeof(float)) == 0 &&
          memcmp(ad_model_adam_v(m), ad_model_adam_v(m2), np * sizeof(float)) == 0, "weights and moments round trip");
    CHECK(v2.size == 5 && memcmp(v2.chars, chars, sizeof chars) == 0 && ad_model_config(m2)->scheme == AD_SCHEME_TOKEN,
          "vocab and config round trip");
    ad_model_free(m2);
    ad_vocab_free(&v2);
    m2 = (ad_model *)1;
    CHECK(ad_train_state_load(&m2, &v2, &st2, path, 2, &err) == AD_ERR_FORMAT && m2 == NULL &&
          strstr(err.msg, "not an attndrop-train-state"), "%s", err.msg);
    {   /* truncated, and a negative second moment */
        ad_st_file g;
        CHECK(ad_st_read(&g, path2, &err) == AD_OK, "%s", err.msg);
        write_file(path, g.buf, g.size - 1);
        CHECK(ad_train_state_load(&m2, &v2, &st2, path, 2, &err) == AD_ERR_FORMAT, "truncated state accepted");
        unsigned char *b = malloc(g.size);
        memcpy(b, g.buf, g.size);
        float neg = -1.0f;
        memcpy(b + g.size - 4, &neg, 4);
        write_file(path, b, g.size);
        CHECK(ad_train_state_load(&m2, &v2, &st2, path, 2, &err) == AD_ERR_FORMAT && strstr(err.msg, "adam.v"), "%s", err.msg);
        free(b);
        ad_st_free(&g);
    }

    /* ---- a failed save leaves the previous file as it was */
    CHECK(ad_checkpoint_save(m, &v, "/nonexistent-dir/model.safetensors", &err) == AD_ERR_IO, "save into a missing directory");
    ad_model_free(m);
    ad_model_free(NULL);
    free(good);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_done("safetensors");
}
