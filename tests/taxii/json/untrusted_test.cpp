// The bounded JSON reader: nesting limits, Unicode and number repairs, items judged one by one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kfc/json/untrusted.h"

namespace {

using ::testing::HasSubstr;
using kfc::json::parse;
using kfc::json::ParseOptions;

const std::string kReplacement = "\xEF\xBF\xBD";

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

ParseOptions envelope_items() {
  ParseOptions options;
  options.item_path = {"objects"};
  return options;
}

TEST(UntrustedJson, ParsesWhatRapidJsonParsesToTheSameDocument) {
  const std::string text =
      R"({"a":[1,-2,3.5,18446744073709551615,-9223372036854775808,true,false,null],"b":{"c":"d\u00e9\n\ud83d\ude00"},"e":""})";
  rapidjson::Document expected;
  expected.Parse(text.c_str());
  rapidjson::Document document;
  auto report = parse(document, text);
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_TRUE(document == expected);
  EXPECT_FALSE(report->repaired());
  EXPECT_TRUE(report->items.empty());
}

TEST(UntrustedJson, AMillionNestedArraysIsAnErrorNotACrash) {
  rapidjson::Document document;
  auto report = parse(document, nested_arrays(1'000'000));
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message, HasSubstr("nested deeper than 64 levels"));
  EXPECT_EQ(report.error().offset, 64u);  // the bracket that opens level 65
  EXPECT_TRUE(document.IsNull());
}

TEST(UntrustedJson, TheDepthLimitCountsTheRootAsOne) {
  ParseOptions options;
  options.max_depth = 3;
  rapidjson::Document document;
  EXPECT_TRUE(parse(document, R"({"a":[{"b":1}]})", options).has_value());
  EXPECT_FALSE(parse(document, R"({"a":[{"b":[]}]})", options).has_value());
}

TEST(UntrustedJson, AnItemNestedTooDeeplyIsCutAndFlaggedWhileTheOthersStay) {
  const std::string text = R"({"more":false,"objects":[{"id":"a"},{"id":"b","x":)" + nested_arrays(1'000'000) +
                           R"(},{"id":"c"}]})";
  rapidjson::Document document;
  auto report = parse(document, text, envelope_items());
  ASSERT_TRUE(report.has_value()) << report.error().message;
  ASSERT_EQ(document["objects"].Size(), 3u);
  EXPECT_STREQ(document["objects"][2]["id"].GetString(), "c");
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].index, 1u);
  EXPECT_TRUE(report->items[0].too_deep);
  EXPECT_EQ(report->note(0), nullptr);
  EXPECT_EQ(report->note(2), nullptr);
  // What was kept of the deep item is shallow: nothing beyond the item limit was built.
  EXPECT_EQ(compact(document["objects"][1]), std::string(R"({"id":"b","x":)") + nested_arrays(63).substr(0, 63) +
                                                 "null" + std::string(63, ']') + "}");
}

TEST(UntrustedJson, ItemDepthCountsTheItemAsOne) {
  ParseOptions options = envelope_items();
  options.max_item_depth = 2;
  rapidjson::Document document;
  auto report = parse(document, R"({"objects":[{"a":[1]},{"a":[[1]]},[[[]]]]})", options);
  ASSERT_TRUE(report.has_value());
  ASSERT_EQ(report->items.size(), 2u);
  EXPECT_EQ(report->items[0].index, 1u);
  EXPECT_EQ(report->items[1].index, 2u);
  EXPECT_EQ(compact(document), R"({"objects":[{"a":[1]},{"a":[null]},[[null]]]})");
}

TEST(UntrustedJson, OutsideTheItemsTheDocumentLimitHolds) {
  const std::string text = R"({"objects":[],"other":)" + nested_arrays(100) + "}";
  rapidjson::Document document;
  EXPECT_FALSE(parse(document, text, envelope_items()).has_value());
}

