// uce_brain_config.hpp — a UCE-brain checkpoint's config.json (uce-brain-notes.md §1) and the
// token layout its cell sentences use (§3).
//
// Every hyper-parameter is read from config.json; a key that is absent takes the default of
// UCEConfig's signature (the notes: "trust the signature"), except `nhead`, which is required:
// the head count cannot be recovered from the weights and the code default (16) is known not to
// be the pilot's. Keys the newer code added (norm_first, input_projection_type,
// input_projection_expansion_factor) fall back to the values the code uses when they are absent.
// Errors are one line: "<file>: key '<key>' <what is wrong> (expected <what>)".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "uce/status.hpp"

namespace uce {

struct BrainConfig {
  std::string path;  // the file it came from (for messages)
  int64_t vocab_size = 145469;
  int64_t embedding_dim = 5120;
  int64_t padding_idx = 0;
  bool use_embedding_layer_norm = true;
  int64_t d_model = 512;
  int64_t nhead = 0;  // required
  int64_t num_layers = 4;
  int64_t expansion_factor = 4;
  int64_t dim_feedforward = 0;  // resolved: the key, else d_model * expansion_factor
  std::string activation = "gelu";  // "gelu" (exact erf) | "relu": the encoder feed-forward
  int64_t max_sequence_length = 10000;
  std::string positional_encoding_type = "sinusoidal";  // | "learned"
  std::string embedding_reduction = "cls";              // | "mean"
  int64_t output_embedding_dim = 512;
  bool norm_first = false;
  std::string input_projection_type = "linear";  // | "mlp"
  int64_t input_projection_expansion_factor = 4;
  // Cell-sentence layout keys, when the config carries them (newer checkpoints).
  std::optional<int64_t> cls_token_idx, chrom_token_offset, chrom_token_right_idx, pad_token_idx, pad_length,
      sample_size;
  std::string model_type;  // "uce" expected; other values are reported, not fatal
};

// Reads and checks config.json.
Result<BrainConfig> read_brain_config(const std::string& path);
// The same from text already in memory; `path` only names the source in messages.
Result<BrainConfig> parse_brain_config(std::string_view json_text, const std::string& path);

// The token ids of a UCE-brain cell sentence: [CLS], then per chromosome (chromosome_id +
// chrom_token_offset), its genes, chrom_close; then PAD up to pad_length.
struct BrainTokenLayout {
  int64_t cls_token = 1;
  int64_t chrom_token_offset = 1000;
  int64_t chrom_close_token = 2000;
  int64_t pad_token = 0;
  int64_t pad_length = 2048;
  int64_t sample_size = 1024;
  // One line for the run log: every value and where it came from (override/config.json/default).
  std::string description;
};

// Values given by the user's run configuration; they win over config.json.
struct BrainTokenOverrides {
  std::optional<int64_t> cls_token, chrom_token_offset, chrom_close_token, pad_token, pad_length, sample_size;
};

// Priority: overrides > config.json keys > the pilot's layout (CLS 1, offset 1000, close 2000,
// PAD 0, pad length 2048, 1024 samples). Values must be >= 0 (pad_length, sample_size >= 1) and
// token ids below vocab_size.
Result<BrainTokenLayout> resolve_brain_token_layout(const BrainConfig& config, const BrainTokenOverrides& overrides);

}  // namespace uce
