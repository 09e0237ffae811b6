// JsonWriter appends compact JSON to a std::string without building a DOM, for the
// request path (one event per request) and API answers. Not thread-safe; one per use.
// The caller is responsible for well-formed nesting; the writer handles commas and
// string escaping (RFC 8259: control characters, quote, backslash; invalid UTF-8 bytes
// are replaced by U+FFFD so every record is valid JSON).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace apitrail {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Sep(); out_->push_back('{'); first_ = true; }
  void EndObject() { out_->push_back('}'); first_ = false; }
  void BeginArray() { Sep(); out_->push_back('['); first_ = true; }
  void EndArray() { out_->push_back(']'); first_ = false; }
  void Key(std::string_view k);
  void String(std::string_view s);
  void Int(int64_t v);
  void Uint(uint64_t v);
  void Bool(bool v);
  void Null();
  // Appends already-encoded JSON as one value.
  void Raw(std::string_view json);

  // Convenience: key + value.
  void Field(std::string_view k, std::string_view v) { Key(k); String(v); }
  void FieldInt(std::string_view k, int64_t v) { Key(k); Int(v); }
  void FieldUint(std::string_view k, uint64_t v) { Key(k); Uint(v); }
  void FieldBool(std::string_view k, bool v) { Key(k); Bool(v); }

  static void AppendEscaped(std::string* out, std::string_view s);

 private:
  void Sep() {
    if (after_key_) { after_key_ = false; return; }
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  std::string* out_;
  bool first_ = true;
  bool after_key_ = false;
};

// One-shot: {"error": code, "message": message} as used by every HTTP error body.
std::string JsonError(std::string_view code, std::string_view message);

}  // namespace apitrail
