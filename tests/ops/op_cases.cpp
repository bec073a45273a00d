// op_cases.cpp — the shapes and parameters every backend is tested with: sizes of 1, primes,
// non-multiples of 16/32/64 tiles, padded row strides, every optional input present and absent,
// f16/bf16 weights, and the real UCE / UCE-brain shapes (marked big: slow on the reference).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "op_case.hpp"

namespace uce::ops_test {
namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

HostTensor random_matrix(Rng& rng, int dtype, int64_t rows, int64_t cols, int64_t pad = 0, double lo = -1.0,
                         double hi = 1.0) {
  HostTensor t = HostTensor::matrix(dtype, rows, cols, pad);
  for (int64_t i = 0; i < t.count(); ++i) t.set(i, rng.uniform(lo, hi));
  return t;
}

HostTensor random_vector(Rng& rng, int dtype, int64_t n, double lo = -1.0, double hi = 1.0) {
  HostTensor t = HostTensor::vector(dtype, n);
  for (int64_t i = 0; i < n; ++i) t.set(i, rng.uniform(lo, hi));
  return t;
}

HostTensor i32_vector(const std::vector<int32_t>& values) {
  HostTensor t = HostTensor::vector(UCE_I32, static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) t.set(static_cast<int64_t>(i), values[i]);
  return t;
}

HostTensor random_indices(Rng& rng, int64_t n, int64_t limit) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<int32_t>(rng.below(limit));
  if (n >= 2) {  // the ends of the table are the classic off-by-one
    v[0] = static_cast<int32_t>(limit - 1);
    v[1] = 0;
  }
  return i32_vector(v);
}

