// test_opencl_cache_abi.cpp — the program binary cache (a warm start builds nothing), the GEMM
// calibration file, and the plugin's C ABI as the core sees it (dlopen + uce_plugin_entry).
#include <dlfcn.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "clblast_tuning.hpp"
#include "ocl_test_util.hpp"

namespace {

using namespace ocltest;
namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("uce-ocl-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

// Runs one LAYERNORM and one ATTENTION (two programs) and checks the result is finite.
void run_two_programs(Device& dev) {
  const int n = 4, D = 64;
  const auto x = random_floats(n * D, 1), g = random_floats(D, 2), qkv = random_floats(n * 3 * D, 3);
  auto xt = dev.make_f32(n, D, x), gt = dev.make_f32(1, D, g, 1);
  auto out = dev.out(UCE_F32, n, D);
  ASSERT_TRUE(dev.run(UCE_OP_LAYERNORM, {&xt.t, &gt.t, &gt.t, nullptr}, &out.t).ok());
  auto qt = dev.make_f32(n, 3 * D, qkv);
  auto seg = dev.make_i32({0, n});
  auto att = dev.out(UCE_F32, n, D);
  auto st = dev.run(UCE_OP_ATTENTION, {&qt.t, &seg.t, nullptr, nullptr, nullptr}, &att.t, UCE_ACT_NONE,
                    0.125f, 0, 1);
  ASSERT_TRUE(st.ok()) << st.message;
  for (float v : dev.read_f32(att)) ASSERT_TRUE(std::isfinite(v));
}

TEST(OpenCLCache, WarmStartLoadsBinariesAndBuildsNothing) {
  const std::string dir = fresh_dir("cache");
  double cold_ms = 0, warm_ms = 0;
  {
    Device cold(dir);
    if (!cold.be) GTEST_SKIP() << cold.error;
    const auto t0 = std::chrono::steady_clock::now();
    run_two_programs(cold);
    cold_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(cold.be->programs_built(), 2);
    EXPECT_EQ(cold.be->programs_loaded(), 0);
  }
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().extension() == ".bin";
  EXPECT_EQ(files, 2u) << "one binary per program in " << dir;
  {
    Device warm(dir);
    ASSERT_TRUE(warm.be) << warm.error;
    const auto t0 = std::chrono::steady_clock::now();
    run_two_programs(warm);
    warm_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(warm.be->programs_built(), 0) << "a warm start must not compile";
    EXPECT_EQ(warm.be->programs_loaded(), 2);
    EXPECT_NE(warm.be->describe().find("built=0 cached=2"), std::string::npos) << warm.be->describe();
  }
  std::printf("[ info ] two programs: cold %.0f ms, warm %.0f ms\n", cold_ms, warm_ms);
  // A corrupted binary is rebuilt, not fatal.
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".bin") {
      std::ofstream f(e.path(), std::ios::binary | std::ios::trunc);
      f << "UCECLB1\ngarbage";
    }
  {
    Device again(dir);
    ASSERT_TRUE(again.be) << again.error;
    run_two_programs(again);
    EXPECT_EQ(again.be->programs_built(), 2);
  }
  fs::remove_all(dir);
}

TEST(OpenCLCache, GemmCalibrationIsPersisted) {
  const std::string dir = fresh_dir("gemm");
  const int n = 40, m = 48, k = 32;
  const auto x = random_floats(n * k, 4), w = random_floats(m * k, 5);
  uce::ocl::GemmKernel first{};
  {
    Device dev(dir);
    if (!dev.be) GTEST_SKIP() << dev.error;
    auto xt = dev.make_f32(n, k, x), wt = dev.make_f32(m, k, w);
    auto out = dev.out(UCE_F32, n, m);
    ASSERT_TRUE(dev.run(UCE_OP_LINEAR, {&xt.t, &wt.t, nullptr}, &out.t).ok());
    dev.read_f32(out);
    first = dev.be->last_gemm();
    EXPECT_NE(dev.be->describe().find("gemm classes 1"), std::string::npos) << dev.be->describe();
  }
  size_t lines = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".txt") {
      std::ifstream f(e.path());
      std::string line;
      while (std::getline(f, line)) {
        ++lines;
        EXPECT_NE(line.find(uce::ocl::gemm_kernel_name(first)), std::string::npos) << line;
      }
    }
  EXPECT_EQ(lines, 1u);
  {
    Device dev(dir);
    ASSERT_TRUE(dev.be) << dev.error;
    EXPECT_NE(dev.be->describe().find("gemm classes 1"), std::string::npos) << dev.be->describe();
    auto xt = dev.make_f32(n, k, x), wt = dev.make_f32(m, k, w);
    auto out = dev.out(UCE_F32, n, m);
    ASSERT_TRUE(dev.run(UCE_OP_LINEAR, {&xt.t, &wt.t, nullptr}, &out.t).ok());
    dev.read_f32(out);
    EXPECT_EQ(dev.be->last_gemm(), first) << "the stored choice is reused";
  }
  fs::remove_all(dir);
}

