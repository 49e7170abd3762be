/* text.c - the tokenizer and the data: UTF-8 decoding, gpt.py's character
 * vocabulary, text files split 90/10, and the hash that identifies a run's
 * data. (The built-in synthetic texts are in tasks.c.) */
#include "../core/internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ad_status ad_utf8_decode(const char *text, size_t len, uint32_t **codepoints, size_t *n,
                         ad_error *err) {
    const unsigned char *s = (const unsigned char *)text;
    *codepoints = NULL;
    *n = 0;
    size_t cap = len ? len : 1;
    size_t bytes;
    if (!ad_mul_ok(cap, sizeof(uint32_t), &bytes))
        return ad_fail(err, AD_ERR_NOMEM, "text of %zu bytes is too large", len);
    uint32_t *out = malloc(bytes);
    if (!out) return ad_fail(err, AD_ERR_NOMEM, "cannot allocate %zu bytes for the text", bytes);
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        uint32_t cp;
        int extra;
        uint32_t min;
        if (c < 0x80) { cp = c; extra = 0; min = 0; }
        else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; extra = 1; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; extra = 2; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; extra = 3; min = 0x10000; }
        else {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (byte 0x%02x)", i, c);
        }
        if (len - i <= (size_t)extra) {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (truncated sequence)", i);
        }
        for (int e = 1; e <= extra; e++) {
            unsigned cc = s[i + e];
            if ((cc & 0xC0) != 0x80) {
                free(out);
                return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (bad continuation byte 0x%02x)", i + e, cc);
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "invalid UTF-8 at byte offset %zu (%s)", i,
                           cp < min ? "overlong encoding" : "not a Unicode scalar value");
        }
        if (cp == 0) {
            free(out);
            return ad_fail(err, AD_ERR_DATA, "NUL byte at byte offset %zu: this is not a text file", i);
        }
        i += (size_t)extra + 1;
        /* Python's text mode, which gpt.py reads with, turns \r\n and \r into \n. */
        if (cp == '\r') {
            if (i < len && s[i] == '\n') i++;
            cp = '\n';
        }
        out[k++] = cp;
    }
    *codepoints = out;
    *n = k;
    return AD_OK;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

ad_status ad_vocab_build(ad_vocab *v, const uint32_t *cps, size_t n, ad_error *err) {
    v->size = 0;
    v->chars = NULL;
    if (n == 0) return ad_fail(err, AD_ERR_DATA, "the text is empty");
    uint32_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the vocabulary");
    memcpy(tmp, cps, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || tmp[i] != tmp[u - 1]) tmp[u++] = tmp[i];
    uint32_t *chars = realloc(tmp, u * sizeof *chars);
    v->chars = chars ? chars : tmp;
    v->size = (int)u;
    return AD_OK;
}

void ad_vocab_free(ad_vocab *v) {
    if (!v) return;
    free(v->chars);
    v->chars = NULL;
    v->size = 0;
}

int ad_vocab_id(const ad_vocab *v, uint32_t cp) {
    int lo = 0, hi = v->size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v->chars[mid] == cp) return mid;
        if (v->chars[mid] < cp) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

ad_status ad_vocab_encode(const ad_vocab *v, const uint32_t *cps, size_t n, int *ids, ad_error *err) {
    for (size_t i = 0; i < n; i++) {
        int id = ad_vocab_id(v, cps[i]);
        if (id < 0) {
            char buf[8] = {0};
            ad_utf8_put(buf, cps[i]);
            return ad_fail(err, AD_ERR_DATA, "character U+%04X ('%s') at position %zu is not in the vocabulary",
                           (unsigned)cps[i], cps[i] >= 32 ? buf : "?", i);
        }
        ids[i] = id;
    }
    return AD_OK;
}

