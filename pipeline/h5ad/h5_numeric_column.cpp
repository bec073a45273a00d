#include "h5_numeric_column.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>

namespace uce::h5 {

bool RawBlock::allocate(std::size_t bytes) {
  release();
  constexpr std::size_t kMapFrom = std::size_t{4} << 20;
  if (bytes >= kMapFrom) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
      madvise(p, bytes, MADV_HUGEPAGE);  // a hint: ignored where THP is off
#endif
      p_ = p;
      bytes_ = bytes;
      mapped_ = true;
      return true;
    }
  }
  p_ = std::malloc(std::max<std::size_t>(bytes, 1));
  bytes_ = p_ ? bytes : 0;
  mapped_ = false;
  return p_ != nullptr;
}

void RawBlock::release() {
  if (!p_) return;
  if (mapped_) {
    munmap(p_, bytes_);
  } else {
    std::free(p_);
  }
  p_ = nullptr;
  bytes_ = 0;
}

namespace {

// The n elements of `src` checked against [0, limit): returns the index of the first element
// outside, or n when all are inside. The check is a branch-free reduction (vectorised);
// only a failing piece is scanned again for the position.
template <typename T>
std::size_t first_outside(const T* src, std::size_t n, int64_t limit) {
  bool bad = false;
  for (std::size_t k = 0; k < n; ++k) {
    const auto v = static_cast<int64_t>(src[k]);
    bad |= (v < 0) | (v >= limit);
  }
  if (!bad) return n;
  for (std::size_t k = 0; k < n; ++k) {
    const auto v = static_cast<int64_t>(src[k]);
    if (v < 0 || v >= limit) return k;
  }
  return n;
}

// uint64 values above INT64_MAX would wrap to negative int64: checked as unsigned.
template <>
std::size_t first_outside<uint64_t>(const uint64_t* src, std::size_t n, int64_t limit) {
  const auto ulimit = static_cast<uint64_t>(std::max<int64_t>(limit, 0));
  for (std::size_t k = 0; k < n; ++k)
    if (src[k] >= ulimit) return k;
  return n;
}

}  // namespace

hid_t NumericColumn::native_type(Stored t) {
  switch (t) {
    case Stored::F32: return H5T_NATIVE_FLOAT;
    case Stored::F64: return H5T_NATIVE_DOUBLE;
    case Stored::I8: return H5T_NATIVE_INT8;
    case Stored::I16: return H5T_NATIVE_INT16;
    case Stored::I32: return H5T_NATIVE_INT32;
    case Stored::I64: return H5T_NATIVE_INT64;
    case Stored::U8: return H5T_NATIVE_UINT8;
    case Stored::U16: return H5T_NATIVE_UINT16;
    case Stored::U32: return H5T_NATIVE_UINT32;
    case Stored::U64: return H5T_NATIVE_UINT64;
    case Stored::Other: break;
  }
  return H5I_INVALID_HID;
}

