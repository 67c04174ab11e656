// String escaping of the two JSON forms written with a word-at-a-time scan: the compact text must
// stay byte-identical to RapidJSON's own Writer, the canonical text of ids must escape exactly the
// bytes RFC 8785 / stix2 escape. Every byte value is tried at every offset of strings up to 40 bytes
// long, so each position of an 8-byte block and of the byte-wise tail is covered.
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kfc/stix/ids.h"
#include "kfc/stix/python_json.h"

namespace {

std::string rapidjson_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

// The canonical escape, one byte at a time (what stix2's canonicalize writes for a str).
std::string canonical_one_by_one(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\b') out += "\\b";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\f') out += "\\f";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20) out += std::string("\\u00") + kHex[c >> 4] + kHex[c & 0xF];
    else out.push_back(ch);
  }
  return out + "\"";
}

template <typename Check>
void for_each_probe(Check check) {
  for (std::size_t length = 1; length <= 40; ++length)
    for (std::size_t at = 0; at < length; ++at)
      for (int byte = 0; byte < 256; ++byte) {
        std::string s(length, 'a');
        s[at] = static_cast<char>(byte);
        check(s);
      }
}

TEST(JsonEscape, CompactStringsMatchRapidJsonWriterForEveryByteAndOffset) {
  int mismatches = 0;
  for_each_probe([&](const std::string& s) {
    rapidjson::Document document(rapidjson::kObjectType);
    auto& a = document.GetAllocator();
    document.AddMember(rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a),
                       rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a), a);
    const std::string expected = rapidjson_text(document);
    const std::string actual = kfc::stix::compact_json(document);
    if (actual != expected && ++mismatches <= 5) ADD_FAILURE() << "compact text differs: " << expected;
  });
  EXPECT_EQ(mismatches, 0);
}

TEST(JsonEscape, CanonicalStringsEscapeExactlyControlQuoteAndBackslash) {
  int mismatches = 0;
  for_each_probe([&](const std::string& s) {
    std::string actual;
    kfc::stix::append_canonical_string(s, actual);
    if (actual != canonical_one_by_one(s) && ++mismatches <= 5) ADD_FAILURE() << "canonical text differs: " << actual;
  });
  EXPECT_EQ(mismatches, 0);
}

TEST(JsonEscape, MixedEscapesInLongStrings) {
  const std::string s = "line1\nline2\t\"quoted\" back\\slash \x01\x1f caf\xc3\xa9 and more text after it";
  rapidjson::Document document;
  document.SetString(s.data(), static_cast<rapidjson::SizeType>(s.size()), document.GetAllocator());
  EXPECT_EQ(kfc::stix::compact_json(document), rapidjson_text(document));
  std::string canonical;
  kfc::stix::append_canonical_string(s, canonical);
  EXPECT_EQ(canonical, canonical_one_by_one(s));
}

}  // namespace
