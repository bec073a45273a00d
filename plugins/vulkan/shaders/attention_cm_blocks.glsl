// attention_cm_blocks.glsl — the steps the two tensor-core attention shaders share
// (attention_coopmat_nv.comp: softmax through shared memory; attention_coopmat_regs.comp: in
// registers). Included after attention_io.glsl and after the including shader has declared HD,
// BKEY, KPV, BQ, NEG, binding 0 as qkv (f32) and qkv8 (fp16 words), and the shared arrays Ks, Vs,
// key_add, sh_lo, sh_hi, wg_lo, wg_hi.

// Each query of the workgroup: its sequence's key range in sh_lo/sh_hi (empty past n_q), and
// (invocation 0, after a barrier) the union of the ranges in wg_lo/wg_hi. The caller must
// barrier() before reading wg_lo/wg_hi.
void resolve_key_ranges(uint t, uint qbase) {
  for (uint i = t; i < BQ; i += gl_WorkGroupSize.x) {
    uint qi = qbase + i;
    uint lo = 0u, hi = 0u;
    if (qi < p.n_q) {
      const uvec2 range = key_range_of((p.flags & 4u) != 0u ? uint(query_rows[p.qr_off + qi]) : qi);
      lo = range.x;
      hi = range.y;
    }
    sh_lo[i] = lo;
    sh_hi[i] = hi;
  }
  barrier();
  if (t == 0u) {
    uint lo = 0xffffffffu, hi = 0u;
    for (uint i = 0u; i < BQ; ++i)
      if (sh_hi[i] > sh_lo[i]) { lo = min(lo, sh_lo[i]); hi = max(hi, sh_hi[i]); }
    wg_lo = lo == 0xffffffffu ? 0u : lo;
    wg_hi = hi;
  }
}

// Keys kb .. kb + BKEY - 1 into shared memory: K and V as fp16 (zero past hi and past the head
// dim; copied as they are from the plugin's fp16 qkv, flag 16, else converted), and each key's
// logit term key_add = bias_scale * key_bias (0 without bias), or NEG when masked / past hi.
// The caller must barrier() before reading them.
void stage_key_block(uint t, uint kb, uint hi, uint k_col, uint v_col, float bias_scale) {
  // Chunk i = 8 consecutive head columns of one key.
  [[unroll]] for (uint i = t; i < BKEY * HD / 8u; i += gl_WorkGroupSize.x) {
    uint j = i / (HD / 8u), c = 8u * (i % (HD / 8u)), key = kb + j;
    uint base = p.qkv_off + key * p.qkv_stride;
    uvec4 kw = uvec4(0u), vw = uvec4(0u);
    if (key < hi && c < p.hd && (p.flags & 16u) != 0u) {
      kw = qkv8[(base + k_col + c) >> 3u];
      vw = qkv8[(base + v_col + c) >> 3u];
    } else if (key < hi && c < p.hd) {
      float kv[8], vv[8];
      [[unroll]] for (uint e = 0u; e < 8u; ++e) {
        bool in_head = c + e < p.hd;
        kv[e] = in_head ? qkv[base + k_col + c + e] : 0.0;
        vv[e] = in_head ? qkv[base + v_col + c + e] : 0.0;
      }
      vec4 k0 = vec4(kv[0], kv[1], kv[2], kv[3]), k1 = vec4(kv[4], kv[5], kv[6], kv[7]);
      vec4 v0 = vec4(vv[0], vv[1], vv[2], vv[3]), v1 = vec4(vv[4], vv[5], vv[6], vv[7]);
      kw = uvec4(packHalf2x16(k0.xy), packHalf2x16(k0.zw), packHalf2x16(k1.xy), packHalf2x16(k1.zw));
      vw = uvec4(packHalf2x16(v0.xy), packHalf2x16(v0.zw), packHalf2x16(v1.xy), packHalf2x16(v1.zw));
    }
    Ks[j * KPV + c / 8u] = kw;
    Vs[j * KPV + c / 8u] = vw;
  }
  if (t < BKEY) {
    uint key = kb + t;
    float add = NEG;
    if (key < hi && ((p.flags & 2u) == 0u || !key_masked(key)))
      add = (p.flags & 1u) != 0u ? key_bias[p.bias_off + key] * bias_scale : 0.0;
    key_add[t] = add;
  }
}
