// state_dict_lookup.cpp — see state_dict_lookup.hpp.
#include "state_dict_lookup.hpp"

#include "uce/uce_plugin.h"

namespace uce {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

StateDictLookup::StateDictLookup(StateDictSource source, std::vector<std::pair<std::string, io::TensorView>> entries)
    : source_(std::move(source)) {
  for (auto& [k, v] : entries) map_.emplace(k, std::move(v));
}

Result<io::TensorView> StateDictLookup::get(const std::string& key, const std::vector<int64_t>& shape,
                                            const std::string& why) const {
  using R = Result<io::TensorView>;
  const std::string full = source_.prefix + key;
  const std::string& file = source_.file;
  auto it = map_.find(full);
  if (it == map_.end())
    return R::error(file + ": has no tensor '" + full + "' (expected " + shape_str(shape) + "; " +
                    source_.missing_hint + ")");
  const io::TensorView& t = it->second;
  // The dtype first: a checkpoint saved in another precision is the likelier mistake.
  if (t.dtype != UCE_F32)
    return R::error(file + ": tensor '" + full + "' is " + io::dtype_name(t.dtype) + ", expected F32" +
                    (source_.dtype_hint.empty() ? "" : " (" + source_.dtype_hint + ")"));
  bool ok = t.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == t.shape[i];
  if (!ok)
    return R::error(file + ": tensor '" + full + "' has shape " + shape_str(t.shape) + ", expected " +
                    shape_str(shape) + (why.empty() ? "" : " (" + why + ")"));
  return t;
}

Status StateDictLookup::need(io::TensorView& dst, const std::string& key, const std::vector<int64_t>& shape,
                             const std::string& why) const {
  auto t = get(key, shape, why);
  if (!t) return t.status();
  dst = t.take();
  return Status::ok();
}

int64_t StateDictLookup::count_encoder_layers() const {
  int64_t n = 0;
  while (has("transformer_encoder.layers." + std::to_string(n) + ".self_attn.in_proj_weight")) ++n;
  return n;
}

}  // namespace uce
