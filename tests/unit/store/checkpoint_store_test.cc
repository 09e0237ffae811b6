// The writer's signed checkpoints: node.key on first open, a checkpoint at most one
// interval behind the newest record, heartbeats when idle, a final one on Close, a torn
// checkpoints.log tail tolerated, a checkpoint ahead of the log refused, and proofs from
// the offline leaf-hash reader verifying against the signed roots.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/leaf_hashes.h"
#include "store/merkle/proofs.h"
#include "store/tree_head_log.h"
#include "store/node_key.h"
#include "store_test_util.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

class CheckpointStoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    o.node = "node-7";
    return o;
  }
  std::string Data() { return dir_.path() + "/data"; }
  CheckpointFile Read() {
    auto f = ReadCheckpoints(DefaultFileSystem(), CheckpointsPath(Data()));
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? *f : CheckpointFile{};
  }
  VerifierKey Key() {
    auto k = NodeKey::Load(Data() + "/node.key");
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    auto vk = ParseVerifierKey(VerifierKeyText("apitrail/node-7", (*k)->public_key()));
    EXPECT_TRUE(vk.ok());
    return *vk;
  }
  // Polls until a checkpoint of at least `size` exists; returns how long it took.
  std::chrono::milliseconds WaitForCheckpoint(uint64_t size, int max_ms = 3000) {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(max_ms)) {
      CheckpointFile f = Read();
      if (!f.checkpoints.empty() && f.checkpoints.back().size >= size) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  }
  TempDir dir_;
};

TEST_F(CheckpointStoreTest, FirstOpenCreatesTheKeyAndCloseSignsTheTree) {
  auto store = OpenOrDie(Options());
  ASSERT_TRUE(std::filesystem::exists(Data() + "/node.key"));
  EXPECT_EQ(std::filesystem::status(Data() + "/node.key").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  AppendMany(*store, 10);
  const std::string root = store->Stats().root_hex;
  store->Close();
  CheckpointFile f = Read();
  ASSERT_FALSE(f.checkpoints.empty());
  EXPECT_EQ(f.node, "node-7");
  const CheckpointRecord& last = f.checkpoints.back();
  EXPECT_EQ(last.size, 10u);
  EXPECT_GT(last.time_ns, 0);
  auto c = VerifyCheckpointNote(last.note, Key());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->origin, "apitrail/node-7");
  EXPECT_EQ(HexEncode(c->root), root);
  // The key survives a reopen; no new checkpoint without new records.
  const size_t n = f.checkpoints.size();
  auto again = OpenOrDie(Options());
  again->Close();
  EXPECT_EQ(Read().checkpoints.size(), n);
  EXPECT_TRUE(VerifyCheckpointNote(Read().checkpoints.back().note, Key()).ok());
}

TEST_F(CheckpointStoreTest, CheckpointFollowsNewRecordsWithinTheInterval) {
  StoreOptions o = Options();
  o.checkpoint_interval_ms = 200;
  auto store = OpenOrDie(o);
  AppendMany(*store, 3);
  EXPECT_LT(WaitForCheckpoint(3).count(), 1000);
  EXPECT_EQ(Read().checkpoints.back().size, 3u);
  // More records soon after: covered within about one interval, not at once.
  AppendMany(*store, 4, 3);
  EXPECT_LT(WaitForCheckpoint(7).count(), 1000);
  CheckpointFile f = Read();
  EXPECT_EQ(f.checkpoints.back().size, 7u);
  for (size_t i = 1; i < f.checkpoints.size(); ++i) {
    EXPECT_GE(f.checkpoints[i].time_ns - f.checkpoints[i - 1].time_ns, 150'000'000)
        << "checkpoints closer than the interval";
  }
  store->Close();
}

TEST_F(CheckpointStoreTest, HeartbeatWhenIdle) {
  StoreOptions o = Options();
  o.checkpoint_heartbeat_ms = 100;
  auto store = OpenOrDie(o);
  AppendMany(*store, 2);
  WaitForCheckpoint(2);
  const size_t before = Read().checkpoints.size();
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  CheckpointFile f = Read();
  EXPECT_GE(f.checkpoints.size(), before + 2);
  EXPECT_EQ(f.checkpoints.back().size, 2u);
  EXPECT_TRUE(VerifyCheckpointNote(f.checkpoints.back().note, Key()).ok());
  store->Close();
}

TEST_F(CheckpointStoreTest, EmptyLogSignsNothing) {
  auto store = OpenOrDie(Options());
  store->Close();
  EXPECT_TRUE(Read().checkpoints.empty());
}