int ad_utf8_put(char *buf, uint32_t cp) {
    unsigned char *b = (unsigned char *)buf;
    if (cp < 0x80) { b[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { b[0] = 0xC0 | (cp >> 6); b[1] = 0x80 | (cp & 0x3F); return 2; }
    if (cp < 0x10000) {
        b[0] = 0xE0 | (cp >> 12); b[1] = 0x80 | ((cp >> 6) & 0x3F); b[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    b[0] = 0xF0 | (cp >> 18); b[1] = 0x80 | ((cp >> 12) & 0x3F);
    b[2] = 0x80 | ((cp >> 6) & 0x3F); b[3] = 0x80 | (cp & 0x3F);
    return 4;
}

ad_status ad_dataset_from_text(ad_dataset *d, const char *text, size_t len, const ad_vocab *vocab,
                               ad_error *err) {
    memset(d, 0, sizeof *d);
    if (len == 0) return ad_fail(err, AD_ERR_DATA, "the data is empty");
    uint32_t *cps;
    size_t n;
    ad_status s = ad_utf8_decode(text, len, &cps, &n, err);
    if (s) return s;
    if (vocab) {
        d->vocab.chars = malloc((size_t)vocab->size * sizeof *d->vocab.chars);
        if (!d->vocab.chars) { free(cps); return ad_fail(err, AD_ERR_NOMEM, "cannot copy the vocabulary"); }
        memcpy(d->vocab.chars, vocab->chars, (size_t)vocab->size * sizeof *d->vocab.chars);
        d->vocab.size = vocab->size;
    } else {
        s = ad_vocab_build(&d->vocab, cps, n, err);
    }
    if (s) { free(cps); return s; }
    d->ids = malloc(n * sizeof *d->ids);
    if (!d->ids) { free(cps); ad_dataset_free(d); return ad_fail(err, AD_ERR_NOMEM, "cannot allocate the token ids"); }
    s = ad_vocab_encode(&d->vocab, cps, n, d->ids, err);
    free(cps);
    if (s) { ad_dataset_free(d); return s; }
    d->n = n;
    d->n_train = (size_t)(0.9 * (double)n);  /* gpt.py: n = int(0.9*len(data)) */
    return AD_OK;
}

ad_status ad_read_text(const char *path, char **text, size_t *len, ad_error *err) {
    *text = NULL;
    *len = 0;
    size_t size;
    FILE *f;
    ad_status s = ad_open_regular(&f, path, AD_MAX_TEXT_BYTES, &size, err);
    if (s) return s;
    char *buf = malloc(size + 1);
    if (!buf) { fclose(f); return ad_fail(err, AD_ERR_NOMEM, "cannot hold '%s' (%zu bytes) in memory", path, size); }
    size_t n = fread(buf, 1, size, f);
    int bad = ferror(f) || n != size;
    int saved = errno;
    fclose(f);
    if (bad) { free(buf); return ad_fail(err, AD_ERR_IO, "cannot read '%s': %s", path, n != size ? "it changed while being read" : strerror(saved)); }
    if (n == 0) { free(buf); return ad_fail(err, AD_ERR_DATA, "'%s' is empty", path); }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return AD_OK;
}

ad_status ad_dataset_load(ad_dataset *d, const char *path, const ad_vocab *vocab, ad_error *err) {
    memset(d, 0, sizeof *d);
    char *buf;
    size_t len;
    ad_status s = ad_read_text(path, &buf, &len, err);
    if (s) return s;
    s = ad_dataset_from_text(d, buf, len, vocab, err);
    free(buf);
    if (s) ad_error_prefix(err, path, ": ");
    return s;
}

uint64_t ad_hash_ids(uint64_t h, const int *ids, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)ids[i];
        for (int b = 0; b < 4; b++) { h ^= (v >> (8 * b)) & 0xffu; h *= 1099511628211ull; }
    }
    return h;
}

void ad_dataset_free(ad_dataset *d) {
    if (!d) return;
    ad_vocab_free(&d->vocab);
    free(d->ids);
    d->ids = NULL;
    d->n = d->n_train = 0;
}
