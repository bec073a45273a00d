// backend.hpp — one opened OpenCL device: context, ONE in-order queue, programs, GEMM choices.
//
// compute() only enqueues (no host sync, no allocation, no program build after first use of a
// kernel variant); synchronize() is clFinish. Buffers are plain device buffers (clCreateBuffer);
// weights are uploaded once through write().
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "cl_common.hpp"
#include "program_cache.hpp"

// The ABI's opaque buffer handle, defined by this plugin.
struct uce_buffer {
  cl_mem mem = nullptr;
  size_t bytes = 0;
};

namespace uce::ocl {

// GEMM implementations LINEAR can run on; calibration (gemm.cpp) picks one per shape class.
// kMmaTf32x3 (gemm_mma_tf32.cl) runs only where tensor_core_gemm() is true.
enum class GemmKernel : int { kTiled64 = 0, kTiled128 = 1, kSkinny = 2, kClblast = 3, kMmaTf32x3 = 4 };
constexpr int kGemmKernelCount = 5;
const char* gemm_kernel_name(GemmKernel k);

// One calibrated choice: an implementation, and for CLBlast the Xgemm parameter set
// (clblast_tuning.hpp; 0 = CLBlast's database default for the device).
struct GemmChoice {
  GemmKernel kernel = GemmKernel::kTiled64;
  int clblast_set = 0;
  bool operator==(const GemmChoice& o) const { return kernel == o.kernel && clblast_set == o.clblast_set; }
};
// "tiled64", "clblast" (set 0), "clblast:rtx3080" (a set by its label): the names in logs and
// the choice file.
std::string gemm_choice_name(const GemmChoice& c);

// A validated 2-D view of a tensor, in elements (1-D tensors are one row).
struct View {
  cl_mem mem = nullptr;
  uint32_t off = 0;
  uint32_t rows = 0, cols = 0, stride = 0;
  int dtype = 0;
};

// The fused ATTENTION kernels: kMmaTf32x3 (attention_mma_tf32.cl) for head dim 64 on NVIDIA
// tensor cores, kTiled2 (attention_tiled2.cl) for head dim 64 elsewhere and for the CLS-only
// layer's few query rows, kSimple (attention.cl) for every other shape and device.
enum class AttentionKernel { kAuto = -1, kSimple = 0, kTiled2 = 2, kMmaTf32x3 = 3 };

// Device limits that op validation needs.
struct DeviceCaps {
  size_t max_work_group = 0;
  cl_ulong local_mem = 0;
  cl_ulong max_alloc = 0;
};

class Backend {
 public:
  static ClStatus open(const uce_backend_options& options, std::unique_ptr<Backend>* out);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  std::string describe() const;
  bool supports(const uce_op& op, std::string* why) const;

  ClStatus alloc(size_t bytes, uce_buffer** out);
  void release(uce_buffer* buffer);
  ClStatus write(uce_buffer* buffer, size_t offset, const void* src, size_t bytes);
  ClStatus read(uce_buffer* buffer, size_t offset, void* dst, size_t bytes);
  ClStatus compute(const uce_op& op);
  ClStatus synchronize();

  // Diagnostics and tests.
  int programs_built() const { return cache_ ? cache_->built_from_source() : 0; }
  int programs_loaded() const { return cache_ ? cache_->loaded_from_cache() : 0; }
  // Force one GEMM implementation for every LINEAR (tests); reset with clear_forced_gemm().
  void force_gemm(GemmKernel k) { forced_gemm_ = static_cast<int>(k); }
  void clear_forced_gemm() { forced_gemm_ = -1; forced_clblast_set_ = 0; }
  // With force_gemm(kClblast): the Xgemm parameter set to use (tests).
  void force_clblast_set(int set) { forced_clblast_set_ = set; }
  // The implementation (and CLBlast parameter set) the last LINEAR ran with.
  GemmKernel last_gemm() const { return last_gemm_.kernel; }
  int last_clblast_set() const { return last_gemm_.clblast_set; }
  // Whether calibration also times CLBlast parameter sets other than the database's: GPUs by
  // default; UCE_OPENCL_CLBLAST_TUNE=0 turns it off, =1 on for every device.
  bool clblast_tuning() const { return clblast_tune_; }
  bool clblast_available() const { return clblast_ok_; }
  // CLBlast computes C into a 128-row-padded scratch (no CLBlast temporary for C) and the
  // epilogue copies it to y: on unless UCE_OPENCL_CLBLAST_PAD=0 or set here (tests).
  void set_clblast_pad(bool on) { clblast_pad_ = on; }
  bool last_clblast_scratch() const { return last_clblast_scratch_; }
  bool is_gpu() const { return is_gpu_; }
  // Whether the 3xTF32 tensor-core GEMM is a candidate: NVIDIA devices of compute capability
  // >= 8.0 (inline PTX mma.sync), unless UCE_OPENCL_MMA=0; cleared when its build fails.
  bool tensor_core_gemm() const { return mma_tf32_; }
  // Whether the 3xTF32 tensor-core attention can run: as tensor_core_gemm(), cleared when its
  // own build fails.
  bool tensor_core_attention() const { return mma_attention_; }
  // ATTENTION kernel: for head dim 64 (128 work-items, ~36 KiB local memory) the tensor-core
  // kernel where it can run, except for a few query rows from many sequences (CLS-only layer),
  // which attention_tiled2.cl takes, as it does everywhere else; other head dims attention.cl.
  // UCE_OPENCL_ATTENTION=simple|tiled2 or these switches force a kernel (tests, before/after
  // measurements); a forced kernel that does not apply falls back to attention.cl.
  void force_attention(AttentionKernel k) { attention_forced_ = k; }
  // The kernel the last ATTENTION ran.
  AttentionKernel last_attention() const { return last_attention_; }