std::vector<int32_t> segments_from_lengths(const std::vector<int32_t>& lengths) {
  std::vector<int32_t> seg{0};
  for (int32_t len : lengths) seg.push_back(seg.back() + len);
  return seg;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string dims(int64_t r, int64_t c) { return std::to_string(r) + "x" + std::to_string(c); }

class Builder {
 public:
  void add(int type, std::string label, std::string variant, bool big, std::function<void(Rng&, OpCase&)> build) {
    CaseSpec spec;
    spec.type = type;
    spec.label = label;
    spec.variant = variant.empty() ? op_type_name(type) : variant;
    spec.big = big;
    const std::string seed_text = std::string(op_type_name(type)) + "/" + label;
    spec.make = [type, label, variant = spec.variant, big, build, seed_text] {
      Rng rng(fnv1a(seed_text));
      OpCase c;
      c.type = type;
      c.label = label;
      c.variant = variant;
      c.big = big;
      build(rng, c);
      return c;
    };
    specs_.push_back(std::move(spec));
  }
  std::vector<CaseSpec> take() { return std::move(specs_); }

 private:
  std::vector<CaseSpec> specs_;
};

// Rows x columns of the row-wise ops: 1, primes, tile non-multiples, the UCE widths.
const std::vector<std::pair<int64_t, int64_t>> kRowShapes = {
    {1, 1}, {1, 7}, {7, 1}, {2, 3}, {5, 16}, {31, 33}, {64, 64}, {97, 127}, {130, 257}, {3, 1280}, {17, 5120}, {1073, 1280}};

std::string variant_with_dtype(int type, int dtype) {
  std::string v = op_type_name(type);
  if (dtype != UCE_F32) v += std::string(" (") + dtype_name(dtype) + ")";
  return v;
}

void add_unary_cases(Builder& b) {
  for (size_t i = 0; i < kRowShapes.size(); ++i) {
    const auto [r, c] = kRowShapes[i];
    const int64_t pad = i % 2 ? 3 : 0;
    const std::string sp = pad ? " padded" : "";
    b.add(UCE_OP_GELU, dims(r, c) + sp, "", false, [=](Rng& rng, OpCase& k) {
      k.srcs = {random_matrix(rng, UCE_F32, r, c, pad, -5.0, 5.0)};
      k.dst = HostTensor::matrix(UCE_F32, r, c, pad ? 1 : 0);
    });
    b.add(UCE_OP_RELU, dims(r, c) + sp, "", false, [=](Rng& rng, OpCase& k) {
      k.srcs = {random_matrix(rng, UCE_F32, r, c, pad)};
      k.dst = HostTensor::matrix(UCE_F32, r, c, pad ? 2 : 0);
    });
    const float scale = i % 3 == 0 ? 0.5f : (i % 3 == 1 ? -1.75f : 35.777087f);  // sqrt(1280)
    b.add(UCE_OP_SCALE, dims(r, c) + sp + " scale=" + num(scale), "", false, [=](Rng& rng, OpCase& k) {
      k.scale = scale;
      k.srcs = {random_matrix(rng, UCE_F32, r, c, pad)};
      k.dst = HostTensor::matrix(UCE_F32, r, c, pad);
    });
    const bool broadcast = i % 2 == 0;
    b.add(UCE_OP_ADD, dims(r, c) + sp + (broadcast ? " b=[1,D]" : " b=[n,D]"), "", false, [=](Rng& rng, OpCase& k) {
      k.srcs = {random_matrix(rng, UCE_F32, r, c, pad), random_matrix(rng, UCE_F32, broadcast ? 1 : r, c, pad ? 5 : 0)};
      k.dst = HostTensor::matrix(UCE_F32, r, c, pad);
    });
    const float l2_eps = i == 4 ? 10.0f : 1e-12f;  // eps larger than the norm: the max() matters
    b.add(UCE_OP_L2NORM_ROWS, dims(r, c) + sp + " eps=" + num(l2_eps), "", false, [=](Rng& rng, OpCase& k) {
      k.eps = l2_eps;
      HostTensor x = random_matrix(rng, UCE_F32, r, c, pad);
      if (r > 1)  // a zero row: 0 / eps = 0, never NaN
        for (int64_t j = 0; j < c; ++j) x.set(j, 0.0);
      k.srcs = {std::move(x)};
      k.dst = HostTensor::matrix(UCE_F32, r, c, pad);
    });
  }
}

void add_layernorm_cases(Builder& b) {
  const int acts[] = {UCE_ACT_NONE, UCE_ACT_GELU, UCE_ACT_RELU};
  for (size_t i = 0; i < kRowShapes.size(); ++i) {
    const auto [r, c] = kRowShapes[i];
    for (int variant = 0; variant < 2; ++variant) {
      const bool residual = (i + static_cast<size_t>(variant)) % 2 == 0;
      const int act = acts[(i + static_cast<size_t>(variant)) % 3];
      const float scale = variant == 1 ? 35.777087f : 1.0f;
      const float eps = i % 2 ? 1e-12f : 1e-5f;
      const int64_t pad = variant == 1 ? 3 : 0;
      const std::string label = dims(r, c) + (residual ? " +res" : "") + " act=" + activation_name(act) +
                                " scale=" + num(scale) + " eps=" + (i % 2 ? "1e-12" : "1e-5") +
                                (pad ? " padded" : "");
      if (c == 1 && eps < 1e-6f) continue;  // var = 0 and eps ~ 0: 0/0 in every implementation
      b.add(UCE_OP_LAYERNORM, label, "", false, [=](Rng& rng, OpCase& k) {
        k.activation = act;
        k.scale = scale;
        k.eps = eps;
        // A mean far from zero exercises the two-pass (cancellation-safe) variance.
        k.srcs = {random_matrix(rng, UCE_F32, r, c, pad, 2.0, 6.0), random_vector(rng, UCE_F32, c, 0.5, 1.5),
                  random_vector(rng, UCE_F32, c, -0.5, 0.5)};
        if (residual) {
          k.srcs.push_back(random_matrix(rng, UCE_F32, r, c, 0));
        } else {
          k.srcs.push_back(std::nullopt);
        }
        k.dst = HostTensor::matrix(UCE_F32, r, c, pad ? 1 : 0);
      });
    }
  }
}

void add_gather_cases(Builder& b) {
  struct G {
    int64_t vocab, width, n;
  };
  const G shapes[] = {{1, 1, 1}, {5, 3, 7}, {50, 33, 64}, {97, 127, 130}, {1000, 16, 3}, {300, 5120, 37}};
  for (int type : {UCE_OP_GATHER_ROWS, UCE_OP_SLICE_ROWS})
    for (int dtype : {UCE_F32, UCE_F16, UCE_BF16})
      for (size_t i = 0; i < std::size(shapes); ++i) {
        const G g = shapes[i];
        const int64_t pad = i % 2 ? 5 : 0;
        const std::string label = "table " + std::string(dtype_name(dtype)) + " " + dims(g.vocab, g.width) +
                                  " n=" + std::to_string(g.n) + (pad ? " padded" : "");
        b.add(type, label, variant_with_dtype(type, dtype), false, [=](Rng& rng, OpCase& k) {
          k.srcs = {random_matrix(rng, dtype, g.vocab, g.width, pad, -3.0, 3.0), random_indices(rng, g.n, g.vocab)};
          k.dst = HostTensor::matrix(UCE_F32, g.n, g.width, pad ? 2 : 0);
        });
      }
}

void add_copy_cases(Builder& b) {
  const std::pair<int, int> conversions[] = {{UCE_F32, UCE_F16}, {UCE_F16, UCE_F32}, {UCE_F32, UCE_BF16},
                                             {UCE_BF16, UCE_F32}, {UCE_F32, UCE_F32}, {UCE_F16, UCE_BF16},
                                             {UCE_BF16, UCE_F16}, {UCE_I32, UCE_I32}};
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {7, 33}, {130, 257}, {1073, 1280}};
  for (const auto& [from, to] : conversions)
    for (size_t i = 0; i < std::size(shapes); ++i) {
      const auto [r, c] = shapes[i];
      const int64_t pad = i % 2 ? 3 : 0;
      const std::string variant = std::string("copy ") + dtype_name(from) + "->" + dtype_name(to);
      b.add(UCE_OP_COPY, variant + " " + dims(r, c) + (pad ? " padded" : ""), variant, false, [=](Rng& rng, OpCase& k) {
        HostTensor x = HostTensor::matrix(from, r, c, pad);
        for (int64_t j = 0; j < x.count(); ++j) {
          if (from == UCE_I32) {
            x.set(j, static_cast<double>(static_cast<int32_t>(rng.next())));
          } else {  // magnitudes 1e-8 .. 6e4: f16 subnormals, rounding, and the top of its range
            const double mag = std::pow(10.0, rng.uniform(-8.0, 4.78));
            x.set(j, rng.uniform(-1.0, 1.0) < 0 ? -mag : mag);
          }
        }
        k.srcs = {std::move(x)};
        k.dst = HostTensor::matrix(to, r, c, pad ? 0 : 2);
      });
    }
  b.add(UCE_OP_COPY, "copy f32->f16 1-D n=1000", "copy f32->f16", false, [](Rng& rng, OpCase& k) {
    k.srcs = {random_vector(rng, UCE_F32, 1000, -100.0, 100.0)};
    k.dst = HostTensor::vector(UCE_F16, 1000);
  });
}

