// StorePartAccess: PartAccess (part_access.h) over the store's part reader
// (store/part/part_reader.h), for the archiver's retention and for `verify --archive`.
// Thread-safe: every call opens its own reader. `fs` must outlive it.
#pragma once

#include "store/archive/part_access.h"
#include "store/fs/file_system.h"

namespace apitrail::archive {

class StorePartAccess final : public PartAccess {
 public:
  explicit StorePartAccess(FileSystem* fs) : fs_(fs) {}
  Result<PartInfo> Describe(const std::string& path) override;
  Status ForEachRecord(
      const std::string& path,
      const std::function<Status(uint64_t seq, std::string_view record)>& record) override;

 private:
  FileSystem* fs_;
};

}  // namespace apitrail::archive
