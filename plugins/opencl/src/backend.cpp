// backend.cpp — device context, buffers, program/kernel lookup, enqueue helpers, op dispatch.
#include "backend.hpp"

#include <cstdlib>

#include <algorithm>
#include <cstdio>

#include "clblast_tuning.hpp"
#include "device_select.hpp"
#include "opencl_kernels.hpp"  // generated: the .cl sources as string literals
#include "uce/ops.hpp"

namespace uce::ocl {
namespace {

// NVIDIA's compute capability as 10 * major + minor (cl_nv_device_attribute_query), 0 elsewhere.
int nvidia_compute_capability(cl_device_id device) {
  if (device_string(device, CL_DEVICE_EXTENSIONS).find("cl_nv_device_attribute_query") ==
      std::string::npos)
    return 0;
  constexpr cl_device_info kMajor = 0x4000, kMinor = 0x4001;  // CL_DEVICE_COMPUTE_CAPABILITY_*_NV
  cl_uint major = 0, minor = 0;
  if (clGetDeviceInfo(device, kMajor, sizeof(major), &major, nullptr) != CL_SUCCESS ||
      clGetDeviceInfo(device, kMinor, sizeof(minor), &minor, nullptr) != CL_SUCCESS)
    return 0;
  return int(major * 10 + minor);
}

// Largest power of two <= v (v >= 1).
size_t pow2_floor(size_t v) {
  size_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

const char* program_source(const std::string& program) {
  if (program == "elementwise") return kernels::elementwise_cl;
  if (program == "rownorm") return kernels::rownorm_cl;
  if (program == "gemm") return kernels::gemm_cl;
  if (program == "gemm_mma_tf32") return kernels::gemm_mma_tf32_cl;
  if (program == "attention") return kernels::attention_cl;
  if (program == "attention_tiled2") return kernels::attention_tiled2_cl;
  if (program == "attention_mma_tf32") return kernels::attention_mma_tf32_cl;
  return nullptr;
}

// common.cl, then the shared parts a program is built on, then its own source: mma_tf32.cl's
// inline-PTX helpers for the tensor-core programs, attention_tiles.cl for the attention programs.
std::string program_text(const std::string& program, const char* body) {
  std::string text = std::string(kernels::common_cl) + "\n";
  if (program == "gemm_mma_tf32" || program == "attention_mma_tf32") text += std::string(kernels::mma_tf32_cl) + "\n";
  if (program.rfind("attention", 0) == 0)
    text += std::string(kernels::attention_tiles_cl) + "\n";
  return text + body;
}

}  // namespace

const char* gemm_kernel_name(GemmKernel k) {
  switch (k) {
    case GemmKernel::kTiled64: return "tiled64";
    case GemmKernel::kTiled128: return "tiled128";
    case GemmKernel::kSkinny: return "skinny";
    case GemmKernel::kClblast: return "clblast";
    case GemmKernel::kMmaTf32x3: return "mma_tf32x3";
  }
  return "?";
}

std::string gemm_choice_name(const GemmChoice& c) {
  std::string s = gemm_kernel_name(c.kernel);
  if (c.kernel == GemmKernel::kClblast && c.clblast_set != 0) {
    // By label, not index: a choice file stays right if the list of sets is reordered.
    s += ':';
    s += clblast_set_label(c.clblast_set);
  }
  return s;
}

ClStatus Backend::open(const uce_backend_options& options, std::unique_ptr<Backend>* out) {
  std::vector<DeviceEntry> all;
  UCE_CL_TRY(list_devices(&all));
  DeviceEntry chosen;
  UCE_CL_TRY(select_device(all, options.device_index, options.device_name, &chosen));

  std::unique_ptr<Backend> b(new Backend());
  b->options_ = options;
  b->options_.device_name = nullptr;  // not owned: do not keep the caller's pointers
  b->options_.cache_dir = nullptr;
  b->device_ = chosen.device;
  b->device_name_ = chosen.device_name;
  b->platform_name_ = chosen.platform_name;
  b->driver_version_ = device_string(chosen.device, CL_DRIVER_VERSION);
  b->device_version_ = device_string(chosen.device, CL_DEVICE_VERSION);
  b->is_gpu_ = (chosen.type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
  b->caps_.max_work_group = device_value<size_t>(chosen.device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
  b->caps_.local_mem = device_value<cl_ulong>(chosen.device, CL_DEVICE_LOCAL_MEM_SIZE);
  b->caps_.max_alloc = device_value<cl_ulong>(chosen.device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  b->row_wg_ = static_cast<int>(pow2_floor(std::min<size_t>(128, std::max<size_t>(1, b->caps_.max_work_group))));
  b->device_key_ = chosen.platform_name + '|' + platform_string(chosen.platform, CL_PLATFORM_VERSION) +
                   '|' + chosen.device_name + '|' + b->device_version_ + '|' + b->driver_version_;

  cl_int err = CL_SUCCESS;
  const cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                         reinterpret_cast<cl_context_properties>(chosen.platform), 0};
  b->context_ = clCreateContext(props, 1, &b->device_, nullptr, nullptr, &err);
  if (err != CL_SUCCESS) return cl_fail("clCreateContext(" + chosen.device_name + ")", err);
  b->queue_ = clCreateCommandQueue(b->context_, b->device_, 0, &err);  // in-order
  if (err != CL_SUCCESS) return cl_fail("clCreateCommandQueue(" + chosen.device_name + ")", err);

  // Program cache: options.cache_dir, else the XDG default; "" disables it.
  std::string dir = options.cache_dir ? std::string(options.cache_dir) : default_cache_dir();
  b->cache_ = std::make_unique<ProgramCache>(dir, b->context_, b->device_, b->device_key_);
  if (!dir.empty()) b->gemm_file_ = dir + "/opencl-gemm-" + hash_hex(b->device_key_) + ".txt";
  const char* tune = std::getenv("UCE_OPENCL_CLBLAST_TUNE");
  b->clblast_tune_ = tune && *tune ? std::string(tune) != "0" : b->is_gpu_;
  const char* pad = std::getenv("UCE_OPENCL_CLBLAST_PAD");
  b->clblast_pad_ = !(pad && std::string(pad) == "0");
  const char* mma = std::getenv("UCE_OPENCL_MMA");
  b->mma_tf32_ = nvidia_compute_capability(chosen.device) >= 80 && !(mma && std::string(mma) == "0");
  b->mma_attention_ = b->mma_tf32_;
  const char* attn = std::getenv("UCE_OPENCL_ATTENTION");
  // simple = always attention.cl, tiled2 = never the tensor-core kernel, else the default.
  if (attn && std::string(attn) == "simple") b->attention_forced_ = AttentionKernel::kSimple;
  if (attn && std::string(attn) == "tiled2") b->attention_forced_ = AttentionKernel::kTiled2;
  b->load_gemm_choices();
  b->log(UCE_LOG_INFO, "opencl: opened " + b->describe());
  *out = std::move(b);
  return ClStatus::success();
}

Backend::~Backend() {
  if (queue_) clFinish(queue_);
  for (auto& [key, k] : kernels_) clReleaseKernel(k);
  for (auto& [key, p] : programs_) clReleaseProgram(p);
  if (clblast_temp_) clReleaseMemObject(clblast_temp_);
  if (clblast_c_) clReleaseMemObject(clblast_c_);
  for (uce_buffer* b : buffers_) {  // buffers the caller never freed
    clReleaseMemObject(b->mem);
    delete b;
  }
  if (queue_) clReleaseCommandQueue(queue_);
  if (context_) clReleaseContext(context_);
}

void Backend::log(int level, const std::string& line) const {
  if (options_.log) options_.log(options_.log_user, level, line.c_str());
}

std::string Backend::describe() const {
  std::string s = "OpenCL " + device_name_ + " on " + platform_name_ + " (" + device_version_ +
                  ", driver " + driver_version_ + ", " + (is_gpu_ ? "GPU" : "CPU") + ")";
  s += "; programs built=" + std::to_string(programs_built()) +
       " cached=" + std::to_string(programs_loaded());
  s += "; cache " + (cache_ && !cache_->dir().empty() ? cache_->dir() : std::string("off"));
  s += "; gemm classes " + std::to_string(gemm_choice_.size());
  s += clblast_ok_ ? ", clblast on" : ", clblast off";
  if (clblast_ok_) s += clblast_tune_ ? " (tuned)" : " (database)";
  if (mma_tf32_) s += ", tensor-core 3xTF32 GEMM";
  if (mma_attention_) s += ", tensor-core 3xTF32 attention";
  return s;
}

bool Backend::supports(const uce_op& op, std::string* why) const {
  ClStatus st = check_op(caps_, op, false);
  if (!st.ok() && why) *why = st.message;
  return st.ok();
}

ClStatus Backend::alloc(size_t bytes, uce_buffer** out) {
  *out = nullptr;
  if (bytes > caps_.max_alloc)
    return ClStatus::fail(UCE_ERR_OUT_OF_MEMORY,
                          "opencl: buffer of " + std::to_string(bytes) + " bytes exceeds " +
                              device_name_ + "'s CL_DEVICE_MAX_MEM_ALLOC_SIZE " +
                              std::to_string(caps_.max_alloc));
  cl_int err = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(context_, CL_MEM_READ_WRITE, std::max<size_t>(bytes, 4), nullptr, &err);
  if (err != CL_SUCCESS) return cl_fail("clCreateBuffer(" + std::to_string(bytes) + " bytes)", err);
  *out = new uce_buffer{mem, bytes};
  std::lock_guard<std::mutex> lock(mutex_);
  buffers_.insert(*out);
  return ClStatus::success();
}

void Backend::release(uce_buffer* buffer) {
  if (!buffer) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!buffers_.erase(buffer)) return;  // not ours (or freed twice): leave it alone
  }
  // Kernels already enqueued may still use it; OpenCL keeps the object alive until they finish.
  clReleaseMemObject(buffer->mem);
  delete buffer;
}

ClStatus Backend::write(uce_buffer* buffer, size_t offset, const void* src, size_t bytes) {
  if (!buffer || offset > buffer->bytes || bytes > buffer->bytes - offset)
    return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT,
                          "opencl: buffer_write of " + std::to_string(bytes) + " bytes at offset " +
                              std::to_string(offset) + " exceeds the buffer");
  if (bytes == 0) return ClStatus::success();
  std::lock_guard<std::mutex> lock(mutex_);
  cl_int err = clEnqueueWriteBuffer(queue_, buffer->mem, CL_TRUE, offset, bytes, src, 0, nullptr, nullptr);
  if (err != CL_SUCCESS) return cl_fail("clEnqueueWriteBuffer", err);
  return ClStatus::success();
}

ClStatus Backend::read(uce_buffer* buffer, size_t offset, void* dst, size_t bytes) {
  if (!buffer || offset > buffer->bytes || bytes > buffer->bytes - offset)
    return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT,
                          "opencl: buffer_read of " + std::to_string(bytes) + " bytes at offset " +
                              std::to_string(offset) + " exceeds the buffer");
  if (bytes == 0) return ClStatus::success();
  std::lock_guard<std::mutex> lock(mutex_);
  cl_int err = clEnqueueReadBuffer(queue_, buffer->mem, CL_TRUE, offset, bytes, dst, 0, nullptr, nullptr);
  if (err != CL_SUCCESS) return cl_fail("clEnqueueReadBuffer", err);
  return ClStatus::success();
}

