// bench_ops.cpp — uce_bench_ops: per-op timings of one backend at the real shapes of the UCE model
// families, next to the device's own measured peaks (a large GEMM and a large copy through the
// same backend), as one JSON object on stdout. Used by the backend shoot-out
// (bench/shootout/shootout.py, issue #8).
//
//   uce_bench_ops [--backend blas] [--fp16 | --coopmat] [--threads 2] [--families uce,uce-brain] [--batch 1]
//                 [--warmup 2] [--repeats 5] [--peak-gemm 2048] [--peak-copy-mib 256] [--plugin-dir DIR]
//
// Shapes (spec/uce-models.md): original UCE (4 and 33 layers share the layer shapes) n = 1073
// rows (CLS + 24 chromosome blocks + 1024 draws), d 1280, 20 heads of 64, ff 5120, token dim
// 5120; UCE-brain pilot n = 1071, d 512, 8 heads of 64, ff 2048. Each family: the ops of one full
// layer and of the last (CLS-only) layer, as the cell graph runs them for `batch` packed
// sentences, plus the token projection GEMM (once per run, 1024 distinct tokens).
// Matrix products report GFLOP/s and the fraction of the GEMM peak; row-wise ops GB/s and the
// fraction of the copy peak. Times are medians over `repeats` runs after `warmup` runs.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench_options.hpp"
#include "bench_stats.hpp"
#include "op_timing.hpp"

namespace {
using namespace uce::bench;

struct Family {
  const char* name;
  int64_t n, d, heads, ff, token_dim;
};
const Family kFamilies[] = {{"uce", 1073, 1280, 20, 5120, 5120}, {"uce-brain", 1071, 512, 8, 2048, 5120}};
constexpr int64_t kDistinctTokens = 1024;

struct Options {
  BackendArgs b;
  std::string families = "uce,uce-brain";
  int batch = 1, warmup = 2, repeats = 5, peak_gemm = 2048, peak_copy_mib = 256;
};

const char* kUsage =
    "usage: uce_bench_ops [--backend blas] [--fp16 | --coopmat] [--threads 2] [--families uce,uce-brain] [--batch 1]\n"
    "       [--warmup 2] [--repeats 5] [--peak-gemm 2048] [--peak-copy-mib 256] [--plugin-dir DIR]\n";

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    out += c;
  }
  return out + "\"";
}

