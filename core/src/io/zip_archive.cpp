// zip_archive.cpp — see zip_archive.hpp. Layouts from PKWARE APPNOTE 6.3 (sections 4.3.7,
// 4.3.12, 4.3.14-16, 4.5.3). torch.save writes STORED entries, data descriptors (flag bit 3,
// so sizes are taken from the central directory) and ZIP64 records even for small files.
#include "zip_archive.hpp"

#include "io_util.hpp"

namespace uce::io::detail {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEocdSize = 22, kZip64LocatorSize = 20, kZip64EocdSize = 56;
constexpr uint64_t kCentralSize = 46, kLocalSize = 30;

struct Directory {
  uint64_t entries = 0, cd_size = 0, cd_offset = 0;
};

Result<Directory> find_directory(const uint8_t* data, uint64_t size) {
  if (size < kEocdSize) {
    return Result<Directory>::error("not a zip archive: " + std::to_string(size) +
                                    " bytes, too short (expected an end-of-central-directory record)");
  }
  // The EOCD is the last 22 bytes plus a comment of at most 65535 bytes: scan backwards.
  uint64_t lowest = size >= kEocdSize + 65535 ? size - kEocdSize - 65535 : 0;
  uint64_t eocd = UINT64_MAX;
  for (uint64_t pos = size - kEocdSize + 1; pos-- > lowest;) {
    if (load_u32(data + pos) == kEocdSig && pos + kEocdSize + load_u16(data + pos + 20) <= size) {
      eocd = pos;
      break;
    }
  }
  if (eocd == UINT64_MAX) {
    return Result<Directory>::error(
        "not a zip archive or truncated (expected an end-of-central-directory record in the last 64 KiB)");
  }
  const uint8_t* e = data + eocd;
  Directory dir;
  uint16_t disk = load_u16(e + 4), cd_disk = load_u16(e + 6);
  dir.entries = load_u16(e + 10);
  dir.cd_size = load_u32(e + 12);
  dir.cd_offset = load_u32(e + 16);
  if (eocd >= kZip64LocatorSize && load_u32(data + eocd - kZip64LocatorSize) == kZip64LocatorSig) {
    const uint8_t* loc = data + eocd - kZip64LocatorSize;
    uint64_t z64 = load_u64(loc + 8);
    if (!range_fits(z64, kZip64EocdSize, eocd - kZip64LocatorSize) || load_u32(data + z64) != kZip64EocdSig) {
      return Result<Directory>::error("ZIP64 end-of-central-directory offset " + std::to_string(z64) +
                                      " is invalid (expected a ZIP64 record before the locator)");
    }
    const uint8_t* z = data + z64;
    disk = load_u32(z + 16) != 0 ? 1 : 0;
    cd_disk = load_u32(z + 20) != 0 ? 1 : 0;
    dir.entries = load_u64(z + 32);
    dir.cd_size = load_u64(z + 40);
    dir.cd_offset = load_u64(z + 48);
  } else if (dir.entries == 0xFFFF || dir.cd_size == 0xFFFFFFFF || dir.cd_offset == 0xFFFFFFFF) {
    return Result<Directory>::error("end-of-central-directory needs ZIP64 but no ZIP64 locator was found "
                                    "(truncated or damaged archive)");
  }
  if (disk != 0 || cd_disk != 0) {
    return Result<Directory>::error("multi-disk zip archive (expected a single-file archive)");
  }
  if (!range_fits(dir.cd_offset, dir.cd_size, size)) {
    return Result<Directory>::error("central directory at offset " + std::to_string(dir.cd_offset) + " size " +
                                    std::to_string(dir.cd_size) + " runs past the end of the file (" +
                                    std::to_string(size) + " bytes; truncated or damaged archive)");
  }
  if (dir.entries > dir.cd_size / kCentralSize) {
    return Result<Directory>::error("central directory claims " + std::to_string(dir.entries) +
                                    " entries in " + std::to_string(dir.cd_size) +
                                    " bytes (expected at least 46 bytes per entry)");
  }
  return dir;
}

// Fills the 0xFFFF.. placeholders of a central entry from its ZIP64 extra field (APPNOTE 4.5.3).
Status apply_zip64_extra(const uint8_t* extra, uint64_t extra_len, const std::string& name, uint64_t* usize,
                         uint64_t* csize, uint64_t* local_offset) {
  const bool need_u = *usize == 0xFFFFFFFF, need_c = *csize == 0xFFFFFFFF, need_o = *local_offset == 0xFFFFFFFF;
  if (!need_u && !need_c && !need_o) return Status::ok();
  uint64_t pos = 0;
  while (pos + 4 <= extra_len) {
    uint16_t id = load_u16(extra + pos), len = load_u16(extra + pos + 2);
    if (!range_fits(pos + 4, len, extra_len)) break;
    if (id == 0x0001) {
      const uint8_t* f = extra + pos + 4;
      uint64_t need = 8ull * (need_u + need_c + need_o), at = 0;
      if (len < need) break;
      if (need_u) { *usize = load_u64(f + at); at += 8; }
      if (need_c) { *csize = load_u64(f + at); at += 8; }
      if (need_o) { *local_offset = load_u64(f + at); }
      return Status::ok();
    }
    pos += 4 + len;
  }
  return Status::error("entry '" + printable(name) +
                       "' has 0xFFFFFFFF sizes but no valid ZIP64 extra field (damaged archive)");
}

}  // namespace

