/* safetensors.c - a strict reader and an atomic writer of the safetensors
 * format (8-byte little-endian header length, JSON header, byte buffer); the
 * JSON is handled by cJSON. */
#include "../core/internal.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "attndrop writes F32 tensors as in-memory bytes: little-endian hosts only"
#endif

#define ST_MAX_HEADER (100u * 1024u * 1024u)

static int dtype_size(const char *dt) {
    static const struct { const char *name; int size; } table[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},   {"BOOL", 1}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(dt, table[i].name) == 0) return table[i].size;
    return 0;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_uint(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != (double)(uint64_t)d) return 0;
    *out = (uint64_t)d;
    return 1;
}

/* Length of the UTF-8 sequence at p[0..n) (1..4), or 0 where it is not one: an overlong form, a surrogate, a
 * code point above U+10FFFF, a stray continuation byte or a cut sequence (Python's strict decoder refuses the
 * same). */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (!len || len > n || c > 0xF4 || c == 0xC0 || c == 0xC1) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0; /* overlong 3-byte */
    if (c == 0xED && p[1] >= 0xA0) return 0; /* U+D800..U+DFFF */
    if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong 4-byte */
    if (c == 0xF4 && p[1] >= 0x90) return 0; /* above U+10FFFF */
    return len;
}

/* The header's bytes checked before cJSON reads them, as gpt.py's st_read checks them, so that both readers
 * take one file the same way (cJSON alone would cut a string at an escaped NUL, take bytes that are not
 * UTF-8, and nest 1000 deep): valid UTF-8, no control character and no \u0000 escape inside a string, arrays
 * and objects nested at most ST_MAX_DEPTH deep. NULL where it is clean, else what is wrong. */
#define ST_MAX_DEPTH 64
static const char *header_scan(const unsigned char *p, size_t n) {
    int in_str = 0, depth = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t len = utf8_len(p + i, n - i);
            if (!len) return "the header is not valid UTF-8";
            i += len;
            continue;
        }
        if (in_str) {
            if (c < 0x20) return "the header holds a control character inside a string";
            if (c == '"') in_str = 0;
            else if (c == '\\') {
                if (i + 1 < n && p[i + 1] == 'u' && i + 5 < n && p[i + 2] == '0' && p[i + 3] == '0' && p[i + 4] == '0' &&
                    p[i + 5] == '0')
                    return "the header holds a NUL character (\\u0000) in a string";
                i += 2; /* the escaped character (a control character there is refused by the parser) */
                continue;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > ST_MAX_DEPTH) return "the header nests arrays and objects more than 64 deep";
        } else if (c == ']' || c == '}') {
            depth--;
        }
        i++;
    }
    return NULL;
}

