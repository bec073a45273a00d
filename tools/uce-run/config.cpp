// config.cpp — reading and validating the uce-run TOML config (schema in configs/README.md).
// Errors are one line: "FILE:LINE:COL: key 'section.key': expected ..., got ...", or
// "--set section.key=value: ..." when the value came from the command line.
#include "config.hpp"

#if __has_include(<toml++/toml.hpp>)
#include <toml++/toml.hpp>
#else
#include <toml++/toml.h>  // Debian's name for the same header
#endif

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "uce/ops.hpp"
#include "uce/uce_brain_config.hpp"

// Like UCE_TRY, for functions returning Status (status.hpp's UCE_TRY expects a Result).
#define UCE_TRY_STATUS(expr)            \
  do {                                  \
    uce::Status uce_try_s_ = (expr);    \
    if (!uce_try_s_) return uce_try_s_; \
  } while (0)

namespace uce::cli {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMaxI64 = std::numeric_limits<int64_t>::max();
constexpr const char* kSetPrefix = "--set ";

const std::vector<std::string>& known_sections() {
  static const std::vector<std::string> s = {"input", "filter", "model", "sampling", "batching",
                                             "backends", "ops", "nodes", "output", "log"};
  return s;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

bool from_set(const toml::source_region& src) {
  return src.path && src.path->rfind(kSetPrefix, 0) == 0;
}

// "FILE:LINE:COL" of a value, "--set k=v" for a command-line value, else the fallback.
std::string where(const toml::source_region& src, const std::string& fallback) {
  if (!src.path) return fallback;
  if (from_set(src) || src.begin.line == 0) return *src.path;
  return *src.path + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

std::string short_text(std::string s) {
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// What a value is, for "got ..." in messages.
std::string describe(const toml::node& n) {
  std::ostringstream os;
  switch (n.type()) {
    case toml::node_type::string: os << "string \"" << short_text(*n.value<std::string>()) << '"'; break;
    case toml::node_type::integer: os << "integer " << *n.value<int64_t>(); break;
    case toml::node_type::floating_point: os << "float " << *n.value<double>(); break;
    case toml::node_type::boolean: os << "boolean " << (*n.value<bool>() ? "true" : "false"); break;
    case toml::node_type::array: os << "an array"; break;
    case toml::node_type::table: os << "a table"; break;
    default: os << "a date/time"; break;
  }
  return os.str();
}

// Reads the keys of one [section], remembering where each came from for later checks.
class SectionReader {
 public:
  SectionReader(const toml::table* table, std::string section, const std::string& file,
                const std::string& file_base, const std::string& cwd,
                std::map<std::string, std::string>& where_map, std::set<std::string>& explicit_keys)
      : table_(table), section_(std::move(section)), file_(file), file_base_(file_base), cwd_(cwd),
        where_(where_map), explicit_(explicit_keys) {}

  Status str(const std::string& key, std::string& out) {
    const toml::node* n = find(key);
    if (!n) return Status::ok();
    if (!n->is_string()) return error(key, *n, "a string");
    out = *n->value<std::string>();
    return Status::ok();
  }
  Status choice(const std::string& key, std::string& out, const std::vector<std::string>& allowed) {
    const toml::node* n = find(key);
    if (!n) return Status::ok();
    if (!n->is_string() ||
        std::find(allowed.begin(), allowed.end(), *n->value<std::string>()) == allowed.end())
      return error(key, *n, "one of \"" + join(allowed, "\", \"") + "\"");
    out = *n->value<std::string>();
    return Status::ok();
  }
  Status integer(const std::string& key, int64_t& out, int64_t min, int64_t max = kMaxI64) {
    const toml::node* n = find(key);
    if (!n) return Status::ok();
    std::string range = max == kMaxI64 ? "an integer >= " + std::to_string(min)
                                       : "an integer in [" + std::to_string(min) + ", " +
                                             std::to_string(max) + "]";
    if (!n->is_integer()) return error(key, *n, range);
    int64_t v = *n->value<int64_t>();
    if (v < min || v > max) return error(key, *n, range);
    out = v;
    return Status::ok();
  }
  Status boolean(const std::string& key, bool& out) {
    const toml::node* n = find(key);
    if (!n) return Status::ok();
    if (!n->is_boolean()) return error(key, *n, "true or false");
    out = *n->value<bool>();
    return Status::ok();
  }
  Status str_list(const std::string& key, std::vector<std::string>& out, bool non_empty) {
    const toml::node* n = find(key);
    if (!n) return Status::ok();
    const char* what = non_empty ? "a non-empty array of non-empty strings" : "an array of strings";
    const toml::array* a = n->as_array();
    if (!a || (non_empty && a->empty())) return error(key, *n, what);
    std::vector<std::string> v;
    for (const toml::node& e : *a) {
      if (!e.is_string() || (non_empty && e.value<std::string>()->empty()))
        return error(key, e, what);
      v.push_back(*e.value<std::string>());
    }
    out = std::move(v);
    return Status::ok();
  }
  // A path: relative ones resolve against the config file's folder (or the current folder for
  // --set values). "" stays "" (= not set).
  Status path(const std::string& key, std::string& out) {
    const toml::node* n = find(key);
    if (!n) return Status::ok();
    if (!n->is_string()) return error(key, *n, "a path string");
    out = resolve(*n->value<std::string>(), from_set(n->source()) ? cwd_ : file_base_);
    return Status::ok();
  }
  Status path_list(const std::string& key, std::vector<std::string>& out) {
    const toml::node* n = find(key);
    if (!n) return Status::ok();
    UCE_TRY_STATUS(str_list(key, out, false));
    for (auto& p : out) p = resolve(p, from_set(n->source()) ? cwd_ : file_base_);
    return Status::ok();
  }

  // After all getters: any key no getter asked for is unknown.
  Status unknown_keys(const std::vector<std::string>& known) const {
    if (!table_) return Status::ok();
    for (auto&& [k, v] : *table_) {
      std::string key(k.str());
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string at = where(k.source(), where(v.source(), file_));
      return Status::error(at + ": key '" + section_ + "." + key + "': unknown key in [" + section_ +
                           "] (expected one of: " + join(known) + ")");
    }
    return Status::ok();
  }

  static std::string resolve(const std::string& p, const std::string& base) {
    if (p.empty()) return p;
    fs::path fp(p);
    if (fp.is_relative()) fp = fs::path(base) / fp;
    return fp.lexically_normal().string();
  }

 private:
  const toml::node* find(const std::string& key) {
    if (!table_) return nullptr;
    const toml::node* n = table_->get(key);
    if (!n) return nullptr;
    std::string dotted = section_ + "." + key;
    where_[dotted] = where(n->source(), file_);
    explicit_.insert(dotted);
    return n;
  }
  Status error(const std::string& key, const toml::node& n, const std::string& expected) const {
    return Status::error(where(n.source(), file_) + ": key '" + section_ + "." + key +
                         "': expected " + expected + ", got " + describe(n));
  }

  const toml::table* table_;
  std::string section_;
  const std::string& file_;
  const std::string& file_base_;
  const std::string& cwd_;
  std::map<std::string, std::string>& where_;
  std::set<std::string>& explicit_;
};

// Everything the validation needs besides the config itself.
struct Loader {
  std::string file;       // source name for messages
  std::string file_base;  // folder relative paths in the file resolve against
  std::string cwd;        // folder relative paths in --set resolve against
  std::map<std::string, std::string> where_map;
  RunConfig cfg;

  std::string at(const std::string& dotted_key) const {
    auto it = where_map.find(dotted_key);
    return it != where_map.end() ? it->second : file;
  }
  Status key_error(const std::string& dotted_key, const std::string& expected,
                   const std::string& got) const {
    return Status::error(at(dotted_key) + ": key '" + dotted_key + "': expected " + expected +
                         ", got " + got);
  }
  SectionReader reader(const toml::table& root, const std::string& section) {
    const toml::node* n = root.get(section);
    return SectionReader(n ? n->as_table() : nullptr, section, file, file_base, cwd, where_map,
                         cfg.explicit_keys);
  }
  Status read(const toml::table& root);
  Status read_maps(const toml::table& root);
  Status check();
  Status check_files();
};

Status Loader::read(const toml::table& root) {
  for (auto&& [k, v] : root) {
    std::string name(k.str());
    const auto& secs = known_sections();
    if (std::find(secs.begin(), secs.end(), name) == secs.end())
      return Status::error(where(v.source(), where(k.source(), file)) + ": unknown section [" +
                           name + "] (expected one of: " + join(secs) + ")");
    if (!v.is_table())
      return Status::error(where(v.source(), file) + ": key '" + name +
                           "': expected a table [" + name + "], got " + describe(v));
  }
  RunConfig& c = cfg;
  {
    auto r = reader(root, "input");
    UCE_TRY_STATUS(r.path("path", c.input.path));
    UCE_TRY_STATUS(r.str("species", c.input.species));
    UCE_TRY_STATUS(r.str("counts", c.input.counts));
    UCE_TRY_STATUS(r.str("gene_column", c.input.gene_column));
    UCE_TRY_STATUS(r.integer("chunk_rows", c.input.chunk_rows, 1));
    UCE_TRY_STATUS(r.integer("max_chunk_mib", c.input.max_chunk_mib, 1));
    UCE_TRY_STATUS(r.unknown_keys({"path", "species", "counts", "gene_column", "chunk_rows",
                                   "max_chunk_mib"}));
  }
  {
    auto r = reader(root, "filter");
    UCE_TRY_STATUS(r.boolean("enabled", c.filter.enabled));
    UCE_TRY_STATUS(r.integer("min_genes", c.filter.min_genes, 0));
    UCE_TRY_STATUS(r.integer("min_cells", c.filter.min_cells, 0));
    UCE_TRY_STATUS(r.choice("counts_policy", c.filter.counts_policy, {"warn", "refuse"}));
    UCE_TRY_STATUS(r.unknown_keys({"enabled", "min_genes", "min_cells", "counts_policy"}));
  }
  {
    auto r = reader(root, "model");
    ModelConfig& m = c.model;
    UCE_TRY_STATUS(r.choice("family", m.family, {"uce", "uce-brain"}));
    UCE_TRY_STATUS(r.path("checkpoint", m.checkpoint));
    UCE_TRY_STATUS(r.path("files", m.files));
    UCE_TRY_STATUS(r.path("token_file", m.token_file));
    UCE_TRY_STATUS(r.integer("heads", m.heads, 0));
    UCE_TRY_STATUS(r.integer("chrom_token_offset", m.chrom_token_offset, 0));
    UCE_TRY_STATUS(r.integer("cls_token", m.cls_token, 0));
    UCE_TRY_STATUS(r.integer("chrom_close_token", m.chrom_close_token, 0));
    UCE_TRY_STATUS(r.integer("pad_token", m.pad_token, 0));
    UCE_TRY_STATUS(r.integer("pad_length", m.pad_length, 4));
    UCE_TRY_STATUS(r.integer("esm_rows", m.esm_rows, 1));
    UCE_TRY_STATUS(r.integer("full_rows", m.full_rows, 1));
    UCE_TRY_STATUS(r.path("gene_mapping", m.gene_mapping));
    UCE_TRY_STATUS(r.boolean("case_insensitive", m.case_insensitive));
    UCE_TRY_STATUS(r.path("protein_embeddings", m.protein_embeddings));
    UCE_TRY_STATUS(r.choice("pad_rows", m.pad_rows, {"auto", "computed", "zeroed"}));
    UCE_TRY_STATUS(r.unknown_keys({"family", "checkpoint", "files", "token_file", "heads",
                                   "chrom_token_offset", "cls_token", "chrom_close_token",
                                   "pad_token", "pad_length", "esm_rows", "full_rows",
                                   "gene_mapping", "case_insensitive", "protein_embeddings",
                                   "pad_rows"}));
  }
  {
    auto r = reader(root, "sampling");
    UCE_TRY_STATUS(r.choice("mode", c.sampling.mode, {"per-cell", "numpy-per-cell", "numpy-legacy"}));
    UCE_TRY_STATUS(r.integer("seed", c.sampling.seed, 0));
    UCE_TRY_STATUS(r.integer("sample_size", c.sampling.sample_size, 1));
    UCE_TRY_STATUS(r.unknown_keys({"mode", "seed", "sample_size"}));
  }
  {
    auto r = reader(root, "batching");
    UCE_TRY_STATUS(r.integer("cells_per_batch", c.batching.cells_per_batch, 1));
    UCE_TRY_STATUS(r.integer("compat_batch_size", c.batching.compat_batch_size, 0));
    UCE_TRY_STATUS(r.integer("max_tokens_per_batch", c.batching.max_tokens_per_batch, 0));
    UCE_TRY_STATUS(r.integer("in_flight", c.batching.in_flight, 1));
    UCE_TRY_STATUS(r.unknown_keys({"cells_per_batch", "compat_batch_size", "max_tokens_per_batch",
                                   "in_flight"}));
  }
  {
    auto r = reader(root, "backends");
    BackendsConfig& b = c.backends;
    UCE_TRY_STATUS(r.str_list("default", b.default_order, true));
    UCE_TRY_STATUS(r.integer("threads", b.threads, 0));
    UCE_TRY_STATUS(r.path_list("plugin_dirs", b.plugin_dirs));
    UCE_TRY_STATUS(r.integer("device", b.device, -1));
    UCE_TRY_STATUS(r.str("device_name", b.device_name));
    UCE_TRY_STATUS(r.boolean("fp16", b.fp16));
    UCE_TRY_STATUS(r.boolean("coopmat", b.coopmat));
    UCE_TRY_STATUS(r.path("cache_dir", b.cache_dir));
    UCE_TRY_STATUS(r.unknown_keys({"default", "threads", "plugin_dirs", "device", "device_name",
                                   "fp16", "coopmat", "cache_dir"}));
  }
  {
    auto r = reader(root, "output");
    OutputConfig& o = c.output;
    UCE_TRY_STATUS(r.path("path", o.path));
    UCE_TRY_STATUS(r.str("key", o.key));
    UCE_TRY_STATUS(r.boolean("copy_x", o.copy_x));
    UCE_TRY_STATUS(r.path("sentences", o.sentences));
    UCE_TRY_STATUS(r.path("npy", o.npy));
    UCE_TRY_STATUS(r.boolean("report", o.report));
    UCE_TRY_STATUS(r.boolean("manifest", o.manifest));
    UCE_TRY_STATUS(r.str("color_by", o.color_by));
    UCE_TRY_STATUS(r.boolean("resume", o.resume));
    UCE_TRY_STATUS(r.unknown_keys({"path", "key", "copy_x", "sentences", "npy", "report",
                                   "manifest", "color_by", "resume"}));
  }
  {
    auto r = reader(root, "log");
    UCE_TRY_STATUS(r.choice("level", c.log.level, {"debug", "info", "warn"}));
    UCE_TRY_STATUS(r.choice("progress", c.log.progress, {"auto", "tty", "lines", "none"}));
    UCE_TRY_STATUS(r.unknown_keys({"level", "progress"}));
  }
  return read_maps(root);
}

// Collects "name" = "backend" pairs; unquoted dotted names (layer3.attn.qkv = "x") arrive as nested
// tables and are joined back with '.'.
Status collect_backend_map(const toml::table& t, const std::string& section, const std::string& prefix,
                           const std::string& file, std::map<std::string, const toml::node*>& out,
                           std::map<std::string, toml::source_region>& key_src) {
  for (auto&& [k, v] : t) {
    std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = v.as_table()) {
      UCE_TRY_STATUS(collect_backend_map(*sub, section, name, file, out, key_src));
      continue;
    }
    if (!v.is_string() || v.value<std::string>()->empty())
      return Status::error(where(v.source(), file) + ": key '" + section + "." + name +
                           "': expected a backend name (string), got " + describe(v));
    out[name] = &v;
    key_src[name] = k.source().path ? k.source() : v.source();
  }
  return Status::ok();
}

Status Loader::read_maps(const toml::table& root) {
  for (const char* section : {"ops", "nodes"}) {
    const toml::node* n = root.get(section);
    if (!n) continue;
    std::map<std::string, const toml::node*> entries;
    std::map<std::string, toml::source_region> key_src;
    UCE_TRY_STATUS(collect_backend_map(*n->as_table(), section, "", file, entries, key_src));
    for (auto& [name, node] : entries) {
      std::string dotted = std::string(section) + "." + name;
      cfg.explicit_keys.insert(dotted);
      where_map[dotted] = where(node->source(), file);
      std::string backend = *node->value<std::string>();
      if (std::string(section) == "nodes") {
        cfg.nodes[name] = backend;
        continue;
      }
      int type = uce::op_type_from_name(name);
      if (type < 0) {
        std::vector<std::string> names;
        for (int t = 0; t < UCE_OP_COUNT; ++t) names.push_back(uce::op_type_name(t));
        names.push_back("matmul");
        return Status::error(where(key_src[name], file) + ": key 'ops." + name +
                             "': unknown op type (expected one of: " + join(names) + ")");
      }
      std::string canonical = uce::op_type_name(type);
      auto [it, inserted] = cfg.ops.emplace(canonical, backend);
      if (!inserted && it->second != backend)
        return Status::error(where(node->source(), file) + ": key 'ops." + name + "': \"" +
                             backend + "\" conflicts with \"" + it->second + "\" given for '" +
                             canonical + "' (matmul is an alias of linear)");
    }
  }
  return Status::ok();
}

bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec) && !fs::is_directory(p, ec);
}
bool is_dir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
std::string dq(const std::string& s) { return "\"" + s + "\""; }

// Values that depend on each other, and family-specific defaults.
Status Loader::check() {
  RunConfig& c = cfg;
  if (c.input.species.empty()) return key_error("input.species", "a species name", "\"\"");
  const std::string& counts = c.input.counts;
  if (!(counts == "X" || counts == "raw/X" || (counts.rfind("layers/", 0) == 0 && counts.size() > 7)))
    return key_error("input.counts", "\"X\", \"raw/X\" or \"layers/<name>\"", dq(counts));
  if (c.output.key.empty()) return key_error("output.key", "a non-empty obsm key", "\"\"");

  ModelConfig& m = c.model;
  if (m.family == "uce-brain") {
    // The token layout keys the user did not set are decided at run time by core's
    // resolve_brain_token_layout (config.json, else the pilot's layout, uce-models.md §2); prepare.cpp
    // passes it only the keys set here. The fields still hold the pilot's values, taken from core's
    // BrainTokenLayout so they are written in one place, for the fingerprint. heads 0 = config.json.
    const BrainTokenLayout pilot;
    if (!c.is_set("model.cls_token")) m.cls_token = pilot.cls_token;
    if (!c.is_set("model.chrom_token_offset")) m.chrom_token_offset = pilot.chrom_token_offset;
    if (!c.is_set("model.chrom_close_token")) m.chrom_close_token = pilot.chrom_close_token;
    if (!c.is_set("model.pad_length")) m.pad_length = pilot.pad_length;
    if (!c.is_set("model.heads")) m.heads = 0;
    // UCE-brain does no filtering (uce-models.md §2), unless asked to explicitly.
    if (!c.is_set("filter.enabled")) c.filter.enabled = false;
  } else if (m.heads < 1) {
    return key_error("model.heads", "an integer >= 1 for family \"uce\"", std::to_string(m.heads));
  }
  if (m.esm_rows > m.full_rows)
    return key_error("model.full_rows", "full_rows >= model.esm_rows (" + std::to_string(m.esm_rows) + ")",
                     std::to_string(m.full_rows));
  // For uce-brain the values actually used may come from config.json; the model checks them.
  const bool layout_known = m.family != "uce-brain" || (c.is_set("sampling.sample_size") && c.is_set("model.pad_length"));
  if (layout_known && c.sampling.sample_size + 3 > m.pad_length)
    return key_error("sampling.sample_size",
                     "sample_size + 3 <= model.pad_length (" + std::to_string(m.pad_length) + ")",
                     std::to_string(c.sampling.sample_size));
  if (c.sampling.mode == "numpy-legacy" && c.sampling.seed > 0xFFFFFFFFLL)
    return key_error("sampling.seed", "a 32-bit seed (<= 4294967295) for mode \"numpy-legacy\"",
                     std::to_string(c.sampling.seed));
  return check_files();
}

// Inputs must exist; outputs need an existing parent folder.
Status Loader::check_files() {
  RunConfig& c = cfg;
  ModelConfig& m = c.model;
  auto need_file = [&](const std::string& key, const std::string& p) -> Status {
    if (p.empty()) return Status::error(file + ": key '" + key + "': required, not set (expected an existing file)");
    if (!is_file(p)) return key_error(key, "an existing file", dq(p) + (is_dir(p) ? " (a folder)" : " (not found)"));
    return Status::ok();
  };
  auto need_parent = [&](const std::string& key, const std::string& p) -> Status {
    if (p.empty()) return Status::ok();
    fs::path parent = fs::path(p).parent_path();
    if (parent.empty()) parent = ".";
    if (!is_dir(parent.string()))
      return key_error(key, "a path in an existing folder", dq(p) + " (folder " +
                                                                dq(parent.string()) + " does not exist)");
    if (is_dir(p)) return key_error(key, "a file path", dq(p) + " (a folder)");
    return Status::ok();
  };

  UCE_TRY_STATUS(need_file("input.path", c.input.path));
  if (c.output.path.empty())
    return Status::error(file + ": key 'output.path': required, not set (expected an output .h5ad path)");
  UCE_TRY_STATUS(need_parent("output.path", c.output.path));
  UCE_TRY_STATUS(need_parent("output.sentences", c.output.sentences));
  UCE_TRY_STATUS(need_parent("output.npy", c.output.npy));
  if (!c.backends.cache_dir.empty() && !is_dir(c.backends.cache_dir)) {
    fs::path parent = fs::path(c.backends.cache_dir).parent_path();
    if (!parent.empty() && !is_dir(parent.string()))
      return key_error("backends.cache_dir", "a folder or a new folder in an existing one",
                       dq(c.backends.cache_dir));
  }
  for (const auto& d : c.backends.plugin_dirs)
    if (!is_dir(d)) return key_error("backends.plugin_dirs", "existing folders", dq(d) + " (not a folder)");

  if (m.checkpoint.empty())
    return Status::error(file + ": key 'model.checkpoint': required, not set (expected " +
                         (m.family == "uce" ? "the model's .torch file)" : "the model folder)"));
  if (m.family == "uce-brain") {
    if (!is_dir(m.checkpoint))
      return key_error("model.checkpoint", "a model folder with config.json and model.safetensors",
                       dq(m.checkpoint) + " (not a folder)");
    for (const char* f : {"config.json", "model.safetensors"})
      if (!is_file((fs::path(m.checkpoint) / f).string()))
        return key_error("model.checkpoint", "a model folder with config.json and model.safetensors",
                         dq(m.checkpoint) + " (no " + f + ")");
    if (m.gene_mapping.empty()) {
      // The legacy Hugging Face layout keeps the mapping next to the weights.
      std::string legacy = (fs::path(m.checkpoint) / "gene_mapping.json").string();
      if (!is_file(legacy))
        return Status::error(at("model.checkpoint") + ": key 'model.gene_mapping': required for family "
                             "\"uce-brain\" (no gene_mapping.json in " + dq(m.checkpoint) + ")");
      m.gene_mapping = legacy;
    }
    return need_file("model.gene_mapping", m.gene_mapping);
  }

  UCE_TRY_STATUS(need_file("model.checkpoint", m.checkpoint));
  std::string files_key = c.is_set("model.files") ? "model.files" : "model.checkpoint";
  if (m.files.empty()) m.files = fs::path(m.checkpoint).parent_path().string();
  if (m.files.empty()) m.files = ".";
  if (!is_dir(m.files))
    return key_error("model.files", "a folder with species_chrom.csv, species_offsets.pkl and "
                     "protein_embeddings/", dq(m.files) + " (not a folder)");
  for (const char* f : {"species_chrom.csv", "species_offsets.pkl"})
    if (!is_file((fs::path(m.files) / f).string()))
      return Status::error(at(files_key) + ": key 'model.files': expected a folder with species_chrom.csv, "
                           "species_offsets.pkl and protein_embeddings/, got " + dq(m.files) +
                           " (no " + f + ")");
  if (c.is_set("model.token_file") && !m.token_file.empty()) {
    UCE_TRY_STATUS(need_file("model.token_file", m.token_file));
  } else {
    // Default: files/all_tokens.torch when present; otherwise the checkpoint's own table.
    std::string def = (fs::path(m.files) / "all_tokens.torch").string();
    m.token_file = is_file(def) ? def : "";
  }
  if (!m.protein_embeddings.empty()) return need_file("model.protein_embeddings", m.protein_embeddings);
  Result<std::string> pe = find_protein_embedding_file(m.files, c.input.species);
  if (!pe)
    return Status::error(at(c.is_set("input.species") ? "input.species" : files_key) +
                         ": key 'model.protein_embeddings': " + pe.message());
  m.protein_embeddings = pe.value();
  return Status::ok();
}

// TOML-escapes a string into a basic string literal.
std::string toml_string(const std::string& s) {
  std::ostringstream os;
  os << toml::value<std::string>(s);
  return os.str();
}

// Puts one --set override into the document, keeping "--set ..." as its source for messages.
Status apply_override(toml::table& root, const std::string& text) {
  std::string label = kSetPrefix + text;
  size_t eq = text.find('=');
  size_t dot = text.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 || dot + 1 == eq)
    return Status::error(label + ": expected section.key=value");
  std::string section = text.substr(0, dot);
  std::string key = text.substr(dot + 1, eq - dot - 1);
  std::string value = text.substr(eq + 1);
  const auto& secs = known_sections();
  if (std::find(secs.begin(), secs.end(), section) == secs.end())
    return Status::error(label + ": unknown section [" + section + "] (expected one of: " + join(secs) + ")");

  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value, std::string_view(label));
    if (parsed.size() != 1) throw std::runtime_error("not a single value");
  } catch (const std::exception&) {
    try {  // not a TOML value: a bare word is a string
      parsed = toml::parse("v = " + toml_string(value), std::string_view(label));
    } catch (const std::exception&) {
      return Status::error(label + ": cannot use this value");
    }
  }
  toml::node* sec = root.get(section);
  if (!sec) sec = &root.insert_or_assign(section, toml::table{}).first->second;
  if (!sec->is_table())
    return Status::error(label + ": [" + section + "] is not a table in the config file");
  toml::table& tbl = *sec->as_table();
  if (section == "ops") {
    // "matmul" and "linear" name the same op type: the override replaces either spelling.
    int type = uce::op_type_from_name(key);
    for (auto it = tbl.begin(); type >= 0 && it != tbl.end();)
      it = uce::op_type_from_name(it->first.str()) == type ? tbl.erase(it) : std::next(it);
  }
  tbl.insert_or_assign(key, std::move(*parsed.get("v")));
  return Status::ok();
}

}  // namespace

