// Record framing: round trip and every kind of damage a reader must name precisely.
#include <gtest/gtest.h>

#include <string>

#include "core/crc32c.h"
#include "store/fs/file_system.h"
#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/log/record_writer.h"
#include "testutil/temp_dir.h"

namespace apitrail::log {
namespace {

using apitrail::testing::TempDir;

class RecordFramingTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.path() + "/seg-00000000000000000000.log"; }

  // Writes a segment with records "record-0".."record-(n-1)" starting at first_seq.
  void Write(int n, uint64_t first_seq = 0) {
    bytes_.clear();
    AppendFileHeader(&bytes_, kSegmentMagic, "node-a", first_seq);
    header_size_ = bytes_.size();
    offsets_.clear();
    for (int i = 0; i < n; ++i) {
      offsets_.push_back(bytes_.size());
      AppendFrame(&bytes_, first_seq + static_cast<uint64_t>(i), "record-" + std::to_string(i));
    }
    apitrail::testing::WriteFileBytes(path_, bytes_);
  }

  std::unique_ptr<RecordReader> Open() {
    auto r = RecordReader::Open(DefaultFileSystem(), path_, kSegmentMagic);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  // Reads until the first error or EOF; returns the number of good frames.
  int ReadAll(RecordReader* r, Status* error) {
    Frame f;
    int n = 0;
    while (true) {
      auto next = r->Next(&f);
      if (!next.ok()) {
        *error = next.status();
        return n;
      }
      if (!*next) return n;
      ++n;
    }
  }

  TempDir dir_;
  std::string path_;
  std::string bytes_;
  size_t header_size_ = 0;
  std::vector<size_t> offsets_;
};

TEST_F(RecordFramingTest, RoundTrip) {
  Write(3, 42);
  auto r = Open();
  EXPECT_EQ(r->header().node, "node-a");
  EXPECT_EQ(r->header().first_seq, 42u);
  EXPECT_EQ(r->header().size, header_size_);
  Frame f;
  for (int i = 0; i < 3; ++i) {
    auto next = r->Next(&f);
    ASSERT_TRUE(next.ok() && *next);
    EXPECT_EQ(f.seq, 42u + static_cast<uint64_t>(i));
    EXPECT_EQ(f.offset, offsets_[static_cast<size_t>(i)]);
    EXPECT_EQ(f.payload, "record-" + std::to_string(i));
  }
  auto end = r->Next(&f);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  EXPECT_EQ(r->offset(), bytes_.size());
}

TEST_F(RecordFramingTest, FrameLayoutIsAsSpecified) {
  Write(1, 7);
  const char* p = bytes_.data() + offsets_[0];
  EXPECT_EQ(DecodeFixed32(p), 8u);  // "record-0"
  EXPECT_EQ(DecodeFixed64(p + 8), 7u);
  EXPECT_EQ(DecodeFixed32(p + 4), FrameCrc(7, "record-0"));
  EXPECT_EQ(std::string(bytes_.data(), 8), "APTLOG01");
}

TEST_F(RecordFramingTest, ChecksumMismatchNamesFileAndOffset) {
  Write(3);
  apitrail::testing::FlipByte(path_, offsets_[1] + kFrameHeaderSize + 2);
  auto r = Open();
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), 1);
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_NE(error.message().find(path_), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("crc mismatch"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("at offset " + std::to_string(offsets_[1])), std::string::npos);
  EXPECT_FALSE(r->incomplete());
  auto follows = r->ValidFrameFollows(1, 100);
  ASSERT_TRUE(follows.ok());
  EXPECT_TRUE(*follows);  // record 2 is intact: damage in the middle
  auto torn = r->DamageIsTornTail(1, 100);
  ASSERT_TRUE(torn.ok());
  EXPECT_FALSE(*torn);
}

