#include "store/archive/store_part_access.h"

#include "store/part/part_reader.h"

namespace apitrail::archive {

Result<PartInfo> StorePartAccess::Describe(const std::string& path) {
  APITRAIL_ASSIGN_OR_RETURN(auto reader, part::PartReader::Open(fs_, path));
  PartInfo info;
  info.first_seq = reader->first_seq();
  info.end_seq = reader->end_seq();
  info.newest_time_ns = reader->max_time_ns();
  info.node = reader->node();
  info.before = reader->before();
  return info;
}

Status StorePartAccess::ForEachRecord(
    const std::string& path,
    const std::function<Status(uint64_t seq, std::string_view record)>& record) {
  APITRAIL_ASSIGN_OR_RETURN(auto reader, part::PartReader::Open(fs_, path));
  return part::ForEachRecord(*reader, record);
}

}  // namespace apitrail::archive
