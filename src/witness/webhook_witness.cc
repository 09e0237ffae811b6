// Webhook witness: POSTs the signed note text (Content-Type text/plain; charset=utf-8) to
// an http:// URL; any 2xx answer means the receiver has it. Plain HTTP only (no TLS yet):
// the note is public and signed, so a man in the middle can drop it (counted as a failure)
// but cannot forge or alter one unnoticed.
#include <sys/socket.h>

#include "core/fetch_url.h"
#include "net/simple_http.h"
#include "witness/socket_util.h"
#include "witness/witness.h"

namespace apitrail {

namespace {

class WebhookWitness final : public Witness {
 public:
  WebhookWitness(std::string name, HostPort address, std::string target, uint32_t timeout_ms)
      : Witness(std::move(name)),
        address_(std::move(address)),
        target_(std::move(target)),
        timeout_ms_(timeout_ms) {}

  Status Publish(const SignedCheckpoint& cp) override {
    APITRAIL_ASSIGN_OR_RETURN(witness_internal::ResolvedAddress ip,
                              witness_internal::Resolve(address_, SOCK_STREAM));
    HostPort to{ip.ip, address_.port};
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "text/plain; charset=utf-8"},
        {"Apitrail-Checkpoint-Size", std::to_string(cp.size)},
        {"User-Agent", "apitrail-witness"},
    };
    auto res = HttpRequest(to, "POST", target_, headers, cp.note, timeout_ms_);
    if (!res.ok()) return Status::Unavailable(res.status().message());
    if (res->status < 200 || res->status > 299) {
      // The target's query may hold the receiver's credential (?token=…): not logged.
      return Status::Unavailable(address_.ToString() + RedactedUrl(target_) + " answered " +
                                 std::to_string(res->status));
    }
    return Status::Ok();
  }

 private:
  HostPort address_;
  std::string target_;
  uint32_t timeout_ms_;
};

}  // namespace

std::unique_ptr<Witness> MakeWebhookWitness(const std::string& name, const HostPort& address,
                                            const std::string& target, uint32_t timeout_ms) {
  return std::make_unique<WebhookWitness>(name, address, target, timeout_ms);
}

}  // namespace apitrail