// A crash mid-write can leave a later sector of the write on disk and an earlier one still
// the reserve's zeros: the frames behind that sector were never synced, so the damage is a
// torn tail although valid frames follow it.
TEST_F(RecordFramingTest, UnwrittenSectorBeforeValidFramesIsATornTail) {
  Write(100);  // ~2.5 KiB of frames: sectors 1 to 3 hold only frames
  ASSERT_GT(bytes_.size(), 2048u);
  std::string b = bytes_;
  std::fill(b.begin() + 1024, b.begin() + 1536, '\0');
  apitrail::testing::WriteFileBytes(path_, b);
  size_t bad = 0;  // the frame running into the zeros
  while (bad + 1 < offsets_.size() && offsets_[bad + 1] <= 1024) ++bad;
  auto r = Open();
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), static_cast<int>(bad));
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_EQ(r->offset(), offsets_[bad]);
  auto follows = r->ValidFrameFollows(bad, 1000);
  ASSERT_TRUE(follows.ok());
  EXPECT_TRUE(*follows);
  auto torn = r->DamageIsTornTail(bad, 1000);
  ASSERT_TRUE(torn.ok());
  EXPECT_TRUE(*torn);

  // The bad frame's own header in the unwritten sector: zeros from it to the sector's end.
  b = bytes_;
  const size_t from = offsets_[bad + 1];
  ASSERT_LT(from, 1536u);
  std::fill(b.begin() + static_cast<std::ptrdiff_t>(from), b.begin() + 1536, '\0');
  apitrail::testing::WriteFileBytes(path_, b);
  r = Open();
  EXPECT_EQ(ReadAll(r.get(), &error), static_cast<int>(bad + 1));
  torn = r->DamageIsTornTail(bad + 1, 1000);
  ASSERT_TRUE(torn.ok());
  EXPECT_TRUE(*torn);
}

// Zeros that stop short of a sector's end are damage, not a sector that was never written.
TEST_F(RecordFramingTest, ZeroedFrameInsideASectorIsDamage) {
  Write(80);
  size_t k = 0;  // a frame that lies inside one sector, not at its end
  while (k + 2 < offsets_.size() &&
         (offsets_[k] / 512 != (offsets_[k + 2] - 1) / 512 || offsets_[k] < 512)) {
    ++k;
  }
  ASSERT_LT(k + 2, offsets_.size());
  std::string b = bytes_;
  std::fill(b.begin() + static_cast<std::ptrdiff_t>(offsets_[k]),
            b.begin() + static_cast<std::ptrdiff_t>(offsets_[k + 1]), '\0');
  apitrail::testing::WriteFileBytes(path_, b);
  auto r = Open();
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), static_cast<int>(k));
  auto torn = r->DamageIsTornTail(k, 1000);
  ASSERT_TRUE(torn.ok());
  EXPECT_FALSE(*torn);
}

TEST_F(RecordFramingTest, ShortFrameIsIncomplete) {
  Write(3);
  apitrail::testing::TruncateFile(path_, bytes_.size() - 3);
  auto r = Open();
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), 2);
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_TRUE(r->incomplete());
  EXPECT_EQ(r->offset(), offsets_[2]);
  EXPECT_NE(error.message().find("runs past end of file"), std::string::npos) << error.message();
  auto follows = r->ValidFrameFollows(2, 100);
  ASSERT_TRUE(follows.ok());
  EXPECT_FALSE(*follows);
  auto torn = r->DamageIsTornTail(2, 100);
  ASSERT_TRUE(torn.ok());
  EXPECT_TRUE(*torn);
}

TEST_F(RecordFramingTest, ShortFrameHeaderIsIncomplete) {
  Write(2);
  apitrail::testing::TruncateFile(path_, offsets_[1] + 5);
  auto r = Open();
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), 1);
  EXPECT_TRUE(r->incomplete());
  EXPECT_NE(error.message().find("incomplete frame header"), std::string::npos);
}

TEST_F(RecordFramingTest, HugeLengthIsRejectedWithoutAllocating) {
  Write(2);
  std::string b = bytes_;
  b[offsets_[1] + 3] = '\x7f';  // length ≈ 2 GiB
  apitrail::testing::WriteFileBytes(path_, b);
  auto r = Open();
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), 1);
  EXPECT_NE(error.message().find("bad frame length"), std::string::npos) << error.message();
  EXPECT_NE(error.message().find("at offset " + std::to_string(offsets_[1])), std::string::npos);
}

