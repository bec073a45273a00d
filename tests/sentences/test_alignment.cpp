// species_chrom.csv and gene alignment against pandas (fixtures/sentences/alignment).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "uce/sentences/gene_alignment.hpp"
#include "uce/sentences/species_chrom.hpp"

using namespace uce::sentences;

namespace {

const SpeciesChromTable& table() {
  static const SpeciesChromTable t = [] {
    auto r = read_species_chrom_csv(fixtures::path("alignment/species_chrom.csv"));
    EXPECT_TRUE(r.is_ok()) << r.message();
    return r.take();
  }();
  return t;
}

struct Inputs {
  std::map<std::string, std::vector<std::string>> keys;
  std::map<std::string, int64_t> offsets;
  std::vector<std::string> dataset;
  std::vector<uint8_t> filter;
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs i;
    const auto j = fixtures::read_json("alignment/inputs.json");
    for (const auto& [species, keys] : j["species_keys"].items()) i.keys[species] = keys.get<std::vector<std::string>>();
    for (const auto& [species, off] : j["offsets"].items()) i.offsets[species] = off.get<int64_t>();
    i.dataset = j["dataset"].get<std::vector<std::string>>();
    for (int v : j["gene_filter"]) i.filter.push_back(static_cast<uint8_t>(v));
    return i;
  }();
  return in;
}

AlignmentInputs make(const std::string& species) {
  AlignmentInputs a;
  a.dataset_symbols = inputs().dataset;
  a.species = species;
  a.embedding_keys = inputs().keys.at(species);
  a.species_offsets = &inputs().offsets;
  a.chrom_table = &table();
  return a;
}

void expect_matches(const GeneAlignment& got, const nlohmann::json& want) {
  EXPECT_EQ(got.var_index, want["var_index"].get<std::vector<int64_t>>());
  EXPECT_EQ(got.genes.token, want["token"].get<std::vector<int64_t>>());
  EXPECT_EQ(got.genes.chrom, want["chrom"].get<std::vector<int32_t>>());
  EXPECT_EQ(got.genes.start, want["start"].get<std::vector<int64_t>>());
  EXPECT_EQ(got.filtered.count, want["filtered"].get<int64_t>());
  EXPECT_EQ(got.no_embedding.count, want["no_embedding"].get<int64_t>());
  EXPECT_EQ(got.no_chromosome.count, want["no_chromosome"].get<int64_t>());
  EXPECT_EQ(got.duplicate.count, want["duplicate"].get<int64_t>());
  // kept_of_var is the inverse of var_index.
  for (std::size_t k = 0; k < got.var_index.size(); ++k) {
    EXPECT_EQ(got.kept_of_var[static_cast<std::size_t>(got.var_index[k])], static_cast<int32_t>(k));
  }
}

uce::Result<SpeciesChromTable> parse(const std::string& text) { return parse_species_chrom_csv(text, "t.csv"); }

}  // namespace

TEST(SpeciesChromCsv, CategoriesMatchPandas) {
  const auto want = fixtures::read_json("alignment/expected.json");
  EXPECT_EQ(table().categories, want["human_keep_all_filtered"]["categories"].get<std::vector<std::string>>());
  EXPECT_EQ(table().rows.size(), 15u);  // a quoted field spanning two lines is one row
  EXPECT_EQ(table().chrom_code("human", "MT"), 5);
  EXPECT_EQ(table().chrom_code("human", "Y"), -1);
}

TEST(GeneAlignment, HumanKeepAllWithGeneFilter) {
  AlignmentInputs a = make("human");
  a.gene_filter = inputs().filter;
  auto r = align_genes(a);
  ASSERT_TRUE(r.is_ok()) << r.message();
  expect_matches(*r, fixtures::read_json("alignment/expected.json")["human_keep_all_filtered"]);
  EXPECT_EQ(r->repeated_symbols_kept, 2);   // GENEA/genea and GENEB twice
  EXPECT_EQ(r->repeated_embedding_keys, 1); // "genea" and "GENEA"
  EXPECT_EQ(r->repeated_chrom_rows, 1);     // GENEA has two human rows
  EXPECT_EQ(r->no_embedding.first_example, "NOEMB");
  EXPECT_EQ(r->no_chromosome.first_example, "GENEF");  // its row has no start
  EXPECT_FALSE(r->warnings.empty());
}

