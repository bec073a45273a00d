// kernel_args.hpp — set every argument of a kernel in one call, in declaration order.
#pragma once

#include <string>
#include <type_traits>

#include "cl_common.hpp"

namespace uce::ocl {

template <typename... A>
ClStatus set_args(cl_kernel k, const char* what, const A&... args) {
  static_assert(((std::is_same_v<A, cl_mem> || std::is_same_v<A, cl_uint> ||
                  std::is_same_v<A, cl_int> || std::is_same_v<A, cl_float>) && ...),
                "kernel arguments are cl_mem, cl_uint, cl_int or cl_float");
  cl_uint index = 0, failed_at = 0;
  cl_int err = CL_SUCCESS;
  auto one = [&](const auto& v) {
    if (err == CL_SUCCESS) {
      err = clSetKernelArg(k, index, sizeof(v), &v);
      failed_at = index;
    }
    ++index;
  };
  (one(args), ...);
  if (err != CL_SUCCESS)
    return cl_fail(std::string("clSetKernelArg(") + what + ", #" + std::to_string(failed_at) + ")", err);
  return ClStatus::success();
}

}  // namespace uce::ocl
