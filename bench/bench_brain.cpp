// bench_brain.cpp — uce_bench_brain: the per-cell forward pass of a UCE-brain model (issue
// "UCE-brain models") on one backend, through BrainModel + BrainRunner (what uce-run uses), and the
// sgemm rate at the FFN's shapes through the same backend for context.
//
//   uce_bench_brain --model /tmp/uce-brain-bench [--backend blas] [--threads 2] [--cells 8] [--batch 1]
//                   [--warmup 1] [--sgemm-repeats 3] [--no-sgemm] [--fp16] [--sentence FILE]
//                   [--plugin-dir DIR]
//
// The folder is made by bench/make_synthetic_brain.py (config.json, model.safetensors,
// sentence.npy: the pilot's shapes, n = 1071). Each call embeds `batch` copies of the sentence
// (packed: cls readout runs only the real rows); per-cell time = call time / batch. The last
// line is machine-readable ("RESULT brain key=value ...").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_options.hpp"
#include "bench_stats.hpp"
#include "embed_timing.hpp"
#include "npy_sentence.hpp"
#include "op_timing.hpp"
#include "uce/backend.hpp"
#include "uce/uce_brain_runner.hpp"

namespace {
using namespace uce::bench;
using uce::Status;

struct Options {
  BackendArgs b;
  ModelRunArgs run{3};
};

const char* kUsage =
    "usage: uce_bench_brain --model DIR [--backend blas] [--threads 2] [--cells 8] [--batch 1]\n"
    "       [--warmup 1] [--sgemm-repeats 3] [--no-sgemm] [--fp16] [--sentence FILE] [--plugin-dir DIR]\n";

bool parse(int argc, char** argv, Options& o, std::string& err) {
  OptionParser p;
  o.b.add_to(p);
  o.run.add_to(p);
  return p.parse(argc, argv, err) && o.run.check(err);
}

// Matrix-product FLOPs (2 x multiply-adds) of one cell of n real rows. `engine`: as the cell graph
// runs a cls-readout model (q|k|v for all n rows in every layer; the last layer's attention
// queries, out-projection and FFN on the CLS row only; the output projector on the CLS row).
// `full`: every layer on all n rows and the output projector on all n rows — what PyTorch's
// nn.TransformerEncoder computes (the "about 73 GFLOP per cell"). Row-wise ops (norms,
// softmax, gathers) are not counted; the token projection (once per run) is excluded.
struct BrainFlops {
  double per_layer = 0, last_layer = 0, output = 0, engine = 0, full = 0;
};
BrainFlops brain_flops(const uce::BrainDims& d, int64_t n) {
  const double N = static_cast<double>(n), D = static_cast<double>(d.d_model), F = static_cast<double>(d.d_ff);
  const double O = static_cast<double>(d.output_dim), L = static_cast<double>(d.layers);
  // q rows attend to N keys: Q K^T and A V are 2 q N D each.
  auto layer = [&](double q) { return 2 * N * D * 3 * D + 4 * q * N * D + 2 * q * D * D + 4 * q * D * F; };
  BrainFlops f;
  f.per_layer = layer(N);
  f.last_layer = layer(1);
  f.output = 2 * D * O;
  f.engine = (L - 1) * f.per_layer + f.last_layer + f.output;
  f.full = L * f.per_layer + N * f.output;
  return f;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "uce_bench_brain: %s\n", what.c_str());
  return 1;
}

