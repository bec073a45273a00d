// reference_kernels.hpp — the naive scalar kernels of the built-in reference backend.
// Each kernel receives an op that already passed opcheck::check_op_structure() and whose tensors
// all have host_data; it checks the data-dependent rules (index ranges, segments) itself and
// returns false with `why` filled in when they are broken.
#pragma once

#include <string>

#include "uce/uce_plugin.h"

namespace uce::reference {

bool run_gather_rows(const uce_op& op, std::string& why);
bool run_l2norm_rows(const uce_op& op, std::string& why);
bool run_linear(const uce_op& op, std::string& why);
bool run_layernorm(const uce_op& op, std::string& why);
bool run_unary(const uce_op& op, std::string& why);  // GELU, RELU, SCALE
bool run_add(const uce_op& op, std::string& why);
bool run_attention(const uce_op& op, std::string& why);
bool run_copy(const uce_op& op, std::string& why);
bool run_add_rows_pe(const uce_op& op, std::string& why);
bool run_segment_mean(const uce_op& op, std::string& why);

}  // namespace uce::reference