ClStatus Backend::synchronize() {
  std::lock_guard<std::mutex> lock(mutex_);
  cl_int err = clFinish(queue_);
  if (err != CL_SUCCESS) return cl_fail("clFinish", err);
  return ClStatus::success();
}

ClStatus Backend::kernel(const std::string& program, const std::string& defines, const char* name,
                         cl_kernel* out) {
  const std::string pkey = program + '|' + defines;
  const std::string kkey = pkey + '|' + name;
  if (auto it = kernels_.find(kkey); it != kernels_.end()) {
    *out = it->second;
    return ClStatus::success();
  }
  cl_program prog = nullptr;
  if (auto it = programs_.find(pkey); it != programs_.end()) {
    prog = it->second;
  } else {
    const char* body = program_source(program);
    if (!body) return ClStatus::fail(UCE_ERR_INTERNAL, "opencl: unknown program " + program);
    const std::string source = program_text(program, body);
    const std::string build_options = "-cl-std=CL1.2 " + defines;
    UCE_CL_TRY(cache_->get(source, build_options, program + ".cl", &prog));
    if (std::string w = cache_->take_warning(); !w.empty()) log(UCE_LOG_WARN, w);
    programs_[pkey] = prog;
  }
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(prog, name, &err);
  if (err != CL_SUCCESS) return cl_fail(std::string("clCreateKernel(") + name + ")", err);
  kernels_[kkey] = k;
  *out = k;
  return ClStatus::success();
}