Result<NumericColumn> NumericColumn::open(hid_t group, const char* name, const std::string& what,
                                          int64_t piece_bytes) {
  using R = Result<NumericColumn>;
  NumericColumn c;
  c.what_ = what;
  Hid probe(H5Dopen2(group, name, H5P_DEFAULT));
  if (!probe) return R::error(what + ": cannot open dataset");
  Hid dcpl(H5Dget_create_plist(probe.get()));
  c.filtered_ = H5Pget_nfilters(dcpl.get()) > 0;
  int64_t chunk_elems = 0;
  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    hsize_t dim = 0;
    if (H5Pget_chunk(dcpl.get(), 1, &dim) == 1) chunk_elems = static_cast<int64_t>(dim);
  }
  if (chunk_elems > 0 && !c.filtered_) {
    // No chunk cache: fully selected chunks are read straight into our buffer (see the header).
    // HDF5 shares one dataset object (and its cache settings) among all open handles of a
    // dataset, so the probe is closed first and the caller must open this column before any
    // other handle of the same dataset.
    dcpl.reset();
    probe.reset();
    Hid dapl(H5Pcreate(H5P_DATASET_ACCESS));
    H5Pset_chunk_cache(dapl.get(), 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT);
    c.dset_ = Hid(H5Dopen2(group, name, dapl.get()));
  } else {
    c.dset_ = std::move(probe);
  }
  if (!c.dset_) return R::error(what + ": cannot open dataset");

  Hid type(H5Dget_type(c.dset_.get()));
  const H5T_class_t cls = H5Tget_class(type.get());
  const std::size_t size = H5Tget_size(type.get());
  if (cls == H5T_FLOAT) {
    // Only the IEEE layouts (the native float/double are IEEE on every supported host).
    const bool ieee32 = size == 4 && H5Tget_precision(type.get()) == 32 && H5Tget_ebias(type.get()) == 127;
    const bool ieee64 = size == 8 && H5Tget_precision(type.get()) == 64 && H5Tget_ebias(type.get()) == 1023;
    c.stored_ = ieee32 ? Stored::F32 : ieee64 ? Stored::F64 : Stored::Other;
  } else if (cls == H5T_INTEGER) {
    const bool sign = H5Tget_sign(type.get()) != H5T_SGN_NONE;
    switch (size) {
      case 1: c.stored_ = sign ? Stored::I8 : Stored::U8; break;
      case 2: c.stored_ = sign ? Stored::I16 : Stored::U16; break;
      case 4: c.stored_ = sign ? Stored::I32 : Stored::U32; break;
      case 8: c.stored_ = sign ? Stored::I64 : Stored::U64; break;
      default: c.stored_ = Stored::Other; break;
    }
  }
  c.file_space_ = Hid(H5Dget_space(c.dset_.get()));
  if (H5Sget_simple_extent_ndims(c.file_space_.get()) != 1) return R::error(what + ": expected a 1-D dataset");
  hsize_t len = 0;
  H5Sget_simple_extent_dims(c.file_space_.get(), &len, nullptr);
  c.length_ = static_cast<int64_t>(len);
  // Raw reads: the stored type must be the native one bit for bit (size and byte order).
  if (c.stored_ == Stored::Other || c.filtered_)
    c.raw_refused_ = c.filtered_ ? "filtered" : "element type handled by HDF5";
  else if (H5Tget_order(type.get()) != H5Tget_order(native_type(c.stored_)))
    c.raw_refused_ = "non-native byte order";
  else
    c.raw_ = raw_layout(c.dset_.get(), c.length_, size, &c.raw_refused_);
  c.elem_size_ = size;
  const int64_t elem = static_cast<int64_t>(std::max<std::size_t>(size, 1));
  const int64_t want = std::max<int64_t>(1, piece_bytes / elem);
  c.piece_elems_ = chunk_elems > 0 ? chunk_elems * std::max<int64_t>(1, want / chunk_elems) : want;
  return c;
}

template <typename F>
std::optional<Status> NumericColumn::visit_stored(Stored s, F&& f) {
  switch (s) {
    case Stored::F32: return f(Stored::F32, float{});
    case Stored::F64: return f(Stored::F64, double{});
    case Stored::I8: return f(Stored::I8, int8_t{});
    case Stored::I16: return f(Stored::I16, int16_t{});
    case Stored::I32: return f(Stored::I32, int32_t{});
    case Stored::I64: return f(Stored::I64, int64_t{});
    case Stored::U8: return f(Stored::U8, uint8_t{});
    case Stored::U16: return f(Stored::U16, uint16_t{});
    case Stored::U32: return f(Stored::U32, uint32_t{});
    case Stored::U64: return f(Stored::U64, uint64_t{});
    case Stored::Other: break;
  }
  return std::nullopt;
}

