#include "device_select.hpp"

#include <algorithm>
#include <cctype>

namespace uce::ocl {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* type_name(cl_device_type t) {
  if (t & CL_DEVICE_TYPE_GPU) return "GPU";
  if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
  if (t & CL_DEVICE_TYPE_CPU) return "CPU";
  return "other";
}

}  // namespace

ClStatus list_devices(std::vector<DeviceEntry>* out) {
  out->clear();
  cl_uint n_platforms = 0;
  cl_int err = clGetPlatformIDs(0, nullptr, &n_platforms);
  if (err != CL_SUCCESS || n_platforms == 0)
    return ClStatus::fail(
        UCE_ERR_DEVICE,
        std::string("opencl: no OpenCL platform (clGetPlatformIDs: ") +
            (err == CL_SUCCESS ? "0 platforms" : cl_error_name(err)) +
            "); the ICD loader found no driver in /etc/OpenCL/vendors (install e.g. "
            "pocl-opencl-icd or the GPU vendor's OpenCL ICD)");
  std::vector<cl_platform_id> platforms(n_platforms);
  clGetPlatformIDs(n_platforms, platforms.data(), nullptr);
  for (cl_platform_id p : platforms) {
    cl_uint n_dev = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &n_dev) != CL_SUCCESS || n_dev == 0)
      continue;
    std::vector<cl_device_id> devs(n_dev);
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n_dev, devs.data(), nullptr) != CL_SUCCESS)
      continue;
    const std::string pname = platform_string(p, CL_PLATFORM_NAME);
    for (cl_device_id d : devs) {
      DeviceEntry e;
      e.platform = p;
      e.device = d;
      e.platform_name = pname;
      e.device_name = device_string(d, CL_DEVICE_NAME);
      e.type = device_value<cl_device_type>(d, CL_DEVICE_TYPE);
      out->push_back(std::move(e));
    }
  }
  if (out->empty())
    return ClStatus::fail(UCE_ERR_DEVICE, "opencl: " + std::to_string(n_platforms) +
                                              " OpenCL platform(s) but no device on any of them");
  return ClStatus::success();
}

ClStatus select_device(const std::vector<DeviceEntry>& all, int device_index,
                       const char* device_name, DeviceEntry* out) {
  std::vector<const DeviceEntry*> kept;
  const std::string want = device_name ? lower(device_name) : std::string();
  for (const DeviceEntry& e : all) {
    if (want.empty() || lower(e.platform_name).find(want) != std::string::npos ||
        lower(e.device_name).find(want) != std::string::npos)
      kept.push_back(&e);
  }
  if (kept.empty())
    return ClStatus::fail(UCE_ERR_DEVICE, "opencl: options.device_name \"" + std::string(device_name) +
                                              "\" matches no platform or device; available: " +
                                              describe_devices(all));
  if (device_index >= 0) {
    if (static_cast<size_t>(device_index) >= kept.size())
      return ClStatus::fail(UCE_ERR_DEVICE,
                            "opencl: options.device_index " + std::to_string(device_index) +
                                " is out of range (" + std::to_string(kept.size()) +
                                " matching device(s)); available: " + describe_devices(all));
    *out = *kept[static_cast<size_t>(device_index)];
    return ClStatus::success();
  }
  for (const DeviceEntry* e : kept) {
    if (e->type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) {
      *out = *e;
      return ClStatus::success();
    }
  }
  *out = *kept.front();
  return ClStatus::success();
}

std::string describe_devices(const std::vector<DeviceEntry>& all) {
  std::string s;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i) s += "; ";
    s += std::to_string(i) + ": " + all[i].platform_name + " / " + all[i].device_name + " (" +
         type_name(all[i].type) + ")";
  }
  return s;
}

}  // namespace uce::ocl
