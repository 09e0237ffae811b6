#include "witness/witness.h"

namespace apitrail {

Result<std::unique_ptr<Witness>> MakeWitness(const WitnessConfig& c) {
  if (c.type == "file") return MakeFileWitness(c.name, c.dir);
  if (c.type == "syslog") {
    return MakeSyslogWitness(c.name, c.address, c.protocol == "tcp", c.facility, c.timeout_ms);
  }
  if (c.type == "webhook")
    return MakeWebhookWitness(c.name, c.url_address, c.url_target, c.timeout_ms);
  return Status::InvalidArgument("unknown witness type '" + c.type + "'");
}

}  // namespace apitrail
