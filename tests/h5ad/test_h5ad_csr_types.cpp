// The CSR reader's own-conversion path (pipeline/h5ad/h5_numeric_column.*) over every stored type
// and layout it handles: each test writes a CSR matrix with the HDF5 C library (HDF5 converts the
// known values into the stored type; that is the independent reference) into a copy of the
// csr_i32 fixture (whose obs/var are kept), then reads it back through the plugin in many small
// row ranges, with a tiny max_chunk_bytes (staging pieces of a few elements, so piece and chunk
// boundaries fall inside every request) and with the default.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "stage_loader.hpp"

namespace {

constexpr int64_t kObs = 23, kVar = 9;  // the csr_i32 fixture's obs and var

struct Triplets {
  std::vector<int64_t> indptr{0};
  std::vector<int64_t> indices;
  std::vector<double> values;  // integers 1..100: exact in every stored type tested
  std::vector<double> dense() const {
    std::vector<double> d(static_cast<size_t>(kObs * kVar), 0.0);
    for (int64_t r = 0; r < kObs; ++r)
      for (int64_t k = indptr[static_cast<size_t>(r)]; k < indptr[static_cast<size_t>(r) + 1]; ++k)
        d[static_cast<size_t>(r * kVar + indices[static_cast<size_t>(k)])] = values[static_cast<size_t>(k)];
    return d;
  }
};

// Rows r % 5 == 4 are empty; the others hold the genes with (7r + 3c) % 4 != 0.
Triplets make_matrix() {
  Triplets t;
  for (int64_t r = 0; r < kObs; ++r) {
    if (r % 5 != 4) {
      for (int64_t c = 0; c < kVar; ++c) {
        if ((7 * r + 3 * c) % 4 == 0) continue;
        t.indices.push_back(c);
        t.values.push_back(static_cast<double>(1 + (r * 9 + c) % 100));
      }
    }
    t.indptr.push_back(static_cast<int64_t>(t.indices.size()));
  }
  return t;
}

enum class Layout { Contiguous, Chunk4, Chunk4Deflate, Chunk1024 };

// Replaces group X's `name` by a 1-D dataset of file type `type`, written from `mem` values.
void replace_dataset(hid_t x, const char* name, hid_t type, Layout layout, hid_t mem_type, const void* values,
                     hsize_t n) {
  H5Ldelete(x, name, H5P_DEFAULT);
  // Chunked datasets are resizable (as h5py writes them): a chunk may then exceed the size.
  const hsize_t unlimited = H5S_UNLIMITED;
  hid_t space = H5Screate_simple(1, &n, layout == Layout::Contiguous ? nullptr : &unlimited);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (layout != Layout::Contiguous) {
    const hsize_t chunk = layout == Layout::Chunk1024 ? 1024 : 4;
    H5Pset_chunk(dcpl, 1, &chunk);
    if (layout == Layout::Chunk4Deflate) H5Pset_deflate(dcpl, 4);
  }
  hid_t d = H5Dcreate2(x, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(d, 0) << name;
  ASSERT_GE(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), 0) << name;
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
}

// A copy of csr_i32.h5ad whose X holds `t` with data/indices stored as data_type/index_type.
std::string write_file(const std::string& tag, const Triplets& t, hid_t data_type, hid_t index_type,
                       Layout layout) {
  const std::string path = std::string(UCE_H5AD_TEST_OUT) + "/csr_types_" + tag + ".h5ad";
  std::filesystem::copy_file(std::string(UCE_H5AD_FIXTURES) + "/csr_i32.h5ad", path,
                             std::filesystem::copy_options::overwrite_existing);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  EXPECT_GE(f, 0);
  hid_t x = H5Gopen2(f, "X", H5P_DEFAULT);
  replace_dataset(x, "indptr", H5T_STD_I64LE, Layout::Contiguous, H5T_NATIVE_INT64, t.indptr.data(), t.indptr.size());
  replace_dataset(x, "data", data_type, layout, H5T_NATIVE_DOUBLE, t.values.data(), t.values.size());
  replace_dataset(x, "indices", index_type, layout, H5T_NATIVE_INT64, t.indices.data(), t.indices.size());
  H5Gclose(x);
  H5Fclose(f);
  return path;
}

struct Opened {
  const uce_stage_iface* s = nullptr;
  uce_reader* r = nullptr;
  ~Opened() {
    if (s && r) s->reader_close(r);
  }
};

// Reads every row in ranges of 1, 2, 3, 5, 7 rows into a dense matrix; the first error's message
// goes to *error (and reading stops).
std::vector<double> read_all(const std::string& path, int64_t max_chunk_bytes, std::string* error) {
  std::vector<double> dense(static_cast<size_t>(kObs * kVar), 0.0);
  Opened o;
  o.s = h5ad_stage();
  EXPECT_NE(o.s, nullptr);
  if (!o.s) return dense;
  uce_reader_options opt{};
  opt.struct_size = sizeof opt;
  opt.path = path.c_str();
  opt.counts = "X";
  opt.max_chunk_bytes = max_chunk_bytes;
  uce_error err{};
  if (o.s->reader_open(&opt, &o.r, &err) != UCE_OK) {
    *error = err.message;
    return dense;
  }
  const int64_t sizes[] = {1, 2, 3, 5, 7};
  for (int64_t b = 0, k = 0; b < kObs; ++k) {
    const int64_t e = std::min(kObs, b + sizes[k % 5]);
    uce_csr_chunk chunk{};
    chunk.struct_size = sizeof chunk;
    if (o.s->reader_read_rows(o.r, b, e, &chunk, &err) != UCE_OK) {
      *error = err.message;
      return dense;
    }
    EXPECT_EQ(chunk.n_rows, e - b);
    for (int64_t i = 0; i < chunk.n_rows; ++i)
      for (int64_t j = chunk.indptr[i]; j < chunk.indptr[i + 1]; ++j)
        dense[static_cast<size_t>((b + i) * kVar + chunk.indices[j])] += chunk.values[j];
    b = e;
  }
  return dense;
}

struct TypeCase {
  const char* tag;
  hid_t data_type;
  hid_t index_type;
  Layout layout;
};

class CsrStoredTypes : public ::testing::TestWithParam<int> {};

std::vector<TypeCase> cases() {
  return {
      {"f32_i32_contig", H5T_IEEE_F32LE, H5T_STD_I32LE, Layout::Contiguous},
      {"f32_i32_chunk4", H5T_IEEE_F32LE, H5T_STD_I32LE, Layout::Chunk4},
      {"f32_i32_deflate", H5T_IEEE_F32LE, H5T_STD_I32LE, Layout::Chunk4Deflate},
      {"f32_i32_chunk1024", H5T_IEEE_F32LE, H5T_STD_I32LE, Layout::Chunk1024},
      {"f64_i64_chunk4", H5T_IEEE_F64LE, H5T_STD_I64LE, Layout::Chunk4},
      {"f64_i32_deflate", H5T_IEEE_F64LE, H5T_STD_I32LE, Layout::Chunk4Deflate},
      {"f32be_i32be_chunk4", H5T_IEEE_F32BE, H5T_STD_I32BE, Layout::Chunk4},
      {"i8_i16_contig", H5T_STD_I8LE, H5T_STD_I16LE, Layout::Contiguous},
      {"i16_u16_chunk4", H5T_STD_I16LE, H5T_STD_U16LE, Layout::Chunk4},
      {"i32_u32_deflate", H5T_STD_I32LE, H5T_STD_U32LE, Layout::Chunk4Deflate},
      {"i64_i64_chunk4", H5T_STD_I64LE, H5T_STD_I64LE, Layout::Chunk4},
      {"u8_u64_contig", H5T_STD_U8LE, H5T_STD_U64LE, Layout::Contiguous},
      {"u16_i8_chunk4", H5T_STD_U16LE, H5T_STD_I8LE, Layout::Chunk4},
      {"u32_u8_chunk1024", H5T_STD_U32LE, H5T_STD_U8LE, Layout::Chunk1024},
      {"u64_i64be_deflate", H5T_STD_U64LE, H5T_STD_I64BE, Layout::Chunk4Deflate},
      // Contiguous storage in a non-native byte order (HDF5 swaps while reading the stored type).
      {"f32be_i32be_contig", H5T_IEEE_F32BE, H5T_STD_I32BE, Layout::Contiguous},
      {"f64_i64be_contig", H5T_IEEE_F64LE, H5T_STD_I64BE, Layout::Contiguous},
      {"u16be_i32_contig", H5T_STD_U16BE, H5T_STD_I32LE, Layout::Contiguous},
  };
}

TEST_P(CsrStoredTypes, ReadsTheWrittenMatrixInSmallRanges) {
  const TypeCase c = cases()[static_cast<size_t>(GetParam())];
  const Triplets t = make_matrix();
  const std::string path = write_file(c.tag, t, c.data_type, c.index_type, c.layout);
  const std::vector<double> expected = t.dense();
  for (int64_t max_chunk : {int64_t{64}, int64_t{0}}) {
    SCOPED_TRACE(std::string(c.tag) + " max_chunk_bytes=" + std::to_string(max_chunk));
    std::string error;
    const std::vector<double> got = read_all(path, max_chunk, &error);
    ASSERT_EQ(error, "");
    EXPECT_EQ(got, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, CsrStoredTypes, ::testing::Range(0, 18),
                         [](const ::testing::TestParamInfo<int>& p) { return std::string(cases()[static_cast<size_t>(p.param)].tag); });

// An index outside [0, n_var) is reported with its position and its true value, whatever the
// stored type (no saturation to int32 on the way), and also when it sits in a later staging piece.
TEST(CsrStoredTypes, IndexOutsideTheGenesIsReportedWithPositionAndValue) {
  struct Bad {
    const char* tag;
    hid_t type;
    int64_t value;  // written at position `at` of indices
    const char* shown;
  };
  const Bad bads[] = {
      {"bad_i64_big", H5T_STD_I64LE, int64_t{1} << 40, "1099511627776"},
      {"bad_i64_neg", H5T_STD_I64LE, -1, "-1"},
      {"bad_i32_n_var", H5T_STD_I32LE, kVar, "9"},
      {"bad_u16_n_var", H5T_STD_U16LE, kVar, "9"},
      {"bad_u32_big", H5T_STD_U32LE, 4294967295LL, "4294967295"},
  };
  for (const Bad& b : bads) {
    Triplets t = make_matrix();
    const size_t at = t.indices.size() - 3;  // in the last rows: later pieces with max_chunk 64
    t.indices[at] = b.value;
    // Chunked (pieces aligned to chunks) and contiguous storage.
    for (Layout layout : {Layout::Chunk4, Layout::Contiguous}) {
      const std::string tag = std::string(b.tag) + (layout == Layout::Contiguous ? "_contig" : "_chunk4");
      const std::string path = write_file(tag, t, H5T_IEEE_F32LE, b.type, layout);
      for (int64_t max_chunk : {int64_t{64}, int64_t{0}}) {
        std::string error;
        read_all(path, max_chunk, &error);
        const std::string want = "X/indices[" + std::to_string(at) + "] = " + b.shown + " outside [0, 9)";
        EXPECT_NE(error.find(want), std::string::npos) << tag << ": got \"" << error << "\", want \"" << want << "\"";
      }
    }
  }
}

// X/data chunked by 4 with chunk 2 (elements 8..11) never written, so it has no storage: HDF5
// returns the fill value 0 there. Any reader shortcut that reads chunk bytes itself (raw chunk
// reads, pread at chunk addresses: tried in results-datapath-3.md) must still read it as zeros,
// inside ranges of every size and piece size.
TEST(CsrUnallocatedChunk, ChunkWithoutStorageReadsAsFillValue) {
  Triplets t = make_matrix();
  const std::string path = write_file("unwritten_chunk", t, H5T_IEEE_F32LE, H5T_STD_I32LE, Layout::Chunk4);
  {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    hid_t x = H5Gopen2(f, "X", H5P_DEFAULT);
    H5Ldelete(x, "data", H5P_DEFAULT);
    const hsize_t n = t.values.size(), unlimited = H5S_UNLIMITED, chunk = 4;
    hid_t space = H5Screate_simple(1, &n, &unlimited);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, &chunk);
    hid_t d = H5Dcreate2(x, "data", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(d, 0);
    for (const auto& [b, e] : {std::pair<hsize_t, hsize_t>{0, 8}, {12, n}}) {  // skip chunk 2
      const hsize_t count = e - b;
      hid_t fs = H5Dget_space(d);
      H5Sselect_hyperslab(fs, H5S_SELECT_SET, &b, nullptr, &count, nullptr);
      hid_t ms = H5Screate_simple(1, &count, nullptr);
      ASSERT_GE(H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, t.values.data() + b), 0);
      H5Sclose(ms);
      H5Sclose(fs);
    }
    haddr_t addr = 0;
    const hsize_t gap = 8;
    unsigned mask = 0;
    hsize_t bytes = 0;
    H5Dget_chunk_info_by_coord(d, &gap, &mask, &addr, &bytes);
    EXPECT_EQ(addr, HADDR_UNDEF) << "the test needs chunk 2 without storage";
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Gclose(x);
    H5Fclose(f);
  }
  for (size_t k = 8; k < 12; ++k) t.values[k] = 0.0;
  const std::vector<double> expected = t.dense();
  for (int64_t max_chunk : {int64_t{16}, int64_t{64}, int64_t{0}}) {
    SCOPED_TRACE("max_chunk_bytes=" + std::to_string(max_chunk));
    std::string error;
    EXPECT_EQ(read_all(path, max_chunk, &error), expected);
    EXPECT_EQ(error, "");
  }
}

}  // namespace
