// mma_tf32.cl — NVIDIA tensor-core helpers through inline PTX, prepended (after common.cl) to the
// programs that use them: gemm_mma_tf32.cl, attention_mma_tf32.cl. Only built for NVIDIA devices
// of compute capability >= 8.0 (the host checks; a failed build drops the kernels).
//
// OpenCL C has no tensor-core builtins, but NVIDIA's OpenCL compiler passes inline PTX through.
// TF32 keeps 10 of fp32's 23 mantissa bits, so each operand is split into big + small and a
// product is summed as small*big + big*small + big*big; the dropped small*small term is below
// 2^-20 of it ("3xTF32": three tensor-core multiply-adds per product, fp32 accuracy).
//
// The tensor cores' own fp32 sums truncate instead of rounding to nearest, an error that grows
// with the number of chained multiply-adds where a running sum keeps its sign: callers sum at
// most 32 products deep on the tensor cores and add those partial sums in ordinary fp32.
//
// Fragment layouts (PTX ISA, mma.m16n8k8 .tf32), g = lane / 4, t = lane % 4:
//   A (16 x 8, row-major): a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)
//   B (8 x 8, "col"):      b0 (k t, col g)  b1 (k t+4, col g)
//   C (16 x 8):            c0 (g, 2t)  c1 (g, 2t+1)  c2 (g+8, 2t)  c3 (g+8, 2t+1)

// The split of one value: big = v truncated to TF32 (one AND; v - big is then exact and below
// 2^-10 |v|), small = v - big rounded to nearest TF32 with ties away, as cvt.rna.tf32.f32 would
// (integer ops: on the H100 these two forms made the GEMM 15% faster than two cvt).
#define TF32_BIG(v) (as_uint(v) & 0xffffe000u)
#define TF32_SMALL(v, big) ((as_uint((v) - as_float(big)) + 0x1000u) & 0xffffe000u)

// acc[0..3] += A * B on one m16n8k8 tile; MMA_TF32_FIRST: acc = A * B.
#define MMA_TF32(acc, a, b)                                                                  \
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "   \
      "{%8,%9}, {%0,%1,%2,%3};"                                                             \
      : "+f"((acc)[0]), "+f"((acc)[1]), "+f"((acc)[2]), "+f"((acc)[3])                       \
      : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]))
#define MMA_TF32_FIRST(acc, a, b)                                                            \
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "   \
      "{%8,%9}, {%10,%10,%10,%10};"                                                         \
      : "=f"((acc)[0]), "=f"((acc)[1]), "=f"((acc)[2]), "=f"((acc)[3])                       \
      : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]),         \
        "f"(0.0f))

// acc = A * B in 3xTF32 (a_big/a_small: 4 A registers each, b_big/b_small: 2 B registers each);
// MMA3_TF32_ADD: acc += A * B.
#define MMA3_TF32_FIRST(acc, a_big, a_small, b_big, b_small) \
  MMA_TF32_FIRST(acc, a_small, b_big);                       \
  MMA_TF32(acc, a_big, b_small);                             \
  MMA_TF32(acc, a_big, b_big)
#define MMA3_TF32_ADD(acc, a_big, a_small, b_big, b_small) \
  MMA_TF32(acc, a_small, b_big);                           \
  MMA_TF32(acc, a_big, b_small);                           \
  MMA_TF32(acc, a_big, b_big)

// A value of another lane of this warp: lane ^ mask (shfl.sync.bfly, all 32 lanes taking part).
float shfl_xor_f32(float v, uint mask) {
  uint r;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(r) : "r"(as_uint(v)), "r"(mask));
  return as_float(r);
}
