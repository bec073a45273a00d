// program_cache.hpp — build OpenCL programs, keeping their binaries on disk.
//
// Cold compilation on PoCL (LLVM) takes seconds per program; a warm start must not. A binary is
// stored as <dir>/opencl-<hash>.bin where the hash covers the full source, the build options and
// the device identity (platform name+version, device name+version, driver version), so a driver
// update or an edited kernel never loads a stale binary. A binary that fails to load or build is
// rebuilt from source and overwritten. Writes go to a temporary file renamed into place, so
// concurrent processes never see a half-written binary.
#pragma once

#include <cstdint>
#include <string>

#include "cl_common.hpp"

namespace uce::ocl {

// 128-bit FNV-1a style digest as 32 hex characters (not cryptographic; a cache key).
std::string hash_hex(const std::string& data);

// Default cache folder: $XDG_CACHE_HOME/uce-engine, else $HOME/.cache/uce-engine, else "" (none).
std::string default_cache_dir();

class ProgramCache {
 public:
  // dir == "": no disk cache (every program is built from source).
  ProgramCache(std::string dir, cl_context context, cl_device_id device, std::string device_key);

  // Build (or load) `source` with `options`. On a build error the message carries the log.
  ClStatus get(const std::string& source, const std::string& options, const std::string& label,
               cl_program* out);

  const std::string& dir() const { return dir_; }
  int built_from_source() const { return built_; }
  int loaded_from_cache() const { return loaded_; }
  // Non-empty after a cache write failed (reported once through the backend's log).
  std::string take_warning();

 private:
  std::string dir_;
  cl_context context_;
  cl_device_id device_;
  std::string device_key_;
  int built_ = 0;
  int loaded_ = 0;
  std::string warning_;
};

}  // namespace uce::ocl
