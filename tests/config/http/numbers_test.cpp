// The numbers the HTTP layer reads from headers.
#include <gtest/gtest.h>

#include "kfc/http/transport.h"

namespace kfc::http::test {
namespace {

// Numbers a server writes into headers are read with overflow checks and clamped (the sanitizer
// build aborts on the signed overflow a naive seconds × 1000 would hit).
TEST(HttpNumbers, RetryAfterIsReadWithoutOverflow) {
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
  EXPECT_EQ(parse_retry_after("120", now), std::chrono::milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_retry_after("1000000000000000000000000000000", now), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("9223372036854775807", now), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("18446744073709551616", now), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("1e9", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:40 GMT", now), std::chrono::milliseconds(20000));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), kMaxRetryAfter);
}

TEST(HttpNumbers, CountsAreDigitsThatFitSixtyFourBits) {
  EXPECT_EQ(parse_count("18446744073709551615"), 18446744073709551615ULL);
  EXPECT_EQ(parse_count("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_count("+1"), std::nullopt);
  EXPECT_EQ(parse_count("1 "), std::nullopt);
  EXPECT_EQ(parse_count(""), std::nullopt);
}

}  // namespace
}  // namespace kfc::http::test
