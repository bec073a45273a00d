// reader_obs_strings of uce_stage_h5ad against tests/reference/make_h5ad_obs_fixtures.py: every obs
// column kind (categoricals incl. a missing value and integer categories, strings, integers,
// floats with nan/inf, bools, nullable integers/booleans) in the anndata >= 0.8, 0.7.0
// (__categories) and < 0.7 (compound) layouts must read as the text Python made of the values
// anndata / h5py read back.
#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stage_loader.hpp"

namespace {

const std::string kDir = UCE_H5AD_FIXTURES;

const nlohmann::json& expectations() {
  static const nlohmann::json j = [] {
    std::ifstream in(kDir + "/obs_strings.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

const nlohmann::json& file_entry(const std::string& file) {
  for (const auto& f : expectations()["files"])
    if (f["file"] == file) return f;
  static const nlohmann::json none;
  ADD_FAILURE() << "obs_strings.json has no entry for " << file;
  return none;
}

// The slot, found the way a caller must (the table may be older than the header).
using ObsStringsFn = decltype(uce_stage_iface::reader_obs_strings);
ObsStringsFn obs_strings_slot(const uce_stage_iface* s) {
  if (!s || s->struct_size <= offsetof(uce_stage_iface, reader_obs_strings)) return nullptr;
  return s->reader_obs_strings;
}

struct OpenReader {
  const uce_stage_iface* s = h5ad_stage();
  uce_reader* r = nullptr;
  explicit OpenReader(const std::string& file, int64_t max_chunk = 0) {
    const std::string path = kDir + "/" + file;
    uce_reader_options o{};
    o.struct_size = sizeof(o);
    o.path = path.c_str();
    o.counts = "X";
    o.gene_column = "";
    o.max_chunk_bytes = max_chunk;
    uce_error err{};
    EXPECT_EQ(s->reader_open(&o, &r, &err), UCE_OK) << err.message;
  }
  ~OpenReader() {
    if (r) s->reader_close(r);
  }
  // Rows [b, e) of `column`; the status goes to *status, the message to *message.
  std::vector<std::string> read(const std::string& column, int64_t b, int64_t e, uce_status* status = nullptr,
                                std::string* message = nullptr) {
    const char* const* out = nullptr;
    uce_error err{};
    uce_status st = obs_strings_slot(s)(r, column.c_str(), b, e, &out, &err);
    if (status) *status = st;
    if (message) *message = err.message;
    std::vector<std::string> texts;
    if (st != UCE_OK) return texts;
    for (int64_t i = 0; i < e - b; ++i) texts.emplace_back(out[i] ? out[i] : "<NULL>");
    return texts;
  }
};

TEST(H5adObsStrings, SlotIsAppendedAndProvided) {
  const uce_stage_iface* s = h5ad_stage();
  ASSERT_NE(s, nullptr);
  EXPECT_GT(offsetof(uce_stage_iface, reader_obs_strings), offsetof(uce_stage_iface, writer_resume));
  EXPECT_NE(obs_strings_slot(s), nullptr);
  // The npy plugin has no reader half: its slot is NULL (size check passes: same header).
  const uce_stage_iface* npy = npy_stage();
  ASSERT_NE(npy, nullptr);
  EXPECT_EQ(obs_strings_slot(npy), nullptr);
}

class H5adObsStringsFile : public ::testing::TestWithParam<std::string> {};

// Each column read whole (crossing the reader's 4096-row piece in obs_strings.h5ad) and in the
// contiguous runs of the checked rows (sub-ranges); both must equal Python's text.
TEST_P(H5adObsStringsFile, EveryColumnMatchesPython) {
  const auto& entry = file_entry(GetParam());
  ASSERT_FALSE(entry.is_null());
  OpenReader reader(GetParam());
  ASSERT_NE(reader.r, nullptr);
  ASSERT_NE(obs_strings_slot(reader.s), nullptr);
  const int64_t n_obs = entry["n_obs"];
  const auto rows = entry["rows"].get<std::vector<int64_t>>();
  ASSERT_FALSE(entry["columns"].empty());
  for (const auto& [column, expected_json] : entry["columns"].items()) {
    SCOPED_TRACE(GetParam() + " column " + column);
    const auto expected = expected_json.get<std::vector<std::string>>();
    ASSERT_EQ(expected.size(), rows.size());

    uce_status st = UCE_OK;
    std::string msg;
    const auto whole = reader.read(column, 0, n_obs, &st, &msg);
    ASSERT_EQ(st, UCE_OK) << msg;
    ASSERT_EQ(static_cast<int64_t>(whole.size()), n_obs);
    for (size_t k = 0; k < rows.size(); ++k)
      EXPECT_EQ(whole[static_cast<size_t>(rows[k])], expected[k]) << "row " << rows[k];

    for (size_t k = 0; k < rows.size();) {
      size_t end = k + 1;
      while (end < rows.size() && rows[end] == rows[end - 1] + 1) ++end;
      const auto run = reader.read(column, rows[k], rows[end - 1] + 1, &st, &msg);
      ASSERT_EQ(st, UCE_OK) << msg;
      for (size_t i = k; i < end; ++i)
        EXPECT_EQ(run[i - k], expected[i]) << "row " << rows[i] << " of the run from " << rows[k];
      k = end;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Files, H5adObsStringsFile,
                         ::testing::Values("obs_strings.h5ad", "csr_i32.h5ad", "old_compound.h5ad",
                                           "h5sparse.h5ad"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param.substr(0, p.param.find('.'));
                         });

TEST(H5adObsStrings, MissingCategoricalValueIsEmpty) {
  const auto& entry = file_entry("obs_strings.h5ad");
  ASSERT_FALSE(entry.is_null());
  const auto expected = entry["columns"]["cell_type"].get<std::vector<std::string>>();
  const auto rows = entry["rows"].get<std::vector<int64_t>>();
  size_t missing = 0;
  OpenReader reader("obs_strings.h5ad");
  ASSERT_NE(reader.r, nullptr);
  for (size_t k = 0; k < rows.size(); ++k) {
    if (!expected[k].empty()) continue;
    ++missing;
    const auto one = reader.read("cell_type", rows[k], rows[k] + 1);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0], "") << "row " << rows[k] << " (code -1)";
  }
  EXPECT_GT(missing, 0u) << "the fixture must hold a missing categorical value";
}

TEST(H5adObsStrings, SmallSubRangeWithTinyChunkBudget) {
  const auto& entry = file_entry("csr_i32.h5ad");
  ASSERT_FALSE(entry.is_null());
  const auto expected = entry["columns"]["cell_type"].get<std::vector<std::string>>();
  OpenReader reader("csr_i32.h5ad", 64);
  ASSERT_NE(reader.r, nullptr);
  const auto got = reader.read("cell_type", 5, 9);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(got[i], expected[5 + i]) << "row " << 5 + i;
  uce_status st = UCE_ERR_INTERNAL;
  EXPECT_TRUE(reader.read("score", 7, 7, &st).empty());
  EXPECT_EQ(st, UCE_OK) << "an empty range is fine";
}

TEST(H5adObsStrings, MissingColumnListsTheAvailableOnes) {
  for (const char* file : {"csr_i32.h5ad", "old_compound.h5ad"}) {
    SCOPED_TRACE(file);
    const auto& entry = file_entry(file);
    ASSERT_FALSE(entry.is_null());
    OpenReader reader(file);
    ASSERT_NE(reader.r, nullptr);
    uce_status st = UCE_OK;
    std::string msg;
    EXPECT_TRUE(reader.read("no_such_column", 0, 1, &st, &msg).empty());
    EXPECT_EQ(st, UCE_ERR_INVALID_ARGUMENT);
    EXPECT_NE(msg.find("no_such_column"), std::string::npos) << msg;
    EXPECT_NE(msg.find(file), std::string::npos) << "names the file: " << msg;
    for (const auto& c : entry["columns_listed"])
      EXPECT_NE(msg.find(c.get<std::string>()), std::string::npos) << "lists " << c << ": " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(H5adObsStrings, BadRangesAndNullsAreRefused) {
  OpenReader reader("csr_i32.h5ad");
  ASSERT_NE(reader.r, nullptr);
  const int64_t n_obs = file_entry("csr_i32.h5ad")["n_obs"];
  for (auto [b, e] : {std::pair<int64_t, int64_t>{0, n_obs + 1}, {-1, 2}, {5, 4}}) {
    uce_status st = UCE_OK;
    std::string msg;
    reader.read("cell_type", b, e, &st, &msg);
    EXPECT_EQ(st, UCE_ERR_INVALID_ARGUMENT) << b << ".." << e;
    EXPECT_NE(msg.find("cell_type"), std::string::npos) << msg;
  }
  const char* const* out = nullptr;
  uce_error err{};
  EXPECT_NE(reader.s->reader_obs_strings(reader.r, nullptr, 0, 1, &out, &err), UCE_OK);
  EXPECT_NE(reader.s->reader_obs_strings(nullptr, "cell_type", 0, 1, &out, &err), UCE_OK);
  EXPECT_NE(reader.s->reader_obs_strings(reader.r, "cell_type", 0, 1, nullptr, &err), UCE_OK);
}

TEST(H5adObsStrings, AnswerSurvivesCountsReads) {
  // The texts stay valid until the next obs_strings call; read_rows in between leaves them alone.
  const auto& entry = file_entry("csr_i32.h5ad");
  OpenReader reader("csr_i32.h5ad");
  ASSERT_NE(reader.r, nullptr);
  const char* const* out = nullptr;
  uce_error err{};
  ASSERT_EQ(reader.s->reader_obs_strings(reader.r, "batch", 0, 3, &out, &err), UCE_OK) << err.message;
  uce_csr_chunk chunk{};
  chunk.struct_size = sizeof(chunk);
  ASSERT_EQ(reader.s->reader_read_rows(reader.r, 0, 5, &chunk, &err), UCE_OK) << err.message;
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(std::string(out[i]), entry["columns"]["batch"][i].get<std::string>());
}

}  // namespace
