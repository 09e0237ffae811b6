#include "store/part/part_index.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "core/crc32c.h"
#include "core/thread_util.h"
#include "store/log/coding.h"
#include "store/part/packed_table.h"
#include "store/part/stream_transform.h"
#include "store/part/zstd_frame.h"

namespace apitrail::part {

namespace {

// The seq-keyed form of a table (FORMAT.md §16.3, version 4): by ascending (h, l, rel),
// varint Δh, varint (Δh = 0 ? l − the previous l : l), varint zigzag(rel − the previous rel).
std::string EncodeSeqKeyed(std::vector<SeqKey>* keys) {
  SortYielding(keys->begin(), keys->end(),
               [](const SeqKey& a, const SeqKey& b) { return std::tie(a.h, a.l, a.rel) < std::tie(b.h, b.l, b.rel); });
  std::string out;
  SeqKey prev;
  for (const SeqKey& k : *keys) {
    PutVarint(&out, static_cast<uint64_t>(k.h - prev.h));
    PutVarint(&out, k.h == prev.h ? k.l - prev.l : k.l);
    const int64_t d = static_cast<int64_t>(k.rel) - static_cast<int64_t>(prev.rel);
    PutVarint(&out, (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63));
    prev = k;
  }
  return out;
}

// Decodes the entry at *p after `prev` into *key; false when malformed (h past 16 bits, not
// ascending, rel ≥ record_count).
bool DecodeSeqKey(const char** p, const char* end, const SeqKey& prev, bool first, uint64_t record_count,
                  SeqKey* key) {
  uint64_t dh = 0, l = 0, z = 0;
  if (!GetVarint(p, end, &dh) || !GetVarint(p, end, &l) || !GetVarint(p, end, &z)) return false;
  if (dh > 0xffffu - prev.h) return false;
  key->h = static_cast<uint16_t>(prev.h + dh);
  key->l = dh == 0 ? prev.l + l : l;
  if (dh == 0 && key->l < prev.l) return false;  // wrapped past 2^64
  // In unsigned arithmetic: a crafted delta must not overflow a signed sum.
  const uint64_t step = z >> 1;
  uint64_t rel = 0;
  if ((z & 1) == 0) {
    if (step >= record_count || prev.rel + step >= record_count) return false;
    rel = prev.rel + step;
  } else {
    if (step + 1 > prev.rel) return false;  // below 0
    rel = prev.rel - (step + 1);
  }
  key->rel = static_cast<uint32_t>(rel);
  return first || std::tie(prev.h, prev.l, prev.rel) < std::tie(key->h, key->l, key->rel);
}

// Whether table form `a` takes less room in the part than `b`. The section is zstd-compressed:
// version 5's bit-packed tables barely compress and the seq-keyed varints compress well,
// so their raw sizes say little. Before version 5 the raw sizes decided (kept, so that
// verification rebuilds those indexes byte for byte).
bool SmallerStored(const std::string& a, const std::string& b, uint32_t version) {
  if (version < kVersion5) return a.size() < b.size();
  auto za = ZstdCompress(a, 3);
  auto zb = ZstdCompress(b, 3);
  if (!za.ok() || !zb.ok()) return a.size() < b.size();
  return za->size() < zb->size();
}

}  // namespace

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
    // Twenty digits reach past UINT64_MAX: such a name is no part's.
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, static_cast<uint64_t>(c - '0'), &v)) return false;
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
  pending_[static_cast<size_t>(f) - 1].push_back(static_cast<uint64_t>(KeyHash(f, value)) << 32 | block);
}

void PartIndexBuilder::FlushBlock() {
  for (size_t f = 0; f < kFieldCount; ++f) {
    auto& p = pending_[f];
    std::sort(p.begin(), p.end());  // one block's keys: short
    p.erase(std::unique(p.begin(), p.end()), p.end());
    all_[f].insert(all_[f].end(), p.begin(), p.end());
    p.clear();
  }
}

bool ParseSeqKey(std::string_view uuid, SeqKey* key) {
  // A stored value (length byte 0x24, then the text) is what the stream transforms parse.
  std::string value(1, '\x24');
  value += uuid;
  if (!IsCanonicalUuid(value)) return false;
  const std::string tail = PackUuidTails(value);  // bytes 6…15
  key->h = static_cast<uint16_t>(static_cast<uint8_t>(tail[0]) << 8 | static_cast<uint8_t>(tail[1]));
  key->l = 0;
  for (size_t i = 2; i < tail.size(); ++i) key->l = key->l << 8 | static_cast<uint8_t>(tail[i]);
  key->rel = 0;
  return true;
}

