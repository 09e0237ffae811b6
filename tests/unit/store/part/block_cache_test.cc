// BlockCache (store/part/block_cache.h): bounded in bytes, least recently used out first,
// keys per reader, a second insert of the same block keeps the first copy, and a reader's
// blocks go with it.
#include "store/part/block_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace apitrail::part {
namespace {

std::shared_ptr<const Block> MakeBlock(size_t bytes, char fill = 'x') {
  auto b = std::make_shared<Block>();
  b->records.assign(bytes, fill);
  b->starts = {0, static_cast<uint32_t>(bytes)};
  b->rels = {0};
  return b;
}

TEST(BlockCacheTest, HitsReturnTheSameBlockAndMissesAreCounted) {
  BlockCache cache(1 << 20);
  const uint64_t r = BlockCache::NewReaderId();
  EXPECT_EQ(cache.Lookup(r, 7), nullptr);
  auto b = MakeBlock(1000);
  EXPECT_EQ(cache.Insert(r, 7, b), b);
  EXPECT_EQ(cache.Lookup(r, 7), b);
  EXPECT_EQ(cache.Lookup(r, 8), nullptr);
  const BlockCacheStats s = cache.Stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.blocks, 1u);
  EXPECT_EQ(s.bytes, b->MemoryBytes());
}

TEST(BlockCacheTest, ReadersNeverShareEntries) {
  BlockCache cache(1 << 20);
  const uint64_t a = BlockCache::NewReaderId(), b = BlockCache::NewReaderId();
  EXPECT_NE(a, b);
  auto ba = MakeBlock(100, 'a');
  cache.Insert(a, 0, ba);
  EXPECT_EQ(cache.Lookup(b, 0), nullptr);
  EXPECT_EQ(cache.Lookup(a, 0), ba);
}

TEST(BlockCacheTest, EvictsTheLeastRecentlyUsedToStayWithinTheCapacity) {
  const size_t one = MakeBlock(10000)->MemoryBytes();
  BlockCache cache(3 * one);
  const uint64_t r = BlockCache::NewReaderId();
  for (uint32_t i = 0; i < 3; ++i) cache.Insert(r, i, MakeBlock(10000));
  ASSERT_NE(cache.Lookup(r, 0), nullptr);  // 0 is now the most recently used; 1 the least
  cache.Insert(r, 3, MakeBlock(10000));
  EXPECT_EQ(cache.Lookup(r, 1), nullptr);
  EXPECT_NE(cache.Lookup(r, 0), nullptr);
  EXPECT_NE(cache.Lookup(r, 2), nullptr);
  EXPECT_NE(cache.Lookup(r, 3), nullptr);
  const BlockCacheStats s = cache.Stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.blocks, 3u);
  EXPECT_LE(s.bytes, s.capacity);
}

TEST(BlockCacheTest, ABlockLargerThanTheCapacityIsHandedBackButNotKept) {
  BlockCache cache(1000);
  const uint64_t r = BlockCache::NewReaderId();
  auto big = MakeBlock(5000);
  EXPECT_EQ(cache.Insert(r, 0, big), big);
  EXPECT_EQ(cache.Lookup(r, 0), nullptr);
  EXPECT_EQ(cache.Stats().bytes, 0u);
}

TEST(BlockCacheTest, CapacityZeroKeepsNothing) {
  BlockCache cache(0);
  const uint64_t r = BlockCache::NewReaderId();
  auto b = MakeBlock(10);
  EXPECT_EQ(cache.Insert(r, 0, b), b);
  EXPECT_EQ(cache.Lookup(r, 0), nullptr);
}

TEST(BlockCacheTest, ASecondInsertOfTheSameBlockKeepsTheFirstCopy) {
  BlockCache cache(1 << 20);
  const uint64_t r = BlockCache::NewReaderId();
  auto first = MakeBlock(100, '1'), second = MakeBlock(100, '2');
  cache.Insert(r, 4, first);
  EXPECT_EQ(cache.Insert(r, 4, second), first);
  EXPECT_EQ(cache.Lookup(r, 4), first);
  EXPECT_EQ(cache.Stats().blocks, 1u);
}

TEST(BlockCacheTest, EraseDropsOneBlockSoThatAFreshCopyCanReplaceIt) {
  BlockCache cache(1 << 20);
  const uint64_t r = BlockCache::NewReaderId();
  auto stale = MakeBlock(100, 's'), fresh = MakeBlock(200, 'f');
  cache.Insert(r, 0, stale);
  cache.Insert(r, 1, MakeBlock(100));
  cache.Erase(r, 0);
  cache.Erase(r, 9);  // absent: nothing happens
  EXPECT_EQ(cache.Lookup(r, 0), nullptr);
  EXPECT_EQ(cache.Insert(r, 0, fresh), fresh);
  EXPECT_EQ(cache.Lookup(r, 0), fresh);
  EXPECT_EQ(cache.Stats().bytes, fresh->MemoryBytes() + MakeBlock(100)->MemoryBytes());
}

TEST(BlockCacheTest, EraseReaderDropsOnlyThatReadersBlocks) {
  BlockCache cache(1 << 20);
  const uint64_t a = BlockCache::NewReaderId(), b = BlockCache::NewReaderId();
  for (uint32_t i = 0; i < 5; ++i) {
    cache.Insert(a, i, MakeBlock(100));
    cache.Insert(b, i, MakeBlock(100));
  }
  cache.EraseReader(a);
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(cache.Lookup(a, i), nullptr);
    EXPECT_NE(cache.Lookup(b, i), nullptr);
  }
  EXPECT_EQ(cache.Stats().blocks, 5u);
  EXPECT_EQ(cache.Stats().bytes, 5 * MakeBlock(100)->MemoryBytes());
}

TEST(BlockCacheTest, ConcurrentLookupsAndInsertsStayConsistent) {
  const size_t one = MakeBlock(1000)->MemoryBytes();
  BlockCache cache(50 * one);
  const uint64_t r = BlockCache::NewReaderId();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t i = 0; i < 2000; ++i) {
        const uint32_t block = (i * 7 + static_cast<uint32_t>(t)) % 120;
        auto got = cache.Lookup(r, block);
        if (!got)
          got = cache.Insert(r, block, MakeBlock(1000, static_cast<char>('a' + block % 26)));
        ASSERT_EQ(got->records[0], static_cast<char>('a' + block % 26));
      }
    });
  }
  for (auto& th : threads) th.join();
  const BlockCacheStats s = cache.Stats();
  EXPECT_LE(s.bytes, s.capacity);
  EXPECT_EQ(s.bytes, s.blocks * one);
  EXPECT_EQ(s.hits + s.misses, 4u * 2000u);
}

}  // namespace
}  // namespace apitrail::part
