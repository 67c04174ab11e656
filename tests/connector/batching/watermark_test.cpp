// The date_added watermark and added_after formatting (connector/batching/README.md). Expected epoch values
// come from CPython: datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=utc).timestamp().
#include "kfc/batching/watermark.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace {

using namespace kfc::batching;
using std::chrono::system_clock;

struct Accepted {
  const char* text;
  double epoch_seconds;
};

class ParseDateAddedAccepts : public testing::TestWithParam<Accepted> {};

TEST_P(ParseDateAddedAccepts, AsPythonStrptime) {
  const auto parsed = parse_date_added(GetParam().text);
  ASSERT_TRUE(parsed.has_value()) << GetParam().text;
  EXPECT_DOUBLE_EQ(*parsed, GetParam().epoch_seconds) << GetParam().text;
  EXPECT_EQ(*parsed, GetParam().epoch_seconds) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseDateAddedAccepts,
    testing::Values(Accepted{"2026-04-21T10:00:00.000Z", 1776765600.0},       // 3 digits
                    Accepted{"2026-04-21T10:00:00.1Z", 1776765600.1},         // 1 digit
                    Accepted{"2026-04-21T10:00:00.12Z", 1776765600.12},       // 2 digits
                    Accepted{"2026-04-21T10:00:00.1234Z", 1776765600.1234},   // 4 digits
                    Accepted{"2026-04-21T10:00:00.12345Z", 1776765600.12345}, // 5 digits
                    Accepted{"2026-04-21T10:00:00.999999Z", 1776765600.999999},
                    Accepted{"2026-4-1T1:2:3.5Z", 1775005323.5},              // one-digit fields
                    Accepted{"2026-04- 1T01:02:03.5Z", 1775005323.5},         // %d accepts " 1"
                    Accepted{"2026-04-21t10:00:00.000z", 1776765600.0},       // letters any case
                    Accepted{"2024-02-29T00:00:00.0Z", 1709164800.0},         // leap day
                    Accepted{"2026-1-01T00:00:00.0Z", 1767225600.0},
                    Accepted{"2026-04-3T07:05:01.0Z", 1775199901.0},
                    Accepted{"2026-04-01T07:5:3.0Z", 1775027103.0},
                    Accepted{"1969-12-31T23:59:59.5Z", -0.5},
                    Accepted{"0001-01-01T00:00:00.0Z", -62135596800.0},
                    // Python's float division rounds this up to the next second.
                    Accepted{"9999-12-31T23:59:59.999999Z", 253402300800.0}));

class ParseDateAddedRejects : public testing::TestWithParam<const char*> {};

TEST_P(ParseDateAddedRejects, AsPythonStrptime) { EXPECT_FALSE(parse_date_added(GetParam()).has_value()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Cases, ParseDateAddedRejects,
                         testing::Values("2026-04-21T10:00:00Z",          // fraction required
                                         "2026-04-21T10:00:00.1234567Z",  // 7 digits
                                         "2026-04-21T10:00:00.Z",         // empty fraction
                                         "2026-02-29T00:00:00.0Z",        // not a leap year
                                         "2026-04-31T00:00:00.0Z",        // April has 30 days
                                         "2026-04-21T10:00:60.0Z",        // second 60
                                         "2026-04-01T07:05:61.0Z",        // second 61
                                         "2026-04-21T24:00:00.0Z",        // hour 24
                                         "2026-13-01T00:00:00.0Z", "2026-00-01T00:00:00.0Z",
                                         "2026-04-32T07:05:01.0Z", "2026-04-00T07:05:01.0Z",
                                         "0000-01-01T00:00:00.0Z",        // year 0
                                         "2026-04-21T10:00:00.000Z ",     // trailing blank
                                         "2026-04-01T07:05:01.0ZZ", "+2026-04-01T07:05:01.0Z",
                                         "2026-04-21 10:00:00.0Z", "2026-04-21T10:00:00.+1Z",
                                         "2026-04-21T10:60:00.0Z", "26-04-21T10:00:00.0Z",
                                         "2026-04-21T10:00:00.0+00:00", "garbage", ""));

TEST(DateAddedOf, TakesTheTextAfterTheFirstOccurrenceUpToTheNextSemicolon) {
  const DateAdded result =
      date_added_of("threat_score=80;date_added=2026-04-21T10:00:00.000Z;date_added=2030-01-01T00:00:00.0Z");
  EXPECT_EQ(result.epoch_seconds, 1776765600.0);
  EXPECT_FALSE(result.warning);
}

TEST(DateAddedOf, MatchesTheSubstringInsideALongerKeyLikeTheReference) {
  EXPECT_EQ(date_added_of("xdate_added=2026-04-21T10:00:00.000Z").epoch_seconds, 1776765600.0);
}

TEST(DateAddedOf, StopsAtASecondOccurrenceWithoutSemicolon) {
  // Python: description.split("date_added=")[1] ends where the next "date_added=" starts.
  EXPECT_EQ(date_added_of("date_added=2026-04-21T10:00:00.000Zdate_added=x").epoch_seconds, 1776765600.0);
}

TEST(DateAddedOf, AbsentOrEmptyValueGivesZeroWithoutWarning) {
  for (const char* description : {"", "threat_score=80", "date_added=", "date_added=;x=1"}) {
    const DateAdded result = date_added_of(description);
    EXPECT_EQ(result.epoch_seconds, 0.0) << description;
    EXPECT_FALSE(result.warning) << description;
  }
}

TEST(DateAddedOf, GarbageGivesZeroAndTheReferenceWarning) {
  const DateAdded result = date_added_of("category=bot;date_added=2026-04-21;x=1");
  EXPECT_EQ(result.epoch_seconds, 0.0);
  ASSERT_TRUE(result.warning);
  EXPECT_EQ(*result.warning, "Invalid date format in description: 2026-04-21");
}

TEST(DateAddedOf, MissingFractionIsInvalid) {
  const DateAdded result = date_added_of("date_added=2026-04-21T10:00:00Z");
  EXPECT_EQ(*result.warning, "Invalid date format in description: 2026-04-21T10:00:00Z");
}

rapidjson::Document parse(const char* text) {
  rapidjson::Document document;
  document.Parse(text);
  EXPECT_FALSE(document.HasParseError());
  return document;
}

TEST(BatchWatermark, IsTheMaximumOverDescriptionsAndObservableDescriptions) {
  const auto objects = parse(R"([
    {"id": "a", "description": "date_added=2026-04-21T10:00:00.000Z"},
    {"id": "b", "x_opencti_description": "date_added=2026-04-21T13:00:00.500Z"},
    {"id": "c", "description": "date_added=2026-04-21T11:00:00.000Z"},
    {"id": "d"}
  ])");
  const Watermark watermark = batch_watermark(objects);
  EXPECT_EQ(watermark.epoch_seconds, 1776776400.5);
  EXPECT_TRUE(watermark.warnings.empty());
}

