/* checkpoint.c - model checkpoints (safetensors with gpt.py's state_dict
 * names) and the training state file that resumes a run exactly. */
#include "../core/internal.h"
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A float as the shortest decimal that reads back to it (0.2, not 0.200000003). */
static double clean(float f) {
    char buf[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

static char *config_json(const ad_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "block_size", c->block_size);
    cJSON_AddNumberToObject(o, "n_embd", c->n_embd);
    cJSON_AddNumberToObject(o, "n_head", c->n_head);
    cJSON_AddNumberToObject(o, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(o, "dropout", clean(c->dropout));
    cJSON_AddStringToObject(o, "attn_scheme", ad_scheme_get(c->scheme)->name);
    cJSON_AddNumberToObject(o, "attn_dropout", clean(c->attn_dropout));
    cJSON_AddStringToObject(o, "dropout_schedule", ad_schedule_name(c->schedule));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int get_int(const cJSON *o, const char *k, int *out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != (double)(int)d) return 0;
    *out = (int)d;
    return 1;
}

static ad_status parse_config(ad_config *c, const char *json, ad_error *err) {
    if (!json) return ad_fail(err, AD_ERR_FORMAT, "__metadata__ has no \"config\"");
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) { cJSON_Delete(o); return ad_fail(err, AD_ERR_FORMAT, "\"config\" is not a JSON object"); }
    static const char *keys[5] = {"vocab_size", "block_size", "n_embd", "n_head", "n_layer"};
    int *dst[5] = {&c->vocab_size, &c->block_size, &c->n_embd, &c->n_head, &c->n_layer};
    for (int i = 0; i < 5; i++)
        if (!get_int(o, keys[i], dst[i])) {
            cJSON_Delete(o);
            return ad_fail(err, AD_ERR_FORMAT, "\"config\" has no integer \"%s\"", keys[i]);
        }
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(o, "dropout");
    if (!cJSON_IsNumber(dp)) { cJSON_Delete(o); return ad_fail(err, AD_ERR_FORMAT, "\"config\" has no number \"dropout\""); }
    c->dropout = (float)dp->valuedouble;
    /* the attention-dropout fields are optional: without them, gpt.py's */
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(o, "attn_scheme");
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(o, "attn_dropout");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "dropout_schedule");
    c->scheme = AD_SCHEME_STANDARD;
    c->attn_dropout = c->dropout;
    c->schedule = AD_SCHEDULE_CONSTANT;
    if (sc && (!cJSON_IsString(sc) || ad_scheme_lookup(sc->valuestring) < 0)) {
        cJSON_Delete(o);
        return ad_fail(err, AD_ERR_FORMAT, "\"config\" has an unknown \"attn_scheme\"");
    }
    if (sc) c->scheme = (ad_scheme)ad_scheme_lookup(sc->valuestring);
    if (ap && !cJSON_IsNumber(ap)) { cJSON_Delete(o); return ad_fail(err, AD_ERR_FORMAT, "\"attn_dropout\" is not a number"); }
    if (ap) c->attn_dropout = (float)ap->valuedouble;
    if (sd && (!cJSON_IsString(sd) || ad_schedule_lookup(sd->valuestring) < 0)) {
        cJSON_Delete(o);
        return ad_fail(err, AD_ERR_FORMAT, "\"config\" has an unknown \"dropout_schedule\"");
    }
    if (sd) c->schedule = (ad_schedule)ad_schedule_lookup(sd->valuestring);
    cJSON_Delete(o);
    ad_status s = ad_config_check(c, err);
    if (s) {
        ad_error_prefix(err, "the checkpoint's config is invalid: ", NULL);
        if (err) err->status = AD_ERR_FORMAT;
    }
    return s ? AD_ERR_FORMAT : AD_OK;
}

/* The vocabulary as a JSON string of its characters in id order (cJSON_free it). */
static char *vocab_json(const ad_vocab *v) {
    char *chars = malloc((size_t)v->size * 4 + 1);
    if (!chars) return NULL;
    size_t k = 0;
    for (int i = 0; i < v->size; i++) k += (size_t)ad_utf8_put(chars + k, v->chars[i]);
    chars[k] = '\0';
    cJSON *vs = cJSON_CreateString(chars);
    char *out = vs ? cJSON_PrintUnformatted(vs) : NULL;
    cJSON_Delete(vs);
    free(chars);
    return out;
}

