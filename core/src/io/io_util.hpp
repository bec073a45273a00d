// io_util.hpp — internal helpers shared by the readers: overflow-checked arithmetic, bounds-
// checked little-endian loads and printable snippets of untrusted text for error messages.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace uce::io::detail {

// Overflow-safe arithmetic on sizes/offsets read from a file: false on overflow.
inline bool add_u64(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }
inline bool mul_u64(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool add_i64(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }
inline bool mul_i64(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }

// True when [offset, offset + length) lies inside [0, size).
inline bool range_fits(uint64_t offset, uint64_t length, uint64_t size) {
  uint64_t end = 0;
  return add_u64(offset, length, &end) && end <= size;
}

// Little-endian loads; callers have checked the range first.
inline uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_u64(const uint8_t* p) {
  return static_cast<uint64_t>(load_u32(p)) | (static_cast<uint64_t>(load_u32(p + 4)) << 32);
}

// Untrusted text (names from a file) made safe for a one-line message: control and non-ASCII
// bytes are escaped, long text is cut.
inline std::string printable(std::string_view text, size_t max_len = 80) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t k = 0; k < text.size(); ++k) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(text[k]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace uce::io::detail