static int cmp_begin(const void *a, const void *b) {
    const ad_st_tensor *x = *(const ad_st_tensor *const *)a, *y = *(const ad_st_tensor *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

void ad_st_free(ad_st_file *f) {
    if (!f) return;
    free(f->buf);
    free(f->tensors);
    if (f->meta_vals)
        for (int i = 0; i < f->n_meta; i++) free(f->meta_vals[i]);
    free(f->meta_vals);
    free(f->meta_keys);
    memset(f, 0, sizeof *f);
}

/* Parses bytes (taking ownership of them: they are freed by ad_st_free). */
static ad_status st_parse_owned(ad_st_file *f, unsigned char *bytes, size_t size, ad_error *err) {
    memset(f, 0, sizeof *f);
    f->buf = bytes;
    f->size = size;
    ad_status s = AD_ERR_FORMAT;
    cJSON *root = NULL;
    ad_st_tensor **order = NULL;
    if (size < 8) { ad_fail(err, s, "file of %zu bytes is too short for a safetensors header", size); goto fail; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    if (hlen > size - 8) {
        ad_fail(err, s, "header length %llu goes beyond the end of the file (%zu bytes)", (unsigned long long)hlen, size);
        goto fail;
    }
    if (hlen > ST_MAX_HEADER) { ad_fail(err, s, "header length %llu exceeds 100 MB", (unsigned long long)hlen); goto fail; }
    if (hlen < 2 || bytes[8] != '{') { ad_fail(err, s, "the header is not a JSON object"); goto fail; }
    f->data = bytes + 8 + hlen;
    f->data_size = size - 8 - (size_t)hlen;
    const char *bad = header_scan(bytes + 8, (size_t)hlen);
    if (bad) { ad_fail(err, s, "%s", bad); goto fail; }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts((const char *)bytes + 8, (size_t)hlen, &end, 0);
    if (!root || !cJSON_IsObject(root)) { ad_fail(err, s, "the header is not valid JSON"); goto fail; }
    for (const char *p = end; p < (const char *)bytes + 8 + hlen; p++)
        if (*p != ' ' && *p != '\0') { ad_fail(err, s, "the header has trailing bytes after its JSON object"); goto fail; }
    int count = cJSON_GetArraySize(root);
    f->tensors = calloc((size_t)count + 1, sizeof *f->tensors);
    f->meta_keys = calloc((size_t)count + 1, sizeof *f->meta_keys);
    f->meta_vals = calloc((size_t)count + 1, sizeof *f->meta_vals);
    if (!f->tensors || !f->meta_keys || !f->meta_vals) { s = ad_fail(err, AD_ERR_NOMEM, "cannot allocate the header"); goto fail; }
    int seen_meta = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) { ad_fail(err, s, "a header entry has no name"); goto fail; }
        if (strcmp(e->string, "__metadata__") == 0) {
            if (seen_meta++) { ad_fail(err, s, "__metadata__ appears twice"); goto fail; }
            if (!cJSON_IsObject(e)) { ad_fail(err, s, "__metadata__ is not an object"); goto fail; }
            int nm = cJSON_GetArraySize(e);
            if (nm > count) {
                char (*k2)[64] = realloc(f->meta_keys, (size_t)nm * sizeof *k2);
                char **v2 = realloc(f->meta_vals, (size_t)nm * sizeof *v2);
                if (k2) f->meta_keys = k2;
                if (v2) f->meta_vals = v2;
                if (!k2 || !v2) { s = ad_fail(err, AD_ERR_NOMEM, "cannot allocate the metadata"); goto fail; }
            }
            for (const cJSON *mv = e->child; mv; mv = mv->next) {
                if (!cJSON_IsString(mv)) {
                    ad_fail(err, s, "__metadata__ value '%.60s' is not a string", mv->string ? mv->string : "");
                    goto fail;
                }
                if (strlen(mv->string) >= sizeof f->meta_keys[0]) {
                    ad_fail(err, s, "__metadata__ key '%.60s...' is too long", mv->string);
                    goto fail;
                }
                char *val = strdup(mv->valuestring);
                if (!val) { s = ad_fail(err, AD_ERR_NOMEM, "cannot allocate the metadata"); goto fail; }
                strcpy(f->meta_keys[f->n_meta], mv->string);
                f->meta_vals[f->n_meta++] = val;
            }
            continue;
        }
        ad_st_tensor *t = &f->tensors[f->n];
        if (strlen(e->string) >= sizeof t->name) { ad_fail(err, s, "tensor name '%.60s...' is too long", e->string); goto fail; }
        strcpy(t->name, e->string);
        if (!cJSON_IsObject(e)) { ad_fail(err, s, "tensor '%s' is not an object", t->name); goto fail; }
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsString(dt) || !dtype_size(dt->valuestring)) {
            ad_fail(err, s, "tensor '%s' has no known dtype", t->name);
            goto fail;
        }
        snprintf(t->dtype, sizeof t->dtype, "%s", dt->valuestring);
        if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > 8) {
            ad_fail(err, s, "tensor '%s' has no shape of at most 8 dimensions", t->name);
            goto fail;
        }
        size_t numel = 1;
        t->ndim = 0;
        for (const cJSON *d = sh->child; d; d = d->next) {
            uint64_t v;
            if (!json_uint(d, &v)) { ad_fail(err, s, "tensor '%s' has a dimension that is not a non-negative integer", t->name); goto fail; }
            if (v > (uint64_t)SIZE_MAX || !ad_mul_ok(numel, (size_t)v, &numel)) {
                ad_fail(err, s, "tensor '%s': the product of its dimensions overflows", t->name);
                goto fail;
            }
            t->shape[t->ndim++] = (int64_t)v;
        }
        uint64_t b0, b1;
        if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &b0) ||
            !json_uint(off->child->next, &b1)) {
            ad_fail(err, s, "tensor '%s' has no valid data_offsets", t->name);
            goto fail;
        }
        if (b0 > b1 || b1 > f->data_size) {
            ad_fail(err, s, "tensor '%s': data_offsets [%llu, %llu] outside the %zu-byte data", t->name,
                    (unsigned long long)b0, (unsigned long long)b1, f->data_size);
            goto fail;
        }
        size_t nbytes;
        if (!ad_mul_ok(numel, (size_t)dtype_size(t->dtype), &nbytes) || nbytes != b1 - b0) {
            ad_fail(err, s, "tensor '%s': %llu bytes of data do not match its dtype and shape", t->name,
                    (unsigned long long)(b1 - b0));
            goto fail;
        }
        t->begin = (size_t)b0;
        t->end = (size_t)b1;
        f->n++;
    }
    /* the data must be covered exactly: no overlaps, no holes, no duplicate names */
    order = malloc(((size_t)f->n + 1) * sizeof *order);
    if (!order) { s = ad_fail(err, AD_ERR_NOMEM, "cannot allocate the header"); goto fail; }
    for (int i = 0; i < f->n; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n, sizeof *order, cmp_begin);
    size_t pos = 0;
    for (int i = 0; i < f->n; i++) {
        if (order[i]->begin != pos) {
            ad_fail(err, s, "tensor '%s' %s", order[i]->name,
                    order[i]->begin < pos ? "overlaps another tensor's data" : "leaves a hole in the data before it");
            goto fail;
        }
        pos = order[i]->end;
    }
    if (pos != f->data_size) {
        ad_fail(err, s, "the tensors cover %zu of the %zu data bytes", pos, f->data_size);
        goto fail;
    }
    for (int i = 0; i < f->n; i++)
        for (int k = i + 1; k < f->n; k++)
            if (strcmp(f->tensors[i].name, f->tensors[k].name) == 0) {
                ad_fail(err, s, "tensor '%s' appears twice", f->tensors[i].name);
                goto fail;
            }
    free(order);
    cJSON_Delete(root);
    return AD_OK;
