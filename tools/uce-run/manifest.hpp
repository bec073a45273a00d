// manifest.hpp — the run manifest: a JSON file next to the output that says exactly what was run
// (engine, config, input file hashes, model, backend plan, sampler, counts, timings).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "uce/status.hpp"

namespace uce::cli {

struct InputFileInfo {
  std::string role;        // "input", "checkpoint", "token_file", ...
  std::string path;
  uint64_t size_bytes = 0;
  std::string sha256;      // hex
  std::string hash = "sha256";  // "sha256" (whole file) or "sha256-partial" (see describe_input_file)
  uint64_t partial_chunk_bytes = 0;  // sha256-partial: bytes hashed at each end
};

struct BackendAssignment {
  std::string node;
  std::string backend;
  std::string reason;
};

struct StageTiming {
  std::string stage;
  double busy_s = 0;       // time the stage was working (summed over its threads)
  double wall_s = 0;       // first start to last end
  double cells_per_s = 0;
};

struct RunManifest {
  std::string engine_version;
  std::string date_utc;           // ISO 8601, e.g. "2025-01-31T12:00:00Z"; see utc_now_iso8601()
  std::string command_line;
  std::string config_toml;        // RunConfig::to_toml()
  std::string fingerprint;        // RunConfig::fingerprint()
  std::string output_path;
  std::vector<InputFileInfo> inputs;
  std::vector<std::string> model_summary;   // free-form lines: family, layers, d_model, token table...
  std::vector<BackendAssignment> backend_plan;
  std::string sampler;            // sampling mode
  int64_t seed = 0;
  // counts
  int64_t cells_in_file = 0;
  int64_t cells_embedded = 0;
  std::map<std::string, int64_t> cells_skipped;   // reason -> cells
  int64_t genes_in_file = 0;
  int64_t genes_used = 0;
  std::map<std::string, int64_t> genes_dropped;   // reason -> genes
  // timings
  std::vector<StageTiming> timings;
  double wall_s = 0;
  double cells_per_s = 0;
};

// Size and SHA-256 of a file. Files smaller than full_hash_limit are hashed whole; bigger ones (a
// multi-GB token table would take minutes) get hash "sha256-partial" = SHA-256 over the file size
// as 8 little-endian bytes, then the first and the last `partial_chunk` bytes.
Result<InputFileInfo> describe_input_file(const std::string& role, const std::string& path,
                                          uint64_t full_hash_limit = 256ull << 20,
                                          uint64_t partial_chunk = 16ull << 20);

std::string utc_now_iso8601();

// The manifest as JSON text (pretty-printed).
std::string manifest_json(const RunManifest& m);

// Writes manifest_json() to path through a temporary file and a rename, so a reader never sees
// half a manifest.
Status write_manifest_json(const std::string& path, const RunManifest& m);

// Writes text to path atomically (temp file in the same folder + rename). Used for the report too.
Status write_file_atomic(const std::string& path, const std::string& text);

}  // namespace uce::cli
