// pipeline/h5ad/h5_raw_extents.*: the chunk/extent map read from the file's own bytes, checked
// against HDF5 itself (H5Dread of the same elements is the reference), on anndata-written fixtures
// and on files written here with the HDF5 C library (many chunks: a B-tree with an internal level;
// a chunk size that does not divide the length; contiguous), and refused for what it must not
// handle (filters, a damaged B-tree node).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "h5_raw_extents.hpp"

namespace {

namespace fs = std::filesystem;
using uce::h5::raw_layout;
using uce::h5::read_extents;

fs::path temp_file(const std::string& name) { return fs::path(UCE_H5AD_TEST_OUT) / name; }

std::vector<int32_t> values(int64_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919) % 100003);
  return v;
}

// Writes /v (int32, n values) with the given chunk size (0 = contiguous) and optional deflate.
void write_file(const fs::path& path, int64_t n, hsize_t chunk, bool deflate) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dim = static_cast<hsize_t>(n), unlimited = H5S_UNLIMITED;
  hid_t space = H5Screate_simple(1, &dim, chunk ? &unlimited : nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk) H5Pset_chunk(dcpl, 1, &chunk);
  if (deflate) H5Pset_deflate(dcpl, 4);
  hid_t d = H5Dcreate2(f, "v", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  const auto v = values(n);
  H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(f);
}

// Elements [begin, begin + count) of `dset` through HDF5 (the reference).
std::vector<unsigned char> hdf5_read(hid_t dset, hid_t memtype, int64_t begin, int64_t count) {
  std::vector<unsigned char> out(static_cast<size_t>(count) * H5Tget_size(memtype));
  hid_t fspace = H5Dget_space(dset);
  const hsize_t start = static_cast<hsize_t>(begin), n = static_cast<hsize_t>(count);
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, nullptr, &n, nullptr);
  hid_t mspace = H5Screate_simple(1, &n, nullptr);
  EXPECT_GE(H5Dread(dset, memtype, mspace, fspace, H5P_DEFAULT, out.data()), 0);
  H5Sclose(mspace);
  H5Sclose(fspace);
  return out;
}

int64_t length_of(hid_t dset) {
  hid_t space = H5Dget_space(dset);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space, &n, nullptr);
  H5Sclose(space);
  return static_cast<int64_t>(n);
}

// Every range in `ranges` read raw equals HDF5's read of it.
void expect_raw_equals_hdf5(hid_t dset, hid_t memtype, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  const size_t elem = H5Tget_size(memtype);
  std::string why;
  const auto layout = raw_layout(dset, length_of(dset), elem, &why);
  ASSERT_TRUE(layout.has_value()) << why;
  for (const auto& [begin, count] : ranges) {
    std::vector<unsigned char> got(static_cast<size_t>(count) * elem);
    std::string error;
    ASSERT_TRUE(read_extents(*layout, begin, count, elem, got.data(), &error)) << error;
    EXPECT_EQ(got, hdf5_read(dset, memtype, begin, count)) << "range [" << begin << ", +" << count << ")";
  }
}

TEST(H5RawExtents, AnndataFixtureColumnsMatchHdf5) {
  for (const char* name : {"csr_i32.h5ad", "csr_i64.h5ad"}) {
    SCOPED_TRACE(name);
    hid_t f = H5Fopen((std::string(UCE_H5AD_FIXTURES) + "/" + name).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    for (const char* col : {"X/data", "X/indices"}) {
      hid_t d = H5Dopen2(f, col, H5P_DEFAULT);
      hid_t type = H5Dget_type(d);
      hid_t native = H5Tget_native_type(type, H5T_DIR_ASCEND);
      const int64_t n = length_of(d);
      expect_raw_equals_hdf5(d, native, {{0, n}, {1, n - 2}, {n / 2, 1}});
      H5Tclose(native);
      H5Tclose(type);
      H5Dclose(d);
    }
    H5Fclose(f);
  }
}

TEST(H5RawExtents, ManyChunksContiguousAndPartialLastChunk) {
  struct Case {
    const char* file;
    int64_t n;
    hsize_t chunk;
  };
  // 10,007 values in chunks of 64: 157 chunks, more than one B-tree leaf (an internal level);
  // chunk 1000 over 2,500 values: the last chunk is partly past the end; 0 = contiguous.
  for (const Case c : {Case{"raw_many.h5", 10007, 64}, Case{"raw_partial.h5", 2500, 1000}, Case{"raw_contig.h5", 3001, 0}}) {
    SCOPED_TRACE(c.file);
    write_file(temp_file(c.file), c.n, c.chunk, false);
    hid_t f = H5Fopen(temp_file(c.file).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "v", H5P_DEFAULT);
    std::vector<std::pair<int64_t, int64_t>> ranges{{0, c.n}, {c.n - 1, 1}};
    std::mt19937_64 rng(7);
    for (int i = 0; i < 50; ++i) {
      const int64_t begin = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.n));
      ranges.push_back({begin, 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(c.n - begin))});
    }
    expect_raw_equals_hdf5(d, H5T_NATIVE_INT32, ranges);
    H5Dclose(d);
    H5Fclose(f);
  }
}

TEST(H5RawExtents, FilteredDatasetIsLeftToHdf5) {
  write_file(temp_file("raw_deflate.h5"), 5000, 256, true);
  hid_t f = H5Fopen(temp_file("raw_deflate.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, "v", H5P_DEFAULT);
  std::string why;
  EXPECT_FALSE(raw_layout(d, 5000, 4, &why).has_value());
  EXPECT_EQ(why, "filtered");
  H5Dclose(d);
  H5Fclose(f);
}

TEST(H5RawExtents, DamagedBtreeNodeIsRefused) {
  const fs::path path = temp_file("raw_damaged.h5");
  write_file(path, 10007, 64, false);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Every B-tree node's signature: the data chunk index's nodes among them.
  int damaged = 0;
  for (size_t at = bytes.find("TREE"); at != std::string::npos; at = bytes.find("TREE", at + 4)) {
    bytes[at + 3] = '!';
    ++damaged;
  }
  ASSERT_GT(damaged, 1);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  H5E_auto2_t old_func = nullptr;
  void* old_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // HDF5's own complaints are expected here
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f >= 0) {
    hid_t d = H5Dopen2(f, "v", H5P_DEFAULT);
    if (d >= 0) {
      std::string why;
      EXPECT_FALSE(raw_layout(d, 10007, 4, &why).has_value());
      EXPECT_NE(why.find("B-tree"), std::string::npos) << why;
      H5Dclose(d);
    }
    H5Fclose(f);
  }
  H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
}

}  // namespace
