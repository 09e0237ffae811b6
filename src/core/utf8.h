// UTF-8 validation shared by the JSON writer and the record encoder: both promise their
// output strings are valid UTF-8, replacing each invalid byte by U+FFFD. Pure functions;
// any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace apitrail::utf8 {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 when the bytes
// there are not valid UTF-8 (overlong forms, surrogates and code points past U+10FFFF too).
size_t SequenceLength(std::string_view s, size_t i);

// Appends s to *out with every invalid byte replaced by U+FFFD (EF BF BD).
void AppendValid(std::string* out, std::string_view s);

// Bytes AppendValid would append for s (s.size() when s is valid).
size_t ValidLength(std::string_view s);

// The longest prefix of s of at most max bytes that does not split the UTF-8 sequence
// crossing byte max: that sequence's lead byte is at most 3 bytes back, and no further
// is looked, so bytes that are not UTF-8 ("\x80\x80…") are not cut to nothing.
size_t CutLength(std::string_view s, size_t max);

}  // namespace apitrail::utf8