 private:
  Backend() = default;

  void log(int level, const std::string& line) const;
  // The kernel `name` of program `program` ("elementwise", "rownorm", "gemm", "attention")
  // built with extra `defines`; built once, then reused.
  ClStatus kernel(const std::string& program, const std::string& defines, const char* name,
                  cl_kernel* out);
  // Enqueue a 2-D kernel over (cols, rows) elements with work-groups (lx, 1); rows are split
  // into launches with a global offset so that no grid dimension exceeds what GPUs accept.
  ClStatus enqueue_rows(cl_kernel k, uint32_t cols, uint32_t rows, size_t lx, const char* what);
  ClStatus enqueue(cl_kernel k, cl_uint dims, const size_t* global, const size_t* local,
                   const char* what);

  // Per-op launchers (ops.cpp, gemm.cpp, attention in ops.cpp).
  ClStatus run_gather(const uce_op& op);
  ClStatus run_l2norm(const uce_op& op);
  ClStatus run_layernorm(const uce_op& op);
  ClStatus run_act_scale(const uce_op& op, int act, float scale);
  ClStatus run_add(const uce_op& op);
  ClStatus run_attention(const uce_op& op);
  ClStatus run_copy(const uce_op& op);
  ClStatus run_add_rows_pe(const uce_op& op);
  ClStatus run_segment_mean(const uce_op& op);
  ClStatus run_linear(const uce_op& op);

  // GEMM (gemm.cpp).
  ClStatus linear_with(const GemmChoice& c, const View& x, const View& w, const View* b,
                       const View& y, int act);
  ClStatus calibrate_linear(const std::string& key, const std::vector<GemmChoice>& candidates,
                            const View& x, const View& w, const View* b, const View& y, int act,
                            GemmChoice* chosen);
  // Sampled rows of y (first and last rows) for the calibration's correctness check.
  ClStatus sample_rows(const View& y, std::vector<float>* out);
  void load_gemm_choices();
  void save_gemm_choice(const std::string& key, const GemmChoice& c, const std::string& timings);
  ClStatus ensure_clblast_temp(size_t bytes);
  ClStatus ensure_clblast_c(size_t bytes);

  uce_backend_options options_{};
  std::string device_name_, platform_name_, driver_version_, device_version_;
  std::string device_key_;
  bool is_gpu_ = false;
  DeviceCaps caps_;
  cl_device_id device_ = nullptr;
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
  std::unique_ptr<ProgramCache> cache_;
  std::map<std::string, cl_program> programs_;
  std::map<std::string, cl_kernel> kernels_;
  std::unordered_set<uce_buffer*> buffers_;  // allocated here and not yet freed
  std::mutex mutex_;

  // GEMM state.
  bool clblast_ok_ = true;   // cleared when CLBlast fails on this device
  bool clblast_tune_ = false;  // calibration times the extra Xgemm parameter sets
  bool mma_tf32_ = false;  // NVIDIA, compute capability >= 8.0, not switched off, build not failed
  bool mma_attention_ = false;  // as mma_tf32_, for attention_mma_tf32.cl
  int forced_gemm_ = -1;
  int forced_clblast_set_ = 0;
  GemmChoice last_gemm_;
  std::map<std::string, GemmChoice> gemm_choice_;  // shape class -> implementation
  std::string gemm_file_;                          // persisted choices ("" = none)
  cl_mem clblast_temp_ = nullptr;
  size_t clblast_temp_bytes_ = 0;
  cl_mem clblast_c_ = nullptr;  // C of CLBlast calls padded to 128 rows (see linear_with)
  size_t clblast_c_bytes_ = 0;
  bool clblast_pad_ = true;     // UCE_OPENCL_CLBLAST_PAD=0: CLBlast writes y (old path)
  bool last_clblast_scratch_ = false;
  AttentionKernel attention_forced_ = AttentionKernel::kAuto;
  AttentionKernel last_attention_ = AttentionKernel::kSimple;
  int row_wg_ = 128;                               // work-group of the row-norm kernels
};

// Op validation shared by supports() and compute() (op_check.cpp). With need_buffers, every
// tensor must live in a buffer of this backend and fit inside it.
ClStatus check_op(const DeviceCaps& caps, const uce_op& op, bool need_buffers);
// View of a tensor checked by check_op.
View make_view(const uce_tensor& t);
// Attention tile parameters for a head dim, and the local memory they need.
struct AttentionTiles {
  int qb = 64, kb = 32;
  size_t local_bytes = 0;
};
AttentionTiles attention_tiles(int head_dim, size_t max_work_group);

}  // namespace uce::ocl