void add_pe_and_mean_cases(Builder& b) {
  struct P {
    int64_t n, d, positions;
  };
  const P pe_shapes[] = {{1, 1, 1}, {7, 3, 9}, {64, 33, 100}, {130, 127, 1536}, {1073, 1280, 1536}};
  for (size_t i = 0; i < std::size(pe_shapes); ++i) {
    const P p = pe_shapes[i];
    const int64_t pad = i % 2 ? 3 : 0;
    b.add(UCE_OP_ADD_ROWS_PE, dims(p.n, p.d) + " pe=" + std::to_string(p.positions) + (pad ? " padded" : ""), "", false,
          [=](Rng& rng, OpCase& k) {
            k.srcs = {random_matrix(rng, UCE_F32, p.n, p.d, pad), random_matrix(rng, UCE_F32, p.positions, p.d, 0),
                      random_indices(rng, p.n, p.positions)};
            k.dst = HostTensor::matrix(UCE_F32, p.n, p.d, pad);
          });
  }
  const std::vector<std::vector<int32_t>> layouts = {{1}, {5}, {3, 0, 4, 1}, {0, 7}, {64, 1, 33, 0, 97}, {1073}, {500, 0, 573}};
  const int64_t widths[] = {1, 3, 33, 127, 257, 1280, 512};
  for (size_t i = 0; i < layouts.size(); ++i) {
    const std::vector<int32_t> seg = segments_from_lengths(layouts[i]);
    const int64_t n = seg.back(), d = widths[i];
    const int64_t pad = i % 2 ? 2 : 0;
    std::string label = "segments";
    for (int32_t len : layouts[i]) {
      label += ' ';
      label += std::to_string(len);
    }
    label += " d=" + std::to_string(d) + (pad ? " padded" : "");
    b.add(UCE_OP_SEGMENT_MEAN, label, "", false, [=](Rng& rng, OpCase& k) {
      k.srcs = {random_matrix(rng, UCE_F32, n, d, pad, -1.0, 3.0), i32_vector(seg)};
      k.dst = HostTensor::matrix(UCE_F32, static_cast<int64_t>(seg.size()) - 1, d, pad ? 0 : 1);
    });
  }
}

