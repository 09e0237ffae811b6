#include "core/json_writer.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

TEST(JsonWriterTest, EscapesControlQuoteAndBackslash) {
  std::string out;
  JsonWriter::AppendEscaped(&out, std::string_view("a\"b\\c\n\x01", 7));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(JsonWriterTest, ReplacesInvalidUtf8ButKeepsValid) {
  std::string out;
  JsonWriter::AppendEscaped(&out, "\xC3\xA9\xFF\xC0\xAF");
  EXPECT_EQ(out, "\"\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonWriterTest, CommasBetweenFieldsAndArrayItems) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Field("a", "x");
  w.FieldInt("b", -2);
  w.Key("c");
  w.BeginArray();
  w.Uint(1);
  w.Bool(true);
  w.Null();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(out, R"({"a":"x","b":-2,"c":[1,true,null]})");
}

TEST(JsonWriterTest, ErrorBody) {
  EXPECT_EQ(JsonError("not_found", "no such event"),
            R"({"error":"not_found","message":"no such event"})");
}

}  // namespace
}  // namespace apitrail