// Version 3 segments may end in the writer's zero reserve: a clean end, not damage.
TEST_F(RecordFramingTest, ZeroTailIsTheCleanEndOfAVersion3Segment) {
  Write(3);
  apitrail::testing::WriteFileBytes(path_, bytes_ + std::string(100000, '\0'));
  auto r = Open();
  ASSERT_EQ(r->header().version, 3u);
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), 3);
  EXPECT_TRUE(error.ok()) << error.ToString();
  EXPECT_EQ(r->offset(), bytes_.size());
  EXPECT_EQ(r->zero_tail(), 100000u);
  auto end = r->DataEnd();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, bytes_.size());
}

TEST_F(RecordFramingTest, NonZeroByteAfterZerosIsDamage) {
  Write(3);
  std::string b = bytes_ + std::string(5000, '\0');
  b[b.size() - 7] = 'x';  // a torn frame, or something written behind the records
  apitrail::testing::WriteFileBytes(path_, b);
  auto r = Open();
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), 3);
  EXPECT_EQ(error.code(), StatusCode::kCorruption);
  EXPECT_NE(error.message().find("bad frame length 0 at offset " + std::to_string(bytes_.size())),
            std::string::npos)
      << error.message();
  auto end = r->DataEnd();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, b.size() - 6);
}

TEST_F(RecordFramingTest, ZeroTailIsDamageInAVersion2Segment) {
  Write(2);
  std::string b = bytes_;
  b[kMagicSize] = 2;  // version 2, header CRC recomputed
  const uint32_t crc = crc32c::Mask(crc32c::Value(b.data(), header_size_ - kFileHeaderCrcSize));
  std::string crc_bytes;
  PutFixed32(&crc_bytes, crc);
  b.replace(header_size_ - kFileHeaderCrcSize, 4, crc_bytes);
  apitrail::testing::WriteFileBytes(path_, b + std::string(64, '\0'));
  auto r = Open();
  ASSERT_EQ(r->header().version, 2u);
  Status error;
  EXPECT_EQ(ReadAll(r.get(), &error), 2);
  EXPECT_NE(error.message().find("bad frame length 0"), std::string::npos) << error.message();
}

TEST_F(RecordFramingTest, BadMagicIsCorruption) {
  Write(1);
  std::string b = bytes_;
  b[0] = 'X';
  apitrail::testing::WriteFileBytes(path_, b);
  bool torn = true;
  auto r = RecordReader::Open(DefaultFileSystem(), path_, kSegmentMagic, &torn);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("bad magic at offset 0"), std::string::npos);
  EXPECT_FALSE(torn);
}

TEST_F(RecordFramingTest, DamagedHeaderIsCorruption) {
  Write(1);
  apitrail::testing::FlipByte(path_, kFileHeaderFixedSize + 1);  // inside the node name
  auto r = RecordReader::Open(DefaultFileSystem(), path_, kSegmentMagic);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("file header crc mismatch"), std::string::npos);
}

TEST_F(RecordFramingTest, ShortHeaderIsTorn) {
  Write(0);
  apitrail::testing::TruncateFile(path_, 10);
  bool torn = false;
  auto r = RecordReader::Open(DefaultFileSystem(), path_, kSegmentMagic, &torn);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(torn);
}

TEST_F(RecordFramingTest, SegmentNames) {
  EXPECT_EQ(SegmentFileName(42), "seg-00000000000000000042.log");
  uint64_t seq = 0;
  EXPECT_TRUE(ParseSegmentFileName("seg-00000000000000000042.log", &seq));
  EXPECT_EQ(seq, 42u);
  EXPECT_FALSE(ParseSegmentFileName("seg-42.log", &seq));
  EXPECT_FALSE(ParseSegmentFileName("seg-0000000000000000004x.log", &seq));
}

}  // namespace
}  // namespace apitrail::log
