#include "cli/server_runtime.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "api/admin_api.h"
#include "api/metrics_text.h"
#include "auth/authenticator.h"
#include "cli/config_files_check.h"
#include "cli/key_event_recorder.h"
#include "core/time_util.h"
#include "gateway/completion_inbox.h"
#include "gateway/gateway.h"
#include "store/archive/archiver.h"
#include "store/archive/store_part_access.h"
#include "store/checkpoint.h"
#include "store/node_key.h"
#include "store/store.h"
#include "witness/witness_publisher.h"

namespace apitrail {
namespace {

// Remote key fetches happen in the background; their failures reach the log here, once per
// change (not every second).
void LogRemoteKeyProblems(const Authenticator& auth, std::string* last) {
  std::string now = auth.RemoteKeyProblems();
  if (now == *last) return;
  if (now.empty()) {
    spdlog::info("remote JWT keys: all fetched");
  } else {
    spdlog::warn("remote JWT keys: {}", now);
  }
  *last = std::move(now);
}

}  // namespace

void BlockServerSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A file-size limit must surface as a write error (fail closed), not kill the process.
  signal(SIGXFSZ, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
}

namespace {

// SIGHUP with a config loader: a new configuration and authenticator for requests that
// start from now on, and the admin API's tokens. Any error leaves the running configuration
// as it was.
void ReloadConfiguration(const ConfigReloader& reload_config, Gateway& gateway,
                         std::shared_ptr<Authenticator>* auth, AdminApi* admin_api) {
  auto config = reload_config();
  if (!config.ok()) {
    spdlog::error("SIGHUP: configuration not reloaded: {}", config.status().message());
    return;
  }
  // admin.tokens and the token file's lines as they are now: a token taken out stops
  // opening the admin API with this reload (whether admin is enabled, and where it listens,
  // is restart-only: gateway.cc RestartOnlyChange).
  std::optional<std::vector<std::string>> admin_tokens;
  if (admin_api != nullptr && (*config)->admin.enabled) {
    auto tokens = LoadAdminTokens((*config)->admin);
    if (!tokens.ok()) {
      spdlog::error("SIGHUP: configuration not reloaded: {}", tokens.status().message());
      return;
    }
    admin_tokens = std::move(tokens).value();
  }
  auto fresh = Authenticator::Create((*config)->auth, (*config)->audit.data_dir);
  if (!fresh.ok()) {
    spdlog::error("SIGHUP: configuration not reloaded: {}", fresh.status().message());
    return;
  }
  std::shared_ptr<Authenticator> next = std::move(fresh).value();
  if (Status st = gateway.Reload(*config, next); !st.ok()) {
    spdlog::error("SIGHUP: configuration not reloaded: {}", st.message());
    return;
  }
  *auth = std::move(next);
  if (admin_tokens && *admin_tokens != admin_api->Tokens()) {
    admin_api->SetTokens(std::move(*admin_tokens));
    spdlog::info("SIGHUP: admin API tokens replaced");
  }
  // Applied here, not with the gateway's settings: `serve` set it once at start, so a changed
  // log_level was reported reloaded and ignored.
  spdlog::set_level(spdlog::level::from_str((*config)->log_level));
  spdlog::info("SIGHUP: configuration reloaded ({} routes, {} upstreams); requests in flight finish under the previous one",
               (*config)->routes.size(), (*config)->upstreams.size());
}

// The archiver runs when a command or retention is configured. It reads part extents and
// days with the store's part reader; retention removes parts through the store, which stops
// serving a part before its file goes (docs/OPERATIONS.md "Archive and retention").
Result<std::unique_ptr<archive::Archiver>> StartArchiver(const Config& config, Store* store) {
  const ArchiveConfig& ac = config.audit.archive;
  const RetentionConfig& rc = config.audit.retention;
  if (!ac.enabled() && rc.days == 0) return std::unique_ptr<archive::Archiver>();
  archive::ArchiverOptions o;
  o.data_dir = config.audit.data_dir;
  o.command = ac.command;
  o.timeout = std::chrono::milliseconds(ac.timeout_ms);
  o.retry_min = std::chrono::milliseconds(ac.retry_min_ms);
  o.retry_max = std::chrono::milliseconds(ac.retry_max_ms);
  o.scan_interval = std::chrono::milliseconds(ac.scan_interval_ms);
  o.retention = {rc.days, rc.require_archive};
  o.remove_part = [store](const std::string& path) { return store->RemoveOldestPart(path); };
  static archive::StorePartAccess parts(DefaultFileSystem());
  o.parts = &parts;
  // The store created node.key when it opened; archiving the verifier key lets
  // `verify --archive` run without --key (self-consistency only, as `verify` without --key).
  auto key = NodeKey::Load(config.audit.data_dir + "/" + std::string(kNodeKeyFile));
  if (!key.ok()) return key.status();
  o.verifier_key_text = VerifierKeyText(CheckpointOrigin(config.node), (*key)->public_key());
  APITRAIL_ASSIGN_OR_RETURN(auto archiver, archive::Archiver::Start(std::move(o)));
  spdlog::info("archiver started: {}{}", ac.enabled() ? "archive command set" : "no archive command",
               rc.days > 0 ? ", retention " + std::to_string(rc.days) + " days" : std::string());
  return archiver;
}

}  // namespace

int RunServer(std::shared_ptr<const Config> config,
              const std::function<void(const ServerReady&)>& on_ready,
              ConfigReloader reload_config) {
  // Before the store creates its data dir: a file serve cannot use leaves nothing behind.
  if (auto problems = CheckConfigFiles(*config); !problems.empty()) {
    for (const auto& problem : problems) spdlog::error("{}", problem);
    return 1;
  }
  StoreOptions so;
  so.data_dir = config->audit.data_dir;
  so.node = config->node;
  so.durability = config->audit.durability == "batch" ? Durability::kBatch : Durability::kResponse;
  so.batch_interval_ms = config->audit.batch_interval_ms;
  so.queue_capacity = config->audit.queue_capacity;
  so.max_segment_bytes = config->audit.max_segment_bytes;
  so.block_cache_bytes = static_cast<size_t>(config->audit.block_cache_mb) << 20;
  so.direct_io = config->audit.direct_io;
  so.async_commit = config->audit.async_commit;
  so.rotate_daily = config->audit.rotate_daily;
  const CheckpointConfig& cc = config->audit.checkpoints;
  so.checkpoint_interval_ms = cc.max_lag_ms;
  so.checkpoint_heartbeat_ms = cc.heartbeat_ms;
  so.checkpoint_every_events = cc.every_events;
  // Before the store: Open hands it the newest existing checkpoint, so witnesses catch up on
  // what they may have missed while the node was down.
  auto witnesses = WitnessPublisher::Create(cc);
  if (!witnesses.ok()) {
    spdlog::error("audit.checkpoints.witnesses: {}", witnesses.status().message());
    return 1;
  }
  WitnessPublisher* publisher = witnesses->get();
  if (!publisher->empty()) so.on_checkpoint = [publisher](const SignedCheckpoint& cp) { publisher->Enqueue(cp); };
  so.after_callbacks = [] { CompletionInbox::FlushThreadPending(); };
  so.rollups.enabled = config->audit.rollups.enabled;
  so.rollups.max_keys = config->audit.rollups.max_keys;
  so.rollups.retention_days = config->audit.rollups.retention_days;
  so.rollups.persist_interval_ms = config->audit.rollups.persist_interval_ms;
  auto store = Store::Open(so);
  if (!store.ok()) {
    spdlog::error("cannot open the audit store in {}: {}", so.data_dir, store.status().ToString());
    return 1;
  }
  StoreStats opened = (*store)->Stats();
  spdlog::info("audit store open: {} records, root {}; group commits {}", opened.size, opened.root_hex,
               (*store)->CommitEventFd() >= 0   ? "through io_uring (workers keep serving while a commit is written)"
               : so.durability == Durability::kBatch ? "every batch interval (durability batch)"
                                                   : "with blocking writes");
  if (opened.recovered_truncated_bytes > 0) {
    spdlog::warn("recovery cut a torn tail of {} bytes (an unacknowledged, partly written batch)",
                 opened.recovered_truncated_bytes);
  }
  if (Rollups* r = (*store)->rollups()) {
    for (const auto& w : r->TakeWarnings()) spdlog::warn("{}", w);
  }

  auto archiver = StartArchiver(*config, store->get());
  if (!archiver.ok()) {
    spdlog::error("audit.archive: {}", archiver.status().message());
    return 1;
  }

  auto created = Authenticator::Create(config->auth, config->audit.data_dir);
  if (!created.ok()) {
    spdlog::error("{}", created.status().message());
    return 1;
  }
  std::shared_ptr<Authenticator> auth = std::move(created).value();
  auto gateway = Gateway::Create(config, auth, store->get());
  if (!gateway.ok()) {
    spdlog::error("{}", gateway.status().message());
    return 1;
  }
  if (Status st = (*gateway)->Start(); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }

  std::unique_ptr<SimpleHttpServer> admin;
  std::shared_ptr<AdminApi> admin_api;  // its tokens are replaced on SIGHUP
  if (config->admin.enabled) {
    auto tokens = LoadAdminTokens(config->admin);
    if (!tokens.ok()) {
      spdlog::error("{}", tokens.status().message());
      return 1;
    }
    AdminApiOptions ao;
    ao.store = store->get();
    ao.data_dir = config->audit.data_dir;
    ao.tokens = std::move(tokens).value();
    Gateway* g = gateway->get();
    Store* s = store->get();
    archive::Archiver* arch = archiver->get();
    ao.metrics = [g, s, publisher, arch] {
      return RenderMetrics(g->Metrics(), s->Stats()) + RenderWitnessMetrics(publisher->Stats()) +
             (arch != nullptr ? RenderArchiveMetrics(arch->Stats()) : std::string());
    };
    auto api = std::make_shared<AdminApi>(std::move(ao));
    admin_api = api;
    // Handlers run on these threads and a proof or a wide query can take seconds: with
    // one, it would hold up /healthz and /metrics too. Proofs take at most two of them
    // (admin_api.cc), so the others keep answering.
    auto server = SimpleHttpServer::Create(config->admin.listen, SimpleServerOptions{.threads = 4},
                                           [api](const SimpleRequest& r) { return api->Handle(r); });
    if (!server.ok()) {
      spdlog::error("admin.listen: {}", server.status().message());
      return 1;
    }
    admin = std::move(server).value();
    admin->Start();
  }
  ServerReady ready{(*gateway)->port(), admin ? admin->port() : uint16_t{0}};
  spdlog::info("gateway listening on {}:{}, admin on {}:{}", config->gateway.listen.host,
               ready.gateway_port, config->admin.listen.host, ready.admin_port);
  if (on_ready) on_ready(ready);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  KeyEventRecorder key_events(store->get(), config->node, config->audit.data_dir);
  Status last_reload, last_flush;
  std::string key_problems;
  auto housekeeping = [&](bool force_flush) {
    auth->MaybeReload();
    if (Status st = auth->LastReloadStatus(); st.ToString() != last_reload.ToString()) {
      if (!st.ok()) spdlog::error("API key reload failed, previous keys stay in force: {}", st.message());
      last_reload = st;
    }
    LogRemoteKeyProblems(*auth, &key_problems);
    key_events.Tick(auth->KeySnapshot(), NowNs());
    if (Status st = auth->FlushKeyUsage(force_flush); st.ToString() != last_flush.ToString()) {
      if (!st.ok()) spdlog::warn("cannot write API key last-use times: {}", st.message());
      last_flush = st;
    }
  };
  housekeeping(false);
  for (;;) {
    timespec one_second{1, 0};
    int sig = sigtimedwait(&set, nullptr, &one_second);
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGHUP && reload_config) {
      // The outgoing authenticator's last-use times are saved before it is replaced.
      (void)auth->FlushKeyUsage(true);
      ReloadConfiguration(reload_config, **gateway, &auth, admin_api.get());
    }
    // SIGHUP or the periodic check: revocations take effect within a second.
    housekeeping(sig == SIGHUP);
  }
  spdlog::info("shutting down: draining in-flight requests (up to {} ms)", config->gateway.drain_timeout_ms);
  uint64_t left = (*gateway)->Drain();
  if (left > 0) spdlog::warn("{} connections still open after the drain timeout", left);
  housekeeping(true);  // key changes and last uses up to the end, before the store closes
  (*gateway)->Stop();
  if (admin) admin->Stop();
  // A command still running is killed; its file stays pending and is archived next start.
  if (*archiver) (*archiver)->Stop();
  Status flushed = (*store)->Flush();
  (*store)->Close();  // signs the final checkpoint, queued for the witnesses
  publisher->Stop(std::chrono::milliseconds(2000));
  if (!flushed.ok()) {
    spdlog::error("final flush failed: {}", flushed.ToString());
    return 1;
  }
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace apitrail
