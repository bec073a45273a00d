// state_dict_lookup.hpp — the named tensors of a loaded checkpoint (torch state dict or
// safetensors), looked up with the shape and dtype a model needs. Both model families load through
// it, so a missing or mis-shaped tensor is reported the same way: one line naming the file, the
// tensor and what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "uce/io/tensor_view.hpp"
#include "uce/status.hpp"

namespace uce {

// "[2, 3]": a shape as the error messages print it.
std::string shape_str(const std::vector<int64_t>& shape);

// Where the tensors come from, and the family-specific words of the error messages.
struct StateDictSource {
  std::string file;          // named first in every error
  std::string prefix;        // prepended to every key (e.g. "uce." of a wrapped model); "" = none
  std::string missing_hint;  // ends the missing-tensor error, e.g. "is this an original UCE checkpoint?"
  std::string dtype_hint;    // in parentheses after the dtype error; "" = none
};

class StateDictLookup {
 public:
  StateDictLookup(StateDictSource source, std::vector<std::pair<std::string, io::TensorView>> entries);

  const std::string& prefix() const { return source_.prefix; }
  bool has(const std::string& key) const { return map_.count(source_.prefix + key) > 0; }

  // The F32 tensor `key` with exactly `shape` (a -1 entry accepts any size). `why`, when given, is
  // appended to a shape error in parentheses (e.g. which config key set the size). Errors:
  //   <file>: has no tensor '<key>' (expected <shape>; <missing_hint>)
  //   <file>: tensor '<key>' is <dtype>, expected F32[ (<dtype_hint>)]
  //   <file>: tensor '<key>' has shape <shape>, expected <shape>[ (<why>)]
  Result<io::TensorView> get(const std::string& key, const std::vector<int64_t>& shape,
                             const std::string& why = "") const;
  // get() into `dst`, for loaders that fill many fields with UCE_TRY.
  Status need(io::TensorView& dst, const std::string& key, const std::vector<int64_t>& shape,
              const std::string& why = "") const;

  // Layers of an nn.TransformerEncoder: consecutive transformer_encoder.layers.<n>.* from 0.
  int64_t count_encoder_layers() const;

 private:
  StateDictSource source_;
  std::map<std::string, io::TensorView> map_;
};

}  // namespace uce
