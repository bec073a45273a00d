// uce_model.hpp — the original UCE model (uce-models.md §1): weights read straight from the
// official torch.save checkpoint, every dimension inferred from tensor shapes and checked, the
// token table chosen by the official rule, and the two graphs that compute it:
//   * the token graph: one row per DISTINCT token (L2 norm, Linear, GELU, LayerNorm, * sqrt(d)),
//     run once per run for the tokens the dataset needs (uce-models.md step 2 is per token);
//   * the cell graph: packed sentences of a batch -> one embedding per sentence.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "uce/graph.hpp"
#include "uce/io/tensor_view.hpp"
#include "uce/plugin_loader.hpp"
#include "uce/status.hpp"

namespace uce {

struct UceModelOptions {
  std::string checkpoint;   // the state dict (.torch)
  std::string token_file;   // all_tokens.torch; "" = use the checkpoint's table
  int64_t heads = 20;       // not recoverable from shapes (uce-models.md)
  int64_t esm_rows = 143574;  // token-table rule: token files of these row counts ...
  int64_t full_rows = 145469; // ... mean "use the checkpoint's copy"
};

struct UceDims {
  int64_t token_dim = 0, d_model = 0, heads = 0, d_ff = 0, layers = 0;
  int64_t decoder_hidden = 0, output_dim = 0, max_positions = 0, table_rows = 0;
};

struct UceLayerWeights {
  io::TensorView in_proj_w, in_proj_b, out_w, out_b, w1, b1, w2, b2, n1_w, n1_b, n2_w, n2_b;
};

class UceModel {
 public:
  static Result<std::shared_ptr<UceModel>> load(const UceModelOptions& options, const LogFn& log);

  const UceDims& dims() const { return dims_; }
  const io::TensorView& token_table() const { return table_; }
  const std::string& table_choice() const { return table_choice_; }  // which table and why
  std::string summary() const;

  // Token graph: input "tokens.rows" [N, token_dim] f32 (table rows) -> "tokens.projected" [N, d].
  Graph token_graph() const;

  // Cell graph over a projected table [table_rows, d] held at `projected` (host memory that
  // outlives the graph). Inputs: "batch.tokens" i32 [N] (rows of the projected table),
  // "batch.positions" i32 [N], "batch.segments" i32 [B+1], "batch.cls_rows" i32 [B], and with
  // `padding_bias`, "batch.key_bias" f32 [N] (the official float padding mask). Output
  // "output.embedding" [B, output_dim], unit rows.
  Graph cell_graph(const float* projected, int64_t table_rows, bool padding_bias) const;

 private:
  UceDims dims_;
  io::TensorView table_;
  std::string table_choice_;
  io::TensorView pe_, enc_w_, enc_b_, enc_ln_w_, enc_ln_b_;
  std::vector<UceLayerWeights> layers_;
  io::TensorView dec_w_[4], dec_b_[4], dec_ln_w_[3], dec_ln_b_[3];
  // Weights that were not 4-byte aligned or not contiguous in the file, copied once.
  std::vector<std::unique_ptr<std::vector<float>>> owned_;
  const float* f32(const io::TensorView& t) const;
};

}  // namespace uce
