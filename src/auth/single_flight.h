// SingleFlight<T>: one asynchronous computation per key at a time, shared by every caller
// that asks for the same key while it runs (the Introspector's calls per token). The first
// caller leads: it computes and publishes the result with Lead::Finish. The others follow:
// they co_await Follow(), which resumes them on their own executor once the leader
// published, or after a time limit (nullopt then, as when the leader was destroyed without
// publishing: its coroutine was cancelled).
//
// Threads: Join and Follow from any thread; each follower is woken by a post to the executor
// it awaits on, so leader and followers may run on different worker threads.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace apitrail {

template <typename T>
class SingleFlight {
 public:
  struct Flight {
    std::mutex mu;
    bool done = false;                     // guarded by mu
    std::optional<T> value;                // guarded by mu; nullopt: abandoned
    std::vector<std::function<void()>> wake;  // guarded by mu
  };

  // The leader's claim on a key. Empty (false) for a follower. Publishing erases the key
  // first, so a caller arriving later leads a new computation (after it re-read whatever
  // cache the leader filled before publishing).
  class Lead {
   public:
    Lead() = default;
    Lead(Lead&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)), flight_(std::move(o.flight_)) {}
    Lead& operator=(Lead&& o) noexcept {
      if (this != &o) {
        if (owner_ != nullptr) Publish(std::nullopt);
        owner_ = std::exchange(o.owner_, nullptr);
        key_ = std::move(o.key_);
        flight_ = std::move(o.flight_);
      }
      return *this;
    }
    Lead(const Lead&) = delete;
    ~Lead() {
      if (owner_ != nullptr) Publish(std::nullopt);
    }
    explicit operator bool() const { return owner_ != nullptr; }
    void Finish(T value) { Publish(std::move(value)); }

   private:
    friend class SingleFlight;
    Lead(SingleFlight* owner, std::string key, std::shared_ptr<Flight> flight)
        : owner_(owner), key_(std::move(key)), flight_(std::move(flight)) {}
    void Publish(std::optional<T> value) {
      {
        std::lock_guard<std::mutex> lock(owner_->mu_);
        owner_->flights_.erase(key_);
      }
      owner_ = nullptr;
      std::vector<std::function<void()>> wake;
      {
        std::lock_guard<std::mutex> lock(flight_->mu);
        flight_->done = true;
        flight_->value = std::move(value);
        wake.swap(flight_->wake);
      }
      for (auto& w : wake) w();
    }

    SingleFlight* owner_ = nullptr;
    std::string key_;
    std::shared_ptr<Flight> flight_;
  };

  // Leads `key` when nothing runs for it (the Lead is then true), or sets *follow to the
  // flight to co_await with Follow.
  Lead Join(const std::string& key, std::shared_ptr<Flight>* follow) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = flights_.try_emplace(key);
    if (!inserted) {
      *follow = it->second;
      return Lead();
    }
    it->second = std::make_shared<Flight>();
    return Lead(this, key, it->second);
  }

  // The leader's result, or nullopt when it gave up (its coroutine was destroyed) or `limit`
  // passed first: the caller may then Join again.
  static boost::asio::awaitable<std::optional<T>> Follow(std::shared_ptr<Flight> flight,
                                                         std::chrono::milliseconds limit) {
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(executor, limit);
    auto waiter = std::make_shared<Waiter>(executor, &timer);
    // Runs when this coroutine returns or its frame is destroyed unresumed (its io_context
    // shut down): a leader finishing later then posts nothing to that executor, and no
    // handler touches the timer, which lives in this frame.
    struct Retire {
      Waiter* w;
      ~Retire() {
        std::lock_guard<std::mutex> lock(w->mu);
        w->timer = nullptr;
      }
    } retire{waiter.get()};
    bool done;
    {
      std::lock_guard<std::mutex> lock(flight->mu);
      done = flight->done;
      if (!done) {
        // The timer is cancelled on its own executor, never from the leader's thread.
        flight->wake.push_back([waiter] {
          std::lock_guard<std::mutex> lock(waiter->mu);
          if (waiter->timer == nullptr) return;
          boost::asio::post(waiter->executor, [waiter] {
            std::lock_guard<std::mutex> lock(waiter->mu);
            if (waiter->timer != nullptr) waiter->timer->cancel();
          });
        });
      }
    }
    if (!done) {
      boost::system::error_code ec;
      co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    std::lock_guard<std::mutex> lock(flight->mu);
    if (!flight->done) co_return std::nullopt;
    co_return flight->value;
  }

 private:
  struct Waiter {
    Waiter(boost::asio::any_io_executor ex, boost::asio::steady_timer* t) : executor(std::move(ex)), timer(t) {}
    std::mutex mu;
    boost::asio::any_io_executor executor;
    boost::asio::steady_timer* timer;  // guarded by mu; null once the follower is gone
  };

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;  // guarded by mu_
};

}  // namespace apitrail
