// The gene mapping JSON, species resolution and gene alignment, against expectations computed
// with Python dict semantics by tests/reference/make_brain_fixtures.py (alignment_cases.json).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "brain_test_support.hpp"
#include "uce/uce_brain_genes.hpp"

namespace {
using namespace brain_test;

TEST(BrainGenes, MatchesThePythonAlignmentCases) {
  const auto cases = nlohmann::json::parse(read_text(kDir + "/alignment_cases.json"));
  ASSERT_GE(cases.size(), 6u);
  for (const auto& c : cases) {
    const std::string species = c["species"];
    const bool ci = c["case_insensitive"];
    SCOPED_TRACE(species + (ci ? " case-insensitive" : " exact"));
    auto m = uce::read_brain_gene_mapping(kDir + "/gene_mapping.json", species);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m->species_key, c["resolved_key"].get<std::string>()) << m->resolution;
    const auto dataset = c["dataset"].get<std::vector<std::string>>();
    auto a = uce::align_brain_genes(*m, dataset, ci);
    ASSERT_TRUE(a) << a.message();
    EXPECT_EQ(a->var_index, c["var_index"].get<std::vector<int64_t>>());
    EXPECT_EQ(a->token, c["token"].get<std::vector<int64_t>>());
    EXPECT_EQ(a->chrom, c["chrom"].get<std::vector<int32_t>>());
    EXPECT_EQ(a->start, c["start"].get<std::vector<int64_t>>());
    EXPECT_EQ(a->dropped, static_cast<int64_t>(dataset.size() - a->var_index.size()));
  }
}

TEST(BrainGenes, SpeciesNamesResolveToBinomials) {
  EXPECT_EQ(uce::canonical_species_name("human"), "homo_sapiens");
  EXPECT_EQ(uce::canonical_species_name("Homo sapiens"), "homo_sapiens");
  EXPECT_EQ(uce::canonical_species_name("homo_sapiens"), "homo_sapiens");
  EXPECT_EQ(uce::canonical_species_name("Mouse"), "mus_musculus");
  EXPECT_EQ(uce::canonical_species_name("rhesus"), "macaca_mulatta");
  EXPECT_EQ(uce::canonical_species_name("pigtail"), "macaca_mulatta");
  EXPECT_EQ(uce::canonical_species_name("zebrafish"), "danio_rerio");
  EXPECT_EQ(uce::canonical_species_name("mouse_lemur"), "microcebus_murinus");
  EXPECT_EQ(uce::canonical_species_name("Rattus norvegicus"), "rattus_norvegicus");
}

TEST(BrainGenes, UnknownSpeciesListsTheFileKeys) {
  auto m = uce::read_brain_gene_mapping(kDir + "/gene_mapping.json", "zebrafish");
  ASSERT_FALSE(m);
  EXPECT_NE(m.message().find("gene_mapping.json"), std::string::npos) << m.message();
  EXPECT_NE(m.message().find("human, mus_musculus"), std::string::npos) << m.message();
}

TEST(BrainGenes, SingleSpeciesFileIsUsedAsItIs) {
  auto m = uce::parse_brain_gene_mapping(
      R"({"ACTB": {"protein_embedding_id": "17", "chromosome_id": "570", "location": "5527148"},
          "GAPDH": {"protein_embedding_id": 18, "chromosome_id": "575", "location": " 6534512 "}})",
      "human", "flat.json");
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m->species_key, "");
  ASSERT_EQ(m->symbols.size(), 2u);
  EXPECT_EQ(m->symbols[1], "GAPDH");
  EXPECT_EQ(m->genes[0].protein_embedding_id, 17);
  EXPECT_EQ(m->genes[1].protein_embedding_id, 18);
  EXPECT_EQ(m->genes[1].location, 6534512);
  const std::vector<std::string> ds = {"gapdh", "ACTB", "GAPDH"};
  auto exact = uce::align_brain_genes(*m, ds, false);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->var_index, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(exact->first_dropped, "gapdh");
  auto none = uce::align_brain_genes(*m, std::vector<std::string>{"gapdh"}, false);
  ASSERT_FALSE(none);
  EXPECT_NE(none.message().find("case_insensitive"), std::string::npos) << none.message();
}

TEST(BrainGenes, MalformedEntriesAreOneLineErrors) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"human": {"ACTB": {"protein_embedding_id": "17x", "chromosome_id": "1", "location": "5"}}})", "'protein_embedding_id'"},
      {R"({"human": {"ACTB": {"protein_embedding_id": "17", "location": "5"}}})", "lacks 'chromosome_id'"},
      {R"({"human": {"ACTB": [1, 2, 3]}})", "gene 'ACTB' is not an object"},
      {R"({"human": {"ACTB": {"protein_embedding_id": "-3", "chromosome_id": "1", "location": "5"}}})", "non-negative"},
      {R"({"human": []})", "not a non-empty object"},
      {R"({"human": )", "not valid JSON"},
  };
  for (const auto& [text, want] : bad) {
    auto m = uce::parse_brain_gene_mapping(text, "human", "map.json");
    ASSERT_FALSE(m) << text;
    EXPECT_NE(m.message().find(want), std::string::npos) << m.message();
    EXPECT_NE(m.message().find("map.json"), std::string::npos) << m.message();
    EXPECT_EQ(m.message().find('\n'), std::string::npos) << m.message();
  }
}

}  // namespace
