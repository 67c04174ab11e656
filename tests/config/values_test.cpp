#include <gtest/gtest.h>

#include "kfc/config/time_format.h"
#include "kfc/config/values.h"

namespace kfc {
namespace {

using namespace std::chrono_literals;

TEST(ParseBool, AcceptsTrueFalseYesNoInAnyCase) {
  for (const char* text : {"true", "TRUE", "True", "yes", "YES", "yEs"}) EXPECT_EQ(parse_bool(text), true) << text;
  for (const char* text : {"false", "FALSE", "no", "No"}) EXPECT_EQ(parse_bool(text), false) << text;
  for (const char* text : {"", "1", "0", "on", "off", "y", "truee"}) EXPECT_FALSE(parse_bool(text)) << text;
}

TEST(ParseInteger, WholeNumbersOnly) {
  EXPECT_EQ(parse_integer("60"), 60);
  EXPECT_EQ(parse_integer("+5"), 5);
  EXPECT_EQ(parse_integer("-3"), -3);
  for (const char* text : {"", "60.5", "6O", " 60", "60 ", "1e3", "99999999999999999999"}) {
    EXPECT_FALSE(parse_integer(text)) << text;
  }
  EXPECT_EQ(parse_number("0.5"), 0.5);
  EXPECT_FALSE(parse_number("half"));
  EXPECT_FALSE(parse_number("nan"));
}

TEST(ParseDuration, OpenCtiDurationPeriods) {
  EXPECT_EQ(parse_iso8601_duration("P1D"), 86400s);
  EXPECT_EQ(parse_iso8601_duration("PT1H"), 3600s);
  EXPECT_EQ(parse_iso8601_duration("PT30M"), 1800s);
  EXPECT_EQ(parse_iso8601_duration("P1DT2H"), 93600s);
  EXPECT_EQ(parse_iso8601_duration("P1W"), 604800s);
  EXPECT_EQ(parse_iso8601_duration("PT1H30M15S"), 5415s);
  EXPECT_EQ(parse_iso8601_duration("PT90.5S"), 90s);
  EXPECT_EQ(parse_iso8601_duration("pt5m"), 300s);
  EXPECT_EQ(parse_iso8601_duration("PT0S"), 0s);
  for (const char* text : {"", "P", "PT", "1h", "3600", "P1Y", "P1M", "PT1H2D", "P1DT", "PT-1H", "P 1D"}) {
    EXPECT_FALSE(parse_iso8601_duration(text)) << text;
  }
}

// Components too long for 64 bits (found by the yaml_config fuzz target's neighbourhood): refused,
// never a throw or an overflow.
TEST(ParseDuration, ComponentsTooLongAreRefusedNotOverflowed) {
  EXPECT_EQ(parse_iso8601_duration("P999999999999W"), std::chrono::seconds(999999999999LL * 7 * 86400));
  EXPECT_FALSE(parse_iso8601_duration("P9999999999999W").has_value());
  EXPECT_FALSE(parse_iso8601_duration("PT99999999999999999999999H").has_value());
  EXPECT_FALSE(parse_iso8601_duration("PT1" + std::string(400, '0') + "S").has_value());
  EXPECT_EQ(parse_iso8601_duration("PT1.5S"), std::chrono::seconds(1));
}

TEST(ParseDate, DatesAndRfc3339Timestamps) {
  const SystemTime midnight = SystemTime{} + std::chrono::seconds{1796256000};  // 2026-12-03T00:00:00Z
  EXPECT_EQ(parse_date_or_timestamp("2026-12-03"), midnight);
  EXPECT_EQ(parse_date_or_timestamp("2026-12-03T10:00:00Z"), midnight + 10h);
  EXPECT_EQ(parse_date_or_timestamp("2026-12-03t10:00:00z"), midnight + 10h);
  EXPECT_EQ(parse_date_or_timestamp("2026-12-03T10:00:00.250Z"), midnight + 10h);
  EXPECT_EQ(parse_date_or_timestamp("2026-12-03T12:00:00+02:00"), midnight + 10h);
  EXPECT_EQ(parse_date_or_timestamp("2026-12-03T05:30:00-04:30"), midnight + 10h);
  for (const char* text : {"", "2026-02-30", "2026-13-01", "03.12.2026", "2026-12-03T10:00:00", "2026-12-03T25:00:00Z",
                           "tomorrow", "2026-12-3", "2999-01-01", "1900-01-01"}) {
    EXPECT_FALSE(parse_date_or_timestamp(text)) << text;
  }
  EXPECT_EQ(format_date(midnight + 10h), "2026-12-03");
  EXPECT_EQ(format_timestamp(midnight + 10h), "2026-12-03T10:00:00Z");
}

// One formatter, the format as an argument: each named format on the same instant.
TEST(FormatTime, EachNamedFormat) {
  const SystemTime t = SystemTime{} + std::chrono::seconds{1796256000} + 10h + 120ms;  // 2026-12-03T10:00:00.120Z
  EXPECT_EQ(format_time(t, kDateFormat), "2026-12-03");
  EXPECT_EQ(format_time(t, kSecondsFormat), "2026-12-03T10:00:00Z");
  EXPECT_EQ(format_time(t, kBasicSecondsFormat), "20261203T100000Z");
  EXPECT_EQ(format_time(t, kMicrosecondsFormat), "2026-12-03T10:00:00.120000Z");
  EXPECT_EQ(format_time(t, kTrimmedFractionFormat), "2026-12-03T10:00:00.12Z");
  EXPECT_EQ(format_time(t, kStixFormat), "2026-12-03T10:00:00.120Z");
  EXPECT_EQ(format_time(t - 120ms, kStixFormat), "2026-12-03T10:00:00.000Z");
  EXPECT_EQ(format_time(t - 120ms, kTrimmedFractionFormat), "2026-12-03T10:00:00Z");
}

TEST(Uuid, CanonicalFormOnly) {
  EXPECT_TRUE(is_uuid("0c5a3cde-7b3f-4a1e-9f1e-1234567890ab"));
  EXPECT_TRUE(is_uuid("0C5A3CDE-7B3F-4A1E-9F1E-1234567890AB"));
  EXPECT_FALSE(is_uuid("0c5a3cde7b3f4a1e9f1e1234567890ab"));
  EXPECT_FALSE(is_uuid("0c5a3cde-7b3f-4a1e-9f1e-1234567890a"));
  EXPECT_FALSE(is_uuid("zc5a3cde-7b3f-4a1e-9f1e-1234567890ab"));
}

TEST(Url, HttpAndHttpsWithAHost) {
  std::string scheme;
  EXPECT_TRUE(is_http_url("https://taxii.tip.kaspersky.com/v2", &scheme));
  EXPECT_EQ(scheme, "https");
  EXPECT_TRUE(is_http_url("HTTP://127.0.0.1:8080/", &scheme));
  EXPECT_EQ(scheme, "http");
  EXPECT_TRUE(is_http_url("http://[::1]:9000/api"));
  EXPECT_TRUE(is_http_url("https://user:pw@host/x"));
  for (const char* text : {"", "taxii.tip.kaspersky.com", "ftp://host/", "https://", "https:///path",
                           "https://host:99999/", "https://ho st/"}) {
    EXPECT_FALSE(is_http_url(text)) << text;
  }
  EXPECT_EQ(url_without_credentials("https://user:SECRET@host/x?a=b"), "https://****@host/x?a=b");
  EXPECT_EQ(url_without_credentials("https://host/p@th"), "https://host/p@th");
}

TEST(ClosestMatch, SuggestsPlausibleTyposOnly) {
  const std::vector<std::string> keys{"kaspersky.api_token", "kaspersky.api_root", "connector.id"};
  EXPECT_EQ(closest_match("kaspersky.api_tokn", keys), "kaspersky.api_token");
  EXPECT_EQ(closest_match("kaspersky.apiroot", keys), "kaspersky.api_root");
  EXPECT_FALSE(closest_match("something.else.entirely", keys));
}

}  // namespace
}  // namespace kfc
