// tensor_view.cpp — element counts, contiguity and dtype sizes of mapped tensors.
#include "uce/io/tensor_view.hpp"

#include "uce/uce_plugin.h"

namespace uce::io {

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // readers have already checked this cannot overflow
  return n;
}

bool TensorView::is_contiguous() const {
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] != 1 && stride[k] != expected) return false;
    expected *= shape[k];
  }
  return true;
}

int64_t TensorView::extent_bytes() const {
  if (numel() == 0) return 0;
  int64_t last = 0;
  for (size_t k = 0; k < shape.size(); ++k) last += (shape[k] - 1) * stride[k];
  return (last + 1) * dtype_size(dtype);
}

int64_t dtype_size(int32_t dtype) {
  switch (dtype) {
    case UCE_F32: return 4;
    case UCE_F16: return 2;
    case UCE_BF16: return 2;
    case UCE_I32: return 4;
    case UCE_I64: return 8;
    case UCE_U8: return 1;
    case UCE_F64: return 8;
    default: return 0;
  }
}

const char* dtype_name(int32_t dtype) {
  switch (dtype) {
    case UCE_F32: return "F32";
    case UCE_F16: return "F16";
    case UCE_BF16: return "BF16";
    case UCE_I32: return "I32";
    case UCE_I64: return "I64";
    case UCE_U8: return "U8";
    case UCE_F64: return "F64";
    default: return "?";
  }
}

}  // namespace uce::io
