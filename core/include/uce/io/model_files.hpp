// model_files.hpp — readers for the models' own published files (formats.md): torch.save zip
// archives, plain pickles and safetensors. Every reader validates every size and offset against
// the file before touching bytes and returns one-line errors "FILE: what is wrong (expected ...)".
// The pickle reader is a small VM with an allow-list of globals: it never executes anything.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "uce/io/mapped_file.hpp"
#include "uce/io/py_value.hpp"
#include "uce/io/tensor_view.hpp"
#include "uce/status.hpp"

namespace uce::io {

// Plain pickle file (species_offsets.pkl: dict str -> int). Tensors are not allowed in it.
Result<PyValue> read_pickle_file(const std::string& path);

// torch.save zip archive: the unpickled root object with tensors mapped from the file.
Result<PyValue> read_torch_file(const std::string& path);

// Root must be a dict (or OrderedDict) str -> tensor; returns name -> view in file order.
Result<std::vector<std::pair<std::string, TensorView>>> read_torch_state_dict(const std::string& path);

// Root must be a single tensor (all_tokens.torch).
Result<TensorView> read_torch_tensor(const std::string& path);

// Keys of a dict str -> tensor, in file order (protein embedding .pt files, ~20k keys).
Result<std::vector<std::string>> read_torch_dict_keys(const std::string& path);

struct SafetensorsFile {
  std::shared_ptr<MappedFile> file;
  std::vector<std::pair<std::string, TensorView>> tensors;      // header order
  std::vector<std::pair<std::string, std::string>> metadata;    // "__metadata__", header order
};

// safetensors: 8-byte LE header length N, N bytes of JSON, then the data.
Result<SafetensorsFile> read_safetensors(const std::string& path);

}  // namespace uce::io
