// HeadParser: a Beast basic_parser that keeps the request/status line and the header fields
// as views into the caller's read buffer (no per-field allocation), and hands body bytes to
// a caller-owned sink as they are parsed, so bodies stream through a bounded buffer.
//
// One parser per message, used on one thread. The views stay valid while the caller keeps
// the header bytes in its buffer unchanged. Callers hand put() the complete head in one
// contiguous buffer (Beast would consume a status or request line alone while the fields
// are incomplete) and check it with HeaderBlockIsStrict first: Beast unfolds an obs-fold
// value into a buffer of its own that is gone when put() returns, so the view of such a
// value would dangle.
//
// Stricter than Beast on purpose (request smuggling, RFC 9112 §6.3): any duplicate
// Content-Length (even equal values), a Content-Length list, Transfer-Encoding together
// with Content-Length, more than one Transfer-Encoding field, and any transfer coding
// other than exactly "chunked" are errors.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apitrail {

enum class HeadError { kNone = 0, kTooManyHeaders, kDuplicateContentLength, kConflictingFraming,
                       kBadTransferEncoding, kChunkMetadataTooLarge };

template <bool isRequest>
class HeadParser : public boost::beast::http::basic_parser<isRequest> {
 public:
  using Field = std::pair<std::string_view, std::string_view>;

  HeadParser(uint32_t max_headers, std::string* body_sink)
      : max_headers_(max_headers), body_sink_(body_sink) {
    // One allocation for a typical head instead of a doubling series per request.
    fields_.reserve(std::min<uint32_t>(max_headers, 24));
  }

  // Request line.
  std::string_view method() const { return method_; }
  std::string_view target() const { return target_; }
  // Status line.
  int status() const { return status_; }
  std::string_view reason() const { return reason_; }
  int version() const { return version_; }
  const std::vector<Field>& fields() const { return fields_; }
  HeadError head_error() const { return head_error_; }
  // The body was sent with chunked transfer coding (body_sink_ gets re-chunked output when
  // rechunk is set, else the raw body bytes).
  bool is_chunked_body() const { return chunked_; }
  void set_rechunk(bool rechunk) { rechunk_ = rechunk; }
  // Caps the chunk extensions of one chunk line, and the trailer section, at `bytes` each
  // (0: no cap; Beast has none). Neither is forwarded: trailer fields are not kept in
  // fields(). Over the cap, put() fails with head_error() kChunkMetadataTooLarge.
  void set_chunk_metadata_limit(size_t bytes) { chunk_metadata_limit_ = bytes; }
  uint64_t body_bytes() const { return body_bytes_; }

  std::string_view Find(std::string_view name) const {
    for (const auto& [n, v] : fields_) {
      if (boost::beast::iequals(n, name)) return v;
    }
    return {};
  }

