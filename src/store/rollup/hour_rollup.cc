#include "store/rollup/hour_rollup.h"

#include <zstd.h>

#include <algorithm>
#include <bitset>
#include <cstdio>
#include <unordered_set>

#include "core/assert.h"
#include "core/crc32c.h"
#include "store/log/coding.h"
#include "store/part/zstd_frame.h"

namespace apitrail {

namespace {

using log::DecodeFixed16;
using log::DecodeFixed32;
using log::DecodeFixed64;
using log::PutFixed16;
using log::PutFixed32;
using log::PutFixed64;

constexpr uint32_t kOtherIndex = 0xFFFFFFFFu;
constexpr size_t kHeaderBytes = 32;            // magic, version, reserved, hour, through_seq
constexpr uint32_t kMaxBodyBytes = 1u << 30;   // a version 2 body, decompressed
constexpr uint64_t kMaxBodyRatio = 128;         // … and at most this many times its frame
constexpr uint64_t kBodySlackBytes = 1u << 20;  // (plus this, for tiny files)
constexpr int kZstdLevel = 3;                  // 2.4 MB of a busy hour: ~12 ms, 5.8x smaller

uint32_t Sat32(uint64_t v) { return v > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(v); }

void PutCounts(std::string* out, const KeyCounts& c) {
  PutFixed32(out, Sat32(c.requests));
  PutFixed32(out, Sat32(c.client_errors));
  PutFixed32(out, Sat32(c.errors));
  PutFixed32(out, Sat32(c.denied));
}

// Bounds-checked reading; the first failure names the offset.
class Reader {
 public:
  // `base`: the offset of b[0] in the version 1 layout, which errors name.
  Reader(std::string_view b, const std::string& path, size_t base = 0) : b_(b), path_(path), base_(base) {}
  bool Need(size_t n) {
    if (!err_.empty()) return false;
    if (b_.size() - pos_ < n) {
      err_ = path_ + ": truncated at offset " + std::to_string(base_ + pos_);
      return false;
    }
    return true;
  }
  uint8_t U8() { return Need(1) ? static_cast<uint8_t>(b_[pos_++]) : 0; }
  uint16_t U16() { return Need(2) ? (pos_ += 2, DecodeFixed16(b_.data() + pos_ - 2)) : 0; }
  uint32_t U32() { return Need(4) ? (pos_ += 4, DecodeFixed32(b_.data() + pos_ - 4)) : 0; }
  uint64_t U64() { return Need(8) ? (pos_ += 8, DecodeFixed64(b_.data() + pos_ - 8)) : 0; }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    pos_ += n;
    return b_.substr(pos_ - n, n);
  }
  KeyCounts Counts() { return KeyCounts{U32(), U32(), U32(), U32()}; }
  void Fail(const std::string& why) {
    if (err_.empty()) err_ = path_ + ": " + why + " at offset " + std::to_string(base_ + pos_);
  }
  bool ok() const { return err_.empty(); }
  size_t pos() const { return pos_; }
  const std::string& error() const { return err_; }

 private:
  std::string_view b_;
  const std::string& path_;
  size_t base_;
  size_t pos_ = 0;
  std::string err_;
};

// days_from_civil / civil_from_days (H. Hinnant), proleptic Gregorian, UTC.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

}  // namespace

void HourRollup::Add(const RollupEvent& e, size_t max_keys) {
  const int minute = static_cast<int>(FloorDiv(e.time_ns, kNsPerMinute) - hour * 60);
  MinuteRollup& m = minutes[minute];
  m.totals.requests++;
  m.totals.status_class[StatusClass(e.status)]++;
  if (e.denied) m.totals.denied++;
  const KeyCounts c = CountsOf(e);
  for (int d = 0; d < kRollupDims; ++d) {
    KeyMap& map = m.keys[d];
    auto it = e.hashed ? map.find(PrehashedKey{e.keys[d], e.key_hashes[d]})
                       : map.find(std::string_view(e.keys[d]));
    if (it != map.end()) {
      it->second.Add(c);
    } else if (map.size() < max_keys) {
      map.emplace(e.keys[d], c);
    } else {
      m.other[d].Add(c);
    }
  }
}

