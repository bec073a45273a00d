// uce_brain_genes.hpp — UCE-brain's gene mapping JSON and the alignment of a dataset's genes to it
// (uce-brain-notes.md §3).
//
// File: {species: {SYMBOL: {"protein_embedding_id": "13466", "chromosome_id": "564",
// "location": "1000"}}} with the integers written as strings (plain JSON integers are accepted
// too). A file that is already single-species ({SYMBOL: {...}} at the top) is used as it is.
//
// Species resolution (the requested name against the file's keys): the exact key; then the
// canonical binomial of both sides (lower case, spaces/hyphens -> '_', legacy names mapped:
// human <-> homo_sapiens, mouse <-> mus_musculus, macaque/rhesus/pigtail -> macaca_mulatta, ...).
//
// Alignment: keep the dataset's columns whose symbol is in the vocabulary, in dataset order;
// repeated symbols are all kept. Exact matching by default; case_insensitive upper-cases both
// sides (ASCII), and when several vocabulary symbols fold to the same key the LAST one in file
// order wins (Python's {k.upper(): v for k, v in d.items()}).
// The result has the fields of the sentence builder's GeneTable (token, chrom, start): token =
// protein_embedding_id, chrom = chromosome_id (the sentence adds chrom_token_offset), start =
// location.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "uce/status.hpp"

namespace uce {

struct BrainGene {
  int64_t protein_embedding_id = 0;
  int64_t chromosome_id = 0;
  int64_t location = 0;
};

struct BrainGeneMapping {
  std::string path;
  std::string species_key;  // the file's key used; "" for a single-species file
  std::string resolution;   // one line for the log: how the species was found
  std::vector<std::string> symbols;  // file order
  std::vector<BrainGene> genes;      // parallel to symbols
};

// Canonical binomial of a species name ("Human" -> "homo_sapiens", "Mus musculus" ->
// "mus_musculus"); unknown names are just lower-cased with '_' separators.
std::string canonical_species_name(std::string_view name);

Result<BrainGeneMapping> read_brain_gene_mapping(const std::string& path, const std::string& species);
Result<BrainGeneMapping> parse_brain_gene_mapping(std::string_view json_text, const std::string& species,
                                                  const std::string& path);

struct BrainGeneAlignment {
  std::vector<int64_t> var_index;  // dataset column of each kept gene, ascending (repeats kept)
  std::vector<int64_t> token;      // protein_embedding_id
  std::vector<int32_t> chrom;      // chromosome_id
  std::vector<int64_t> start;      // location
  int64_t dropped = 0;             // dataset columns not in the vocabulary
  std::string first_dropped;       // an example, for the log
  int64_t repeated_symbols_kept = 0;  // kept columns whose symbol an earlier kept column had
  int64_t folded_collisions = 0;      // case_insensitive: vocabulary symbols that fold onto an earlier one
};

// Error when no column matches (names the mode and an example symbol).
Result<BrainGeneAlignment> align_brain_genes(const BrainGeneMapping& mapping,
                                             std::span<const std::string> dataset_symbols, bool case_insensitive);

}  // namespace uce
