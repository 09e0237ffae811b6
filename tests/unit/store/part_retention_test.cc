// Store::RemoveOldestPart, what retention calls on the running store: the part stops being
// served before its file goes, only the oldest part may go, and the store keeps answering
// (and reopens) with the rest.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "query/event_query.h"
#include "store_test_util.h"

namespace apitrail {
namespace {

using testing::AppendMany;
using testing::OpenOrDie;
using testing::TempDir;
using testing::WaitSealed;

class PartRetentionTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    o.max_segment_bytes = 8192;  // ~25 records per segment
    o.seal_at_low_priority = false;  // WaitSealed: a loaded host's CPUs must not starve it
    return o;
  }
  std::string PartsDir() { return dir_.path() + "/data/parts"; }
  std::vector<std::string> PartNames() {
    auto names = DefaultFileSystem()->ListDir(PartsDir());
    std::vector<std::string> out;
    if (!names.ok()) return out;
    for (auto& n : *names) {
      if (n.size() > 5 && n.substr(n.size() - 5) == ".part") out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  TempDir dir_;
};

TEST_F(PartRetentionTest, TheOldestPartStopsBeingServedAndItsFileGoes) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  AppendMany(*store, 300);
  WaitSealed(*store);
  auto names = PartNames();
  ASSERT_GE(names.size(), 3u);
  const uint64_t parts_before = store->Stats().parts;
  ASSERT_TRUE(store->GetBySeq(0).ok());

  // Not the oldest: refused, nothing changes.
  Status refused = store->RemoveOldestPart(PartsDir() + "/" + names[1]);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << refused.ToString();
  EXPECT_EQ(PartNames(), names);
  EXPECT_EQ(store->Stats().parts, parts_before);

  ASSERT_TRUE(store->RemoveOldestPart(PartsDir() + "/" + names[0]).ok());
  EXPECT_EQ(PartNames(), std::vector<std::string>(names.begin() + 1, names.end()));
  EXPECT_EQ(store->Stats().parts, parts_before - 1);
  auto gone = store->GetBySeq(0);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("no longer stored"), std::string::npos) << gone.status().ToString();
  EXPECT_EQ(store->Stats().size, 300u) << "the tree still covers every record";

  // Queries answer from what is left, newest first, down to the new oldest part.
  EventQuery all;
  all.limit = 1000;
  auto page = store->Query(all);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_FALSE(page->events.empty());
  EXPECT_EQ(page->events.front().seq, 299u);
  const uint64_t oldest_left = page->events.back().seq;
  EXPECT_GT(oldest_left, 0u);
  EXPECT_EQ(page->events.size(), 300 - oldest_left);

  // The next oldest may go now; the store keeps appending and reopens with the rest.
  ASSERT_TRUE(store->RemoveOldestPart(PartsDir() + "/" + names[1]).ok());
  AppendMany(*store, 10, 300);
  store->Close();
  store.reset();
  auto reopened = OpenOrDie(Options());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Stats().size, 310u);
  EXPECT_TRUE(reopened->GetBySeq(309).ok());
  EXPECT_EQ(reopened->GetBySeq(oldest_left).status().code(), StatusCode::kNotFound);
}

TEST_F(PartRetentionTest, AFileTheStoreDoesNotServeIsJustDeleted) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(DefaultFileSystem()->CreateDirs(PartsDir()).ok());
  ASSERT_TRUE(DefaultFileSystem()->WriteFileDurably(PartsDir(), "stray.part", "not a part").ok());
  ASSERT_TRUE(store->RemoveOldestPart(PartsDir() + "/stray.part").ok());
  EXPECT_FALSE(DefaultFileSystem()->Exists(PartsDir() + "/stray.part"));
}

}  // namespace
}  // namespace apitrail
