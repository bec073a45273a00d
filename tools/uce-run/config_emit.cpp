// config_emit.cpp — what a loaded RunConfig says about itself: the effective TOML (for the
// manifest) and the fingerprint that decides whether a partial output may be resumed.
#include <cstdio>
#include <sstream>

#include "config.hpp"

namespace uce::cli {
namespace {

// A TOML basic string literal.
std::string q(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (ch < 0x20 || ch == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", ch);
          out += buf;
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}
std::string b(bool v) { return v ? "true" : "false"; }
std::string list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + q(v[i]);
  return out + "]";
}

// Every setting that changes the embeddings, one "key=value" line each. Input size/mtime are left
// out on purpose (the writer checks the rows it finds), as are speed-only settings (threads,
// batch sizes other than the compatibility one, backends other than precision flags).
std::string fingerprint_text(const RunConfig& c) {
  std::ostringstream os;
  const ModelConfig& m = c.model;
  os << "uce-run-fingerprint=1\n"
     << "input.path=" << c.input.path << "\ninput.species=" << c.input.species
     << "\ninput.counts=" << c.input.counts << "\ninput.gene_column=" << c.input.gene_column
     << "\nfilter.enabled=" << c.filter.enabled << "\nfilter.min_genes=" << c.filter.min_genes
     << "\nfilter.min_cells=" << c.filter.min_cells
     << "\nmodel.family=" << m.family << "\nmodel.checkpoint=" << m.checkpoint
     << "\nmodel.files=" << m.files << "\nmodel.token_file=" << m.token_file
     << "\nmodel.heads=" << m.heads << "\nmodel.chrom_token_offset=" << m.chrom_token_offset
     << "\nmodel.cls_token=" << m.cls_token << "\nmodel.chrom_close_token=" << m.chrom_close_token
     << "\nmodel.pad_token=" << m.pad_token << "\nmodel.pad_length=" << m.pad_length
     << "\nmodel.esm_rows=" << m.esm_rows << "\nmodel.full_rows=" << m.full_rows
     << "\nmodel.gene_mapping=" << m.gene_mapping << "\nmodel.case_insensitive=" << m.case_insensitive
     << "\nmodel.protein_embeddings=" << m.protein_embeddings << "\nmodel.pad_rows=" << m.pad_rows
     << "\nsampling.mode=" << c.sampling.mode << "\nsampling.seed=" << c.sampling.seed
     << "\nsampling.sample_size=" << c.sampling.sample_size
     << "\nbatching.compat_batch_size=" << c.batching.compat_batch_size
     << "\nbackends.fp16=" << c.backends.fp16 << "\nbackends.coopmat=" << c.backends.coopmat << "\n";
  return os.str();
}

}  // namespace

bool RunConfig::is_set(std::string_view dotted_key) const {
  return explicit_keys.count(std::string(dotted_key)) != 0;
}

int64_t RunConfig::effective_max_tokens_per_batch(int64_t chromosomes) const {
  if (batching.max_tokens_per_batch > 0) return batching.max_tokens_per_batch;
  return batching.cells_per_batch * (sampling.sample_size + 2 * chromosomes + 1);
}

std::string RunConfig::fingerprint() const {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char ch : fingerprint_text(*this)) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string RunConfig::to_toml() const {
  std::ostringstream os;
  const ModelConfig& m = model;
  // UCE-brain token layout values the user did not set come from the model's config.json (or the
  // pilot's defaults) at run time: written as comments, so the file re-runs the same way.
  auto layout = [&](const std::string& dotted, int64_t value) {
    const std::string key = dotted.substr(dotted.find('.') + 1);
    if (m.family == "uce-brain" && !is_set(dotted))
      return "\n# " + key + " = (from the model's config.json, else the pilot default)";
    return "\n" + key + " = " + std::to_string(value);
  };
  os << "# effective uce-run configuration (defaults filled in, paths resolved)\n"
     << "[input]\npath = " << q(input.path) << "\nspecies = " << q(input.species)
     << "\ncounts = " << q(input.counts) << "\ngene_column = " << q(input.gene_column)
     << "\nchunk_rows = " << input.chunk_rows << "\nmax_chunk_mib = " << input.max_chunk_mib
     << "\n\n[filter]\nenabled = " << b(filter.enabled) << "\nmin_genes = " << filter.min_genes
     << "\nmin_cells = " << filter.min_cells << "\ncounts_policy = " << q(filter.counts_policy)
     << "\n\n[model]\nfamily = " << q(m.family) << "\ncheckpoint = " << q(m.checkpoint)
     << "\nfiles = " << q(m.files) << "\ntoken_file = " << q(m.token_file) << "\nheads = " << m.heads
     << layout("model.chrom_token_offset", m.chrom_token_offset) << layout("model.cls_token", m.cls_token)
     << layout("model.chrom_close_token", m.chrom_close_token) << layout("model.pad_token", m.pad_token)
     << layout("model.pad_length", m.pad_length) << "\nesm_rows = " << m.esm_rows
     << "\nfull_rows = " << m.full_rows << "\ngene_mapping = " << q(m.gene_mapping)
     << "\ncase_insensitive = " << b(m.case_insensitive)
     << "\nprotein_embeddings = " << q(m.protein_embeddings) << "\npad_rows = " << q(m.pad_rows)
     << "\n\n[sampling]\nmode = " << q(sampling.mode) << "\nseed = " << sampling.seed
     << layout("sampling.sample_size", sampling.sample_size)
     << "\n\n[batching]\ncells_per_batch = " << batching.cells_per_batch
     << "\ncompat_batch_size = " << batching.compat_batch_size
     << "\nmax_tokens_per_batch = " << batching.max_tokens_per_batch
     << "\nin_flight = " << batching.in_flight
     << "\n\n[backends]\ndefault = " << list(backends.default_order) << "\nthreads = " << backends.threads
     << "\nplugin_dirs = " << list(backends.plugin_dirs) << "\ndevice = " << backends.device
     << "\ndevice_name = " << q(backends.device_name) << "\nfp16 = " << b(backends.fp16)
     << "\ncoopmat = " << b(backends.coopmat) << "\ncache_dir = " << q(backends.cache_dir)
     << "\n\n[ops]\n";
  for (const auto& [k, v] : ops) os << k << " = " << q(v) << "\n";
  os << "\n[nodes]\n";
  for (const auto& [k, v] : nodes) os << q(k) << " = " << q(v) << "\n";
  os << "\n[output]\npath = " << q(output.path) << "\nkey = " << q(output.key)
     << "\ncopy_x = " << b(output.copy_x) << "\nsentences = " << q(output.sentences)
     << "\nnpy = " << q(output.npy) << "\nreport = " << b(output.report)
     << "\nmanifest = " << b(output.manifest) << "\ncolor_by = " << q(output.color_by)
     << "\nresume = " << b(output.resume)
     << "\n\n[log]\nlevel = " << q(log.level) << "\nprogress = " << q(log.progress) << "\n";
  return os.str();
}

}  // namespace uce::cli
