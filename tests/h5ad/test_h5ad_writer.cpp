// Writer half of uce_stage_h5ad: output contents (read back with the HDF5 C API), the
// temporary-file/rename contract, resume after a killed run (a forked child that never finishes),
// and the file the anndata check (check_output_h5ad.py, a separate ctest) opens.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "h5_test_read.hpp"
#include "npy_read.hpp"
#include "stage_loader.hpp"
#include "writer_helpers.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kDir = UCE_H5AD_FIXTURES;
const std::string kOut = UCE_H5AD_TEST_OUT;
const std::vector<std::vector<int64_t>> kBatches{{0, 2, 3}, {5, 6, 7}, {11, 20, 22}};

std::vector<int64_t> all_rows() {
  std::vector<int64_t> rows;
  for (const auto& b : kBatches) rows.insert(rows.end(), b.begin(), b.end());
  return rows;
}

// Per-process folder, so that ctest -j runs of this binary never share files.
std::string scratch(const std::string& name) {
  fs::path dir = fs::path(kOut) / "scratch" / std::to_string(getpid());
  fs::create_directories(dir);
  std::string p = (dir / name).string();
  std::remove(p.c_str());
  std::remove((p + ".partial").c_str());
  return p;
}

std::string check_dir_path(const std::string& name) {
  const char* dir = std::getenv("UCE_H5AD_CHECK_DIR");
  if (!dir) return scratch(name);
  fs::create_directories(dir);
  std::string p = (fs::path(dir) / name).string();
  std::remove(p.c_str());
  return p;
}

WriterSetup csr_setup(const std::string& out) {
  WriterSetup w;
  w.path = out;
  w.source = kDir + "/csr_i32.h5ad";
  return w;
}

void append_batch(const uce_stage_iface* s, uce_writer* w, const std::vector<int64_t>& rows, int64_t n_cols) {
  std::vector<float> emb = embeddings_for(rows, n_cols);
  uce_error err{};
  ASSERT_EQ(s->writer_append(w, rows.data(), emb.data(), static_cast<int64_t>(rows.size()), &err), UCE_OK)
      << err.message;
}

// A full uninterrupted run.
void write_all(WriterSetup& setup) {
  const uce_stage_iface* s = h5ad_stage();
  auto o = setup.options();
  uce_writer* w = nullptr;
  uce_error err{};
  ASSERT_EQ(s->writer_open(&o, &w, &err), UCE_OK) << err.message;
  for (const auto& b : kBatches) append_batch(s, w, b, setup.n_cols);
  ASSERT_EQ(s->writer_finish(w, &err), UCE_OK) << err.message;
}

