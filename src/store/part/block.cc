#include "store/part/block.h"

#include <algorithm>

#include "core/record_codec.h"

namespace apitrail::part {

const std::vector<Block::SubjectRun>* Block::SubjectRuns() const {
  std::call_once(runs_once_, [this] {
    std::string scratch;
    RecordHead head;
    for (uint32_t i = 0; i < count(); ++i) {
      if (!DecodeRecordHead(record(i), &head, &scratch).ok()) {
        runs_.clear();
        return;
      }
      if (!runs_.empty() && runs_.back().end == i && runs_.back().subject == head.subject) {
        runs_.back().end = i + 1;
      } else {
        runs_.push_back(SubjectRun{std::string(head.subject), i, i + 1});
      }
    }
    std::sort(runs_.begin(), runs_.end(), [](const SubjectRun& a, const SubjectRun& b) {
      return a.subject != b.subject ? a.subject < b.subject : a.begin < b.begin;
    });
    runs_ok_ = true;
  });
  return runs_ok_ ? &runs_ : nullptr;
}

}  // namespace apitrail::part
