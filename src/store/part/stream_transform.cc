#include "store/part/stream_transform.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "core/ids.h"
#include "store/part/part_index.h"

namespace apitrail::part {

namespace {

constexpr size_t kUuidValue = 37;  // 0x24 + 36 characters
constexpr size_t kUuidBytes = 16;
constexpr size_t kTimePlane = 6;  // a version 7 UUID's 48-bit millisecond time

// Lowercase hex digit values, -1 elsewhere: canonical UUIDs are lowercase.
constexpr std::array<int8_t, 256> MakeHexValues() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 10);
  return t;
}
constexpr std::array<int8_t, 256> kHexValues = MakeHexValues();

int HexDigit(char c) { return kHexValues[static_cast<unsigned char>(c)]; }

constexpr bool IsDash(size_t i) { return i == 9 || i == 14 || i == 19 || i == 24; }

// Where the 32 hex digits of a stored UUID value (0x24 + 8-4-4-4-12) are: digit 2k and
// 2k+1 make byte k. Every sealed record has two or three UUIDs, so these loops are hot.
constexpr std::array<uint8_t, 32> MakeDigitPositions() {
  std::array<uint8_t, 32> pos{};
  size_t n = 0;
  for (size_t i = 1; i < kUuidValue; ++i) {
    if (!IsDash(i)) pos[n++] = static_cast<uint8_t>(i);
  }
  return pos;
}
constexpr std::array<uint8_t, 32> kDigitPositions = MakeDigitPositions();

// Where byte `byte` of value `v` (of `n`) goes in the planes: bytes 0…5 of every value
// first, then bytes 6…15 of every value.
size_t PlaneIndex(size_t n, size_t v, size_t byte) {
  return byte < kTimePlane ? v * kTimePlane + byte
                           : n * kTimePlane + v * (kUuidBytes - kTimePlane) + (byte - kTimePlane);
}

}  // namespace

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

bool IsCanonicalUuid(std::string_view value) {
  if (value.size() != kUuidValue || value[0] != '\x24') return false;
  if (value[9] != '-' || value[14] != '-' || value[19] != '-' || value[24] != '-') return false;
  int any_bad = 0;  // the sign bit of any -1
  for (uint8_t i : kDigitPositions) any_bad |= HexDigit(value[i]);
  return any_bad >= 0;
}

std::string PackUuids(std::string_view values) {
  const size_t n = values.size() / kUuidValue;
  std::string planes(n * kUuidBytes, '\0');
  for (size_t v = 0; v < n; ++v) {
    const char* value = values.data() + v * kUuidValue;
    for (size_t byte = 0; byte < kUuidBytes; ++byte) {
      planes[PlaneIndex(n, v, byte)] =
          static_cast<char>(HexDigit(value[kDigitPositions[2 * byte]]) << 4 |
                            HexDigit(value[kDigitPositions[2 * byte + 1]]));
    }
  }
  return planes;
}

bool UnpackUuids(std::string_view planes, size_t max_bytes, std::string* out) {
  if (planes.size() % kUuidBytes != 0) return false;
  const size_t n = planes.size() / kUuidBytes;
  if (n * kUuidValue > max_bytes) return false;
  out->resize(n * kUuidValue);
  for (size_t v = 0; v < n; ++v) {
    uint8_t bytes[kUuidBytes];
    for (size_t byte = 0; byte < kUuidBytes; ++byte) {
      bytes[byte] = static_cast<uint8_t>(planes[PlaneIndex(n, v, byte)]);
    }
    char* value = out->data() + v * kUuidValue;
    value[0] = '\x24';
    FormatUuid(bytes, value + 1);
  }
  return true;
}

namespace {

constexpr size_t kV4Bits = 122;

// Appends bits most significant first, without gaps.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  // The low `n` (≤ 64) bits of v.
  void Put(uint64_t v, unsigned n) {
    for (unsigned left = n; left > 0;) {
      if (used_ == 0) out_->push_back('\0');
      const unsigned take = std::min(left, 8 - used_);
      const auto bits = static_cast<uint8_t>((v >> (left - take)) & ((1u << take) - 1));
      out_->back() =
          static_cast<char>(static_cast<uint8_t>(out_->back()) | bits << (8 - used_ - take));
      used_ = (used_ + take) % 8;
      left -= take;
    }
  }