TEST(BatchWatermark, EmptyDescriptionFallsBackToObservableDescription) {
  // Python: obj.get("description") or obj.get("x_opencti_description") or ""
  const auto objects = parse(R"([
    {"id": "a", "description": "", "x_opencti_description": "date_added=2026-04-21T10:00:00.000Z"},
    {"id": "b", "description": null, "x_opencti_description": "date_added=2026-04-21T11:00:00.000Z"},
    {"id": "c", "description": "no date", "x_opencti_description": "date_added=2030-01-01T00:00:00.000Z"}
  ])");
  EXPECT_EQ(batch_watermark(objects).epoch_seconds, 1776769200.0);
}

TEST(BatchWatermark, CollectsOneWarningPerBadDateAndNeverGoesBelowZero) {
  const auto objects = parse(R"([
    {"id": "a", "description": "date_added=yesterday"},
    {"id": "b", "description": "date_added=1969-12-31T23:59:59.5Z"},
    {"id": "c", "x_opencti_description": "date_added=2026-04-21T10:00:00Z;threat_score=1"}
  ])");
  const Watermark watermark = batch_watermark(objects);
  EXPECT_EQ(watermark.epoch_seconds, 0.0);
  ASSERT_EQ(watermark.warnings.size(), 2u);
  EXPECT_EQ(watermark.warnings[0], "Invalid date format in description: yesterday");
  EXPECT_EQ(watermark.warnings[1], "Invalid date format in description: 2026-04-21T10:00:00Z");
}

system_clock::time_point at(long long seconds, long long micros = 0) {
  return system_clock::time_point(std::chrono::seconds(seconds) + std::chrono::microseconds(micros));
}

TEST(NextLastAdded, IsTheRunStartFlooredUnlessTheWatermarkIsLater) {
  EXPECT_EQ(next_last_added(at(1776765600, 999999), 0.0), 1776765600);
  EXPECT_EQ(next_last_added(at(1776765600, 999999), 1776765000.0), 1776765600);
  EXPECT_EQ(next_last_added(at(1776765600), 1776776400.5), 1776776400);
  // A far-future date_added moves the state ahead (reference behaviour).
  EXPECT_EQ(next_last_added(at(1776765600), 4070908800.0), 4070908800);
}

TEST(FormatAddedAfter, DropsTrailingZerosOfMicrosecondsAndOmitsZeroFraction) {
  EXPECT_EQ(format_added_after(at(1776765600)), "2026-04-21T10:00:00Z");
  EXPECT_EQ(format_added_after(at(1776765600, 500000)), "2026-04-21T10:00:00.5Z");
  EXPECT_EQ(format_added_after(at(1776765600, 245366)), "2026-04-21T10:00:00.245366Z");
  EXPECT_EQ(format_added_after(at(1776765600, 1)), "2026-04-21T10:00:00.000001Z");
  EXPECT_EQ(format_added_after(at(1776765600, 120)), "2026-04-21T10:00:00.00012Z");
  EXPECT_EQ(format_added_after(at(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_added_after(at(951782400)), "2000-02-29T00:00:00Z");
}

TEST(FormatAddedAfter, TruncatesBelowMicroseconds) {
  const auto t = at(1776765600, 5) + std::chrono::nanoseconds(999);
  EXPECT_EQ(format_added_after(t), "2026-04-21T10:00:00.000005Z");
}

}  // namespace
