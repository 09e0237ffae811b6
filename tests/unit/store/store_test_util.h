// Shared fixture pieces for the Store tests: options over a temp dir, synchronous append.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "store/fs/file_system.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/store.h"
#include "testutil/event_builder.h"
#include "testutil/temp_dir.h"

namespace apitrail::testing {

// Appends and waits for the callback; returns the status the callback got (or Append's).
inline Status AppendSync(Store& store, AuditEvent event, uint64_t* seq = nullptr) {
  std::promise<std::pair<Status, uint64_t>> p;
  auto f = p.get_future();
  Status st = store.Append(std::move(event), [&p](const Status& s, uint64_t q) {
    p.set_value({s, q});
  });
  if (!st.ok()) return st;
  auto [result, got] = f.get();
  if (seq != nullptr) *seq = got;
  return result;
}

// Appends events 0..n-1 (MakeEvent) without waiting, then flushes.
inline void AppendMany(Store& store, uint64_t n, uint64_t first = 0) {
  for (uint64_t i = first; i < first + n; ++i) {
    ASSERT_TRUE(store.Append(MakeEvent(i), nullptr).ok());
  }
  ASSERT_TRUE(store.Flush().ok());
}

// Flushes, then waits until every rotated segment handed to the sealer was sealed (or failed).
// Up to 60 s: under ASan on a host loaded by parallel builds, 10 s ran out. A store opened
// with seal_at_low_priority (the default) can starve past any bound on such a host.
inline void WaitSealed(Store& store) {
  ASSERT_TRUE(store.Flush().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (store.Stats().seal_pending > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(store.Stats().seal_pending, 0u);
  ASSERT_EQ(store.Stats().seal_errors, 0u) << store.Stats().last_seal_error;
}

inline std::unique_ptr<Store> OpenOrDie(const StoreOptions& options) {
  auto s = Store::Open(options);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

inline std::string SegmentPath(const std::string& dir, uint64_t first_seq) {
  std::string digits = std::to_string(first_seq);
  return dir + "/segments/seg-" + std::string(20 - digits.size(), '0') + digits + ".log";
}

// Offsets of every frame in a segment file, plus its size at the end.
inline std::vector<uint64_t> FrameOffsets(const std::string& path) {
  std::vector<uint64_t> out;
  auto r = log::RecordReader::Open(DefaultFileSystem(), path, log::kSegmentMagic);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  log::Frame f;
  while (true) {
    auto next = (*r)->Next(&f);
    if (!next.ok() || !*next) break;
    out.push_back(f.offset);
  }
  out.push_back((*r)->offset());
  return out;
}

}  // namespace apitrail::testing
