// KeyEventRecorder: turns changes of the API key file into audit events in this node's store
// (auth/key_events.h), on the server's control thread, right after each key reload. What it
// has recorded up to is kept in <data_dir>/key_events.watermark (docs/FORMAT.md), so changes
// made while no server ran are recorded at the next start. Not thread-safe: one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "auth/key_store.h"
#include "store/store.h"

namespace apitrail {

class KeyEventRecorder {
 public:
  KeyEventRecorder(Store* store, std::string node, const std::string& data_dir);

  // Appends one event per change since the previous call (the first call: since the
  // watermark; without one — the node's first start — the keys found are the baseline and
  // nothing is recorded). `keys` null: API keys disabled.
  void Tick(const std::shared_ptr<const KeySet>& keys, int64_t now_ns);

 private:
  Store* store_;
  const std::string node_;
  const std::string watermark_path_;
  std::shared_ptr<const KeySet> prev_;
  int64_t since_ns_ = 0;
  bool started_ = false;
};

}  // namespace apitrail
