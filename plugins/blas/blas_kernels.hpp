// blas_kernels.hpp — the BLAS backend's kernels. Each receives an op that passed
// opcheck::check_op_structure() with host-addressable tensors, runs inside the backend's TBB arena,
// and returns false with `why` filled in when a data-dependent rule (indices, segments) is broken.
#pragma once

#include <string>

#include "blas_context.hpp"

namespace uce::blas {

bool linear(Context& ctx, const uce_op& op, std::string& why);
bool attention(Context& ctx, const uce_op& op, std::string& why);

bool layernorm(const uce_op& op, std::string& why);
bool l2norm_rows(const uce_op& op, std::string& why);
bool elementwise_unary(const uce_op& op, std::string& why);  // GELU, RELU, SCALE
bool add(const uce_op& op, std::string& why);
bool gather_rows(const uce_op& op, std::string& why);
bool add_rows_pe(const uce_op& op, std::string& why);
bool segment_mean(const uce_op& op, std::string& why);
bool copy(const uce_op& op, std::string& why);

}  // namespace uce::blas
