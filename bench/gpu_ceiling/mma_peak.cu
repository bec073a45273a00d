// mma_peak.cu — the rate of the warp-level tensor-core instruction (PTX mma.sync m16n8k16, fp16
// inputs, f32 or f16 accumulators) on an NVIDIA GPU: what a Vulkan cooperative-matrix multiply-add
// becomes on the H100 (the 16x8x16 shape is one mma.sync), measured without Vulkan. Compared with
// uce_vk_peak's mma variants it says whether a Vulkan ceiling is the hardware's or the driver's,
// and with cuBLAS (run_h100.sh) how far the warpgroup instructions Vulkan cannot reach are above it.
// Built on the GPU machine: nvcc -O3 -arch=sm_90 -o mma_peak mma_peak.cu (run_h100.sh).
// Every warp runs CHAINS independent accumulators on fixed fragments of ones; accumulator j ends
// at j + 16 * iters in every element, which the host checks. The SM clock during the run is read
// from clock64() against %globaltimer on one thread.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                                       \
  do {                                                                                 \
    cudaError_t e_ = (x);                                                              \
    if (e_ != cudaSuccess) {                                                           \
      std::fprintf(stderr, "mma_peak: %s: %s\n", #x, cudaGetErrorString(e_));          \
      std::exit(1);                                                                    \
    }                                                                                  \
  } while (0)

constexpr int k_slots = 256;  // warps store into k_slots slots (warps sharing one write the same)

__device__ uint64_t global_ns() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// CHAINS accumulators per warp, each += A (16x16 ones) * B (16x8 ones) per iteration. f32
// accumulators are 4 floats per lane; f16 ones (F16ACC) 2 registers of fp16 pairs per lane,
// stored as floats.
template <int CHAINS, bool F16ACC>
__global__ void mma_chains(int iters, float* out, unsigned long long* clocks) {
  const uint32_t one2 = 0x3c003c00u;  // two fp16 ones
  using Acc = std::conditional_t<F16ACC, uint32_t[2], float[4]>;
  Acc c[CHAINS];
#pragma unroll
  for (int j = 0; j < CHAINS; ++j) {
    if constexpr (F16ACC) {
      const uint32_t h = __half_as_ushort(__float2half(static_cast<float>(j)));
      c[j][0] = c[j][1] = h | (h << 16);
    } else {
      c[j][0] = c[j][1] = c[j][2] = c[j][3] = static_cast<float>(j);
    }
  }
  const bool timer = threadIdx.x == 0 && blockIdx.x == 0;
  uint64_t clk0 = 0, ns0 = 0;
  if (timer) { clk0 = clock64(); ns0 = global_ns(); }
  for (int it = 0; it < iters; ++it) {
#pragma unroll
    for (int j = 0; j < CHAINS; ++j) {
      if constexpr (F16ACC)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3,%4,%5}, {%6,%7}, {%0,%1};"
                     : "+r"(c[j][0]), "+r"(c[j][1])
                     : "r"(one2), "r"(one2), "r"(one2), "r"(one2), "r"(one2), "r"(one2));
      else
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(c[j][0]), "+f"(c[j][1]), "+f"(c[j][2]), "+f"(c[j][3])
            : "r"(one2), "r"(one2), "r"(one2), "r"(one2), "r"(one2), "r"(one2));
    }
  }
  if (timer) {
    clocks[0] = clock64() - clk0;
    clocks[1] = global_ns() - ns0;
  }
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32, lane = threadIdx.x % 32;
  float* o = out + static_cast<size_t>(warp % k_slots) * CHAINS * 128 + lane * 4;
#pragma unroll
  for (int j = 0; j < CHAINS; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      if constexpr (F16ACC)
        o[j * 128 + e] = __half2float(__ushort_as_half(static_cast<unsigned short>(c[j][e / 2] >> (16 * (e % 2)))));
      else
        o[j * 128 + e] = c[j][e];
    }
  }
}

using Kernel = void (*)(int, float*, unsigned long long*);

struct Run {
  const char* name;
  Kernel kernel;
  int chains;
  bool f16;
};