 private:
  using error_code = boost::beast::error_code;
  void on_request_impl(boost::beast::http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version, error_code&) override {
    method_ = std::string_view(method.data(), method.size());
    target_ = std::string_view(target.data(), target.size());
    version_ = version;
  }
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        error_code&) override {
    status_ = code;
    reason_ = std::string_view(reason.data(), reason.size());
    version_ = version;
  }
  void on_field_impl(boost::beast::http::field f, boost::beast::string_view name,
                     boost::beast::string_view value, error_code& ec) override {
    if (this->is_header_done()) {  // a trailer field
      trailer_bytes_ += name.size() + value.size() + 4;
      if (chunk_metadata_limit_ != 0 && trailer_bytes_ > chunk_metadata_limit_) {
        head_error_ = HeadError::kChunkMetadataTooLarge;
        ec = boost::beast::http::error::header_limit;
      }
      return;
    }
    if (fields_.size() >= max_headers_) {
      head_error_ = HeadError::kTooManyHeaders;
      ec = boost::beast::http::error::header_limit;
      return;
    }
    if (f == boost::beast::http::field::content_length) {
      if (++content_length_count_ > 1 || value.find(',') != value.npos) {
        head_error_ = HeadError::kDuplicateContentLength;
        ec = boost::beast::http::error::multiple_content_length;
        return;
      }
    } else if (f == boost::beast::http::field::transfer_encoding) {
      if (++transfer_encoding_count_ > 1 || !boost::beast::iequals(value, "chunked")) {
        head_error_ = HeadError::kBadTransferEncoding;
        ec = boost::beast::http::error::bad_transfer_encoding;
        return;
      }
    }
    if (content_length_count_ > 0 && transfer_encoding_count_ > 0) {
      head_error_ = HeadError::kConflictingFraming;
      ec = boost::beast::http::error::bad_transfer_encoding;
      return;
    }
    fields_.emplace_back(std::string_view(name.data(), name.size()),
                         std::string_view(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    body_bytes_ += body.size();
    if (rechunk_) AppendChunk(body);
    else body_sink_->append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view extensions,
                            error_code& ec) override {
    chunked_ = true;
    if (chunk_metadata_limit_ != 0 && extensions.size() > chunk_metadata_limit_) {
      head_error_ = HeadError::kChunkMetadataTooLarge;
      ec = boost::beast::http::error::bad_chunk_extension;
    }
  }
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 error_code&) override {
    chunked_ = true;
    body_bytes_ += body.size();
    if (rechunk_) AppendChunk(body);
    else body_sink_->append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  void AppendChunk(boost::beast::string_view data) {
    if (data.empty()) return;
    char hex[20];
    int n = std::snprintf(hex, sizeof(hex), "%zx\r\n", data.size());
    body_sink_->append(hex, static_cast<size_t>(n));
    body_sink_->append(data.data(), data.size());
    body_sink_->append("\r\n", 2);
  }

  uint32_t max_headers_;
  std::string* body_sink_;
  std::string_view method_, target_, reason_;
  int status_ = 0;
  int version_ = 11;
  std::vector<Field> fields_;
  HeadError head_error_ = HeadError::kNone;
  int content_length_count_ = 0;
  int transfer_encoding_count_ = 0;
  bool chunked_ = false;
  bool rechunk_ = false;
  uint64_t body_bytes_ = 0;
  size_t chunk_metadata_limit_ = 0;
  size_t trailer_bytes_ = 0;
};

// The length of the message head (through its blank line) at the start of `buffered`, or 0
// while the blank line has not arrived. *scan_from carries where the next call may start
// looking, since the blank line may straddle two reads.
inline size_t CompleteHeadLength(std::string_view buffered, size_t* scan_from) {
  const size_t eom = buffered.find("\r\n\r\n", *scan_from);
  if (eom != std::string_view::npos) return eom + 4;
  *scan_from = buffered.size() >= 3 ? buffered.size() - 3 : 0;
  return 0;
}

// True if the still incomplete head in `buffered` holds an LF not preceded by a CR at or
// after *checked_to (advanced over what was scanned). A sender that ends lines with a bare LF
// ends its head with "\n\n", which CompleteHeadLength never finds: without this check the
// reader would wait for its header or response timeout, and HeaderBlockIsStrict refuses such
// a head anyway once whole.
inline bool IncompleteHeadHasBareLf(std::string_view buffered, size_t* checked_to) {
  for (size_t p = *checked_to; p < buffered.size();) {
    const auto* lf = static_cast<const char*>(std::memchr(buffered.data() + p, '\n', buffered.size() - p));
    if (lf == nullptr) break;
    const size_t at = static_cast<size_t>(lf - buffered.data());
    if (at == 0 || buffered[at - 1] != '\r') return true;
    p = at + 1;
  }
  *checked_to = buffered.size();
  return false;
}

// Scans a complete header block (up to and including the blank line) for what Beast
// tolerates but a proxy must not forward: obs-fold continuation lines and bare LF line
// endings. Returns false if either is present.
inline bool HeaderBlockIsStrict(std::string_view block) {
  // memchr from line end to line end (a head is a few hundred bytes, read on every request
  // and response; glibc's memchr scans 32 bytes a step, which beat both a byte loop and an
  // 8-byte SWAR scan here): each LF must follow a CR and must not be followed by a space or
  // tab; each CR must be followed by an LF.
  const char* const begin = block.data();
  const char* const end = begin + block.size();
  size_t lf_count = 0;
  for (const char* p = begin; p < end;) {
    const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (lf == nullptr) break;
    if (lf == begin || lf[-1] != '\r') return false;                          // bare LF
    if (lf + 1 < end && (lf[1] == ' ' || lf[1] == '\t')) return false;        // obs-fold
    ++lf_count;
    p = lf + 1;
  }
  // Every CR is then part of a CRLF exactly when there are as many CRs as LFs.
  size_t cr_count = 0;
  for (const char* p = begin; p < end;) {
    const auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p)));
    if (cr == nullptr) break;
    if (++cr_count > lf_count) return false;  // bare CR
    p = cr + 1;
  }
  return cr_count == lf_count;
}

}  // namespace apitrail
