#include "core/utf8.h"

#include <cstdint>
#include <cstring>

namespace apitrail::utf8 {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Index of the first byte ≥ 0x80 at or after i (s.size() when none): request data is
// almost always ASCII, so this runs over it eight bytes at a time.
size_t SkipAscii(std::string_view s, size_t i) {
  while (i + 8 <= s.size()) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if ((w & 0x8080808080808080ull) != 0) break;
    i += 8;
  }
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  return i;
}

}  // namespace

size_t SequenceLength(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void AppendValid(std::string* out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = SkipAscii(s, i);
    out->append(s.data() + i, j - i);
    i = j;
    if (i == s.size()) break;
    size_t n = SequenceLength(s, i);
    if (n == 0) {
      out->append(kReplacement);
      ++i;
    } else {
      out->append(s.data() + i, n);
      i += n;
    }
  }
}

size_t ValidLength(std::string_view s) {
  size_t len = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = SkipAscii(s, i);
    len += j - i;
    i = j;
    if (i == s.size()) break;
    size_t n = SequenceLength(s, i);
    len += n == 0 ? kReplacement.size() : n;
    i += n == 0 ? 1 : n;
  }
  return len;
}

size_t CutLength(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  for (size_t back = 1; back <= 3 && back <= max; ++back) {
    const auto lead = static_cast<unsigned char>(s[max - back]);
    if ((lead & 0xC0) == 0x80) continue;
    const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return length > back ? max - back : max;
  }
  return max;
}

}  // namespace apitrail::utf8