std::string HourRollup::Encode() const {
  // One string table for the file: each distinct key once, whatever its dimension.
  std::unordered_map<std::string_view, uint32_t> index;
  std::vector<std::string_view> strings;
  for (const auto& [minute, m] : minutes) {
    for (const auto& map : m.keys) {
      for (const auto& [key, counts] : map) {
        if (index.emplace(key, static_cast<uint32_t>(strings.size())).second) strings.push_back(key);
      }
    }
  }
  std::string out;
  out.append(kMagic);
  PutFixed32(&out, kVersion);
  PutFixed32(&out, 0);
  PutFixed64(&out, static_cast<uint64_t>(hour));
  PutFixed64(&out, through_seq);
  PutFixed32(&out, static_cast<uint32_t>(strings.size()));
  for (std::string_view s : strings) {
    PutFixed16(&out, static_cast<uint16_t>(s.size()));
    out.append(s);
  }
  PutFixed32(&out, static_cast<uint32_t>(minutes.size()));
  for (const auto& [minute, m] : minutes) {
    out.push_back(static_cast<char>(minute));
    PutFixed32(&out, Sat32(m.totals.requests));
    for (uint64_t c : m.totals.status_class) PutFixed32(&out, Sat32(c));
    PutFixed32(&out, Sat32(m.totals.denied));
    for (int d = 0; d < kRollupDims; ++d) {
      PutFixed32(&out, static_cast<uint32_t>(m.keys[d].size()));
      PutCounts(&out, m.other[d]);
      for (const auto& [key, counts] : m.keys[d]) {
        PutFixed32(&out, index.at(key));
        PutCounts(&out, counts);
      }
    }
  }
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out.data(), out.size())));
  return out;
}

