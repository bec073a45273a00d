// attention_io.glsl — what every ATTENTION shader shares: bindings 1-5, the push constants (the
// plugin pushes the same words to every variant, vk_ops.cpp), the key mask and the key range of
// a row's sequence. Binding 0 (qkv) is declared by each shader: as f32, vec4 or fp16 words.
layout(std430, set = 0, binding = 1) readonly buffer Seg { int seg[]; };
layout(std430, set = 0, binding = 2) readonly buffer KeyBias { float key_bias[]; };
layout(std430, set = 0, binding = 3) readonly buffer KeyMask { uint key_mask_words[]; };  // u8, read as words
layout(std430, set = 0, binding = 4) readonly buffer QueryRows { int query_rows[]; };
layout(std430, set = 0, binding = 5) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push {
  uint q0;  // first query of this dispatch
  uint n_q, n_seq, d, hd;
  uint qkv_off, qkv_stride, seg_off, bias_off, mask_byte_off, qr_off, d_off, d_stride;
  uint flags;  // 1 = key_bias present, 2 = key_mask present, 4 = query_rows present,
               // 16 = qkv is fp16 (tensor-core kernels only: the plugin's copy; rows, offset and
               //      head columns 16-byte aligned, hd % 8 == 0)
  float scale;
} p;

// key_mask[j] != 0: key j is excluded.
bool key_masked(uint j) {
  uint b = p.mask_byte_off + j;
  return ((key_mask_words[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu) != 0u;
}

// [lo, hi) of the sequence holding packed row `row` (seg[0] <= row < seg[n_seq]).
uvec2 key_range_of(uint row) {
  uint a = 0u, b = p.n_seq;  // invariant: seg[a] <= row < seg[b]
  while (b - a > 1u) {
    uint mid = (a + b) / 2u;
    if (uint(seg[p.seg_off + mid]) <= row) a = mid; else b = mid;
  }
  return uvec2(uint(seg[p.seg_off + a]), uint(seg[p.seg_off + a + 1u]));
}