 private:
  std::string* out_;
  unsigned used_ = 0;  // bits of out_->back() taken (0: start a new byte)
};

// Reads what BitWriter wrote; the caller checks the size first.
class BitReader {
 public:
  explicit BitReader(const char* p) : p_(reinterpret_cast<const uint8_t*>(p)) {}
  uint64_t Get(unsigned n) {
    uint64_t v = 0;
    for (unsigned left = n; left > 0;) {
      const unsigned take = std::min(left, 8 - used_);
      v = v << take | ((*p_ >> (8 - used_ - take)) & ((1u << take) - 1));
      used_ += take;
      if (used_ == 8) {
        used_ = 0;
        ++p_;
      }
      left -= take;
    }
    return v;
  }

 private:
  const uint8_t* p_;
  unsigned used_ = 0;
};

// The 16 bytes of a canonical UUID value as two big-endian halves.
void UuidHalves(const char* value, uint64_t* hi, uint64_t* lo) {
  *hi = *lo = 0;
  for (size_t byte = 0; byte < kUuidBytes; ++byte) {
    const uint64_t b = static_cast<uint64_t>(HexDigit(value[kDigitPositions[2 * byte]]) << 4 |
                                             HexDigit(value[kDigitPositions[2 * byte + 1]]));
    uint64_t& half = byte < 8 ? *hi : *lo;
    half = half << 8 | b;
  }
}

// Stable order of value indexes by rel.
std::vector<uint32_t> OrderBySeq(const std::vector<uint32_t>& rels) {
  std::vector<uint32_t> order(rels.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return rels[a] < rels[b]; });
  return order;
}

}  // namespace