Result<ZipArchive> parse_zip(const uint8_t* data, uint64_t size) {
  auto dir_r = find_directory(data, size);
  if (!dir_r) return dir_r.status();
  const Directory dir = dir_r.value();
  ZipArchive zip;
  zip.entries.reserve(static_cast<size_t>(dir.entries));
  const uint64_t cd_end = dir.cd_offset + dir.cd_size;  // checked by find_directory
  uint64_t pos = dir.cd_offset;
  for (uint64_t k = 0; k < dir.entries; ++k) {
    if (!range_fits(pos, kCentralSize, cd_end) || load_u32(data + pos) != kCentralSig) {
      return Result<ZipArchive>::error("central directory entry " + std::to_string(k) + " at offset " +
                                       std::to_string(pos) + " is damaged (expected signature PK\\x01\\x02)");
    }
    const uint8_t* c = data + pos;
    uint16_t flags = load_u16(c + 8), method = load_u16(c + 10);
    uint64_t csize = load_u32(c + 20), usize = load_u32(c + 24);
    uint64_t name_len = load_u16(c + 28), extra_len = load_u16(c + 30), comment_len = load_u16(c + 32);
    uint64_t local = load_u32(c + 42);
    if (!range_fits(pos + kCentralSize, name_len + extra_len + comment_len, cd_end)) {
      return Result<ZipArchive>::error("central directory entry " + std::to_string(k) +
                                       " runs past the directory (truncated or damaged archive)");
    }
    ZipEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
    Status st = apply_zip64_extra(c + kCentralSize + name_len, extra_len, entry.name, &usize, &csize, &local);
    if (!st) return st;
    if (flags & 0x0001) {
      return Result<ZipArchive>::error("entry '" + printable(entry.name) + "' is encrypted (expected plain entries)");
    }
    if (method == 0 && csize != usize) {
      return Result<ZipArchive>::error("stored entry '" + printable(entry.name) + "' has compressed size " +
                                       std::to_string(csize) + " but uncompressed size " + std::to_string(usize) +
                                       " (expected equal; damaged archive)");
    }
    if (method != 0) {
      return Result<ZipArchive>::error("entry '" + printable(entry.name) + "' is compressed (method " +
                                       std::to_string(method) +
                                       "; expected stored entries, method 0, as torch.save writes them)");
    }
    if (!range_fits(local, kLocalSize, size) || load_u32(data + local) != kLocalSig) {
      return Result<ZipArchive>::error("entry '" + printable(entry.name) + "' local header offset " +
                                       std::to_string(local) + " is invalid (expected signature PK\\x03\\x04 inside the " +
                                       std::to_string(size) + "-byte file)");
    }
    uint64_t start = local + kLocalSize + load_u16(data + local + 26) + load_u16(data + local + 28);
    if (!range_fits(start, csize, size)) {
      return Result<ZipArchive>::error("entry '" + printable(entry.name) + "' data at offset " +
                                       std::to_string(start) + " size " + std::to_string(csize) +
                                       " runs past the end of the file (" + std::to_string(size) +
                                       " bytes; truncated archive)");
    }
    entry.data_offset = start;
    entry.size = csize;
    if (!zip.by_name.emplace(entry.name, zip.entries.size()).second) {
      return Result<ZipArchive>::error("entry '" + printable(entry.name) + "' appears twice (expected unique names)");
    }
    zip.entries.push_back(std::move(entry));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
  return zip;
}

}  // namespace uce::io::detail