fail:
    free(order);
    cJSON_Delete(root);
    ad_st_free(f);
    return err ? err->status : s;
}

ad_status ad_st_parse(ad_st_file *f, const unsigned char *bytes, size_t size, ad_error *err) {
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy) { memset(f, 0, sizeof *f); return ad_fail(err, AD_ERR_NOMEM, "cannot allocate %zu bytes", size); }
    memcpy(copy, bytes, size);
    return st_parse_owned(f, copy, size, err);
}

ad_status ad_st_read(ad_st_file *f, const char *path, ad_error *err) {
    memset(f, 0, sizeof *f);
    size_t size;
    FILE *fp;
    ad_status os = ad_open_regular(&fp, path, SIZE_MAX / 2, &size, err);
    if (os) return os;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) { fclose(fp); return ad_fail(err, AD_ERR_NOMEM, "cannot allocate %zu bytes for '%s'", size, path); }
    size_t got = fread(buf, 1, size, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || got != size) { free(buf); return ad_fail(err, AD_ERR_IO, "cannot read '%s'", path); }
    ad_status s = st_parse_owned(f, buf, size, err);
    if (s) ad_error_prefix(err, path, ": ");
    return s;
}

const ad_st_tensor *ad_st_find(const ad_st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *ad_st_meta(const ad_st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_vals[i];
    return NULL;
}

ad_status ad_st_get_f32(const ad_st_file *f, const char *name, float *out, size_t numel, ad_error *err) {
    const ad_st_tensor *t = ad_st_find(f, name);
    if (!t) return ad_fail(err, AD_ERR_FORMAT, "tensor '%s' is missing", name);
    if (strcmp(t->dtype, "F32") != 0) return ad_fail(err, AD_ERR_FORMAT, "tensor '%s' has dtype %s, expected F32", name, t->dtype);
    if (t->end - t->begin != numel * sizeof(float))
        return ad_fail(err, AD_ERR_FORMAT, "tensor '%s' has %zu elements, expected %zu", name,
                       (t->end - t->begin) / sizeof(float), numel);
    memcpy(out, f->data + t->begin, numel * sizeof(float));
    return AD_OK;
}

/* ------------------------------------------------------------- writer */

typedef struct {
    char *name;
    const float *data;
    int ndim;
    int64_t shape[8];
    size_t nbytes;
} st_entry;

struct ad_st_writer {
    st_entry *e;
    int n, cap;
    cJSON *meta;
};

ad_st_writer *ad_st_writer_new(void) {
    ad_st_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->meta = cJSON_CreateObject();
    if (!w->meta) { free(w); return NULL; }
    return w;
}

void ad_st_writer_free(ad_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    cJSON_Delete(w->meta);
    free(w);
}

ad_status ad_st_writer_add(ad_st_writer *w, const char *name, const float *data, int ndim,
                           const int64_t *shape, ad_error *err) {
    if (ndim < 0 || ndim > 8) return ad_fail(err, AD_ERR_ARG, "tensor '%s' has %d dimensions", name, ndim);
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 64;
        st_entry *ne = realloc(w->e, (size_t)nc * sizeof *ne);
        if (!ne) return ad_fail(err, AD_ERR_NOMEM, "cannot grow the tensor list");
        w->e = ne;
        w->cap = nc;
    }
    st_entry *e = &w->e[w->n];
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || !ad_mul_ok(numel, (size_t)shape[i], &numel))
            return ad_fail(err, AD_ERR_ARG, "tensor '%s' has an invalid shape", name);
        e->shape[i] = shape[i];
    }
    if (!ad_mul_ok(numel, sizeof(float), &e->nbytes)) return ad_fail(err, AD_ERR_ARG, "tensor '%s' is too large", name);
    e->name = strdup(name);
    if (!e->name) return ad_fail(err, AD_ERR_NOMEM, "cannot copy a tensor name");
    e->data = data;
    e->ndim = ndim;
    w->n++;
    return AD_OK;
}