// Checks an output of write_all over csr_i32.h5ad against the fixture's own reference data.
void check_output(const std::string& path, const WriterSetup& setup) {
  auto manifest = nlohmann::json::parse(std::ifstream(kDir + "/fixtures.json"));
  nlohmann::json entry;
  for (const auto& e : manifest["fixtures"])
    if (e["file"] == "csr_i32.h5ad") entry = e;
  const std::vector<int64_t> rows = all_rows();
  const int64_t n = static_cast<int64_t>(rows.size());
  TestFile f(path);
  ASSERT_TRUE(f.ok()) << path;
  EXPECT_EQ(f.attr("/", "encoding-type"), "anndata");
  EXPECT_EQ(f.attr("/", "encoding-version"), "0.1.0");
  EXPECT_FALSE(f.has("uce_partial")) << "bookkeeping removed at finish";
  // obsm
  EXPECT_EQ(f.dims("obsm/X_uce"), (std::vector<int64_t>{n, setup.n_cols}));
  EXPECT_EQ(f.attr("obsm/X_uce", "encoding-type"), "array");
  auto emb = f.numbers<float>("obsm/X_uce", H5T_NATIVE_FLOAT);
  auto want = embeddings_for(rows, setup.n_cols);
  ASSERT_EQ(emb.size(), want.size());
  for (size_t i = 0; i < emb.size(); ++i) EXPECT_EQ(emb[i], want[i]) << i;
  // obs: names and copied columns of the embedded rows
  EXPECT_EQ(f.attr("obs", "encoding-type"), "dataframe");
  EXPECT_EQ(f.attr("obs", "_index"), "_index");
  auto names = f.strings("obs/_index");
  ASSERT_EQ(names.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(names[i], entry["obs_names"][static_cast<size_t>(rows[i])].get<std::string>());
  EXPECT_EQ(f.attr("obs/cell_type", "encoding-type"), "categorical");
  auto codes = f.numbers<int64_t>("obs/cell_type/codes", H5T_NATIVE_INT64);
  auto cats = f.strings("obs/cell_type/categories");
  ASSERT_EQ(codes.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(cats[static_cast<size_t>(codes[i])],
              manifest["csr_i32_obs"]["cell_type"][static_cast<size_t>(rows[i])].get<std::string>());
  auto n_genes = f.numbers<int64_t>("obs/n_genes", H5T_NATIVE_INT64);
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(n_genes[i], manifest["csr_i32_obs"]["n_genes"][static_cast<size_t>(rows[i])].get<int64_t>());
  // anndata stored the string column "batch" as a categorical: copied as one.
  auto batch_codes = f.numbers<int64_t>("obs/batch/codes", H5T_NATIVE_INT64);
  auto batch_cats = f.strings("obs/batch/categories");
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(batch_cats[static_cast<size_t>(batch_codes[i])],
              manifest["csr_i32_obs"]["batch"][static_cast<size_t>(rows[i])].get<std::string>());
  // var: the genes used, in var_rows order
  auto var_names = f.strings("var/_index");
  ASSERT_EQ(var_names.size(), setup.var_rows.size());
  for (size_t j = 0; j < setup.var_rows.size(); ++j)
    EXPECT_EQ(var_names[j], entry["var_names"][static_cast<size_t>(setup.var_rows[j])].get<std::string>());
  // uns
  EXPECT_EQ(f.attr("uns", "encoding-type"), "dict");
  EXPECT_EQ(f.attr("uns/model", "encoding-type"), "string");
  // X: the source counts of the embedded rows and used genes, CSR float32
  if (setup.copy_x) {
    EXPECT_EQ(f.attr("X", "encoding-type"), "csr_matrix");
    NpyArray expected = read_npy(kDir + "/expected_csr_i32.npy");
    const int64_t n_var = expected.shape[1];
    auto data = f.numbers<float>("X/data", H5T_NATIVE_FLOAT);
    auto indices = f.numbers<int32_t>("X/indices", H5T_NATIVE_INT32);
    auto indptr = f.numbers<int64_t>("X/indptr", H5T_NATIVE_INT64);
    ASSERT_EQ(indptr.size(), rows.size() + 1);
    const size_t m = setup.var_rows.size();
    std::vector<double> dense(rows.size() * m, 0.0);
    for (size_t i = 0; i < rows.size(); ++i)
      for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k) dense[i * m + static_cast<size_t>(indices[static_cast<size_t>(k)])] = data[static_cast<size_t>(k)];
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t j = 0; j < m; ++j) {
        double e = expected.values[static_cast<size_t>(rows[i] * n_var + setup.var_rows[j])];
        double g = dense[i * m + j];
        EXPECT_TRUE((std::isnan(e) && std::isnan(g)) || e == g) << "row " << rows[i] << " gene " << j;
      }
  } else {
    EXPECT_FALSE(f.has("X"));
  }
}

TEST(H5adWriter, WritesOutputForAnndataCheck) {
  // With UCE_H5AD_CHECK_DIR set (ctest h5ad_write_for_anndata), the file is then opened by
  // check_output_h5ad.py (ctest h5ad_anndata_check).
  const std::string out = check_dir_path("anndata_check.h5ad");
  WriterSetup setup = csr_setup(out);
  write_all(setup);
  check_output(out, setup);
}

TEST(H5adWriter, WithoutCopyXOmitsX) {
  WriterSetup setup = csr_setup(scratch("no_x.h5ad"));
  setup.copy_x = 0;
  write_all(setup);
  check_output(setup.path, setup);
}

