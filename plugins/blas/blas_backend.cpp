// blas_backend.cpp — the "blas" backend plugin: the fast CPU path (OpenBLAS sgemm for LINEAR and
// attention blocks, oneTBB loops for everything else). Host-memory buffers. Thread count comes
// from uce_backend_options.threads only (0 = all cores) and sizes the TBB task_arena that every
// kernel runs in; OpenBLAS is kept single-threaded and called from inside TBB tasks (each LINEAR
// is cut into one sgemm block per thread, blas_linear.cpp), so only one thread pool ever runs.
// OPENBLAS_* and other environment variables are never consulted by this code.
#include <cblas.h>
#include <tbb/info.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>

#include "blas_kernels.hpp"
#include "op_checks.hpp"
#include "uce/host_buffer.hpp"

namespace {

using uce::blas::Context;


Context* as_context(uce_backend* b) { return reinterpret_cast<Context*>(b); }

uce_status fail(uce_error* err, uce_status code, const std::string& text) {
  if (err) uce::opcheck::write_message(err->message, sizeof(err->message), "blas: " + text);
  return code;
}

int32_t blas_probe(char*, size_t) { return 50; }  // a CPU is always there; preferred over reference

uce_status blas_open(const uce_backend_options* options, uce_backend** out, uce_error* err) {
  if (!out) return fail(err, UCE_ERR_INVALID_ARGUMENT, "open: out is NULL");
  auto* ctx = new (std::nothrow) Context();
  if (!ctx) return fail(err, UCE_ERR_OUT_OF_MEMORY, "open: out of memory");
  const bool has_threads =
      options && options->struct_size >= offsetof(uce_backend_options, threads) + sizeof(int32_t);
  const int requested = has_threads ? options->threads : 0;
  if (requested < 0) {
    delete ctx;
    return fail(err, UCE_ERR_INVALID_ARGUMENT, "open: options.threads must be >= 0 (0 = all cores)");
  }
  const int cores = std::max(1, tbb::info::default_concurrency());  // respects the CPU affinity mask
  ctx->threads = requested > 0 ? requested : cores;
  try {
    ctx->arena = std::make_unique<tbb::task_arena>(ctx->threads);
  } catch (const std::exception& e) {
    delete ctx;
    return fail(err, UCE_ERR_INTERNAL, std::string("open: cannot create the TBB arena: ") + e.what());
  }
  openblas_set_num_threads(1);  // parallelism comes from TBB (see the top of this file)
  *out = reinterpret_cast<uce_backend*>(ctx);
  return UCE_OK;
}

void blas_close(uce_backend* backend) { delete as_context(backend); }

void blas_describe(uce_backend* backend, char* buf, size_t len) {
  if (!buf || len == 0) return;
  const char* config = openblas_get_config();
  const char* core = openblas_get_corename();
  // openblas_get_config() starts with "OpenBLAS <version>"; the core name shows which kernels
  // the DYNAMIC_ARCH build picked (or what OPENBLAS_CORETYPE forced) on this machine.
  std::snprintf(buf, len, "blas: %s, core %s, %d threads (oneTBB; OpenBLAS single-threaded per task)",
                config ? config : "OpenBLAS ?", core ? core : "?", backend ? as_context(backend)->threads : 0);
}

int blas_supports_op(uce_backend*, const uce_op* op, char* why, size_t why_len) {
  // Every op of ops.hpp is implemented, LINEAR and GATHER with f32/f16/bf16 weights included, so
  // the structural rules shared with the reference backend are the whole answer.
  std::string reason;
  if (!uce::opcheck::check_op_structure(op, reason)) {
    uce::opcheck::write_message(why, why_len, reason);
    return 0;
  }
  return 1;
}

// Host memory: the shared slots of uce/host_buffer.hpp, with this backend's name in messages.
uce_status blas_buffer_alloc(uce_backend*, size_t bytes, uce_buffer** out, uce_error* err) {
  return uce::host_buffer::alloc("blas", bytes, out, err);
}
uce_status blas_buffer_from_host(uce_backend*, void* ptr, size_t bytes, uce_buffer** out, uce_error* err) {
  return uce::host_buffer::wrap("blas", ptr, bytes, out, err);
}
void blas_buffer_free(uce_backend*, uce_buffer* handle) { uce::host_buffer::release(handle); }
void* blas_buffer_host_ptr(uce_backend*, uce_buffer* handle) { return uce::host_buffer::host_ptr(handle); }
uce_status blas_buffer_write(uce_backend*, uce_buffer* handle, size_t offset, const void* src, size_t bytes,
                             uce_error* err) {
  return uce::host_buffer::write("blas", handle, offset, src, bytes, err);
}
uce_status blas_buffer_read(uce_backend*, uce_buffer* handle, size_t offset, void* dst, size_t bytes, uce_error* err) {
  return uce::host_buffer::read("blas", handle, offset, dst, bytes, err);
}

bool run_kernel(Context& ctx, const uce_op& op, std::string& why) {
  using namespace uce::blas;
  switch (op.type) {
    case UCE_OP_GATHER_ROWS:
    case UCE_OP_SLICE_ROWS: return gather_rows(op, why);
    case UCE_OP_L2NORM_ROWS: return l2norm_rows(op, why);
    case UCE_OP_LINEAR: return linear(ctx, op, why);
    case UCE_OP_LAYERNORM: return layernorm(op, why);
    case UCE_OP_GELU:
    case UCE_OP_RELU:
    case UCE_OP_SCALE: return elementwise_unary(op, why);
    case UCE_OP_ADD: return add(op, why);
    case UCE_OP_ATTENTION: return attention(ctx, op, why);
    case UCE_OP_COPY: return copy(op, why);
    case UCE_OP_ADD_ROWS_PE: return add_rows_pe(op, why);
    case UCE_OP_SEGMENT_MEAN: return segment_mean(op, why);
    default: why = "unknown op type"; return false;
  }
}

uce_status blas_compute(uce_backend* handle, const uce_op* op, uce_error* err) {
  Context* ctx = as_context(handle);
  if (!ctx) return fail(err, UCE_ERR_INVALID_ARGUMENT, "compute: backend is NULL");
  std::string why;
  if (!uce::opcheck::check_op_structure(op, why)) return fail(err, UCE_ERR_INVALID_ARGUMENT, why);
  const std::string where = std::string(uce::op_type_name(op->type)) + (op->name ? std::string(" '") + op->name + "'" : "");
  for (int i = 0; i < op->n_srcs; ++i)
    if (op->srcs[i] && !op->srcs[i]->host_data && op->srcs[i]->ne[0] != 0)
      return fail(err, UCE_ERR_INVALID_ARGUMENT, where + ": srcs[" + std::to_string(i) + "] has no host_data");
  if (!op->dst->host_data && op->dst->ne[0] != 0)
    return fail(err, UCE_ERR_INVALID_ARGUMENT, where + ": dst has no host_data");
  bool ok = false;
  try {  // nothing may escape across the C ABI
    ctx->arena->execute([&] { ok = run_kernel(*ctx, *op, why); });
  } catch (const std::bad_alloc&) {
    return fail(err, UCE_ERR_OUT_OF_MEMORY, where + ": out of memory");
  } catch (const std::exception& e) {
    return fail(err, UCE_ERR_INTERNAL, where + ": " + e.what());
  }
  return ok ? UCE_OK : fail(err, UCE_ERR_INVALID_ARGUMENT, where + ": " + why);
}

uce_status blas_synchronize(uce_backend*, uce_error*) { return UCE_OK; }  // compute is synchronous

const uce_backend_iface kBlasIface = {
    sizeof(uce_backend_iface), blas_open,        blas_close,           blas_describe,     blas_supports_op,
    blas_buffer_alloc,         blas_buffer_free, blas_buffer_host_ptr, blas_buffer_write, blas_buffer_read,
    blas_compute,              blas_synchronize, blas_buffer_from_host,
};

const uce_plugin_header kBlasHeader = {
    sizeof(uce_plugin_header), UCE_ABI_MAJOR, UCE_ABI_MINOR, UCE_PLUGIN_BACKEND, "blas", "1.0",
    blas_probe,                &kBlasIface,
};

}  // namespace

extern "C" UCE_PLUGIN_EXPORT const uce_plugin_header* uce_plugin_entry(void) { return &kBlasHeader; }
