// Reader half of uce_stage_h5ad against the fixtures of tests/reference/make_h5ad_fixtures.py:
// every layout read in many small chunks (tiny max_chunk_bytes) must equal numpy's dense matrix.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "npy_read.hpp"
#include "stage_loader.hpp"

namespace {

const std::string kDir = UCE_H5AD_FIXTURES;

nlohmann::json manifest() {
  std::ifstream in(kDir + "/fixtures.json");
  return nlohmann::json::parse(in);
}

struct LogCapture {
  std::vector<std::string> lines;
  static void log(void* user, int, const char* line) {
    static_cast<LogCapture*>(user)->lines.emplace_back(line);
  }
};

// Owns the strings the C options point to.
struct ReaderOptions {
  std::string file, counts, gene_column;
  uce_reader_options o{};
  ReaderOptions(std::string f, std::string c, std::string g, int64_t max_chunk, LogCapture* log)
      : file(std::move(f)), counts(std::move(c)), gene_column(std::move(g)) {
    o.struct_size = sizeof(o);
    o.path = file.c_str();
    o.counts = counts.c_str();
    o.gene_column = gene_column.c_str();
    o.max_chunk_bytes = max_chunk;
    o.log = LogCapture::log;
    o.log_user = log;
  }
  const uce_reader_options* get() const { return &o; }
};

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Reads all rows in ranges of varying sizes (in `order` of range starts) into a dense matrix.
std::vector<double> read_dense(const uce_stage_iface* s, uce_reader* r, int64_t n_obs, int64_t n_var,
                               bool backwards) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  const int64_t sizes[] = {1, 2, 3, 5, 7};
  for (int64_t b = 0, k = 0; b < n_obs; ++k) {
    int64_t e = std::min(n_obs, b + sizes[k % 5]);
    ranges.emplace_back(b, e);
    b = e;
  }
  if (backwards) std::reverse(ranges.begin(), ranges.end());
  std::vector<double> dense(static_cast<size_t>(n_obs * n_var), 0.0);
  for (auto [b, e] : ranges) {
    uce_csr_chunk chunk{};
    chunk.struct_size = sizeof(chunk);
    uce_error err{};
    EXPECT_EQ(s->reader_read_rows(r, b, e, &chunk, &err), UCE_OK) << err.message;
    EXPECT_EQ(chunk.row_begin, b);
    EXPECT_EQ(chunk.n_rows, e - b);
    EXPECT_EQ(chunk.indptr[0], 0);
    for (int64_t i = 0; i < chunk.n_rows; ++i) {
      EXPECT_LE(chunk.indptr[i], chunk.indptr[i + 1]);
      for (int64_t k = chunk.indptr[i]; k < chunk.indptr[i + 1]; ++k) {
        EXPECT_GE(chunk.indices[k], 0);
        EXPECT_LT(chunk.indices[k], n_var);
        dense[static_cast<size_t>((b + i) * n_var + chunk.indices[k])] += chunk.values[k];
      }
    }
  }
  return dense;
}

// Indices of the manifest's valid (with an expected matrix) or hostile (with an error) entries.
std::vector<int> entries(bool hostile) {
  std::vector<int> out;
  auto all = manifest()["fixtures"];
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].contains(hostile ? "error_contains" : "expected")) out.push_back(static_cast<int>(i));
  return out;
}

std::string entry_name(const ::testing::TestParamInfo<int>& p) {
  auto e = manifest()["fixtures"][static_cast<size_t>(p.param)];
  std::string name = e["file"].get<std::string>();
  name = name.substr(0, name.find('.')) + "_" + std::to_string(p.param);
  for (char& c : name)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

class H5adValidFixture : public ::testing::TestWithParam<int> {};
class H5adHostileFixture : public ::testing::TestWithParam<int> {};

TEST_P(H5adValidFixture, MatchesNumpyInSmallChunks) {
  const auto entry = manifest()["fixtures"][static_cast<size_t>(GetParam())];
  const std::string file = kDir + "/" + entry["file"].get<std::string>();
  SCOPED_TRACE(file + " counts=" + entry["counts"].get<std::string>() + " gene_column=" +
               entry["gene_column"].get<std::string>());
  const uce_stage_iface* s = h5ad_stage();
  ASSERT_NE(s, nullptr);
  NpyArray expected = read_npy(kDir + "/" + entry["expected"].get<std::string>());
  ASSERT_TRUE(expected.error.empty()) << expected.error;
  const int64_t n_obs = entry["n_obs"], n_var = entry["n_var"];

  for (int64_t max_chunk : {int64_t{64}, int64_t{0}}) {
    for (bool backwards : {false, true}) {
      LogCapture log;
      ReaderOptions o(file, entry["counts"], entry["gene_column"], max_chunk, &log);
      uce_reader* r = nullptr;
      uce_error err{};
      ASSERT_EQ(s->reader_open(o.get(), &r, &err), UCE_OK) << err.message;
      uce_reader_info info{};
      info.struct_size = sizeof(info);
      s->reader_info(r, &info);
      EXPECT_EQ(info.n_obs, n_obs);
      EXPECT_EQ(info.n_var, n_var);
      EXPECT_NE(std::string(info.layout).find(entry["layout_contains"].get<std::string>()), std::string::npos)
          << info.layout;
      EXPECT_NE(std::string(info.gene_source).find(entry["gene_source_contains"].get<std::string>()),
                std::string::npos)
          << info.gene_source;
      bool logged_source = false;
      for (const auto& l : log.lines) logged_source |= l.find(info.gene_source) != std::string::npos;
      EXPECT_TRUE(logged_source) << "the gene source is logged";
      for (int64_t v = 0; v < n_var; ++v)
        EXPECT_EQ(std::string(s->reader_var_name(r, v)), entry["var_names"][static_cast<size_t>(v)].get<std::string>());
      for (int64_t i = 0; i < n_obs; ++i)
        EXPECT_EQ(std::string(s->reader_obs_name(r, i)), entry["obs_names"][static_cast<size_t>(i)].get<std::string>());
      EXPECT_EQ(s->reader_var_name(r, n_var), nullptr);
      EXPECT_EQ(s->reader_obs_name(r, -1), nullptr);

      std::vector<double> got = read_dense(s, r, n_obs, n_var, backwards);
      ASSERT_EQ(expected.values.size(), got.size());
      int nan_seen = 0;
      for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_TRUE(same(got[k], expected.values[k]))
            << "row " << k / n_var << " col " << k % n_var << ": " << got[k] << " vs " << expected.values[k];
        nan_seen += std::isnan(got[k]) ? 1 : 0;
      }
      int nan_expected = 0;
      for (double v : expected.values) nan_expected += std::isnan(v) ? 1 : 0;
      EXPECT_EQ(nan_seen, nan_expected) << "NaN passes through unchanged";

      uce_csr_chunk chunk{};
      chunk.struct_size = sizeof(chunk);
      EXPECT_NE(s->reader_read_rows(r, 0, n_obs + 1, &chunk, &err), UCE_OK);
      EXPECT_NE(std::string(err.message).find("outside"), std::string::npos) << err.message;
      s->reader_close(r);
    }
  }
}