TEST(H5adWriter, FinalNameUntouchedUntilFinishAndAbortLeavesNothing) {
  const uce_stage_iface* s = h5ad_stage();
  WriterSetup setup = csr_setup(scratch("rename.h5ad"));
  { std::ofstream(setup.path) << "old output"; }
  auto o = setup.options();
  uce_writer* w = nullptr;
  uce_error err{};
  ASSERT_EQ(s->writer_open(&o, &w, &err), UCE_OK) << err.message;
  EXPECT_TRUE(file_exists(setup.path + ".partial"));
  append_batch(s, w, kBatches[0], setup.n_cols);
  EXPECT_EQ(fs::file_size(setup.path), 10u) << "the old final file is untouched";
  ASSERT_EQ(s->writer_finish(w, &err), UCE_OK) << err.message;
  EXPECT_FALSE(file_exists(setup.path + ".partial"));
  EXPECT_TRUE(TestFile(setup.path).ok());

  WriterSetup setup2 = csr_setup(scratch("aborted.h5ad"));
  auto o2 = setup2.options();
  ASSERT_EQ(s->writer_open(&o2, &w, &err), UCE_OK) << err.message;
  append_batch(s, w, kBatches[0], setup2.n_cols);
  EXPECT_FALSE(file_exists(setup2.path));
  s->writer_abort(w);
  EXPECT_FALSE(file_exists(setup2.path));
  EXPECT_FALSE(file_exists(setup2.path + ".partial"));
}

TEST(H5adWriter, UnwritableFolderIsOneLineErrorAtOpen) {
  const uce_stage_iface* s = h5ad_stage();
  WriterSetup setup = csr_setup("/nonexistent-uce-folder/sub/out.h5ad");
  auto o = setup.options();
  uce_writer* w = nullptr;
  uce_error err{};
  ASSERT_NE(s->writer_open(&o, &w, &err), UCE_OK);
  EXPECT_EQ(w, nullptr);
  EXPECT_NE(std::string(err.message).find("/nonexistent-uce-folder/sub"), std::string::npos) << err.message;
  // A "folder" that is a regular file.
  std::string file = scratch("plain_file");
  { std::ofstream(file) << "x"; }
  setup.path = file + "/out.h5ad";
  o = setup.options();
  ASSERT_NE(s->writer_open(&o, &w, &err), UCE_OK);
  EXPECT_NE(std::string(err.message).find("folder"), std::string::npos) << err.message;
}

TEST(H5adWriter, RowsMustArriveInSourceOrder) {
  const uce_stage_iface* s = h5ad_stage();
  WriterSetup setup = csr_setup(scratch("order.h5ad"));
  auto o = setup.options();
  uce_writer* w = nullptr;
  uce_error err{};
  ASSERT_EQ(s->writer_open(&o, &w, &err), UCE_OK) << err.message;
  append_batch(s, w, {4, 5}, setup.n_cols);
  std::vector<int64_t> back{3};
  auto emb = embeddings_for(back, setup.n_cols);
  EXPECT_NE(s->writer_append(w, back.data(), emb.data(), 1, &err), UCE_OK);
  EXPECT_NE(std::string(err.message).find("increasing order"), std::string::npos) << err.message;
  s->writer_abort(w);
}