ad_status ad_checkpoint_save(const ad_model *m, const ad_vocab *v, const char *path, ad_error *err) {
    const ad_config *c = ad_model_config(m);
    if (v->size != c->vocab_size)
        return ad_fail(err, AD_ERR_ARG, "the vocabulary has %d characters but the model %d", v->size, c->vocab_size);
    ad_status st = ad_model_sync((ad_model *)m, err); /* a model on the GPU: its parameters brought home */
    if (st) return st;
    ad_st_writer *w = ad_st_writer_new();
    if (!w) return ad_fail(err, AD_ERR_NOMEM, "cannot create a writer");
    ad_status s = AD_OK;
    char *cfg = config_json(c), *vocab = vocab_json(v);
    if (!cfg || !vocab) { s = ad_fail(err, AD_ERR_NOMEM, "cannot build the metadata"); goto done; }
    if ((s = ad_st_writer_meta(w, "format", "attndrop", err)) || (s = ad_st_writer_meta(w, "config", cfg, err)) ||
        (s = ad_st_writer_meta(w, "vocab", vocab, err)) || (s = ad_st_writer_meta(w, "version", "1", err)))
        goto done;
    const float *p = ad_model_params((ad_model *)m);
    for (int i = 0; i < ad_model_num_tensors(m); i++) {
        const ad_tensor_info *t = ad_model_tensor(m, i);
        int64_t shape[2] = {t->shape[0], t->shape[1]};
        if ((s = ad_st_writer_add(w, t->name, p + t->offset, t->ndim, shape, err))) goto done;
    }
    s = ad_st_writer_write(w, path, err);
done:
    free(cfg);
    cJSON_free(vocab);
    ad_st_writer_free(w);
    return s;
}

static ad_status parse_vocab(ad_vocab *v, const char *json, int expect, ad_error *err) {
    v->size = 0;
    v->chars = NULL;
    if (!json) return ad_fail(err, AD_ERR_FORMAT, "__metadata__ has no \"vocab\"");
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsString(o)) { cJSON_Delete(o); return ad_fail(err, AD_ERR_FORMAT, "\"vocab\" is not a JSON string"); }
    uint32_t *cps;
    size_t n;
    ad_status s = ad_utf8_decode(o->valuestring, strlen(o->valuestring), &cps, &n, NULL);
    /* A string with an embedded NUL is cut short by cJSON: the count check catches it. */
    cJSON_Delete(o);
    if (s) return ad_fail(err, AD_ERR_FORMAT, "\"vocab\" is not valid UTF-8");
    if (n != (size_t)expect) {
        free(cps);
        return ad_fail(err, AD_ERR_FORMAT, "\"vocab\" has %zu characters but vocab_size is %d", n, expect);
    }
    for (size_t i = 1; i < n; i++)
        if (cps[i] <= cps[i - 1]) {
            free(cps);
            return ad_fail(err, AD_ERR_FORMAT, "\"vocab\" is not a sorted set of characters (at index %zu)", i);
        }
    v->chars = cps;
    v->size = (int)n;
    return AD_OK;
}

static ad_status read_attndrop(ad_st_file *f, ad_config *c, const char *path, const char *format, ad_error *err) {
    ad_status s = ad_st_read(f, path, err);
    if (s) return s;
    const char *fmt = ad_st_meta(f, "format");
    if (!fmt || strcmp(fmt, format) != 0) {
        ad_fail(err, AD_ERR_FORMAT, "%s: not an %s file (__metadata__ \"format\" is %s%.60s%s)", path, format,
                fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "");
        ad_st_free(f);
        return AD_ERR_FORMAT;
    }
    const char *ver = ad_st_meta(f, "version");
    if (ver && strcmp(ver, "1") != 0) {
        ad_fail(err, AD_ERR_FORMAT, "%s: version %.20s is not supported (this build reads version 1)", path, ver);
        ad_st_free(f);
        return AD_ERR_FORMAT;
    }
    s = parse_config(c, ad_st_meta(f, "config"), err);
    if (s) {
        ad_st_free(f);
        ad_error_prefix(err, path, ": ");
    }
    return s;
}

/* Copies every model tensor from f, insisting on exact names, dtypes and
 * shapes and on no tensor beyond them. */
