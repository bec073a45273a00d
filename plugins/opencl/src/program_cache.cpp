#include "program_cache.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace uce::ocl {
namespace {

constexpr char kMagic[8] = {'U', 'C', 'E', 'C', 'L', 'B', '1', '\n'};

uint64_t fnv1a(const std::string& data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string build_log(cl_program program, cl_device_id device) {
  size_t size = 0;
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
  std::string log(size, '\0');
  if (size) clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
  // One line for the error message: newlines become " | ", capped.
  std::string flat;
  for (char c : log) {
    if (c == '\0') break;
    if (c == '\n') flat += " | ";
    else flat += c;
  }
  if (flat.size() > 300) flat = flat.substr(0, 300) + "...";
  return flat;
}

bool read_file(const std::string& path, const std::string& hash, std::vector<unsigned char>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::vector<unsigned char> all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t header = sizeof(kMagic) + hash.size();
  if (all.size() <= header) return false;
  if (std::string(all.begin(), all.begin() + sizeof(kMagic)) != std::string(kMagic, sizeof(kMagic)))
    return false;
  if (std::string(all.begin() + sizeof(kMagic), all.begin() + static_cast<long>(header)) != hash)
    return false;
  out->assign(all.begin() + static_cast<long>(header), all.end());
  return true;
}

}  // namespace

std::string hash_hex(const std::string& data) {
  const uint64_t a = fnv1a(data, 0xcbf29ce484222325ull);
  const uint64_t b = fnv1a(data, 0x84222325cbf29ce4ull ^ data.size());
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/uce-engine";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/uce-engine";
  return {};
}

ProgramCache::ProgramCache(std::string dir, cl_context context, cl_device_id device,
                           std::string device_key)
    : dir_(std::move(dir)), context_(context), device_(device), device_key_(std::move(device_key)) {}

std::string ProgramCache::take_warning() {
  std::string w;
  w.swap(warning_);
  return w;
}

ClStatus ProgramCache::get(const std::string& source, const std::string& options,
                           const std::string& label, cl_program* out) {
  *out = nullptr;
  const std::string hash = hash_hex(device_key_ + '\x1f' + options + '\x1f' + source);
  const std::string path = dir_.empty() ? std::string() : dir_ + "/opencl-" + hash + ".bin";

  // 1. Warm path: a binary for exactly this source, options and device.
  std::vector<unsigned char> binary;
  if (!path.empty() && read_file(path, hash, &binary)) {
    const unsigned char* bin_ptr = binary.data();
    const size_t bin_size = binary.size();
    cl_int bin_status = CL_SUCCESS, err = CL_SUCCESS;
    cl_program p = clCreateProgramWithBinary(context_, 1, &device_, &bin_size, &bin_ptr,
                                             &bin_status, &err);
    if (err == CL_SUCCESS && bin_status == CL_SUCCESS &&
        clBuildProgram(p, 1, &device_, options.c_str(), nullptr, nullptr) == CL_SUCCESS) {
      ++loaded_;
      *out = p;
      return ClStatus::success();
    }
    if (p) clReleaseProgram(p);  // stale or foreign binary: rebuild below and overwrite
  }

  // 2. Cold path: compile the source.
  const char* src = source.c_str();
  const size_t len = source.size();
  cl_int err = CL_SUCCESS;
  cl_program p = clCreateProgramWithSource(context_, 1, &src, &len, &err);
  if (err != CL_SUCCESS) return cl_fail("clCreateProgramWithSource(" + label + ")", err);
  err = clBuildProgram(p, 1, &device_, options.c_str(), nullptr, nullptr);
  if (err != CL_SUCCESS) {
    const std::string log = build_log(p, device_);
    clReleaseProgram(p);
    return ClStatus::fail(UCE_ERR_DEVICE, "opencl: building program " + label + " (options \"" +
                                              options + "\") failed: " + cl_error_name(err) +
                                              ": " + log);
  }
  ++built_;
  *out = p;

  // 3. Store the binary (best effort: a read-only cache folder only costs the next start).
  if (path.empty()) return ClStatus::success();
  size_t bin_size = 0;
  if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof(bin_size), &bin_size, nullptr) !=
          CL_SUCCESS ||
      bin_size == 0)
    return ClStatus::success();
  std::vector<unsigned char> bin(bin_size);
  unsigned char* bin_ptr = bin.data();
  if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof(bin_ptr), &bin_ptr, nullptr) != CL_SUCCESS)
    return ClStatus::success();
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string tmp = path + ".tmp" + std::to_string(static_cast<long>(getpid()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(kMagic, sizeof(kMagic));
    f.write(hash.data(), static_cast<std::streamsize>(hash.size()));
    f.write(reinterpret_cast<const char*>(bin.data()), static_cast<std::streamsize>(bin.size()));
    if (!f) {
      warning_ = "opencl: cannot write program cache file " + tmp + " (cache_dir not writable?)";
      std::filesystem::remove(tmp, ec);
      return ClStatus::success();
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    warning_ = "opencl: cannot rename " + tmp + " to " + path + ": " + ec.message();
    std::filesystem::remove(tmp, ec);
  }
  return ClStatus::success();
}

}  // namespace uce::ocl
