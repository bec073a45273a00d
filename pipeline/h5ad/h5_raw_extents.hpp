// h5_raw_extents.hpp — where the elements of an unfiltered 1-D dataset lie in the file, so that a
// range of them can be read with pread() in file order, without HDF5's per-chunk work.
//
// Why: anndata lets h5py chunk a CSR matrix's data and indices in ~73 KB chunks; HDF5 1.10 then
// spends as much CPU per chunk as the copy itself, and holds its global lock while doing it, so the
// data and indices streams cannot be read in parallel (bench/RESULTS.md, issue #3). HDF5 1.10 has
// no cheap public way to list chunk addresses (H5Dget_chunk_info* walk the whole index per call;
// H5Dchunk_iter is 1.12.3+), so the chunk index — a version-1 B-tree — is read here from the file's
// own bytes: superblock (offset and length sizes), the dataset's version-1 object header (its data
// layout message), the B-tree nodes. Contiguous datasets use H5Dget_offset.
//
// Everything read from the file is validated (signatures, versions, sizes, every address and
// length inside the file, chunk keys in range and covering the dataset exactly once, node count
// bounded); anything unexpected — or any layout this does not handle (filters, layout message v4
// indexes, version-2 object headers, a user block, a driver other than sec2, unallocated chunks) —
// returns no extents with the reason, and the caller keeps reading through HDF5, which then
// reports real damage itself. The first and last chunk found are cross-checked against HDF5's
// own H5Dget_chunk_info_by_coord.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uce::h5 {

// Elements [first, first + count) of the dataset are stored at file byte `offset` onwards.
struct Extent {
  int64_t first = 0;
  int64_t count = 0;
  uint64_t offset = 0;
};

struct RawLayout {
  int fd = -1;                  // the sec2 driver's own descriptor (owned by HDF5: not closed here)
  std::vector<Extent> extents;  // sorted by `first`, covering [0, length) exactly; file-adjacent ones merged
};

// The raw layout of 1-D dataset `dset` of `length` elements of `elem_size` bytes, or nullopt with
// the reason in *why (not an error: the caller reads through HDF5 instead).
std::optional<RawLayout> raw_layout(hid_t dset, int64_t length, std::size_t elem_size, std::string* why);

// Reads elements [begin, begin + count) into out (elem_size bytes each) with pread. false with a
// message in *error on a short read or I/O error.
bool read_extents(const RawLayout& layout, int64_t begin, int64_t count, std::size_t elem_size, void* out,
                  std::string* error);

}  // namespace uce::h5
