#include "net/http_head_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>

namespace apitrail {
namespace {

struct Parsed {
  boost::beast::error_code ec;
  HeadError head_error = HeadError::kNone;
  bool header_done = false;
  std::string body;
};

Parsed ParseRequest(std::string_view raw, uint32_t max_headers = 100) {
  Parsed p;
  HeadParser<true> parser(max_headers, &p.body);
  parser.eager(true);
  parser.put(boost::asio::buffer(raw.data(), raw.size()), p.ec);
  p.head_error = parser.head_error();
  p.header_done = parser.is_header_done();
  return p;
}

TEST(HttpHeadParserTest, KeepsFieldsAsViews) {
  std::string raw = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n";
  std::string body;
  HeadParser<true> parser(100, &body);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(parser.method(), "GET");
  EXPECT_EQ(parser.target(), "/a?b=1");
  EXPECT_EQ(parser.Find("x-a"), "1");
  EXPECT_GE(parser.Find("host").data(), raw.data());  // a view into the buffer, not a copy
}

TEST(HttpHeadParserTest, RejectsContentLengthWithTransferEncoding) {
  auto p = ParseRequest("POST / HTTP/1.1\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(p.ec);
  auto q = ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(q.ec);
}

TEST(HttpHeadParserTest, RejectsDuplicateContentLengthEvenWhenEqual) {
  auto p = ParseRequest("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na");
  EXPECT_TRUE(p.ec);
  EXPECT_EQ(p.head_error, HeadError::kDuplicateContentLength);
  auto q = ParseRequest("POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\na");
  EXPECT_TRUE(q.ec);
}

TEST(HttpHeadParserTest, RejectsTransferCodingsOtherThanChunked) {
  EXPECT_TRUE(ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").ec);
  EXPECT_TRUE(ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n").ec);
  EXPECT_FALSE(ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n").ec);
}

TEST(HttpHeadParserTest, LimitsHeaderCount) {
  std::string raw = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i) raw += "X-" + std::to_string(i) + ": v\r\n";
  raw += "\r\n";
  auto p = ParseRequest(raw, 4);
  EXPECT_TRUE(p.ec);
  EXPECT_EQ(p.head_error, HeadError::kTooManyHeaders);
  EXPECT_FALSE(ParseRequest(raw, 5).ec);
}

TEST(HttpHeadParserTest, RechunksChunkedBodies) {
  std::string body;
  HeadParser<true> parser(100, &body);
  parser.set_rechunk(true);
  parser.eager(true);
  std::string raw = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n";
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(body, "5\r\nhello\r\n");  // extensions dropped, data re-framed
  EXPECT_EQ(parser.body_bytes(), 5u);
}

// Parses a chunked request whose head and body arrive in one buffer, with chunk extensions
// and trailers capped at `limit` bytes.
Parsed ParseChunked(std::string_view chunks, size_t limit) {
  Parsed p;
  HeadParser<true> parser(100, &p.body);
  parser.set_chunk_metadata_limit(limit);
  parser.eager(true);
  std::string raw = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(chunks);
  parser.put(boost::asio::buffer(raw), p.ec);
  p.head_error = parser.head_error();
  EXPECT_EQ(parser.fields().size(), 1u);  // trailer fields are never kept
  return p;
}

TEST(HttpHeadParserTest, CapsChunkExtensionsAndTrailers) {
  const std::string ext10 = ";a=" + std::string(7, 'b');  // 10 bytes
  EXPECT_FALSE(ParseChunked("5" + ext10 + "\r\nhello\r\n0" + ext10 + "\r\n\r\n", 10).ec);
  auto p = ParseChunked("5" + ext10 + "b\r\nhello\r\n0\r\n\r\n", 10);
  EXPECT_TRUE(p.ec);
  EXPECT_EQ(p.head_error, HeadError::kChunkMetadataTooLarge);
  EXPECT_EQ(ParseChunked("0" + ext10 + "b\r\n\r\n", 10).head_error, HeadError::kChunkMetadataTooLarge);
  // Trailers: name + value + ": " and CRLF, summed over the section.
  EXPECT_FALSE(ParseChunked("0\r\nA: 1234\r\n\r\n", 10).ec);
  EXPECT_EQ(ParseChunked("0\r\nA: 1234\r\nB: 1\r\n\r\n", 10).head_error, HeadError::kChunkMetadataTooLarge);
  EXPECT_FALSE(ParseChunked("0\r\nX-T: " + std::string(1000, 't') + "\r\n\r\n", 0).ec);  // 0: no cap
}

TEST(HttpHeadParserTest, StrictHeaderBlock) {
  EXPECT_TRUE(HeaderBlockIsStrict("GET / HTTP/1.1\r\nA: b\r\n\r\n"));
  EXPECT_FALSE(HeaderBlockIsStrict("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"));   // obs-fold
  EXPECT_FALSE(HeaderBlockIsStrict("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n"));  // obs-fold, tab
  EXPECT_FALSE(HeaderBlockIsStrict("GET / HTTP/1.1\nA: b\r\n\r\n"));           // bare LF
  EXPECT_FALSE(HeaderBlockIsStrict("GET / HTTP/1.1\rA: b\r\n\r\n"));           // bare CR
  EXPECT_FALSE(HeaderBlockIsStrict("GET / HTTP/1.1\r\r\nA: b\r\n\r\n"));        // CR CR LF
  EXPECT_FALSE(HeaderBlockIsStrict("GET / HTTP/1.1\r\nA: b\r\n\r\n\r"));         // bare CR last
  EXPECT_FALSE(HeaderBlockIsStrict("\nGET / HTTP/1.1\r\n\r\n"));                 // LF first
  EXPECT_TRUE(HeaderBlockIsStrict(""));
  EXPECT_TRUE(HeaderBlockIsStrict("A: b\tc\r\n\r\n"));  // a tab inside a value is no fold
}

TEST(HttpHeadParserTest, BareLfFoundBeforeTheHeadIsComplete) {
  size_t checked = 0;
  EXPECT_FALSE(IncompleteHeadHasBareLf("GET / HTTP/1.1\r\nA: b\r", &checked));
  EXPECT_EQ(checked, 21u);
  // The CR ended the last read, its LF starts this one: still a CRLF.
  EXPECT_FALSE(IncompleteHeadHasBareLf("GET / HTTP/1.1\r\nA: b\r\nC: d", &checked));
  EXPECT_TRUE(IncompleteHeadHasBareLf("GET / HTTP/1.1\r\nA: b\r\nC: d\n", &checked));
  checked = 0;
  EXPECT_TRUE(IncompleteHeadHasBareLf("\n", &checked));
  checked = 0;
  EXPECT_TRUE(IncompleteHeadHasBareLf("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", &checked));
  checked = 0;
  EXPECT_FALSE(IncompleteHeadHasBareLf("", &checked));
}

// The byte-at-a-time definition the word-at-a-time scan must agree with.
bool StrictReference(std::string_view b) {
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == '\n') {
      if (i == 0 || b[i - 1] != '\r') return false;
      if (i + 1 < b.size() && (b[i + 1] == ' ' || b[i + 1] == '\t')) return false;
    } else if (b[i] == '\r' && (i + 1 >= b.size() || b[i + 1] != '\n')) {
      return false;
    }
  }
  return true;
}

TEST(HttpHeadParserTest, StrictHeaderBlockAgreesWithTheBytewiseDefinition) {
  // Random blocks of every length up to 64 from an alphabet heavy in CR, LF, SP and tab,
  // plus well-formed heads with one byte changed at every position.
  std::mt19937 rng(7);
  const char alphabet[] = {'\r', '\n', ' ', '\t', 'a', ':', '\r', '\n'};
  for (int round = 0; round < 20000; ++round) {
    std::string b(rng() % 65, 'x');
    for (char& c : b) c = alphabet[rng() % sizeof(alphabet)];
    ASSERT_EQ(HeaderBlockIsStrict(b), StrictReference(b)) << round;
  }
  const std::string good = "GET /v1/orders/42 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n";
  ASSERT_TRUE(HeaderBlockIsStrict(good));
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : {'\r', '\n', ' ', '\t', 'z'}) {
      std::string b = good;
      b[i] = c;
      ASSERT_EQ(HeaderBlockIsStrict(b), StrictReference(b)) << i << " " << int(c);
    }
  }
}

}  // namespace
}  // namespace apitrail