bool IsUuidV4(std::string_view value) {
  // value[0] is the length byte: the version digit is the UUID's 15th character, the
  // variant digit its 20th.
  const char variant = value[20];
  return value[15] == '4' && (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

std::string PackUuidV4s(std::string_view values) {
  // Of the high half, all but the version nibble (bits 12…15 from its low end): 60 bits;
  // of the low half, all but the two variant bits at its top: 62.
  const size_t n = values.size() / kUuidValue;
  std::string out;
  out.reserve((n * kV4Bits + 7) / 8);
  BitWriter w(&out);
  for (size_t v = 0; v < n; ++v) {
    uint64_t hi = 0, lo = 0;
    UuidHalves(values.data() + v * kUuidValue, &hi, &lo);
    w.Put((hi >> 16) << 12 | (hi & 0xFFF), 60);
    w.Put(lo, 62);
  }
  return out;
}

bool UnpackUuidV4s(std::string_view bits, size_t max_bytes, std::string* out) {
  const size_t n = bits.size() * 8 / kV4Bits;
  if ((n * kV4Bits + 7) / 8 != bits.size() || n * kUuidValue > max_bytes) return false;
  const size_t used = n * kV4Bits;
  if (used % 8 != 0 && (static_cast<uint8_t>(bits.back()) & (0xFF >> (used % 8))) != 0)
    return false;
  out->resize(n * kUuidValue);
  BitReader r(bits.data());
  for (size_t v = 0; v < n; ++v) {
    const uint64_t hi60 = r.Get(60);
    const uint64_t lo62 = r.Get(62);
    const uint64_t hi = (hi60 >> 12) << 16 | uint64_t{4} << 12 | (hi60 & 0xFFF);
    const uint64_t lo = uint64_t{2} << 62 | lo62;  // variant 10
    uint8_t bytes[kUuidBytes];
    for (size_t b = 0; b < 8; ++b) {
      bytes[b] = static_cast<uint8_t>(hi >> (56 - 8 * b));
      bytes[8 + b] = static_cast<uint8_t>(lo >> (56 - 8 * b));
    }
    char* value = out->data() + v * kUuidValue;
    value[0] = '\x24';
    FormatUuid(bytes, value + 1);
  }
  return true;
}

uint64_t UuidTimeMs(std::string_view value) {
  uint64_t ms = 0;
  for (size_t i = 0; i < 12; ++i)
    ms = ms << 4 | static_cast<uint64_t>(HexDigit(value[kDigitPositions[i]]));
  return ms;
}

std::string PackUuidTails(std::string_view values) {
  const size_t n = values.size() / kUuidValue;
  std::string tails(n * (kUuidBytes - kTimePlane), '\0');
  for (size_t v = 0; v < n; ++v) {
    const char* value = values.data() + v * kUuidValue;
    for (size_t byte = kTimePlane; byte < kUuidBytes; ++byte) {
      tails[v * (kUuidBytes - kTimePlane) + byte - kTimePlane] =
          static_cast<char>(HexDigit(value[kDigitPositions[2 * byte]]) << 4 |
                            HexDigit(value[kDigitPositions[2 * byte + 1]]));
    }
  }
  return tails;
}

bool UnpackUuidTails(std::string_view tails, const std::vector<uint64_t>& times_ms,
                     size_t max_bytes, std::string* out) {
  constexpr size_t kTail = kUuidBytes - kTimePlane;
  if (tails.size() != times_ms.size() * kTail || times_ms.size() * kUuidValue > max_bytes)
    return false;
  out->resize(times_ms.size() * kUuidValue);
  for (size_t v = 0; v < times_ms.size(); ++v) {
    if (times_ms[v] >> 48 != 0) return false;
    uint8_t bytes[kUuidBytes];
    for (size_t byte = 0; byte < kTimePlane; ++byte) {
      bytes[byte] = static_cast<uint8_t>(times_ms[v] >> (8 * (kTimePlane - 1 - byte)));
    }
    std::memcpy(bytes + kTimePlane, tails.data() + v * kTail, kTail);
    char* value = out->data() + v * kUuidValue;
    value[0] = '\x24';
    FormatUuid(bytes, value + 1);
  }
  return true;
}

std::string DeltaEncodeUuidTails(std::string_view tails) {
  constexpr size_t kTail = kUuidBytes - kTimePlane;
  std::string out;
  uint64_t prev_hi = 0, prev_lo = 0;
  for (size_t v = 0; v + kTail <= tails.size(); v += kTail) {
    const auto* b = reinterpret_cast<const uint8_t*>(tails.data() + v);
    const uint64_t hi = uint64_t{b[0]} << 8 | b[1];
    uint64_t lo = 0;
    for (size_t i = 2; i < kTail; ++i) lo = lo << 8 | b[i];
    PutVarint(&out, ZigZag(static_cast<int64_t>(hi - prev_hi)));
    PutVarint(&out, ZigZag(static_cast<int64_t>(lo - prev_lo)));
    prev_hi = hi;
    prev_lo = lo;
  }
  return out;
}

bool DeltaDecodeUuidTails(std::string_view deltas, size_t max_bytes, std::string* out) {
  constexpr size_t kTail = kUuidBytes - kTimePlane;
  out->clear();
  const char* p = deltas.data();
  const char* end = p + deltas.size();
  uint64_t hi = 0, lo = 0;
  while (p != end) {
    uint64_t dh = 0, dl = 0;
    if (!GetVarint(&p, end, &dh) || !GetVarint(&p, end, &dl)) return false;
    hi += static_cast<uint64_t>(UnZigZag(dh));
    lo += static_cast<uint64_t>(UnZigZag(dl));
    if (hi > 0xFFFF || out->size() + kTail > max_bytes) return false;
    char tail[kTail];
    tail[0] = static_cast<char>(hi >> 8);
    tail[1] = static_cast<char>(hi);
    for (size_t i = 0; i < 8; ++i) tail[2 + i] = static_cast<char>(lo >> (56 - 8 * i));
    out->append(tail, kTail);
  }
  return true;
}

bool OffsetUuidTails(std::string* tails, const std::vector<uint32_t>& offsets, int sign) {
  constexpr size_t kTail = kUuidBytes - kTimePlane;
  if (tails->size() != offsets.size() * kTail) return false;
  for (size_t v = 0; v < offsets.size(); ++v) {
    auto* b = reinterpret_cast<uint8_t*>(tails->data() + v * kTail + 2);
    uint64_t lo = 0;
    for (size_t i = 0; i < 8; ++i) lo = lo << 8 | b[i];
    lo = sign < 0 ? lo - offsets[v] : lo + offsets[v];
    for (size_t i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return true;
}

bool ParseKeyValue(std::string_view stored, std::string_view* key, std::string_view* value) {
  const char* p = stored.data();
  const char* end = p + stored.size();
  uint64_t len = 0;
  if (!GetVarint(&p, end, &len) || len != static_cast<uint64_t>(end - p)) return false;
  *key = *value = std::string_view();
  bool have_key = false, have_value = false;
  while (p != end) {
    uint64_t k = 0, n = 0;
    if (!GetVarint(&p, end, &k) || (k != 0x0a && k != 0x12) || !GetVarint(&p, end, &n) ||
        n > static_cast<uint64_t>(end - p)) {
      return false;
    }
    bool& seen = k == 0x0a ? have_key : have_value;
    if (seen) return false;  // each at most once (FORMAT.md): no "last one wins"
    seen = true;
    (k == 0x0a ? *key : *value) = std::string_view(p, static_cast<size_t>(n));
    p += n;
  }
  return true;
}

bool RouteParamNames(std::string_view route, std::vector<std::string_view>* names) {
  names->clear();
  const size_t space = route.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view tmpl = route.substr(space + 1);
  for (size_t open = tmpl.find('{'); open != std::string_view::npos; open = tmpl.find('{')) {
    const size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) return false;
    names->push_back(tmpl.substr(open + 1, close - open - 1));
    tmpl.remove_prefix(close + 1);
  }
  return true;
}

std::string ResourceKeyValue(std::string_view key, std::string_view value) {
  std::string fields;
  if (!key.empty()) {
    fields.push_back('\x0a');
    PutVarint(&fields, key.size());
    fields += key;
  }
  if (!value.empty()) {
    fields.push_back('\x12');
    PutVarint(&fields, value.size());
    fields += value;
  }
  std::string out;
  PutVarint(&out, fields.size());
  return out + fields;
}

bool FillRouteTemplate(std::string_view route, const std::vector<std::string_view>& resources,
                       std::string* path) {
  const size_t space = route.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view tmpl = route.substr(space + 1);
  path->clear();
  size_t next = 0;
  while (!tmpl.empty()) {
    const size_t open = tmpl.find('{');
    path->append(tmpl.substr(0, open));
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos || next == resources.size()) return false;
    std::string_view key, value;
    if (!ParseKeyValue(resources[next++], &key, &value) ||
        key != tmpl.substr(open + 1, close - open - 1))
      return false;
    path->append(value);
    tmpl.remove_prefix(close + 1);
  }
  return next == resources.size();
}

std::string DeltaEncode(const std::vector<uint64_t>& values) {
  std::string out;
  uint64_t prev = 0;
  for (uint64_t v : values) {
    PutVarint(&out, ZigZag(static_cast<int64_t>(v - prev)));
    prev = v;
  }
  return out;
}

namespace {

// The next length-delimited value of [*p, end): its length varint and bytes.
bool NextDelimited(const char** p, const char* end, std::string_view* value) {
  const char* start = *p;
  uint64_t len = 0;
  if (!GetVarint(p, end, &len) || len > static_cast<uint64_t>(end - *p)) return false;
  *p += len;
  *value = std::string_view(start, static_cast<size_t>(*p - start));
  return true;
}

}  // namespace

bool DictEncode(std::string_view values, std::string* out) {
  std::unordered_map<std::string_view, uint32_t> index;
  std::vector<std::string_view> distinct;
  std::string indices;
  const char* p = values.data();
  const char* end = p + values.size();
  while (p != end) {
    std::string_view v;
    if (!NextDelimited(&p, end, &v)) return false;
    auto [it, fresh] = index.emplace(v, static_cast<uint32_t>(distinct.size()));
    if (fresh) distinct.push_back(v);
    PutVarint(&indices, it->second);
  }
  if (distinct.empty()) return false;
  out->clear();
  PutVarint(out, distinct.size());
  for (std::string_view v : distinct) out->append(v.data(), v.size());
  out->append(indices);
  return true;
}

bool DictDecode(std::string_view dict, size_t max_bytes, std::string* out) {
  out->clear();
  const char* p = dict.data();
  const char* end = p + dict.size();
  uint64_t d = 0;
  // Each distinct value takes at least one byte, so D is bounded by the input.
  if (!GetVarint(&p, end, &d) || d == 0 || d > static_cast<uint64_t>(end - p)) return false;
  std::vector<std::string_view> distinct;  // grown as values parse: D may be a lie
  for (uint64_t i = 0; i < d; ++i) {
    if (!NextDelimited(&p, end, &distinct.emplace_back())) return false;
  }
  while (p != end) {
    uint64_t i = 0;
    if (!GetVarint(&p, end, &i) || i >= d) return false;
    if (out->size() + distinct[i].size() > max_bytes) return false;
    out->append(distinct[i].data(), distinct[i].size());
  }
  return true;
}

bool PartDictEncode(std::string_view values, const PartValues& table, uint64_t number,
                    std::string* out) {
  out->clear();
  const char* p = values.data();
  const char* end = p + values.size();
  while (p != end) {
    std::string_view v;
    if (!NextDelimited(&p, end, &v)) return false;
    const uint64_t code = table.Code(number, v);
    PutVarint(out, code);
    if (code == 0) out->append(v.data(), v.size());
  }
  return true;
}

bool PartDictDecode(std::string_view codes, const std::vector<std::string_view>& table,
                    size_t max_bytes, std::string* out) {
  out->clear();
  const char* p = codes.data();
  const char* end = p + codes.size();
  while (p != end) {
    uint64_t code = 0;
    std::string_view literal;
    if (!GetVarint(&p, end, &code) || code > table.size()) return false;
    if (code == 0 && !NextDelimited(&p, end, &literal)) return false;
    const std::string_view v = code == 0 ? literal : table[code - 1];
    if (out->size() + v.size() > max_bytes) return false;
    out->append(v.data(), v.size());
  }
  return true;
}

std::string DeltaEncodeBySeq(const std::vector<uint64_t>& values,
                             const std::vector<uint32_t>& rels) {
  const std::vector<uint32_t> order = OrderBySeq(rels);
  std::vector<int64_t> deltas;
  deltas.reserve(values.size());
  uint64_t prev = 0;
  long double sum = 0;
  for (uint32_t i : order) {
    deltas.push_back(static_cast<int64_t>(values[i] - prev));
    // The first is the whole value: the gaps decide k.
    if (deltas.size() > 1)
      sum += deltas.back() < 0 ? -static_cast<long double>(deltas.back()) : deltas.back();
    prev = values[i];
  }
  // Rice-like: the low k bits of each delta are near uniform and go to a bit plane as they
  // are; the rest (a small number) to varints that zstd codes in a few bits each. k near
  // log2 of the mean gap leaves those a geometric spread over a few values.
  const long double mean =
      deltas.size() < 2 ? 0 : sum / static_cast<long double>(deltas.size() - 1);
  int k = 0;
  while (k < 62 && static_cast<long double>(uint64_t{1} << (k + 1)) <= mean) ++k;
  std::string out(1, static_cast<char>(k));
  for (int64_t d : deltas) PutVarint(&out, ZigZag(d >> k));
  BitWriter w(&out);
  for (int64_t d : deltas) w.Put(static_cast<uint64_t>(d), static_cast<unsigned>(k));
  return out;
}

bool DeltaDecodeBySeq(std::string_view deltas, const std::vector<uint32_t>& rels, size_t max_bytes,
                      std::string* out) {
  out->clear();
  if (deltas.empty() || static_cast<uint8_t>(deltas[0]) > 62) return false;
  const unsigned k = static_cast<uint8_t>(deltas[0]);
  const char* p = deltas.data() + 1;
  const char* end = deltas.data() + deltas.size();
  std::vector<uint64_t> highs(rels.size());
  for (uint64_t& h : highs) {
    if (!GetVarint(&p, end, &h)) return false;
  }
  const size_t bits = rels.size() * k;
  if (static_cast<size_t>(end - p) != (bits + 7) / 8) return false;
  if (bits % 8 != 0 && (static_cast<uint8_t>(end[-1]) & (0xFF >> (bits % 8))) != 0) return false;
  std::vector<uint64_t> values(rels.size());
  uint64_t v = 0;
  size_t j = 0;
  BitReader r(p);
  for (uint32_t i : OrderBySeq(rels)) {
    v += (static_cast<uint64_t>(UnZigZag(highs[j++])) << k) | r.Get(k);
    values[i] = v;
  }
  for (uint64_t value : values) {
    PutVarint(out, value);
    if (out->size() > max_bytes) return false;
  }
  return true;
}

namespace {

// Bytes zstd's entropy stage about needs for `bytes`: their order-0 entropy.
double ByteEntropy(const std::array<uint32_t, 256>& counts, size_t total) {
  double bits = 0;
  for (uint32_t c : counts) {
    if (c != 0) bits -= c * std::log2(static_cast<double>(c) / static_cast<double>(total));
  }
  return bits / 8;
}

}  // namespace

int ChooseSplitBits(const std::vector<uint64_t>& values, double* estimate, double* plain_estimate) {
  // k = 0 (the values as they are) and the few k around log2 of the mean: far below it the
  // high parts spread over many values, far above it the low bits are mostly zeros.
  long double sum = 0;
  for (uint64_t v : values) sum += static_cast<long double>(v);
  // A mean that rounds up to 2^64 must not be converted (undefined): its width is 64.
  const long double mean = sum / static_cast<long double>(std::max<size_t>(1, values.size()));
  const int mean_width = mean >= 0x1p64L ? 64 : static_cast<int>(std::bit_width(static_cast<uint64_t>(mean)));
  int best_k = 0;
  double best = 0;
  for (int k : {0, mean_width - 5, mean_width - 4, mean_width - 3, mean_width - 2, mean_width - 1, mean_width}) {
    if (k < 0 || k > 63 || (k == 0 && best_k != 0)) continue;
    std::array<uint32_t, 256> counts{};
    size_t total = 0;
    for (uint64_t v : values) {
      for (uint64_t high = v >> k;; high >>= 7) {  // the varint's bytes
        ++total;
        if (high < 0x80) {
          ++counts[high];
          break;
        }
        ++counts[(high & 0x7f) | 0x80];
      }
    }
    const double bytes = ByteEntropy(counts, total) + static_cast<double>(values.size()) * k / 8;
    if (k == 0) *plain_estimate = bytes;
    if (k == 0 || bytes < best) {
      best = bytes;
      best_k = k;
    }
  }
  *estimate = best;
  return best_k;
}

std::string SplitEncode(const std::vector<uint64_t>& values, int k) {
  std::string out(1, static_cast<char>(k));
  PutVarint(&out, values.size());
  for (uint64_t v : values) PutVarint(&out, v >> k);
  BitWriter w(&out);
  for (uint64_t v : values) w.Put(v, static_cast<unsigned>(k));
  return out;
}

bool SplitDecode(std::string_view split, size_t max_bytes, std::string* out) {
  out->clear();
  if (split.empty() || static_cast<uint8_t>(split[0]) > 63) return false;
  const unsigned k = static_cast<uint8_t>(split[0]);
  const char* p = split.data() + 1;
  const char* end = split.data() + split.size();
  uint64_t n = 0;
  // Each high part takes a byte at least: a count past the bytes is malformed.
  if (!GetVarint(&p, end, &n) || n > static_cast<uint64_t>(end - p)) return false;
  std::vector<uint64_t> highs(n);
  for (uint64_t& h : highs) {
    if (!GetVarint(&p, end, &h)) return false;
  }
  const size_t bits = n * k;
  if (static_cast<size_t>(end - p) != (bits + 7) / 8) return false;
  if (bits % 8 != 0 && (static_cast<uint8_t>(end[-1]) & (0xFF >> (bits % 8))) != 0) return false;
  BitReader r(p);
  for (uint64_t h : highs) {
    PutVarint(out, (k == 0 ? h : h << k) | r.Get(k));
    if (out->size() > max_bytes) return false;
  }
  return true;
}

bool DeltaDecode(std::string_view deltas, size_t max_bytes, std::string* out) {
  out->clear();
  const char* p = deltas.data();
  const char* end = p + deltas.size();
  uint64_t v = 0;
  while (p != end) {
    uint64_t z = 0;
    if (!GetVarint(&p, end, &z)) return false;
    v += static_cast<uint64_t>(UnZigZag(z));
    PutVarint(out, v);
    if (out->size() > max_bytes) return false;
  }
  return true;
}

}  // namespace apitrail::part