Result<RunConfig> parse_run_config(std::string_view toml_text, const std::string& source_name,
                                   const std::vector<std::string>& set_overrides,
                                   const std::string& base_dir) {
  Loader loader;
  loader.file = source_name;
  std::error_code ec;
  loader.cwd = fs::current_path(ec).string();
  if (!base_dir.empty()) {
    loader.file_base = fs::absolute(base_dir, ec).lexically_normal().string();
  } else {
    fs::path parent = fs::path(source_name).parent_path();
    loader.file_base = parent.empty() ? loader.cwd : fs::absolute(parent, ec).lexically_normal().string();
  }
  loader.cfg.source = source_name;

  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    return Result<RunConfig>::error(where(e.source(), source_name) + ": invalid TOML: " +
                                    std::string(e.description()));
  }
  for (const auto& s : set_overrides) {
    Status st = apply_override(root, s);
    if (!st) return st;
  }
  Status st = loader.read(root);
  if (st) st = loader.check();
  if (!st) return st;
  return std::move(loader.cfg);
}

Result<RunConfig> load_run_config(const std::string& path, const std::vector<std::string>& set_overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<RunConfig>::error(path + ": cannot read the config file");
  std::ostringstream text;
  text << in.rdbuf();
  std::error_code ec;
  fs::path parent = fs::absolute(path, ec).parent_path();
  return parse_run_config(text.str(), path, set_overrides, parent.string());
}

}  // namespace uce::cli