// Calibration with the CLBlast parameter sets (on by default on GPUs, forced on here): every set
// is timed and checked, the choice is correct and persisted with its set, and a second process
// reuses it.
TEST(OpenCLCache, TunedClblastCalibrationIsCorrectAndPersisted) {
  const std::string dir = fresh_dir("tune");
  ::setenv("UCE_OPENCL_CLBLAST_TUNE", "1", 1);
  const int n = 96, m = 80, k = 72;
  const auto x = random_floats(size_t(n) * k, 14), w = random_floats(size_t(m) * k, 15);
  std::vector<double> want(size_t(n) * m);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      double acc = 0.0;
      for (int kk = 0; kk < k; ++kk) acc += double(x[size_t(i) * k + kk]) * w[size_t(j) * k + kk];
      want[size_t(i) * m + j] = acc;
    }
  uce::ocl::GemmKernel first{};
  int first_set = -1;
  {
    Device dev(dir);
    if (!dev.be) {
      ::unsetenv("UCE_OPENCL_CLBLAST_TUNE");
      GTEST_SKIP() << dev.error;
    }
    EXPECT_TRUE(dev.be->clblast_tuning());
    auto xt = dev.make_f32(n, k, x), wt = dev.make_f32(m, k, w);
    auto out = dev.out(UCE_F32, n, m);
    ASSERT_TRUE(dev.run(UCE_OP_LINEAR, {&xt.t, &wt.t, nullptr}, &out.t).ok());
    expect_close(dev.read_f32(out), want, 1e-4, 1e-5, "tuned calibration result");
    first = dev.be->last_gemm();
    first_set = dev.be->last_clblast_set();
  }
  size_t lines = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".txt") {
      std::ifstream f(e.path());
      std::string line;
      while (std::getline(f, line)) {
        ++lines;
        if (line.find("clblast") == std::string::npos) continue;  // CLBlast unavailable here
        // Every extra set was timed (or reported as failing/wrong), not silently skipped.
        for (int set = 1; set < uce::ocl::clblast_set_count(); ++set)
          EXPECT_NE(line.find(std::string("clblast:") + uce::ocl::clblast_set_label(set) + "="),
                    std::string::npos)
              << line;
      }
    }
  EXPECT_EQ(lines, 1u);
  {
    Device dev(dir);
    ASSERT_TRUE(dev.be) << dev.error;
    auto xt = dev.make_f32(n, k, x), wt = dev.make_f32(m, k, w);
    auto out = dev.out(UCE_F32, n, m);
    ASSERT_TRUE(dev.run(UCE_OP_LINEAR, {&xt.t, &wt.t, nullptr}, &out.t).ok());
    expect_close(dev.read_f32(out), want, 1e-4, 1e-5, "reused tuned choice");
    EXPECT_EQ(dev.be->last_gemm(), first) << "the stored choice is reused";
    EXPECT_EQ(dev.be->last_clblast_set(), first_set) << "with its CLBlast parameter set";
  }
  ::unsetenv("UCE_OPENCL_CLBLAST_TUNE");
  fs::remove_all(dir);
}

