#include "cl_common.hpp"

#include <vector>

namespace uce::ocl {

const char* cl_error_name(cl_int err) {
  switch (err) {
#define UCE_CL_CASE(x) \
  case x: return #x;
    UCE_CL_CASE(CL_SUCCESS)
    UCE_CL_CASE(CL_DEVICE_NOT_FOUND)
    UCE_CL_CASE(CL_DEVICE_NOT_AVAILABLE)
    UCE_CL_CASE(CL_COMPILER_NOT_AVAILABLE)
    UCE_CL_CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    UCE_CL_CASE(CL_OUT_OF_RESOURCES)
    UCE_CL_CASE(CL_OUT_OF_HOST_MEMORY)
    UCE_CL_CASE(CL_PROFILING_INFO_NOT_AVAILABLE)
    UCE_CL_CASE(CL_MEM_COPY_OVERLAP)
    UCE_CL_CASE(CL_IMAGE_FORMAT_MISMATCH)
    UCE_CL_CASE(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    UCE_CL_CASE(CL_BUILD_PROGRAM_FAILURE)
    UCE_CL_CASE(CL_MAP_FAILURE)
    UCE_CL_CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    UCE_CL_CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    UCE_CL_CASE(CL_COMPILE_PROGRAM_FAILURE)
    UCE_CL_CASE(CL_LINKER_NOT_AVAILABLE)
    UCE_CL_CASE(CL_LINK_PROGRAM_FAILURE)
    UCE_CL_CASE(CL_DEVICE_PARTITION_FAILED)
    UCE_CL_CASE(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    UCE_CL_CASE(CL_INVALID_VALUE)
    UCE_CL_CASE(CL_INVALID_DEVICE_TYPE)
    UCE_CL_CASE(CL_INVALID_PLATFORM)
    UCE_CL_CASE(CL_INVALID_DEVICE)
    UCE_CL_CASE(CL_INVALID_CONTEXT)
    UCE_CL_CASE(CL_INVALID_QUEUE_PROPERTIES)
    UCE_CL_CASE(CL_INVALID_COMMAND_QUEUE)
    UCE_CL_CASE(CL_INVALID_HOST_PTR)
    UCE_CL_CASE(CL_INVALID_MEM_OBJECT)
    UCE_CL_CASE(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    UCE_CL_CASE(CL_INVALID_IMAGE_SIZE)
    UCE_CL_CASE(CL_INVALID_SAMPLER)
    UCE_CL_CASE(CL_INVALID_BINARY)
    UCE_CL_CASE(CL_INVALID_BUILD_OPTIONS)
    UCE_CL_CASE(CL_INVALID_PROGRAM)
    UCE_CL_CASE(CL_INVALID_PROGRAM_EXECUTABLE)
    UCE_CL_CASE(CL_INVALID_KERNEL_NAME)
    UCE_CL_CASE(CL_INVALID_KERNEL_DEFINITION)
    UCE_CL_CASE(CL_INVALID_KERNEL)
    UCE_CL_CASE(CL_INVALID_ARG_INDEX)
    UCE_CL_CASE(CL_INVALID_ARG_VALUE)
    UCE_CL_CASE(CL_INVALID_ARG_SIZE)
    UCE_CL_CASE(CL_INVALID_KERNEL_ARGS)
    UCE_CL_CASE(CL_INVALID_WORK_DIMENSION)
    UCE_CL_CASE(CL_INVALID_WORK_GROUP_SIZE)
    UCE_CL_CASE(CL_INVALID_WORK_ITEM_SIZE)
    UCE_CL_CASE(CL_INVALID_GLOBAL_OFFSET)
    UCE_CL_CASE(CL_INVALID_EVENT_WAIT_LIST)
    UCE_CL_CASE(CL_INVALID_EVENT)
    UCE_CL_CASE(CL_INVALID_OPERATION)
    UCE_CL_CASE(CL_INVALID_GL_OBJECT)
    UCE_CL_CASE(CL_INVALID_BUFFER_SIZE)
    UCE_CL_CASE(CL_INVALID_MIP_LEVEL)
    UCE_CL_CASE(CL_INVALID_GLOBAL_WORK_SIZE)
    UCE_CL_CASE(CL_INVALID_PROPERTY)
#undef UCE_CL_CASE
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL ICD installed)";
    default: return "CL_UNKNOWN_ERROR";
  }
}

ClStatus cl_fail(const std::string& what, cl_int err) {
  uce_status code = UCE_ERR_DEVICE;
  if (err == CL_OUT_OF_HOST_MEMORY || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
      err == CL_INVALID_BUFFER_SIZE)
    code = UCE_ERR_OUT_OF_MEMORY;
  return ClStatus::fail(code, "opencl: " + what + " failed: " + cl_error_name(err) + " (" +
                                  std::to_string(err) + ")");
}

std::string platform_string(cl_platform_id platform, cl_platform_info what) {
  size_t size = 0;
  if (clGetPlatformInfo(platform, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::vector<char> buf(size);
  if (clGetPlatformInfo(platform, what, size, buf.data(), nullptr) != CL_SUCCESS) return {};
  return std::string(buf.data());
}

std::string device_string(cl_device_id device, cl_device_info what) {
  size_t size = 0;
  if (clGetDeviceInfo(device, what, 0, nullptr, &size) != CL_SUCCESS || size == 0) return {};
  std::vector<char> buf(size);
  if (clGetDeviceInfo(device, what, size, buf.data(), nullptr) != CL_SUCCESS) return {};
  return std::string(buf.data());
}

}  // namespace uce::ocl