void add_linear_cases(Builder& b) {
  struct L {
    int64_t n, k, m;
  };
  const L shapes[] = {{1, 1, 1},     {1, 7, 5},      {2, 3, 4},      {3, 16, 17},  {17, 31, 65},
                      {64, 64, 64},  {65, 33, 127},  {97, 130, 33},  {130, 257, 129}, {5, 1280, 96}};
  const int acts[] = {UCE_ACT_NONE, UCE_ACT_GELU, UCE_ACT_RELU};
  for (int wdtype : {UCE_F32, UCE_F16, UCE_BF16})
    for (size_t i = 0; i < std::size(shapes); ++i) {
      const L s = shapes[i];
      const int act = acts[i % 3];
      const bool bias = i % 2 == 0 || wdtype != UCE_F32;
      const int64_t pad = i % 4 == 1 ? 3 : 0;
      const std::string label = "n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " m=" + std::to_string(s.m) +
                                " W=" + dtype_name(wdtype) + " act=" + activation_name(act) + (bias ? " +bias" : "") +
                                (pad ? " padded" : "");
      b.add(UCE_OP_LINEAR, label, variant_with_dtype(UCE_OP_LINEAR, wdtype), false, [=](Rng& rng, OpCase& k) {
        k.activation = act;
        k.srcs = {random_matrix(rng, UCE_F32, s.n, s.k, pad), random_matrix(rng, wdtype, s.m, s.k, pad ? 1 : 0)};
        if (bias) {
          k.srcs.push_back(random_vector(rng, UCE_F32, s.m));
        } else {
          k.srcs.push_back(std::nullopt);
        }
        k.dst = HostTensor::matrix(UCE_F32, s.n, s.m, pad ? 2 : 0);
      });
    }
  // The real UCE (33-layer, d 1280) shapes: in_proj, linear1, linear2 / encoder.0.
  const struct {
    int64_t n, k, m;
    int act;
    int wdtype;
  } real[] = {{1073, 1280, 3840, UCE_ACT_NONE, UCE_F32},
              {1073, 1280, 5120, UCE_ACT_RELU, UCE_F32},
              {1073, 5120, 1280, UCE_ACT_GELU, UCE_F32},
              {1073, 1280, 1280, UCE_ACT_NONE, UCE_F16}};
  for (const auto& s : real) {
    const std::string label = "UCE n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " m=" + std::to_string(s.m) +
                              " W=" + dtype_name(s.wdtype) + " act=" + activation_name(s.act) + " +bias";
    b.add(UCE_OP_LINEAR, label, variant_with_dtype(UCE_OP_LINEAR, s.wdtype), true, [=](Rng& rng, OpCase& k) {
      k.activation = s.act;
      // PyTorch's default init scale, so outputs stay O(1) like the real model's.
      const double w = 1.0 / std::sqrt(static_cast<double>(s.k));
      k.srcs = {random_matrix(rng, UCE_F32, s.n, s.k, 0, -1.0, 1.0), random_matrix(rng, s.wdtype, s.m, s.k, 0, -w, w),
                random_vector(rng, UCE_F32, s.m, -w, w)};
      k.dst = HostTensor::matrix(UCE_F32, s.n, s.m);
    });
  }
}