// The plugin as the core loads it: the build tree's, or the one in $UCE_TEST_PLUGIN_DIR (a build
// copied to another machine).
TEST(OpenCLPluginAbi, EntryProbeOpenDescribe) {
  const char* moved = std::getenv("UCE_TEST_PLUGIN_DIR");
  const std::string path = moved && *moved ? (fs::path(moved) / fs::path(UCE_OCL_PLUGIN_PATH).filename()).string()
                                           : std::string(UCE_OCL_PLUGIN_PATH);
  void* so = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << dlerror();
  auto entry = reinterpret_cast<uce_plugin_entry_fn>(dlsym(so, UCE_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr);
  const uce_plugin_header* h = entry();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->struct_size, sizeof(uce_plugin_header));
  EXPECT_EQ(h->abi_major, UCE_ABI_MAJOR);
  EXPECT_EQ(h->kind, UCE_PLUGIN_BACKEND);
  EXPECT_STREQ(h->name, "opencl");
  char why[512] = {0};
  const int32_t score = h->probe(why, sizeof(why));
  if (score == 0) {
    EXPECT_GT(std::strlen(why), 0u) << "probe 0 must say why";
    dlclose(so);
    GTEST_SKIP() << why;
  }
  const auto* iface = static_cast<const uce_backend_iface*>(h->iface);
  ASSERT_EQ(iface->struct_size, sizeof(uce_backend_iface));
  uce_backend_options o{};
  o.struct_size = sizeof(o);
  o.device_index = -1;
  const std::string dir = test_cache_dir();
  o.cache_dir = dir.c_str();
  uce_backend* be = nullptr;
  uce_error err{};
  ASSERT_EQ(iface->open(&o, &be, &err), UCE_OK) << err.message;
  char desc[512] = {0};
  iface->describe(be, desc, sizeof(desc));
  EXPECT_NE(std::string(desc).find("OpenCL"), std::string::npos) << desc;

  uce_buffer* buf = nullptr;
  ASSERT_EQ(iface->buffer_alloc(be, 64, &buf, &err), UCE_OK) << err.message;
  EXPECT_EQ(iface->buffer_host_ptr(be, buf), nullptr);
  float in[16], out[16];
  for (int i = 0; i < 16; ++i) in[i] = float(i) - 3.5f;
  ASSERT_EQ(iface->buffer_write(be, buf, 0, in, sizeof(in), &err), UCE_OK);
  // RELU in place through the ABI.
  uce_tensor t{};
  t.buffer = buf;
  t.dtype = UCE_F32;
  t.ndim = 2;
  t.ne[0] = 4;
  t.ne[1] = 4;
  t.stride[0] = 4;
  t.stride[1] = 1;
  uce_op op{};
  op.struct_size = sizeof(op);
  op.type = UCE_OP_RELU;
  op.n_srcs = 1;
  op.srcs[0] = &t;
  op.dst = &t;
  char reason[256] = {0};
  EXPECT_EQ(iface->supports_op(be, &op, reason, sizeof(reason)), 1) << reason;
  ASSERT_EQ(iface->compute(be, &op, &err), UCE_OK) << err.message;
  ASSERT_EQ(iface->synchronize(be, &err), UCE_OK);
  ASSERT_EQ(iface->buffer_read(be, buf, 0, out, sizeof(out), &err), UCE_OK);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(out[i], std::max(in[i], 0.0f));
  // Out-of-range read is an error with a message, not a crash.
  EXPECT_EQ(iface->buffer_read(be, buf, 60, out, 8, &err), UCE_ERR_INVALID_ARGUMENT);
  EXPECT_GT(std::strlen(err.message), 0u);
  // A device name that matches nothing is an error naming the available devices.
  uce_backend* none = nullptr;
  o.device_name = "no-such-device-xyz";
  EXPECT_EQ(iface->open(&o, &none, &err), UCE_ERR_DEVICE);
  EXPECT_NE(std::string(err.message).find("available"), std::string::npos) << err.message;
  iface->buffer_free(be, buf);
  iface->close(be);
  dlclose(so);
}

}  // namespace