ad_status ad_st_writer_meta(ad_st_writer *w, const char *key, const char *value, ad_error *err) {
    cJSON *v = cJSON_CreateString(value);
    if (!v) return ad_fail(err, AD_ERR_NOMEM, "cannot add metadata '%s'", key);
    cJSON_DeleteItemFromObjectCaseSensitive(w->meta, key);
    cJSON_AddItemToObject(w->meta, key, v);
    return AD_OK;
}

ad_status ad_st_writer_write(ad_st_writer *w, const char *path, ad_error *err) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return ad_fail(err, AD_ERR_NOMEM, "cannot build the header");
    ad_status s = AD_OK;
    char *json = NULL;
    if (cJSON_GetArraySize(w->meta) > 0) cJSON_AddItemReferenceToObject(root, "__metadata__", w->meta);
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        st_entry *e = &w->e[i];
        cJSON *t = cJSON_CreateObject(), *sh = cJSON_CreateArray(), *od = cJSON_CreateArray();
        if (!t || !sh || !od) { cJSON_Delete(t); cJSON_Delete(sh); cJSON_Delete(od); s = ad_fail(err, AD_ERR_NOMEM, "cannot build the header"); goto done; }
        cJSON_AddStringToObject(t, "dtype", "F32");
        for (int d = 0; d < e->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e->shape[d]));
        cJSON_AddItemToObject(t, "shape", sh);
        cJSON_AddItemToArray(od, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(od, cJSON_CreateNumber((double)(off + e->nbytes)));
        cJSON_AddItemToObject(t, "data_offsets", od);
        cJSON_AddItemToObject(root, e->name, t);
        off += e->nbytes;
    }
    json = cJSON_PrintUnformatted(root);
    if (!json) { s = ad_fail(err, AD_ERR_NOMEM, "cannot print the header"); goto done; }
    size_t jl = strlen(json), padded = (jl + 7) / 8 * 8; /* 8-byte aligned data, padded with spaces */
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    ad_atomic_file af;
    if ((s = ad_atomic_open(&af, path, err))) goto done;
    static const char spaces[8] = "        ";
    int ok = fwrite(len8, 1, 8, af.f) == 8 && fwrite(json, 1, jl, af.f) == jl &&
             fwrite(spaces, 1, padded - jl, af.f) == padded - jl;
    for (int i = 0; ok && i < w->n; i++) ok = fwrite(w->e[i].data, 1, w->e[i].nbytes, af.f) == w->e[i].nbytes;
    /* a short fwrite has set the stream's error flag: the commit then fails, removing the temporary file */
    s = ad_atomic_commit(&af, err);
done:
    cJSON_free(json);
    cJSON_Delete(root); /* the metadata is only referenced */
    return s;
}
