// gene_alignment.hpp — the dataset's genes -> the original UCE model's tokens
// (cell-sentences.md §1, steps 2-4), as a pure function over inputs already read by others.
//
// For each dataset gene, in file order (an earlier rule wins when several apply):
//   1. filtered     the optional min_cells gene filter dropped it (gene_filter[var] == 0);
//   2. no_embedding its ASCII-upper-cased symbol is not among the upper-cased embedding keys;
//   3. no_chromosome the species has no species_chrom.csv row with that gene_symbol (compared
//                   exactly, as pandas .loc does), or the row lacks chromosome or start
//                   (the official tool crashes here; we drop and count);
//   4. duplicate    only with DuplicateSymbolPolicy::kKeepFirst: its upper-cased symbol equals
//                   the one of an earlier KEPT gene.
// Kept gene: token = position of the upper-cased symbol among the upper-cased keys with
// repeats removed (Python's {k.upper(): v} keeps a key at its FIRST position) + offset;
// chromosome code = index of species + "_" + chromosome in table.categories; start = row start.
// Repeated (species, gene_symbol) rows: the first row is used and the repeats are counted.
// Repeated dataset symbols: kKeepAll (default) keeps every copy as the official tool does
// (each gets the same token; a warning gives the count); kKeepFirst keeps only the first.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "uce/sentences/sampler.hpp"
#include "uce/sentences/species_chrom.hpp"
#include "uce/status.hpp"

namespace uce::sentences {

enum class DuplicateSymbolPolicy { kKeepAll, kKeepFirst };

struct AlignmentInputs {
  std::span<const std::string> dataset_symbols;  // var names, file order
  std::string species;                           // e.g. "human"
  std::span<const std::string> embedding_keys;   // keys of the species' .pt dict, dict order
  const std::map<std::string, int64_t>* species_offsets = nullptr;  // species_offsets.pkl
  const SpeciesChromTable* chrom_table = nullptr;
  std::span<const uint8_t> gene_filter;  // optional, one per var: 1 = passed; empty = all pass
  DuplicateSymbolPolicy duplicates = DuplicateSymbolPolicy::kKeepAll;
};

struct DropCount {
  int64_t count = 0;
  std::string first_example;  // the first dropped symbol, for the log
};

struct GeneAlignment {
  std::vector<int64_t> var_index;    // dataset var index of each kept gene, ascending
  GeneTable genes;                   // token, chromosome code, start of each kept gene
  std::vector<int32_t> kept_of_var;  // per dataset var: its kept-gene index, or -1
  DropCount filtered, no_embedding, no_chromosome, duplicate;
  int64_t repeated_symbols_kept = 0;  // kept genes repeating an earlier kept symbol (kKeepAll)
  int64_t repeated_embedding_keys = 0;  // keys equal to an earlier key after upper-casing
  int64_t repeated_chrom_rows = 0;      // species rows repeating an earlier gene_symbol
  std::vector<std::string> warnings;    // one line each, for the run log
};

// Errors: missing species in the offsets or in the CSV, size mismatches, no gene kept.
Result<GeneAlignment> align_genes(const AlignmentInputs& in);

// ASCII upper-casing (Python's str.upper() for ASCII symbols; other bytes are left as they are).
std::string ascii_upper(std::string_view s);

}  // namespace uce::sentences
