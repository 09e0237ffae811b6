// RemoteKeySet and KeyRefresher (remote_key_set.h): one coroutine per key set on the
// refresher's io_context, sleeping on a steady_timer that RequestRefresh() may pull forward.
#include "auth/remote_key_set.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <condition_variable>

#include <spdlog/spdlog.h>

#include "core/fetch_url.h"
#include "core/thread_util.h"
#include "net/https_client.h"

namespace apitrail {
namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct RemoteKeySet::Loop {
  explicit Loop(asio::io_context& ioc) : timer(ioc) {}
  asio::steady_timer timer;
  Clock::time_point last_fetch{};
  // No fetch on request before this: the minimum interval after a success, the backoff
  // after a failure (made-up kids must not turn an outage into a fetch loop).
  Clock::time_point not_before{};
  bool stopping = false;
};

Result<std::shared_ptr<RemoteKeySet>> RemoteKeySet::Create(const JwtIssuerConfig& config,
                                                           std::string where, JwsAlgSet algorithms,
                                                           bool explicit_list) {
  std::shared_ptr<RemoteKeySet> s(new RemoteKeySet());
  s->config_ = config;
  s->config_.secret.clear();
  s->where_ = std::move(where);
  s->algorithms_ = algorithms;
  s->explicit_list_ = explicit_list;
  auto tls = TlsClientContext::Create(config.ca_file);
  if (!tls.ok()) {
    return Status(tls.status().code(), s->where_ + ".ca_file: " + tls.status().message());
  }
  s->tls_ = std::move(tls).value();
  s->jwks_uri_ = config.jwks_url;
  return s;
}

RemoteKeySet::~RemoteKeySet() = default;

std::shared_ptr<const std::vector<VerificationKey>> RemoteKeySet::Keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_;
}

std::string RemoteKeySet::LastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

