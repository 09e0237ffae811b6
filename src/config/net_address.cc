// ParseHostPort, ParseCidr and CidrContains (declared in config_loader.h): address syntax
// shared by the config and by the gateway's trusted-proxy check.
#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

#include "config/config_loader.h"

namespace apitrail {
namespace {

// IPv4 literals become IPv4-mapped IPv6 (::ffff:a.b.c.d), so one 16-byte compare serves both.
bool ParseIp(std::string_view text, uint8_t out[16], bool* is_v4) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  size_t zone = s.find('%');  // fe80::1%eth0: the zone does not change the address bits
  if (zone != std::string::npos) s.resize(zone);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out + 12, &v4, 4);
    *is_v4 = true;
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out, &v6, 16);
    *is_v4 = false;
    return true;
  }
  return false;
}

// Host name: dot-separated labels of letters, digits, '-' and '_', not starting or ending
// with '-'. RFC 1123 has no '_', but resolvers (getaddrinfo, Docker's embedded DNS) answer
// names such as `billing_api` or `orders_db_1`, and nginx and HAProxy accept them, so a
// config naming such an upstream was refused for nothing.
bool IsHostName(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : h) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  if (prev == '-' || prev == '.') return false;
  // RFC 3696 §2: a top-level label is never all digits; "1.2.3.256" is a mistyped address.
  const size_t last = h.rfind('.');
  const std::string_view tld = last == std::string_view::npos ? h : h.substr(last + 1);
  return tld.find_first_not_of("0123456789") != std::string_view::npos;
}

bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

bool ParseHostPort(const std::string& text, HostPort* out, std::string* error) {
  // "https://ghp_…@api.internal" or "user:pw@host:443" where host:port belongs: the messages
  // below quote what they refuse, and that would print the credential (config check, the
  // log of a refused SIGHUP).
  if (text.find('@') != std::string::npos) {
    *error = "expected 'host:port' without user info ('user@'); the value is not shown, as it "
             "may hold a credential";
    return false;
  }
  std::string_view t = text;
  std::string host;
  std::string_view port_text;
  if (!t.empty() && t[0] == '[') {
    size_t close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') {
      *error = "expected '[ipv6]:port', got '" + text + "'";
      return false;
    }
    host = std::string(t.substr(1, close - 1));
    port_text = t.substr(close + 2);
    uint8_t addr[16];
    bool v4 = false;
    if (!ParseIp(host, addr, &v4) || v4) {
      *error = "'" + host + "' is not an IPv6 address";
      return false;
    }
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "expected 'host:port', got '" + text + "'";
      return false;
    }
    host = std::string(t.substr(0, colon));
    port_text = t.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      *error = "IPv6 addresses must be written in brackets: '[::1]:8080'";
      return false;
    }
    if (host.empty()) host = "127.0.0.1";
    uint8_t addr[16];
    bool v4 = false;
    in_addr legacy;
    if (!ParseIp(host, addr, &v4) && inet_aton(host.c_str(), &legacy) == 1) {
      // getaddrinfo (the resolver of upstreams, listeners and witnesses) still reads the
      // inet_aton forms: "010.0.0.1" is 8.0.0.1 there (octal), "127.1" and "0x7f000001" are
      // 127.0.0.1. Such a name is an address nobody meant to write that way.
      char text_form[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &legacy, text_form, sizeof(text_form));
      *error = "'" + host + "' is not a dotted-decimal IPv4 address (a resolver reads it as " +
               text_form + ")";
      return false;
    }
    if (!ParseIp(host, addr, &v4) && !IsHostName(host)) {
      *error = "'" + host + "' is neither an IP address nor a host name";
      return false;
    }
  }
  uint16_t port = 0;
  if (!ParsePort(port_text, &port)) {
    *error = "port '" + std::string(port_text) + "' is not a number in 0..65535";
    return false;
  }
  out->host = host;
  out->port = port;
  return true;
}

bool ParseCidr(const std::string& text, Cidr* out, std::string* error) {
  std::string_view t = text;
  size_t slash = t.find('/');
  std::string_view addr_text = t.substr(0, slash);
  uint8_t addr[16];
  bool v4 = false;
  if (addr_text.find('%') != std::string_view::npos || !ParseIp(addr_text, addr, &v4)) {
    *error = "'" + text + "' is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)";
    return false;
  }
  int max_len = v4 ? 32 : 128;
  int len = max_len;
  if (slash != std::string_view::npos) {
    std::string_view len_text = t.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    // from_chars takes a sign: "0.0.0.0/-0" would be read as /0.
    if (len_text.empty() || len_text[0] == '-' || ec != std::errc() || ptr != len_text.data() + len_text.size() ||
        len < 0 || len > max_len) {
      *error = "prefix length in '" + text + "' must be 0.." + std::to_string(max_len);
      return false;
    }
  }
  int prefix = v4 ? len + 96 : len;
  // Host bits set ("10.0.0.1/8") usually means a typo in the address or the length.
  for (int bit = prefix; bit < 128; ++bit) {
    if (addr[bit / 8] & (0x80 >> (bit % 8))) {
      *error = "'" + text + "' has host bits set beyond /" + std::to_string(len);
      return false;
    }
  }
  out->text = text;
  std::memcpy(out->addr, addr, 16);
  out->prefix_len = prefix;
  return true;
}

namespace {

bool Contains(const Cidr& cidr, const uint8_t addr[16]) {
  if (cidr.prefix_len < 0 || cidr.prefix_len > 128) return false;
  int full = cidr.prefix_len / 8;
  if (std::memcmp(addr, cidr.addr, full) != 0) return false;
  int rest = cidr.prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (cidr.addr[full] & mask);
}

}  // namespace

bool CidrContains(const Cidr& cidr, const std::string& ip) {
  uint8_t addr[16];
  bool v4 = false;
  return ParseIp(ip, addr, &v4) && Contains(cidr, addr);
}

bool AnyCidrContains(const std::vector<Cidr>& cidrs, std::string_view ip) {
  if (cidrs.empty()) return false;
  uint8_t addr[16];
  bool v4 = false;
  if (!ParseIp(ip, addr, &v4)) return false;  // parsed once, not once per CIDR
  for (const Cidr& c : cidrs) {
    if (Contains(c, addr)) return true;
  }
  return false;
}

}  // namespace apitrail
