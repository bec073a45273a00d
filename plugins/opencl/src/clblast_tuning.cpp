// clblast_tuning.cpp — the Xgemm parameter sets the GEMM calibration may choose from.
#include "clblast_tuning.hpp"

#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <clblast.h>

namespace uce::ocl {
namespace {

// CLBlast 1.5's Xgemm parameter names, in its database order.
constexpr std::array<const char*, 16> kXgemmParamNames = {
    "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
    "NDIMC", "NWG",  "SA",  "SB",  "STRM",  "STRN",  "VWM", "VWN"};

// Kernel 0 (local-memory tiling) only. "a100" and "rtx3080" are CLBlast's own tuned entries for
// those GPUs (CLBlast master database; its RTX 4080/4090 entries were tried and were the slowest
// on an H100, so they are not in the list); the others are
// larger register tiles (8x8 outputs per work-item, 128-wide tiles) that recent NVIDIA parts
// need to approach their fp32 peak and that CLBlast's tuner search space does not reach by default.
// Order: GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN.
const std::vector<XgemmSet>& sets() {
  static const std::vector<XgemmSet> s = {
      {"database", {}},
      {"a100", {0, 1, 32, 2, 8, 8, 32, 16, 16, 64, 1, 1, 0, 0, 4, 4}},
      {"rtx3080", {0, 1, 32, 2, 8, 8, 64, 32, 16, 128, 1, 1, 1, 1, 2, 2}},
      {"128x128k16", {0, 1, 16, 2, 16, 16, 128, 16, 16, 128, 1, 1, 0, 0, 4, 4}},
      {"128x128k32", {0, 1, 32, 2, 16, 16, 128, 16, 16, 128, 1, 1, 0, 0, 4, 4}},
      {"128x128k16s", {0, 1, 16, 2, 16, 16, 128, 16, 16, 128, 1, 1, 1, 1, 4, 4}},
      {"128x64k32", {0, 1, 32, 2, 16, 16, 128, 16, 8, 64, 1, 1, 0, 0, 4, 4}},
      {"64x128k32", {0, 1, 32, 2, 8, 8, 64, 16, 16, 128, 1, 1, 0, 0, 4, 4}},
      // Neighbours of "rtx3080" (8x8 per work-item, 128 work-items, strided), the best set on an
      // H100 in the first measurement: other k depth, vector widths, unroll, tile shapes.
      {"64x128k16v2s", {0, 1, 16, 2, 8, 8, 64, 32, 16, 128, 1, 1, 1, 1, 2, 2}},
      {"64x128k32v4x2s", {0, 1, 32, 2, 8, 8, 64, 32, 16, 128, 1, 1, 1, 1, 4, 2}},
      {"64x128k32v2x4s", {0, 1, 32, 2, 8, 8, 64, 32, 16, 128, 1, 1, 1, 1, 2, 4}},
      {"64x128k32kwi8s", {0, 1, 32, 8, 8, 8, 64, 32, 16, 128, 1, 1, 1, 1, 2, 2}},
      {"128x128k32v2s", {0, 1, 32, 2, 16, 16, 128, 32, 16, 128, 1, 1, 1, 1, 2, 2}},
      {"128x64k32v2s", {0, 1, 32, 2, 32, 16, 128, 8, 8, 64, 1, 1, 1, 1, 2, 2}},
  };
  return s;
}

std::mutex g_mutex;
std::map<cl_device_id, int> g_installed;  // device -> installed set (absent: database, never touched)
std::map<cl_device_id, std::unordered_map<std::string, size_t>> g_database;  // saved set 0

}  // namespace

int clblast_set_count() { return static_cast<int>(sets().size()); }

const char* clblast_set_label(int set) {
  return set >= 0 && set < clblast_set_count() ? sets()[set].label : "?";
}


bool clblast_set_fits(int set, size_t max_work_group, size_t local_mem_bytes) {
  if (set <= 0 || set >= clblast_set_count()) return set == 0;
  const XgemmValues& p = sets()[set].v;
  const size_t kwg = p[2], kwi = p[3], mdima = p[4], mdimc = p[5], mwg = p[6], ndimb = p[7],
               ndimc = p[8], nwg = p[9], sa = p[10], sb = p[11], vwm = p[14], vwn = p[15];
  const size_t threads = mdimc * ndimc;
  // CLBlast's own constraints for kernel 0 (src/tuning/kernels/xgemm.hpp).
  const bool shape_ok = threads % mdima == 0 && threads % ndimb == 0 &&
                        mwg % (mdimc * vwm) == 0 && nwg % (ndimc * vwn) == 0 &&
                        mwg % (mdima * vwm) == 0 && nwg % (ndimb * vwn) == 0 &&
                        kwg % (threads / mdima) == 0 && kwg % (threads / ndimb) == 0 &&
                        kwg % kwi == 0;
  const size_t local = (sa * kwg * mwg + sb * kwg * nwg) * sizeof(float);
  return shape_ok && threads <= max_work_group && local <= local_mem_bytes;
}

ClStatus clblast_use_set(cl_device_id device, int set) {
  if (set < 0 || set >= clblast_set_count())
    return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT, "opencl: CLBlast parameter set " +
                                                   std::to_string(set) + " does not exist");
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_installed.find(device);
  const int current = it == g_installed.end() ? 0 : it->second;
  if (current == set) return ClStatus::success();
  // Save the database's own values before the first override: they are how set 0 comes back.
  if (!g_database.count(device)) {
    std::unordered_map<std::string, size_t> db;
    const auto st = clblast::RetrieveParameters(device, "Xgemm", clblast::Precision::kSingle, db);
    if (st != clblast::StatusCode::kSuccess)
      return ClStatus::fail(UCE_ERR_DEVICE, "opencl: CLBlast RetrieveParameters(Xgemm) failed with status " +
                                                std::to_string(static_cast<int>(st)));
    g_database[device] = db;
  }
  std::unordered_map<std::string, size_t> params;
  if (set == 0) {
    params = g_database[device];
  } else {
    for (size_t i = 0; i < kXgemmParamNames.size(); ++i) params[kXgemmParamNames[i]] = sets()[set].v[i];
  }
  const auto st = clblast::OverrideParameters(device, "Xgemm", clblast::Precision::kSingle, params);
  if (st != clblast::StatusCode::kSuccess)
    return ClStatus::fail(UCE_ERR_DEVICE, std::string("opencl: CLBlast OverrideParameters(Xgemm, ") +
                                              clblast_set_label(set) + ") failed with status " +
                                              std::to_string(static_cast<int>(st)));
  g_installed[device] = set;
  return ClStatus::success();
}

}  // namespace uce::ocl