TEST_F(CheckpointStoreTest, TornCheckpointTailIsCutAtOpen) {
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 5);
    store->Close();
  }
  const std::string path = CheckpointsPath(Data());
  const std::string whole = ReadFileBytes(path);
  WriteFileBytes(path, whole + whole.substr(whole.size() - 40, 30));  // half a frame
  {
    auto store = OpenOrDie(Options());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(ReadFileBytes(path), whole);
    AppendMany(*store, 1, 5);
    store->Close();
  }
  CheckpointFile f = Read();
  EXPECT_EQ(f.valid_bytes, f.file_bytes);
  EXPECT_EQ(f.checkpoints.back().size, 6u);
}

TEST_F(CheckpointStoreTest, CheckpointAheadOfTheLogIsCorruption) {
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 8);
    store->Close();
  }
  const std::string saved = ReadFileBytes(CheckpointsPath(Data()));
  std::filesystem::remove_all(Data() + "/segments");
  std::filesystem::remove(TreeHeadsPath(Data()));
  std::filesystem::remove(CheckpointsPath(Data()));
  {
    auto store = OpenOrDie(Options());  // a fresh log of 3 records with the same key
    AppendMany(*store, 3);
    store->Close();
  }
  WriteFileBytes(CheckpointsPath(Data()), saved);
  auto reopened = Store::Open(Options());
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kCorruption);
  EXPECT_NE(reopened.status().message().find("checkpoint says 8 records, log has 3"), std::string::npos)
      << reopened.status().message();
}

TEST_F(CheckpointStoreTest, ProofsFromTheSegmentsVerifyAgainstSignedCheckpoints) {
  auto store = OpenOrDie(Options());
  AppendMany(*store, 13);
  store->Close();
  store = OpenOrDie(Options());
  AppendMany(*store, 8, 13);
  store->Close();
  CheckpointFile f = Read();
  ASSERT_GE(f.checkpoints.size(), 2u);
  auto leaves = ReadLeafHashes(DefaultFileSystem(), Data());
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  ASSERT_EQ(leaves->size(), 21u);
  const VerifierKey key = Key();
  auto new_cp = VerifyCheckpointNote(f.checkpoints.back().note, key);
  ASSERT_TRUE(new_cp.ok());
  EXPECT_EQ(new_cp->size, 21u);
  for (uint64_t i = 0; i < 21; ++i) {
    auto proof = merkle::InclusionProof(*leaves, i);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(merkle::VerifyInclusion((*leaves)[i], i, 21, *proof, new_cp->root).ok());
  }
  // Every earlier checkpoint (the first group commit, the close at 13, ...) is a prefix.
  bool saw_13 = false;
  for (const CheckpointRecord& rec : f.checkpoints) {
    auto old_cp = VerifyCheckpointNote(rec.note, key);
    ASSERT_TRUE(old_cp.ok());
    saw_13 = saw_13 || old_cp->size == 13;
    auto consistency = merkle::ConsistencyProof(*leaves, old_cp->size);
    ASSERT_TRUE(consistency.ok());
    EXPECT_TRUE(merkle::VerifyConsistency(old_cp->size, 21, old_cp->root, new_cp->root, *consistency).ok());
    auto limited = ReadLeafHashes(DefaultFileSystem(), Data(), old_cp->size);
    ASSERT_TRUE(limited.ok());
    EXPECT_EQ(merkle::SubtreeRoot(*limited), old_cp->root);
  }
  EXPECT_TRUE(saw_13) << "Close signs the tree it leaves behind";
}