void PartIndexBuilder::Add(uint32_t block, const AuditEvent& e, uint32_t rel) {
  block_count_ = std::max(block_count_, block + 1);
  if (ids_seq_keyable_ && !e.id.empty()) {
    SeqKey key;
    ids_seq_keyable_ = rel != kNoRel && ParseSeqKey(e.id, &key);
    key.rel = rel;
    if (ids_seq_keyable_) ids_.push_back(key);
  }
  if (block != block_) {
    FlushBlock();
    block_ = block;
  }
  Post(Field::kSubject, e.subject, block);
  Post(Field::kRoute, e.route, block);
  for (const auto& [name, value] : e.resources) Post(Field::kResource, name + "=" + value, block);
  if (e.status != 0) Post(Field::kStatus, std::to_string(e.status), block);
  if (e.status >= 100 && e.status <= 599) Post(Field::kStatusClass, std::to_string(e.status / 100), block);
  Post(Field::kDecision, e.decision, block);
  Post(Field::kMethod, e.method, block);
  Post(Field::kClientIp, e.client_ip, block);
  Post(Field::kCorrelationId, e.correlation_id, block);
  Post(Field::kTraceId, e.trace_id, block);
  Post(Field::kId, e.id, block);
  Post(Field::kIntentId, e.intent_id, block);
}

std::string PartIndexBuilder::Serialize(uint32_t version) {
  FlushBlock();
  std::string out;
  log::PutFixed32(&out, kFieldCount);
  for (uint8_t tag = 1; tag <= kFieldCount; ++tag) {
    std::vector<uint64_t>& pairs = all_[tag - 1];
    // By hash, then block; each (hash, block) once (deduplicated per block).
    SortYielding(pairs.begin(), pairs.end());
    uint32_t bits = 32;
    if (version >= kVersion2) {
      // Version 2 keeps a fingerprint of `bits` bits of each hash: near-unique keys (ids)
      // then cost about one byte of hash instead of three.
      uint64_t distinct = 0;
      for (size_t i = 0; i < pairs.size(); ++i) distinct += i == 0 || (pairs[i] >> 32) != (pairs[i - 1] >> 32);
      bits = FingerprintBits(distinct);
      for (uint64_t& pr : pairs) {
        pr = static_cast<uint64_t>(Fingerprint(static_cast<uint32_t>(pr >> 32), bits)) << 32 | (pr & 0xffffffffu);
      }
      SortYielding(pairs.begin(), pairs.end());
      pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    }
    std::string entries;
    uint32_t count = 0;
    uint32_t prev_hash = 0;
    if (version >= kVersion5) entries = EncodePackedTable(pairs, bits, block_count_, &count);
    for (size_t i = 0; version < kVersion5 && i < pairs.size();) {
      const uint32_t h = static_cast<uint32_t>(pairs[i] >> 32);
      size_t j = i;
      while (j < pairs.size() && static_cast<uint32_t>(pairs[j] >> 32) == h) ++j;
      PutVarint(&entries, h - prev_hash);
      prev_hash = h;
      PutVarint(&entries, j - i);
      uint32_t prev = 0;
      for (size_t k = i; k < j; ++k) {
        const auto block = static_cast<uint32_t>(pairs[k]);
        PutVarint(&entries, k == i ? block : block - prev);
        prev = block;
      }
      ++count;
      i = j;
    }
    pairs.clear();
    pairs.shrink_to_fit();
    if (tag == static_cast<uint8_t>(Field::kId) && version >= kVersion4 && ids_seq_keyable_ && !ids_.empty()) {
      // Event ids as the store mints them: keyed by seq when that is smaller (it is for
      // ids of a per-process counter, not for random ones).
      std::string seq_keyed = EncodeSeqKeyed(&ids_);
      if (SmallerStored(seq_keyed, entries, version)) {
        entries = std::move(seq_keyed);
        count = static_cast<uint32_t>(ids_.size());
        bits = 0;
      }
    }
    out.push_back(static_cast<char>(tag));
    if (version >= kVersion2) out.push_back(static_cast<char>(bits));
    log::PutFixed32(&out, count);
    log::PutFixed32(&out, static_cast<uint32_t>(entries.size()));
    out += entries;
  }
  return out;
}

