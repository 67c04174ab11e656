// String escaping of the two JSON forms written with a word-at-a-time scan: the compact text must
// stay byte-identical to RapidJSON's own Writer, the canonical text of ids must escape exactly the
// bytes RFC 8785 / stix2 escape. Every byte value is tried at every offset of strings up to 40 bytes
// long, so each position of an 8-byte block and of the byte-wise tail is covered.
#include <limits>
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

// The compact writer walks the tree itself (no SAX Writer): structure and numbers must still be
// the Writer's, for every kind of value, nesting and number representation.
TEST(CompactJson, StructureAndNumbersMatchRapidJsonWriter) {
  const char* texts[] = {
      "null", "true", "false", "0", "-0", "0.0", "-0.0", "1.5", "-2.25e-7", "1e300", "3.141592653589793",
      "123456789012", "-2147483648", "2147483647", "4294967295", "4294967296", "9223372036854775807",
      "-9223372036854775808", "18446744073709551615", "1e-320", "0.1", "100", "\"\"", "[]", "{}", "[[]]",
      "[{}]", R"({"a":{}})", R"([1,[2,[3,[4]]],{"x":[null,true,false,"s\n"]}])",
      R"({"type":"indicator","id":"indicator--1","confidence":85,"x_score":-3,"ratio":0.75,
         "labels":["a","b"],"kill_chain_phases":[{"kill_chain_name":"k","phase_name":"p"}],
         "external_references":[],"nested":{"deep":{"deeper":[1.0,2,3e10,-4.5e-10]}},"k":"caf\u00e9\u0001"})",
      R"({"dup":1,"dup":2})"};
  for (const char* text : texts) {
    rapidjson::Document document;
    document.Parse<rapidjson::kParseFullPrecisionFlag>(text);
    ASSERT_FALSE(document.HasParseError()) << text;
    EXPECT_EQ(kfc::stix::compact_json(document), rapidjson_text(document)) << text;
    std::string appended = "prefix";
    kfc::stix::append_compact_json(document, appended);
    EXPECT_EQ(appended, "prefix" + rapidjson_text(document)) << text;
  }
}

// RapidJSON's Writer stops at a NaN or an infinity (it cannot be written as JSON): the text stops
// there too, as it did; the bundle form still closes its object, as the Writer's EndObject did.
TEST(CompactJson, StopsAtANonFiniteNumberAsTheWriterDoes) {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    rapidjson::Document document;
    document.Parse(R"([{"a":1,"b":[2,3]},{"c":"d"}])");
    auto& a = document.GetAllocator();
    document[1].AddMember("e", rapidjson::Value(bad), a);
    document[1].AddMember("f", 4, a);
    const std::string expected = rapidjson_text(document);
    EXPECT_EQ(expected, R"([{"a":1,"b":[2,3]},{"c":"d","e":)");
    EXPECT_EQ(kfc::stix::compact_json(document), expected);

    kfc::stix::Bundle bundle;
    bundle.id = "bundle--1";
    bundle.objects.CopyFrom(document, bundle.objects.GetAllocator());
    EXPECT_EQ(kfc::stix::compact_bundle_json(bundle), R"({"type":"bundle","id":"bundle--1","spec_version":"2.1","objects":)" + expected + "}");
  }
}

TEST(CompactJson, BundleTextIsTheWritersAndViewsReuseOneBuffer) {
  kfc::stix::Bundle bundle;
  bundle.id = "bundle--\"q\"";
  bundle.objects.Parse(R"([{"type":"identity","id":"identity--1","name":"x"},{"type":"note","id":"note--1"}])");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("type");
  writer.String("bundle");
  writer.Key("id");
  writer.String(bundle.id.c_str());
  writer.Key("spec_version");
  writer.String("2.1");
  writer.Key("objects");
  bundle.objects.Accept(writer);
  writer.EndObject();
  const std::string expected(buffer.GetString(), buffer.GetSize());
  EXPECT_EQ(std::string(kfc::stix::compact_bundle_json_view(bundle)), expected);
  // A large value after a small one: the thread's buffer grows, the text is still whole.
  rapidjson::Document big(rapidjson::kArrayType);
  for (int i = 0; i < 20000; ++i) big.PushBack(rapidjson::Value("0123456789", big.GetAllocator()), big.GetAllocator());
  EXPECT_EQ(std::string(kfc::stix::compact_json_view(big)), rapidjson_text(big));
  EXPECT_EQ(kfc::stix::compact_bundle_json(bundle), expected);
}

}  // namespace
