// device_select.hpp — enumerate OpenCL platforms/devices and pick one from uce_backend_options.
#pragma once

#include <string>
#include <vector>

#include "cl_common.hpp"

namespace uce::ocl {

struct DeviceEntry {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  std::string platform_name;
  std::string device_name;
  cl_device_type type = 0;
};

// Every device of every platform, platforms in ICD order. Fails only when there is no platform
// (the message says why: typically ocl-icd with no ICD file in /etc/OpenCL/vendors).
ClStatus list_devices(std::vector<DeviceEntry>* out);

// Selection rule (README.md):
//  1. device_name (if non-empty) keeps the devices whose platform name OR device name contains it
//     (case-insensitive);
//  2. device_index >= 0 picks that position in the kept list (error if out of range);
//     device_index < 0 picks the first GPU/accelerator of the kept list, else its first device.
ClStatus select_device(const std::vector<DeviceEntry>& all, int device_index,
                       const char* device_name, DeviceEntry* out);

// "0: Portable Computing Language / pthread-... (CPU); 1: ..." for error messages and logs.
std::string describe_devices(const std::vector<DeviceEntry>& all);

}  // namespace uce::ocl
