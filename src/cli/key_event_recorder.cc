#include "cli/key_event_recorder.h"

#include <spdlog/spdlog.h>

#include "auth/file_util.h"
#include "auth/key_events.h"
#include "core/time_util.h"

namespace apitrail {

KeyEventRecorder::KeyEventRecorder(Store* store, std::string node, const std::string& data_dir)
    : store_(store), node_(std::move(node)), watermark_path_(data_dir + "/key_events.watermark") {}

void KeyEventRecorder::Tick(const std::shared_ptr<const KeySet>& keys, int64_t now_ns) {
  if (!keys) return;
  if (!started_) {
    started_ = true;
    auto text = ReadSmallFile(watermark_path_, 4096);
    if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
      // This node's first start: the keys it finds predate its audit log. They are the
      // baseline; every change from now on is recorded.
      prev_ = keys;
      since_ns_ = now_ns;
      Status st = WriteFileAtomically(watermark_path_, FormatRfc3339(now_ns) + "\n", 0600);
      if (!st.ok()) spdlog::warn("{}: {}", watermark_path_, st.ToString());
      return;
    }
    if (text.ok()) {
      std::string t = *text;
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
      auto ns = ParseRfc3339(t);
      if (ns.ok()) {
        since_ns_ = *ns;
      } else {
        spdlog::warn("{}: unreadable ({}); recording every key's history again", watermark_path_,
                     ns.status().message());
      }
    }
  }
  std::vector<AuditEvent> events = KeyChangeEvents(prev_.get(), *keys, since_ns_, now_ns, node_);
  prev_ = keys;
  since_ns_ = now_ns;
  if (events.empty()) return;
  for (AuditEvent& e : events) {
    std::string what = e.route + " " + e.credential_id;
    Status st = store_->Append(std::move(e), [what](const Status& s, uint64_t) {
      if (!s.ok()) spdlog::error("could not record {}: {}", what, s.ToString());
    });
    if (!st.ok())
      spdlog::error("could not record {}: {}", what, st.ToString());
    else
      spdlog::info("recorded {}", what);
  }
  Status st = WriteFileAtomically(watermark_path_, FormatRfc3339(now_ns) + "\n", 0600);
  if (!st.ok()) spdlog::warn("{}: {}", watermark_path_, st.ToString());
}

}  // namespace apitrail