ClStatus Backend::enqueue(cl_kernel k, cl_uint dims, const size_t* global, const size_t* local,
                          const char* what) {
  cl_int err = clEnqueueNDRangeKernel(queue_, k, dims, nullptr, global, local, 0, nullptr, nullptr);
  if (err != CL_SUCCESS) return cl_fail(std::string("enqueue ") + what, err);
  return ClStatus::success();
}

ClStatus Backend::enqueue_rows(cl_kernel k, uint32_t cols, uint32_t rows, size_t lx,
                               const char* what) {
  if (cols == 0 || rows == 0) return ClStatus::success();
  const size_t global0 = (cols + lx - 1) / lx * lx;
  constexpr uint32_t kMaxRowsPerLaunch = 65535;  // CUDA-backed platforms: grid.y <= 65535
  for (uint32_t r0 = 0; r0 < rows; r0 += kMaxRowsPerLaunch) {
    const size_t offset[2] = {0, r0};
    const size_t global[2] = {global0, std::min<uint32_t>(kMaxRowsPerLaunch, rows - r0)};
    const size_t local[2] = {lx, 1};
    cl_int err = clEnqueueNDRangeKernel(queue_, k, 2, offset, global, local, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) return cl_fail(std::string("enqueue ") + what, err);
  }
  return ClStatus::success();
}