// Packed attention: `lengths` of the sequences, optional bias / mask / query rows.
struct AttentionSetup {
  std::vector<int32_t> lengths;
  int64_t d = 8;
  int heads = 2;
  bool bias = false;
  bool mask = false;
  int mask_fully_segment = -1;  // this sequence's keys are all masked (its queries get zeros)
  int query_mode = 0;           // 0 = all rows, 1 = first row of each sequence (CLS), 2 = shuffled subset
  double qkv_range = 1.0;
  double scale_factor = 1.0;    // scale = scale_factor / sqrt(hd)
  int64_t pad = 0;
};

void add_attention_case(Builder& b, const std::string& label, const AttentionSetup& a, bool big) {
  b.add(UCE_OP_ATTENTION, label, "", big, [a](Rng& rng, OpCase& k) {
    const std::vector<int32_t> seg = segments_from_lengths(a.lengths);
    const int64_t n = seg.back();
    k.n_heads = a.heads;
    k.scale = static_cast<float>(a.scale_factor / std::sqrt(static_cast<double>(a.d / a.heads)));
    k.srcs.push_back(random_matrix(rng, UCE_F32, n, 3 * a.d, a.pad, -a.qkv_range, a.qkv_range));
    k.srcs.push_back(i32_vector(seg));
    if (a.bias) {
      HostTensor bias = HostTensor::vector(UCE_F32, n);
      // The official tool's float padding mask (+1 on padded keys) plus some spread.
      for (int64_t j = 0; j < n; ++j) bias.set(j, rng.below(4) == 0 ? 1.0 : rng.uniform(-2.0, 2.0));
      k.srcs.push_back(std::move(bias));
    } else {
      k.srcs.push_back(std::nullopt);
    }
    if (a.mask) {
      HostTensor mask = HostTensor::vector(UCE_U8, n);
      for (int64_t j = 0; j < n; ++j) mask.set(j, rng.below(10) < 3 ? 1 : 0);
      if (a.mask_fully_segment >= 0)
        for (int32_t j = seg[a.mask_fully_segment]; j < seg[a.mask_fully_segment + 1]; ++j) mask.set(j, 1);
      k.srcs.push_back(std::move(mask));
    } else {
      k.srcs.push_back(std::nullopt);
    }
    int64_t q = n;
    if (a.query_mode == 1) {
      std::vector<int32_t> rows;
      for (size_t s = 0; s + 1 < seg.size(); ++s)
        if (seg[s + 1] > seg[s]) rows.push_back(seg[s]);
      q = static_cast<int64_t>(rows.size());
      k.srcs.push_back(i32_vector(rows));
    } else if (a.query_mode == 2) {
      // Out of order across sequences, with repeats: the output order must follow query_rows.
      std::vector<int32_t> rows;
      for (int64_t j = 0; j < n; ++j)
        if (rng.below(3) == 0) rows.push_back(static_cast<int32_t>(j));
      rows.push_back(static_cast<int32_t>(n - 1));
      rows.push_back(0);
      for (size_t j = rows.size(); j > 1; --j) std::swap(rows[j - 1], rows[static_cast<size_t>(rng.below(static_cast<int64_t>(j)))]);
      q = static_cast<int64_t>(rows.size());
      k.srcs.push_back(i32_vector(rows));
    } else {
      k.srcs.push_back(std::nullopt);
    }
    k.dst = HostTensor::matrix(UCE_F32, q, a.d, a.pad ? 1 : 0);
  });
}

