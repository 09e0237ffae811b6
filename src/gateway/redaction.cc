#include "gateway/redaction.h"

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>  // std::equal_to

#include "core/string_hash.h"
#include "core/utf8.h"
#include "gateway/path_check.h"

namespace apitrail {
namespace {

// Distinctive enough to match anywhere in a name ("csrftoken", "userPassword").
constexpr std::array<std::string_view, 18> kSubstringWords = {
    "password", "passwd",     "secret",     "token",       "apikey",      "api_key",
    "authorization", "credential", "cookie", "session",   "signature",   "private_key",
    "privatekey", "cardnumber", "card_number", "jwt",      "bearer",      "assertion"};
// Too short to match inside other words ("monkey", "author", "spin", "design"): these
// match only as whole '_'-separated words of the normalised name.
constexpr std::array<std::string_view, 11> kWholeWords = {
    "key", "auth", "pwd", "pass", "pin", "otp", "sig", "ssn", "cvv", "cvc", "sid"};

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Normalize(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 4);
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (IsUpper(c)) {
      // "accessToken" → "access_token"; "APIKey" → "api_key" (an upper-case run ends
      // before the capital that starts the next word).
      bool after_lower = i > 0 && (IsLower(name[i - 1]) || IsDigit(name[i - 1]));
      bool run_end = i > 0 && IsUpper(name[i - 1]) && i + 1 < name.size() && IsLower(name[i + 1]);
      if (after_lower || run_end) out.push_back('_');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (IsLower(c) || IsDigit(c)) {
      out.push_back(c);
    } else {
      out.push_back('_');
    }
  }
  return out;
}

// Lower-case, every character other than a letter or digit as '_', camel-case boundaries
// kept as they are ("myTicket" → "myticket"): with Normalize, the two readings of a name an
// extra is matched in, so an extra matches the names equal to it but for case.
std::string LowerOnly(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (IsUpper(c)) {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (!IsLower(c) && !IsDigit(c)) {
      c = '_';
    }
  }
  return out;
}

// Without the '_' that punctuation at the ends turns into, so "x-secret-" still matches;
// "" when nothing else is left.
std::string TrimUnderscores(const std::string& n) {
  size_t b = n.find_first_not_of('_');
  if (b == std::string::npos) return "";
  return n.substr(b, n.find_last_not_of('_') - b + 1);
}

bool ContainsWholeWord(std::string_view hay, std::string_view word) {
  for (size_t pos = hay.find(word); pos != std::string_view::npos;
       pos = hay.find(word, pos + 1)) {
    size_t end = pos + word.size();
    if ((pos == 0 || hay[pos - 1] == '_') && (end == hay.size() || hay[end] == '_')) return true;
  }
  return false;
}

bool IsBase62(char c) { return IsLower(c) || IsUpper(c) || IsDigit(c); }
bool IsBase64Url(char c) { return IsBase62(c) || c == '-' || c == '_'; }

// An apitrail API key anywhere in s: "atk_" + 8 base62 + "_" + 38 base62 (auth/api_key.h; the
// checksum is not checked: a mistyped key is still a secret).
bool HoldsApiKey(std::string_view s) {
  constexpr size_t kIdEnd = 4 + 8, kKeyLength = 51;
  for (size_t p = s.find("atk_"); p != std::string_view::npos; p = s.find("atk_", p + 1)) {
    if (s.size() - p < kKeyLength || s[p + kIdEnd] != '_') continue;
    bool ok = true;
    for (size_t i = 4; i < kKeyLength && ok; ++i) ok = i == kIdEnd || IsBase62(s[p + i]);
    if (ok) return true;
  }
  return false;
}

// A JWS/JWT in compact form anywhere in s: "eyJ" (a base64url JSON object) then
// header.payload.signature of base64url characters.
// Linear: a scan from p that fails stops at i, and so would one from any later "eyJ" before
// i (with no more dots), so the next search starts at i — from p + 1, a value of 20k "eyJ"s
// (one 60 KiB request line) cost ~0.5 s of a worker's CPU.
bool HoldsJwt(std::string_view s) {
  size_t i = 0;
  for (size_t p = s.find("eyJ"); p != std::string_view::npos; p = s.find("eyJ", std::max(i, p + 1))) {
    size_t dots = 0, part = 0;
    i = p;
    for (; i < s.size(); ++i) {
      if (IsBase64Url(s[i])) {
        ++part;
      } else if (s[i] == '.' && part > 0 && dots < 2) {
        ++dots;
        part = 0;
      } else {
        break;
      }
    }
    if (dots == 2) return true;
  }
  return false;
}

// Cuts s to at most max bytes without splitting a UTF-8 sequence, then marks the cut.
void Truncate(std::string* s, size_t max) {
  if (s->size() <= max) return;
  s->resize(utf8::CutLength(*s, max));
  s->append(Redactor::kTruncated);
}

}  // namespace

