// Identifiers: the UUIDv7 layouts of request ids (random) and event ids (origin and
// counter), and that event ids stay unique across threads and a fork.
#include "core/ids.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace apitrail {
namespace {

// The 16 bytes of a canonical UUID string.
std::vector<uint8_t> Bytes(const std::string& uuid) {
  std::string hex;
  for (char c : uuid)
    if (c != '-') hex += c;
  EXPECT_EQ(hex.size(), 32u) << uuid;
  std::vector<uint8_t> b;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) b.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return b;
}

uint64_t Ms(const std::vector<uint8_t>& b) {
  uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = ms << 8 | b[i];
  return ms;
}

uint64_t Origin(const std::vector<uint8_t>& b) {
  const uint64_t hi = (uint64_t{b[6]} & 0x0F) << 8 | b[7];
  const uint64_t lo = (uint64_t{b[8]} & 0x3F) << 24 | uint64_t{b[9]} << 16 | uint64_t{b[10]} << 8 | b[11];
  return hi << 30 | lo;
}

uint32_t Counter(const std::vector<uint8_t>& b) {
  return static_cast<uint32_t>(b[12]) << 24 | static_cast<uint32_t>(b[13]) << 16 | static_cast<uint32_t>(b[14]) << 8 | b[15];
}

TEST(IdsTest, EventIdLayoutIsVersionSevenWithOriginAndCounter) {
  // 2023-11-14T22:13:20.123456789Z; origin 0x2ABCDEF0123 (42 bits); counter 0xDEADBEEF.
  EXPECT_EQ(FormatEventId(1700000000123456789, 0x2ABCDEF0123ULL, 0xDEADBEEFu),
            "018bcfe5-687b-7aaf-8def-0123deadbeef");
  const std::vector<uint8_t> b = Bytes(FormatEventId(1700000000123456789, 0x2ABCDEF0123ULL, 0xDEADBEEFu));
  EXPECT_EQ(Ms(b), 1700000000123u);
  EXPECT_EQ(b[6] >> 4, 7);     // version
  EXPECT_EQ(b[8] >> 6, 2);     // variant 10
  EXPECT_EQ(Origin(b), 0x2ABCDEF0123ULL);
  EXPECT_EQ(Counter(b), 0xDEADBEEFu);
  // Origin bits past 42 are dropped, never spilled into the version or variant.
  EXPECT_EQ(FormatEventId(0, ~uint64_t{0}, 0), "00000000-0000-7fff-bfff-ffff00000000");
}

TEST(IdsTest, EventIdCounterReadsTheLastEightHexDigits) {
  EXPECT_EQ(EventIdCounter(FormatEventId(1700000000123456789, 0x2ABCDEF0123ULL, 0xDEADBEEFu)), 0xDEADBEEFu);
  const std::string id = NewEventId(1700000000000000000);
  EXPECT_EQ(EventIdCounter(id), Counter(Bytes(id)));
  EXPECT_EQ(EventIdCounter("0123ABCD"), 0x0123ABCDu);  // upper case too
  EXPECT_EQ(EventIdCounter(""), 0u);
  EXPECT_EQ(EventIdCounter("1234567"), 0u);     // too short
  EXPECT_EQ(EventIdCounter("x-1234567g"), 0u);  // not hex
}

TEST(IdsTest, EventIdsOfAProcessShareAnOriginAndCount) {
  const std::vector<uint8_t> a = Bytes(NewEventId(1700000000000000000));
  const std::vector<uint8_t> b = Bytes(NewEventId(1700000000001000000));
  EXPECT_EQ(Ms(a), 1700000000000u);
  EXPECT_EQ(Ms(b), 1700000000001u);
  EXPECT_EQ(a[6] >> 4, 7);
  EXPECT_EQ(a[8] >> 6, 2);
  EXPECT_EQ(Origin(a), Origin(b));
  EXPECT_EQ(Counter(b), Counter(a) + 1);  // one thread, nothing minted in between
}

TEST(IdsTest, AMintedIdCarriesTheCounterItsTextEndsIn) {
  const MintedEventId a = MintEventId(1700000000000000000);
  const MintedEventId b = MintEventId(1700000000002000000);
  EXPECT_EQ(a.counter, EventIdCounter(a.view()));
  EXPECT_EQ(b.counter, EventIdCounter(b.view()));
  EXPECT_EQ(b.counter, a.counter + 1);  // one thread, nothing minted in between
  const std::vector<uint8_t> bb = Bytes(std::string(b.view()));
  EXPECT_EQ(Ms(bb), 1700000000002u);
  EXPECT_EQ(Origin(bb), Origin(Bytes(std::string(a.view()))));
  // The same layout as NewEventId's, which mints from the same counter.
  const std::vector<uint8_t> c = Bytes(NewEventId(1700000000002000000));
  EXPECT_EQ(Origin(c), Origin(bb));
  EXPECT_EQ(Counter(c), b.counter + 1);
}

TEST(IdsTest, EventIdsAreUniqueAcrossThreadsInOneMillisecond) {
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kEach; ++i) ids[t].push_back(NewEventId(1700000000000000000));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
}

TEST(IdsTest, AForkedChildMintsUnderItsOwnOrigin) {
  const std::string parent_before = NewEventId(1700000000000000000);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string id = NewEventId(1700000000000000000);
    const ssize_t w = write(fds[1], id.data(), id.size());
    _exit(w == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(fds[1]);
  char buf[64] = {};
  const ssize_t got = read(fds[0], buf, sizeof(buf));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, 36);
  const std::string child(buf, 36);
  const std::string parent_after = NewEventId(1700000000000000000);
  EXPECT_NE(Origin(Bytes(child)), Origin(Bytes(parent_before)));
  EXPECT_LT(Counter(Bytes(child)), 0x80000000u);  // a fresh counter starts below 2^31
  EXPECT_EQ(Origin(Bytes(parent_after)), Origin(Bytes(parent_before)));
  EXPECT_NE(child, parent_after);
}

TEST(IdsTest, RequestIdsAreRandomVersionSeven) {
  const std::vector<uint8_t> a = Bytes(NewUuidV7(1700000000000000000));
  const std::vector<uint8_t> b = Bytes(NewUuidV7(1700000000000000000));
  EXPECT_EQ(Ms(a), 1700000000000u);
  EXPECT_EQ(a[6] >> 4, 7);
  EXPECT_EQ(a[8] >> 6, 2);
  EXPECT_NE(a, b);
  EXPECT_NE(Origin(a), Origin(b));  // 42 random bits each: equal once in 4 · 10^12
}

}  // namespace
}  // namespace apitrail
