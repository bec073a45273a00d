// case_runner.hpp — runs one OpCase on one backend and checks what can be checked without an
// expected result: canaries before/after/between the rows of the output untouched, inputs left
// unmodified, compute() and synchronize() succeeding.
//
// Device mode (the backend under test): every tensor gets its own buffer from buffer_alloc,
// filled through buffer_write, with the tensor at a 256-byte offset (GPU offset alignment)
// between canary bytes; host_data = buffer_host_ptr() + offset when the backend has host memory.
// Host mode (the oracle, i.e. the reference backend): the same layout in plain host memory,
// buffer = NULL.
#pragma once

#include <string>
#include <vector>

#include "op_case.hpp"
#include "uce/backend.hpp"

namespace uce::ops_test {

struct RunOutcome {
  enum class Kind { kUnsupported, kFailed, kDone };
  Kind kind = Kind::kFailed;
  std::string message;                // why unsupported, or the compute error
  std::vector<std::string> problems;  // canary or input-modification findings (kDone only)
  HostTensor output;                  // the dst as read back, padding included
};

// The uce_op for `c` with the given tensor descriptors (srcs may hold NULLs).
uce_op make_op(const OpCase& c, const std::vector<const uce_tensor*>& srcs, const uce_tensor* dst);

// Asks supports_op first; kUnsupported when the backend declines.
RunOutcome run_case(Backend& backend, const OpCase& c, bool host_mode);

}  // namespace uce::ops_test
