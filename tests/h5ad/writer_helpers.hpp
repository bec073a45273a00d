// writer_helpers.hpp — the writer tests' shared setup: options over a fixture source, and
// deterministic unit-norm embeddings.
#pragma once

#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "uce/uce_stage.h"

struct WriterSetup {
  std::string path, source, counts = "X", key = "X_uce", fingerprint = "fp-1";
  int64_t n_cols = 4;
  int32_t copy_x = 1;
  std::vector<int64_t> var_rows{8, 1, 2, 0};
  std::vector<const char*> uns_keys{"model", "seed"};
  std::vector<const char*> uns_values{"uce-4l", "0"};
  std::vector<std::string> logs;

  static void log(void* user, int, const char* line) {
    static_cast<WriterSetup*>(user)->logs.emplace_back(line);
  }
  uce_writer_options options() {
    uce_writer_options o{};
    o.struct_size = sizeof(o);
    o.path = path.c_str();
    o.source_path = source.empty() ? nullptr : source.c_str();
    o.counts = counts.c_str();
    o.key = key.c_str();
    o.n_cols = n_cols;
    o.copy_x = copy_x;
    o.var_rows = var_rows.data();
    o.n_var_rows = static_cast<int64_t>(var_rows.size());
    o.uns_keys = uns_keys.data();
    o.uns_values = uns_values.data();
    o.n_uns = static_cast<int64_t>(uns_keys.size());
    o.fingerprint = fingerprint.c_str();
    o.log = log;
    o.log_user = this;
    return o;
  }
};

// Unit-norm rows whose values depend only on the source row (so runs can be compared).
inline std::vector<float> embeddings_for(const std::vector<int64_t>& rows, int64_t n_cols) {
  std::vector<float> out;
  for (int64_t r : rows) {
    double norm = 0;
    std::vector<double> v(static_cast<size_t>(n_cols));
    for (int64_t c = 0; c < n_cols; ++c) {
      v[static_cast<size_t>(c)] = std::sin(0.7 * static_cast<double>(r) + 1.3 * static_cast<double>(c)) + 0.1;
      norm += v[static_cast<size_t>(c)] * v[static_cast<size_t>(c)];
    }
    for (double x : v) out.push_back(static_cast<float>(x / std::sqrt(norm)));
  }
  return out;
}

inline bool file_exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }
