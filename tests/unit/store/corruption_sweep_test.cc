// Corruption sweeps over the store's on-disk decoders: record bytes, sealed parts, hour
// rollups, signed checkpoints and the side logs (tree_heads.log, checkpoints.log). Every byte
// (or, for a part, every metadata byte and an even sample of the rest) is flipped with a few
// masks, and every length cut off. A decoder must return, within bounded time and memory,
// with an error where a checksum covers the bytes, and with a result consistent with itself
// (and with the other decoders of the same bytes) where nothing does. Where a CRC would
// hide the decoder behind it, the sweep fixes the CRC up, so the decoder itself is reached.
// Deterministic (fixed positions and seeds) and sized to run in the ASan build.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/crc32c.h"
#include "core/event.h"
#include "core/record_codec.h"
#include "core/time_util.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/merkle/merkle_hash.h"
#include "store/node_key.h"
#include "store/part/block_codec.h"
#include "store/part/part_builder.h"
#include "store/part/part_format.h"
#include "store/part/part_index.h"
#include "store/part/part_reader.h"
#include "store/part/part_values.h"
#include "store/rollup/hour_rollup.h"
#include "store/tree_head_log.h"
#include "testutil/event_builder.h"
#include "testutil/forwarding_file_system.h"
#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

// 0x01 and 0x80 are the low and high bit (a varint's continuation bit, a length's top bit),
// 0xFF every bit at once.
constexpr uint8_t kMasks[] = {0x01, 0x80, 0xFF};

std::string Flipped(std::string s, size_t at, uint8_t mask) {
  s[at] = static_cast<char>(static_cast<uint8_t>(s[at]) ^ mask);
  return s;
}

// `s` with a run of 2 to 10 random bytes written over it at a random place; in odd rounds
// all with their top bit set, so that varints run long and lengths come out huge.
std::string Overwritten(std::string s, std::mt19937& rng, int round) {
  const size_t len = 2 + rng() % 9;
  const size_t at = rng() % s.size();
  for (size_t i = at; i < std::min(s.size(), at + len); ++i) {
    s[i] = static_cast<char>(round % 2 == 0 ? rng() : (rng() | 0x80));
  }
  return s;
}

std::string Where(size_t at, uint8_t mask) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "byte %zu ^ 0x%02x", at, static_cast<unsigned>(mask));
  return buf;
}

uint32_t MaskedCrc(std::string_view s) { return crc32c::Mask(crc32c::Value(s.data(), s.size())); }

void PutFixed32At(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}

// Positions to flip in [begin, end): all of them when there are at most `n`, else `n` evenly
// spaced ones.
std::vector<size_t> Positions(size_t begin, size_t end, size_t n) {
  std::vector<size_t> out;
  if (end <= begin) return out;
  const size_t len = end - begin;
  if (len <= n) {
    for (size_t i = begin; i < end; ++i) out.push_back(i);
    return out;
  }
  for (size_t i = 0; i < n; ++i) out.push_back(begin + i * len / n);
  return out;
}

// Serves files from memory (and the rest from disk): a sweep reads thousands of damaged
// copies of one file without writing them.
class MemFileSystem : public testing::ForwardingFileSystem {
 public:
  MemFileSystem() : ForwardingFileSystem(DefaultFileSystem()) {}
  void Put(const std::string& path, std::string bytes) {
    files_[path] = std::make_shared<const std::string>(std::move(bytes));
  }
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& path) override {
    auto it = files_.find(path);
    if (it == files_.end()) return base()->OpenForRead(path);
    return std::unique_ptr<RandomAccessFile>(new File(it->second));
  }
  bool Exists(const std::string& path) override {
    return files_.count(path) > 0 || base()->Exists(path);
  }

 private:
  class File : public RandomAccessFile {
   public:
    explicit File(std::shared_ptr<const std::string> b) : b_(std::move(b)) {}
    Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      if (offset >= b_->size()) return size_t{0};
      const size_t got = std::min<size_t>(n, b_->size() - static_cast<size_t>(offset));
      std::copy_n(b_->data() + offset, got, scratch);
      return got;
    }
    Result<uint64_t> Size() const override { return static_cast<uint64_t>(b_->size()); }

   private:
    std::shared_ptr<const std::string> b_;
  };
  std::map<std::string, std::shared_ptr<const std::string>> files_;
};

// Record bytes (core/record_codec.h). No checksum of their own (the frame's CRC covers them),
// so a flipped byte may still parse: then the three decoders must agree, and the event must
// survive being encoded and decoded again unchanged.

// Every field set, several non-ASCII strings, a string over 127 bytes (a two-byte length),
// repeated fields with empty entries.
AuditEvent RichEvent() {
  AuditEvent e = testing::MakeEvent(42, 5);
  e.kind = "http";
  e.deny_reason = "scope_missing";
  e.credential_id = "key-ü-7";
  e.issuer = "https://issuer.example/";
  e.scopes = {"orders:read", "", "zählen"};
  e.tenant = "tenant-ñ";
  e.host = "api.example.com";
  e.resources = {{"order_id", "42"}, {"line", "日本"}};
  e.query = {{"q", "straße"}, {"empty", ""}, {"", "no-name"}};
  e.body_fields = {{"amount", "12.50"}};
  e.bytes_in = 1234;
  e.bytes_out = uint64_t{1} << 40;
  e.user_agent = std::string(150, 'a') + "→";
  e.invalid_request_id = "bad id";
  e.span_id = "00f067aa0ba902b7";
  e.parent_span_id = "b7ad6b7169203331";
  e.tracestate = "vendor=opaque";
  e.upstream = "http://127.0.0.1:9000";
  e.sensitive = true;
  e.service = "orders";
  e.message = "emoji 🚀 and \t tab";
  e.phase = "outcome";
  e.intent_id = "0190a6e0-0000-7000-8000-100000000041";
  return e;
}

// An event with only what a record requires: id and time (time 0 is still written).
AuditEvent MinimalEvent() {
  AuditEvent e;
  e.id = "0190a6e0-0000-7000-8000-000000000001";
  e.kind.clear();
  return e;
}

std::vector<std::string> SampleRecords() {
  return {EncodeRecord(testing::MakeEvent(0)), EncodeRecord(testing::MakeEvent(9, 7)),
          EncodeRecord(RichEvent()), EncodeRecord(MinimalEvent())};
}

std::string Json(const AuditEvent& e) {
  std::string s;
  AppendEventJson(e, &s);
  return s;
}

