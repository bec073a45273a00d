// bench_forward.cpp — uce_bench_forward: the per-cell forward pass of the original UCE model on one
// backend, the machine's sgemm rate through the same backend (same process, same threads), and
// optionally a per-op profile of one encoder layer.
//
//   uce_bench_forward --model /tmp/uce-bench [--backend blas] [--threads 2] [--cells 8] [--batch 1]
//                     [--warmup 1] [--sgemm-repeats 5] [--profile] [--plugin-dir DIR]
//
// The model folder is made by bench/make_synthetic_model.py (model.torch, all_tokens.torch,
// sentence.npy). The last line is machine-readable ("RESULT key=value ...") for
// bench/run_forward_bench.sh.
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
#include "uce/uce_runner.hpp"

namespace {
using namespace uce::bench;
using uce::Status;

// The OpenBLAS core named by the blas backend's describe() ("..., core Haswell, ..."), else "?".
std::string core_name(const std::string& describe) {
  const size_t at = describe.find("core ");
  if (at == std::string::npos) return "?";
  const size_t end = describe.find(',', at);
  return describe.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5);
}

struct Options {
  BackendArgs b;
  ModelRunArgs run{5};
  int heads = 20;
  bool profile = false;
};

const char* kUsage =
    "usage: uce_bench_forward --model DIR [--backend blas] [--threads 2] [--cells 8] [--batch 1]\n"
    "       [--warmup 1] [--sgemm-repeats 5] [--no-sgemm] [--profile] [--heads 20] [--fp16 | --coopmat]\n"
    "       [--sentence DIR/sentence.npy] [--plugin-dir DIR]\n";

bool parse(int argc, char** argv, Options& o, std::string& err) {
  OptionParser p;
  o.b.add_to(p);
  o.run.add_to(p);
  p.integer("--heads", &o.heads);
  p.flag("--profile", &o.profile);
  return p.parse(argc, argv, err) && o.run.check(err);
}

// Matrix-product FLOPs (2 x multiply-adds) of one cell's forward pass as the cell graph runs it:
// every layer projects q|k|v for all n rows; the last layer's attention, out-projection and FFN
// run on the CLS row only; the decoder runs on the CLS row. Row-wise ops (norms, softmax,
// gathers) are not counted. The token projection (cached per run) is excluded.
struct ForwardFlops {
  double per_layer = 0, last_layer = 0, decoder = 0, total = 0;
};
ForwardFlops forward_flops(const uce::UceDims& d, int64_t n) {
  const double N = static_cast<double>(n), D = static_cast<double>(d.d_model), F = static_cast<double>(d.d_ff);
  auto layer = [&](double q) { return 2 * N * D * 3 * D + 4 * q * N * D + 2 * q * D * D + 4 * q * D * F; };
  ForwardFlops f;
  f.per_layer = layer(N);
  f.last_layer = layer(1);
  const double H = static_cast<double>(d.decoder_hidden), O = static_cast<double>(d.output_dim);
  f.decoder = 2 * (D * H + H * O + O * O + O * O);
  f.total = static_cast<double>(d.layers - 1) * f.per_layer + f.last_layer + f.decoder;
  return f;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "uce_bench_forward: %s\n", what.c_str());
  return 1;
}

// The two dominant GEMM shapes (the FFN's), timed together: their combined FLOPs / combined time.
struct SgemmRate {
  std::vector<OpTiming> shapes;
  double gflops = 0;          // per wall second
  double gflops_per_cpu = 0;  // per process CPU second (all threads): robust on a shared machine
};
uce::Result<SgemmRate> measure_sgemm(uce::Backend& b, int64_t n, int64_t d, int64_t ff, int repeats) {
  SgemmRate r;
  double flops = 0, seconds = 0, cpu = 0;
  for (auto [k, m] : {std::pair<int64_t, int64_t>{d, ff}, {ff, d}}) {
    auto t = time_linear(b, n, k, m, false, UCE_ACT_NONE, 2, repeats);
    if (!t) return uce::Result<SgemmRate>::error(t.message());
    t->name = "sgemm n=" + std::to_string(n) + " K=" + std::to_string(k) + " M=" + std::to_string(m);
    flops += t->flops;
    seconds += t->seconds.median;
    cpu += t->cpu_seconds;
    r.shapes.push_back(*t);
  }
  r.gflops = flops / seconds * 1e-9;
  r.gflops_per_cpu = flops / cpu * 1e-9;
  return r;
}

