// Witness: one place a signed checkpoint is published to, so that rewriting the log needs
// more than write access to the data dir (DESIGN §3, docs/CONFIG.md `audit.checkpoints`).
// Implementations: a directory elsewhere (file), an RFC 5424 syslog receiver over UDP or
// TCP (syslog), an HTTP POST of the note text (webhook). Publish may block for at most the
// configured timeout; it is only ever called from that witness's own publisher thread
// (witness_publisher.h), never from the store's writer. Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "core/status.h"
#include "store/store.h"

namespace apitrail {

class Witness {
 public:
  virtual ~Witness() = default;
  // OK once the witness has the checkpoint. Unavailable/IoError: try again later.
  // AlreadyExists: the witness holds a different checkpoint of the same size (a forked or
  // rewritten log) and refuses this one; retrying cannot help.
  virtual Status Publish(const SignedCheckpoint& checkpoint) = 0;
  const std::string& name() const { return name_; }

 protected:
  explicit Witness(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// From a validated WitnessConfig; `node` names the sender (syslog HOSTNAME is the host).
Result<std::unique_ptr<Witness>> MakeWitness(const WitnessConfig& config);

std::unique_ptr<Witness> MakeFileWitness(const std::string& name, const std::string& dir);
std::unique_ptr<Witness> MakeSyslogWitness(const std::string& name, const HostPort& address,
                                           bool tcp, uint32_t facility, uint32_t timeout_ms);
std::unique_ptr<Witness> MakeWebhookWitness(const std::string& name, const HostPort& address,
                                            const std::string& target, uint32_t timeout_ms);

// The RFC 5424 message for `checkpoint` (exposed for tests): PRI facility*8+6 (info),
// version 1, the signing time in UTC with microseconds, `hostname`, APP-NAME "apitrail",
// PROCID `pid`, MSGID "checkpoint", no structured data, then a UTF-8 BOM and the note.
std::string SyslogMessage(const SignedCheckpoint& checkpoint, uint32_t facility,
                          const std::string& hostname, int pid);

// File name of a checkpoint of tree size `size` in a file witness's directory:
// "<size, 20 digits>.checkpoint".
std::string WitnessFileName(uint64_t size);

}  // namespace apitrail