// Decodes `bytes` the three ways the store does and checks they agree; returns whether the
// bytes parsed.
bool CheckRecordDecoders(std::string_view bytes, const std::string& what) {
  Result<AuditEvent> full = DecodeRecord(bytes);
  AuditEvent into;
  const Status into_st = DecodeRecordInto(bytes, &into);
  RecordHead head;
  head.resources = {{"left", "over"}};  // a reused head: must not keep an earlier record's
  std::string scratch;
  const Status head_st = DecodeRecordHead(bytes, &head, &scratch);
  EXPECT_EQ(full.ok(), into_st.ok()) << what;
  EXPECT_EQ(full.ok(), head_st.ok()) << what;
  if (!full.ok()) {
    EXPECT_EQ(full.status().code(), StatusCode::kCorruption)
        << what << ": " << full.status().ToString();
    EXPECT_EQ(full.status().message(), into_st.message()) << what;
    EXPECT_EQ(full.status().message(), head_st.message()) << what;
    return false;
  }
  if (!into_st.ok() || !head_st.ok()) return true;  // reported above
  const AuditEvent& e = *full;
  EXPECT_EQ(Json(into), Json(e)) << what;
  EXPECT_EQ(head.time_ns, e.time_ns) << what;
  EXPECT_EQ(head.subject, e.subject) << what;
  if (!bytes.empty() && bytes.front() == '{') {
    // The JSON form: its decoded event must print and parse back to itself.
    auto again = DecodeEventJson(Json(e));
    EXPECT_TRUE(again.ok()) << what << ": " << again.status().ToString();
    if (again.ok()) {
      EXPECT_EQ(Json(*again), Json(e)) << what;
    }
    return true;
  }
  EXPECT_EQ(head.id, e.id) << what;
  EXPECT_EQ(head.correlation_id, e.correlation_id) << what;
  EXPECT_EQ(head.trace_id, e.trace_id) << what;
  std::vector<std::pair<std::string, std::string>> head_resources(head.resources.begin(),
                                                                  head.resources.end());
  EXPECT_EQ(head_resources, e.resources) << what;
  // A parsed record is an event like any other: its canonical bytes decode to an event
  // with the same canonical bytes.
  const std::string canonical = EncodeRecord(e);
  auto again = DecodeRecord(canonical);
  EXPECT_TRUE(again.ok()) << what << ": " << again.status().ToString();
  if (again.ok()) {
    EXPECT_EQ(EncodeRecord(*again), canonical) << what;
  }
  return true;
}

// Where each top-level field of a well-formed record ends: an independent walk over the
// protobuf wire format, to tell a cut between fields from a cut inside one.
std::vector<size_t> FieldEnds(std::string_view r) {
  std::vector<size_t> ends;
  size_t p = 0;
  auto varint = [&] {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<uint8_t>(r[p++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
  };
  while (p < r.size()) {
    const uint64_t tag = varint();
    switch (tag & 7) {
      case 0:
        varint();
        break;
      case 1:
        p += 8;
        break;
      case 2:
        p += static_cast<size_t>(varint());
        break;
      case 5:
        p += 4;
        break;
      default:
        ADD_FAILURE() << "wire type " << (tag & 7);
        return ends;
    }
    ends.push_back(p);
  }
  return ends;
}

TEST(RecordCorruptionSweep, FlippedBytesFailOrDecodeConsistently) {
  for (const std::string& record : SampleRecords()) {
    ASSERT_TRUE(CheckRecordDecoders(record, "original"));
    size_t parsed = 0, total = 0;
    for (size_t at = 0; at < record.size(); ++at) {
      for (uint8_t mask : kMasks) {
        parsed += CheckRecordDecoders(
            Flipped(record, at, mask),
            "record of " + std::to_string(record.size()) + " bytes, " + Where(at, mask));
        ++total;
      }
    }
    // Most flips land in string bytes, which any value may hold: the sweep must reach the
    // success path often, or it checks nothing there.
    EXPECT_GT(parsed, total / 4) << record.size();
    EXPECT_LT(parsed, total) << record.size();
  }
}

TEST(RecordCorruptionSweep, CutsParseOnlyBetweenFieldsAfterTheTime) {
  for (const std::string& record : SampleRecords()) {
    const std::vector<size_t> ends = FieldEnds(record);
    ASSERT_GE(ends.size(), 2u);  // id, then time: a record needs both
    for (size_t cut = 0; cut < record.size(); ++cut) {
      const std::string prefix = record.substr(0, cut);
      const std::string what =
          "record of " + std::to_string(record.size()) + " bytes cut at " + std::to_string(cut);
      const bool parsed = CheckRecordDecoders(prefix, what);
      // Protobuf has no end marker: a cut between fields is a shorter record (the frame's
      // length and CRC are what catch it on disk). Anywhere else it is an error.
      const bool between = std::find(ends.begin(), ends.end(), cut) != ends.end();
      EXPECT_EQ(parsed, between && cut >= ends[1]) << what;
      if (parsed) {
        auto e = DecodeRecord(prefix);
        ASSERT_TRUE(e.ok());
        EXPECT_EQ(EncodeRecord(*e), prefix) << what;  // exactly the fields before the cut
      }
    }
  }
}

TEST(RecordCorruptionSweep, OverwrittenRunsFailOrDecodeConsistently) {
  std::mt19937 rng(20261129);
  for (const std::string& record : SampleRecords()) {
    for (int round = 0; round < 400; ++round) {
      CheckRecordDecoders(
          Overwritten(record, rng, round),
          "record of " + std::to_string(record.size()) + " bytes, round " + std::to_string(round));
    }
  }
}

// Records of format version 1 segments are JSON, decoded by the same entry points.
TEST(RecordCorruptionSweep, JsonRecordsFailOrDecodeConsistently) {
  for (const AuditEvent& e : {testing::MakeEvent(3), RichEvent()}) {
    const std::string json = Json(e);
    ASSERT_TRUE(CheckRecordDecoders(json, "original json"));
    for (size_t at = 0; at < json.size(); ++at) {
      const uint8_t mask = kMasks[at % 3];  // one mask a byte: text has no bit fields
      CheckRecordDecoders(Flipped(json, at, mask), "json, " + Where(at, mask));
    }
    for (size_t cut = 1; cut < json.size(); ++cut) {
      // An object cut short has no closing brace.
      EXPECT_FALSE(CheckRecordDecoders(json.substr(0, cut), "json cut at " + std::to_string(cut)))
          << cut;
    }
  }
}

// Sealed parts (store/part). Every section is checked by a CRC, so any flipped byte must
// show as an error somewhere a reader looks: at open, in a block, in the seq map.

// Event i of a part: 5 subjects, 30 s apart, every fourth started 50 minutes before it
// completed (so seq order is not time order and the part spans two hour buckets), every fifth
// with the rich fields (another record shape, non-ASCII values).
AuditEvent PartEvent(uint64_t i) {
  AuditEvent e = i % 5 == 2 ? RichEvent() : testing::MakeEvent(i, 5);
  e.id = testing::MakeEvent(i).id;
  e.subject = "user-" + std::to_string(i % 5);
  e.time_ns = 1'760'000'000'000'000'000 + static_cast<int64_t>(i) * 30'000'000'000;
  if (i % 4 == 0) e.time_ns -= 3'000'000'000'000;
  return e;
}

struct BuiltPart {
  testing::TempDir dir;
  std::string path;
  std::string bytes;
  std::vector<std::string> records;
};

void BuildPart(BuiltPart* p, uint64_t n, size_t block_raw_size, uint32_t version) {
  p->path = p->dir.path() + "/" + part::PartFileName(0);
  auto b = part::PartBuilder::Create(DefaultFileSystem(), p->path, "node-1", 0,
                                     merkle::CompactRange(), block_raw_size, version);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  merkle::CompactRange after;
  for (uint64_t i = 0; i < n; ++i) {
    const AuditEvent e = PartEvent(i);
    p->records.push_back(EncodeRecord(e));
    after.Append(merkle::LeafHash(merkle::ThreadHasher(), p->records.back()));
    ASSERT_TRUE((*b)->Add(p->records.back(), e).ok());
  }
  ASSERT_TRUE((*b)->Finish(after).ok());
  p->bytes = testing::ReadFileBytes(p->path);
}

// Where a part's sections lie (from a reader of the undamaged file).
struct PartLayout {
  uint32_t version = 0;
  size_t header_size = 0;
  size_t seqmap_offset = 0;  // version 2+: seq map, then the dictionary section
  size_t summary_offset = 0;
  size_t index_offset = 0;
  size_t footer_offset = 0;
  size_t file_size = 0;
  size_t meta_size = 0;
  std::vector<part::BlockMeta> blocks;
};

PartLayout LayoutOf(const part::PartReader& r) {
  PartLayout l;
  l.version = r.version();
  l.header_size = r.blocks().front().offset;
  l.seqmap_offset = r.seqmap_offset();
  l.summary_offset = r.summary_offset();
  l.index_offset = r.index_offset();
  l.file_size = r.file_size();
  l.footer_offset = l.file_size - part::kFooterSize;
  l.meta_size = l.version == part::kVersion1 ? part::kBlockMetaSize : part::kBlockMetaSizeV2;
  l.blocks = r.blocks();
  return l;
}

// Makes every CRC of a damaged copy of a part match its bytes again, as the undamaged part
// laid them out: header, each block, seq map, dictionary section, summary, index, footer.
// What the CRCs guarded then reaches the decoders behind them.
void Reseal(const PartLayout& l, std::string* b) {
  PutFixed32At(b, l.header_size - 4, MaskedCrc(std::string_view(*b).substr(0, l.header_size - 4)));
  const size_t table = l.summary_offset + 28;
  for (size_t i = 0; i < l.blocks.size(); ++i) {
    const auto& m = l.blocks[i];
    PutFixed32At(b, table + i * l.meta_size + 40,
                 MaskedCrc(std::string_view(*b).substr(m.offset, m.stored_size)));
  }
  if (l.version >= part::kVersion2) {
    // The summary tail (part_format.h); its sizes may be the damaged ones.
    const size_t tail = l.index_offset - part::kSummaryTailV2;
    const size_t dict_offset = log::DecodeFixed64(b->data() + tail + 28);
    const size_t seqmap_size = log::DecodeFixed32(b->data() + tail + 16);
    const size_t dict_size = log::DecodeFixed32(b->data() + tail + 36);
    if (l.seqmap_offset + seqmap_size <= b->size()) {
      PutFixed32At(b, tail + 24,
                   MaskedCrc(std::string_view(*b).substr(l.seqmap_offset, seqmap_size)));
    }
    if (dict_size > 0 && dict_offset <= b->size() && dict_size <= b->size() - dict_offset) {
      PutFixed32At(b, tail + 40, MaskedCrc(std::string_view(*b).substr(dict_offset, dict_size)));
    }
  }
  const size_t f = l.footer_offset;
  PutFixed32At(
      b, f + 12,
      MaskedCrc(std::string_view(*b).substr(l.summary_offset, l.index_offset - l.summary_offset)));
  PutFixed32At(b, f + 32,
               MaskedCrc(std::string_view(*b).substr(l.index_offset, f - l.index_offset)));
  PutFixed32At(b, f + 36, MaskedCrc(std::string_view(*b).substr(f, 36)));
}

// What reading a (possibly damaged) part gave, every way the store reads one.
struct PartRead {
  Status open;
  Status seq_order;
  Status block_order;
  Status lookups;  // seq map (Record), index (BlocksWith, CandidateBlocks), block directories
  std::vector<std::pair<uint64_t, std::string>> in_seq_order;
  std::vector<std::pair<uint64_t, std::string>> in_block_order;
  bool all_ok() const { return open.ok() && seq_order.ok() && block_order.ok() && lookups.ok(); }
};

// `first_error_only`: stop at the first read that fails (for a sweep that only asks whether
// any did).
PartRead ReadPart(FileSystem* fs, const std::string& path,
                  const std::vector<std::string>& originals, bool first_error_only = false) {
  PartRead out;
  auto opened = part::PartReader::Open(fs, path);
  if (!opened.ok()) {
    out.open = opened.status();
    return out;
  }
  const part::PartReader& r = **opened;
  out.seq_order = part::ForEachRecord(r, [&](uint64_t seq, std::string_view rec) {
    out.in_seq_order.emplace_back(seq, rec);
    return Status::Ok();
  });
  if (first_error_only && !out.seq_order.ok()) return out;
  out.block_order = part::ForEachRecordInBlockOrder(r, [&](uint64_t seq, std::string_view rec) {
    out.in_block_order.emplace_back(seq, rec);
    return Status::Ok();
  });
  // A point lookup by seq (through the seq map) and by id (through the index), and a
  // subject query's candidate blocks with their record directories.
  auto lookups = [&]() -> Status {
    for (uint64_t seq : {r.first_seq(), r.first_seq() + r.count() / 2, r.end_seq() - 1}) {
      auto rec = r.Record(seq);
      if (!rec.ok()) return rec.status();
    }
    const std::string& id_of = originals[originals.size() / 3];
    auto id = DecodeRecord(id_of);
    if (id.ok()) {
      APITRAIL_ASSIGN_OR_RETURN(std::vector<uint32_t> blocks,
                                r.BlocksWith(part::Field::kId, id->id));
      for (uint32_t b : blocks) {
        if (b >= r.blocks().size()) return Status::Corruption("block number out of range");
      }
    }
    EventQuery q;
    q.subject = "user-3";
    for (uint32_t b : r.CandidateBlocks(q)) {
      if (b >= r.blocks().size()) return Status::Corruption("candidate block out of range");
      APITRAIL_ASSIGN_OR_RETURN(auto block, r.ReadBlock(b));
      if (const part::Block::Directory* d = block->directory()) {
        for (const auto& run : d->subjects) {
          if (run.begin > run.end || run.end > block->count())
            return Status::Corruption("bad subject run");
        }
      }
    }
    return Status::Ok();
  };
  if (first_error_only && !out.block_order.ok()) return out;
  out.lookups = lookups();
  return out;
}

// The two whole-part walks hand out the same records, each seq once, in the part's range.
void ExpectWalksAgree(const PartRead& read, size_t count, const std::string& what) {
  if (!read.open.ok()) return;
  if (read.seq_order.ok() != read.block_order.ok()) {
    ADD_FAILURE() << what << ": seq order " << read.seq_order.ToString() << ", block order "
                  << read.block_order.ToString();
    return;
  }
  if (!read.seq_order.ok()) return;
  EXPECT_EQ(read.in_seq_order.size(), count) << what;
  auto sorted = read.in_block_order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, read.in_seq_order) << what;
  for (size_t i = 0; i < read.in_seq_order.size(); ++i) {
    if (read.in_seq_order[i].first != i) {
      ADD_FAILURE() << what << ": record " << i << " has seq " << read.in_seq_order[i].first;
      break;
    }
  }
}

// The positions a part sweep flips: every byte of the header and footer, `index` evenly spaced
// ones of the index section and `middle` of everything in between (blocks, seq map,
// dictionary section, summary).
std::vector<size_t> PartPositions(const PartLayout& l, size_t middle, size_t index) {
  std::vector<size_t> at = Positions(0, l.header_size, SIZE_MAX);
  for (size_t i : Positions(l.header_size, l.index_offset, middle)) at.push_back(i);
  for (size_t i : Positions(l.index_offset, l.footer_offset, index)) at.push_back(i);
  for (size_t i : Positions(l.footer_offset, l.file_size, SIZE_MAX)) at.push_back(i);
  return at;
}

class PartCorruptionSweep : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    // Version 1 writes 1 MiB blocks unless told: small ones here, so there are several.
    ASSERT_NO_FATAL_FAILURE(
        BuildPart(&part_, GetParam() == part::kVersion1 ? 80 : 120, 2048, GetParam()));
    auto r = part::PartReader::Open(DefaultFileSystem(), part_.path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    layout_ = LayoutOf(**r);
    ASSERT_GT(layout_.blocks.size(), 4u);
    std::string resealed = part_.bytes;  // resealing an undamaged part changes nothing
    Reseal(layout_, &resealed);
    ASSERT_EQ(resealed, part_.bytes);
    const PartRead clean = ReadPart(DefaultFileSystem(), part_.path, part_.records);
    ASSERT_TRUE(clean.all_ok()) << clean.open.ToString() << clean.seq_order.ToString()
                                << clean.lookups.ToString();
    std::vector<std::pair<uint64_t, std::string>> want;
    for (size_t i = 0; i < part_.records.size(); ++i) want.emplace_back(i, part_.records[i]);
    ASSERT_EQ(clean.in_seq_order, want);
  }

  BuiltPart part_;
  PartLayout layout_;
  MemFileSystem fs_;
};

TEST_P(PartCorruptionSweep, EveryFlippedByteIsAnError) {
  const bool v1 = GetParam() == part::kVersion1;
  size_t n = 0;
  for (size_t at : PartPositions(layout_, v1 ? 500 : 1200, v1 ? 300 : SIZE_MAX)) {
    const uint8_t mask = kMasks[n++ % 3];
    fs_.Put(part_.path, Flipped(part_.bytes, at, mask));
    const PartRead read = ReadPart(&fs_, part_.path, part_.records, /*first_error_only=*/true);
    const std::string what = "part v" + std::to_string(GetParam()) + ", " + Where(at, mask);
    EXPECT_FALSE(read.all_ok()) << what << ": the damage went unnoticed";
    for (const Status* st : {&read.open, &read.seq_order, &read.block_order, &read.lookups}) {
      if (!st->ok()) {
        EXPECT_EQ(st->code(), StatusCode::kCorruption) << what << ": " << st->ToString();
      }
    }
  }
}

TEST_P(PartCorruptionSweep, CutsAreErrors) {
  for (size_t cut : Positions(0, part_.bytes.size(), 400)) {
    fs_.Put(part_.path, part_.bytes.substr(0, cut));
    const PartRead read = ReadPart(&fs_, part_.path, part_.records);
    EXPECT_FALSE(read.open.ok()) << "part cut at " << cut;
  }
}

// With its CRCs made to match, a damaged byte reaches the parsers of the footer, header,
// summary, index, value table, seq map and (through zstd) the block layouts.
TEST_P(PartCorruptionSweep, ResealedFlipsFailOrReadConsistently) {
  const bool v1 = GetParam() == part::kVersion1;
  size_t n = 0, unnoticed = 0;
  for (size_t at : PartPositions(layout_, v1 ? 200 : 350, v1 ? 100 : 150)) {
    const uint8_t mask = kMasks[n++ % 3];
    std::string bad = Flipped(part_.bytes, at, mask);
    Reseal(layout_, &bad);
    fs_.Put(part_.path, bad);
    const PartRead read = ReadPart(&fs_, part_.path, part_.records);
    const std::string what =
        "resealed part v" + std::to_string(GetParam()) + ", " + Where(at, mask);
    ExpectWalksAgree(read, part_.records.size(), what);
    if (read.all_ok() && bad != part_.bytes) ++unnoticed;
  }
  std::mt19937 rng(GetParam());
  for (int round = 0; round < (v1 ? 50 : 150); ++round) {
    std::string bad = Overwritten(part_.bytes, rng, round);
    Reseal(layout_, &bad);
    fs_.Put(part_.path, bad);
    ExpectWalksAgree(ReadPart(&fs_, part_.path, part_.records), part_.records.size(),
                     "resealed part v" + std::to_string(GetParam()) + ", overwritten in round " +
                         std::to_string(round));
  }
  // Some flips are invisible to any reader (a block's time range widened within the part's):
  // fine, but most must be caught even with their CRCs fixed.
  EXPECT_LT(unnoticed, n / 2);
}

INSTANTIATE_TEST_SUITE_P(Versions, PartCorruptionSweep,
                         ::testing::Values(part::kVersion1, part::kVersion5),
                         [](const auto& info) { return "v" + std::to_string(info.param); });

// The decoders behind a part's CRCs, fed damaged decompressed bytes directly: the block
// layouts, the index section and the value table.
class PartSectionSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(BuildPart(&part_, 150, 2048, part::kVersion5));
    auto r = part::PartReader::Open(DefaultFileSystem(), part_.path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    reader_ = std::move(r).value();
  }

  // Decodes a (damaged) raw block of meta `m` and checks what came out is well-formed;
  // returns whether it decoded.
  bool DecodeBlock(std::string_view raw, const part::BlockMeta& m, const part::PartValues& table,
                   const std::string& what) {
    auto block = std::make_shared<part::Block>();
    const Status st = part::DecodeSeqColumns(raw, m.count, reader_->count(), &block->records,
                                             &block->starts, &block->rels, &table);
    if (!st.ok()) {
      EXPECT_EQ(st.code(), StatusCode::kCorruption) << what;
      return st.ok();
    }
    EXPECT_EQ(block->starts.size(), m.count + 1u) << what;
    EXPECT_EQ(block->rels.size(), m.count) << what;
    if (block->starts.size() != m.count + 1u || block->rels.size() != m.count) return st.ok();
    EXPECT_TRUE(std::is_sorted(block->starts.begin(), block->starts.end())) << what;
    EXPECT_EQ(block->starts.back(), block->records.size()) << what;
    for (uint32_t rel : block->rels) {
      EXPECT_LT(rel, reader_->count()) << what;
    }
    if (std::is_sorted(block->starts.begin(), block->starts.end()) &&
        block->starts.back() == block->records.size()) {
      block->directory();  // what a query builds from a block's records: must not trip on them
    }
    return st.ok();
  }

  BuiltPart part_;
  std::unique_ptr<part::PartReader> reader_;
};

TEST_F(PartSectionSweep, DamagedBlockLayoutsFailOrDecodeWellFormed) {
  // The first, a middle and the last block: rows of the rich event's shape and the others'.
  const size_t nblocks = reader_->blocks().size();
  for (size_t i : {size_t{0}, nblocks / 2, nblocks - 1}) {
    const part::BlockMeta& m = reader_->blocks()[i];
    auto raw = reader_->ReadRawBlock(static_cast<uint32_t>(i));
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    ASSERT_TRUE(DecodeBlock(*raw, m, reader_->values(), "clean"));
    size_t n = 0;
    for (size_t at : Positions(0, raw->size(), 1200)) {
      const uint8_t mask = kMasks[n++ % 3];
      DecodeBlock(Flipped(*raw, at, mask), m, reader_->values(),
                  "block " + std::to_string(i) + ", " + Where(at, mask));
    }
    std::mt19937 rng(static_cast<uint32_t>(i));
    for (int round = 0; round < 300; ++round) {
      DecodeBlock(Overwritten(*raw, rng, round), m, reader_->values(),
                  "block " + std::to_string(i) + ", overwritten in round " + std::to_string(round));
    }
    for (size_t cut : Positions(0, raw->size(), 400)) {
      EXPECT_FALSE(DecodeBlock(raw->substr(0, cut), m, reader_->values(), "cut"))
          << "block " << i << " cut at " << cut;
    }
  }
}

// Version 1 blocks (rows and columns, no seqs, no transforms): parts written before version 2
// are still read.
TEST(PartSectionSweepV1, DamagedBlockLayoutsFailOrDecodeWellFormed) {
  std::vector<std::string> records;
  for (uint64_t i = 0; i < 12; ++i) records.push_back(EncodeRecord(PartEvent(i)));
  records.push_back(Json(PartEvent(12)));  // a version 1 segment's record: kept whole
  const std::vector<std::string_view> views(records.begin(), records.end());
  const auto count = static_cast<uint32_t>(records.size());
  for (bool columns : {false, true}) {
    const std::string raw = columns ? part::EncodeColumns(views) : part::EncodeRows(views);
    auto decode = [&](std::string_view bytes, const std::string& what) {
      std::string out;
      std::vector<uint32_t> starts;
      const Status st = columns ? part::DecodeColumns(bytes, count, &out, &starts)
                                : part::DecodeRows(bytes, count, &out, &starts);
      if (!st.ok()) {
        EXPECT_EQ(st.code(), StatusCode::kCorruption) << what;
        return false;
      }
      EXPECT_EQ(starts.size(), count + 1u) << what;
      EXPECT_TRUE(std::is_sorted(starts.begin(), starts.end())) << what;
      if (!starts.empty()) {
        EXPECT_EQ(starts.back(), out.size()) << what;
      }
      return true;
    };
    const std::string layout = columns ? "columns" : "rows";
    ASSERT_TRUE(decode(raw, layout));
    for (size_t at = 0; at < raw.size(); ++at) {
      const uint8_t mask = kMasks[at % 3];
      decode(Flipped(raw, at, mask), layout + ", " + Where(at, mask));
    }
    std::mt19937 rng(columns ? 2 : 1);
    for (int round = 0; round < 150; ++round) {
      decode(Overwritten(raw, rng, round),
             layout + ", overwritten in round " + std::to_string(round));
    }
    for (size_t cut : Positions(0, raw.size(), 400)) {
      EXPECT_FALSE(decode(raw.substr(0, cut), layout + " cut")) << layout << " cut at " << cut;
    }
  }
}

TEST_F(PartSectionSweep, DamagedIndexSectionsFailOrAnswerInRange) {
  const std::string& raw = reader_->index().raw();
  const auto nblocks = static_cast<uint32_t>(reader_->blocks().size());
  auto check = [&](std::string bytes, const std::string& what) -> bool {
    auto idx = part::PartIndex::Parse(std::move(bytes), nblocks, part_.path, 0, reader_->version(),
                                      reader_->count());
    if (!idx.ok()) {
      EXPECT_EQ(idx.status().code(), StatusCode::kCorruption) << what;
      return false;
    }
    // Lookups of present and absent keys of every kind of table: blocks and rels in range,
    // ascending.
    for (uint64_t i : {uint64_t{0}, uint64_t{7}, uint64_t{150}, uint64_t{299}, uint64_t{100000}}) {
      const AuditEvent e = PartEvent(i);
      for (auto [field, value] :
           {std::pair{part::Field::kSubject, e.subject}, std::pair{part::Field::kRoute, e.route},
            std::pair{part::Field::kCorrelationId, e.correlation_id},
            std::pair{part::Field::kClientIp, e.client_ip}, std::pair{part::Field::kId, e.id},
            std::pair{part::Field::kStatus, std::to_string(e.status)}}) {
        if (idx->SeqKeyed(field)) {
          const std::vector<uint32_t> rels = idx->Rels(field, value);
          EXPECT_TRUE(std::is_sorted(rels.begin(), rels.end())) << what;
          for (uint32_t rel : rels) {
            EXPECT_LT(rel, reader_->count()) << what;
          }
        } else {
          const std::vector<uint32_t> blocks = idx->Blocks(field, value);
          EXPECT_TRUE(std::is_sorted(blocks.begin(), blocks.end())) << what;
          for (uint32_t b : blocks) {
            EXPECT_LT(b, nblocks) << what;
          }
        }
      }
    }
    return true;
  };
  ASSERT_TRUE(check(raw, "clean"));
  for (size_t at = 0; at < raw.size(); ++at) {
    const uint8_t mask = kMasks[at % 3];
    check(Flipped(raw, at, mask), "index, " + Where(at, mask));
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    check(Overwritten(raw, rng, round), "index overwritten in round " + std::to_string(round));
  }
  for (size_t cut = 0; cut < raw.size(); ++cut) {
    EXPECT_FALSE(check(raw.substr(0, cut), "index cut")) << "index cut at " << cut;
  }
}

TEST_F(PartSectionSweep, DamagedValueTablesFailOrDecodeBlocksSafely) {
  const std::string raw = reader_->values().Encode();
  ASSERT_FALSE(reader_->values().empty()) << "the part should have a value table";
  const part::BlockMeta& m = reader_->blocks()[0];
  auto block = reader_->ReadRawBlock(0);
  ASSERT_TRUE(block.ok());
  size_t decoded = 0;
  for (size_t at = 0; at < raw.size(); ++at) {
    for (uint8_t mask : kMasks) {
      const std::string what = "value table, " + Where(at, mask);
      auto table = part::PartValues::Decode(Flipped(raw, at, mask));
      if (!table.ok()) {
        EXPECT_EQ(table.status().code(), StatusCode::kCorruption) << what;
        continue;
      }
      // A table that still parses but holds other values: the block decodes to other bytes
      // or fails, never worse. Every few, to keep the sweep short.
      if (decoded++ % 4 == 0) DecodeBlock(*block, m, *table, what);
    }
  }
  for (size_t cut = 0; cut < raw.size(); ++cut) {
    EXPECT_FALSE(part::PartValues::Decode(raw.substr(0, cut)).ok()) << "value table cut at " << cut;
  }
}

// Hour rollups (store/rollup/hour_rollup.h). A whole-file CRC32C catches every single-byte
// change and every cut; with the CRC fixed up, the walk itself must refuse or agree with
// itself: Decode and DecodeSummary share the checks, so they fail and succeed together.

constexpr int64_t kRollupBase = 1'760'000'000'000'000'000;

HourRollup SampleHour() {
  HourRollup h;
  h.hour = FloorDiv(kRollupBase, kNsPerHour);
  h.through_seq = 4242;
  const int64_t t0 = h.hour * kNsPerHour;
  const std::vector<std::string> routes = {"GET /v1/orders/{id}", "POST /v1/orders", "GET /ü", ""};
  const std::vector<std::string> subjects = {"alice", "bob", "carol-日本", "dave", "eve"};
  uint64_t seq = 0;
  for (int minute : {0, 1, 5, 30, 59}) {
    for (int k = 0; k < 12; ++k) {
      RollupEvent e;
      e.seq = seq++;
      e.time_ns = t0 + minute * kNsPerMinute + int64_t{k} * 1'000'000'000;
      e.status = static_cast<uint16_t>(k % 5 == 0 ? 503 : k % 3 == 0 ? 404 : 200);
      e.denied = k % 7 == 0;
      e.keys = {routes[(k + minute) % routes.size()], subjects[k % subjects.size()],
                "10.0.0." + std::to_string(k % 3)};
      h.Add(e, 3);  // a cap of 3 keys puts some in "other"
    }
  }
  return h;
}

std::vector<std::pair<std::string, uint64_t>> SortedKeys(const RollupSummary& s, int d) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [k, c] : s.keys[d])
    out.emplace_back(k, c.requests * 1000003 + c.errors * 1009 + c.denied);
  std::sort(out.begin(), out.end());
  return out;
}

// Decodes `bytes` both ways and checks they agree; returns whether they parsed.
bool CheckRollupDecoders(std::string_view bytes, const std::string& what) {
  auto full = HourRollup::Decode(bytes, "x.rollup");
  auto summary = HourRollup::DecodeSummary(bytes, "x.rollup", 1000);
  EXPECT_EQ(full.ok(), summary.ok())
      << what << ": " << full.status().ToString() << " / " << summary.status().ToString();
  if (!full.ok() || !summary.ok()) {
    if (!full.ok()) {
      EXPECT_EQ(full.status().code(), StatusCode::kCorruption) << what;
    }
    if (!full.ok() && !summary.ok()) {
      EXPECT_EQ(full.status().message(), summary.status().message()) << what;
    }
    return false;
  }
  EXPECT_EQ(full->hour, summary->hour) << what;
  EXPECT_EQ(full->through_seq, summary->through_seq) << what;
  const auto totals = full->Totals();
  for (size_t m = 0; m < 60; ++m) {
    EXPECT_EQ(totals[m].requests, summary->totals[m].requests) << what << " minute " << m;
    EXPECT_EQ(totals[m].status_class, summary->totals[m].status_class) << what << " minute " << m;
    EXPECT_EQ(totals[m].denied, summary->totals[m].denied) << what << " minute " << m;
  }
  const auto from_full = full->Summarize(1000);
  for (int d = 0; d < kRollupDims; ++d) {
    EXPECT_EQ(SortedKeys(*from_full, d), SortedKeys(*summary->summary, d))
        << what << " dimension " << d;
    EXPECT_EQ(from_full->other[d].requests, summary->summary->other[d].requests) << what;
  }
  // What parsed encodes and parses back to the same hour.
  auto again = HourRollup::Decode(full->Encode(), "again.rollup");
  EXPECT_TRUE(again.ok()) << what << ": " << again.status().ToString();
  if (again.ok()) {
    for (int d = 0; d < kRollupDims; ++d) {
      EXPECT_EQ(SortedKeys(*again->Summarize(1000), d), SortedKeys(*from_full, d)) << what;
    }
  }
  return true;
}

// `body` (a rollup file without its CRC) with its CRC.
std::string WithCrc(std::string body) {
  log::PutFixed32(&body, MaskedCrc(body));
  return body;
}

TEST(RollupCorruptionSweep, EveryFlippedByteAndEveryCutIsAnError) {
  const std::string v1 = SampleHour().Encode();
  const std::string v2 = HourRollup::Compress(v1);
  ASSERT_TRUE(CheckRollupDecoders(v1, "version 1"));
  ASSERT_TRUE(CheckRollupDecoders(v2, "version 2"));
  for (const std::string* file : {&v1, &v2}) {
    const std::string name = file == &v1 ? "version 1" : "version 2";
    for (size_t at = 0; at < file->size(); ++at) {
      for (uint8_t mask : kMasks) {
        EXPECT_FALSE(CheckRollupDecoders(Flipped(*file, at, mask), name + ", " + Where(at, mask)))
            << name << ", " << Where(at, mask);
      }
    }
    for (size_t cut = 0; cut < file->size(); ++cut) {
      EXPECT_FALSE(CheckRollupDecoders(file->substr(0, cut), name + " cut"))
          << name << " cut at " << cut;
    }
  }
}

TEST(RollupCorruptionSweep, FlipsBehindAFixedCrcFailOrDecodeConsistently) {
  const std::string v1 = SampleHour().Encode();
  const std::string body = v1.substr(0, v1.size() - 4);
  size_t parsed = 0;
  for (size_t at = 0; at < body.size(); ++at) {
    const uint8_t mask = kMasks[at % 3];
    const std::string bad = WithCrc(Flipped(body, at, mask));
    const std::string what = "version 1 with fixed crc, " + Where(at, mask);
    parsed += CheckRollupDecoders(bad, what);
    // The same layout compressed (version 2) reads the same (every fourth: zstd is slow
    // under the sanitizers).
    if (at >= 32 && at % 4 == 0) {
      auto v1_read = HourRollup::Decode(bad, "x.rollup");
      auto v2_read = HourRollup::Decode(HourRollup::Compress(bad), "x.rollup");
      EXPECT_EQ(v1_read.ok(), v2_read.ok()) << what << ": " << v2_read.status().ToString();
      if (v1_read.ok() && v2_read.ok()) {
        EXPECT_EQ(v1_read->Encode().size(), v2_read->Encode().size()) << what;
      }
    }
  }
  EXPECT_GT(parsed, 0u);  // counts are free values: some flips must get through the walk
  std::mt19937 rng(11);
  for (int round = 0; round < 150; ++round) {
    CheckRollupDecoders(WithCrc(Overwritten(body, rng, round)),
                        "overwritten with fixed crc in round " + std::to_string(round));
  }
  // Every cut of the layout is an error even with its CRC: the counts come first.
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(CheckRollupDecoders(WithCrc(body.substr(0, cut)), "cut with crc"))
        << "cut at " << cut;
  }
}