static ad_status load_tensors(ad_model *m, const ad_st_file *f, const char *path, ad_error *err) {
    float *p = ad_model_params(m);
    int nt = ad_model_num_tensors(m);
    for (int i = 0; i < nt; i++) {
        const ad_tensor_info *t = ad_model_tensor(m, i);
        const ad_st_tensor *st = ad_st_find(f, t->name);
        if (!st) return ad_fail(err, AD_ERR_FORMAT, "%s: tensor '%s' is missing", path, t->name);
        if (strcmp(st->dtype, "F32") != 0)
            return ad_fail(err, AD_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected F32", path, t->name, st->dtype);
        int ok = st->ndim == t->ndim && st->shape[0] == t->shape[0] && (t->ndim == 1 || st->shape[1] == t->shape[1]);
        if (!ok)
            return ad_fail(err, AD_ERR_FORMAT, "%s: tensor '%s' has a shape that disagrees with the config", path, t->name);
        memcpy(p + t->offset, f->data + st->begin, st->end - st->begin);
    }
    if (f->n != nt) {
        for (int i = 0; i < f->n; i++) {
            int known = 0;
            for (int k = 0; k < nt && !known; k++) known = strcmp(f->tensors[i].name, ad_model_tensor(m, k)->name) == 0;
            if (!known) return ad_fail(err, AD_ERR_FORMAT, "%s: unexpected tensor '%s'", path, f->tensors[i].name);
        }
    }
    size_t n = ad_model_num_params(m);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return ad_fail(err, AD_ERR_FORMAT, "%s: a weight is %g", path, (double)p[i]);
    return AD_OK;
}

/* What a loader does first: nothing returned yet, then the file read and its config checked. */
static ad_status begin_load(ad_model **out, ad_vocab *v, ad_st_file *f, ad_config *c, const char *path, const char *format,
                            ad_error *err) {
    *out = NULL;
    v->size = 0;
    v->chars = NULL;
    return read_attndrop(f, c, path, format, err);
}

/* What a loader does last: the file freed, and on failure nothing half-made returned. */
static ad_status end_load(ad_status s, ad_st_file *f, ad_model **out, ad_vocab *v) {
    ad_st_free(f);
    if (s) {
        ad_model_free(*out);
        *out = NULL;
        ad_vocab_free(v);
    }
    return s;
}

ad_status ad_checkpoint_load(ad_model **out, ad_vocab *v, const char *path, int max_batch, int training,
                             ad_error *err) {
    ad_st_file f;
    ad_config c;
    ad_status s = begin_load(out, v, &f, &c, path, "attndrop", err);
    if (s) return s;
    s = parse_vocab(v, ad_st_meta(&f, "vocab"), c.vocab_size, err);
    /* the file must hold the config's parameters before a model of that size is made */
    if (!s && f.data_size < ad_config_num_params(&c) * sizeof(float))
        s = ad_fail(err, AD_ERR_FORMAT, "%s: tensors are missing: %zu bytes of data for the %zu parameters of its config",
                    path, f.data_size, ad_config_num_params(&c));
    if (!s) s = ad_model_create(out, &c, max_batch, training, 0, err);
    if (!s) s = load_tensors(*out, &f, path, err);
    return end_load(s, &f, out, v);
}

ad_status ad_train_state_save(const ad_model *m, const ad_vocab *v, const ad_train_state *st, const char *path,
                             ad_error *err) {
    ad_model *mm = (ad_model *)m;
    if (!ad_model_adam_m(mm)) return ad_fail(err, AD_ERR_ARG, "the model has no training state");
    ad_status synced = ad_model_sync(mm, err);
    if (synced) return synced;
    ad_st_writer *w = ad_st_writer_new();
    if (!w) return ad_fail(err, AD_ERR_NOMEM, "cannot create a writer");
    char *cfg = config_json(ad_model_config(m)), *vocab = vocab_json(v);
    char buf[64];
    ad_status s = cfg && vocab ? AD_OK : ad_fail(err, AD_ERR_NOMEM, "cannot build the metadata");
    int64_t n = (int64_t)ad_model_num_params(m);
    if (!s) s = ad_st_writer_meta(w, "format", "attndrop-train-state", err);
    if (!s) s = ad_st_writer_meta(w, "version", "1", err);
    if (!s) s = ad_st_writer_meta(w, "config", cfg, err);
    if (!s) s = ad_st_writer_meta(w, "vocab", vocab, err);
    snprintf(buf, sizeof buf, "%ld", st->step);
    if (!s) s = ad_st_writer_meta(w, "step", buf, err);
    snprintf(buf, sizeof buf, "%" PRIu64, st->seed);
    if (!s) s = ad_st_writer_meta(w, "seed", buf, err);
    const char *names[5] = {"lr", "beta1", "beta2", "eps", "weight_decay"};
    const float vals[5] = {st->opt.lr, st->opt.beta1, st->opt.beta2, st->opt.eps, st->opt.weight_decay};
    for (int i = 0; i < 5 && !s; i++) {
        snprintf(buf, sizeof buf, "%.9g", (double)vals[i]);
        s = ad_st_writer_meta(w, names[i], buf, err);
    }
    if (!s && st->run_args[0]) s = ad_st_writer_meta(w, "run_args", st->run_args, err);
    if (!s && st->run_data[0]) s = ad_st_writer_meta(w, "run_data", st->run_data, err);
    /* the weights too: the state alone resumes a run, whatever became of model.safetensors */
    if (!s) s = ad_st_writer_add(w, "params", ad_model_params(mm), 1, &n, err);
    if (!s) s = ad_st_writer_add(w, "adam.m", ad_model_adam_m(mm), 1, &n, err);
    if (!s) s = ad_st_writer_add(w, "adam.v", ad_model_adam_v(mm), 1, &n, err);
    if (!s) s = ad_st_writer_write(w, path, err);
    free(cfg);
    cJSON_free(vocab);
    ad_st_writer_free(w);
    return s;
}

static int parse_num(const char *s, double lo, double hi, double *out) {
    if (!s || !*s) return 0;
    char *end;
    double d = strtod(s, &end);
    if (*end || !(d >= lo && d <= hi)) return 0;
    *out = d;
    return 1;
}

ad_status ad_train_state_load(ad_model **out, ad_vocab *v, ad_train_state *st, const char *path, int max_batch,
                             ad_error *err) {
    ad_st_file f;
    ad_config c;
    ad_status s = begin_load(out, v, &f, &c, path, "attndrop-train-state", err);
    if (s) return s;
    double vals[5];
    uint64_t step, seed;
    const char *names[5] = {"lr", "beta1", "beta2", "eps", "weight_decay"};
    if (!ad_parse_uint(ad_st_meta(&f, "step"), 2147483647u, &step) ||
        !ad_parse_uint(ad_st_meta(&f, "seed"), UINT64_MAX, &seed)) {
        ad_st_free(&f);
        return ad_fail(err, AD_ERR_FORMAT, "%s: __metadata__ \"step\" or \"seed\" is missing or invalid", path);
    }
    for (int i = 0; i < 5; i++)
        if (!parse_num(ad_st_meta(&f, names[i]), 0, 1e9, &vals[i])) {
            ad_st_free(&f);
            return ad_fail(err, AD_ERR_FORMAT, "%s: __metadata__ \"%s\" is missing or invalid", path, names[i]);
        }
    s = parse_vocab(v, ad_st_meta(&f, "vocab"), c.vocab_size, err);
    if (!s && f.data_size != 3 * ad_config_num_params(&c) * sizeof(float))
        s = ad_fail(err, AD_ERR_FORMAT, "%s: %zu bytes of tensor data, but its config needs 3 x %zu parameters",
                    path, f.data_size, ad_config_num_params(&c));
    if (!s) s = ad_model_create(out, &c, max_batch, 1, 0, err);
    size_t n = s ? 0 : ad_model_num_params(*out);
    if (!s && f.n != 3) s = ad_fail(err, AD_ERR_FORMAT, "%s: expected exactly the tensors params, adam.m and adam.v", path);
    if (!s) s = ad_st_get_f32(&f, "params", ad_model_params(*out), n, err);
    if (!s) s = ad_st_get_f32(&f, "adam.m", ad_model_adam_m(*out), n, err);
    if (!s) s = ad_st_get_f32(&f, "adam.v", ad_model_adam_v(*out), n, err);
    if (!s) {
        const float *ps[3] = {ad_model_params(*out), ad_model_adam_m(*out), ad_model_adam_v(*out)};
        for (int k = 0; k < 3 && !s; k++)
            for (size_t i = 0; i < n; i++)
                if (!isfinite(ps[k][i]) || (k == 2 && ps[k][i] < 0.0f)) {
                    s = ad_fail(err, AD_ERR_FORMAT, "%s: %s holds an invalid value (%g)", path,
                                k == 0 ? "params" : k == 1 ? "adam.m" : "adam.v", (double)ps[k][i]);
                    break;
                }
    }
    if (!s) st->seed = seed;
    if (!s) {
        const char *ra = ad_st_meta(&f, "run_args"), *rd = ad_st_meta(&f, "run_data");
        if ((ra && strlen(ra) >= sizeof st->run_args) || (rd && strlen(rd) >= sizeof st->run_data))
            s = ad_fail(err, AD_ERR_FORMAT, "%s: run_args or run_data is too long", path);
        snprintf(st->run_args, sizeof st->run_args, "%s", ra && !s ? ra : "");
        snprintf(st->run_data, sizeof st->run_data, "%s", rd && !s ? rd : "");
    }
    if (s && err && strncmp(err->msg, path, strlen(path)) != 0) ad_error_prefix(err, path, ": ");
    if ((s = end_load(s, &f, out, v))) return s;
    st->step = (long)step;
    st->opt.lr = (float)vals[0];
    st->opt.beta1 = (float)vals[1];
    st->opt.beta2 = (float)vals[2];
    st->opt.eps = (float)vals[3];
    st->opt.weight_decay = (float)vals[4];
    return AD_OK;
}
