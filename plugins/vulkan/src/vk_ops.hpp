// vk_ops.hpp — op support query and op recording (the semantics are core/include/uce/ops.hpp).
#pragma once

#include "vk_context.hpp"

namespace uce_vk {

// 1 when ops_compute will run op; else 0 and the reason in why.
int ops_supports(const Context& ctx, const uce_op* op, char* why, size_t why_len);
// Records op into the current batch (runs at the next flush).
uce_status ops_compute(Context& ctx, const uce_op* op, uce_error* err);

}  // namespace uce_vk
