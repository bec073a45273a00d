/* uce_plugin.h — the C ABI between the uce-engine core and its plugins.
 *
 * A plugin is a shared object exporting ONE symbol, `uce_plugin_entry`, that returns a
 * `uce_plugin_header`. Every struct that crosses the boundary starts with its own size, and slots
 * are only ever appended: a core built against minor version N accepts a plugin of minor M and
 * reads only the slots both know (struct_size tells). A different ABI major is refused.
 *
 * Rules: no C++ types, no exceptions, no abort()/exit() across this boundary. Every call that can
 * fail returns a uce_status and writes a one-line message into the caller's uce_error.
 * A NULL function slot means "not provided" (optional features).
 */
#ifndef UCE_PLUGIN_H
#define UCE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCE_ABI_MAJOR 1
#define UCE_ABI_MINOR 0
#define UCE_PLUGIN_ENTRY_SYMBOL "uce_plugin_entry"

#if defined(_WIN32)
#define UCE_PLUGIN_EXPORT __declspec(dllexport)
#else
#define UCE_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------- status ------------------ */
typedef enum uce_status {
  UCE_OK = 0,
  UCE_ERR_INVALID_ARGUMENT = 1, /* bad shape, dtype, parameter */
  UCE_ERR_UNSUPPORTED = 2,      /* op/feature not implemented by this backend */
  UCE_ERR_DEVICE = 3,           /* device lost, driver error, cannot open */
  UCE_ERR_OUT_OF_MEMORY = 4,
  UCE_ERR_IO = 5,
  UCE_ERR_INTERNAL = 6
} uce_status;

#define UCE_ERROR_MESSAGE_SIZE 512
typedef struct uce_error {
  char message[UCE_ERROR_MESSAGE_SIZE]; /* one line, NUL terminated */
} uce_error;

/* ---------------------------------------------------------------- tensors ----------------- */
typedef enum uce_dtype {
  UCE_F32 = 0,
  UCE_F16 = 1,
  UCE_BF16 = 2,
  UCE_I32 = 3,
  UCE_I64 = 4,
  UCE_U8 = 5,
  UCE_F64 = 6
} uce_dtype;

#define UCE_MAX_DIMS 4

typedef struct uce_buffer uce_buffer; /* opaque, owned by a backend */

/* A view of memory owned by a backend buffer. Shapes are row-major: ne[0] is the OUTERMOST
 * dimension (rows), ne[ndim-1] the innermost. Strides are in ELEMENTS. */
typedef struct uce_tensor {
  uce_buffer* buffer; /* NULL only for host-memory tensors passed to the reference backend */
  void* host_data;    /* non-NULL when the memory is host-addressable (CPU backends) */
  size_t offset;      /* bytes into buffer */
  int32_t dtype;      /* uce_dtype */
  int32_t ndim;
  int64_t ne[UCE_MAX_DIMS];
  int64_t stride[UCE_MAX_DIMS];
} uce_tensor;

/* ---------------------------------------------------------------- ops --------------------- */
/* Every op the UCE graphs need. Input order per op is documented in core/include/uce/ops.hpp
 * (and docs/writing-a-backend.md). New ops are appended, never renumbered. */
typedef enum uce_op_type {
  UCE_OP_GATHER_ROWS = 0,  /* dst[i,:] = table[idx[i],:]           srcs: table, idx(i32)   */
  UCE_OP_L2NORM_ROWS = 1,  /* dst[i,:] = x[i,:]/max(|x_i|,eps)      srcs: x                  */
  UCE_OP_LINEAR = 2,       /* dst = act(x W^T + b)                   srcs: x, W[out,in], b?  */
  UCE_OP_LAYERNORM = 3,    /* dst = act(LN(x (+ residual))*g + b)*scale  srcs: x, g, b, res? */
  UCE_OP_GELU = 4,         /* exact erf GELU                         srcs: x                 */
  UCE_OP_RELU = 5,         /*                                        srcs: x                 */
  UCE_OP_ADD = 6,          /* dst = a + b (b broadcast over rows if it has fewer rows)       */
  UCE_OP_SCALE = 7,        /* dst = x * scale                        srcs: x                 */
  UCE_OP_ATTENTION = 8,    /* packed varlen MHSA          srcs: qkv[n,3d], seg(i32), bias?, mask? */
  UCE_OP_SLICE_ROWS = 9,   /* dst[i,:] = x[rows[i],:]  (same as gather, kept for the graph's names) */
  UCE_OP_COPY = 10,        /* dst = x (dtype conversion allowed)                             */
  UCE_OP_ADD_ROWS_PE = 11, /* dst[i,:] = x[i,:] + pe[pos[i],:]       srcs: x, pe, pos(i32)   */
  UCE_OP_SEGMENT_MEAN = 12,/* dst[s,:] = mean of x rows in segment s  srcs: x, seg(i32)      */
  UCE_OP_COUNT = 13
} uce_op_type;