namespace {

FetchOptions OptionsFor(const JwtIssuerConfig& c, const std::shared_ptr<TlsClientContext>& tls) {
  FetchOptions o;
  o.tls = tls;
  o.allow_http = c.allow_insecure_http;
  o.timeout_ms = c.fetch_timeout_ms;
  o.max_response_bytes = c.max_jwks_bytes;
  return o;
}

// `discovery` document → jwks_uri, after checking that it speaks for the configured issuer.
asio::awaitable<Result<std::string>> Discover(const JwtIssuerConfig& c,
                                              const std::shared_ptr<TlsClientContext>& tls) {
  std::string base = c.issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  FetchRequest req;
  req.url = base + "/.well-known/openid-configuration";
  req.headers.emplace_back("Accept", "application/json");
  FetchOptions options = OptionsFor(c, tls);
  auto res = co_await Fetch(std::move(req), std::move(options));
  if (!res.ok()) co_return Status(res.status().code(), "discovery: " + res.status().message());
  if (res->status != 200) {
    co_return Status::Unavailable("discovery: HTTP " + std::to_string(res->status));
  }
  boost::system::error_code ec;
  json::value doc = json::parse(res->body, ec);
  if (ec || !doc.is_object()) co_return Status::InvalidArgument("discovery: not a JSON object");
  const json::value* iss = doc.get_object().if_contains("issuer");
  if (iss == nullptr || !iss->is_string() || iss->get_string() != c.issuer) {
    // OpenID Connect Discovery §4.3: the document must be for exactly this issuer.
    co_return Status::InvalidArgument("discovery: the document's issuer is not " + c.issuer);
  }
  const json::value* uri = doc.get_object().if_contains("jwks_uri");
  if (uri == nullptr || !uri->is_string()) {
    co_return Status::InvalidArgument("discovery: no jwks_uri");
  }
  std::string jwks_uri(uri->get_string());
  auto parsed = ParseFetchUrl(jwks_uri, c.allow_insecure_http);
  if (!parsed.ok())
    co_return Status::InvalidArgument("discovery: jwks_uri: " + parsed.status().message());
  co_return jwks_uri;
}

struct Fetched {
  std::vector<VerificationKey> keys;
  int64_t max_age_s = -1;  // -1: no Cache-Control max-age
  std::vector<std::string> skipped;  // malformed keys left out (ParseJwks)
};

// One discovery (if needed) and JWKS fetch. The keys are pinned as file keys are; HMAC
// secrets are never taken from the network.
asio::awaitable<Result<Fetched>> FetchOnce(const JwtIssuerConfig& c, JwsAlgSet algorithms,
                                           bool explicit_list,
                                           const std::shared_ptr<TlsClientContext>& tls,
                                           std::string* jwks_uri) {
  if (jwks_uri->empty()) {
    auto found = co_await Discover(c, tls);
    if (!found.ok()) co_return found.status();
    *jwks_uri = std::move(found).value();
  }
  FetchRequest req;
  req.url = *jwks_uri;
  req.headers.emplace_back("Accept", "application/json, application/jwk-set+json");
  FetchOptions options = OptionsFor(c, tls);
  auto res = co_await Fetch(std::move(req), std::move(options));
  if (!res.ok()) co_return res.status();
  if (res->status != 200) {
    co_return Status::Unavailable(RedactedUrl(*jwks_uri) + ": HTTP " + std::to_string(res->status));
  }
  Fetched out;
  auto set = ParseJwks(res->body, &out.skipped);
  if (!set.ok()) co_return Status::InvalidArgument(RedactedUrl(*jwks_uri) + ": " + set.status().message());
  for (auto& k : *set) {
    if (k.family == KeyFamily::kHmac) continue;
    if (RestrictToIssuer(&k, algorithms, explicit_list)) out.keys.push_back(std::move(k));
  }
  if (out.keys.empty()) {
    co_return Status::InvalidArgument(RedactedUrl(*jwks_uri) + ": no key for the allowed algorithms");
  }
  out.max_age_s = CacheControlMaxAge(res->Header("Cache-Control"));
  co_return out;
}

// True if every key of `before` is in `after` (same kid, family, algorithms and key).
bool KeepsEveryKey(const std::vector<VerificationKey>& before,
                   const std::vector<VerificationKey>& after) {
  return std::all_of(before.begin(), before.end(), [&](const VerificationKey& b) {
    return std::any_of(after.begin(), after.end(), [&](const VerificationKey& a) {
      return a.kid == b.kid && a.family == b.family && a.algs == b.algs && a.pkey && b.pkey &&
             EVP_PKEY_eq(a.pkey.get(), b.pkey.get()) == 1;
    });
  });
}

}  // namespace

struct KeyRefresher::Impl {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
  std::vector<std::shared_ptr<RemoteKeySet>> sets;
  std::vector<std::unique_ptr<RemoteKeySet::Loop>> loops;
  std::thread thread;
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool started = false;

  asio::awaitable<void> Run(RemoteKeySet* s, RemoteKeySet::Loop* loop);
};

void RemoteKeySet::RequestRefresh() {
  if (refresh_wanted_.exchange(true, std::memory_order_acq_rel)) return;  // one in flight
  std::lock_guard<std::mutex> lock(mu_);
  if (loop_ == nullptr) return;
  Loop* loop = loop_;
  // During a fetch the timer has expired already and this changes nothing: the loop sees
  // refresh_wanted_ when the fetch ends.
  asio::post(loop->timer.get_executor(), [loop] {
    if (loop->stopping) return;
    Clock::time_point earliest = std::max(Clock::now(), loop->not_before);
    if (loop->timer.expiry() > earliest) loop->timer.expires_at(earliest);  // wakes the loop
  });
}