TEST(UntrustedJson, LoneSurrogatesAndInvalidUtf8AreReplacedAndAttributedToTheirItem) {
  const std::string text = "{\"objects\":[{\"d\":\"ok\"},{\"d\":\"a\\ud800b\"},{\"d\":\"c\xff" "d\"},"
                           "{\"d\":\"\\udc00\"},{\"d\":\"pair \\ud83d\\ude00\"}]}";
  rapidjson::Document document;
  auto report = parse(document, text, envelope_items());
  ASSERT_TRUE(report.has_value()) << report.error().message;
  const auto& objects = document["objects"];
  EXPECT_EQ(std::string(objects[0]["d"].GetString()), "ok");
  EXPECT_EQ(std::string(objects[1]["d"].GetString()), "a" + kReplacement + "b");
  EXPECT_EQ(std::string(objects[2]["d"].GetString()), "c" + kReplacement + "d");
  EXPECT_EQ(std::string(objects[3]["d"].GetString()), kReplacement);
  EXPECT_EQ(std::string(objects[4]["d"].GetString()), "pair \xF0\x9F\x98\x80");
  EXPECT_EQ(report->unicode_repairs, 3u);
  ASSERT_EQ(report->items.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(report->items[i].index, i + 1);
    EXPECT_EQ(report->items[i].unicode_repairs, 1u);
    EXPECT_FALSE(report->items[i].too_deep);
  }
}

TEST(UntrustedJson, AnEscapedBackslashBeforeUd800IsNotASurrogate) {
  rapidjson::Document document;
  auto report = parse(document, R"(["\\ud800", "\ud800"])");
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_EQ(std::string(document[0].GetString()), "\\ud800");
  EXPECT_EQ(std::string(document[1].GetString()), kReplacement);
  EXPECT_EQ(report->unicode_repairs, 1u);
}

TEST(UntrustedJson, MemberNamesAreRepairedToo) {
  rapidjson::Document document;
  auto report = parse(document, "{\"k\xC3\":1}");
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(document.HasMember(("k" + kReplacement).c_str()));
  EXPECT_EQ(report->unicode_repairs, 1u);
}

TEST(UntrustedJson, ANumberBeyondADoubleBecomesNullInItsItem) {
  rapidjson::Document document;
  auto report = parse(document, R"({"objects":[{"n":1},{"n":1e400,"m":-1e999},{"n":2}]})", envelope_items());
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_TRUE(document["objects"][1]["n"].IsNull());
  EXPECT_TRUE(document["objects"][1]["m"].IsNull());
  EXPECT_EQ(document["objects"][2]["n"].GetInt(), 2);
  EXPECT_EQ(report->numbers_replaced, 2u);
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].index, 1u);
  EXPECT_EQ(report->items[0].numbers_replaced, 2u);
}

// Found by the state_file fuzz target: RapidJSON's fast number path rounds this to infinity
// without refusing it, so only the builder can see it.
TEST(UntrustedJson, ANumberTheFastPathRoundsToInfinityBecomesNullInItsItem) {
  const std::string huge =
      "292222222222222666666666666666666666666666666666666666666666666666666666666666666666666666666666666220e222";
  rapidjson::Document document;
  auto report = parse(document, R"({"objects":[{"n":1},{"n":)" + huge + R"(},{"n":2}]})", envelope_items());
  ASSERT_TRUE(report.has_value()) << report.error().message;
  EXPECT_TRUE(document["objects"][1]["n"].IsNull());
  EXPECT_EQ(document["objects"][2]["n"].GetInt(), 2);
  EXPECT_EQ(report->numbers_replaced, 1u);
  ASSERT_EQ(report->items.size(), 1u);
  EXPECT_EQ(report->items[0].index, 1u);
  EXPECT_EQ(report->items[0].numbers_replaced, 1u);
}

TEST(UntrustedJson, ABigNumberInsideAStringIsText) {
  rapidjson::Document document;
  auto report = parse(document, R"(["1e400", 1e400])");
  ASSERT_TRUE(report.has_value());
  EXPECT_STREQ(document[0].GetString(), "1e400");
  EXPECT_TRUE(document[1].IsNull());
}

