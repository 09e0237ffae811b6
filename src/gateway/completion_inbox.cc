#include "gateway/completion_inbox.h"

#include <boost/asio/post.hpp>

namespace apitrail {

namespace {
// Inboxes that got items on this thread since its last flush.
thread_local std::vector<CompletionInbox*> t_pending;
}  // namespace

void CompletionInbox::Add(std::function<void()> fn) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(fn));
    first = !scheduled_;
    scheduled_ = true;
  }
  if (first) t_pending.push_back(this);
}

void CompletionInbox::FlushThreadPending() {
  for (CompletionInbox* inbox : t_pending) {
    boost::asio::post(inbox->io_, [inbox] { inbox->Drain(); });
  }
  t_pending.clear();
}

void CompletionInbox::Drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.swap(items_);
    scheduled_ = false;
  }
  for (auto& fn : running_) fn();
  running_.clear();
}

}  // namespace apitrail
