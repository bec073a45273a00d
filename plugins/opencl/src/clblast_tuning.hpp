// clblast_tuning.hpp — candidate parameter sets for CLBlast's SGEMM kernel ("Xgemm").
//
// CLBlast ships tuned parameters only for the devices in its database; other devices (e.g. an
// H100 with Debian's CLBlast 1.5.3) run a vendor default. Instead of CLBlast's offline tuner, the
// GEMM calibration (gemm.cpp) times a small list of sensible Xgemm parameter sets on the real
// operands and keeps the fastest per shape class. Set 0 is always "whatever CLBlast's database
// gives this device" (the untuned baseline); the others are installed through
// clblast::OverrideParameters, which replaces the parameters for the whole process and device,
// so clblast_use_set() tracks what is installed and only calls it on a change.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "cl_common.hpp"

namespace uce::ocl {

// Values in CLBlast's Xgemm parameter order (see kXgemmParamNames in the .cpp).
using XgemmValues = std::array<size_t, 16>;

struct XgemmSet {
  const char* label;  // where the values come from (a CLBlast database entry or our own choice)
  XgemmValues v;
};

// Number of parameter sets, set 0 (the database default) included.
int clblast_set_count();
// Label of set i ("database" for 0).
const char* clblast_set_label(int set);
// Whether set i (i >= 1) satisfies CLBlast's kernel-0 constraints for a device with this
// work-group and local-memory limit.
bool clblast_set_fits(int set, size_t max_work_group, size_t local_mem_bytes);
// Installs set i for single precision on `device` (no-op when it is already installed).
// Thread-safe; a failure leaves the previous parameters in place.
ClStatus clblast_use_set(cl_device_id device, int set);

}  // namespace uce::ocl
