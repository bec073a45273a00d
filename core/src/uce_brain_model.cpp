// uce_brain_model.cpp — loading a UCE-brain checkpoint (config.json + model.safetensors) and
// checking every tensor the forward pass reads against config.json.
#include "uce/uce_brain_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "state_dict_lookup.hpp"
#include "uce/io/model_files.hpp"
#include "uce/uce_plugin.h"

namespace uce {
namespace {

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

}  // namespace

Result<BrainPadRows> parse_brain_pad_rows(const std::string& text) {
  if (text == "auto") return BrainPadRows::kAuto;
  if (text == "computed") return BrainPadRows::kComputed;
  if (text == "zeroed") return BrainPadRows::kZeroed;
  return Result<BrainPadRows>::error("pad_rows '" + text + "' (expected \"auto\", \"computed\" or \"zeroed\")");
}

const char* brain_readout_name(BrainReadout r) {
  switch (r) {
    case BrainReadout::kClsPrefix: return "cls (real prefix only)";
    case BrainReadout::kMeanPadded: return "mean over pad_length rows, padded rows computed";
    case BrainReadout::kMeanZeroedPads: return "mean over pad_length rows, padded encoder rows zero (PyTorch eval fast path)";
  }
  return "?";
}

Result<std::shared_ptr<BrainModel>> BrainModel::load(const BrainModelOptions& o, const LogFn& log) {
  using R = Result<std::shared_ptr<BrainModel>>;
  const std::string config_file = o.config_file.empty() ? join_path(o.model_dir, "config.json") : o.config_file;
  const std::string weights_file = o.weights_file.empty() ? join_path(o.model_dir, "model.safetensors") : o.weights_file;
  auto cfg = read_brain_config(config_file);
  if (!cfg) return R::error(cfg.message());
  auto st = io::read_safetensors(weights_file);
  if (!st) return R::error(st.message());
  // Keys are addressed without the "uce." prefix of UCEForExpressionPrediction (a bare UCEModel
  // state dict, as uce-edge saves it, has none).
  const bool wrapped = std::any_of(st->tensors.begin(), st->tensors.end(),
                                   [](const auto& e) { return e.first == "uce.embedding_layer.embedding.weight"; });
  const StateDictLookup sd({.file = weights_file,
                            .prefix = wrapped ? "uce." : "",
                            .missing_hint = "is this a UCE-brain model.safetensors?",
                            .dtype_hint = "UCE-brain checkpoints are fp32"},
                           std::move(st->tensors));
  auto m = std::make_shared<BrainModel>();
  m->config_ = cfg.take();
  m->weights_file_ = weights_file;
  const BrainConfig& c = m->config_;
  BrainDims& d = m->dims_;
  d.token_dim = c.embedding_dim;
  d.d_model = c.d_model;
  d.heads = c.nhead;
  d.d_ff = c.dim_feedforward;
  d.output_dim = c.output_embedding_dim;
  const std::string& cf = c.path;

  const std::string e_why = cf + " 'vocab_size' " + std::to_string(c.vocab_size) + ", 'embedding_dim' " +
                            std::to_string(c.embedding_dim);
  const std::string d_why = cf + " 'd_model' " + std::to_string(c.d_model);
  UCE_TRY(sd.need(m->table_, "embedding_layer.embedding.weight", {c.vocab_size, c.embedding_dim}, e_why));
  d.table_rows = c.vocab_size;
  if (c.use_embedding_layer_norm) {
    UCE_TRY(sd.need(m->emb_ln_w_, "embedding_layer.layer_norm.weight", {d.token_dim}, e_why));
    UCE_TRY(sd.need(m->emb_ln_b_, "embedding_layer.layer_norm.bias", {d.token_dim}, e_why));
  } else if (sd.has("embedding_layer.layer_norm.weight")) {
    return R::error(cf + ": key 'use_embedding_layer_norm' is false but " + weights_file + " has '" + sd.prefix() +
                    "embedding_layer.layer_norm.weight' (expected them to agree)");
  }
  const std::string p = "input_gene_embedding_projector.";
  if (c.input_projection_type == "linear") {
    UCE_TRY(sd.need(m->proj_w_[0], p + "0.weight", {d.d_model, d.token_dim}, d_why));
    UCE_TRY(sd.need(m->proj_b_[0], p + "0.bias", {d.d_model}, d_why));
    UCE_TRY(sd.need(m->proj_ln_w_, p + "1.weight", {d.d_model}, d_why));
    UCE_TRY(sd.need(m->proj_ln_b_, p + "1.bias", {d.d_model}, d_why));
  } else {
    if (!sd.has(p + "2.weight"))
      return R::error(cf + ": key 'input_projection_type' is \"mlp\" but " + weights_file + " has no '" + sd.prefix() + p +
                      "2.weight' (expected the mlp projector's Linear layers 0, 2, 4 and LayerNorm 5)");
    d.projector_hidden = d.d_model * c.input_projection_expansion_factor;
    const std::string h_why = cf + " 'd_model' " + std::to_string(c.d_model) + " x 'input_projection_expansion_factor' " +
                              std::to_string(c.input_projection_expansion_factor);
    UCE_TRY(sd.need(m->proj_w_[0], p + "0.weight", {d.d_model, d.token_dim}, d_why));
    UCE_TRY(sd.need(m->proj_b_[0], p + "0.bias", {d.d_model}, d_why));
    UCE_TRY(sd.need(m->proj_w_[1], p + "2.weight", {d.projector_hidden, d.d_model}, h_why));
    UCE_TRY(sd.need(m->proj_b_[1], p + "2.bias", {d.projector_hidden}, h_why));
    UCE_TRY(sd.need(m->proj_w_[2], p + "4.weight", {d.d_model, d.projector_hidden}, h_why));
    UCE_TRY(sd.need(m->proj_b_[2], p + "4.bias", {d.d_model}, h_why));
    UCE_TRY(sd.need(m->proj_ln_w_, p + "5.weight", {d.d_model}, d_why));
    UCE_TRY(sd.need(m->proj_ln_b_, p + "5.bias", {d.d_model}, d_why));
  }
  if (c.input_projection_type == "linear" && sd.has(p + "2.weight"))
    return R::error(cf + ": key 'input_projection_type' is \"linear\" (or absent) but " + weights_file + " has '" +
                    sd.prefix() + p + "2.weight' (expected \"mlp\")");

  // Positional table: sinusoidal buffer [max_len, 1, d] or learned parameter [max_len, d]. Its row
  // count is what the model can run; config.json's max_sequence_length should agree.
  const bool learned = c.positional_encoding_type == "learned";
  UCE_TRY(sd.need(m->pe_, "pos_encoder.pe", learned ? std::vector<int64_t>{-1, d.d_model} : std::vector<int64_t>{-1, 1, d.d_model},
               cf + " 'positional_encoding_type' \"" + c.positional_encoding_type + "\", " + d_why));
  d.max_positions = m->pe_.shape[0];
  if (d.max_positions != c.max_sequence_length && log)
    log(UCE_LOG_WARN, "model: " + cf + " 'max_sequence_length' is " + std::to_string(c.max_sequence_length) +
                          " but pos_encoder.pe has " + std::to_string(d.max_positions) + " rows; using " +
                          std::to_string(d.max_positions));

  d.layers = sd.count_encoder_layers();
  if (d.layers != c.num_layers)
    return R::error(cf + ": key 'num_layers' is " + std::to_string(c.num_layers) + " but " + weights_file + " has " +
                    std::to_string(d.layers) + " transformer_encoder.layers (expected them to agree)");
  const std::string f_why = cf + " 'dim_feedforward' " + std::to_string(c.dim_feedforward);
  for (int64_t l = 0; l < d.layers; ++l) {
    const std::string k = "transformer_encoder.layers." + std::to_string(l) + ".";
    BrainLayerWeights w;
    UCE_TRY(sd.need(w.in_proj_w, k + "self_attn.in_proj_weight", {3 * d.d_model, d.d_model}, d_why));
    UCE_TRY(sd.need(w.in_proj_b, k + "self_attn.in_proj_bias", {3 * d.d_model}, d_why));
    UCE_TRY(sd.need(w.out_w, k + "self_attn.out_proj.weight", {d.d_model, d.d_model}, d_why));
    UCE_TRY(sd.need(w.out_b, k + "self_attn.out_proj.bias", {d.d_model}, d_why));
    UCE_TRY(sd.need(w.w1, k + "linear1.weight", {d.d_ff, d.d_model}, f_why));
    UCE_TRY(sd.need(w.b1, k + "linear1.bias", {d.d_ff}, f_why));
    UCE_TRY(sd.need(w.w2, k + "linear2.weight", {d.d_model, d.d_ff}, f_why));
    UCE_TRY(sd.need(w.b2, k + "linear2.bias", {d.d_model}, d_why));
    UCE_TRY(sd.need(w.n1_w, k + "norm1.weight", {d.d_model}, d_why));
    UCE_TRY(sd.need(w.n1_b, k + "norm1.bias", {d.d_model}, d_why));
    UCE_TRY(sd.need(w.n2_w, k + "norm2.weight", {d.d_model}, d_why));
    UCE_TRY(sd.need(w.n2_b, k + "norm2.bias", {d.d_model}, d_why));
    m->layers_.push_back(std::move(w));
  }
  // nn.TransformerEncoder applies its optional `norm` after the last layer; UCE-brain's code passes
  // none, but if a checkpoint carries one it is part of the forward pass.
  d.final_norm = sd.has("transformer_encoder.norm.weight");
  if (d.final_norm) {
    UCE_TRY(sd.need(m->final_w_, "transformer_encoder.norm.weight", {d.d_model}, d_why));
    UCE_TRY(sd.need(m->final_b_, "transformer_encoder.norm.bias", {d.d_model}, d_why));
  }
  const std::string o_why = cf + " 'output_embedding_dim' " + std::to_string(c.output_embedding_dim);
  UCE_TRY(sd.need(m->out_w_, "output_embedding_projector.0.weight", {d.output_dim, d.d_model}, o_why));
  UCE_TRY(sd.need(m->out_b_, "output_embedding_projector.0.bias", {d.output_dim}, o_why));
  UCE_TRY(sd.need(m->out_ln_w_, "output_embedding_projector.1.weight", {d.output_dim}, o_why));
  UCE_TRY(sd.need(m->out_ln_b_, "output_embedding_projector.1.bias", {d.output_dim}, o_why));

  if (c.embedding_reduction == "cls") {
    m->readout_ = BrainReadout::kClsPrefix;
  } else {
    const BrainPadRows mode = o.pad_rows == BrainPadRows::kAuto
                                  ? (c.norm_first ? BrainPadRows::kComputed : BrainPadRows::kZeroed)
                                  : o.pad_rows;
    m->readout_ = mode == BrainPadRows::kZeroed ? BrainReadout::kMeanZeroedPads : BrainReadout::kMeanPadded;
  }

  // safetensors promises no alignment: weights that are not 4-byte aligned are copied once. (The
  // token table is only read row by row through memcpy and stays mapped.)
  auto settle = [&](io::TensorView& t) {
    if (!t.data || reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) return;
    auto copy = std::make_unique<std::vector<float>>(static_cast<size_t>(t.numel()));
    std::memcpy(copy->data(), t.data, copy->size() * sizeof(float));
    t.data = copy->data();
    m->owned_.push_back(std::move(copy));
  };
  for (io::TensorView* t : {&m->emb_ln_w_, &m->emb_ln_b_, &m->proj_ln_w_, &m->proj_ln_b_, &m->pe_, &m->final_w_,
                            &m->final_b_, &m->out_w_, &m->out_b_, &m->out_ln_w_, &m->out_ln_b_})
    settle(*t);
  for (int i = 0; i < 3; ++i) {
    settle(m->proj_w_[i]);
    settle(m->proj_b_[i]);
  }
  for (auto& w : m->layers_)
    for (io::TensorView* t : {&w.in_proj_w, &w.in_proj_b, &w.out_w, &w.out_b, &w.w1, &w.b1, &w.w2, &w.b2, &w.n1_w,
                              &w.n1_b, &w.n2_w, &w.n2_b})
      settle(*t);
  if (log) {
    log(UCE_LOG_INFO, "model: " + m->summary());
    if (!c.model_type.empty() && c.model_type != "uce")
      log(UCE_LOG_WARN, "model: " + cf + " model_type is \"" + c.model_type + "\" (expected \"uce\")");
  }
  return m;
}

std::string BrainModel::summary() const {
  const BrainDims& d = dims_;
  const BrainConfig& c = config_;
  std::ostringstream os;
  os << "UCE-brain " << d.layers << " layers, d_model " << d.d_model << ", " << d.heads << " heads, ff " << d.d_ff
     << " (" << c.activation << "), " << (c.norm_first ? "pre-norm" : "post-norm") << (d.final_norm ? " + final norm" : "")
     << ", token_dim " << d.token_dim << (c.use_embedding_layer_norm ? " with LayerNorm" : "") << ", projector "
     << c.input_projection_type;
  if (d.projector_hidden) os << " (hidden " << d.projector_hidden << ")";
  os << ", " << c.positional_encoding_type << " positions " << d.max_positions << ", output " << d.output_dim
     << ", readout " << brain_readout_name(readout_) << ", vocabulary " << d.table_rows;
  return os.str();
}

std::vector<float> BrainModel::pad_fill_table(int64_t pad_length) const {
  // c = LayerNorm_out(W_out * 0 + b_out): what a zero encoder row becomes (double, eps 1e-5).
  const int64_t n = dims_.output_dim;
  std::vector<double> b(static_cast<size_t>(n)), cvec(static_cast<size_t>(n));
  double mean = 0, var = 0;
  for (int64_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, f32(out_b_) + i, sizeof v);
    b[i] = v;
    mean += v;
  }
  mean /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) var += (b[i] - mean) * (b[i] - mean);
  var /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    cvec[i] = (b[i] - mean) / std::sqrt(var + 1e-5) * f32(out_ln_w_)[i] + f32(out_ln_b_)[i];
  std::vector<float> t(static_cast<size_t>((pad_length + 1) * n), 0.0f);
  for (int64_t len = 1; len <= pad_length; ++len) {
    const double w = static_cast<double>(pad_length - len) / static_cast<double>(len);
    for (int64_t i = 0; i < n; ++i) t[len * n + i] = static_cast<float>(w * cvec[i]);
  }
  return t;
}

}  // namespace uce
