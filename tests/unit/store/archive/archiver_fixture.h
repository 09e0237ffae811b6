// ArchiverFixture: a data dir with parts/ and a checkpoint writer, a destination dir, and
// helpers to add parts, start an Archiver with fast retries and wait for it. Shared by the
// archiver's tests (archive/archiver_test.cc) and its edge cases (archive_edges_test.cc).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/archive/archiver.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "testutil/temp_dir.h"

namespace apitrail::archive {

using namespace std::chrono_literals;

class ArchiverFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    dest_ = dir_.path() + "/dest";
    std::filesystem::create_directories(data_ + "/parts");
    std::filesystem::create_directories(dest_);
    key_ = std::move(NodeKey::Generate()).value();
    writer_ = std::move(CheckpointWriter::Open(DefaultFileSystem(), data_, "n1")).value();
  }
  void Sign(uint64_t size) {
    Checkpoint c{"apitrail/n1", size, {}};
    ASSERT_TRUE(writer_->Append(size, 1, *SignCheckpoint(c, *key_)).ok());
  }
  // As the sealer does: written elsewhere, renamed into parts/ whole.
  void AddPart(const std::string& name, const std::string& bytes, int64_t mtime_ns = 0) {
    const std::string tmp = data_ + "/parts/" + name + ".tmp";
    apitrail::testing::WriteFileBytes(tmp, bytes);
    if (mtime_ns != 0) {
      timespec ts[2];
      ts[0].tv_sec = ts[1].tv_sec = mtime_ns / 1000000000;
      ts[0].tv_nsec = ts[1].tv_nsec = mtime_ns % 1000000000;
      ASSERT_EQ(::utimensat(AT_FDCWD, tmp.c_str(), ts, 0), 0);
    }
    std::filesystem::rename(tmp, data_ + "/parts/" + name);
  }
  ArchiverOptions Options(const std::string& command) {
    ArchiverOptions o;
    o.data_dir = data_;
    o.command = command;
    o.retry_min = 20ms;
    o.retry_max = 100ms;
    o.scan_interval = 20ms;
    o.timeout = 5s;
    o.verifier_key_text = VerifierKeyText("apitrail/n1", key_->public_key());
    return o;
  }
  std::unique_ptr<Archiver> StartOrDie(ArchiverOptions o) {
    auto a = Archiver::Start(std::move(o));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(a).value() : nullptr;
  }
  template <typename F>
  bool WaitFor(F pred, std::chrono::milliseconds max = 10s) {
    const auto end = std::chrono::steady_clock::now() + max;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }
  std::vector<std::string> Lines(const std::string& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  bool InDest(const std::string& name) { return std::filesystem::exists(dest_ + "/" + name); }
  bool Marked(const std::string& name) {
    return std::filesystem::exists(data_ + "/archive/done/" + name + ".done");
  }
  bool InParts(const std::string& name) {
    return std::filesystem::exists(data_ + "/parts/" + name);
  }

  apitrail::testing::TempDir dir_;
  std::string data_, dest_;
  std::unique_ptr<NodeKey> key_;
  std::unique_ptr<CheckpointWriter> writer_;
};

}  // namespace apitrail::archive
