// species_chrom.hpp — the original UCE species_chrom.csv (columns gene_symbol, species,
// chromosome, start; found by header name, in any order, extra columns ignored).
//
// CSV dialect: comma separated, RFC-4180 quotes ("a,b", "say ""x"""), LF or CRLF line ends,
// an optional UTF-8 BOM, blank lines skipped. Errors name the file, the line and the column.
// Only an empty field is missing (pandas would also read "NA", "nan", ... as missing; no real
// gene symbol or chromosome of the published file is one of those).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "uce/status.hpp"

namespace uce::sentences {

struct SpeciesChromRow {
  std::string gene_symbol;
  std::string species;
  std::string chromosome;
  int64_t start = 0;
  bool has_start = false;  // false when the start field is empty
  int64_t line = 0;        // 1-based line in the file, for messages
};

struct SpeciesChromTable {
  std::string file_name;
  std::vector<SpeciesChromRow> rows;
  // Sorted (byte order) distinct `species + "_" + chromosome` over ALL rows with both fields
  // present: the categories of pandas' Categorical; chromosome code = index in this list.
  std::vector<std::string> categories;

  // Code of species_chromosome, or -1 when absent.
  int32_t chrom_code(std::string_view species, std::string_view chromosome) const;
};

// Parses the whole file text. file_name is only used in messages.
Result<SpeciesChromTable> parse_species_chrom_csv(std::string_view text, std::string file_name);
// Reads and parses a file.
Result<SpeciesChromTable> read_species_chrom_csv(const std::string& path);

// The chromosome token offset the published files imply: token table rows - categories
// (145469 - 1895 = 143574). Returns a warning line when the configured offset differs, "" if not.
std::string check_chrom_token_offset(int64_t configured_offset, int64_t token_table_rows,
                                     const SpeciesChromTable& table);

}  // namespace uce::sentences