// The FFN's two GEMM shapes at n rows through the backend: combined FLOPs / combined median time;
// `per_cpu`: combined FLOPs / combined process CPU seconds (robust on a shared machine).
double sgemm_rate(uce::Backend& b, int64_t n, int64_t d, int64_t ff, int repeats, double& per_cpu, std::string& err) {
  double flops = 0, seconds = 0, cpu = 0;
  for (auto [k, m] : {std::pair<int64_t, int64_t>{d, ff}, {ff, d}}) {
    auto t = time_linear(b, n, k, m, false, UCE_ACT_NONE, 1, repeats);
    if (!t) return err = t.message(), 0.0;
    std::printf("  sgemm n=%lld K=%lld M=%lld: median %.2f ms (min %.2f, max %.2f, %d runs) = %.1f GFLOP/s\n",
                static_cast<long long>(n), static_cast<long long>(k), static_cast<long long>(m),
                t->seconds.median * 1e3, t->seconds.min * 1e3, t->seconds.max * 1e3, t->seconds.count,
                t->flops / t->seconds.median * 1e-9);
    flops += t->flops;
    seconds += t->seconds.median;
    cpu += t->cpu_seconds;
  }
  per_cpu = flops / cpu * 1e-9;
  return flops / seconds * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string err;
  if (!parse(argc, argv, o, err)) {
    std::fprintf(stderr, "uce_bench_brain: %s\n%s", err.c_str(), kUsage);
    return 2;
  }
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");

  // Backend
  uce::PluginRegistry registry;
  auto opened = open_backend(registry, o.b);
  if (!opened) return fail(opened.message());
  std::unique_ptr<uce::Backend> backend = opened.take();
  std::printf("backend: %s\n", backend->describe().c_str());
  std::printf("OPENBLAS_CORETYPE: %s\n", coretype ? coretype : "(not set)");

  // Model, token layout, sentence
  double t0 = now_seconds();
  auto model = uce::BrainModel::load(uce::BrainModelOptions{o.run.model}, nullptr);
  if (!model) return fail(model.message());
  std::printf("model: %s (loaded in %.2f s)\n", (*model)->summary().c_str(), now_seconds() - t0);
  const uce::BrainDims& d = (*model)->dims();
  auto layout = uce::resolve_brain_token_layout((*model)->config(), {});
  if (!layout) return fail(layout.message());
  auto sentence = read_npy_int64(o.run.sentence);
  if (!sentence) return fail(sentence.message());
  const int64_t n = static_cast<int64_t>(sentence->size());

  double sgemm_gflops = 0, sgemm_per_cpu = 0;
  if (o.run.sgemm) {
    sgemm_gflops = sgemm_rate(*backend, n, d.d_model, d.d_ff, o.run.sgemm_repeats, sgemm_per_cpu, err);
    if (!err.empty()) return fail(err);
    std::printf("  sgemm rate (both shapes): %.1f GFLOP/s; %.1f GFLOP per CPU second\n", sgemm_gflops, sgemm_per_cpu);
  }

  // Runner: projects the sentence's distinct tokens once (reported separately, not per cell).
  uce::BrainRunnerOptions ro;
  ro.rules.default_order = {o.b.backend};
  ro.max_sequences = o.run.batch;
  ro.max_tokens = n * o.run.batch;
  ro.pad_token = layout->pad_token;
  ro.pad_length = layout->pad_length;
  t0 = now_seconds();
  auto runner = uce::BrainRunner::create(*model, {backend.get()}, *sentence, ro, nullptr);
  if (!runner) return fail(runner.message());
  const double project_s = now_seconds() - t0;
  print_token_projection(**runner, d.token_dim, d.d_model, project_s);

  // Forward: `batch` copies of the sentence per call; per-cell time = call / batch.
  std::vector<const std::vector<int64_t>*> group(static_cast<size_t>(o.run.batch), &sentence.value());
  std::vector<float> emb;
  const int calls = (o.run.cells + o.run.batch - 1) / o.run.batch;
  EmbedTimes timed = time_embed_calls(**runner, group, emb, o.run.warmup, calls);
  if (!timed.status) return fail("embed: " + timed.status.message());
  std::vector<double>& times = timed.wall;
  const double cpu_timed = timed.cpu;
  for (size_t c = 0; c < static_cast<size_t>(o.run.batch); ++c) {  // sanity: finite unit rows, all equal
    double norm2 = 0, diff = 0;
    for (int64_t k = 0; k < d.output_dim; ++k) {
      const float v = emb[c * d.output_dim + k];
      norm2 += static_cast<double>(v) * v;
      diff = std::max(diff, static_cast<double>(std::fabs(v - emb[k])));
    }
    if (!std::isfinite(norm2) || std::fabs(norm2 - 1.0) > 1e-3) return fail("embedding row is not a finite unit vector");
    if (diff > 1e-3) return fail("copies of one sentence in a batch gave different embeddings");
  }
  // The first values of the embedding, to compare by eye with pytorch_brain_baseline.py's line.
  std::printf("embedding[0][:6]:");
  for (int64_t k = 0; k < std::min<int64_t>(6, d.output_dim); ++k) std::printf(" %.6f", emb[k]);
  std::printf("\n");
  for (double& t : times) t /= o.run.batch;
  const Summary cell = summarize(times);
  const BrainFlops fl = brain_flops(d, n);
  const double gflops = fl.engine / cell.median * 1e-9;
  const double cpu_per_cell = cpu_timed / (calls * o.run.batch);
  std::printf("forward: n = %lld, batch %d, %d cells (+%d warm-up call): per cell median %.4f s (min %.4f, max %.4f)\n",
              static_cast<long long>(n), o.run.batch, calls * o.run.batch, o.run.warmup, cell.median, cell.min, cell.max);
  std::printf("  %.1f ms/cell; %.3f cells/s; process CPU time per cell (all threads) %.4f s (= %.2f cores busy)\n",
              cell.median * 1e3, 1.0 / cell.median, cpu_per_cell, cpu_per_cell / cell.median);
  std::printf("  %.2f GFLOP per cell as the engine runs it (layer %.2f, last CLS-only layer %.2f) = %.1f GFLOP/s; "
              "%.2f GFLOP as PyTorch computes it (all rows, all layers)\n",
              fl.engine * 1e-9, fl.per_layer * 1e-9, fl.last_layer * 1e-9, gflops, fl.full * 1e-9);
  const double per_cpu = fl.engine / cpu_per_cell * 1e-9;
  std::printf("  %.1f GFLOP per CPU second\n", per_cpu);
  if (o.run.sgemm)
    std::printf("  forward = %.1f%% of the sgemm rate (wall), %.1f%% per CPU second\n", 100.0 * gflops / sgemm_gflops,
                100.0 * per_cpu / sgemm_per_cpu);

  std::printf("RESULT brain backend=%s fp16=%d coretype_env=%s threads=%d batch=%d cells=%d n=%lld "
              "sec_per_cell_median=%.6f sec_per_cell_min=%.6f sec_per_cell_max=%.6f ms_per_cell=%.2f cells_per_s=%.3f "
              "cpu_sec_per_cell=%.6f gflop_per_cell=%.4f gflop_per_cell_full=%.4f forward_gflops=%.2f sgemm_gflops=%.2f "
              "forward_gflops_per_cpu_s=%.2f sgemm_gflops_per_cpu_s=%.2f project_s=%.3f\n",
              o.b.backend.c_str(), o.b.fp16 ? 1 : 0, coretype ? coretype : "unset", o.b.threads, o.run.batch, calls * o.run.batch,
              static_cast<long long>(n), cell.median, cell.min, cell.max, cell.median * 1e3, 1.0 / cell.median,
              cpu_per_cell, fl.engine * 1e-9, fl.full * 1e-9, gflops, sgemm_gflops, per_cpu, sgemm_per_cpu, project_s);
  return 0;
}