TEST(RollupCorruptionSweep, CompressedFlipsBehindAFixedCrcFailOrDecodeConsistently) {
  const std::string v2 = HourRollup::Compress(SampleHour().Encode());
  const std::string body = v2.substr(0, v2.size() - 4);
  for (size_t at = 0; at < body.size(); ++at) {
    for (uint8_t mask : kMasks)
      CheckRollupDecoders(WithCrc(Flipped(body, at, mask)),
                          "version 2 with fixed crc, " + Where(at, mask));
  }
  for (size_t cut = 0; cut < body.size(); ++cut) {
    EXPECT_FALSE(CheckRollupDecoders(WithCrc(body.substr(0, cut)), "version 2 cut with crc"))
        << "cut at " << cut;
  }
}

// Signed checkpoints (store/checkpoint.h): a changed byte must never verify, and what still
// parses must be the canonical body it was parsed from.

class CheckpointCorruptionSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    // A fixed key (RFC 8032's first test key), so that every run sweeps the same bytes.
    const std::string pem =
        "-----BEGIN PRIVATE KEY-----\n"
        "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
        "-----END PRIVATE KEY-----\n";
    auto k = NodeKey::Load(key_dir_.Write("node.key", pem));
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    key_ = std::move(k).value();
    auto vk = ParseVerifierKey(VerifierKeyText(CheckpointOrigin("node-1"), key_->public_key()));
    ASSERT_TRUE(vk.ok()) << vk.status().ToString();
    vkey_ = *vk;
  }

  std::string Note(uint64_t size) {
    Checkpoint c;
    c.origin = CheckpointOrigin("node-1");
    c.size = size;
    c.root = Sha256("root " + std::to_string(size));
    auto note = SignCheckpoint(c, *key_);
    EXPECT_TRUE(note.ok()) << note.status().ToString();
    return note.ok() ? *note : "";
  }

  testing::TempDir key_dir_;
  std::unique_ptr<NodeKey> key_;
  VerifierKey vkey_;
};

TEST_F(CheckpointCorruptionSweep, NoChangedNoteVerifies) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1234}, UINT64_MAX}) {
    const std::string note = Note(size);
    ASSERT_TRUE(VerifyCheckpointNote(note, vkey_).ok());
    auto check = [&](const std::string& bad, const std::string& what) {
      EXPECT_FALSE(VerifyCheckpointNote(bad, vkey_).ok()) << what << ": " << bad;
      auto parsed = ParseCheckpointNote(bad);
      if (parsed.ok()) {
        EXPECT_EQ(bad.rfind(CheckpointBody(*parsed), 0), 0u) << what << ": not the canonical body";
      } else {
        EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << what;
      }
    };
    for (size_t at = 0; at < note.size(); ++at) {
      for (uint8_t mask : kMasks) check(Flipped(note, at, mask), "note, " + Where(at, mask));
    }
    for (size_t cut = 0; cut < note.size(); ++cut) {
      check(note.substr(0, cut), "note cut at " + std::to_string(cut));
      EXPECT_FALSE(ParseCheckpointNote(note.substr(0, cut)).ok()) << "cut at " << cut;
    }
  }
}

// Side logs (tree_heads.log, checkpoints.log): framed and CRC'd. A damaged frame followed by
// a valid one is an error; a damaged last frame is a torn tail, which the reader reports
// (valid_bytes < file_bytes) so that recovery cuts it and counts the loss. Either way what it
// returns is a prefix of what was written.

constexpr size_t kSideLogNodeLenAt = 8 + 4 + 8;  // magic | version | first_seq | node_len u16

// What a side-log read returned, reduced to what the sweeps compare.
struct SideRead {
  Status status;
  std::vector<std::string> items;  // one string per head / checkpoint, all its fields
  std::vector<uint64_t> offsets;
  uint64_t valid_bytes = 0;
  uint64_t file_bytes = 0;
};

SideRead ReadHeads(FileSystem* fs, const std::string& path) {
  SideRead out;
  auto r = ReadTreeHeads(fs, path);
  if (!r.ok()) {
    out.status = r.status();
    return out;
  }
  for (const TreeHead& h : r->heads) {
    out.items.push_back(std::to_string(h.size) + "/" + std::string(h.root.begin(), h.root.end()) +
                        "/" + std::to_string(h.time_ns));
    out.offsets.push_back(h.offset);
  }
  out.valid_bytes = r->valid_bytes;
  out.file_bytes = r->file_bytes;
  return out;
}

SideRead ReadCheckpointLog(FileSystem* fs, const std::string& path) {
  SideRead out;
  auto r = ReadCheckpoints(fs, path);
  if (!r.ok()) {
    out.status = r.status();
    return out;
  }
  for (const CheckpointRecord& c : r->checkpoints) {
    out.items.push_back(std::to_string(c.size) + "/" + std::to_string(c.time_ns) + "/" + c.note +
                        "/" + c.checkpoint.origin + std::to_string(c.checkpoint.size) +
                        std::string(c.checkpoint.root.begin(), c.checkpoint.root.end()));
    out.offsets.push_back(c.offset);
  }
  out.valid_bytes = r->valid_bytes;
  out.file_bytes = r->file_bytes;
  return out;
}