ClStatus Backend::compute(const uce_op& op) {
  UCE_CL_TRY(check_op(caps_, op, true));
  std::lock_guard<std::mutex> lock(mutex_);
  // A buffer of another backend would be misread as ours: refuse it by identity.
  for (int i = 0; i <= op.n_srcs && i <= UCE_MAX_SRCS; ++i) {
    const uce_tensor* t = i < op.n_srcs ? op.srcs[i] : op.dst;
    if (t && t->buffer && !buffers_.count(t->buffer))
      return ClStatus::fail(UCE_ERR_INVALID_ARGUMENT,
                            std::string("opencl: ") + op_type_name(op.type) + " '" +
                                (op.name ? op.name : "?") + "': " +
                                (i < op.n_srcs ? "srcs[" + std::to_string(i) + "]" : std::string("dst")) +
                                " is in a buffer that this backend did not allocate");
  }
  switch (op.type) {
    case UCE_OP_GATHER_ROWS:
    case UCE_OP_SLICE_ROWS: return run_gather(op);
    case UCE_OP_L2NORM_ROWS: return run_l2norm(op);
    case UCE_OP_LINEAR: return run_linear(op);
    case UCE_OP_LAYERNORM: return run_layernorm(op);
    case UCE_OP_GELU: return run_act_scale(op, UCE_ACT_GELU, 1.0f);
    case UCE_OP_RELU: return run_act_scale(op, UCE_ACT_RELU, 1.0f);
    case UCE_OP_SCALE: return run_act_scale(op, UCE_ACT_NONE, op.scale);
    case UCE_OP_ADD: return run_add(op);
    case UCE_OP_ATTENTION: return run_attention(op);
    case UCE_OP_COPY: return run_copy(op);
    case UCE_OP_ADD_ROWS_PE: return run_add_rows_pe(op);
    case UCE_OP_SEGMENT_MEAN: return run_segment_mean(op);
    default: break;
  }
  return ClStatus::fail(UCE_ERR_UNSUPPORTED,
                        "opencl: op type " + std::to_string(op.type) + " is not implemented");
}

}  // namespace uce::ocl
