// Redactor: decides which request parameter names carry secrets and turns a raw query
// string into the redacted, bounded key/value list stored in the audit event (DESIGN §2:
// secrets never enter an event). Built once from RedactionConfig; immutable afterwards,
// so one instance is shared by all workers and every const method is thread-safe.
//
// Names are normalised before matching: camelCase boundaries and every character other
// than a letter or digit become '_', then lower-case ("X-Api-Key" → "x_api_key",
// "accessToken" → "access_token", "user[password]" → "user_password_"). A name is secret
// when the normalised name
//   - contains one of the long built-in words anywhere (password, passwd, secret, token,
//     apikey, api_key, authorization, credential, cookie, session, signature,
//     private_key, privatekey, cardnumber, card_number, jwt, bearer, assertion), or
//   - contains one of the short built-in words as whole '_'-separated words (key, auth,
//     pwd, pass, pin, otp, sig, ssn, cvv, cvc, sid), so "monkey" or "author" stay visible
//     but "key", "api_key_id" and "auth_code" do not, or
//   - contains a configured extra name (normalised the same way) as whole words, or does
//     so when both are only lower-cased, without camel-case splitting (extras are
//     case-insensitive: extra "mycustom" covers "myCustom", "ticketId" covers "ticketid").
// Whatever its name, a parameter whose name or value holds an API key (atk_…) or a compact JWT
// is redacted too. The list and its reasons are in docs/CONFIG.md ("Redaction").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/event.h"

namespace apitrail {

class Redactor {
 public:
  static constexpr std::string_view kRedacted = "[REDACTED]";
  static constexpr std::string_view kTruncated = "\xE2\x80\xA6[truncated]";  // "…[truncated]"
  static constexpr size_t kMaxParams = 64;
  static constexpr size_t kMaxNameBytes = 128;
  static constexpr size_t kMaxValueBytes = 1024;

  explicit Redactor(const RedactionConfig& config);

  // True if a parameter (or header/body field) with this name must not be recorded. The
  // answer for a short name is remembered per thread (at most kCachedNames names per
  // Redactor): names repeat from request to request, and the check is a few dozen
  // substring searches (~0.3 µs per query parameter in the gateway's profile).
  bool IsSecretName(std::string_view name) const;

  // Parses "a=1&b=x+y&flag" into {{"a","1"},{"b","x y"},{"flag",""}}: '&'-separated,
  // empty pieces skipped, names and values percent-decoded with '+' as space (a malformed
  // escape is kept literally). Secret names get the value "[REDACTED]". At most kMaxParams
  // pairs are kept; if more follow, one last pair {"…[truncated]", "<n> more"} says how
  // many were dropped. Names over kMaxNameBytes and values over kMaxValueBytes are cut (on
  // a UTF-8 boundary) and end in "…[truncated]".
  KeyValues RedactQuery(std::string_view raw_query) const;

  static constexpr size_t kCachedNames = 1024;
  static constexpr size_t kMaxCachedNameBytes = 64;

 private:
  bool ComputeIsSecretName(std::string_view name) const;

  std::vector<std::string> extra_;        // normalised
  std::vector<std::string> extra_lower_;  // the same, lower-cased only (LowerOnly)
  const uint64_t id_;               // tells the per-thread caches of two Redactors apart
};

}  // namespace apitrail
