// uce_brain_model.hpp — the UCE-brain model (uce-models.md §2, uce-brain-notes.md §1, §2, §4):
// config.json + model.safetensors read directly, every tensor checked against the config, and the
// two graphs that compute it:
//   * the token graph: one row per DISTINCT token (embedding LayerNorm 5120, then the input
//     projector: "linear" = Linear -> LayerNorm -> GELU, "mlp" = Linear, GELU, Linear, GELU,
//     Linear, LayerNorm), run once per run for the tokens the dataset needs (exact: these steps
//     do not depend on the position);
//   * the cell graph: packed sentences -> one unit-length embedding per sentence.
//
// Readout (how a cell's row set is laid out and reduced):
//   kClsPrefix      "cls": only the real prefix of each sentence is run (the boolean mask makes
//                   the CLS output independent of padding), and the last layer computes its CLS
//                   rows only. Exact.
//   kMeanPadded     "mean", padded rows computed: every sentence is padded with PAD tokens to
//                   pad_length, padded keys are masked, padded rows go through every layer and
//                   into the mean (PyTorch without its fast path: norm_first models, or bf16
//                   autocast / grad-enabled runs).
//   kMeanZeroedPads "mean" as PyTorch evaluates a post-norm encoder in eval under no_grad: its
//                   nested-tensor fast path returns ZERO rows at padded positions, so each padded
//                   position contributes the constant c = LayerNorm_out(b_out). Only real rows
//                   are run; the graph adds ((P - n) / n) * c to the mean of the n real rows
//                   (same direction as the mean over P rows; the final L2 norm removes the scale).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "uce/graph.hpp"
#include "uce/io/tensor_view.hpp"
#include "uce/plugin_loader.hpp"
#include "uce/status.hpp"
#include "uce/uce_brain_config.hpp"

namespace uce {

// What the encoder yields at padded positions for "mean" readout (see above).
enum class BrainPadRows { kAuto, kComputed, kZeroed };
// "auto" | "computed" | "zeroed"; the error names the spellings.
Result<BrainPadRows> parse_brain_pad_rows(const std::string& text);

enum class BrainReadout { kClsPrefix, kMeanPadded, kMeanZeroedPads };
const char* brain_readout_name(BrainReadout r);

struct BrainModelOptions {
  std::string model_dir;     // Hugging Face folder: config.json + model.safetensors
  std::string config_file;   // "" = <model_dir>/config.json
  std::string weights_file;  // "" = <model_dir>/model.safetensors
  // "mean" readout only. kAuto = kZeroed for post-norm (PyTorch's fp32 eval fast path),
  // kComputed for norm_first (PyTorch never takes the fast path there).
  BrainPadRows pad_rows = BrainPadRows::kAuto;
};

struct BrainDims {
  int64_t token_dim = 0, d_model = 0, heads = 0, d_ff = 0, layers = 0, output_dim = 0;
  int64_t max_positions = 0, table_rows = 0;
  int64_t projector_hidden = 0;  // "mlp" projector's middle width (0 for "linear")
  bool final_norm = false;       // transformer_encoder.norm.* present (applied after the last layer)
};

struct BrainLayerWeights {
  io::TensorView in_proj_w, in_proj_b, out_w, out_b, w1, b1, w2, b2, n1_w, n1_b, n2_w, n2_b;
};

class BrainModel {
 public:
  static Result<std::shared_ptr<BrainModel>> load(const BrainModelOptions& options, const LogFn& log);

  const BrainConfig& config() const { return config_; }
  const BrainDims& dims() const { return dims_; }
  BrainReadout readout() const { return readout_; }
  const io::TensorView& token_table() const { return table_; }
  const std::string& weights_file() const { return weights_file_; }
  std::string summary() const;

  // Token graph: input "tokens.rows" [N, token_dim] f32 (table rows) -> "tokens.projected" [N, d].
  // Intermediate values: "tokens.embed_norm" (when use_embedding_layer_norm), "tokens.proj.0"
  // (first Linear, before its LN/GELU), and for "mlp" "tokens.proj.2", "tokens.proj.4".
  Graph token_graph() const;

  // Cell graph over a projected table [table_rows, d] held at `projected` (host memory that
  // outlives the graph). Inputs: "batch.tokens" i32 [N] (rows of the projected table),
  // "batch.positions" i32 [N], "batch.segments" i32 [B+1], and per readout
  //   kClsPrefix: "batch.cls_rows" i32 [B];  kMeanPadded: "batch.key_mask" u8 [N] (1 = pad);
  //   kMeanZeroedPads: "batch.lengths" i32 [B] (real rows per sentence, 1..pad_length) and
  //   `pad_fill` = pad_fill_table(pad_length) (host memory that outlives the graph).
  // Values: "embed.pe" (layer input), "layer{l}.out" (each layer's output; the last layer's is
  // [B] CLS rows for kClsPrefix), "layer{l}.attn.qkv", "layer{l}.attn", "layer{l}.attn.out",
  // "layer{l}.norm1", "layer{l}.ffn.up", "layer{l}.ffn.down"; pre-norm also "layer{l}.norm2"
  // and "layer{l}.attn.residual" (post-norm's second LayerNorm IS "layer{l}.out");
  // "encoder.norm" (if the checkpoint has one), "output.projected" (output projector, every row
  // the readout uses), "output.pooled" (mean readouts: the mean before normalisation; for
  // kMeanZeroedPads it is P/n times the P-row mean) and the output "output.embedding"
  // [B, output_dim], unit rows (cls: the L2 norm of the CLS row of "output.projected").
  Graph cell_graph(const float* projected, int64_t table_rows, const float* pad_fill = nullptr,
                   int64_t pad_length = 0) const;

  // kMeanZeroedPads: rows n = 0..pad_length of ((P - n) / n) * LayerNorm_out(b_out) (row 0 = 0).
  std::vector<float> pad_fill_table(int64_t pad_length) const;

 private:
  BrainConfig config_;
  BrainDims dims_;
  BrainReadout readout_ = BrainReadout::kClsPrefix;
  std::string weights_file_;
  io::TensorView table_;
  io::TensorView emb_ln_w_, emb_ln_b_;
  io::TensorView proj_w_[3], proj_b_[3], proj_ln_w_, proj_ln_b_;  // linear: [0] only; mlp: [0..2]
  io::TensorView pe_;
  std::vector<BrainLayerWeights> layers_;
  io::TensorView final_w_, final_b_;
  io::TensorView out_w_, out_b_, out_ln_w_, out_ln_b_;
  std::vector<std::unique_ptr<std::vector<float>>> owned_;  // weights copied for alignment
  const float* f32(const io::TensorView& t) const { return static_cast<const float*>(t.data); }
};

}  // namespace uce