TEST(H5adWriter, ResumeAfterKillEqualsUninterruptedRun) {
  const uce_stage_iface* s = h5ad_stage();
  WriterSetup full = csr_setup(scratch("uninterrupted.h5ad"));
  write_all(full);

  WriterSetup setup = csr_setup(scratch("resumed.h5ad"));
  // The "killed" run: a child process opens, appends two batches (each flushed) and dies
  // without finish or abort, leaving the HDF5 file exactly as a crash would.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto o = setup.options();
    uce_writer* w = nullptr;
    uce_error err{};
    if (s->writer_open(&o, &w, &err) != UCE_OK) _exit(2);
    for (int b = 0; b < 2; ++b) {
      auto emb = embeddings_for(kBatches[static_cast<size_t>(b)], setup.n_cols);
      if (s->writer_append(w, kBatches[static_cast<size_t>(b)].data(), emb.data(), 3, &err) != UCE_OK) _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_FALSE(file_exists(setup.path));
  ASSERT_TRUE(file_exists(setup.path + ".partial"));

  // A different fingerprint does not resume (the stale partial is replaced)...
  WriterSetup other = setup;
  other.fingerprint = "fp-other";
  // ...but first the matching one: copy the partial aside to test both.
  fs::copy_file(setup.path + ".partial", setup.path + ".keep");
  auto oo = other.options();
  uce_writer* w = nullptr;
  uce_error err{};
  int64_t stored = -1, next = -1;
  ASSERT_EQ(s->writer_resume(&oo, &w, &stored, &next, &err), UCE_OK) << err.message;
  EXPECT_EQ(stored, 0);
  EXPECT_EQ(next, 0);
  s->writer_abort(w);
  fs::rename(setup.path + ".keep", setup.path + ".partial");

  auto o = setup.options();
  ASSERT_EQ(s->writer_resume(&o, &w, &stored, &next, &err), UCE_OK) << err.message;
  EXPECT_EQ(stored, 6);
  EXPECT_EQ(next, 8);  // after source row 7
  append_batch(s, w, kBatches[2], setup.n_cols);
  ASSERT_EQ(s->writer_finish(w, &err), UCE_OK) << err.message;
  check_output(setup.path, setup);

  // Same contents as the uninterrupted run.
  TestFile a(full.path), b(setup.path);
  EXPECT_EQ(a.numbers<float>("obsm/X_uce", H5T_NATIVE_FLOAT), b.numbers<float>("obsm/X_uce", H5T_NATIVE_FLOAT));
  EXPECT_EQ(a.strings("obs/_index"), b.strings("obs/_index"));
  EXPECT_EQ(a.strings("var/_index"), b.strings("var/_index"));
  EXPECT_EQ(a.numbers<int64_t>("X/indptr", H5T_NATIVE_INT64), b.numbers<int64_t>("X/indptr", H5T_NATIVE_INT64));
  EXPECT_EQ(a.numbers<int32_t>("X/indices", H5T_NATIVE_INT32), b.numbers<int32_t>("X/indices", H5T_NATIVE_INT32));
}

TEST(H5adWriter, ResumeWithoutPartialStartsFresh) {
  const uce_stage_iface* s = h5ad_stage();
  WriterSetup setup = csr_setup(scratch("fresh.h5ad"));
  auto o = setup.options();
  uce_writer* w = nullptr;
  uce_error err{};
  int64_t stored = -1, next = -1;
  ASSERT_EQ(s->writer_resume(&o, &w, &stored, &next, &err), UCE_OK) << err.message;
  EXPECT_EQ(stored, 0);
  EXPECT_EQ(next, 0);
  for (const auto& b : kBatches) append_batch(s, w, b, setup.n_cols);
  ASSERT_EQ(s->writer_finish(w, &err), UCE_OK) << err.message;
  check_output(setup.path, setup);
}

TEST(H5adWriter, OldCompoundSourceAndNoSource) {
  const uce_stage_iface* s = h5ad_stage();
  WriterSetup setup = csr_setup(scratch("from_compound.h5ad"));
  setup.source = kDir + "/old_compound.h5ad";
  write_all(setup);
  {
    TestFile f(setup.path);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f.strings("obs/_index")[1], "cell_02-G");
    EXPECT_EQ(f.attr("obs/cell_type", "encoding-type"), "categorical");
    EXPECT_EQ(f.strings("obs/cell_type/categories"), (std::vector<std::string>{"T", "B", "NK"}));
    EXPECT_EQ(f.numbers<float>("obs/n_counts", H5T_NATIVE_FLOAT)[1], 2.0f);
    EXPECT_EQ(f.strings("var/gene_ids")[0], "ENSG00000000008");
    EXPECT_EQ(f.dims("X/indptr"), (std::vector<int64_t>{10}));
  }
  WriterSetup bare = csr_setup(scratch("no_source.h5ad"));
  bare.source.clear();
  bare.copy_x = 0;
  write_all(bare);
  TestFile f(bare.path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.strings("obs/_index")[2], "3");
  EXPECT_EQ(f.strings("var/_index")[0], "8");
  (void)s;
}

