/* minimal_backend.c — the smallest useful uce-engine backend (docs/writing-a-backend.md).
 *
 * It runs two ops, ADD and SCALE on f32, and keeps its tensors in memory the core cannot address
 * directly (buffer_host_ptr returns NULL), as a GPU backend would: the core then plans explicit
 * copies into and out of it. Everything else it refuses through supports_op, so the scheduler
 * gives those nodes to another backend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uce/uce_plugin.h"

struct uce_buffer {
  unsigned char* bytes;
  size_t size;
};
struct uce_backend {
  int open_count;
};

static void set_error(uce_error* err, const char* msg) {
  if (err) snprintf(err->message, sizeof(err->message), "%s", msg);
}

static uce_status mb_open(const uce_backend_options* options, uce_backend** out, uce_error* err) {
  (void)options;
  *out = (uce_backend*)calloc(1, sizeof(uce_backend));
  if (!*out) {
    set_error(err, "minimal: out of memory");
    return UCE_ERR_OUT_OF_MEMORY;
  }
  return UCE_OK;
}
static void mb_close(uce_backend* b) { free(b); }
static void mb_describe(uce_backend* b, char* buf, size_t len) {
  (void)b;
  snprintf(buf, len, "minimal example backend (ADD, SCALE; f32)");
}

static int is_plain_f32(const uce_tensor* t) {
  return t && t->dtype == UCE_F32 && (t->ndim == 1 || (t->ndim == 2 && t->stride[1] == 1));
}

static int mb_supports_op(uce_backend* b, const uce_op* op, char* why, size_t why_len) {
  (void)b;
  if (op->type != UCE_OP_ADD && op->type != UCE_OP_SCALE) {
    snprintf(why, why_len, "minimal backend runs only add and scale");
    return 0;
  }
  for (int i = 0; i < op->n_srcs; ++i)
    if (!is_plain_f32(op->srcs[i])) {
      snprintf(why, why_len, "minimal backend needs contiguous f32 inputs");
      return 0;
    }
  if (op->type == UCE_OP_ADD && op->srcs[1]->ne[0] != op->srcs[0]->ne[0]) {
    snprintf(why, why_len, "minimal backend does not broadcast");
    return 0;
  }
  return 1;
}

static uce_status mb_alloc(uce_backend* b, size_t bytes, uce_buffer** out, uce_error* err) {
  (void)b;
  uce_buffer* buf = (uce_buffer*)calloc(1, sizeof(uce_buffer));
  if (buf) buf->bytes = (unsigned char*)calloc(bytes ? bytes : 1, 1);
  if (!buf || !buf->bytes) {
    free(buf);
    set_error(err, "minimal: out of memory");
    return UCE_ERR_OUT_OF_MEMORY;
  }
  buf->size = bytes;
  *out = buf;
  return UCE_OK;
}
static void mb_free(uce_backend* b, uce_buffer* buf) {
  (void)b;
  if (buf) free(buf->bytes);
  free(buf);
}
static void* mb_host_ptr(uce_backend* b, uce_buffer* buf) {
  (void)b;
  (void)buf;
  return NULL; /* "device" memory: the core must copy */
}
static uce_status mb_write(uce_backend* b, uce_buffer* buf, size_t off, const void* src, size_t n,
                           uce_error* err) {
  (void)b;
  if (off > buf->size || n > buf->size - off) {
    set_error(err, "minimal: write past the end of a buffer");
    return UCE_ERR_INVALID_ARGUMENT;
  }
  memcpy(buf->bytes + off, src, n);
  return UCE_OK;
}
static uce_status mb_read(uce_backend* b, uce_buffer* buf, size_t off, void* dst, size_t n,
                          uce_error* err) {
  (void)b;
  if (off > buf->size || n > buf->size - off) {
    set_error(err, "minimal: read past the end of a buffer");
    return UCE_ERR_INVALID_ARGUMENT;
  }
  memcpy(dst, buf->bytes + off, n);
  return UCE_OK;
}

static float* data_of(const uce_tensor* t) { return (float*)(t->buffer->bytes + t->offset); }
static long long rows_of(const uce_tensor* t) { return t->ne[0]; }
static long long cols_of(const uce_tensor* t) { return t->ndim == 2 ? t->ne[1] : 1; }

static uce_status mb_compute(uce_backend* b, const uce_op* op, uce_error* err) {
  (void)b;
  if (!op->dst->buffer) {
    set_error(err, "minimal: tensor without a buffer of this backend");
    return UCE_ERR_INVALID_ARGUMENT;
  }
  const uce_tensor* x = op->srcs[0];
  float* out = data_of(op->dst);
  const float* a = data_of(x);
  const long long n = rows_of(x) * cols_of(x);
  if (op->type == UCE_OP_ADD) {
    const float* c = data_of(op->srcs[1]);
    for (long long i = 0; i < n; ++i) out[i] = a[i] + c[i];
  } else {
    for (long long i = 0; i < n; ++i) out[i] = a[i] * op->scale;
  }
  return UCE_OK;
}
static uce_status mb_sync(uce_backend* b, uce_error* err) {
  (void)b;
  (void)err;
  return UCE_OK;
}

static const uce_backend_iface minimal_iface = {
    sizeof(uce_backend_iface), mb_open,  mb_close, mb_describe, mb_supports_op, mb_alloc, mb_free,
    mb_host_ptr,               mb_write, mb_read,  mb_compute,  mb_sync,        NULL};

static int32_t mb_probe(char* why, size_t len) {
  (void)why;
  (void)len;
  return 1; /* always usable: it needs no device */
}

static const uce_plugin_header minimal_header = {sizeof(uce_plugin_header), UCE_ABI_MAJOR, UCE_ABI_MINOR,
                                                 UCE_PLUGIN_BACKEND,        "minimal",     "1.0",
                                                 mb_probe,                  &minimal_iface};

UCE_PLUGIN_EXPORT const uce_plugin_header* uce_plugin_entry(void) { return &minimal_header; }