float time_ms(Kernel k, int blocks, int threads, int iters, float* out, unsigned long long* clocks) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  CHECK(cudaEventRecord(a));
  k<<<blocks, threads>>>(iters, out, clocks);
  CHECK(cudaEventRecord(b));
  CHECK(cudaEventSynchronize(b));
  CHECK(cudaGetLastError());
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, a, b));
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  return ms;
}

int main() {
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs, compute capability %d.%d\n", prop.name, prop.multiProcessorCount, prop.major,
              prop.minor);
  const Run runs[] = {
      {"mma.sync m16n8k16 f32acc, 8 chains", mma_chains<8, false>, 8, false},
      {"mma.sync m16n8k16 f32acc, 16 chains", mma_chains<16, false>, 16, false},
      {"mma.sync m16n8k16 f32acc, 32 chains", mma_chains<32, false>, 32, false},
      {"mma.sync m16n8k16 f16acc, 16 chains", mma_chains<16, true>, 16, true},
  };
  float* out;
  unsigned long long* clocks;
  CHECK(cudaMalloc(&out, static_cast<size_t>(k_slots) * 32 * 128 * sizeof(float)));
  CHECK(cudaMalloc(&clocks, 2 * sizeof(unsigned long long)));
  int failures = 0;
  for (const Run& r : runs)
    for (int warps : {4, 8, 16}) {
      const int threads = 32 * warps, blocks = prop.multiProcessorCount * 64 / warps * 4;
      cudaFuncAttributes attr;
      CHECK(cudaFuncGetAttributes(&attr, r.kernel));
      int per_sm = 0;
      CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, r.kernel, threads, 0));
      if (per_sm == 0) {
        std::printf("%-38s %2d warps/block: does not fit on an SM (%d registers per thread)\n", r.name, warps,
                    attr.numRegs);
        continue;
      }
      int iters = 64;
      const float first = time_ms(r.kernel, blocks, threads, iters, out, clocks);  // warm-up, calibration
      iters = static_cast<int>(std::min(1e6, std::max(64.0, iters * 20.0 / std::max(first, 1e-3f))));
      std::vector<float> t;
      for (int k = 0; k < 5; ++k) t.push_back(time_ms(r.kernel, blocks, threads, iters, out, clocks));
      std::sort(t.begin(), t.end());
      const double ms = t[2];
      unsigned long long clk[2];
      CHECK(cudaMemcpy(clk, clocks, sizeof(clk), cudaMemcpyDeviceToHost));
      const double flop = 2.0 * 16 * 8 * 16 * r.chains * static_cast<double>(iters) * blocks * warps;
      const double mhz = 1e3 * static_cast<double>(clk[0]) / static_cast<double>(clk[1]);
      const double per_sm_clk = flop / (ms * 1e-3) / (mhz * 1e6) / prop.multiProcessorCount;
      // Check: every element of accumulator j is j + 16 * iters. f16 sums are exact only up to
      // 2048, so the f16 kernels are checked on a short extra launch.
      const int checked_iters = r.f16 ? 64 : iters;
      if (r.f16) time_ms(r.kernel, blocks, threads, checked_iters, out, clocks);
      std::vector<float> h(static_cast<size_t>(k_slots) * r.chains * 128);
      CHECK(cudaMemcpy(h.data(), out, h.size() * sizeof(float), cudaMemcpyDeviceToHost));
      bool ok = true;
      for (size_t i = 0; i < h.size() && ok; ++i) {
        const double want = static_cast<double>(i / 128 % r.chains) + 16.0 * checked_iters;
        ok = h[i] == static_cast<float>(want);
        if (!ok) std::printf("  WRONG: element %zu = %g, expected %g\n", i, h[i], want);
      }
      if (!ok) ++failures;
      std::printf("%-38s %2d warps/block %6d blocks  iters %7d  %8.3f ms  %7.1f TFLOP/s  SM clock %5.0f MHz  "
                  "%6.0f FLOP/SM/clock  %3d regs, %2d warps/SM\n",
                  r.name, warps, blocks, iters, ms, flop / (ms * 1e-3) * 1e-12, mhz, per_sm_clk, attr.numRegs,
                  per_sm * warps);
      std::fflush(stdout);
    }
  CHECK(cudaFree(out));
  CHECK(cudaFree(clocks));
  if (failures) std::printf("%d runs computed wrong sums\n", failures);
  return failures ? 1 : 0;
}