asio::awaitable<void> KeyRefresher::Impl::Run(RemoteKeySet* s, RemoteKeySet::Loop* loop) {
  const JwtIssuerConfig& c = s->config_;
  const milliseconds floor(c.jwks_max_age_min_ms), ceiling(c.jwks_max_age_max_ms);
  const milliseconds min_interval(c.jwks_refresh_min_interval_ms);
  milliseconds backoff(1000);
  for (;;) {
    loop->last_fetch = Clock::now();
    s->refresh_wanted_.store(false, std::memory_order_release);
    Result<Fetched> r =
        co_await FetchOnce(c, s->algorithms_, s->explicit_list_, s->tls_, &s->jwks_uri_);
    milliseconds next;
    if (r.ok()) {
      backoff = milliseconds(1000);
      // Once per change, not at every refresh.
      std::string skipped;
      for (const auto& k : r->skipped) skipped += (skipped.empty() ? "" : "; ") + k;
      if (skipped != s->skipped_logged_ && !skipped.empty()) {
        spdlog::warn("{}: {} skipped (malformed keys in the issuer's JWKS; the others are used)",
                     s->where_, skipped);
      }
      s->skipped_logged_ = std::move(skipped);
      int64_t age_s = std::min<int64_t>(r->max_age_s, int64_t{1} << 40);
      next = age_s < 0 ? ceiling : std::clamp(milliseconds(age_s * 1000), floor, ceiling);
      auto keys = std::make_shared<const std::vector<VerificationKey>>(std::move(r->keys));
      std::lock_guard<std::mutex> lock(s->mu_);
      // Under the same lock as the swap: whoever reads the new generation gets the new keys
      // from Keys(), and a token verified with the old ones is cached under the old number.
      if (s->keys_ && !KeepsEveryKey(*s->keys_, *keys)) {
        s->generation_.fetch_add(1, std::memory_order_acq_rel);
      }
      s->keys_ = std::move(keys);
      s->last_error_.clear();
    } else {
      if (c.discovery) s->jwks_uri_.clear();  // the jwks_uri may have moved: rediscover
      next = std::min<milliseconds>(backoff, ceiling);
      backoff = std::min<milliseconds>(backoff * 2, milliseconds(300000));
      std::lock_guard<std::mutex> lock(s->mu_);
      s->last_error_ = r.status().message().substr(0, 300);
    }
    s->fetches_.fetch_add(1, std::memory_order_relaxed);
    if (!s->first_done_.exchange(true)) {
      std::lock_guard<std::mutex> lock(done_mu);
      done_cv.notify_all();
    }
    if (loop->stopping) co_return;
    loop->not_before = loop->last_fetch + (r.ok() ? min_interval : std::max(min_interval, next));
    Clock::time_point due = Clock::now() + next;
    // Asked for while this fetch ran (a kid it may lack was published meanwhile): as soon
    // as allowed, instead of at the scheduled refresh a day away.
    if (s->refresh_wanted_.load(std::memory_order_acquire)) due = std::min(due, std::max(Clock::now(), loop->not_before));
    loop->timer.expires_at(due);
    for (;;) {
      boost::system::error_code ec;
      co_await loop->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (loop->stopping) co_return;
      if (loop->timer.expiry() <= Clock::now()) break;  // else pulled forward: wait again
    }
  }
}

KeyRefresher::KeyRefresher(std::vector<std::shared_ptr<RemoteKeySet>> sets)
    : impl_(std::make_unique<Impl>()) {
  impl_->sets = std::move(sets);
}

KeyRefresher::~KeyRefresher() { Stop(); }

void KeyRefresher::Start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& s : impl_->sets) {
    impl_->loops.push_back(std::make_unique<RemoteKeySet::Loop>(impl_->ioc));
    RemoteKeySet::Loop* loop = impl_->loops.back().get();
    {
      std::lock_guard<std::mutex> lock(s->mu_);
      s->loop_ = loop;
    }
    asio::co_spawn(impl_->ioc, impl_->Run(s.get(), loop), asio::detached);
  }
  impl_->thread = std::thread([this] {
    NameThisThread("at-keys-fetch");
    impl_->ioc.run();
  });
}

void KeyRefresher::WaitForFirstFetch(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->done_mu);
  impl_->done_cv.wait_for(lock, timeout, [&] {
    for (const auto& s : impl_->sets) {
      if (!s->first_done_.load()) return false;
    }
    return true;
  });
}

void KeyRefresher::Stop() {
  if (!impl_ || !impl_->started) return;
  impl_->started = false;
  for (auto& s : impl_->sets) {
    std::lock_guard<std::mutex> lock(s->mu_);
    s->loop_ = nullptr;
  }
  // Suspended coroutines (sleeping or mid-fetch) are destroyed with the io_context, never
  // resumed; nothing waits for an in-flight fetch.
  impl_->work.reset();
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace apitrail