// One JSON object for a timing; `peak_gflops`/`peak_gbps` give the fraction of the device's peak.
std::string timing_json(const OpTiming& t, const std::string& family, const std::string& layer,
                        const std::string& shape, double peak_gflops, double peak_gbps) {
  char buf[640];
  const double med = t.seconds.median;
  const double gflops = t.flops > 0 ? t.flops / med * 1e-9 : 0, gbps = t.bytes > 0 ? t.bytes / med * 1e-9 : 0;
  double pct = 0;
  if (gflops > 0 && peak_gflops > 0) pct = 100.0 * gflops / peak_gflops;
  if (gbps > 0 && peak_gbps > 0) pct = 100.0 * gbps / peak_gbps;
  std::snprintf(buf, sizeof buf,
                "{\"family\": %s, \"layer\": %s, \"op\": %s, \"shape\": %s, \"median_s\": %.6e, \"min_s\": %.6e, "
                "\"max_s\": %.6e, \"repeats\": %d, \"flops\": %.6e, \"bytes\": %.6e, \"gflops\": %.3f, \"gbps\": %.3f, "
                "\"pct_of_peak\": %.2f}",
                json_string(family).c_str(), json_string(layer).c_str(), json_string(t.name).c_str(),
                json_string(shape).c_str(), med, t.seconds.min, t.seconds.max, t.seconds.count, t.flops, t.bytes,
                gflops, gbps, pct);
  return buf;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "uce_bench_ops: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  OptionParser p;
  o.b.add_to(p);
  p.text("--families", &o.families);
  p.integer("--batch", &o.batch);
  p.integer("--warmup", &o.warmup);
  p.integer("--repeats", &o.repeats);
  p.integer("--peak-gemm", &o.peak_gemm);
  p.integer("--peak-copy-mib", &o.peak_copy_mib);
  std::string err;
  if (!p.parse(argc, argv, err) || o.batch < 1 || o.repeats < 1 || o.peak_gemm < 1 || o.peak_copy_mib < 1) {
    std::fprintf(stderr, "uce_bench_ops: %s\n%s", err.empty() ? "--batch, --repeats and the peaks must be >= 1" : err.c_str(),
                 kUsage);
    return 2;
  }
  std::vector<const Family*> families;
  std::stringstream names(o.families);
  for (std::string name; std::getline(names, name, ',');) {
    const Family* found = nullptr;
    for (const Family& f : kFamilies)
      if (name == f.name) found = &f;
    if (!found) return fail("--families: unknown family '" + name + "' (expected uce or uce-brain)");
    families.push_back(found);
  }

  uce::PluginRegistry registry;
  auto opened = open_backend(registry, o.b);
  if (!opened) return fail(opened.message());
  std::unique_ptr<uce::Backend> backend = opened.take();

  // The device's peaks, measured through the same backend: a square GEMM and a large copy, before
  // and after the ops; the faster of the two counts (a shared machine's load varies).
  const int64_t g = o.peak_gemm;
  auto measure_peaks = [&](uce::bench::OpTiming& gemm, uce::bench::OpTiming& copy) -> uce::Status {
    auto gm = time_linear(*backend, g, g, g, false, UCE_ACT_NONE, o.warmup, o.repeats);
    if (!gm) return uce::Status::error("peak GEMM: " + gm.message());
    auto cp = time_copy(*backend, static_cast<size_t>(o.peak_copy_mib) << 20, o.warmup, o.repeats);
    if (!cp) return uce::Status::error("peak copy: " + cp.message());
    if (gemm.seconds.count == 0 || gm->seconds.median < gemm.seconds.median) gemm = *gm;
    if (copy.seconds.count == 0 || cp->seconds.median < copy.seconds.median) copy = *cp;
    return uce::Status::ok();
  };
  uce::bench::OpTiming gemm, copy;
  if (uce::Status s = measure_peaks(gemm, copy); !s) return fail(s.message());
  struct Timed {
    OpTiming t;
    std::string family, layer, shape;
  };
  std::vector<Timed> timed;  // formatted at the end, once the peaks are final
  for (const Family* f : families) {
    for (bool cls : {false, true}) {
      auto prof = profile_layer(*backend, f->n, f->d, f->heads, f->ff, cls, o.warmup, o.repeats, o.batch);
      if (!prof) return fail(std::string(f->name) + " layer: " + prof.message());
      const int64_t rows_in = f->n * o.batch, rows_out = cls ? o.batch : rows_in;
      for (const OpTiming& t : *prof) {
        std::string shape;
        const std::string R = std::to_string(rows_out), D = std::to_string(f->d), F = std::to_string(f->ff);
        if (t.name == "attn.qkv") shape = std::to_string(rows_in) + "x" + D + "x" + std::to_string(3 * f->d);
        else if (t.name == "attn") shape = R + " queries, " + std::to_string(f->n) + " keys, " +
                                           std::to_string(f->heads) + "x" + std::to_string(f->d / f->heads);
        else if (t.name == "attn.out") shape = R + "x" + D + "x" + D;
        else if (t.name == "ffn.up") shape = R + "x" + D + "x" + F;
        else if (t.name == "ffn.down") shape = R + "x" + F + "x" + D;
        else shape = R + "x" + D;
        timed.push_back({t, f->name, cls ? "last (CLS-only)" : "full", shape});
      }
    }
    auto proj = time_linear(*backend, kDistinctTokens, f->token_dim, f->d, true, UCE_ACT_NONE, o.warmup, o.repeats);
    if (!proj) return fail(std::string(f->name) + " token projection: " + proj.message());
    proj->name = "token.project";
    timed.push_back({*proj, f->name, "once per run",
                     std::to_string(kDistinctTokens) + "x" + std::to_string(f->token_dim) + "x" + std::to_string(f->d)});
  }

  if (!families.empty())
    if (uce::Status s = measure_peaks(gemm, copy); !s) return fail(s.message());
  gemm.name = "peak.gemm";
  copy.name = "peak.copy";
  const double peak_gflops = gemm.flops / gemm.seconds.median * 1e-9;
  const double peak_gbps = copy.bytes / copy.seconds.median * 1e-9;
  const std::string g_shape = std::to_string(g) + "x" + std::to_string(g) + "x" + std::to_string(g);
  std::vector<std::string> rows = {timing_json(gemm, "peak", "-", g_shape, peak_gflops, 0),
                                   timing_json(copy, "peak", "-", std::to_string(o.peak_copy_mib) + " MiB", 0, peak_gbps)};
  for (const Timed& x : timed) rows.push_back(timing_json(x.t, x.family, x.layer, x.shape, peak_gflops, peak_gbps));
  std::printf("{\n  \"tool\": \"uce_bench_ops\",\n  \"backend\": %s,\n  \"describe\": %s,\n  \"fp16\": %s,\n"
              "  \"threads\": %d,\n  \"batch\": %d,\n  \"warmup\": %d,\n  \"repeats\": %d,\n"
              "  \"peak_gflops\": %.3f,\n  \"peak_gbps\": %.3f,\n  \"ops\": [\n",
              json_string(o.b.backend).c_str(), json_string(backend->describe()).c_str(), o.b.fp16 ? "true" : "false",
              o.b.threads, o.batch, o.warmup, o.repeats, peak_gflops, peak_gbps);
  for (size_t i = 0; i < rows.size(); ++i) std::printf("    %s%s\n", rows[i].c_str(), i + 1 < rows.size() ? "," : "");
  std::printf("  ]\n}\n");
  return 0;
}