typedef enum uce_activation {
  UCE_ACT_NONE = 0,
  UCE_ACT_GELU = 1, /* exact erf */
  UCE_ACT_RELU = 2
} uce_activation;

#define UCE_MAX_SRCS 6

/* The full description of one op instance: what supports_op is asked and what compute runs. */
typedef struct uce_op {
  uint32_t struct_size;
  int32_t type;          /* uce_op_type */
  int32_t activation;    /* uce_activation: fused epilogue for LINEAR / LAYERNORM */
  int32_t n_heads;       /* ATTENTION */
  float eps;             /* LAYERNORM, L2NORM_ROWS */
  float scale;           /* SCALE; LAYERNORM post-scale (1 = none); ATTENTION softmax scale */
  int32_t act_before_norm; /* LAYERNORM: 1 = act applied BEFORE normalising (unused now) */
  int32_t n_srcs;
  const uce_tensor* srcs[UCE_MAX_SRCS]; /* NULL entries = optional input absent */
  const uce_tensor* dst;
  const char* name;      /* graph node name, for messages */
} uce_op;

/* ---------------------------------------------------------------- backend ----------------- */
typedef struct uce_backend uce_backend; /* opaque device context */

typedef struct uce_backend_options {
  uint32_t struct_size;
  int32_t threads;        /* CPU threads; 0 = all cores */
  int32_t device_index;   /* -1 = default */
  const char* device_name;/* substring match; NULL = any */
  int32_t allow_fp16;     /* backend may use fp16 storage/compute paths */
  int32_t allow_coopmat;  /* backend may use cooperative-matrix / tensor-core paths */
  const char* cache_dir;  /* pipeline/program cache folder; NULL = the backend's default
                           * (e.g. $XDG_CACHE_HOME/uce-engine), "" = no cache */
  void (*log)(void* user, int level, const char* line); /* may be NULL */
  void* log_user;
} uce_backend_options;

#define UCE_LOG_DEBUG 0
#define UCE_LOG_INFO 1
#define UCE_LOG_WARN 2

typedef struct uce_backend_iface {
  uint32_t struct_size;
  /* Create the device context. Expensive; probe() in the header is the cheap check. */
  uce_status (*open)(const uce_backend_options* options, uce_backend** out, uce_error* err);
  void (*close)(uce_backend* backend);
  /* One line describing device/driver/threads, for logs and --dry-run. */
  void (*describe)(uce_backend* backend, char* buf, size_t len);
  /* Capability query on the FULL op description (shapes, dtypes, params). Returns 1 if
   * compute() will run it, 0 if not; if 0 and why != NULL, writes the reason. Must be cheap. */
  int (*supports_op)(uce_backend* backend, const uce_op* op, char* why, size_t why_len);
  /* Memory. host_data of tensors in host-visible buffers = buffer_host_ptr() + offset. */
  uce_status (*buffer_alloc)(uce_backend* backend, size_t bytes, uce_buffer** out, uce_error* err);
  void (*buffer_free)(uce_backend* backend, uce_buffer* buffer);
  void* (*buffer_host_ptr)(uce_backend* backend, uce_buffer* buffer); /* NULL if not host memory */
  uce_status (*buffer_write)(uce_backend* backend, uce_buffer* buffer, size_t offset,
                             const void* src, size_t bytes, uce_error* err);
  uce_status (*buffer_read)(uce_backend* backend, uce_buffer* buffer, size_t offset, void* dst,
                            size_t bytes, uce_error* err);
  /* Enqueue (or run) one op. Results are visible to buffer_read after synchronize(). */
  uce_status (*compute)(uce_backend* backend, const uce_op* op, uce_error* err);
  uce_status (*synchronize)(uce_backend* backend, uce_error* err);
  /* Optional (may be NULL): wrap caller-owned host memory that outlives the buffer (mmapped
   * weights) without copying. */
  uce_status (*buffer_from_host)(uce_backend* backend, void* ptr, size_t bytes, uce_buffer** out,
                                 uce_error* err);
} uce_backend_iface;

/* ---------------------------------------------------------------- stages ------------------ */
/* Pipeline stage plugins (readers, writers). The stage ABI is in uce_stage.h. */

/* ---------------------------------------------------------------- header ------------------ */
typedef enum uce_plugin_kind {
  UCE_PLUGIN_BACKEND = 1,
  UCE_PLUGIN_STAGE = 2
} uce_plugin_kind;

typedef struct uce_plugin_header {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  int32_t kind;          /* uce_plugin_kind */
  const char* name;      /* short name used in configs: "blas", "vulkan", "h5ad-reader" */
  const char* version;   /* plugin version string */
  /* Cheap availability check (no device context): returns a score > 0 when usable here (higher =
   * preferred), 0 when not, writing the reason into why. */
  int32_t (*probe)(char* why, size_t why_len);
  /* The kind's function table: a uce_backend_iface* or a uce_stage_iface* (see uce_stage.h). */
  const void* iface;
} uce_plugin_header;

typedef const uce_plugin_header* (*uce_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* UCE_PLUGIN_H */
