// uce_brain_graphs.cpp — the UCE-brain forward pass (uce-models.md §2) as graphs of core ops.
#include <cmath>

#include "uce/uce_brain_model.hpp"

namespace uce {
namespace {

// Shorthands over one graph; every LayerNorm of the model has eps 1e-5.
struct Builder {
  Graph& g;
  int vec(const std::string& name, const io::TensorView& t) const {
    return g.add_constant(name, UCE_F32, t.shape[0], 1, t.data, true);
  }
  int mat(const std::string& name, const io::TensorView& t) const {
    return g.add_constant(name, UCE_F32, t.shape[0], t.numel() / t.shape[0], t.data);
  }
  int node(std::string name, int type, std::vector<int> srcs, RowCount rows, int64_t cols, int act = UCE_ACT_NONE) const {
    Node n;
    n.name = std::move(name);
    n.type = type;
    n.activation = act;
    n.eps = 1e-5f;
    n.srcs = std::move(srcs);
    return g.add_node(n, rows, cols);
  }
  int linear(std::string name, int x, int w, int b, RowCount rows, int64_t cols, int act = UCE_ACT_NONE) const {
    return node(std::move(name), UCE_OP_LINEAR, {x, w, b}, rows, cols, act);
  }
  int layernorm(std::string name, int x, int gamma, int beta, int residual, RowCount rows, int64_t cols,
                int act = UCE_ACT_NONE) const {
    return node(std::move(name), UCE_OP_LAYERNORM, {x, gamma, beta, residual}, rows, cols, act);
  }
};

}  // namespace

Graph BrainModel::token_graph() const {
  const BrainDims& d = dims_;
  const RowCount N = RowCount::tokens();
  Graph g;
  const Builder b{g};
  int x = g.add_input("tokens.rows", UCE_F32, N, d.token_dim);
  if (config_.use_embedding_layer_norm)
    x = b.layernorm("tokens.embed_norm", x, b.vec("embedding_layer.layer_norm.weight", emb_ln_w_),
                    b.vec("embedding_layer.layer_norm.bias", emb_ln_b_), -1, N, d.token_dim);
  const std::string p = "input_gene_embedding_projector.";
  int out = -1;
  if (config_.input_projection_type == "linear") {
    // Linear -> LayerNorm -> GELU (the LayerNorm comes BEFORE the GELU; no sqrt(d) scale).
    x = b.linear("tokens.proj.0", x, b.mat(p + "0.weight", proj_w_[0]), b.vec(p + "0.bias", proj_b_[0]), N, d.d_model);
    out = b.layernorm("tokens.projected", x, b.vec(p + "1.weight", proj_ln_w_), b.vec(p + "1.bias", proj_ln_b_), -1, N,
                      d.d_model, UCE_ACT_GELU);
  } else {
    // Linear, GELU, Linear, GELU, Linear, LayerNorm (state-dict indices 0..5).
    x = b.linear("tokens.proj.0", x, b.mat(p + "0.weight", proj_w_[0]), b.vec(p + "0.bias", proj_b_[0]), N, d.d_model,
                 UCE_ACT_GELU);
    x = b.linear("tokens.proj.2", x, b.mat(p + "2.weight", proj_w_[1]), b.vec(p + "2.bias", proj_b_[1]), N,
                 d.projector_hidden, UCE_ACT_GELU);
    x = b.linear("tokens.proj.4", x, b.mat(p + "4.weight", proj_w_[2]), b.vec(p + "4.bias", proj_b_[2]), N, d.d_model);
    out = b.layernorm("tokens.projected", x, b.vec(p + "5.weight", proj_ln_w_), b.vec(p + "5.bias", proj_ln_b_), -1, N,
                      d.d_model);
  }
  g.mark_output(out);
  return g;
}

Graph BrainModel::cell_graph(const float* projected, int64_t table_rows, const float* pad_fill,
                             int64_t pad_length) const {
  const BrainDims& d = dims_;
  Graph g;
  const Builder b{g};
  const RowCount N = RowCount::tokens(), B = RowCount::sequences();
  const bool cls = readout_ == BrainReadout::kClsPrefix;
  const int tokens = g.add_input("batch.tokens", UCE_I32, N, 1, true);
  const int positions = g.add_input("batch.positions", UCE_I32, N, 1, true);
  const int segments = g.add_input("batch.segments", UCE_I32, RowCount::sequences_plus_one(), 1, true);
  const int cls_rows = cls ? g.add_input("batch.cls_rows", UCE_I32, B, 1, true) : -1;
  const int key_mask = readout_ == BrainReadout::kMeanPadded ? g.add_input("batch.key_mask", UCE_U8, N, 1, true) : -1;
  const int lengths = readout_ == BrainReadout::kMeanZeroedPads ? g.add_input("batch.lengths", UCE_I32, B, 1, true) : -1;
  const int table = g.add_constant("tokens.projected", UCE_F32, table_rows, d.d_model, projected);
  const int pe = g.add_constant("pos_encoder.pe", UCE_F32, d.max_positions, d.d_model, pe_.data);
  const int act = config_.activation == "relu" ? UCE_ACT_RELU : UCE_ACT_GELU;
  const float attn_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.d_model / d.heads)));

  int h = b.node("embed.gather", UCE_OP_GATHER_ROWS, {table, tokens}, N, d.d_model);
  h = b.node("embed.pe", UCE_OP_ADD_ROWS_PE, {h, pe, positions}, N, d.d_model);
  for (int64_t l = 0; l < d.layers; ++l) {
    const BrainLayerWeights& w = layers_[l];
    const std::string p = "layer" + std::to_string(l) + ".";
    const std::string k = "transformer_encoder.layers." + std::to_string(l) + ".";
    // cls readout: the last layer only needs its CLS rows. Keys/values come from every row; the
    // queries, output projection, residuals and feed-forward run on B rows instead of N (exact).
    const bool cls_only = cls && l + 1 == d.layers;
    const RowCount R = cls_only ? B : N;
    auto attention = [&](int x) {
      const int qkv = b.linear(p + "attn.qkv", x, b.mat(k + "self_attn.in_proj_weight", w.in_proj_w),
                               b.vec(k + "self_attn.in_proj_bias", w.in_proj_b), N, 3 * d.d_model);
      Node a;
      a.name = p + "attn";
      a.type = UCE_OP_ATTENTION;
      a.n_heads = static_cast<int32_t>(d.heads);
      a.scale = attn_scale;
      a.srcs = {qkv, segments, -1, key_mask, cls_only ? cls_rows : -1};
      const int heads = g.add_node(a, R, d.d_model);
      return b.linear(p + "attn.out", heads, b.mat(k + "self_attn.out_proj.weight", w.out_w),
                      b.vec(k + "self_attn.out_proj.bias", w.out_b), R, d.d_model);
    };
    auto feed_forward = [&](int x) {
      const int up = b.linear(p + "ffn.up", x, b.mat(k + "linear1.weight", w.w1), b.vec(k + "linear1.bias", w.b1), R,
                              d.d_ff, act);
      return b.linear(p + "ffn.down", up, b.mat(k + "linear2.weight", w.w2), b.vec(k + "linear2.bias", w.b2), R, d.d_model);
    };
    const int n1w = b.vec(k + "norm1.weight", w.n1_w), n1b = b.vec(k + "norm1.bias", w.n1_b);
    const int n2w = b.vec(k + "norm2.weight", w.n2_w), n2b = b.vec(k + "norm2.bias", w.n2_b);
    if (!config_.norm_first) {
      // Post-norm: x = LN1(x + SA(x)); x = LN2(x + FF(x)).
      const int o = attention(h);
      const int residual = cls_only ? b.node(p + "cls_rows", UCE_OP_SLICE_ROWS, {h, cls_rows}, B, d.d_model) : h;
      const int h1 = b.layernorm(p + "norm1", o, n1w, n1b, residual, R, d.d_model);
      h = b.layernorm(p + "out", feed_forward(h1), n2w, n2b, h1, R, d.d_model);
    } else {
      // Pre-norm: x = x + SA(LN1(x)); x = x + FF(LN2(x)).
      const int o = attention(b.layernorm(p + "norm1", h, n1w, n1b, -1, N, d.d_model));
      const int residual = cls_only ? b.node(p + "cls_rows", UCE_OP_SLICE_ROWS, {h, cls_rows}, B, d.d_model) : h;
      const int x1 = b.node(p + "attn.residual", UCE_OP_ADD, {o, residual}, R, d.d_model);
      const int f = feed_forward(b.layernorm(p + "norm2", x1, n2w, n2b, -1, R, d.d_model));
      h = b.node(p + "out", UCE_OP_ADD, {f, x1}, R, d.d_model);
    }
  }
  const RowCount R = cls ? B : N;
  if (d.final_norm)
    h = b.layernorm("encoder.norm", h, b.vec("transformer_encoder.norm.weight", final_w_),
                    b.vec("transformer_encoder.norm.bias", final_b_), -1, R, d.d_model);
  // Output projector: Linear -> LayerNorm, on every row that the readout uses.
  h = b.linear("output.linear", h, b.mat("output_embedding_projector.0.weight", out_w_),
               b.vec("output_embedding_projector.0.bias", out_b_), R, d.output_dim);
  h = b.layernorm("output.projected", h, b.vec("output_embedding_projector.1.weight", out_ln_w_),
                  b.vec("output_embedding_projector.1.bias", out_ln_b_), -1, R, d.output_dim);
  int pooled = h;
  if (!cls) {
    pooled = b.node(readout_ == BrainReadout::kMeanPadded ? "output.pooled" : "output.real_mean", UCE_OP_SEGMENT_MEAN,
                    {h, segments}, B, d.output_dim);
    if (readout_ == BrainReadout::kMeanZeroedPads) {
      // + ((P - n) / n) * c: the padded positions' constant contribution, picked by length n.
      const int fill = g.add_constant("output.pad_fill", UCE_F32, pad_length + 1, d.output_dim, pad_fill);
      pooled = b.node("output.pooled", UCE_OP_ADD_ROWS_PE, {pooled, fill, lengths}, B, d.output_dim);
    }
  }
  Node l2;
  l2.name = "output.embedding";
  l2.type = UCE_OP_L2NORM_ROWS;
  l2.eps = 1e-12f;
  l2.srcs = {pooled};
  g.mark_output(g.add_node(l2, B, d.output_dim));
  return g;
}

}  // namespace uce