Status NumericColumn::read_raw(int64_t begin, int64_t count, Stored as, void* out) {
  if (count == 0) return Status::ok();
  if (begin < 0 || count < 0 || begin + count > length_)
    return Status::error(what_ + ": range [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                         ") outside the dataset's " + std::to_string(length_) + " entries");
  // No HDF5 call on this path (not even an H5T_NATIVE_* macro, which calls H5open): it may run
  // on a second thread beside another raw column (CountsMatrix::read_csr).
  if (raw_ && as == stored_) {
    std::string error;
    if (!read_extents(*raw_, begin, count, elem_size_, out, &error)) return Status::error(what_ + ": " + error);
    return Status::ok();
  }
  const hid_t memtype = native_type(as);
  const hsize_t start = static_cast<hsize_t>(begin), n = static_cast<hsize_t>(count);
  if (H5Sselect_hyperslab(file_space_.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr) < 0)
    return Status::error(what_ + ": cannot select range");
  Hid mem_space(H5Screate_simple(1, &n, nullptr));
  if (H5Dread(dset_.get(), memtype, mem_space.get(), file_space_.get(), H5P_DEFAULT, out) < 0)
    return Status::error(what_ + ": read failed (element type not convertible?)");
  return Status::ok();
}

template <typename Src, typename Convert>
Status NumericColumn::read_pieces(int64_t begin, int64_t count, Stored as, Convert&& convert) {
  Src* const stage = reinterpret_cast<Src*>(
      staging_.ensure(static_cast<std::size_t>(std::min(piece_elems_, std::max<int64_t>(count, 1))) * sizeof(Src)));
  if (!stage) return Status::error(what_ + ": out of memory for the staging buffer");
  int64_t at = begin;
  const int64_t end = begin + count;
  while (at < end) {
    // Up to the next multiple of piece_elems_ (a chunk boundary for chunked datasets).
    const int64_t piece_end = std::min(end, (at / piece_elems_ + 1) * piece_elems_);
    const int64_t n = piece_end - at;
    Status st = read_raw(at, n, as, stage);
    if (!st) return st;
    st = convert(static_cast<const Src*>(stage), static_cast<std::size_t>(n), at - begin);
    if (!st) return st;
    at = piece_end;
  }
  return Status::ok();
}

Status NumericColumn::read_doubles(int64_t begin, int64_t count, double* out) {
  auto to_double = [&](Stored as, auto tag) {
    using Src = decltype(tag);
    return read_pieces<Src>(begin, count, as, [out](const Src* src, std::size_t n, int64_t at) {
      double* const dst = out + at;
      for (std::size_t k = 0; k < n; ++k) dst[k] = static_cast<double>(src[k]);
      return Status::ok();
    });
  };
  if (stored_ == Stored::F64) return read_raw(begin, count, Stored::F64, out);
  std::optional<Status> converted = visit_stored(stored_, to_double);
  return converted ? *converted : read_raw(begin, count, Stored::F64, out);  // Other: HDF5 converts
}

Status NumericColumn::read_indices(int64_t begin, int64_t count, int32_t* out, int64_t limit,
                                   const std::string& limit_name) {
  auto outside = [&](int64_t pos, const std::string& value) {
    return Status::error(what_ + "[" + std::to_string(pos) + "] = " + value + " outside [0, " +
                         std::to_string(limit) + ") (" + limit_name + ")");
  };
  auto to_int32 = [&](Stored as, auto tag) {
    using Src = decltype(tag);
    return read_pieces<Src>(begin, count, as, [&](const Src* src, std::size_t n, int64_t at) {
      const std::size_t k = first_outside(src, n, limit);
      if (k < n) return outside(begin + at + static_cast<int64_t>(k), std::to_string(src[k]));
      int32_t* const dst = out + at;  // every value is in [0, limit) with limit <= INT32_MAX + 1
      for (std::size_t j = 0; j < n; ++j) dst[j] = static_cast<int32_t>(src[j]);
      return Status::ok();
    });
  };
  // Integer types other than int32 are converted here, each value checked first.
  if (stored_ != Stored::I32 && stored_ != Stored::F32 && stored_ != Stored::F64) {
    std::optional<Status> converted = visit_stored(stored_, to_int32);
    if (converted) return *converted;
  }
  // int32 (the usual case: no conversion, straight into the output), floats and Other (HDF5
  // converts to int32; out-of-range values saturate and are caught by the check).
  Status st = read_raw(begin, count, Stored::I32, out);
  if (!st) return st;
  const auto n = static_cast<std::size_t>(count);
  const std::size_t k = first_outside(out, n, limit);
  if (k < n) return outside(begin + static_cast<int64_t>(k), std::to_string(out[k]));
  return Status::ok();
}

}  // namespace uce::h5