namespace {

// Decodes (or, with out == null, skips) the posting list at *p; false when malformed.
bool DecodePostings(const char** p, const char* end, uint32_t block_count, std::vector<uint32_t>* out) {
  uint64_t n = 0;
  if (!GetVarint(p, end, &n) || n == 0 || n > block_count) return false;
  uint64_t block = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t d = 0;
    if (!GetVarint(p, end, &d) || (i > 0 && d == 0)) return false;
    block = i == 0 ? d : block + d;
    if (block >= block_count) return false;
    if (out != nullptr) out->push_back(static_cast<uint32_t>(block));
  }
  return true;
}

}  // namespace

Result<PartIndex> PartIndex::Parse(std::string raw, uint32_t block_count, const std::string& path,
                                   uint64_t file_offset, uint32_t version, uint64_t record_count) {
  PartIndex idx;
  idx.version_ = version;
  idx.raw_ = std::move(raw);
  idx.block_count_ = block_count;
  auto bad = [&](const std::string& what) {
    return Status::Corruption(path + ": index section " + what + " at offset " +
                              std::to_string(file_offset));
  };
  const char* base = idx.raw_.data();
  const char* p = base;
  const char* end = p + idx.raw_.size();
  if (end - p < 4) return bad("too short");
  const uint32_t fields = log::DecodeFixed32(p);
  p += 4;
  if (fields != kFieldCount) return bad("has " + std::to_string(fields) + " fields, expected " + std::to_string(kFieldCount));
  for (uint32_t i = 0; i < fields; ++i) {
    const ptrdiff_t head = version >= kVersion2 ? 10 : 9;
    if (end - p < head) return bad("truncated");
    const auto tag = static_cast<uint8_t>(*p++);
    if (tag != i + 1) return bad("field tag " + std::to_string(tag) + " out of order");
    Table& t = idx.tables_[tag];
    if (version >= kVersion2) {
      t.bits = static_cast<uint8_t>(*p++);
      // 0: seq-keyed (version 4, the event ids only).
      t.seq_keyed = t.bits == 0 && version >= kVersion4 && tag == static_cast<uint8_t>(Field::kId);
      if (!t.seq_keyed && (t.bits < 1 || t.bits > 32)) {
        return bad("field " + std::to_string(tag) + " has " + std::to_string(t.bits) + " hash bits");
      }
    }
    const uint32_t count = log::DecodeFixed32(p);
    const uint32_t size = log::DecodeFixed32(p + 4);
    p += 8;
    if (static_cast<uint64_t>(end - p) < size) return bad("field " + std::to_string(tag) + " runs past the end");
    const char* fend = p + size;
    t.begin = static_cast<size_t>(p - base);
    t.end = static_cast<size_t>(fend - base);
    t.count = count;
    if (t.seq_keyed) {
      // At least 3 bytes an entry, and at most one entry per record.
      if (count > size / 3 || count > record_count) {
        return bad("field " + std::to_string(tag) + " claims " + std::to_string(count) + " entries in " +
                   std::to_string(size) + " bytes");
      }
      t.seq_restarts.reserve(count / kSeqRestartInterval + 1);
      SeqKey prev;
      for (uint32_t e = 0; e < count; ++e) {
        SeqKey key;
        if (!DecodeSeqKey(&p, fend, prev, e == 0, record_count, &key)) {
          return bad("field " + std::to_string(tag) + " entry " + std::to_string(e) + " is not a seq key after the last");
        }
        if (e % kSeqRestartInterval == 0) t.seq_restarts.push_back({key, static_cast<uint32_t>(p - base)});
        prev = key;
      }
      if (p != fend) return bad("field " + std::to_string(tag) + " has bytes after its entries");
      continue;
    }
    if (version >= kVersion5) {
      if (std::string why = idx.ParsePackedTable(&t); !why.empty()) return bad("field " + std::to_string(tag) + " " + why);
      p = fend;
      continue;
    }
    // An entry takes at least 3 bytes (hash delta, count, one block): a damaged count must
    // not size anything below.
    if (count > size / 3) {
      return bad("field " + std::to_string(tag) + " claims " + std::to_string(count) +
                 " entries in " + std::to_string(size) + " bytes");
    }
    if (count >= kFilterMinKeys) t.filter = FingerprintFilter(count);
    t.restart_hashes.reserve(count / kRestartInterval + 1);
    t.restart_offsets.reserve(count / kRestartInterval + 1);
    uint64_t hash = 0;
    for (uint32_t e = 0; e < count; ++e) {
      const size_t at = static_cast<size_t>(p - base);
      uint64_t delta = 0;
      if (!GetVarint(&p, fend, &delta) || (e > 0 && delta == 0) || delta > ((uint64_t{1} << t.bits) - 1) - hash) {
        return bad("field " + std::to_string(tag) + " entry " + std::to_string(e) + " has a bad key hash");
      }
      if (e % kRestartInterval == 0) {
        t.restart_hashes.push_back(static_cast<uint32_t>(hash + delta));
        t.restart_offsets.push_back(static_cast<uint32_t>(at));
      }
      hash += delta;
      t.filter.Add(static_cast<uint32_t>(hash));
      if (!DecodePostings(&p, fend, block_count, nullptr)) {
        return bad("field " + std::to_string(tag) + " entry " + std::to_string(e) + " has a bad posting list");
      }
    }
    if (p != fend) return bad("field " + std::to_string(tag) + " has bytes after its entries");
  }
  if (p != end) return bad("has trailing bytes");
  return idx;
}