void print_sgemm(const SgemmRate& s, const char* when) {
  for (const auto& t : s.shapes)
    std::printf("  %s (%s): median %.2f ms (min %.2f, max %.2f, %d runs) = %.1f GFLOP/s\n", t.name.c_str(), when,
                t.seconds.median * 1e3, t.seconds.min * 1e3, t.seconds.max * 1e3, t.seconds.count,
                t.flops / t.seconds.median * 1e-9);
  std::printf("  sgemm rate (%s, both shapes): %.1f GFLOP/s; %.1f GFLOP per CPU second\n", when, s.gflops,
              s.gflops_per_cpu);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string err;
  if (!parse(argc, argv, o, err)) {
    std::fprintf(stderr, "uce_bench_forward: %s\n%s", err.c_str(), kUsage);
    return 2;
  }
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");

  // Backend
  uce::PluginRegistry registry;
  auto opened = open_backend(registry, o.b);
  if (!opened) return fail(opened.message());
  std::unique_ptr<uce::Backend> backend = opened.take();
  std::printf("backend: %s\n", backend->describe().c_str());
  std::printf("OpenBLAS core: %s; OPENBLAS_CORETYPE: %s\n", core_name(backend->describe()).c_str(),
              coretype ? coretype : "(not set)");

  // Model and sentence
  uce::UceModelOptions mo;
  mo.checkpoint = o.run.model + "/model.torch";
  mo.token_file = o.run.model + "/all_tokens.torch";
  mo.heads = o.heads;
  double t0 = now_seconds();
  auto model = uce::UceModel::load(mo, nullptr);
  if (!model) return fail(model.message());
  const double load_s = now_seconds() - t0;
  const uce::UceDims& d = (*model)->dims();
  std::printf("model: %s (loaded in %.2f s)\n", (*model)->summary().c_str(), load_s);
  auto sentence = read_npy_int64(o.run.sentence);
  if (!sentence) return fail(sentence.message());
  const int64_t n = static_cast<int64_t>(sentence->size());

  // The sgemm rate at the dominant shapes, before the forward runs (and again after: the machine
  // is shared, so both are shown).
  SgemmRate sgemm_before, sgemm_after;
  if (o.run.sgemm) {
    auto s = measure_sgemm(*backend, n, d.d_model, d.d_ff, o.run.sgemm_repeats);
    if (!s) return fail(s.message());
    sgemm_before = *s;
    print_sgemm(sgemm_before, "before");
  }

  // Runner: projects the sentence's distinct tokens once (reported separately, not per cell).
  uce::UceRunnerOptions ro;
  ro.rules.default_order = {o.b.backend};
  ro.max_tokens = n * o.run.batch;
  ro.max_sequences = o.run.batch;
  t0 = now_seconds();
  auto runner = uce::UceRunner::create(*model, {backend.get()}, *sentence, ro, nullptr);
  if (!runner) return fail(runner.message());
  const double project_s = now_seconds() - t0;
  print_token_projection(**runner, d.token_dim, d.d_model, project_s);

  // Forward: `batch` copies of the sentence per call (packed, no padding), per-cell time = call / batch.
  std::vector<const std::vector<int64_t>*> group(static_cast<size_t>(o.run.batch), &sentence.value());
  std::vector<float> emb;
  const int calls = (o.run.cells + o.run.batch - 1) / o.run.batch;
  EmbedTimes timed = time_embed_calls(**runner, group, emb, o.run.warmup, calls);
  if (!timed.status) return fail("embed: " + timed.status.message());
  std::vector<double>& times = timed.wall;
  const double cpu_timed = timed.cpu;
  for (size_t c = 0; c < static_cast<size_t>(o.run.batch); ++c) {  // sanity: finite unit rows
    double norm2 = 0;
    for (int64_t k = 0; k < d.output_dim; ++k) norm2 += static_cast<double>(emb[c * d.output_dim + k]) * emb[c * d.output_dim + k];
    if (!std::isfinite(norm2) || std::fabs(norm2 - 1.0) > 1e-3) return fail("embedding row is not a finite unit vector");
  }
  for (double& t : times) t /= o.run.batch;
  const Summary cell = summarize(times);
  const ForwardFlops fl = forward_flops(d, n);
  const double fwd_gflops = fl.total / cell.median * 1e-9;
  std::printf("forward: n = %lld, batch %d, %d cells (+%d warm-up call): per cell median %.4f s (min %.4f, max %.4f)\n",
              static_cast<long long>(n), o.run.batch, calls * o.run.batch, o.run.warmup, cell.median, cell.min, cell.max);
  const double cpu_per_cell = cpu_timed / (calls * o.run.batch);
  std::printf("  process CPU time per cell (all threads): %.4f s (= %.2f cores busy on average)\n", cpu_per_cell,
              cpu_per_cell / cell.median);
  std::printf("  %.3f cells/s; %.2f GFLOP per cell (layer %.2f, last layer %.2f, decoder %.4f) = %.1f GFLOP/s\n",
              1.0 / cell.median, fl.total * 1e-9, fl.per_layer * 1e-9, fl.last_layer * 1e-9, fl.decoder * 1e-9, fwd_gflops);

  double sgemm_gflops = 0, sgemm_per_cpu = 0;
  const double fwd_per_cpu = fl.total / cpu_per_cell * 1e-9;
  if (o.run.sgemm) {
    auto s = measure_sgemm(*backend, n, d.d_model, d.d_ff, o.run.sgemm_repeats);
    if (!s) return fail(s.message());
    sgemm_after = *s;
    print_sgemm(sgemm_after, "after");
    sgemm_gflops = std::max(sgemm_before.gflops, sgemm_after.gflops);
    sgemm_per_cpu = std::max(sgemm_before.gflops_per_cpu, sgemm_after.gflops_per_cpu);
    std::printf("forward = %.1f%% of the sgemm rate (%.1f GFLOP/s, the better of before/after)\n",
                100.0 * fwd_gflops / sgemm_gflops, sgemm_gflops);
    std::printf("forward per CPU second = %.1f%% of sgemm's (%.1f of %.1f GFLOP per CPU second)\n",
                100.0 * fwd_per_cpu / sgemm_per_cpu, fwd_per_cpu, sgemm_per_cpu);
  }

  if (o.profile) {
    std::printf("per-op profile of one layer (n = %lld), replayed op by op through Backend::compute:\n",
                static_cast<long long>(n));
    double predicted = 0;
    for (bool cls : {false, true}) {
      auto prof = profile_layer(*backend, n, d.d_model, d.heads, d.d_ff, cls, 1, 5);
      if (!prof) return fail(prof.message());
      double layer_s = 0, layer_cpu = 0;
      for (const auto& t : *prof) {
        layer_s += t.seconds.median;
        layer_cpu += t.cpu_seconds;
      }
      const double times_used = cls ? 1.0 : static_cast<double>(d.layers - 1);
      predicted += times_used * layer_s;
      std::printf("  %s layer (x%.0f): %.1f ms (CPU %.1f ms)\n", cls ? "last (CLS-only)" : "full", times_used,
                  layer_s * 1e3, layer_cpu * 1e3);
      for (const auto& t : *prof) {
        char rate[32] = "";
        if (t.flops > 0) std::snprintf(rate, sizeof(rate), "%.1f GFLOP/s", t.flops / t.seconds.median * 1e-9);
        std::printf("    %-10s %9.2f ms  %5.1f%%  CPU %9.2f ms  %s\n", t.name.c_str(), t.seconds.median * 1e3,
                    100.0 * t.seconds.median / layer_s, t.cpu_seconds * 1e3, rate);
      }
    }
    std::printf("  sum of ops over all layers: %.4f s vs measured cell %.4f s (rest: embedding, decoder, executor)\n",
                predicted, cell.median);
  }

  std::printf("RESULT engine backend=%s core=%s coretype_env=%s threads=%d batch=%d cells=%d n=%lld "
              "sec_per_cell_median=%.6f sec_per_cell_min=%.6f sec_per_cell_max=%.6f cells_per_s=%.4f "
              "cpu_sec_per_cell=%.6f gflop_per_cell=%.4f forward_gflops=%.2f sgemm_gflops=%.2f forward_pct_of_sgemm=%.1f "
              "forward_gflops_per_cpu_s=%.2f sgemm_gflops_per_cpu_s=%.2f forward_pct_of_sgemm_cpu=%.1f\n",
              o.b.backend.c_str(), core_name(backend->describe()).c_str(),
              coretype ? coretype : "unset", o.b.threads, o.run.batch, calls * o.run.batch, static_cast<long long>(n), cell.median,
              cell.min, cell.max, 1.0 / cell.median, cpu_per_cell, fl.total * 1e-9, fwd_gflops, sgemm_gflops,
              sgemm_gflops > 0 ? 100.0 * fwd_gflops / sgemm_gflops : 0.0, fwd_per_cpu, sgemm_per_cpu,
              sgemm_per_cpu > 0 ? 100.0 * fwd_per_cpu / sgemm_per_cpu : 0.0);
  return 0;
}
