// ZeroedPages hands out zero-filled memory; from 2 MiB on it is mapped (fresh pages) and
// given back to the kernel on release.
#include "core/zeroed_pages.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>

namespace apitrail {
namespace {

bool AllZero(const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

TEST(ZeroedPagesTest, SmallSpansComeFromTheHeapZeroed) {
  ZeroedPages p(4096);
  ASSERT_NE(p.data(), nullptr);
  EXPECT_FALSE(p.mapped());
  EXPECT_EQ(p.size(), 4096u);
  EXPECT_TRUE(AllZero(p.data(), p.size()));
}

TEST(ZeroedPagesTest, LargeSpansAreMappedZeroed) {
  for (size_t bytes : {ZeroedPages::kMapThreshold, 3 * ZeroedPages::kMapThreshold + 4096}) {
    ZeroedPages p(bytes);
    ASSERT_NE(p.data(), nullptr);
    EXPECT_TRUE(p.mapped());
    EXPECT_TRUE(AllZero(p.data(), bytes));
    std::memset(p.data(), 0xAB, bytes);  // every byte is writable
  }
}

TEST(ZeroedPagesTest, MovesHandOverTheMemory) {
  ZeroedPages a(ZeroedPages::kMapThreshold);
  static_cast<unsigned char*>(a.data())[7] = 42;
  void* const data = a.data();
  ZeroedPages b(std::move(a));
  EXPECT_EQ(a.data(),
            nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(static_cast<unsigned char*>(b.data())[7], 42);
  ZeroedPages c(16);
  c = std::move(b);
  EXPECT_EQ(c.data(), data);
  EXPECT_TRUE(c.mapped());
  ZeroedPages empty(0);
  EXPECT_EQ(empty.data(), nullptr);
}

}  // namespace
}  // namespace apitrail