namespace {

// Walks a rollup file (docs/FORMAT.md §14), checking everything, and hands the sink each
// minute's totals and (dimension, key's string index, counts). The table lists each string
// once, so an index is a key. A version 2 file's body (its version 1 layout after the
// header, without the CRC) is compressed: *storage receives it decompressed, and must
// outlive what the sink keeps.
template <typename Sink>
Status WalkRollupFile(std::string_view bytes, const std::string& path, std::string* storage,
                      int64_t* hour, uint64_t* through_seq, Sink& sink) {
  constexpr std::string_view kMagic = HourRollup::kMagic;
  if (bytes.size() < kMagic.size() + 4 || bytes.substr(0, kMagic.size()) != kMagic) {
    return Status::Corruption(path + ": not a rollup file (bad magic) at offset 0");
  }
  const size_t end = bytes.size() - 4;
  const uint32_t want = crc32c::Unmask(DecodeFixed32(bytes.data() + end));
  if (crc32c::Value(bytes.data(), end) != want) {
    return Status::Corruption(path + ": checksum mismatch (file damaged) at offset " + std::to_string(end));
  }
  Reader head(bytes.substr(0, std::min(end, kHeaderBytes)), path);
  head.Bytes(kMagic.size());
  const uint32_t version = head.U32();
  if (head.ok() && version != HourRollup::kVersion && version != HourRollup::kCompressedVersion) {
    return Status::Corruption(path + ": unsupported rollup version " + std::to_string(version) + " at offset 8");
  }
  head.U32();
  *hour = static_cast<int64_t>(head.U64());
  *through_seq = head.U64();
  if (!head.ok()) return Status::Corruption(head.error());
  std::string_view layout = bytes.substr(kHeaderBytes, end - kHeaderBytes);
  if (version == HourRollup::kCompressedVersion) {
    if (layout.size() < 4) return Status::Corruption(path + ": truncated at offset " + std::to_string(end));
    const uint32_t raw = DecodeFixed32(layout.data());
    const std::string_view frame = layout.substr(4);
    // A few KB of zstd can state a gigabyte of empty strings: the body may not outgrow its
    // frame by more than any rollup the writer makes does (~6x; 128x allowed).
    if (raw > kMaxBodyBytes || raw > frame.size() * kMaxBodyRatio + kBodySlackBytes ||
        ZSTD_findFrameCompressedSize(frame.data(), frame.size()) != frame.size()) {
      return Status::Corruption(path + ": body size " + std::to_string(raw) +
                                " disagrees with its one zstd frame or the limit at offset " + std::to_string(kHeaderBytes));
    }
    auto decompressed = part::ZstdDecompress(frame, raw);
    if (!decompressed.ok()) {
      return Status::Corruption(path + ": body size " + std::to_string(raw) + " disagrees with its one zstd frame (" +
                                decompressed.status().message() + ") at offset " + std::to_string(kHeaderBytes));
    }
    *storage = std::move(decompressed).value();
    layout = *storage;
  }
  const size_t body = kHeaderBytes + layout.size();  // the version 1 layout's size, without its CRC
  Reader r(layout, path, kHeaderBytes);
  const uint32_t nstrings = r.U32();
  if (nstrings > body / 2) r.Fail("string count " + std::to_string(nstrings) + " too large");
  std::vector<std::string_view> strings;
  std::unordered_set<std::string_view> listed;
  strings.reserve(r.ok() ? nstrings : 0);
  for (uint32_t i = 0; i < nstrings && r.ok(); ++i) {
    strings.push_back(r.Bytes(r.U16()));
    if (r.ok() && !listed.insert(strings.back()).second) r.Fail("string " + std::to_string(i) + " listed twice");
  }
  sink.Strings(strings);
  std::vector<uint32_t> seen_in(strings.size(), UINT32_MAX);  // (minute, dimension) last seen
  std::bitset<60> minutes_seen;
  const uint32_t nminutes = r.U32();
  if (nminutes > 60) r.Fail("minute count " + std::to_string(nminutes) + " above 60");
  for (uint32_t i = 0; i < nminutes && r.ok(); ++i) {
    const int minute = r.U8();
    if (minute >= 60 || minutes_seen.test(static_cast<size_t>(minute))) {
      r.Fail("bad or repeated minute " + std::to_string(minute));
      break;
    }
    minutes_seen.set(static_cast<size_t>(minute));
    MinuteTotals totals;
    totals.requests = r.U32();
    for (auto& c : totals.status_class) c = r.U32();
    totals.denied = r.U32();
    sink.Minute(minute, totals);
    for (int d = 0; d < kRollupDims && r.ok(); ++d) {
      const uint32_t n = r.U32();
      sink.Other(d, r.Counts());
      if (n > body / 20) {
        r.Fail("key count " + std::to_string(n) + " too large");
        break;
      }
      sink.Reserve(d, n);
      const uint32_t stamp = static_cast<uint32_t>(minute * kRollupDims + d);
      for (uint32_t k = 0; k < n && r.ok(); ++k) {
        const uint32_t idx = r.U32();
        const KeyCounts c = r.Counts();
        if (idx == kOtherIndex || idx >= strings.size()) {
          r.Fail("string index " + std::to_string(idx) + " out of range");
          break;
        }
        uint32_t& seen = seen_in[idx];
        if (seen == stamp) {
          r.Fail("repeated key");
          break;
        }
        seen = stamp;
        sink.Key(d, idx, c);
      }
    }
  }
  if (r.ok() && r.pos() != layout.size()) r.Fail("trailing bytes before the checksum");
  if (!r.ok()) return Status::Corruption(r.error());
  return Status::Ok();
}

// Builds the whole HourRollup.
struct MinutesSink {
  HourRollup* h;
  const std::vector<std::string_view>* strings = nullptr;  // valid during the walk only
  MinuteRollup* m = nullptr;
  void Strings(const std::vector<std::string_view>& s) { strings = &s; }
  void Minute(int minute, const MinuteTotals& totals) {
    m = &h->minutes[minute];
    m->totals = totals;
  }
  void Other(int d, const KeyCounts& c) { m->other[d] = c; }
  void Reserve(int d, uint32_t n) { m->keys[d].reserve(n); }
  void Key(int d, uint32_t idx, const KeyCounts& c) { m->keys[d].emplace(std::string((*strings)[idx]), c); }
};

// Sums the hour's minutes per dimension by string index: no per-minute maps. Memory grows
// with the keys used (a slot index per string and dimension, then one entry per key).
struct SummarySink {
  HourSummary* out;
  std::vector<std::string_view> strings;  // into the file's bytes, which outlive the sink
  std::array<std::vector<uint32_t>, kRollupDims> slot;  // string index → entry in sums, or none
  std::array<std::vector<std::pair<uint32_t, KeyCounts>>, kRollupDims> sums;  // (index, sum)
  std::array<KeyCounts, kRollupDims> other{};
  void Strings(const std::vector<std::string_view>& s) {
    strings = s;
    for (auto& v : slot) v.assign(s.size(), UINT32_MAX);
  }
  void Minute(int minute, const MinuteTotals& totals) { out->totals[static_cast<size_t>(minute)] = totals; }
  void Other(int d, const KeyCounts& c) { other[d].Add(c); }
  void Reserve(int, uint32_t) {}
  void Key(int d, uint32_t idx, const KeyCounts& c) {
    uint32_t& at = slot[d][idx];
    if (at == UINT32_MAX) {
      at = static_cast<uint32_t>(sums[d].size());
      sums[d].emplace_back(idx, KeyCounts{});
    }
    sums[d][at].second.Add(c);
  }
};

}  // namespace

Result<HourRollup> HourRollup::Decode(std::string_view bytes, const std::string& path) {
  HourRollup h;
  MinutesSink sink{&h};
  std::string storage;
  APITRAIL_RETURN_IF_ERROR(WalkRollupFile(bytes, path, &storage, &h.hour, &h.through_seq, sink));
  return h;
}