TEST(GeneAlignment, HumanKeepFirst) {
  AlignmentInputs a = make("human");
  a.duplicates = DuplicateSymbolPolicy::kKeepFirst;
  auto r = align_genes(a);
  ASSERT_TRUE(r.is_ok()) << r.message();
  expect_matches(*r, fixtures::read_json("alignment/expected.json")["human_keep_first"]);
  EXPECT_EQ(r->duplicate.first_example, "GENEA");
}

TEST(GeneAlignment, MouseOffset) {
  auto r = align_genes(make("mouse"));
  ASSERT_TRUE(r.is_ok()) << r.message();
  expect_matches(*r, fixtures::read_json("alignment/expected.json")["mouse_keep_all"]);
}

TEST(GeneAlignment, ClearErrors) {
  AlignmentInputs a = make("human");
  a.species = "pig";
  auto r = align_genes(a);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("species_offsets: no entry for species \"pig\""), std::string::npos) << r.message();

  std::map<std::string, int64_t> offsets = inputs().offsets;
  offsets["pig"] = 5;
  a.species_offsets = &offsets;
  r = align_genes(a);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("no row has species \"pig\""), std::string::npos) << r.message();

  a = make("human");
  std::vector<uint8_t> short_filter(3, 1);
  a.gene_filter = short_filter;
  r = align_genes(a);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("gene filter"), std::string::npos);

  a = make("human");
  std::vector<std::string> unknown = {"NOPE1", "NOPE2"};
  a.dataset_symbols = unknown;
  r = align_genes(a);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("none of the 2 dataset genes"), std::string::npos);
}

TEST(SpeciesChromCsv, DialectAndColumnOrder) {
  auto r = parse("\xEF\xBB\xBFstart,chromosome,extra,species,gene_symbol\n\n10,1,\"q\"\"x\",human,A\n20.0,2,,human,B");
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0].gene_symbol, "A");
  EXPECT_EQ(r->rows[1].start, 20);
  EXPECT_EQ(r->rows[1].line, 4);
  EXPECT_EQ(r->categories, (std::vector<std::string>{"human_1", "human_2"}));
}

TEST(SpeciesChromCsv, ErrorsNameFileLineAndColumn) {
  auto r = parse("gene_symbol,species,chromosome\nA,human,1\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.message(), "t.csv:1: header has no column \"start\"; expected gene_symbol, species, chromosome, start");

  r = parse("gene_symbol,species,chromosome,start\r\nA,human,1,10\r\nB,human,1,ten\r\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("t.csv:3: column 4 (start): \"ten\" is not an integer"), std::string::npos) << r.message();

  r = parse("gene_symbol,species,chromosome,start\nA,human,1\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("t.csv:2: has 3 columns; expected 4"), std::string::npos) << r.message();

  r = parse("gene_symbol,species,chromosome,start\nA,\"human,1,10\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("t.csv:2: column 2: quote opened on line 2 never closed"), std::string::npos) << r.message();

  r = parse("gene_symbol,species,chromosome,start\nA,hu\"man,1,10\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("t.csv:2: column 2"), std::string::npos) << r.message();

  r = parse("");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("empty file"), std::string::npos);

  auto missing = read_species_chrom_csv("/nonexistent/species_chrom.csv");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("/nonexistent/species_chrom.csv"), std::string::npos);
}

TEST(SpeciesChromCsv, ChromTokenOffsetCheck) {
  // 9 categories: a 100-row token table implies offset 91.
  EXPECT_EQ(check_chrom_token_offset(91, 100, table()), "");
  const std::string w = check_chrom_token_offset(143574, 100, table());
  EXPECT_NE(w.find("imply 91"), std::string::npos) << w;
}

TEST(GeneAlignment, AsciiUpper) { EXPECT_EQ(ascii_upper("abZ-9_é"), "ABZ-9_é"); }
