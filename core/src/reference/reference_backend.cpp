// reference_backend.cpp — the built-in naive CPU backend (architecture.md decision 2): the oracle
// of the op tests, always present, never the fast path. Host-memory buffers; every op of ops.hpp
// in f32 (LINEAR weights and GATHER tables also f16/bf16); kernels in reference_kernels.cpp and
// reference_attention.cpp.
#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "op_checks.hpp"
#include "reference_kernels.hpp"
#include "uce/host_buffer.hpp"
#include "uce/plugin_loader.hpp"

namespace {

// The opaque uce_buffer / uce_backend handles of the C ABI point at these private types (the core
// never defines the ABI's struct names itself, so no other backend's definition can clash).
struct RefBackend {
  std::unique_ptr<tbb::task_arena> arena;  // honours options.threads for the row-parallel kernels
  int threads = 0;
};

RefBackend* as_ref(uce_backend* b) { return reinterpret_cast<RefBackend*>(b); }

uce_status fail(uce_error* err, uce_status code, const std::string& text) {
  if (err) uce::opcheck::write_message(err->message, sizeof(err->message), "reference: " + text);
  return code;
}

int32_t ref_probe(char*, size_t) { return 1; }  // always usable, least preferred

uce_status ref_open(const uce_backend_options* options, uce_backend** out, uce_error* err) {
  if (!out) return fail(err, UCE_ERR_INVALID_ARGUMENT, "open: out is NULL");
  auto* b = new (std::nothrow) RefBackend();
  if (!b) return fail(err, UCE_ERR_OUT_OF_MEMORY, "open: out of memory");
  const int requested = options && options->struct_size >= offsetof(uce_backend_options, threads) + sizeof(int32_t)
                            ? options->threads
                            : 0;
  b->threads = requested > 0 ? requested : std::max(1, tbb::info::default_concurrency());
  try {
    b->arena = std::make_unique<tbb::task_arena>(b->threads);
  } catch (const std::exception& e) {
    delete b;
    return fail(err, UCE_ERR_INTERNAL, std::string("open: cannot create the TBB arena: ") + e.what());
  }
  *out = reinterpret_cast<uce_backend*>(b);
  return UCE_OK;
}

void ref_close(uce_backend* backend) { delete as_ref(backend); }

void ref_describe(uce_backend* backend, char* buf, size_t len) {
  if (!buf || len == 0) return;
  std::snprintf(buf, len, "reference: naive scalar CPU oracle, double accumulation, %d threads",
                backend ? as_ref(backend)->threads : 0);
}

int ref_supports_op(uce_backend*, const uce_op* op, char* why, size_t why_len) {
  std::string reason;
  if (!uce::opcheck::check_op_structure(op, reason)) {
    uce::opcheck::write_message(why, why_len, reason);
    return 0;
  }
  return 1;
}

// Host memory: the shared slots of uce/host_buffer.hpp, with this backend's name in messages.
uce_status ref_buffer_alloc(uce_backend*, size_t bytes, uce_buffer** out, uce_error* err) {
  return uce::host_buffer::alloc("reference", bytes, out, err);
}
uce_status ref_buffer_from_host(uce_backend*, void* ptr, size_t bytes, uce_buffer** out, uce_error* err) {
  return uce::host_buffer::wrap("reference", ptr, bytes, out, err);
}
void ref_buffer_free(uce_backend*, uce_buffer* handle) { uce::host_buffer::release(handle); }
void* ref_buffer_host_ptr(uce_backend*, uce_buffer* handle) { return uce::host_buffer::host_ptr(handle); }
uce_status ref_buffer_write(uce_backend*, uce_buffer* handle, size_t offset, const void* src, size_t bytes,
                            uce_error* err) {
  return uce::host_buffer::write("reference", handle, offset, src, bytes, err);
}
uce_status ref_buffer_read(uce_backend*, uce_buffer* handle, size_t offset, void* dst, size_t bytes, uce_error* err) {
  return uce::host_buffer::read("reference", handle, offset, dst, bytes, err);
}

bool run_kernel(const uce_op& op, std::string& why) {
  using namespace uce::reference;
  switch (op.type) {
    case UCE_OP_GATHER_ROWS:
    case UCE_OP_SLICE_ROWS: return run_gather_rows(op, why);
    case UCE_OP_L2NORM_ROWS: return run_l2norm_rows(op, why);
    case UCE_OP_LINEAR: return run_linear(op, why);
    case UCE_OP_LAYERNORM: return run_layernorm(op, why);
    case UCE_OP_GELU:
    case UCE_OP_RELU:
    case UCE_OP_SCALE: return run_unary(op, why);
    case UCE_OP_ADD: return run_add(op, why);
    case UCE_OP_ATTENTION: return run_attention(op, why);
    case UCE_OP_COPY: return run_copy(op, why);
    case UCE_OP_ADD_ROWS_PE: return run_add_rows_pe(op, why);
    case UCE_OP_SEGMENT_MEAN: return run_segment_mean(op, why);
    default: why = "unknown op type"; return false;
  }
}

uce_status ref_compute(uce_backend* handle, const uce_op* op, uce_error* err) {
  RefBackend* backend = as_ref(handle);
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
    if (backend && backend->arena) {
      backend->arena->execute([&] { ok = run_kernel(*op, why); });
    } else {
      ok = run_kernel(*op, why);
    }
  } catch (const std::bad_alloc&) {
    return fail(err, UCE_ERR_OUT_OF_MEMORY, where + ": out of memory");
  } catch (const std::exception& e) {
    return fail(err, UCE_ERR_INTERNAL, where + ": " + e.what());
  }
  return ok ? UCE_OK : fail(err, UCE_ERR_INVALID_ARGUMENT, where + ": " + why);
}

uce_status ref_synchronize(uce_backend*, uce_error*) { return UCE_OK; }  // compute is synchronous

const uce_backend_iface kReferenceIface = {
    sizeof(uce_backend_iface), ref_open,        ref_close,           ref_describe,     ref_supports_op,
    ref_buffer_alloc,          ref_buffer_free, ref_buffer_host_ptr, ref_buffer_write, ref_buffer_read,
    ref_compute,               ref_synchronize, ref_buffer_from_host,
};

const uce_plugin_header kReferenceHeader = {
    sizeof(uce_plugin_header), UCE_ABI_MAJOR, UCE_ABI_MINOR, UCE_PLUGIN_BACKEND, "reference", "1.0",
    ref_probe,                 &kReferenceIface,
};

}  // namespace

namespace uce {
const uce_plugin_header* reference_backend_header() { return &kReferenceHeader; }
}  // namespace uce
