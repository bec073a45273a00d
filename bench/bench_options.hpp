// bench_options.hpp — what the benchmark programs (uce_bench_forward, uce_bench_brain, uce_bench_ops)
// share: a small command-line parser, the whole-model benchmarks' run options (--name VALUE for strings and non-negative integers, --flag
// for booleans) and the opening of one backend plugin with the common options (--backend,
// --plugin-dir, --threads, --fp16).
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "uce/backend.hpp"

namespace uce::bench {

class OptionParser {
 public:
  void text(const std::string& name, std::string* value) { strings_[name] = value; }
  void integer(const std::string& name, int* value) { ints_[name] = value; }
  // `--name` sets *value to `set_to` (so "--no-sgemm" can clear a flag that defaults to true).
  void flag(const std::string& name, bool* value, bool set_to = true) { flags_[name] = {value, set_to}; }

  // false with `err` set on an unknown option, a missing value or a bad integer.
  bool parse(int argc, char** argv, std::string& err) const {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (auto f = flags_.find(a); f != flags_.end()) {
        *f->second.first = f->second.second;
      } else if (auto s = strings_.find(a); s != strings_.end() && i + 1 < argc) {
        *s->second = argv[++i];
      } else if (auto n = ints_.find(a); n != ints_.end() && i + 1 < argc) {
        char* end = nullptr;
        const long v = std::strtol(argv[++i], &end, 10);
        if (*end || v < 0) return err = a + " expects a non-negative integer, got '" + argv[i] + "'", false;
        *n->second = static_cast<int>(v);
      } else {
        return err = "unknown or incomplete option '" + a + "'", false;
      }
    }
    return true;
  }

 private:
  std::map<std::string, std::string*> strings_;
  std::map<std::string, int*> ints_;
  std::map<std::string, std::pair<bool*, bool>> flags_;
};

struct BackendArgs {
  std::string backend = "blas", plugin_dir;
  int threads = 2;
  bool fp16 = false;     // let GPU backends use fp16 weights and cooperative matrices
  bool coopmat = false;  // cooperative matrices without fp16 results (as uce-run's fp32 default)

  void add_to(OptionParser& p) {
    p.text("--backend", &backend);
    p.text("--plugin-dir", &plugin_dir);
    p.integer("--threads", &threads);
    p.flag("--fp16", &fp16);
    p.flag("--coopmat", &coopmat);
  }
};

// The options of the whole-model benchmarks (uce_bench_forward, uce_bench_brain): a model folder
// and its sentence, cells timed in batches, warm-up calls, and the sgemm reference of the backend.
struct ModelRunArgs {
  std::string model, sentence;
  int cells = 8, batch = 1, warmup = 1, sgemm_repeats;
  bool sgemm = true;

  explicit ModelRunArgs(int default_sgemm_repeats) : sgemm_repeats(default_sgemm_repeats) {}
  void add_to(OptionParser& p) {
    p.text("--model", &model);
    p.text("--sentence", &sentence);
    p.integer("--cells", &cells);
    p.integer("--batch", &batch);
    p.integer("--warmup", &warmup);
    p.integer("--sgemm-repeats", &sgemm_repeats);
    p.flag("--no-sgemm", &sgemm, false);
  }
  // After parsing: required and consistent values; the sentence defaults to <model>/sentence.npy.
  bool check(std::string& err) {
    if (model.empty()) return err = "--model DIR is required", false;
    if (cells < 1 || batch < 1) return err = "--cells and --batch must be >= 1", false;
    if (sgemm_repeats < 1) sgemm = false;
    if (sentence.empty()) sentence = model + "/sentence.npy";
    return true;
  }
};

// Opens the named backend from the plugin folder (default: next to the binary). The registry
// keeps the plugin loaded, so it must outlive the backend.
inline Result<std::unique_ptr<Backend>> open_backend(PluginRegistry& registry, const BackendArgs& a) {
  registry.discover({a.plugin_dir.empty() ? PluginRegistry::default_plugin_dir() : a.plugin_dir}, nullptr);
  auto header = registry.find(a.backend, UCE_PLUGIN_BACKEND);
  if (!header) return Result<std::unique_ptr<Backend>>::error(header.message());
  uce_backend_options bo{};
  bo.struct_size = sizeof(bo);
  bo.threads = a.threads;
  bo.allow_fp16 = a.fp16;
  bo.allow_coopmat = a.fp16 || a.coopmat;
  bo.device_index = -1;
  return Backend::open(*header, bo);
}

}  // namespace uce::bench
