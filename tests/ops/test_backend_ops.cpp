// test_backend_ops — every op x every backend x many shapes, compared with the built-in reference
// backend (architecture.md "How it is tested"). Backends: the built-in reference, plus every
// uce_backend_*.so in the plugin folders (so new GPU plugins are picked up without changes here).
//
//   test_backend_ops                      all backends, all ops (what ctest runs per backend with -b)
//   test_backend_ops -b vulkan -o attention -v
//   test_backend_ops --write-table docs/op-support.md
//   test_backend_ops --list
//
// Exit status 0 only if every case that ran passed and every selected backend ran at least one
// case. Unsupported cases (supports_op = 0) are skipped and counted, never reported as passed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "case_runner.hpp"
#include "compare.hpp"
#include "op_case.hpp"
#include "support_table.hpp"
#include "uce/backend.hpp"
#include "uce/ops.hpp"
#include "uce/plugin_loader.hpp"

#ifndef UCE_OPS_PLUGIN_DIR
#define UCE_OPS_PLUGIN_DIR ""
#endif

namespace {

using namespace uce::ops_test;

struct Options {
  std::vector<std::string> backends;
  std::vector<int> ops;
  std::string case_filter;
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> plugin_files;
  int big = -1;  // -1: on for every backend except reference; 0: never; 1: always
  int threads = 0;
  bool allow_fp16 = false;
  bool allow_coopmat = false;  // with allow_fp16, or alone: fp32 tolerances, tensor cores allowed
  bool list = false;
  bool verbose = false;
  std::string table_path;
};

void usage() {
  std::printf(
      "usage: test_backend_ops [options]\n"
      "  -b, --backend NAME    test only this backend (repeatable): reference, blas, vulkan, opencl...\n"
      "  -o, --op NAME         test only this op (repeatable): linear, attention, layernorm, gelu, ...\n"
      "  -c, --case TEXT       only cases whose label contains TEXT\n"
      "  --plugin-dir DIR      plugin folder to scan (repeatable; default: the build's plugin folder)\n"
      "  --plugin FILE         load this plugin file as well\n"
      "  --big / --no-big      force the real UCE shapes on / off (default: on, except for reference)\n"
      "  --threads N           uce_backend_options.threads (0 = all cores)\n"
      "  --allow-fp16          open backends with allow_fp16 + allow_coopmat (looser GEMM/attention tolerance)\n"
      "  --allow-coopmat       open backends with allow_coopmat only (fp32 tolerances: fp32 on tensor cores)\n"
      "  --write-table PATH    write the op x backend support table (Markdown)\n"
      "  --list                list backends and cases, run nothing\n"
      "  -v, --verbose         one line per case\n");
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "test_backend_ops: %s needs a value\n", a.c_str());
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-b" || a == "--backend") {
      if (!value(v)) return false;
      o.backends.push_back(v);
    } else if (a == "-o" || a == "--op") {
      if (!value(v)) return false;
      const int t = uce::op_type_from_name(v);
      if (t < 0) {
        std::fprintf(stderr, "test_backend_ops: unknown op '%s'\n", v.c_str());
        return false;
      }
      o.ops.push_back(t);
    } else if (a == "-c" || a == "--case") {
      if (!value(o.case_filter)) return false;
    } else if (a == "--plugin-dir") {
      if (!value(v)) return false;
      o.plugin_dirs.push_back(v);
    } else if (a == "--plugin") {
      if (!value(v)) return false;
      o.plugin_files.push_back(v);
    } else if (a == "--big") {
      o.big = 1;
    } else if (a == "--no-big") {
      o.big = 0;
    } else if (a == "--threads") {
      if (!value(v)) return false;
      o.threads = std::atoi(v.c_str());
    } else if (a == "--allow-fp16") {
      o.allow_fp16 = true;
    } else if (a == "--allow-coopmat") {
      o.allow_coopmat = true;
    } else if (a == "--write-table") {
      if (!value(o.table_path)) return false;
    } else if (a == "--list") {
      o.list = true;
    } else if (a == "-v" || a == "--verbose") {
      o.verbose = true;
    } else if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    } else {
      std::fprintf(stderr, "test_backend_ops: unknown argument '%s'\n", a.c_str());
      usage();
      return false;
    }
  }
  if (o.plugin_dirs.empty() && std::strlen(UCE_OPS_PLUGIN_DIR) > 0) o.plugin_dirs.push_back(UCE_OPS_PLUGIN_DIR);
  return true;
}