std::string PartIndex::ParsePackedTable(Table* t) const {
  const size_t size = t->end - t->begin;
  if (size == 0) return "has no Rice parameter";
  const int k = static_cast<uint8_t>(raw_[t->begin]);
  if (k > 31) return "has Rice parameter " + std::to_string(k);
  const uint64_t stream_bits = (static_cast<uint64_t>(size) - 1) * 8;
  if (stream_bits > UINT32_MAX) return "is too large";  // restart offsets are 32-bit
  // An entry takes at least 2 bits (a fingerprint difference and a list length): a damaged
  // count must not size anything below.
  if (t->count > stream_bits / 2) {
    return "claims " + std::to_string(t->count) + " entries in " + std::to_string(size) + " bytes";
  }
  if (t->count >= kFilterMinKeys) t->filter = FingerprintFilter(t->count);
  t->restart_hashes.reserve(t->count / kRestartInterval + 1);
  t->restart_offsets.reserve(t->count / kRestartInterval + 1);
  const uint64_t base = (static_cast<uint64_t>(t->begin) + 1) * 8;
  BitReader r(raw_, base, static_cast<uint64_t>(t->end) * 8);
  const uint64_t max = (uint64_t{1} << t->bits) - 1;
  uint64_t hash = 0;
  for (uint32_t e = 0; e < t->count; ++e) {
    const auto at = static_cast<uint32_t>(r.pos() - base);
    uint64_t v = 0;
    const bool ok = e == 0 ? r.Get(t->bits, &v) : DecodePackedDelta(&r, k, t->bits, &v) && v != 0 && v <= max - hash;
    if (!ok) return "entry " + std::to_string(e) + " has a bad key hash";
    hash = e == 0 ? v : hash + v;
    if (e % kRestartInterval == 0) {
      t->restart_hashes.push_back(static_cast<uint32_t>(hash));
      t->restart_offsets.push_back(at);
    }
    t->filter.Add(static_cast<uint32_t>(hash));
    if (!DecodePackedPostings(&r, block_count_, nullptr)) return "entry " + std::to_string(e) + " has a bad posting list";
  }
  // Only the last byte's zero padding may follow.
  const uint64_t rest = r.end() - r.pos();
  uint64_t pad = 0;
  if (rest >= 8 || !r.Get(static_cast<int>(rest), &pad) || pad != 0) return "has bits after its entries";
  return "";
}

