// faulty_backend.cpp — a deliberately broken backend plugin ("faulty") that proves the harness
// catches what it claims to catch. It is the reference backend with one fault injected after every
// compute, chosen by the UCE_FAULTY_MODE environment variable (test-only code; real backends never
// read configuration from the environment):
//   ok      no fault (the wrapper itself must pass)
//   canary  writes one element just past the last output row's end (row padding or after dst)
//   value   adds 1 to the first output element
//   nan     writes NaN into the first output element
//   input   flips a byte of the first input
//   none    supports_op says no to everything (the harness must fail: zero cases ran)
// It lives in the test build folder, not the plugin folder: only `--plugin PATH` loads it.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "uce/ops.hpp"
#include "uce/plugin_loader.hpp"

namespace {

const uce_backend_iface& inner() {
  return *static_cast<const uce_backend_iface*>(uce::reference_backend_header()->iface);
}

std::string mode() {
  const char* m = std::getenv("UCE_FAULTY_MODE");
  return m ? m : "ok";
}

int faulty_supports(uce_backend* b, const uce_op* op, char* why, size_t len) {
  if (mode() == "none") {
    if (why && len) std::snprintf(why, len, "faulty backend in mode none supports nothing");
    return 0;
  }
  return inner().supports_op(b, op, why, len);
}

uce_status faulty_compute(uce_backend* b, const uce_op* op, uce_error* err) {
  const uce_status st = inner().compute(b, op, err);
  if (st != UCE_OK || !op->dst->host_data || op->dst->ne[0] == 0) return st;
  const std::string m = mode();
  const size_t es = uce::dtype_size(op->dst->dtype);
  auto* dst = static_cast<unsigned char*>(op->dst->host_data);
  if (m == "canary") {
    const int64_t last_row = op->dst->ndim == 2 ? op->dst->ne[0] - 1 : 0;
    const int64_t cols = op->dst->ndim == 2 ? op->dst->ne[1] : op->dst->ne[0];
    std::memset(dst + static_cast<size_t>(last_row * op->dst->stride[0] + cols) * es, 0, es);
  } else if (m == "value" && op->dst->dtype == UCE_F32) {
    *reinterpret_cast<float*>(dst) += 1.0f;
  } else if (m == "nan" && op->dst->dtype == UCE_F32) {
    *reinterpret_cast<float*>(dst) = std::nanf("");
  } else if (m == "input" && op->srcs[0] && op->srcs[0]->host_data) {
    *static_cast<unsigned char*>(op->srcs[0]->host_data) ^= 0x40;
  }
  return UCE_OK;
}

void faulty_describe(uce_backend*, char* buf, size_t len) {
  if (buf && len) std::snprintf(buf, len, "faulty: the reference backend with fault '%s' injected", mode().c_str());
}

uce_backend_iface make_iface() {
  uce_backend_iface f = inner();
  f.describe = faulty_describe;
  f.supports_op = faulty_supports;
  f.compute = faulty_compute;
  return f;
}

const uce_backend_iface kIface = make_iface();

uce_plugin_header make_header() {
  uce_plugin_header h = *uce::reference_backend_header();
  h.name = "faulty";
  h.iface = &kIface;
  return h;
}

const uce_plugin_header kHeader = make_header();

}  // namespace

extern "C" UCE_PLUGIN_EXPORT const uce_plugin_header* uce_plugin_entry(void) { return &kHeader; }
