// CompletionInbox: delivers the store's completions to one worker in one post per group
// commit instead of one post per event.
//
// The store completes a batch of events on its writer thread. Posting each completion to
// the worker's io_context separately wakes the worker at the first post, which then
// preempts the writer (both share a core when pinned) before it has posted the rest: a
// ping-pong of context switches per commit. Instead each completion is added to its
// worker's inbox, and the writer hands every inbox it touched to its worker with one post
// once the batch's callbacks ran (FlushThreadPending, wired as
// StoreOptions::after_callbacks).
//
// Add and FlushThreadPending are called on the thread that runs the store's callbacks;
// Drain runs on the worker's thread (posted). The inbox must outlive its io_context's
// handlers: the Worker owns both and declares the inbox first.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <mutex>
#include <vector>

namespace apitrail {

class CompletionInbox {
 public:
  explicit CompletionInbox(boost::asio::io_context& io) : io_(io) {}
  CompletionInbox(const CompletionInbox&) = delete;
  CompletionInbox& operator=(const CompletionInbox&) = delete;

  // Queues `fn` to run on the worker; it runs after the calling thread's next
  // FlushThreadPending().
  void Add(std::function<void()> fn);
  // Posts one drain to each inbox this thread added to since its last flush.
  static void FlushThreadPending();

 private:
  void Drain();

  boost::asio::io_context& io_;
  std::mutex mu_;
  std::vector<std::function<void()>> items_;  // guarded by mu_
  std::vector<std::function<void()>> running_;  // worker thread only
  bool scheduled_ = false;  // guarded by mu_: listed for a flush or a drain is posted
};

}  // namespace apitrail