TEST(H5adWriter, RawCountsCopyRawVarAndRawX) {
  WriterSetup setup = csr_setup(scratch("from_raw.h5ad"));
  setup.source = kDir + "/raw.h5ad";
  setup.counts = "raw/X";
  setup.var_rows = {8, 1, 5};  // raw/var has 9 genes, var only 3
  write_all(setup);
  TestFile f(setup.path);
  ASSERT_TRUE(f.ok());
  auto manifest = nlohmann::json::parse(std::ifstream(kDir + "/fixtures.json"));
  nlohmann::json entry;
  for (const auto& e : manifest["fixtures"])
    if (e["file"] == "raw.h5ad") entry = e;
  auto var_names = f.strings("var/_index");
  ASSERT_EQ(var_names.size(), 3u);
  for (size_t j = 0; j < 3; ++j)
    EXPECT_EQ(var_names[j], entry["var_names"][static_cast<size_t>(setup.var_rows[j])].get<std::string>());
  NpyArray expected = read_npy(kDir + "/expected_raw.npy");
  auto data = f.numbers<float>("X/data", H5T_NATIVE_FLOAT);
  auto indices = f.numbers<int32_t>("X/indices", H5T_NATIVE_INT32);
  auto indptr = f.numbers<int64_t>("X/indptr", H5T_NATIVE_INT64);
  const auto rows = all_rows();
  ASSERT_EQ(indptr.size(), rows.size() + 1);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<double> dense(3, 0.0);
    for (int64_t k = indptr[i]; k < indptr[i + 1]; ++k)
      dense[static_cast<size_t>(indices[static_cast<size_t>(k)])] = data[static_cast<size_t>(k)];
    for (size_t j = 0; j < 3; ++j)
      EXPECT_EQ(dense[j], expected.values[static_cast<size_t>(rows[i] * 9 + setup.var_rows[j])]);
  }
}

TEST(NpyWriter, WritesFloat32COrderWithV1Header) {
  const uce_stage_iface* s = npy_stage();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->reader_open, nullptr);
  EXPECT_STREQ(s->extensions, ".npy");
  WriterSetup setup = csr_setup(check_dir_path("embeddings_check.npy"));  // also read by numpy
  auto o = setup.options();
  uce_writer* w = nullptr;
  uce_error err{};
  ASSERT_EQ(s->writer_open(&o, &w, &err), UCE_OK) << err.message;
  for (const auto& b : kBatches) append_batch(s, w, b, setup.n_cols);
  EXPECT_FALSE(file_exists(setup.path));
  ASSERT_EQ(s->writer_finish(w, &err), UCE_OK) << err.message;
  EXPECT_FALSE(file_exists(setup.path + ".partial"));
  NpyArray a = read_npy(setup.path);
  ASSERT_TRUE(a.error.empty()) << a.error;
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{9, 4}));
  EXPECT_EQ(a.data_offset % 64, 0u);
  EXPECT_EQ(a.header.back(), '\n');
  std::ifstream in(setup.path, std::ios::binary);
  char magic[8];
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic, 6), "\x93NUMPY");
  EXPECT_EQ(magic[6], 1);
  EXPECT_EQ(magic[7], 0);
  auto want = embeddings_for(all_rows(), 4);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(static_cast<float>(a.values[i]), want[i]);

  WriterSetup ab = csr_setup(scratch("aborted.npy"));
  auto o2 = ab.options();
  ASSERT_EQ(s->writer_open(&o2, &w, &err), UCE_OK) << err.message;
  append_batch(s, w, kBatches[0], 4);
  s->writer_abort(w);
  EXPECT_FALSE(file_exists(ab.path));
  EXPECT_FALSE(file_exists(ab.path + ".partial"));
}

}  // namespace