struct Target {
  std::string name;
  std::unique_ptr<uce::Backend> backend;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) return 2;
  std::string command = "test_backend_ops";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];

  uce::PluginRegistry registry;
  registry.discover(opt.plugin_dirs, [&](int level, const std::string& line) {
    if (opt.verbose || level >= UCE_LOG_WARN) std::fprintf(stderr, "%s\n", line.c_str());
  });
  bool setup_failed = false;
  for (const auto& f : opt.plugin_files)
    if (auto r = registry.load_file(f); !r) {
      std::fprintf(stderr, "FAIL %s\n", r.message().c_str());
      setup_failed = true;
    }

  uce_backend_options bopt{};
  bopt.struct_size = sizeof(bopt);
  bopt.threads = opt.threads;
  bopt.device_index = -1;
  bopt.allow_fp16 = opt.allow_fp16 ? 1 : 0;
  bopt.allow_coopmat = opt.allow_fp16 || opt.allow_coopmat ? 1 : 0;

  // The backends under test.
  std::vector<const uce_plugin_header*> headers;
  if (opt.backends.empty()) {
    headers = registry.plugins(UCE_PLUGIN_BACKEND);
  } else {
    for (const auto& name : opt.backends) {
      auto h = registry.find(name, UCE_PLUGIN_BACKEND);
      if (!h) {
        std::fprintf(stderr, "FAIL backend %s: %s\n", name.c_str(), h.message().c_str());
        setup_failed = true;
        continue;
      }
      headers.push_back(*h);
    }
  }

  std::vector<CaseSpec> specs;
  for (auto& s : all_case_specs()) {
    if (!opt.ops.empty() && std::find(opt.ops.begin(), opt.ops.end(), s.type) == opt.ops.end()) continue;
    if (!opt.case_filter.empty() && s.label.find(opt.case_filter) == std::string::npos) continue;
    specs.push_back(std::move(s));
  }

  if (opt.list) {
    for (const auto& c : registry.candidates())
      std::printf("plugin %s: %s%s\n", c.path.c_str(), c.loaded ? "" : "NOT LOADED: ", c.reason.c_str());
    for (const auto& s : specs)
      std::printf("case %-13s %s%s\n", uce::op_type_name(s.type), s.label.c_str(), s.big ? "  [big]" : "");
    return setup_failed ? 1 : 0;
  }

  auto oracle_open = uce::Backend::open(uce::reference_backend_header(), bopt);
  if (!oracle_open) {
    std::fprintf(stderr, "FAIL cannot open the reference backend as oracle: %s\n", oracle_open.message().c_str());
    return 1;
  }
  std::unique_ptr<uce::Backend> oracle = oracle_open.take();

  std::vector<Target> targets;
  std::vector<std::string> backend_lines;
  for (const auto* h : headers) {
    auto b = uce::Backend::open(h, bopt);
    if (!b) {
      std::fprintf(stderr, "FAIL backend %s could not be opened: %s\n", h->name, b.message().c_str());
      setup_failed = true;
      continue;
    }
    Target t{h->name, b.take()};
    const std::string line = t.backend->describe();
    std::printf("backend %s\n", line.c_str());
    backend_lines.push_back("`" + t.name + "`: " + line);
    targets.push_back(std::move(t));
  }

  Tally tally;
  int failures = 0;
  const auto run_start = std::chrono::steady_clock::now();
  for (const auto& spec : specs) {
    std::unique_ptr<OpCase> c;
    std::unique_ptr<RunOutcome> expected;
    for (auto& t : targets) {
      const bool big_here = opt.big == 1 || (opt.big == -1 && t.name != "reference");
      if (spec.big && !big_here) continue;
      Cell& cell = tally.at(t.name, spec.variant);
      if (!c) c = std::make_unique<OpCase>(spec.make());
      const std::string id = t.name + " " + uce::op_type_name(spec.type) + " [" + spec.label + "]";
      const auto t0 = std::chrono::steady_clock::now();
      RunOutcome got = run_case(*t.backend, *c, false);
      const double secs = seconds_since(t0);
      if (got.kind == RunOutcome::Kind::kUnsupported) {
        ++cell.unsupported;
        if (cell.reasons.size() < 4) cell.reasons.insert(got.message);
        if (opt.verbose) std::printf("skip %s: unsupported: %s\n", id.c_str(), got.message.c_str());
        continue;
      }
      std::vector<std::string> problems = got.problems;
      if (got.kind == RunOutcome::Kind::kFailed) problems.push_back("compute failed: " + got.message);
      Comparison cmp;
      const double tol = tolerance_for(*c, opt.allow_fp16);
      if (got.kind == RunOutcome::Kind::kDone) {
        if (!expected) {
          expected = std::make_unique<RunOutcome>(run_case(*oracle, *c, true));
          if (expected->kind != RunOutcome::Kind::kDone || !expected->problems.empty())
            std::fprintf(stderr, "ORACLE %s [%s]: %s %s\n", uce::op_type_name(spec.type), spec.label.c_str(),
                         expected->message.c_str(), expected->problems.empty() ? "" : expected->problems[0].c_str());
        }
        if (expected->kind != RunOutcome::Kind::kDone) {
          problems.push_back("the reference backend failed on this case: " + expected->message);
        } else {
          for (const auto& p : expected->problems) problems.push_back("reference backend: " + p);
          cmp = compare_outputs(got.output, expected->output);
          char buf[200];
          if (cmp.reference_nonfinite) {
            std::snprintf(buf, sizeof buf, "the reference output has %lld non-finite values (bad case)",
                          static_cast<long long>(cmp.reference_nonfinite));
            problems.push_back(buf);
          }
          if (cmp.nonfinite) {
            std::snprintf(buf, sizeof buf, "%lld NaN/Inf outputs where the reference is finite",
                          static_cast<long long>(cmp.nonfinite));
            problems.push_back(buf);
          }
          if (!(cmp.nmse <= tol)) {
            std::snprintf(buf, sizeof buf, "NMSE %.3g > tolerance %.1g (max |diff| %.3g)", cmp.nmse, tol, cmp.max_abs_diff);
            problems.push_back(buf);
          }
        }
      }
      if (problems.empty()) {
        ++cell.passed;
        if (opt.verbose) std::printf("ok   %s  nmse %.2g  %.3fs\n", id.c_str(), cmp.nmse, secs);
      } else {
        ++cell.failed;
        ++failures;
        std::printf("FAIL %s:", id.c_str());
        for (const auto& p : problems) std::printf(" %s;", p.c_str());
        std::printf("\n");
      }
      std::fflush(stdout);
    }
  }

  std::printf("\n%-12s %7s %7s %12s\n", "backend", "passed", "failed", "unsupported");
  for (const auto& t : targets) {
    const Cell total = tally.total(t.name);
    std::printf("%-12s %7d %7d %12d\n", t.name.c_str(), total.passed, total.failed, total.unsupported);
    if (total.passed + total.failed == 0) {
      std::printf("FAIL backend %s loaded but ran zero cases\n", t.name.c_str());
      ++failures;
    }
  }
  std::printf("%.1f s\n", seconds_since(run_start));

  if (!opt.table_path.empty()) {
    const std::string err = write_support_table(opt.table_path, tally, backend_lines, command);
    if (!err.empty()) {
      std::fprintf(stderr, "FAIL %s\n", err.c_str());
      ++failures;
    } else {
      std::printf("wrote %s\n", opt.table_path.c_str());
    }
  }
  return failures == 0 && !setup_failed ? 0 : 1;
}