void PartIndex::PackedLookup(const Table& t, size_t r, uint32_t h, std::vector<uint32_t>* out) const {
  const int k = static_cast<uint8_t>(raw_[t.begin]);
  BitReader in(raw_, (static_cast<uint64_t>(t.begin) + 1) * 8 + t.restart_offsets[r], static_cast<uint64_t>(t.end) * 8);
  uint64_t hash = t.restart_hashes[r];
  const uint64_t entries = std::min<uint64_t>(kRestartInterval, t.count - r * kRestartInterval);
  // Parse checked every entry: decoding cannot fail here.
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t v = 0;
    if (i == 0 && r == 0) {
      in.Get(t.bits, &v);
    } else {
      DecodePackedDelta(&in, k, t.bits, &v);
      if (i > 0) hash += v;  // the restart's own hash is known
    }
    if (hash > h) return;
    if (hash == h) {
      DecodePackedPostings(&in, block_count_, out);
      return;
    }
    DecodePackedPostings(&in, block_count_, nullptr);
  }
}

uint32_t PartIndex::Stored(const Table& t, uint32_t key_hash) const {
  return version_ >= kVersion2 ? Fingerprint(key_hash, t.bits) : key_hash;
}

bool PartIndex::MayHave(Field field, uint32_t key_hash) const {
  const Table& t = tables_[static_cast<size_t>(field)];
  if (t.seq_keyed) return true;  // keyed by value, not by hash: Rels knows
  return t.filter.MayContain(Stored(t, key_hash));
}

std::vector<uint32_t> PartIndex::Blocks(Field field, uint32_t key_hash) const {
  std::vector<uint32_t> out;
  const Table& t = tables_[static_cast<size_t>(field)];
  if (t.seq_keyed) return out;  // Rels answers
  const uint32_t h = Stored(t, key_hash);
  if (!t.filter.MayContain(h)) return out;
  // The last restart whose hash is <= h, then at most kRestartInterval entries.
  const auto next = std::upper_bound(t.restart_hashes.begin(), t.restart_hashes.end(), h);
  if (next == t.restart_hashes.begin()) return out;
  if (version_ >= kVersion5) {
    PackedLookup(t, static_cast<size_t>(next - t.restart_hashes.begin()) - 1, h, &out);
    return out;
  }
  const char* p =
      raw_.data() + t.restart_offsets[static_cast<size_t>(next - t.restart_hashes.begin()) - 1];
  const char* end = raw_.data() + t.end;
  uint64_t hash = *(next - 1);
  // Parse checked every entry: decoding cannot fail here.
  for (uint32_t i = 0; i < kRestartInterval && p < end; ++i) {
    uint64_t delta = 0;
    GetVarint(&p, end, &delta);
    if (i > 0) hash += delta;  // the restart's own hash is known
    if (hash > h) break;
    if (hash == h) {
      DecodePostings(&p, end, block_count_, &out);
      break;
    }
    DecodePostings(&p, end, block_count_, nullptr);
  }
  return out;
}

std::vector<uint32_t> PartIndex::Rels(Field field, std::string_view value) const {
  std::vector<uint32_t> out;
  const Table& t = tables_[static_cast<size_t>(field)];
  SeqKey want;
  if (!t.seq_keyed || t.seq_restarts.empty() || !ParseSeqKey(value, &want)) return out;
  auto tail = [](const SeqKey& k) { return std::tie(k.h, k.l); };
  // The restart before the first whose tail is ≥ the wanted one: an earlier entry may share it.
  auto it = std::lower_bound(t.seq_restarts.begin(), t.seq_restarts.end(), want,
                             [&](const Table::SeqRestart& r, const SeqKey& k) { return tail(r.key) < tail(k); });
  if (it != t.seq_restarts.begin()) --it;
  SeqKey key = it->key;
  const char* p = raw_.data() + it->next;
  const char* end = raw_.data() + t.end;
  // Parse checked every entry: decoding cannot fail here.
  while (tail(key) <= tail(want)) {
    if (tail(key) == tail(want)) out.push_back(key.rel);
    if (p >= end) break;
    SeqKey next;
    DecodeSeqKey(&p, end, key, false, UINT64_MAX, &next);
    key = next;
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace apitrail::part

namespace apitrail::part {

size_t PartIndex::memory_bytes() const {
  size_t n = raw_.size();
  for (const Table& t : tables_) {
    n += t.restart_hashes.size() * 2 * sizeof(uint32_t) + t.filter.memory_bytes() +
         t.seq_restarts.size() * sizeof(Table::SeqRestart);
  }
  return n;
}

}  // namespace apitrail::part
