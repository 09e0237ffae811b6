// Interim (1xx) answers, which RFC 9110 §15.2 has a client read past: which statuses are
// interim (101 Switching Protocols ends the exchange instead) and how many our clients
// (https_client.cc, simple_http.cc) skip before giving up on a server that sends them
// without end. Pure; any thread.
#pragma once

namespace apitrail {

inline constexpr int kMaxInterimAnswers = 10;

inline bool IsInterimAnswer(unsigned status) { return status >= 100 && status <= 199 && status != 101; }

}  // namespace apitrail