TEST(UntrustedJson, BrokenJsonIsAnErrorWithItsOffset) {
  rapidjson::Document document;
  auto truncated = parse(document, R"({"objects":[{"id":"a"})");
  ASSERT_FALSE(truncated.has_value());
  EXPECT_THAT(truncated.error().message, HasSubstr("invalid JSON at byte 22"));
  EXPECT_EQ(truncated.error().offset, 22u);
  EXPECT_FALSE(parse(document, "{} x").has_value());
  EXPECT_FALSE(parse(document, "").has_value());
  EXPECT_FALSE(parse(document, std::string("[1]\0[2]", 7)).has_value());
  EXPECT_FALSE(parse(document, std::string("[\"a\0b\"]", 7)).has_value());
}

TEST(UntrustedJson, OnlyTheFirstArrayUnderTheItemKeyHoldsItems) {
  rapidjson::Document document;
  auto report = parse(document, "{\"objects\":[\"ok\"],\"objects\":[\"\xff\"]}", envelope_items());
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->unicode_repairs, 1u);
  EXPECT_TRUE(report->items.empty());
}

TEST(Utf8Repair, FollowsTheMaximalSubpartRule) {
  struct Case {
    std::string in, out;
    std::size_t replaced;
  };
  const std::vector<Case> cases = {
      {"plain ascii text, long enough for the fast path", "", 0},
      {"\xC3\xA9t\xC3\xA9", "", 0},
      {"\xF0\x9F\x98\x80", "", 0},
      {"a\xFF" "b", "a" + kReplacement + "b", 1},
      {"\xC0\x80", kReplacement + kReplacement, 2},              // overlong: lead and stray continuation
      {"\xE2\x82" "A", kReplacement + "A", 1},                   // truncated three-byte sequence
      {"\xED\xA0\x80", kReplacement, 1},                         // an encoded surrogate is one character
      {"\xF4\x90\x80\x80", std::string(4, 'x'), 4},              // beyond U+10FFFF
      {"end\xE2", "end" + kReplacement, 1},
  };
  for (const auto& c : cases) {
    std::string out;
    EXPECT_EQ(kfc::json::repair_utf8(c.in, out), c.replaced) << c.in;
    EXPECT_EQ(kfc::json::is_valid_utf8(c.in), c.replaced == 0) << c.in;
    if (c.replaced == 0) continue;
    if (c.in == "\xF4\x90\x80\x80") {
      EXPECT_EQ(out, kReplacement + kReplacement + kReplacement + kReplacement);
    } else {
      EXPECT_EQ(out, c.out);
    }
  }
}

}  // namespace

namespace {

TEST(UntrustedJsonInPlace, GivesTheSameDocumentAndRepairs) {
  const std::string original = "{\"objects\":[{\"d\":\"a\\ud800\"},{\"n\":1e400},{\"d\":\"\\u00e9\\n\"}]}";
  std::string text = original;
  rapidjson::Document in_place;
  auto report = kfc::json::parse_in_place(in_place, text, envelope_items());
  ASSERT_TRUE(report.has_value()) << report.error().message;
  rapidjson::Document copied;
  auto expected = parse(copied, original, envelope_items());
  ASSERT_TRUE(expected.has_value());
  EXPECT_TRUE(in_place == copied);
  EXPECT_EQ(report->unicode_repairs, 1u);
  EXPECT_EQ(report->numbers_replaced, 1u);
  ASSERT_EQ(report->items.size(), 2u);
}

TEST(UntrustedJsonInPlace, KeepsStringsInTheTextAndRefusesWhatParseRefuses) {
  std::string text = R"({"objects":[{"id":"abc"}]})";
  rapidjson::Document document;
  ASSERT_TRUE(kfc::json::parse_in_place(document, text, envelope_items()).has_value());
  const char* id = document["objects"][0]["id"].GetString();
  EXPECT_TRUE(id >= text.data() && id < text.data() + text.size());

  std::string deep = nested_arrays(1'000'000);
  auto too_deep = kfc::json::parse_in_place(document, deep);
  ASSERT_FALSE(too_deep.has_value());
  EXPECT_THAT(too_deep.error().message, HasSubstr("nested deeper"));
  std::string broken = R"({"a": [1, 2)";
  auto error = kfc::json::parse_in_place(document, broken);
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(broken, R"({"a": [1, 2)");  // restored for the error message and a second look
  std::string with_nul("[1]\0[2]", 7);
  EXPECT_FALSE(kfc::json::parse_in_place(document, with_nul).has_value());
}

}  // namespace