TEST_P(H5adHostileFixture, GivesOneLineErrorNamingFileAndDataset) {
  const auto entry = manifest()["fixtures"][static_cast<size_t>(GetParam())];
  const std::string file = kDir + "/" + entry["file"].get<std::string>();
  const std::string want = entry["error_contains"];
  const uce_stage_iface* s = h5ad_stage();
  LogCapture log;
  ReaderOptions o(file, entry["counts"], entry["gene_column"], 64, &log);
  uce_reader* r = nullptr;
  uce_error err{};
  uce_status st = s->reader_open(o.get(), &r, &err);
  if (entry["error_at"] == "read") {
    ASSERT_EQ(st, UCE_OK) << err.message;
    uce_reader_info info{};
    info.struct_size = sizeof(info);
    s->reader_info(r, &info);
    st = UCE_OK;
    for (int64_t b = 0; b < info.n_obs && st == UCE_OK; b += 2) {
      uce_csr_chunk chunk{};
      chunk.struct_size = sizeof(chunk);
      st = s->reader_read_rows(r, b, std::min(info.n_obs, b + 2), &chunk, &err);
    }
    s->reader_close(r);
  } else {
    EXPECT_EQ(r, nullptr);
  }
  ASSERT_NE(st, UCE_OK) << file << " was accepted";
  const std::string msg = err.message;
  EXPECT_NE(msg.find(want), std::string::npos) << msg;
  EXPECT_NE(msg.find(file), std::string::npos) << "names the file: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Layouts, H5adValidFixture, ::testing::ValuesIn(entries(false)), entry_name);
INSTANTIATE_TEST_SUITE_P(Hostile, H5adHostileFixture, ::testing::ValuesIn(entries(true)), entry_name);

TEST(H5adReader, MissingXListsWhatTheFileHolds) {
  const uce_stage_iface* s = h5ad_stage();
  LogCapture log;
  const std::string file = kDir + "/missing_x.h5ad";
  ReaderOptions o(file, "X", "", 0, &log);
  uce_reader* r = nullptr;
  uce_error err{};
  ASSERT_NE(s->reader_open(o.get(), &r, &err), UCE_OK);
  EXPECT_NE(std::string(err.message).find("obs"), std::string::npos) << err.message;
  EXPECT_NE(std::string(err.message).find("var"), std::string::npos) << err.message;
}

TEST(H5adReader, UnknownLayerAndColumnAreNamed) {
  const uce_stage_iface* s = h5ad_stage();
  LogCapture log;
  const std::string file = kDir + "/layers.h5ad";
  ReaderOptions o(file, "layers/spliced", "", 0, &log);
  uce_reader* r = nullptr;
  uce_error err{};
  ASSERT_NE(s->reader_open(o.get(), &r, &err), UCE_OK);
  EXPECT_NE(std::string(err.message).find("layers holds: counts"), std::string::npos) << err.message;
  ReaderOptions o2(kDir + "/dense_f32.h5ad", "X", "no_such_column", 0, &log);
  ASSERT_NE(s->reader_open(o2.get(), &r, &err), UCE_OK);
  EXPECT_NE(std::string(err.message).find("no_such_column"), std::string::npos) << err.message;
  EXPECT_NE(std::string(err.message).find("alt_name"), std::string::npos) << "lists the columns: " << err.message;
  ReaderOptions o3(kDir + "/does_not_exist.h5ad", "X", "", 0, &log);
  ASSERT_NE(s->reader_open(o3.get(), &r, &err), UCE_OK);
  EXPECT_NE(std::string(err.message).find("does_not_exist.h5ad"), std::string::npos) << err.message;
}

TEST(H5adReader, PluginHeader) {
  LoadedStage st = load_stage(UCE_H5AD_PLUGIN);
  ASSERT_NE(st.header, nullptr);
  EXPECT_STREQ(st.header->name, "h5ad");
  char why[64] = "";
  EXPECT_GT(st.header->probe(why, sizeof(why)), 0);
  EXPECT_STREQ(st.iface->extensions, ".h5ad");
  EXPECT_NE(st.iface->writer_resume, nullptr);
  EXPECT_GE(st.iface->struct_size, sizeof(uce_stage_iface));
}

}  // namespace
