// embed_timing.hpp — the part of uce_bench_forward and uce_bench_brain that is the same for both
// model families: report the once-per-run token projection, and time a runner's embed() calls.
#pragma once

#include <cstdint>
#include <cstdio>
#include <vector>

#include "bench_stats.hpp"
#include "uce/status.hpp"

namespace uce::bench {

// Prints the token projection the runner did at creation (`seconds` of it): distinct tokens from
// the projected table's size, FLOPs = 2 * distinct * token_dim * d_model.
template <typename Runner>
void print_token_projection(const Runner& runner, int64_t token_dim, int64_t d_model, double seconds) {
  const int64_t distinct = static_cast<int64_t>(runner.projected_table().size() / static_cast<size_t>(d_model));
  const double flops = 2.0 * static_cast<double>(distinct) * static_cast<double>(token_dim * d_model);
  std::printf("token projection (once per run): %lld distinct tokens in %.3f s = %.1f GFLOP/s\n",
              static_cast<long long>(distinct), seconds, flops / seconds * 1e-9);
}

struct EmbedTimes {
  std::vector<double> wall;  // seconds per timed call
  double cpu = 0;            // process CPU seconds of the timed calls only
  Status status;             // the first failing embed(), if any (later calls are skipped)
};

// `warmup` untimed calls, then `calls` timed calls of runner.embed(group, emb).
template <typename Runner>
EmbedTimes time_embed_calls(Runner& runner, const std::vector<const std::vector<int64_t>*>& group,
                            std::vector<float>& emb, int warmup, int calls) {
  EmbedTimes r;
  int call_index = 0;
  r.wall = time_runs(warmup, calls, [&] {
    if (!r.status) return;
    const double c0 = process_cpu_seconds();
    if (Status s = runner.embed(group, emb); !s) r.status = s;
    if (call_index++ >= warmup) r.cpu += process_cpu_seconds() - c0;
  });
  return r;
}

}  // namespace uce::bench
