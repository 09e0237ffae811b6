// Syslog witness: each checkpoint as one RFC 5424 message, over UDP (one datagram) or TCP
// (RFC 6587 octet counting, "LEN SP MSG", on a connection kept open and re-opened after an
// error). UDP gives no delivery guarantee: a datagram the network drops is still counted
// as published; over TCP a message written just as the receiver closes can be lost too
// (RFC 6587 has no acknowledgement). Add a file or webhook witness where that matters.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "witness/socket_util.h"
#include "witness/witness.h"

namespace apitrail {

namespace {

using namespace witness_internal;

std::string LocalHostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "-";
  std::string h(buf);
  for (char& c : h) {
    if (c <= 0x20 || c >= 0x7f) c = '-';
  }
  return h;
}

class SyslogWitness final : public Witness {
 public:
  SyslogWitness(std::string name, HostPort address, bool tcp, uint32_t facility,
                uint32_t timeout_ms)
      : Witness(std::move(name)),
        address_(std::move(address)),
        tcp_(tcp),
        facility_(facility),
        timeout_ms_(timeout_ms),
        hostname_(LocalHostName()) {}
  ~SyslogWitness() override { Disconnect(); }

  Status Publish(const SignedCheckpoint& cp) override {
    const std::string msg = SyslogMessage(cp, facility_, hostname_, ::getpid());
    return tcp_ ? SendTcp(std::to_string(msg.size()) + " " + msg) : SendUdp(msg);
  }

 private:
  Status SendUdp(const std::string& msg) {
    APITRAIL_ASSIGN_OR_RETURN(ResolvedAddress to, Resolve(address_, SOCK_DGRAM));
    int fd = ::socket(to.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::Unavailable("udp socket failed");
    ssize_t n = ::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&to.addr),
                         to.len);
    ::close(fd);
    if (n != static_cast<ssize_t>(msg.size()))
      return Status::Unavailable("udp send to " + address_.ToString() + " failed");
    return Status::Ok();
  }

  Status SendTcp(const std::string& frame) {
    if (fd_ < 0) {
      APITRAIL_ASSIGN_OR_RETURN(ResolvedAddress to, Resolve(address_, SOCK_STREAM));
      APITRAIL_ASSIGN_OR_RETURN(fd_, ConnectWithTimeout(to, SOCK_STREAM, timeout_ms_));
    }
    Status st = SendAll(fd_, frame, timeout_ms_);
    if (!st.ok()) {
      Disconnect();
      return Status::Unavailable("tcp " + address_.ToString() + ": " + st.message());
    }
    return Status::Ok();
  }

  void Disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  HostPort address_;
  bool tcp_;
  uint32_t facility_;
  uint32_t timeout_ms_;
  std::string hostname_;
  int fd_ = -1;
};

}  // namespace

std::string SyslogMessage(const SignedCheckpoint& cp, uint32_t facility,
                          const std::string& hostname, int pid) {
  const time_t secs = static_cast<time_t>(cp.time_ns / 1000000000);
  const long micros = static_cast<long>((cp.time_ns % 1000000000) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  std::string out = "<" + std::to_string(facility * 8 + 6) + ">1 " + ts + " " + hostname +
                    " apitrail " + std::to_string(pid) + " checkpoint - \xEF\xBB\xBF";
  out += cp.note;
  return out;
}

std::unique_ptr<Witness> MakeSyslogWitness(const std::string& name, const HostPort& address,
                                           bool tcp, uint32_t facility, uint32_t timeout_ms) {
  return std::make_unique<SyslogWitness>(name, address, tcp, facility, timeout_ms);
}

}  // namespace apitrail
