// gene_alignment.cpp — see gene_alignment.hpp for the rules.
#include "uce/sentences/gene_alignment.hpp"

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace uce::sentences {
namespace {

void note(DropCount& d, const std::string& symbol) {
  if (d.count++ == 0) d.first_example = symbol;
}

}  // namespace

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

Result<GeneAlignment> align_genes(const AlignmentInputs& in) {
  using R = Result<GeneAlignment>;
  if (in.species_offsets == nullptr) return R::error("gene alignment: no species offsets given");
  if (in.chrom_table == nullptr) return R::error("gene alignment: no species_chrom table given");
  const auto off = in.species_offsets->find(in.species);
  if (off == in.species_offsets->end()) {
    std::string known;
    for (const auto& [name, value] : *in.species_offsets) known += (known.empty() ? "" : ", ") + name;
    return R::error("species_offsets: no entry for species \"" + in.species + "\"; expected one of " +
                    known);
  }
  if (in.embedding_keys.empty()) {
    return R::error("protein embeddings of species \"" + in.species + "\": no keys");
  }
  if (!in.gene_filter.empty() && in.gene_filter.size() != in.dataset_symbols.size()) {
    return R::error("gene alignment: gene filter has " + std::to_string(in.gene_filter.size()) +
                    " entries; expected one per dataset gene (" +
                    std::to_string(in.dataset_symbols.size()) + ")");
  }

  GeneAlignment out;
  // Upper-cased keys, first position wins (Python dict comprehension semantics).
  std::unordered_map<std::string, int64_t> key_pos;
  key_pos.reserve(in.embedding_keys.size() * 2);
  int64_t next_pos = 0;
  for (const std::string& k : in.embedding_keys) {
    if (key_pos.emplace(ascii_upper(k), next_pos).second) {
      ++next_pos;
    } else {
      ++out.repeated_embedding_keys;
    }
  }

  // This species' rows by gene_symbol, first row wins.
  const SpeciesChromTable& table = *in.chrom_table;
  std::unordered_map<std::string_view, const SpeciesChromRow*> rows;
  for (const SpeciesChromRow& r : table.rows) {
    if (r.species != in.species) continue;
    if (!rows.emplace(r.gene_symbol, &r).second) ++out.repeated_chrom_rows;
  }
  if (rows.empty()) {
    return R::error(table.file_name + ": no row has species \"" + in.species +
                    "\"; expected the dataset's species in the species column");
  }

  const std::size_t n = in.dataset_symbols.size();
  out.kept_of_var.assign(n, -1);
  std::unordered_set<std::string> kept_symbols;
  for (std::size_t v = 0; v < n; ++v) {
    const std::string& symbol = in.dataset_symbols[v];
    if (!in.gene_filter.empty() && in.gene_filter[v] == 0) {
      note(out.filtered, symbol);
      continue;
    }
    const std::string upper = ascii_upper(symbol);
    const auto key = key_pos.find(upper);
    if (key == key_pos.end()) {
      note(out.no_embedding, symbol);
      continue;
    }
    const auto row = rows.find(upper);
    int32_t code = -1;
    if (row != rows.end() && row->second->has_start) {
      code = table.chrom_code(row->second->species, row->second->chromosome);
    }
    if (code < 0) {
      note(out.no_chromosome, symbol);
      continue;
    }
    const bool repeated = !kept_symbols.insert(upper).second;
    if (repeated) {
      if (in.duplicates == DuplicateSymbolPolicy::kKeepFirst) {
        note(out.duplicate, symbol);
        continue;
      }
      ++out.repeated_symbols_kept;
    }
    out.kept_of_var[v] = static_cast<int32_t>(out.var_index.size());
    out.var_index.push_back(static_cast<int64_t>(v));
    out.genes.token.push_back(key->second + off->second);
    out.genes.chrom.push_back(code);
    out.genes.start.push_back(row->second->start);
  }

  auto warn_drop = [&](const DropCount& d, const std::string& why) {
    if (d.count > 0) {
      out.warnings.push_back(std::to_string(d.count) + " gene(s) dropped: " + why + " (first: \"" +
                             d.first_example + "\")");
    }
  };
  warn_drop(out.filtered, "expressed in too few cells (gene filter)");
  warn_drop(out.no_embedding, "no protein embedding for species " + in.species);
  warn_drop(out.no_chromosome, "no chromosome/start row in " + table.file_name);
  warn_drop(out.duplicate, "symbol repeats an earlier kept gene");
  if (out.repeated_symbols_kept > 0) {
    out.warnings.push_back(std::to_string(out.repeated_symbols_kept) +
                           " kept gene(s) repeat an earlier kept symbol (case-insensitive); all "
                           "copies kept with the same token, as the official tool does");
  }
  if (out.repeated_embedding_keys > 0) {
    out.warnings.push_back(std::to_string(out.repeated_embedding_keys) +
                           " protein embedding key(s) of species " + in.species +
                           " repeat an earlier key after upper-casing; the first position is used");
  }
  if (out.repeated_chrom_rows > 0) {
    out.warnings.push_back(std::to_string(out.repeated_chrom_rows) + " row(s) of " + table.file_name +
                           " repeat a gene_symbol of species " + in.species + "; the first row is used");
  }
  if (out.var_index.empty()) {
    return R::error("gene alignment: none of the " + std::to_string(n) +
                    " dataset genes has a protein embedding and a chromosome row for species \"" +
                    in.species + "\"");
  }
  return out;
}

}  // namespace uce::sentences