// Flips every byte of a side log and cuts it at every length; checks each read against the
// undamaged one.
void SweepSideLog(const std::string& bytes, SideRead (*read)(FileSystem*, const std::string&)) {
  MemFileSystem fs;
  const std::string path = "/nonexistent-sweep/side.log";
  fs.Put(path, bytes);
  const SideRead clean = read(&fs, path);
  ASSERT_TRUE(clean.status.ok()) << clean.status.ToString();
  ASSERT_GE(clean.items.size(), 3u);
  ASSERT_EQ(clean.valid_bytes, bytes.size());
  const uint64_t header_size = clean.offsets.front();
  auto frame_end = [&](size_t i) -> uint64_t {
    return i + 1 < clean.offsets.size() ? clean.offsets[i + 1] : bytes.size();
  };
  auto is_prefix = [&](const SideRead& got, const std::string& what) {
    ASSERT_LE(got.items.size(), clean.items.size()) << what;
    for (size_t i = 0; i < got.items.size(); ++i) {
      EXPECT_EQ(got.items[i], clean.items[i]) << what << ": entry " << i;
      EXPECT_EQ(got.offsets[i], clean.offsets[i]) << what << ": entry " << i;
    }
  };
  for (size_t at = 0; at < bytes.size(); ++at) {
    for (uint8_t mask : kMasks) {
      const std::string what = Where(at, mask);
      fs.Put(path, Flipped(bytes, at, mask));
      const SideRead got = read(&fs, path);
      if (!got.status.ok()) {
        EXPECT_EQ(got.status.code(), StatusCode::kCorruption)
            << what << ": " << got.status.ToString();
        continue;
      }
      is_prefix(got, what);
      // Only the last frame may be dropped, and only as a torn tail the caller sees and cuts.
      EXPECT_EQ(got.items.size() + 1, clean.items.size()) << what;
      EXPECT_EQ(got.valid_bytes, clean.offsets.back()) << what;
      EXPECT_EQ(got.file_bytes, bytes.size()) << what;
    }
  }
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::string what = "cut at " + std::to_string(cut);
    fs.Put(path, bytes.substr(0, cut));
    const SideRead got = read(&fs, path);
    // A cut is a torn tail (or a torn header): never an error, never more than was whole.
    ASSERT_TRUE(got.status.ok()) << what << ": " << got.status.ToString();
    is_prefix(got, what);
    size_t whole = 0;  // frames wholly before the cut
    while (whole < clean.items.size() && frame_end(whole) <= cut) ++whole;
    EXPECT_EQ(got.items.size(), whole) << what;
    if (cut >= header_size) {
      EXPECT_EQ(got.file_bytes, cut) << what;
      EXPECT_EQ(got.valid_bytes, whole == 0 ? header_size : frame_end(whole - 1)) << what;
    }
  }
}

std::string TreeHeadsLog(const testing::TempDir& dir) {
  auto w = TreeHeadWriter::Open(DefaultFileSystem(), dir.path(), "node-1");
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (!w.ok()) return "";
  for (uint64_t size : {1, 5, 6, 40, 41, 1000}) {
    EXPECT_TRUE((*w)->Append(size, Sha256("head " + std::to_string(size)),
                             1'760'000'000'000'000'000 + size, false)
                    .ok());
  }
  EXPECT_TRUE((*w)->Sync().ok());
  return testing::ReadFileBytes(TreeHeadsPath(dir.path()));
}

TEST(SideLogCorruptionSweep, TreeHeadsLogKeepsOnlyWhatWasWritten) {
  testing::TempDir dir;
  const std::string bytes = TreeHeadsLog(dir);
  SweepSideLog(bytes, &ReadHeads);
}

// One flipped bit in the high byte of a side log's node length made its header claim more
// bytes than the file holds, which the reader took for a header torn while the file was
// being created: the whole log read as present, empty and intact (valid_bytes == file_bytes
// == 0), and Recover (tree_heads.log) and LogStore::OpenCheckpoints (checkpoints.log) cut it
// to nothing. A node length no writer writes is a damaged header, not a torn one.
TEST(SideLogCorruptionSweep, ANodeLengthPastTheEndIsNotATornHeader) {
  testing::TempDir dir;
  const std::string bytes = TreeHeadsLog(dir);
  ASSERT_GT(bytes.size(),
            log::kFileHeaderFixedSize + log::kMaxNodeNameSize + log::kFileHeaderCrcSize);
  MemFileSystem fs;
  const std::string path = "/nonexistent-sweep/tree_heads.log";
  for (uint8_t mask : kMasks) {
    const std::string what = Where(kSideLogNodeLenAt + 1, mask);
    fs.Put(path, Flipped(bytes, kSideLogNodeLenAt + 1, mask));
    const SideRead got = ReadHeads(&fs, path);
    EXPECT_TRUE(!got.status.ok() || got.valid_bytes < got.file_bytes)
        << what << ": read " << got.items.size() << " heads, " << got.valid_bytes << " of "
        << got.file_bytes << " bytes valid";
    bool torn = false;
    auto reader = log::RecordReader::Open(&fs, path, log::kTreeHeadMagic, &torn);
    EXPECT_FALSE(reader.ok()) << what;
    EXPECT_FALSE(torn) << what;
  }
}

// A short log (one head): a node length raised by a flipped bit but still at most 255 makes
// the header claim more bytes than the file holds. The frame in the file shows that the header
// was written whole (the writer syncs it before any frame), so this is damage too; a file
// cut inside its header, with no frame, is still a torn header.
TEST(SideLogCorruptionSweep, AShortLogWithAFrameIsNotATornHeader) {
  testing::TempDir dir;
  {
    auto w = TreeHeadWriter::Open(DefaultFileSystem(), dir.path(), "node-1");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(1, Sha256("head 1"), 1'760'000'000'000'000'000, false).ok());
    ASSERT_TRUE((*w)->Sync().ok());
  }
  const std::string bytes = testing::ReadFileBytes(TreeHeadsPath(dir.path()));
  MemFileSystem fs;
  const std::string path = "/nonexistent-sweep/tree_heads.log";
  for (uint8_t mask : {uint8_t{0x40}, uint8_t{0x80}, uint8_t{0xF0}}) {
    const std::string what = Where(kSideLogNodeLenAt, mask);
    const std::string damaged = Flipped(bytes, kSideLogNodeLenAt, mask);
    ASSERT_LE(static_cast<uint8_t>(damaged[kSideLogNodeLenAt]), log::kMaxNodeNameSize) << what;
    ASSERT_LT(bytes.size(), log::kFileHeaderFixedSize +
                                static_cast<uint8_t>(damaged[kSideLogNodeLenAt]) +
                                log::kFileHeaderCrcSize)
        << what;
    fs.Put(path, damaged);
    bool torn = true;
    auto reader = log::RecordReader::Open(&fs, path, log::kTreeHeadMagic, &torn);
    ASSERT_FALSE(reader.ok()) << what;
    EXPECT_FALSE(torn) << what;
    EXPECT_NE(reader.status().message().find("a frame starts at offset"), std::string::npos)
        << what;
    const SideRead got = ReadHeads(&fs, path);
    EXPECT_FALSE(got.status.ok()) << what << ": read " << got.items.size() << " heads";
  }
  for (size_t cut : {size_t{10}, size_t{26}, size_t{31}}) {  // the header is 32 bytes
    fs.Put(path, bytes.substr(0, cut));
    bool torn = false;
    EXPECT_FALSE(log::RecordReader::Open(&fs, path, log::kTreeHeadMagic, &torn).ok()) << cut;
    EXPECT_TRUE(torn) << cut;
  }
}

TEST_F(CheckpointCorruptionSweep, CheckpointsLogKeepsOnlyWhatWasWritten) {
  testing::TempDir dir;
  {
    auto w = CheckpointWriter::Open(DefaultFileSystem(), dir.path(), "node-1");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (uint64_t size : {0, 3, 3, 9})
      ASSERT_TRUE((*w)->Append(size, 1'760'000'000'000'000'000 + size, Note(size)).ok());
  }
  const std::string bytes = testing::ReadFileBytes(CheckpointsPath(dir.path()));
  SweepSideLog(bytes, &ReadCheckpointLog);
}

}  // namespace
}  // namespace apitrail
