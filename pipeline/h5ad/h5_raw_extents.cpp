#include "h5_raw_extents.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <H5FDsec2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "h5_handle.hpp"

namespace uce::h5 {
namespace {

constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
constexpr uint16_t kMsgLayout = 0x0008, kMsgFilters = 0x000B, kMsgContinuation = 0x0010;
constexpr int kMaxHeaderBlocks = 64;         // continuation blocks of one object header
constexpr uint64_t kMaxHeaderBlockBytes = uint64_t{1} << 20;  // a dataset's header is a few hundred bytes
constexpr uint32_t kMaxNodeEntries = 65535;  // the on-disk field is 16 bits anyway

// Records why raw reading is not used; returns `fallback` (nullopt or false) for a one-line return.
struct Refuse {
  std::string* why;
  std::nullopt_t operator()(const std::string& text) const {
    *why = text;
    return std::nullopt;
  }
  bool no(const std::string& text) const {
    *why = text;
    return false;
  }
};

uint64_t le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool pread_all(int fd, void* out, std::size_t n, uint64_t at) {
  auto* dst = static_cast<unsigned char*>(out);
  while (n > 0) {
    const ssize_t got = pread(fd, dst, n, static_cast<off_t>(at));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    dst += got;
    at += static_cast<uint64_t>(got);
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

// Reads of the file's own bytes, each checked to lie inside the file.
class FileBytes {
 public:
  FileBytes(int fd, uint64_t size) : fd_(fd), size_(size) {}
  bool read(uint64_t at, std::size_t n, std::vector<unsigned char>* out) const {
    if (at > size_ || n > size_ - at) return false;
    out->resize(n);
    return pread_all(fd_, out->data(), n, at);
  }
  bool inside(uint64_t at, uint64_t n) const { return at <= size_ && n <= size_ - at; }

 private:
  int fd_;
  uint64_t size_;
};

// Superblock checks: at offset 0 (no user block), base address 0, 8-byte offsets and lengths.
bool check_superblock(const FileBytes& f, std::string* why) {
  std::vector<unsigned char> b;
  if (!f.read(0, 48, &b) || std::memcmp(b.data(), kSignature, 8) != 0) {
    *why = "no superblock at offset 0 (user block?)";
    return false;
  }
  const unsigned version = b[8];
  unsigned offsets = 0, lengths = 0, base_at = 0;
  if (version <= 1) {
    offsets = b[13];
    lengths = b[14];
    base_at = version == 0 ? 24 : 28;
  } else if (version <= 3) {
    offsets = b[9];
    lengths = b[10];
    base_at = 12;
  } else {
    *why = "superblock version " + std::to_string(version);
    return false;
  }
  if (offsets != 8 || lengths != 8) {
    *why = "offset/length sizes " + std::to_string(offsets) + "/" + std::to_string(lengths) + ", not 8/8";
    return false;
  }
  if (le(b.data() + base_at, 8) != 0) {
    *why = "base address not 0";
    return false;
  }
  return true;
}

struct ChunkedLayout {
  uint64_t btree = 0;
  int64_t chunk_elems = 0;
};

// The data layout message of a version-1 object header: version 3, chunked, 1-D, no filters.
std::optional<ChunkedLayout> read_layout_message(const FileBytes& f, uint64_t header, std::size_t elem_size,
                                                 std::string* why) {
  const Refuse refuse{why};
  std::vector<unsigned char> b;
  if (!f.read(header, 16, &b)) return refuse("object header outside the file");
  if (b[0] != 1) return refuse("object header version " + std::to_string(b[0]));
  const uint64_t n_messages = le(b.data() + 2, 2);
  struct Block {
    uint64_t at, length;
  };
  std::vector<Block> blocks{{header + 16, le(b.data() + 8, 4)}};
  std::optional<ChunkedLayout> layout;
  uint64_t seen = 0;
  for (std::size_t bi = 0; bi < blocks.size() && seen < n_messages; ++bi) {
    if (bi >= kMaxHeaderBlocks) return refuse("too many object header blocks");
    const Block blk = blocks[bi];
    if (blk.length > kMaxHeaderBlockBytes) return refuse("object header block of " + std::to_string(blk.length) + " bytes");
    std::vector<unsigned char> body;
    if (!f.read(blk.at, static_cast<std::size_t>(blk.length), &body))
      return refuse("object header block outside the file");
    for (std::size_t pos = 0; pos + 8 <= body.size() && seen < n_messages; ++seen) {
      const auto type = static_cast<uint16_t>(le(&body[pos], 2));
      const std::size_t size = static_cast<std::size_t>(le(&body[pos + 2], 2));
      const unsigned char* data = body.data() + pos + 8;
      if (size > body.size() - pos - 8) return refuse("object header message past its block");
      if (type == kMsgFilters) return refuse("filter pipeline");
      if (type == kMsgContinuation) {
        if (size < 16) return refuse("short continuation message");
        blocks.push_back({le(data, 8), le(data + 8, 8)});
      }
      if (type == kMsgLayout) {
        if (size < 2 || data[0] != 3) return refuse("data layout message version " + std::to_string(size ? data[0] : 0));
        if (data[1] != 2) return refuse("layout class " + std::to_string(data[1]) + ", not chunked");
        // Chunked, version 3: dimensionality D (rank + 1), B-tree address, D 4-byte sizes (last = element size).
        if (size < 3 || data[2] != 2 || size < 3 + 8 + 2 * 4u)
          return refuse("chunked layout of rank " + std::to_string(size >= 3 ? data[2] - 1 : -1));
        const int64_t chunk = static_cast<int64_t>(le(data + 11, 4));
        const uint64_t elem = le(data + 15, 4);
        if (chunk <= 0 || elem != elem_size) return refuse("chunk dimensions do not match the dataset");
        layout = ChunkedLayout{le(data + 3, 8), chunk};
      }
      pos += 8 + size;
    }
  }
  if (!layout) *why = "no data layout message";
  return layout;
}

struct Chunk {
  int64_t first;
  uint64_t address;
};

// Every chunk of the version-1 B-tree rooted at `root` (raw data chunks, 1-D, unfiltered).
bool walk_btree(const FileBytes& f, uint64_t root, int64_t chunk_elems, std::size_t elem_size, int64_t max_chunks,
                std::vector<Chunk>* chunks, std::string* why) {
  const Refuse refuse{why};
  constexpr std::size_t kKey = 4 + 4 + 2 * 8;  // chunk size, filter mask, offsets of (element, datatype) dims
  const uint64_t chunk_bytes = static_cast<uint64_t>(chunk_elems) * elem_size;
  struct Node {
    uint64_t at;
    int level;  // expected level; -1 for the root
  };
  std::vector<Node> todo{{root, -1}};
  std::unordered_set<uint64_t> visited;
  std::vector<unsigned char> b;
  while (!todo.empty()) {
    const Node node = todo.back();
    todo.pop_back();
    if (!visited.insert(node.at).second || static_cast<int64_t>(visited.size()) > max_chunks + 1)
      return refuse.no("B-tree revisits a node or has more nodes than chunks");
    if (!f.read(node.at, 24, &b) || std::memcmp(b.data(), "TREE", 4) != 0 || b[4] != 1)
      return refuse.no("bad B-tree node signature or type");
    const int level = b[5];
    const uint32_t entries = static_cast<uint32_t>(le(b.data() + 6, 2));
    if ((node.level >= 0 && level != node.level) || entries > kMaxNodeEntries)
      return refuse.no("inconsistent B-tree node");
    if (!f.read(node.at + 24, entries * (kKey + 8) + kKey, &b)) return refuse.no("B-tree node outside the file");
    for (uint32_t i = 0; i < entries; ++i) {
      const unsigned char* key = &b[i * (kKey + 8)];
      const uint64_t child = le(key + kKey, 8);
      if (level > 0) {
        todo.push_back({child, level - 1});
        continue;
      }
      const uint64_t size = le(key, 4), mask = le(key + 4, 4);
      const uint64_t first = le(key + 8, 8), type_dim = le(key + 16, 8);
      if (size != chunk_bytes || mask != 0 || type_dim != 0 || first % static_cast<uint64_t>(chunk_elems) != 0 ||
          !f.inside(child, chunk_bytes))
        return refuse.no("unexpected chunk record");
      if (static_cast<int64_t>(chunks->size()) >= max_chunks) return refuse.no("more chunks than the dataset has");
      chunks->push_back({static_cast<int64_t>(first), child});
    }
  }
  return true;
}

// The object header address of `dset`.
std::optional<uint64_t> header_address(hid_t dset) {
#if H5_VERSION_GE(1, 12, 0)
  H5O_info2_t info;
  if (H5Oget_info3(dset, &info, H5O_INFO_BASIC) < 0) return std::nullopt;
  haddr_t addr = HADDR_UNDEF;
  Hid file(H5Iget_file_id(dset));
  if (H5VLnative_token_to_addr(file.get(), info.token, &addr) < 0) return std::nullopt;
  return static_cast<uint64_t>(addr);
#else
  H5O_info_t info;
  if (H5Oget_info2(dset, &info, H5O_INFO_BASIC) < 0) return std::nullopt;
  return static_cast<uint64_t>(info.addr);
#endif
}

// HDF5's own answer for the chunk holding element `first`: must match what the B-tree gave.
bool hdf5_agrees(hid_t dset, const Chunk& c) {
  hsize_t coord = static_cast<hsize_t>(c.first);
  unsigned mask = 0;
  haddr_t addr = HADDR_UNDEF;
  hsize_t size = 0;
  return H5Dget_chunk_info_by_coord(dset, &coord, &mask, &addr, &size) >= 0 && addr == c.address;
}

}  // namespace

std::optional<RawLayout> raw_layout(hid_t dset, int64_t length, std::size_t elem_size, std::string* why) {
  const Refuse refuse{why};
  if (length < 0 || elem_size == 0) return refuse("empty type");
  Hid dcpl(H5Dget_create_plist(dset));
  if (!dcpl || H5Pget_nfilters(dcpl.get()) != 0) return refuse("filtered");
  Hid file(H5Iget_file_id(dset));
  Hid fapl(file ? H5Fget_access_plist(file.get()) : H5I_INVALID_HID);
  if (!fapl || H5Pget_driver(fapl.get()) != H5FD_SEC2) return refuse("file driver is not sec2");
  int* handle = nullptr;
  if (H5Fget_vfd_handle(file.get(), fapl.get(), reinterpret_cast<void**>(&handle)) < 0 || !handle)
    return refuse("no file descriptor");
  RawLayout raw;
  raw.fd = *handle;
  struct stat st {};
  if (fstat(raw.fd, &st) != 0) return refuse("cannot stat the file");
  const FileBytes bytes(raw.fd, static_cast<uint64_t>(st.st_size));
  if (!check_superblock(bytes, why)) return std::nullopt;
  const uint64_t total = static_cast<uint64_t>(length) * elem_size;

  if (H5Pget_layout(dcpl.get()) == H5D_CONTIGUOUS) {
    const haddr_t at = H5Dget_offset(dset);
    if (length == 0) return raw;
    if (at == HADDR_UNDEF || !bytes.inside(at, total)) return refuse("contiguous storage not allocated");
    raw.extents.push_back({0, length, static_cast<uint64_t>(at)});
    return raw;
  }
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return refuse("compact or virtual layout");

  const auto header = header_address(dset);
  if (!header) return refuse("no object header address");
  const auto layout = read_layout_message(bytes, *header, elem_size, why);
  if (!layout) return std::nullopt;
  const int64_t n_chunks = (length + layout->chunk_elems - 1) / layout->chunk_elems;
  std::vector<Chunk> chunks;
  // Chunks past the current extent may remain allocated after a shrink: allow as many again.
  if (n_chunks > 0 && !walk_btree(bytes, layout->btree, layout->chunk_elems, elem_size, 2 * n_chunks + 1, &chunks, why))
    return std::nullopt;
  std::sort(chunks.begin(), chunks.end(), [](const Chunk& a, const Chunk& b) { return a.first < b.first; });
  chunks.erase(std::remove_if(chunks.begin(), chunks.end(), [&](const Chunk& c) { return c.first >= length; }), chunks.end());
  if (static_cast<int64_t>(chunks.size()) != n_chunks) return refuse("unallocated chunks");
  for (int64_t i = 0; i < n_chunks; ++i)
    if (chunks[static_cast<std::size_t>(i)].first != i * layout->chunk_elems) return refuse("chunk keys do not tile the dataset");
  if (n_chunks > 0 && (!hdf5_agrees(dset, chunks.front()) || !hdf5_agrees(dset, chunks.back())))
    return refuse("chunk addresses differ from HDF5's");
  for (const Chunk& c : chunks) {
    const int64_t count = std::min(layout->chunk_elems, length - c.first);
    Extent* last = raw.extents.empty() ? nullptr : &raw.extents.back();
    if (last && last->offset + static_cast<uint64_t>(last->count) * elem_size == c.address)
      last->count += count;  // file-adjacent: one pread serves both
    else
      raw.extents.push_back({c.first, count, c.address});
  }
  return raw;
}

bool read_extents(const RawLayout& layout, int64_t begin, int64_t count, std::size_t elem_size, void* out,
                  std::string* error) {
  auto* dst = static_cast<unsigned char*>(out);
  const int64_t end = begin + count;
  // The first extent that ends after `begin`.
  auto it = std::upper_bound(layout.extents.begin(), layout.extents.end(), begin,
                             [](int64_t v, const Extent& e) { return v < e.first + e.count; });
  for (int64_t at = begin; at < end; ++it) {
    if (it == layout.extents.end() || it->first > at) {
      *error = "element " + std::to_string(at) + " is in no extent";
      return false;
    }
    const int64_t n = std::min(end, it->first + it->count) - at;
    const std::size_t bytes = static_cast<std::size_t>(n) * elem_size;
    if (!pread_all(layout.fd, dst, bytes, it->offset + static_cast<uint64_t>(at - it->first) * elem_size)) {
      *error = std::string("read failed: ") + std::strerror(errno);
      return false;
    }
    dst += bytes;
    at += n;
  }
  return true;
}

}  // namespace uce::h5