void add_attention_cases(Builder& b) {
  AttentionSetup a;
  a.lengths = {1};
  add_attention_case(b, "n=1 d=8 h=2", a, false);
  a.lengths = {5};
  a.d = 12;
  a.heads = 3;
  add_attention_case(b, "n=5 d=12 h=3", a, false);
  a.lengths = {3, 0, 7, 7};
  a.d = 32;
  a.heads = 4;
  a.bias = true;
  add_attention_case(b, "packed 3,0,7,7 d=32 h=4 +bias", a, false);
  a.mask = true;
  a.mask_fully_segment = 2;
  add_attention_case(b, "packed 3,0,7,7 d=32 h=4 +bias +mask (seq 2 fully masked)", a, false);
  a.query_mode = 1;
  add_attention_case(b, "packed 3,0,7,7 d=32 h=4 +bias +mask (seq 2 fully masked) query=CLS rows", a, false);
  a.query_mode = 2;
  a.pad = 5;
  add_attention_case(b, "packed 3,0,7,7 d=32 h=4 +bias +mask query=shuffled subset padded", a, false);

  AttentionSetup c;  // crossing the 64-row query blocks, head dim 64 like UCE
  c.lengths = {130, 1, 64, 65};
  c.d = 128;
  c.heads = 2;
  c.mask = true;
  c.mask_fully_segment = 1;
  add_attention_case(b, "packed 130,1,64,65 d=128 h=2 +mask (seq 1 fully masked)", c, false);
  c.bias = true;
  c.mask = false;
  c.mask_fully_segment = -1;
  c.query_mode = 2;
  add_attention_case(b, "packed 130,1,64,65 d=128 h=2 +bias query=shuffled subset", c, false);
  c.query_mode = 0;
  c.bias = false;
  c.lengths = {97};
  c.d = 60;
  c.heads = 5;
  c.qkv_range = 2.0;
  c.scale_factor = 32.0;  // logits of +-100 and more: needs the max subtraction
  add_attention_case(b, "n=97 d=60 h=5 peaky logits (scale x32)", c, false);

  AttentionSetup uce;  // UCE 33-layer: one cell of 1073 tokens, float padding bias
  uce.lengths = {1073};
  uce.d = 1280;
  uce.heads = 20;
  uce.bias = true;
  add_attention_case(b, "UCE n=1073 d=1280 h=20 +bias", uce, true);
  AttentionSetup brain;  // UCE-brain: d 512, boolean padding mask, two packed cells
  brain.lengths = {600, 473};
  brain.d = 512;
  brain.heads = 8;
  brain.mask = true;
  add_attention_case(b, "UCE-brain packed 600,473 d=512 h=8 +mask", brain, true);
  brain.query_mode = 1;
  add_attention_case(b, "UCE-brain packed 600,473 d=512 h=8 +mask query=CLS rows", brain, false);
}

}  // namespace

std::vector<CaseSpec> all_case_specs() {
  Builder b;
  add_unary_cases(b);
  add_layernorm_cases(b);
  add_gather_cases(b);
  add_copy_cases(b);
  add_pe_and_mean_cases(b);
  add_linear_cases(b);
  add_attention_cases(b);
  return b.take();
}

}  // namespace uce::ops_test