TEST_F(CheckpointStoreTest, EveryRotationIsSignedAtExactlyItsTreeSize) {
  // Segments of 4 KiB and an interval no test reaches: besides the first checkpoint and
  // Close's, only rotations sign, each at the size where its segment (its part) ends.
  StoreOptions o = Options();
  o.max_segment_bytes = 4096;
  o.checkpoint_interval_ms = 3'600'000;
  auto store = OpenOrDie(o);
  for (uint64_t i = 0; i < 6; ++i) AppendMany(*store, 20, i * 20);
  store->Close();
  std::vector<uint64_t> starts;
  for (const char* dir : {"/segments", "/parts"}) {
    for (const auto& entry : std::filesystem::directory_iterator(Data() + dir)) {
      const std::string name = entry.path().filename().string();
      const size_t digits = name.find_first_of("0123456789");
      if (digits != std::string::npos) starts.push_back(std::stoull(name.substr(digits, 20)));
    }
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  ASSERT_GE(starts.size(), 3u) << "4 KiB segments rotate";
  const VerifierKey key = Key();
  std::map<uint64_t, Hash256> signed_roots;
  for (const CheckpointRecord& rec : Read().checkpoints) {
    auto cp = VerifyCheckpointNote(rec.note, key);
    ASSERT_TRUE(cp.ok());
    signed_roots[cp->size] = cp->root;
  }
  for (size_t i = 1; i < starts.size(); ++i) {
    const uint64_t boundary = starts[i];
    ASSERT_EQ(signed_roots.count(boundary), 1u) << "no checkpoint at the rotation at " << boundary;
    auto leaves = ReadLeafHashes(DefaultFileSystem(), Data(), boundary);
    ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
    EXPECT_EQ(merkle::SubtreeRoot(*leaves), signed_roots[boundary]) << boundary;
  }
  // Nothing else but the first commit's and Close's.
  EXPECT_LE(signed_roots.size(), starts.size() + 1);
}

TEST_F(CheckpointStoreTest, ARotationLeftUnsignedByAStoppedRunIsSignedAtTheNextOpen) {
  StoreOptions o = Options();
  o.max_segment_bytes = 4096;
  o.checkpoint_interval_ms = 3'600'000;
  o.seal_rotated = false;  // the rotated segments stay, as after a kill -9 before sealing
  {
    auto store = OpenOrDie(o);
    for (uint64_t i = 0; i < 6; ++i) AppendMany(*store, 20, i * 20);
    store->Close();
  }
  // Keep only the first checkpoint: the run "stopped" before signing any rotation.
  CheckpointFile before = Read();
  ASSERT_GE(before.checkpoints.size(), 3u);
  const uint64_t first_size = before.checkpoints[0].size;
  std::filesystem::resize_file(CheckpointsPath(Data()), before.checkpoints[1].offset);
  std::vector<uint64_t> rotations;
  for (const auto& entry : std::filesystem::directory_iterator(Data() + "/segments")) {
    const std::string name = entry.path().filename().string();
    const uint64_t start = std::stoull(name.substr(name.find_first_of("0123456789"), 20));
    if (start > first_size) rotations.push_back(start);
  }
  ASSERT_GE(rotations.size(), 2u);
  OpenOrDie(o)->Close();
  std::map<uint64_t, Hash256> signed_roots;
  for (const CheckpointRecord& rec : Read().checkpoints) {
    auto cp = VerifyCheckpointNote(rec.note, Key());
    ASSERT_TRUE(cp.ok());
    signed_roots[cp->size] = cp->root;
  }
  for (uint64_t boundary : rotations) {
    ASSERT_EQ(signed_roots.count(boundary), 1u) << "the rotation at " << boundary << " is unsigned";
    auto leaves = ReadLeafHashes(DefaultFileSystem(), Data(), boundary);
    ASSERT_TRUE(leaves.ok());
    EXPECT_EQ(merkle::SubtreeRoot(*leaves), signed_roots[boundary]);
  }
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

// on_checkpoint sees every durable checkpoint, and at Open the newest existing one (so
// witnesses catch up after downtime); every_events signs without waiting for the interval.
TEST(CheckpointCallbackTest, EveryEventsAndTheCallbackAtOpenAndClose) {
  testing::TempDir dir;
  std::mutex mu;
  std::vector<SignedCheckpoint> seen;
  StoreOptions o;
  o.data_dir = dir.path() + "/data";
  o.node = "node-7";
  o.checkpoint_interval_ms = 3600000;  // time alone never signs in this test
  o.checkpoint_heartbeat_ms = 3600000;
  o.checkpoint_every_events = 4;
  o.on_checkpoint = [&](const SignedCheckpoint& cp) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(cp);
  };
  auto sizes = [&] {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<uint64_t> out;
    for (const auto& cp : seen) out.push_back(cp.size);
    return out;
  };
  {
    auto store = testing::OpenOrDie(o);
    EXPECT_TRUE(sizes().empty()) << "a new data dir has no checkpoint to replay";
    testing::AppendMany(*store, 1);  // the first record is signed at once
    testing::AppendMany(*store, 3, 1);
    ASSERT_TRUE(store->Flush().ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(sizes(), std::vector<uint64_t>{1}) << "3 new records are below every_events";
    testing::AppendMany(*store, 1, 4);
    ASSERT_TRUE(store->Flush().ok());
    for (int i = 0; i < 100 && sizes().size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(sizes(), (std::vector<uint64_t>{1, 5}));
    EXPECT_EQ(store->Stats().checkpoint_size, 5u);
    testing::AppendMany(*store, 2, 5);
    store->Close();
    EXPECT_EQ(sizes(), (std::vector<uint64_t>{1, 5, 7}));
  }
  auto file = ReadCheckpoints(DefaultFileSystem(), CheckpointsPath(o.data_dir));
  ASSERT_TRUE(file.ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(seen.size(), file->checkpoints.size());
    for (size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i].note, file->checkpoints[i].note);
      EXPECT_EQ(seen[i].time_ns, file->checkpoints[i].time_ns);
    }
    seen.clear();
  }
  auto again = testing::OpenOrDie(o);
  EXPECT_EQ(sizes(), std::vector<uint64_t>{7}) << "Open replays the newest checkpoint";
  EXPECT_EQ(again->Stats().checkpoint_size, 7u);
}

}  // namespace
}  // namespace apitrail