Result<HourSummary> HourRollup::DecodeSummary(std::string_view bytes, const std::string& path,
                                              size_t max_keys) {
  HourSummary s;
  SummarySink sink{&s};
  std::string storage;
  APITRAIL_RETURN_IF_ERROR(WalkRollupFile(bytes, path, &storage, &s.hour, &s.through_seq, sink));
  std::array<KeyMap, kRollupDims> maps;
  for (int d = 0; d < kRollupDims; ++d) {
    maps[d].reserve(sink.sums[d].size());
    for (const auto& [idx, sum] : sink.sums[d]) maps[d].emplace(sink.strings[idx], sum);
  }
  s.summary = CapSummary(std::move(maps), sink.other, max_keys);
  return s;
}

std::string HourRollup::Compress(std::string_view v1) {
  APITRAIL_ASSERT(v1.size() >= kHeaderBytes + 4, "a version 1 rollup file");
  const std::string_view layout = v1.substr(kHeaderBytes, v1.size() - kHeaderBytes - 4);
  std::string out(v1.substr(0, 8));
  PutFixed32(&out, kCompressedVersion);
  out.append(v1.substr(12, kHeaderBytes - 12));
  PutFixed32(&out, static_cast<uint32_t>(layout.size()));
  Result<std::string> frame = part::ZstdCompress(layout, kZstdLevel);
  APITRAIL_ASSERT(frame.ok(), "zstd compresses into its own bound");
  out += *frame;
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out.data(), out.size())));
  return out;
}

std::array<MinuteTotals, 60> HourRollup::Totals() const {
  std::array<MinuteTotals, 60> out{};
  for (const auto& [minute, m] : minutes) out[minute] = m.totals;
  return out;
}

void MergeSummary(const RollupSummary& from, std::array<KeyMap, kRollupDims>* into,
                  std::array<KeyCounts, kRollupDims>* other) {
  for (int d = 0; d < kRollupDims; ++d) {
    KeyMap& map = (*into)[d];
    for (const auto& [key, counts] : from.keys[d]) {
      auto it = map.find(std::string_view(key));
      if (it == map.end()) it = map.emplace(key, KeyCounts{}).first;
      it->second.Add(counts);
    }
    (*other)[d].Add(from.other[d]);
  }
}

std::shared_ptr<const RollupSummary> CapSummary(std::array<KeyMap, kRollupDims>&& maps,
                                                const std::array<KeyCounts, kRollupDims>& other,
                                                size_t max_keys) {
  auto s = std::make_shared<RollupSummary>();
  s->other = other;
  for (int d = 0; d < kRollupDims; ++d) {
    auto& v = s->keys[d];
    v.reserve(maps[d].size());
    for (auto& kv : maps[d]) v.emplace_back(kv.first, kv.second);
    if (v.size() > max_keys) {
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(max_keys), v.end(),
                       [](const auto& a, const auto& b) {
                         return a.second.requests != b.second.requests ? a.second.requests > b.second.requests
                                                                       : a.first < b.first;
                       });
      for (size_t i = max_keys; i < v.size(); ++i) s->other[d].Add(v[i].second);
      v.resize(max_keys);
    }
  }
  return s;
}

std::shared_ptr<const RollupSummary> HourRollup::Summarize(size_t max_keys) const {
  std::array<KeyMap, kRollupDims> maps;
  std::array<KeyCounts, kRollupDims> other{};
  for (const auto& [minute, m] : minutes) {
    for (int d = 0; d < kRollupDims; ++d) {
      for (const auto& [key, counts] : m.keys[d]) {
        auto it = maps[d].find(std::string_view(key));
        if (it == maps[d].end()) it = maps[d].emplace(key, KeyCounts{}).first;
        it->second.Add(counts);
      }
      other[d].Add(m.other[d]);
    }
  }
  return CapSummary(std::move(maps), other, max_keys);
}

std::string RollupFileName(int64_t hour) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(FloorDiv(hour, 24), &y, &m, &d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld.rollup", static_cast<long long>(y), m, d,
                static_cast<long long>(hour - FloorDiv(hour, 24) * 24));
  return buf;
}

bool ParseRollupFileName(std::string_view name, int64_t* hour) {
  // YYYY-MM-DDTHH.rollup
  if (name.size() != 20 || name.substr(13) != ".rollup" || name[4] != '-' || name[7] != '-' ||
      name[10] != 'T') {
    return false;
  }
  auto num = [&](size_t at, size_t n, int64_t* v) {
    *v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (name[i] < '0' || name[i] > '9') return false;
      *v = *v * 10 + (name[i] - '0');
    }
    return true;
  };
  int64_t y, m, d, h;
  if (!num(0, 4, &y) || !num(5, 2, &m) || !num(8, 2, &d) || !num(11, 2, &h)) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31 || h > 23) return false;
  *hour = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 24 + h;
  return RollupFileName(*hour) == name;  // rejects 2026-02-30 and friends
}

}  // namespace apitrail
