// config.hpp — the uce-run configuration file (TOML): schema, defaults, validation, --set overrides.
// Every key is documented in configs/README.md. Errors name the file, line and column of the
// offending value and say what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "uce/status.hpp"

namespace uce::cli {

struct InputConfig {
  std::string path;               // required, an existing file (absolute after loading)
  std::string species = "human";
  std::string counts = "X";       // "X" | "raw/X" | "layers/<name>"
  std::string gene_column;        // "" = var_names
  int64_t chunk_rows = 4096;
  int64_t max_chunk_mib = 256;
};

struct FilterConfig {
  bool enabled = true;
  int64_t min_genes = 25;
  int64_t min_cells = 10;
  std::string counts_policy = "warn";  // "warn" | "refuse"
};

struct ModelConfig {
  std::string family = "uce";     // "uce" | "uce-brain"
  std::string checkpoint;         // required: .torch file (uce) or model folder (uce-brain)
  std::string files;              // uce: folder with the token/gene files; default checkpoint's folder
  std::string token_file;         // uce: resolved; "" = use the checkpoint's own table
  int64_t heads = 20;             // uce-brain: 0 = read from config.json unless set explicitly
  int64_t chrom_token_offset = 143574;
  int64_t cls_token = 3;
  int64_t chrom_close_token = 2;
  int64_t pad_token = 0;
  int64_t pad_length = 1536;
  int64_t esm_rows = 143574;
  int64_t full_rows = 145469;
  std::string gene_mapping;       // uce-brain gene mapping JSON (resolved)
  bool case_insensitive = false;
  std::string protein_embeddings; // uce: resolved species .pt file
  std::string pad_rows = "auto"; // uce-brain "mean" readout: padded rows "computed" or "zeroed" (PyTorch's fp32 fast path)
};

struct SamplingConfig {
  std::string mode = "per-cell";  // "per-cell" | "numpy-per-cell" | "numpy-legacy"
  int64_t seed = 0;
  int64_t sample_size = 1024;
};

struct BatchingConfig {
  int64_t cells_per_batch = 32;
  int64_t compat_batch_size = 0;     // 0 = off
  int64_t max_tokens_per_batch = 0;  // 0 = automatic, see effective_max_tokens_per_batch()
  int64_t in_flight = 2;
};

struct BackendsConfig {
  std::vector<std::string> default_order = {"blas"};  // TOML key: backends.default
  int64_t threads = 0;
  std::vector<std::string> plugin_dirs;
  int64_t device = -1;
  std::string device_name;
  bool fp16 = false;
  bool coopmat = true;
  std::string cache_dir;
};

struct OutputConfig {
  std::string path;               // required; its parent folder must exist
  std::string key = "X_uce";
  bool copy_x = false;
  std::string sentences;          // optional .npy of token ids
  std::string npy;                // optional .npy of embeddings
  bool report = true;
  bool manifest = true;
  std::string color_by = "cell_type";
  bool resume = true;
};

struct LogConfig {
  std::string level = "info";     // "debug" | "info" | "warn"
  std::string progress = "auto";  // "auto" | "tty" | "lines" | "none"
};

struct RunConfig {
  InputConfig input;
  FilterConfig filter;
  ModelConfig model;
  SamplingConfig sampling;
  BatchingConfig batching;
  BackendsConfig backends;
  std::map<std::string, std::string> ops;    // canonical op type name ("linear", ...) -> backend
  std::map<std::string, std::string> nodes;  // node name -> backend (checked against the graph later)
  OutputConfig output;
  LogConfig log;

  std::string source;                   // the config file (or source name) it was read from
  std::set<std::string> explicit_keys;  // "section.key" given in the file or by --set

  // True when the user gave this key ("model.heads"), as opposed to a default.
  bool is_set(std::string_view dotted_key) const;
  // max_tokens_per_batch, or cells_per_batch * (sample_size + 2 * chromosomes + 1) when it is 0.
  int64_t effective_max_tokens_per_batch(int64_t chromosomes) const;
  // FNV-1a 64 (16 hex digits) over every setting that changes the embeddings; a partial output is
  // resumed only when it matches.
  std::string fingerprint() const;
  // The effective configuration as TOML (defaults filled in, paths resolved); parses back to an
  // equivalent RunConfig.
  std::string to_toml() const;
};

// Reads and validates a config file; set_overrides are "section.key=value" strings from --set
// (value parsed as a TOML value; anything that is not a valid TOML value is taken as a string).
// Relative paths in the file resolve against the file's folder; in --set, against the current folder.
Result<RunConfig> load_run_config(const std::string& path,
                                  const std::vector<std::string>& set_overrides);

// Same from text. Relative paths resolve against base_dir, or (when it is empty) the folder of
// source_name, or the current folder when source_name has none.
Result<RunConfig> parse_run_config(std::string_view toml_text, const std::string& source_name,
                                   const std::vector<std::string>& set_overrides,
                                   const std::string& base_dir = "");

// The species UCE ships protein embeddings for, with their file-name prefix
// (e.g. {"human", "Homo_sapiens"}), and the official full file names.
struct SpeciesFile {
  const char* species;
  const char* prefix;
  const char* official_file;
};
const std::vector<SpeciesFile>& uce_species_files();

// The protein-embedding .pt file of a species in files_dir/protein_embeddings/: the official file
// name, else the only "<Prefix>.*.pt" there, else a row of files_dir/new_species_protein_embeddings.csv
// (the official tool's table for added species). The error lists every file it looked at.
Result<std::string> find_protein_embedding_file(const std::string& files_dir,
                                                const std::string& species);

}  // namespace uce::cli
