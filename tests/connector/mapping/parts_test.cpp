// The hand-written pattern matchers, the location decoding and the timestamp rules, against the
// examples of connector/mapping/README.md.
#include <gtest/gtest.h>

#include "locations.h"
#include "memo.h"
#include "pattern.h"
#include "timestamps.h"
#include "mapping_test_util.h"

namespace kfc::mapping {
namespace {

TEST(Pattern, MainObservableType) {
  EXPECT_EQ(main_observable_type("[ipv4-addr:value = '1.2.3.4']"), "IPv4-Addr");
  EXPECT_EQ(main_observable_type("[file:hashes.'MD5' = 'x']"), "File");
  EXPECT_EQ(main_observable_type("[domain-name:value = 'a']"), "Domain-Name");
  EXPECT_EQ(main_observable_type("[url:value LIKE 'http://%']"), "Url");
  EXPECT_EQ(main_observable_type("[email-addr:value = 'a@b']"), "Email-Addr");
  EXPECT_EQ(main_observable_type("[ipv6-addr:value = '::1']"), "IPv6-Addr");
  EXPECT_EQ(main_observable_type("[mutex:name = 'x']"), std::nullopt);
  EXPECT_EQ(main_observable_type("[url:value = x]"), std::nullopt);           // no quotes
  EXPECT_EQ(main_observable_type("[URL:value = 'x']"), std::nullopt);         // case-sensitive
  EXPECT_EQ(main_observable_group("x [a:b] [url:value = 'q']"), "a");   // lazy: up to the first colon
  EXPECT_EQ(main_observable_group("[:a:b 'q']"), ":a");                 // the group is never empty
  EXPECT_EQ(main_observable_group("[url\n:value = 'x']"), std::nullopt);     // '.' stops at newline
}

TEST(Pattern, FirstQuotedToken) {
  EXPECT_EQ(first_quoted_token("[ipv4-addr:value = '1.2.3.4']"), "1.2.3.4");
  EXPECT_EQ(first_quoted_token("[file:hashes.'MD5' = 'abc']"), "MD5");
  EXPECT_EQ(first_quoted_token(R"([url:value = 'it\'s'])"), R"(it\'s)");
  EXPECT_EQ(first_quoted_token(R"([url:value = 'a\'])"), R"(a\)");             // backtracking
  EXPECT_EQ(first_quoted_token("[url:value = 'abc]"), std::nullopt);
  EXPECT_EQ(first_quoted_token("no quotes"), std::nullopt);
  EXPECT_EQ(first_quoted_token("''"), "");
  EXPECT_EQ(text_before_first_quote("[url:value LIKE 'x']"), "[url:value LIKE ");
  EXPECT_EQ(text_before_first_quote("abc"), "ab");
}

TEST(Pattern, HashMatches) {
  std::vector<std::pair<std::string, std::string>> got;
  auto collect = [&](std::string_view p) {
    got.clear();
    for_each_hash_match(p, [&](std::string_view a, std::string_view v) { got.emplace_back(a, v); });
    return got;
  };
  const std::string md5(32, 'a'), sha256(64, 'B');
  EXPECT_EQ(collect("[file:hashes.MD5 = '" + md5 + "']").size(), 1u);
  EXPECT_EQ(collect("[file:hashes.'SHA-256'='" + sha256 + "']")[0].first, "SHA-256");
  EXPECT_EQ(collect("[file:hashes.'SHA-512' = '" + sha256 + "']").size(), 0u);
  EXPECT_EQ(collect("[file:hashes.MD5  = '" + md5 + "']").size(), 0u);         // two spaces
  EXPECT_EQ(collect("[file:hashes.MD5 = '" + std::string(65, 'a') + "']").size(), 0u);
  EXPECT_EQ(collect("[file:hashes.MD5 = '" + std::string(31, 'a') + "']").size(), 0u);
  EXPECT_EQ(collect("[file:hashes.MD5 = '" + std::string(40, 'a') + "']")[0].second.size(), 40u);
  EXPECT_EQ(collect("[file:name = 'x']").size(), 0u);
}

TEST(Pattern, Ipv4Literal) {
  for (const char* ok : {"1.2.3.4", "255.255.255.255", "0.0.0.0", "10.0.0.1\n"}) EXPECT_TRUE(is_ipv4_literal(ok)) << ok;
  for (const char* bad : {"01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.", "1.2.3.4/24", "1.2.3.4.5", "2001:db8::1",
                          "1..2.3", "", "1.2.3.4\n\n", "a.b.c.d", "1.2.3.1234"})
    EXPECT_FALSE(is_ipv4_literal(bad)) << bad;
}

std::string codes(std::string_view value) {
  std::string out;
  for (const auto* r : LocationRegistry::instance().decode(value).records) {
    if (!out.empty()) out += ",";
    out += r->code;
  }
  return out;
}

TEST(Locations, DecodingExamplesOfTheSpec) {
  EXPECT_EQ(codes("jp,au"), "JP,AU");
  EXPECT_EQ(codes("JP, xx, jp"), "JP,JP");
  EXPECT_EQ(codes("Germany, Korea, Republic of"), "DE,KR");
  EXPECT_EQ(codes("Rwanda, Dominican Republic"), "DO,RW");
  EXPECT_EQ(codes("Sudan, South Sudan"), "SS,SD");
  EXPECT_EQ(codes("Niger"), "NE");
  EXPECT_EQ(codes("Nigeria"), "NG");
  EXPECT_EQ(codes("germany,xx"), "DE");
  EXPECT_EQ(codes("Macao, Hong Kong"), "HK,MO");
  EXPECT_EQ(codes("Turkey"), "TR");
  EXPECT_EQ(codes("Türkiye"), "");
  for (const char* none : {"United States", "Congo", "Korea", "uk", "cote d'ivoire", "", "  "})
    EXPECT_EQ(codes(none), "") << none;
  EXPECT_EQ(codes("China, Hong Kong Special Administrative Region"), "CN");
  EXPECT_EQ(codes("jp, Germany"), "JP");
  EXPECT_EQ(codes("Côte d'Ivoire"), "CI");                  // non-ASCII pattern, upper-cased both sides
  EXPECT_EQ(codes("\xc2\xa0" "germany\xc2\xa0"), "DE");       // NBSP is whitespace for strip()
}

TEST(Locations, DatasheetIsCompleteAndDerived) {
  const auto& reg = LocationRegistry::instance();
  ASSERT_EQ(reg.records().size(), 247u);
  std::size_t without_labels = 0;
  for (const auto& r : reg.records()) without_labels += r.labels.empty();
  EXPECT_EQ(without_labels, 11u);
  const auto* ao = reg.find_code("AO");
  ASSERT_NE(ao, nullptr);
  EXPECT_EQ(ao->subregion_title, "Middle Africa");
  EXPECT_EQ(ao->region_code, "middle-africa");
  const auto* de = reg.find_code("DE");
  EXPECT_EQ(de->country_id, "location--ae3059a6-9612-5d1c-98b5-0c7cd0e486d4");
  EXPECT_EQ(de->region_id, "location--768f4d26-df42-5fa7-8c3a-d5298ea298b9");
  EXPECT_EQ(reg.find_code("RU")->labels, std::vector<std::string>{"RUSSIA & CIS"});
}

TEST(Locations, BadDatasheetIsRejectedWithTheRecordNamed) {
  EXPECT_THROW(LocationRegistry::from_tsv("DE\tGermany\t\tEU\tWestern Europa\n"), std::runtime_error);
  EXPECT_THROW(LocationRegistry::from_tsv("DE\tGermany\t\tEU\n"), std::runtime_error);
  EXPECT_THROW(LocationRegistry::from_tsv("DE\tGermany\t\tEU\tWestern Europe\nde\tX\t\tEU\tWestern Europe\n"),
               std::runtime_error);
  try {
    LocationRegistry::from_tsv("XX\tNowhere\t\t\tAtlantis\n");
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("XX"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("Atlantis"), std::string::npos);
  }
}

// What the expansions derive from feed text is made once per text, and the memo never holds more
// than kLimit texts: past that it starts again, and a forgotten text is made again.
TEST(Memo, MakesOncePerKeyAndStaysBounded) {
  Memo<std::string> memo;
  int made = 0;
  auto upper = [&](std::string_view key) {
    return memo.get(key, [&] {
      ++made;
      return std::string(key) + "!";
    });
  };
  EXPECT_EQ(upper("a"), "a!");
  EXPECT_EQ(upper(std::string("a")), "a!");
  EXPECT_EQ(made, 1);
  for (std::size_t i = 0; i < Memo<std::string>::kLimit + 10; ++i) {
    upper("key" + std::to_string(i));
    EXPECT_LE(memo.size(), Memo<std::string>::kLimit);
  }
  const int before = made;
  EXPECT_EQ(upper("a"), "a!");
  EXPECT_EQ(made, before + 1);
}

TEST(Timestamps, CreatedKeepsAtLeastThreeFractionDigits) {
  using namespace std::chrono;
  const SystemTime base = sys_days{year{2026} / 4 / 21} + hours{10};
  EXPECT_EQ(format_created(base + microseconds{245366}), "2026-04-21T10:00:00.245366Z");
  EXPECT_EQ(format_created(base + microseconds{249260}), "2026-04-21T10:00:00.24926Z");
  EXPECT_EQ(format_created(base + microseconds{250000}), "2026-04-21T10:00:00.250Z");
  EXPECT_EQ(format_created(base), "2026-04-21T10:00:00.000Z");
}

TEST(Timestamps, PublishedFollowsStrptimeAndStix2) {
  EXPECT_EQ(reformat_published("2026-04-01T00:00:00.000Z"), "2026-04-01T00:00:00Z");
  EXPECT_EQ(reformat_published("2026-04-01T00:00:00.5Z"), "2026-04-01T00:00:00.5Z");
  EXPECT_EQ(reformat_published("2026-04-01T00:00:00Z"), "2026-04-01T00:00:00Z");
  EXPECT_EQ(reformat_published("2026-4-1T1:2:3Z"), "2026-04-01T01:02:03Z");
  EXPECT_EQ(reformat_published("1900-01-01T00:00:00.000Z"), "1900-01-01T00:00:00Z");
  EXPECT_EQ(reformat_published("2026-04-01T00:00:00.123456Z"), "2026-04-01T00:00:00.123456Z");
  for (const char* bad : {"2026-04-01", "2026-04-01T00:00:00+03:00", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
                          "2026-04-01T24:00:00Z", "2026-04-01T00:00:00.1234567Z", "", "26-04-01T00:00:00Z",
                          "2026-04-01T00:00:60Z", "2026-04-01T00:00:00.Z"})
    EXPECT_EQ(reformat_published(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace kfc::mapping
