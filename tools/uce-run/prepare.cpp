// prepare.cpp — plugins, backends, filtering, gene alignment and the model plan of a run.
#include "prepare.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "uce/io/model_files.hpp"
#include "uce/ops.hpp"
#include "uce/sentences/cell_filter.hpp"
#include "uce/sentences/species_chrom.hpp"
#include "uce/uce_brain_model.hpp"
#include "uce/uce_brain_runner.hpp"
#include "uce/uce_brain_genes.hpp"
#include "uce/uce_runner.hpp"

namespace uce::cli {
namespace {

Status open_backends(const RunConfig& c, PreparedRun& run, const LogLine& log) {
  std::vector<std::string> dirs = c.backends.plugin_dirs;
  dirs.push_back(PluginRegistry::default_plugin_dir());
  run.registry.discover(dirs, log);
  // Every backend the config names is opened; one that fails is an error, never skipped.
  std::vector<std::string> names = c.backends.default_order;
  for (const auto& [op, b] : c.ops) names.push_back(b);
  for (const auto& [node, b] : c.nodes) names.push_back(b);
  uce_backend_options o{};
  o.struct_size = sizeof(o);
  o.threads = static_cast<int32_t>(c.backends.threads);
  o.device_index = static_cast<int32_t>(c.backends.device);
  o.device_name = c.backends.device_name.empty() ? nullptr : c.backends.device_name.c_str();
  o.allow_fp16 = c.backends.fp16;
  o.allow_coopmat = c.backends.coopmat;
  o.cache_dir = c.backends.cache_dir.empty() ? nullptr : c.backends.cache_dir.c_str();
  for (const auto& name : names) {
    if (std::any_of(run.backends.begin(), run.backends.end(), [&](const auto& b) { return b->name() == name; })) continue;
    auto h = run.registry.find(name, UCE_PLUGIN_BACKEND);
    if (!h) return Status::error(c.source + ": [backends] names '" + name + "': " + h.message());
    auto b = Backend::open(*h, o);
    if (!b) return b.status();
    log(UCE_LOG_INFO, "backend " + name + ": " + (*b)->describe());
    run.backend_ptrs.push_back(b->get());
    run.backends.push_back(b.take());
  }
  return Status::ok();
}

// One pass over every row: the official filter's counts, and a check of the values.
Status scan_counts(const RunConfig& c, PreparedRun& run, const LogLine& log) {
  const int64_t n_obs = run.cells_in_file, n_var = run.genes_in_file;
  sentences::FilterCounter counter(static_cast<size_t>(n_var),
                                   {c.filter.enabled ? c.filter.min_cells : 0, c.filter.enabled ? c.filter.min_genes : 0});
  sentences::CountChecker checker;
  for (int64_t begin = 0; begin < n_obs; begin += c.input.chunk_rows) {
    const int64_t end = std::min(n_obs, begin + c.input.chunk_rows);
    auto chunk = run.reader->read(begin, end);
    if (!chunk) return chunk.status();
    // add_rows checks indptr and the gene indices, so the rows below are well formed.
    UCE_TRY(counter.add_rows(chunk->indptr, chunk->indices, chunk->values, static_cast<size_t>(chunk->n_rows)));
    for (int64_t r = 0; r < chunk->n_rows; ++r) {
      const int64_t first = chunk->indptr[r];
      checker.check_row(begin + r, chunk->indices + first, chunk->values + first,
                        static_cast<size_t>(chunk->indptr[r + 1] - first));
    }
  }
  const int64_t non_integer = checker.non_integer().count, negative = checker.negative().count,
                not_finite = checker.not_finite().count;
  run.bad_values = non_integer + negative + not_finite;
  if (!checker.clean()) {
    // Not CountChecker::summary()/verdict(): uce-run's line gives every count, zeros included
    // ("5 non-integer, 0 negative, 0 NaN/infinite"), names the config key that refuses, and says
    // what the run does with each kind; tests/run/test_bad_input.py pins that wording.
    const std::string msg = c.input.path + ": " + c.input.counts + ": counts are not raw integer counts (" + std::to_string(non_integer) +
                            " non-integer, " + std::to_string(negative) + " negative, " + std::to_string(not_finite) +
                            " NaN/infinite values); UCE needs raw counts — pass counts = \"raw/X\" or a counts layer";
    if (c.filter.counts_policy == "refuse") return Status::error(msg + " ([filter] counts_policy = \"refuse\")");
    log(UCE_LOG_WARN, "WARNING: " + msg + "; non-integers are truncated like the official tool, cells with negative (also -inf) or NaN counts "
                               "are skipped, +inf becomes the largest integer count");
  }
  run.filter = counter.finish();
  if (!c.filter.enabled) {  // counts still useful for the log; nothing is dropped
    std::fill(run.filter.keep_cell.begin(), run.filter.keep_cell.end(), 1);
    std::fill(run.filter.keep_gene.begin(), run.filter.keep_gene.end(), 1);
    run.filter.dropped_cells.clear();
  }
  return Status::ok();
}

Result<std::map<std::string, int64_t>> read_species_offsets(const std::string& path) {
  auto v = io::read_pickle_file(path);
  if (!v) return v.status();
  if (!v->is_dict()) return Result<std::map<std::string, int64_t>>::error(path + ": expected a dict species -> first token row");
  std::map<std::string, int64_t> out;
  for (const auto& [k, val] : v->dict) {
    if (!k.is_str() || !val.is_int())
      return Result<std::map<std::string, int64_t>>::error(path + ": expected str -> int entries");
    out[k.s] = val.i;
  }
  return out;
}

AssignmentRules assignment_rules(const RunConfig& c) {
  AssignmentRules r;
  r.default_order = c.backends.default_order;
  for (const auto& [op, b] : c.ops) r.op_backend[op_type_from_name(op)] = b;
  r.node_backend = c.nodes;
  return r;
}

// Shared by both families once the genes are aligned: the sentence builder, the sampler, and the
// longest sentence a cell can have.
Status setup_sentences(const RunConfig& c, PreparedRun& run, const sentences::SentenceParams& sp) {
  run.cells_kept = c.filter.enabled ? run.filter.cells_kept : run.cells_in_file;
  if (c.filter.enabled)
    run.cells_skipped["filtered (fewer than min_genes genes)"] = static_cast<int64_t>(run.filter.dropped_cells.size());
  auto builder = sentences::SentenceBuilder::create(run.alignment.genes, sp);
  if (!builder) return builder.status();
  run.builder = std::make_unique<sentences::SentenceBuilder>(builder.take());
  auto mode = sentences::parse_sampler_mode(c.sampling.mode);
  if (!mode) return mode.status();
  run.mode = *mode;
  const std::set<int32_t> codes(run.alignment.genes.chrom.begin(), run.alignment.genes.chrom.end());
  run.max_sentence_tokens = 1 + 2 * static_cast<int64_t>(codes.size()) + sp.sample_size;
  return Status::ok();
}

// Original UCE: alignment with species_offsets.pkl, the species' protein-embedding keys and
// species_chrom.csv; the checkpoint and token table by the official rule.
Status prepare_uce(const RunConfig& c, PreparedRun& run, const LogLine& log) {
  // Gene alignment with the model's files.
  const std::string files = c.model.files;
  auto offsets = read_species_offsets(files + "/species_offsets.pkl");
  if (!offsets) return offsets.status();
  auto keys = io::read_torch_dict_keys(c.model.protein_embeddings);
  if (!keys) return keys.status();
  auto chrom = sentences::read_species_chrom_csv(files + "/species_chrom.csv");
  if (!chrom) return chrom.status();
  std::vector<std::string> symbols(static_cast<size_t>(run.genes_in_file));
  for (int64_t g = 0; g < run.genes_in_file; ++g) symbols[g] = run.reader->var_name(g);
  sentences::AlignmentInputs in;
  in.dataset_symbols = symbols;
  in.species = c.input.species;
  in.embedding_keys = *keys;
  in.species_offsets = &*offsets;
  in.chrom_table = &*chrom;
  in.gene_filter = run.filter.keep_gene;
  if (!offsets->count(c.input.species)) {
    std::string known;
    for (const auto& [sp, first] : *offsets) known += (known.empty() ? "" : ", ") + sp;
    return Status::error(files + "/species_offsets.pkl: no entry for species '" + c.input.species +
                         "' ([input] species); expected one of: " + known);
  }
  auto aligned = sentences::align_genes(in);
  if (!aligned) return Status::error(c.input.path + ": " + aligned.message());
  run.alignment = aligned.take();
  for (const auto& w : run.alignment.warnings) log(UCE_LOG_WARN, "genes: " + w);
  const auto& a = run.alignment;
  if (a.genes.token.empty())
    return Status::error(c.input.path + ": no gene of the file is known to the model for species '" + c.input.species +
                    "' (first symbols: " + (symbols.empty() ? "" : symbols[0]) + "...)");
  run.genes_dropped = {{"filtered (fewer than min_cells cells)", a.filtered.count},
                        {"no protein embedding", a.no_embedding.count},
                        {"no chromosome row in species_chrom.csv", a.no_chromosome.count},
                        {"duplicated symbol", a.duplicate.count},
                        {"duplicated symbol (all copies kept)", a.repeated_symbols_kept}};
  log(UCE_LOG_INFO, "genes: " + std::to_string(a.genes.token.size()) + " of " + std::to_string(run.genes_in_file) +
                        " used; dropped: " + std::to_string(a.filtered.count) + " by the filter, " +
                        std::to_string(a.no_embedding.count) + " without protein embedding, " +
                        std::to_string(a.no_chromosome.count) + " without chromosome position, " +
                        std::to_string(a.duplicate.count) + " duplicated");
  sentences::SentenceParams sp;
  sp.sample_size = static_cast<int32_t>(c.sampling.sample_size);
  sp.cls_token = c.model.cls_token;
  sp.close_token = c.model.chrom_close_token;
  sp.pad_token = c.model.pad_token;
  sp.chrom_token_offset = c.model.chrom_token_offset;
  UCE_TRY(setup_sentences(c, run, sp));
  std::set<int32_t> codes(a.genes.chrom.begin(), a.genes.chrom.end());

  // Model and plan.
  UceModelOptions mo;
  mo.checkpoint = c.model.checkpoint;
  mo.token_file = c.model.token_file;
  mo.heads = c.model.heads;
  mo.esm_rows = c.model.esm_rows;
  mo.full_rows = c.model.full_rows;
  auto model = UceModel::load(mo, log);
  if (!model) return model.status();
  std::shared_ptr<UceModel> uce_model = model.take();
  const int64_t expected_offset = uce_model->dims().table_rows - static_cast<int64_t>(chrom->categories.size());
  if (expected_offset != c.model.chrom_token_offset)
    log(UCE_LOG_WARN, "WARNING: [model] chrom_token_offset = " + std::to_string(c.model.chrom_token_offset) +
                          ", but the token table has " + std::to_string(uce_model->dims().table_rows) + " rows and species_chrom.csv " +
                          std::to_string(chrom->categories.size()) + " chromosome categories (expected offset " +
                          std::to_string(expected_offset) + ")");
  std::vector<int64_t> needed(a.genes.token.begin(), a.genes.token.end());
  for (int32_t code : codes) needed.push_back(code + c.model.chrom_token_offset);
  needed.push_back(c.model.cls_token);
  needed.push_back(c.model.chrom_close_token);
  UceRunnerOptions uo;
  uo.rules = assignment_rules(c);
  uo.max_sequences = c.batching.cells_per_batch;
  uo.max_tokens = c.batching.max_tokens_per_batch > 0 ? c.batching.max_tokens_per_batch
                                                       : c.batching.cells_per_batch * run.max_sentence_tokens;
  uo.compat_batch_size = c.batching.compat_batch_size;
  uo.pad_token = c.model.pad_token;
  auto runner = UceRunner::create(uce_model, run.backend_ptrs, needed, uo, log);
  if (!runner) return runner.status();
  const std::string table = uce_model->table_choice();
  run.embedder = std::make_unique<RunnerEmbedder<UceModel, UceRunner>>(uce_model, runner.take(), table);
  return Status::ok();
}

// UCE-brain: a Hugging Face folder (config.json + model.safetensors) and its gene mapping JSON.
// The token layout comes from the run config where the user set it, else from config.json, else
// the pilot's values; it is printed in the log because a wrong offset silently changes results.
Status prepare_brain(const RunConfig& c, PreparedRun& run, const LogLine& log) {
  BrainModelOptions mo;
  mo.model_dir = c.model.checkpoint;
  auto pad_rows = parse_brain_pad_rows(c.model.pad_rows);
  if (!pad_rows) return Status::error(c.source + ": [model] pad_rows: " + pad_rows.message());
  mo.pad_rows = *pad_rows;
  auto model = BrainModel::load(mo, log);
  if (!model) return model.status();
  std::shared_ptr<BrainModel> brain = model.take();
  BrainTokenOverrides over;
  if (c.is_set("model.cls_token")) over.cls_token = c.model.cls_token;
  if (c.is_set("model.chrom_token_offset")) over.chrom_token_offset = c.model.chrom_token_offset;
  if (c.is_set("model.chrom_close_token")) over.chrom_close_token = c.model.chrom_close_token;
  if (c.is_set("model.pad_token")) over.pad_token = c.model.pad_token;
  if (c.is_set("model.pad_length")) over.pad_length = c.model.pad_length;
  if (c.is_set("sampling.sample_size")) over.sample_size = c.sampling.sample_size;
  auto layout = resolve_brain_token_layout(brain->config(), over);
  if (!layout) return layout.status();
  log(UCE_LOG_INFO, "tokens: " + layout->description);

  auto mapping = read_brain_gene_mapping(c.model.gene_mapping, c.input.species);
  if (!mapping) return mapping.status();
  log(UCE_LOG_INFO, "genes: " + mapping->resolution);
  std::vector<std::string> symbols(static_cast<size_t>(run.genes_in_file));
  for (int64_t g = 0; g < run.genes_in_file; ++g) symbols[g] = run.reader->var_name(g);
  auto aligned = align_brain_genes(*mapping, symbols, c.model.case_insensitive);
  if (!aligned) return Status::error(c.input.path + ": " + aligned.message());
  // Into the shape the sentence builder and the reader loop use; UCE-brain keeps every gene the
  // mapping knows (no filtering, unless the user turned it on explicitly).
  auto& a = run.alignment;
  a.var_index = aligned->var_index;
  a.genes = {aligned->token, aligned->chrom, aligned->start};
  a.kept_of_var.assign(static_cast<size_t>(run.genes_in_file), -1);
  for (size_t k = 0; k < a.var_index.size(); ++k) {
    const int64_t v = a.var_index[k];
    if (c.filter.enabled && !run.filter.keep_gene[v]) continue;
    a.kept_of_var[v] = static_cast<int32_t>(k);
  }
  a.no_embedding = {aligned->dropped, aligned->first_dropped};
  run.genes_dropped = {{"not in the gene mapping", aligned->dropped}};
  log(UCE_LOG_INFO, "genes: " + std::to_string(a.var_index.size()) + " of " + std::to_string(run.genes_in_file) +
                        " used; " + std::to_string(aligned->dropped) + " not in the mapping" +
                        (aligned->first_dropped.empty() ? "" : " (first: " + aligned->first_dropped + ")"));
  sentences::SentenceParams sp;
  sp.sample_size = static_cast<int32_t>(layout->sample_size);
  sp.cls_token = layout->cls_token;
  sp.close_token = layout->chrom_close_token;
  sp.pad_token = layout->pad_token;
  sp.chrom_token_offset = layout->chrom_token_offset;
  UCE_TRY(setup_sentences(c, run, sp));
  if (run.max_sentence_tokens > layout->pad_length)
    return Status::error(c.source + ": a sentence can have " + std::to_string(run.max_sentence_tokens) + " tokens (1 + " +
                         std::to_string(layout->sample_size) + " samples + 2 per chromosome), more than pad_length " +
                         std::to_string(layout->pad_length) + "; lower [sampling] sample_size or raise [model] pad_length");

  std::set<int32_t> codes(a.genes.chrom.begin(), a.genes.chrom.end());
  std::vector<int64_t> needed(a.genes.token.begin(), a.genes.token.end());
  for (int32_t code : codes) needed.push_back(code + layout->chrom_token_offset);
  needed.push_back(layout->cls_token);
  needed.push_back(layout->chrom_close_token);
  BrainRunnerOptions ro;
  ro.rules = assignment_rules(c);
  ro.max_sequences = c.batching.cells_per_batch;
  ro.max_tokens = c.batching.max_tokens_per_batch > 0 ? c.batching.max_tokens_per_batch
                                                       : c.batching.cells_per_batch * run.max_sentence_tokens;
  ro.pad_token = layout->pad_token;
  ro.pad_length = layout->pad_length;
  auto runner = BrainRunner::create(brain, run.backend_ptrs, needed, ro, log);
  if (!runner) return runner.status();
  run.embedder = std::make_unique<RunnerEmbedder<BrainModel, BrainRunner>>(brain, runner.take(),
                                                                          "model.safetensors embedding table");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<PreparedRun>> prepare_run(const RunConfig& c, const LogLine& log) {
  using R = Result<std::unique_ptr<PreparedRun>>;
  auto run = std::make_unique<PreparedRun>();
  if (Status s = open_backends(c, *run, log); !s) return s;

  // Input.
  auto reader_stage = stage_for_file(run->registry, c.input.path, true);
  if (!reader_stage) return reader_stage.status();
  uce_reader_options ro{};
  ro.struct_size = sizeof(ro);
  ro.path = c.input.path.c_str();
  ro.counts = c.input.counts.c_str();
  ro.gene_column = c.input.gene_column.c_str();
  ro.max_chunk_bytes = c.input.max_chunk_mib << 20;
  auto reader = CellReader::open(*reader_stage, ro);
  if (!reader) return reader.status();
  run->reader = reader.take();
  run->cells_in_file = run->reader->info().n_obs;
  run->genes_in_file = run->reader->info().n_var;
  log(UCE_LOG_INFO, "input: " + c.input.path + ": " + std::to_string(run->cells_in_file) + " cells x " +
                        std::to_string(run->genes_in_file) + " genes; " + run->reader->info().layout +
                        "; gene symbols from " + run->reader->info().gene_source);
  auto writer_stage = stage_for_file(run->registry, c.output.path, false);
  if (!writer_stage) return writer_stage.status();
  run->writer_stage = *writer_stage;
  if (!c.output.npy.empty()) {
    auto npy = stage_for_file(run->registry, c.output.npy, false);
    if (!npy) return npy.status();
    run->npy_stage = *npy;
  }
  if (Status s = scan_counts(c, *run, log); !s) return s;

  Status prepared = c.model.family == "uce-brain" ? prepare_brain(c, *run, log) : prepare_uce(c, *run, log);
  if (!prepared) return prepared;
  for (const auto& [node, b] : c.nodes)
    if (!run->embedder->has_node(node))
      return R::error(c.source + ": [nodes] \"" + node + "\": no such node in the " + run->embedder->summary() +
                      " graph (see uce-run --dry-run for the node names)");
  return run;
}

}  // namespace uce::cli
