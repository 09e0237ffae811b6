#include "store/part/part_index.h"

#include <algorithm>
#include <cstdio>

#include "core/crc32c.h"
#include "store/log/coding.h"

namespace apitrail::part {

uint32_t KeyHash(Field field, std::string_view value) {
  const char tag = static_cast<char>(field);
  return crc32c::Extend(crc32c::Value(&tag, 1), value.data(), value.size());
}

std::string PartFileName(uint64_t first_seq) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "part-%020llu.part", static_cast<unsigned long long>(first_seq));
  return buf;
}

bool ParsePartFileName(std::string_view name, uint64_t* first_seq) {
  if (name.size() != kPartPrefix.size() + 20 + kPartSuffix.size()) return false;
  if (name.substr(0, kPartPrefix.size()) != kPartPrefix) return false;
  if (name.substr(name.size() - kPartSuffix.size()) != kPartSuffix) return false;
  uint64_t v = 0;
  for (char c : name.substr(kPartPrefix.size(), 20)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *first_seq = v;
  return true;
}

void PutVarint(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

bool GetVarint(const char** p, const char* end, uint64_t* v) {
  uint64_t out = 0;
  for (int shift = 0; shift < 70 && *p < end; shift += 7) {
    const auto b = static_cast<unsigned char>(*(*p)++);
    out |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = out;
      return true;
    }
  }
  return false;
}

void PartIndexBuilder::Post(Field f, std::string_view value, uint32_t block) {
  if (value.empty()) return;
  std::vector<uint32_t>& list = fields_[static_cast<size_t>(f) - 1][KeyHash(f, value)];
  if (list.empty() || list.back() != block) list.push_back(block);
}

void PartIndexBuilder::Add(uint32_t block, const AuditEvent& e) {
  Post(Field::kSubject, e.subject, block);
  Post(Field::kRoute, e.route, block);
  for (const auto& [name, value] : e.resources) Post(Field::kResource, name + "=" + value, block);
  if (e.status != 0) Post(Field::kStatus, std::to_string(e.status), block);
  Post(Field::kDecision, e.decision, block);
  Post(Field::kMethod, e.method, block);
  Post(Field::kClientIp, e.client_ip, block);
  Post(Field::kCorrelationId, e.correlation_id, block);
  Post(Field::kTraceId, e.trace_id, block);
  Post(Field::kId, e.id, block);
  Post(Field::kIntentId, e.intent_id, block);
}

std::string PartIndexBuilder::Serialize() const {
  std::string out;
  log::PutFixed32(&out, kFieldCount);
  for (uint8_t tag = 1; tag <= kFieldCount; ++tag) {
    const auto& map = fields_[tag - 1];
    std::vector<uint32_t> hashes;
    hashes.reserve(map.size());
    for (const auto& [h, list] : map) hashes.push_back(h);
    std::sort(hashes.begin(), hashes.end());
    std::string postings;
    std::string table;
    for (uint32_t h : hashes) {
      log::PutFixed32(&table, h);
      log::PutFixed32(&table, static_cast<uint32_t>(postings.size()));
      const auto& list = map.at(h);
      PutVarint(&postings, list.size());
      uint32_t prev = 0;
      for (size_t i = 0; i < list.size(); ++i) {
        PutVarint(&postings, i == 0 ? list[i] : list[i] - prev);
        prev = list[i];
      }
    }
    out.push_back(static_cast<char>(tag));
    log::PutFixed32(&out, static_cast<uint32_t>(hashes.size()));
    out += table;
    log::PutFixed32(&out, static_cast<uint32_t>(postings.size()));
    out += postings;
  }
  return out;
}

namespace {

// Decodes the posting list at `p`; false when it is malformed.
bool DecodePostings(const char* p, const char* end, uint32_t block_count, std::vector<uint32_t>* out) {
  uint64_t n = 0;
  if (!GetVarint(&p, end, &n) || n == 0 || n > block_count) return false;
  uint64_t block = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t d = 0;
    if (!GetVarint(&p, end, &d) || (i > 0 && d == 0)) return false;
    block = i == 0 ? d : block + d;
    if (block >= block_count) return false;
    if (out != nullptr) out->push_back(static_cast<uint32_t>(block));
  }
  return true;
}

}  // namespace

Result<PartIndex> PartIndex::Parse(std::string raw, uint32_t block_count, const std::string& path,
                                   uint64_t file_offset) {
  PartIndex idx;
  idx.raw_ = std::move(raw);
  auto bad = [&](const std::string& what) {
    return Status::Corruption(path + ": index section " + what + " at offset " +
                              std::to_string(file_offset));
  };
  const char* p = idx.raw_.data();
  const char* end = p + idx.raw_.size();
  if (end - p < 4) return bad("too short");
  const uint32_t fields = log::DecodeFixed32(p);
  p += 4;
  if (fields != kFieldCount) return bad("has " + std::to_string(fields) + " fields, expected 11");
  for (uint32_t i = 0; i < fields; ++i) {
    if (end - p < 5) return bad("truncated");
    const auto tag = static_cast<uint8_t>(*p++);
    if (tag != i + 1) return bad("field tag " + std::to_string(tag) + " out of order");
    Table& t = idx.tables_[tag];
    t.count = log::DecodeFixed32(p);
    p += 4;
    if (static_cast<uint64_t>(end - p) < static_cast<uint64_t>(t.count) * 8 + 4) return bad("table runs past its end");
    t.entries = static_cast<size_t>(p - idx.raw_.data());
    const char* entries = p;
    p += static_cast<size_t>(t.count) * 8;
    t.postings_size = log::DecodeFixed32(p);
    p += 4;
    if (static_cast<uint64_t>(end - p) < t.postings_size) return bad("postings run past their end");
    t.postings = static_cast<size_t>(p - idx.raw_.data());
    const char* postings = p;
    p += t.postings_size;
    uint32_t prev_hash = 0;
    for (uint32_t e = 0; e < t.count; ++e) {
      const uint32_t h = log::DecodeFixed32(entries + 8 * e);
      const uint32_t off = log::DecodeFixed32(entries + 8 * e + 4);
      if (e > 0 && h <= prev_hash) return bad("field " + std::to_string(tag) + " keys not ascending");
      prev_hash = h;
      if (off >= t.postings_size ||
          !DecodePostings(postings + off, postings + t.postings_size, block_count, nullptr)) {
        return bad("field " + std::to_string(tag) + " entry " + std::to_string(e) +
                   " has a bad posting list");
      }
    }
  }
  if (p != end) return bad("has trailing bytes");
  return idx;
}

std::vector<uint32_t> PartIndex::Blocks(Field field, std::string_view value) const {
  std::vector<uint32_t> out;
  const Table& t = tables_[static_cast<size_t>(field)];
  const char* entries = raw_.data() + t.entries;
  const char* postings = raw_.data() + t.postings;
  const uint32_t h = KeyHash(field, value);
  uint32_t lo = 0, hi = t.count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (log::DecodeFixed32(entries + 8 * mid) < h) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < t.count && log::DecodeFixed32(entries + 8 * lo) == h) {
    const uint32_t off = log::DecodeFixed32(entries + 8 * lo + 4);
    // Checked by Parse: decoding cannot fail here.
    DecodePostings(postings + off, postings + t.postings_size, UINT32_MAX, &out);
  }
  return out;
}

}  // namespace apitrail::part
