// uce_model.cpp — loading the original UCE checkpoint and building its graphs.
#include "uce/uce_model.hpp"

#include <cmath>
#include <cstring>
#include <sstream>

#include "state_dict_lookup.hpp"
#include "uce/io/model_files.hpp"

namespace uce {

const float* UceModel::f32(const io::TensorView& t) const { return static_cast<const float*>(t.data); }

Result<std::shared_ptr<UceModel>> UceModel::load(const UceModelOptions& o, const LogFn& log) {
  using R = Result<std::shared_ptr<UceModel>>;
  auto entries = io::read_torch_state_dict(o.checkpoint);
  if (!entries) return R::error(entries.message());
  const StateDictLookup sd({.file = o.checkpoint, .missing_hint = "is this an original UCE checkpoint?"},
                           entries.take());
  auto m = std::make_shared<UceModel>();
  UceDims& d = m->dims_;

  // Dimensions from shapes: the encoder Linear gives token_dim and d_model.
  auto enc_w = sd.get("encoder.0.weight", {-1, -1});
  if (!enc_w) return R::error(enc_w.message());
  d.d_model = enc_w->shape[0];
  d.token_dim = enc_w->shape[1];
  d.heads = o.heads;
  if (d.heads <= 0 || d.d_model % d.heads != 0)
    return R::error(o.checkpoint + ": d_model " + std::to_string(d.d_model) + " is not divisible by heads = " +
                    std::to_string(d.heads) + " (set [model] heads)");
  d.layers = sd.count_encoder_layers();
  if (d.layers == 0) return R::error(o.checkpoint + ": no transformer_encoder.layers.0.* tensors");
  auto w1 = sd.get("transformer_encoder.layers.0.linear1.weight", {-1, d.d_model});
  if (!w1) return R::error(w1.message());
  d.d_ff = w1->shape[0];
  auto dec0 = sd.get("decoder.0.0.weight", {-1, d.d_model});
  if (!dec0) return R::error(dec0.message());
  d.decoder_hidden = dec0->shape[0];
  auto dec1 = sd.get("decoder.1.0.weight", {-1, d.decoder_hidden});
  if (!dec1) return R::error(dec1.message());
  d.output_dim = dec1->shape[0];
  auto pe = sd.get("pos_encoder.pe", {-1, 1, d.d_model});
  if (!pe) return R::error(pe.message());
  d.max_positions = pe->shape[0];

  // Every tensor the forward pass reads, with the shape the inferred dimensions demand.
  m->pe_ = *pe;
  UCE_TRY(sd.need(m->enc_w_, "encoder.0.weight", {d.d_model, d.token_dim}));
  UCE_TRY(sd.need(m->enc_b_, "encoder.0.bias", {d.d_model}));
  UCE_TRY(sd.need(m->enc_ln_w_, "encoder.2.weight", {d.d_model}));
  UCE_TRY(sd.need(m->enc_ln_b_, "encoder.2.bias", {d.d_model}));
  for (int64_t l = 0; l < d.layers; ++l) {
    const std::string p = "transformer_encoder.layers." + std::to_string(l) + ".";
    UceLayerWeights w;
    UCE_TRY(sd.need(w.in_proj_w, p + "self_attn.in_proj_weight", {3 * d.d_model, d.d_model}));
    UCE_TRY(sd.need(w.in_proj_b, p + "self_attn.in_proj_bias", {3 * d.d_model}));
    UCE_TRY(sd.need(w.out_w, p + "self_attn.out_proj.weight", {d.d_model, d.d_model}));
    UCE_TRY(sd.need(w.out_b, p + "self_attn.out_proj.bias", {d.d_model}));
    UCE_TRY(sd.need(w.w1, p + "linear1.weight", {d.d_ff, d.d_model}));
    UCE_TRY(sd.need(w.b1, p + "linear1.bias", {d.d_ff}));
    UCE_TRY(sd.need(w.w2, p + "linear2.weight", {d.d_model, d.d_ff}));
    UCE_TRY(sd.need(w.b2, p + "linear2.bias", {d.d_model}));
    UCE_TRY(sd.need(w.n1_w, p + "norm1.weight", {d.d_model}));
    UCE_TRY(sd.need(w.n1_b, p + "norm1.bias", {d.d_model}));
    UCE_TRY(sd.need(w.n2_w, p + "norm2.weight", {d.d_model}));
    UCE_TRY(sd.need(w.n2_b, p + "norm2.bias", {d.d_model}));
    m->layers_.push_back(std::move(w));
  }
  const int64_t dec_in[4] = {d.d_model, d.decoder_hidden, d.output_dim, d.output_dim};
  const int64_t dec_out[4] = {d.decoder_hidden, d.output_dim, d.output_dim, d.output_dim};
  for (int i = 0; i < 4; ++i) {
    const std::string p = "decoder." + std::to_string(i) + (i < 3 ? ".0." : ".");
    UCE_TRY(sd.need(m->dec_w_[i], p + "weight", {dec_out[i], dec_in[i]}));
    UCE_TRY(sd.need(m->dec_b_[i], p + "bias", {dec_out[i]}));
    if (i < 3) {
      const std::string q = "decoder." + std::to_string(i) + ".1.";
      UCE_TRY(sd.need(m->dec_ln_w_[i], q + "weight", {dec_out[i]}));
      UCE_TRY(sd.need(m->dec_ln_b_[i], q + "bias", {dec_out[i]}));
    }
  }

  // The token table, by the official rule (uce-models.md §1).
  auto ckpt_table = sd.get("pe_embedding.weight", {-1, d.token_dim});
  if (o.token_file.empty()) {
    if (!ckpt_table) return R::error(ckpt_table.message() + " (and no token file was given)");
    m->table_ = *ckpt_table;
    m->table_choice_ = "checkpoint pe_embedding.weight (no token file given)";
  } else {
    auto tok = io::read_torch_tensor(o.token_file);
    if (!tok) return R::error(tok.message());
    if (tok->shape.size() != 2 || tok->shape[1] != d.token_dim || tok->dtype != UCE_F32)
      return R::error(o.token_file + ": token table has shape " + shape_str(tok->shape) + " " +
                      io::dtype_name(tok->dtype) + ", expected [rows, " + std::to_string(d.token_dim) + "] F32");
    const int64_t rows = tok->shape[0];
    if (rows == o.esm_rows || rows == o.full_rows) {
      if (!ckpt_table) return R::error(ckpt_table.message() + " (the token file's " + std::to_string(rows) +
                                       " rows select the checkpoint's table)");
      m->table_ = *ckpt_table;
      m->table_choice_ = "checkpoint pe_embedding.weight (" + o.token_file + " has " + std::to_string(rows) +
                         " rows = " + (rows == o.esm_rows ? "ESM-only" : "full") + " count, as the official tool decides)";
    } else {
      m->table_ = *tok;
      m->table_choice_ = o.token_file + " (" + std::to_string(rows) + " rows differ from " +
                         std::to_string(o.esm_rows) + "/" + std::to_string(o.full_rows) + ": an extended table)";
    }
  }
  d.table_rows = m->table_.shape[0];

  // Weights are used in place from the mapping when contiguous and aligned; otherwise copied once.
  auto settle = [&](io::TensorView& t) {
    if (t.is_contiguous() && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) return;
    auto copy = std::make_unique<std::vector<float>>(static_cast<size_t>(t.numel()));
    std::vector<int64_t> idx(t.shape.size(), 0);
    const auto* base = static_cast<const uint8_t*>(t.data);
    for (int64_t i = 0; i < t.numel(); ++i) {
      int64_t off = 0;
      for (size_t k = 0; k < idx.size(); ++k) off += idx[k] * t.stride[k];
      std::memcpy(&(*copy)[static_cast<size_t>(i)], base + off * 4, 4);
      for (size_t k = idx.size(); k-- > 0;) {
        if (++idx[k] < t.shape[k]) break;
        idx[k] = 0;
      }
    }
    t.data = copy->data();
    t.stride.assign(t.shape.size(), 1);
    for (size_t k = t.shape.size(); k-- > 1;) t.stride[k - 1] = t.stride[k] * t.shape[k];
    m->owned_.push_back(std::move(copy));
  };
  for (io::TensorView* t : {&m->pe_, &m->enc_w_, &m->enc_b_, &m->enc_ln_w_, &m->enc_ln_b_}) settle(*t);
  for (auto& w : m->layers_)
    for (io::TensorView* t : {&w.in_proj_w, &w.in_proj_b, &w.out_w, &w.out_b, &w.w1, &w.b1, &w.w2, &w.b2,
                              &w.n1_w, &w.n1_b, &w.n2_w, &w.n2_b})
      settle(*t);
  for (int i = 0; i < 4; ++i) {
    settle(m->dec_w_[i]);
    settle(m->dec_b_[i]);
    if (i < 3) {
      settle(m->dec_ln_w_[i]);
      settle(m->dec_ln_b_[i]);
    }
  }
  if (!m->table_.is_contiguous())
    return R::error("token table is not stored contiguously (row gathers read it in place)");
  if (log) {
    log(UCE_LOG_INFO, "model: " + m->summary());
    log(UCE_LOG_INFO, "model: token table = " + m->table_choice_);
  }
  return m;
}

std::string UceModel::summary() const {
  std::ostringstream os;
  os << "UCE " << dims_.layers << " layers, token_dim " << dims_.token_dim << ", d_model " << dims_.d_model
     << ", " << dims_.heads << " heads, ff " << dims_.d_ff << ", decoder " << dims_.decoder_hidden << "->"
     << dims_.output_dim << ", max positions " << dims_.max_positions << ", table rows " << dims_.table_rows;
  return os.str();
}

Graph UceModel::token_graph() const {
  const UceDims& d = dims_;
  Graph g;
  const int rows = g.add_input("tokens.rows", UCE_F32, RowCount::tokens(), d.token_dim);
  Node n;
  n.name = "tokens.l2norm";
  n.type = UCE_OP_L2NORM_ROWS;
  n.eps = 1e-12f;
  n.srcs = {rows};
  const int normed = g.add_node(n, RowCount::tokens(), d.token_dim);
  n = {};
  n.name = "tokens.encoder";
  n.type = UCE_OP_LINEAR;
  n.activation = UCE_ACT_GELU;
  n.srcs = {normed, g.add_constant("encoder.0.weight", UCE_F32, d.d_model, d.token_dim, f32(enc_w_)),
            g.add_constant("encoder.0.bias", UCE_F32, d.d_model, 1, f32(enc_b_), true)};
  const int projected = g.add_node(n, RowCount::tokens(), d.d_model);
  n = {};
  n.name = "tokens.projected";
  n.type = UCE_OP_LAYERNORM;
  n.eps = 1e-5f;
  n.scale = static_cast<float>(std::sqrt(static_cast<double>(d.d_model)));
  n.srcs = {projected, g.add_constant("encoder.2.weight", UCE_F32, d.d_model, 1, f32(enc_ln_w_), true),
            g.add_constant("encoder.2.bias", UCE_F32, d.d_model, 1, f32(enc_ln_b_), true), -1};
  g.mark_output(g.add_node(n, RowCount::tokens(), d.d_model));
  return g;
}

Graph UceModel::cell_graph(const float* projected, int64_t table_rows, bool padding_bias) const {
  const UceDims& d = dims_;
  Graph g;
  const RowCount N = RowCount::tokens(), B = RowCount::sequences();
  const int tokens = g.add_input("batch.tokens", UCE_I32, N, 1, true);
  const int positions = g.add_input("batch.positions", UCE_I32, N, 1, true);
  const int segments = g.add_input("batch.segments", UCE_I32, RowCount::sequences_plus_one(), 1, true);
  const int cls_rows = g.add_input("batch.cls_rows", UCE_I32, B, 1, true);
  const int key_bias = padding_bias ? g.add_input("batch.key_bias", UCE_F32, N, 1, true) : -1;
  const int table = g.add_constant("tokens.projected", UCE_F32, table_rows, d.d_model, projected);
  const int pe = g.add_constant("pos_encoder.pe", UCE_F32, d.max_positions, d.d_model, f32(pe_));
  auto vec = [&](const std::string& name, const io::TensorView& t) {
    return g.add_constant(name, UCE_F32, t.shape[0], 1, f32(t), true);
  };
  auto mat = [&](const std::string& name, const io::TensorView& t) {
    return g.add_constant(name, UCE_F32, t.shape[0], t.shape[1], f32(t));
  };
  auto node = [&](std::string name, int type, std::vector<int> srcs, RowCount rows, int64_t cols,
                  int act = UCE_ACT_NONE) {
    Node n;
    n.name = std::move(name);
    n.type = type;
    n.activation = act;
    n.eps = 1e-5f;
    n.srcs = std::move(srcs);
    return g.add_node(n, rows, cols);
  };

  int h = node("embed.gather", UCE_OP_GATHER_ROWS, {table, tokens}, N, d.d_model);
  h = node("embed.pe", UCE_OP_ADD_ROWS_PE, {h, pe, positions}, N, d.d_model);
  for (int64_t l = 0; l < d.layers; ++l) {
    const UceLayerWeights& w = layers_[l];
    const std::string p = "layer" + std::to_string(l) + ".";
    const std::string k = "transformer_encoder.layers." + std::to_string(l) + ".";
    // The last layer only needs its CLS rows: keys/values come from every row, but queries,
    // the output projection and the feed-forward run on B rows instead of N (exact).
    const bool last = l + 1 == d.layers;
    const RowCount R = last ? B : N;
    const int qkv = node(p + "attn.qkv", UCE_OP_LINEAR,
                         {h, mat(k + "self_attn.in_proj_weight", w.in_proj_w), vec(k + "self_attn.in_proj_bias", w.in_proj_b)},
                         N, 3 * d.d_model);
    Node attn;
    attn.name = p + "attn";
    attn.type = UCE_OP_ATTENTION;
    attn.n_heads = static_cast<int32_t>(d.heads);
    attn.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.d_model / d.heads)));
    attn.srcs = {qkv, segments, key_bias, -1, last ? cls_rows : -1};
    const int a = g.add_node(attn, R, d.d_model);
    const int o = node(p + "attn.out", UCE_OP_LINEAR,
                       {a, mat(k + "self_attn.out_proj.weight", w.out_w), vec(k + "self_attn.out_proj.bias", w.out_b)}, R,
                       d.d_model);
    const int residual = last ? node(p + "cls_rows", UCE_OP_SLICE_ROWS, {h, cls_rows}, B, d.d_model) : h;
    const int h1 = node(p + "norm1", UCE_OP_LAYERNORM,
                        {o, vec(k + "norm1.weight", w.n1_w), vec(k + "norm1.bias", w.n1_b), residual}, R, d.d_model);
    const int f = node(p + "ffn.up", UCE_OP_LINEAR, {h1, mat(k + "linear1.weight", w.w1), vec(k + "linear1.bias", w.b1)}, R,
                       d.d_ff, UCE_ACT_RELU);
    const int f2 = node(p + "ffn.down", UCE_OP_LINEAR, {f, mat(k + "linear2.weight", w.w2), vec(k + "linear2.bias", w.b2)},
                        R, d.d_model);
    h = node(p + "norm2", UCE_OP_LAYERNORM, {f2, vec(k + "norm2.weight", w.n2_w), vec(k + "norm2.bias", w.n2_b), h1}, R,
             d.d_model);
  }
  for (int i = 0; i < 4; ++i) {
    const std::string p = "decoder." + std::to_string(i);
    const std::string key = p + (i < 3 ? ".0." : ".");
    const int64_t out = dec_w_[i].shape[0];
    h = node(p + ".linear", UCE_OP_LINEAR, {h, mat(key + "weight", dec_w_[i]), vec(key + "bias", dec_b_[i])}, B, out);
    if (i < 3)
      h = node(p + ".norm", UCE_OP_LAYERNORM,
               {h, vec(p + ".1.weight", dec_ln_w_[i]), vec(p + ".1.bias", dec_ln_b_[i]), -1}, B, out, UCE_ACT_GELU);
  }
  Node l2;
  l2.name = "output.embedding";
  l2.type = UCE_OP_L2NORM_ROWS;
  l2.eps = 1e-12f;
  l2.srcs = {h};
  g.mark_output(g.add_node(l2, B, d.output_dim));
  return g;
}

}  // namespace uce
