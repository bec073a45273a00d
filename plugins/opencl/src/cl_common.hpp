// cl_common.hpp — OpenCL includes, the plugin's internal status type and small helpers.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <string>
#include <utility>

#include "uce/uce_plugin.h"

namespace uce::ocl {

// Errors are values: a uce_status code plus one line of text (copied into uce_error at the ABI).
struct ClStatus {
  uce_status code = UCE_OK;
  std::string message;

  bool ok() const { return code == UCE_OK; }
  static ClStatus success() { return {}; }
  static ClStatus fail(uce_status c, std::string m) { return {c, std::move(m)}; }
};

// Symbolic name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), for messages.
const char* cl_error_name(cl_int err);

// "opencl: <what> failed: CL_..." with the code mapped to the closest uce_status.
ClStatus cl_fail(const std::string& what, cl_int err);

// String-valued clGetPlatformInfo / clGetDeviceInfo.
std::string platform_string(cl_platform_id platform, cl_platform_info what);
std::string device_string(cl_device_id device, cl_device_info what);

template <typename T>
T device_value(cl_device_id device, cl_device_info what) {
  T value{};
  clGetDeviceInfo(device, what, sizeof(T), &value, nullptr);
  return value;
}

}  // namespace uce::ocl

#define UCE_CL_TRY(expr)                      \
  do {                                        \
    ::uce::ocl::ClStatus uce_cl_st_ = (expr); \
    if (!uce_cl_st_.ok()) return uce_cl_st_;  \
  } while (0)
