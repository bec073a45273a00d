// species_chrom.cpp — species_chrom.csv reader (see species_chrom.hpp for the dialect).
#include "uce/sentences/species_chrom.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace uce::sentences {
namespace {

struct Field {
  std::string text;
  int64_t column = 0;  // 1-based
};

// Splits one CSV record starting at pos; advances pos past its line end. Quoted fields may span
// lines. Returns an error message (empty when fine).
std::string read_record(std::string_view text, std::size_t& pos, int64_t& line,
                        std::vector<Field>& fields) {
  fields.clear();
  std::string cur;
  bool in_quotes = false;
  bool was_quoted = false;
  const int64_t start_line = line;
  while (pos < text.size()) {
    const char ch = text[pos];
    if (in_quotes) {
      if (ch == '"') {
        if (pos + 1 < text.size() && text[pos + 1] == '"') {
          cur.push_back('"');
          pos += 2;
          continue;
        }
        in_quotes = false;
        ++pos;
        continue;
      }
      if (ch == '\n') ++line;
      cur.push_back(ch);
      ++pos;
      continue;
    }
    if (ch == '"') {
      if (!cur.empty() || was_quoted) {
        return "column " + std::to_string(fields.size() + 1) +
               ": a quote inside an unquoted field; expected the whole field in quotes";
      }
      in_quotes = was_quoted = true;
      ++pos;
      continue;
    }
    if (ch == ',') {
      fields.push_back({std::move(cur), static_cast<int64_t>(fields.size() + 1)});
      cur.clear();
      was_quoted = false;
      ++pos;
      continue;
    }
    if (ch == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') {
      ++pos;
      continue;
    }
    if (ch == '\n') {
      ++pos;
      ++line;
      break;
    }
    if (was_quoted) {
      return "column " + std::to_string(fields.size() + 1) +
             ": text after a closing quote; expected a comma or the line end";
    }
    cur.push_back(ch);
    ++pos;
  }
  if (in_quotes) {
    return "column " + std::to_string(fields.size() + 1) + ": quote opened on line " +
           std::to_string(start_line) + " never closed";
  }
  fields.push_back({std::move(cur), static_cast<int64_t>(fields.size() + 1)});
  return {};
}

bool blank(const std::vector<Field>& fields) { return fields.size() == 1 && fields[0].text.empty(); }

// "123", "-5", "123.0", "1.5e6" (integral values only).
bool parse_start(const std::string& s, int64_t& out) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, out);
  if (ec == std::errc() && p == e) return true;
  double d = 0;
  auto [p2, ec2] = std::from_chars(b, e, d);
  if (ec2 != std::errc() || p2 != e || !std::isfinite(d) || d != std::floor(d) ||
      std::fabs(d) > 9.0e15) {
    return false;
  }
  out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

int32_t SpeciesChromTable::chrom_code(std::string_view species, std::string_view chromosome) const {
  std::string key;
  key.reserve(species.size() + 1 + chromosome.size());
  key.append(species).append("_").append(chromosome);
  auto it = std::lower_bound(categories.begin(), categories.end(), key);
  if (it == categories.end() || *it != key) return -1;
  return static_cast<int32_t>(it - categories.begin());
}

Result<SpeciesChromTable> parse_species_chrom_csv(std::string_view text, std::string file_name) {
  using R = Result<SpeciesChromTable>;
  SpeciesChromTable table;
  table.file_name = file_name;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  std::size_t pos = 0;
  int64_t line = 1;
  std::vector<Field> fields;
  auto fail = [&](int64_t at_line, const std::string& what) {
    return R::error(file_name + ":" + std::to_string(at_line) + ": " + what);
  };

  // Header: locate the four columns by name.
  int64_t header_line = line;
  do {
    header_line = line;
    if (pos >= text.size()) return fail(1, "empty file; expected a header with gene_symbol, species, chromosome, start");
    std::string err = read_record(text, pos, line, fields);
    if (!err.empty()) return fail(header_line, err);
  } while (blank(fields));
  const char* names[4] = {"gene_symbol", "species", "chromosome", "start"};
  std::size_t col[4];
  for (int k = 0; k < 4; ++k) {
    std::size_t found = fields.size();
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].text == names[k]) {
        if (found != fields.size()) {
          return fail(header_line, "header names column \"" + std::string(names[k]) + "\" twice");
        }
        found = i;
      }
    }
    if (found == fields.size()) {
      return fail(header_line, "header has no column \"" + std::string(names[k]) +
                                   "\"; expected gene_symbol, species, chromosome, start");
    }
    col[k] = found;
  }
  const std::size_t n_cols = fields.size();

  while (pos < text.size()) {
    const int64_t row_line = line;
    std::string err = read_record(text, pos, line, fields);
    if (!err.empty()) return fail(row_line, err);
    if (blank(fields)) continue;
    if (fields.size() != n_cols) {
      return fail(row_line, "has " + std::to_string(fields.size()) + " columns; expected " +
                                std::to_string(n_cols) + " as in the header");
    }
    SpeciesChromRow row;
    row.gene_symbol = std::move(fields[col[0]].text);
    row.species = std::move(fields[col[1]].text);
    row.chromosome = std::move(fields[col[2]].text);
    row.line = row_line;
    const std::string& start = fields[col[3]].text;
    if (!start.empty()) {
      if (!parse_start(start, row.start)) {
        return fail(row_line, "column " + std::to_string(col[3] + 1) + " (start): \"" + start +
                                  "\" is not an integer; expected a genomic start position");
      }
      row.has_start = true;
    }
    table.rows.push_back(std::move(row));
  }

  for (const auto& r : table.rows) {
    if (!r.species.empty() && !r.chromosome.empty()) {
      table.categories.push_back(r.species + "_" + r.chromosome);
    }
  }
  std::sort(table.categories.begin(), table.categories.end());
  table.categories.erase(std::unique(table.categories.begin(), table.categories.end()),
                         table.categories.end());
  return table;
}

Result<SpeciesChromTable> read_species_chrom_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<SpeciesChromTable>::error(path + ": cannot open the species_chrom.csv file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Result<SpeciesChromTable>::error(path + ": read error");
  return parse_species_chrom_csv(ss.str(), path);
}

std::string check_chrom_token_offset(int64_t configured_offset, int64_t token_table_rows,
                                     const SpeciesChromTable& table) {
  const int64_t expected = token_table_rows - static_cast<int64_t>(table.categories.size());
  if (expected == configured_offset) return {};
  return "chromosome token offset is " + std::to_string(configured_offset) + " but the token table (" +
         std::to_string(token_table_rows) + " rows) and " + table.file_name + " (" +
         std::to_string(table.categories.size()) + " species_chromosome categories) imply " +
         std::to_string(expected);
}

}  // namespace uce::sentences