namespace {

// One per thread: the answers of the Redactor with id `owner` (a reload builds a new one).
struct SecretNameCache {
  uint64_t owner = 0;
  boost::unordered_flat_map<std::string, bool, StringHash, std::equal_to<>> names;
};
thread_local SecretNameCache t_secret_names;
std::atomic<uint64_t> g_next_redactor_id{1};

}  // namespace

Redactor::Redactor(const RedactionConfig& config) : id_(g_next_redactor_id.fetch_add(1)) {
  for (const std::string& e : config.extra) {
    std::string n = TrimUnderscores(Normalize(e));
    if (n.empty()) continue;
    extra_.push_back(std::move(n));
    extra_lower_.push_back(TrimUnderscores(LowerOnly(e)));
  }
}

bool Redactor::IsSecretName(std::string_view name) const {
  if (name.size() > kMaxCachedNameBytes) return ComputeIsSecretName(name);
  SecretNameCache& cache = t_secret_names;
  if (cache.owner != id_) {
    cache.names.clear();
    cache.owner = id_;
  }
  if (auto it = cache.names.find(name); it != cache.names.end()) return it->second;
  const bool secret = ComputeIsSecretName(name);
  if (cache.names.size() < kCachedNames) cache.names.emplace(std::string(name), secret);
  return secret;
}

bool Redactor::ComputeIsSecretName(std::string_view name) const {
  std::string n = Normalize(name);
  for (auto w : kSubstringWords) {
    if (n.find(w) != std::string::npos) return true;
  }
  // Camel-case splitting can separate a substring word ("apiKey" → "api_key" is still
  // listed; "passWord" → "pass_word" is caught by "pass"), so also check the name with
  // separators removed.
  std::string joined;
  for (char c : n) {
    if (c != '_') joined.push_back(c);
  }
  for (auto w : kSubstringWords) {
    if (w.find('_') == std::string_view::npos && joined.find(w) != std::string::npos) return true;
  }
  for (auto w : kWholeWords) {
    if (ContainsWholeWord(n, w)) return true;
  }
  for (const std::string& w : extra_) {
    if (ContainsWholeWord(n, w)) return true;
  }
  // Extra names are case-insensitive: with extra "ticketId" (read "ticket_id"), "ticketid"
  // and "TICKETID" are the same name; with extra "mycustom", so is "myCustom" (read
  // "my_custom" above). Both were recorded in clear.
  if (!extra_lower_.empty()) {
    const std::string lower = LowerOnly(name);
    for (const std::string& w : extra_lower_) {
      if (ContainsWholeWord(lower, w)) return true;
    }
  }
  return false;
}

KeyValues Redactor::RedactQuery(std::string_view raw_query) const {
  KeyValues out;
  size_t dropped = 0;
  size_t pos = 0;
  while (pos <= raw_query.size()) {
    size_t amp = raw_query.find('&', pos);
    if (amp == std::string_view::npos) amp = raw_query.size();
    std::string_view piece = raw_query.substr(pos, amp - pos);
    pos = amp + 1;
    if (piece.empty()) continue;
    if (out.size() == kMaxParams) {
      ++dropped;
      continue;
    }
    size_t eq = piece.find('=');
    std::string name = PercentDecode(piece.substr(0, eq), true);
    std::string value;
    // A credential is a secret under any name: a key or token sent as ?k=atk_… or ?t=eyJ…
    // (or as a bare ?atk_…) was recorded in clear.
    if (HoldsApiKey(name) || HoldsJwt(name)) name = kRedacted;
    if (IsSecretName(name) || name == kRedacted) {
      value = kRedacted;
    } else if (eq != std::string_view::npos) {
      value = PercentDecode(piece.substr(eq + 1), true);
      if (HoldsApiKey(value) || HoldsJwt(value)) value = kRedacted;
      Truncate(&value, kMaxValueBytes);
    }
    Truncate(&name, kMaxNameBytes);
    out.emplace_back(std::move(name), std::move(value));
  }
  if (dropped > 0) out.emplace_back(std::string(kTruncated), std::to_string(dropped) + " more");
  return out;
}

}  // namespace apitrail
