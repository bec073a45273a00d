// h5_numeric_column.hpp — fast contiguous reads of a 1-D numeric dataset (a CSR matrix's data or
// indices) as double / int32, without HDF5's type-conversion path.
//
// Why: asking HDF5 for a memory type other than the stored one (float32 data read as double)
// sends every element through its conversion buffer (read into a temporary, convert, scatter),
// and a chunk no larger than the chunk cache is first copied into the cache. Here the elements
// are read in their stored type: straight into the caller's buffer when that type already is the
// output type, otherwise in pieces into a small reused staging buffer (cache-sized, whole chunks
// at a time, aligned to chunk boundaries so no chunk is read twice by one call) and converted in
// one vectorisable loop of ours. An unfiltered chunked dataset is opened without a chunk cache,
// so HDF5 reads fully selected chunks directly into our buffer; filtered (compressed) datasets
// keep HDF5's default cache, which they need for decompression.
//
// Unfiltered datasets in native byte order are read with pread() at the file offsets listed once
// at open (h5_raw_extents.hpp: no HDF5 work per chunk, and no HDF5 lock, so two columns can be
// read at the same time from two threads); anything else goes through H5Dread as described.
//
// Stored types handled: IEEE float32/float64 and 8/16/32/64-bit signed/unsigned integers, either
// byte order (a non-native order is swapped by HDF5 as before). Anything else falls back to
// HDF5's own conversion, as the reader did before.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "h5_handle.hpp"
#include "h5_raw_extents.hpp"
#include "uce/status.hpp"

namespace uce::h5 {

// A growable array whose growth does not initialise or copy (contents are discarded on growth):
// a reused output buffer must not pay a memset, a copy, or fresh page faults on every call.
// Large buffers (the chunk's values and indices, tens of MB) are anonymous mappings advised to
// use transparent huge pages: their first touch then costs one fault per 2 MiB instead of one
// per 4 KiB (the faults were ~20% of a warm read of a 300 MB file in 4,096-row chunks).
class RawBlock {
 public:
  RawBlock() = default;
  RawBlock(const RawBlock&) = delete;
  RawBlock& operator=(const RawBlock&) = delete;
  RawBlock(RawBlock&& o) noexcept : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), mapped_(o.mapped_) {}
  RawBlock& operator=(RawBlock&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
      mapped_ = o.mapped_;
    }
    return *this;
  }
  ~RawBlock() { release(); }
  // Replaces the block by one of at least `bytes` (old contents are dropped); false when out of memory.
  bool allocate(std::size_t bytes);
  void* get() const { return p_; }

 private:
  void release();
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
  bool mapped_ = false;
};

template <typename T>
class ScratchBuffer {
 public:
  // nullptr when the memory cannot be had.
  T* ensure(std::size_t n) {
    if (n > capacity_) {
      const std::size_t want = n + n / 8;  // headroom: the next chunk of rows is usually a little larger
      if (!block_.allocate(want * sizeof(T))) {
        capacity_ = 0;
        return nullptr;
      }
      capacity_ = want;
    }
    return static_cast<T*>(block_.get());
  }

 private:
  RawBlock block_;
  std::size_t capacity_ = 0;
};

class NumericColumn {
 public:
  // Opens `name` in `group` (a 1-D integer or float dataset). `what` names it in errors.
  // Open it before any other handle of the same dataset (HDF5 shares the first open's chunk
  // cache settings among later handles).
  // piece_bytes bounds the staging buffer (rounded up to whole chunks for a chunked dataset).
  static Result<NumericColumn> open(hid_t group, const char* name, const std::string& what,
                                    int64_t piece_bytes = int64_t{1} << 20);

  // Elements [begin, begin + count) as doubles (C casts, as HDF5's conversion does).
  Status read_doubles(int64_t begin, int64_t count, double* out);
  // Elements [begin, begin + count) as int32, each checked to lie in [0, limit); the first one
  // outside is reported with its position and value (`limit_name` says where limit came from).
  Status read_indices(int64_t begin, int64_t count, int32_t* out, int64_t limit,
                      const std::string& limit_name);

  hid_t id() const { return dset_.get(); }
  bool filtered() const { return filtered_; }
  // True when reads bypass HDF5 (pread at listed offsets): safe to run beside another such column.
  bool raw() const { return raw_.has_value(); }
  // Why reads go through HDF5 (empty when raw()).
  const std::string& raw_refused() const { return raw_refused_; }

 private:
  enum class Stored { F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Other };

  // The H5T_NATIVE_* type of t (H5I_INVALID_HID for Other).
  static hid_t native_type(Stored t);
  // f(s, T{}) with T the C type stored as s; std::nullopt (f not called) for Other. The one
  // switch over the stored types that read_doubles and read_indices share.
  template <typename F>
  static std::optional<Status> visit_stored(Stored s, F&& f);
  // Elements as the native type `as` (raw when as == the stored type; else HDF5 converts).
  Status read_raw(int64_t begin, int64_t count, Stored as, void* out);
  // Reads in pieces of the stored type Src into staging and hands each piece to convert(src, n, at).
  template <typename Src, typename Convert>
  Status read_pieces(int64_t begin, int64_t count, Stored as, Convert&& convert);

  Hid dset_;
  Hid file_space_;
  Stored stored_ = Stored::Other;
  std::size_t elem_size_ = 0;  // bytes per stored element
  std::optional<RawLayout> raw_;
  std::string raw_refused_;
  bool filtered_ = false;
  int64_t length_ = 0;
  int64_t piece_elems_ = 0;  // staging piece, a whole number of chunks for chunked datasets
  ScratchBuffer<unsigned char> staging_;
  std::string what_;
};

}  // namespace uce::h5
