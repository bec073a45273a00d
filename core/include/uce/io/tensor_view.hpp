// tensor_view.hpp — a tensor that lives inside a mapped model file (zero copy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "uce/io/mapped_file.hpp"

namespace uce::io {

struct TensorView {
  int32_t dtype = 0;            // uce_dtype (UCE_F32, UCE_F16, UCE_BF16, UCE_I32, UCE_I64, UCE_U8, UCE_F64)
  std::vector<int64_t> shape;   // row-major, outermost first; empty = 0-d scalar
  std::vector<int64_t> stride;  // in elements, as torch stores them (>= 0)
  // First element (storage base + storage_offset * element size), inside file->data().
  // NOTE: the readers check that every element lies inside the file, but do not promise any
  // alignment (safetensors does not require it): read through memcpy, not a cast T* when unsure.
  const void* data = nullptr;
  std::shared_ptr<MappedFile> file;  // keeps the mapping alive

  int64_t numel() const;
  bool is_contiguous() const;  // row-major dense (size-1 dimensions may have any stride)
  // Bytes from `data` to one past the last addressable element (0 when numel() == 0).
  int64_t extent_bytes() const;
};

// Bytes per element of a uce_dtype; 0 for an unknown dtype.
int64_t dtype_size(int32_t dtype);
// "F32", "F16", ... ; "?" for an unknown dtype.
const char* dtype_name(int32_t dtype);

}  // namespace uce::io
