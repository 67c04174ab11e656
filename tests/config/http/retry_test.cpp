// The retry policy every HTTP client shares: attempts, doubling backoff, jitter, Retry-After.
#include <gtest/gtest.h>

#include <climits>

#include "kfc/http/retry.h"

namespace kfc::http::test {
namespace {

using std::chrono::milliseconds;

RetryPolicy doubling(double jitter = 0.0) {
  return {.max_attempts = 4, .initial_backoff = milliseconds{1000}, .max_backoff = milliseconds{8000},
          .max_retry_after = milliseconds{120000}, .long_retry_after = LongRetryAfter::WaitTheMaximum,
          .jitter = jitter};
}

TEST(RetryPolicy, BackoffDoublesFromTheFirstWaitUpToTheCap) {
  Backoff backoff(doubling());
  EXPECT_EQ(backoff.delay(1), milliseconds{1000});
  EXPECT_EQ(backoff.delay(2), milliseconds{2000});
  EXPECT_EQ(backoff.delay(3), milliseconds{4000});
  EXPECT_EQ(backoff.delay(4), milliseconds{8000});
  EXPECT_EQ(backoff.delay(5), milliseconds{8000});
}

// A client retrying forever reaches attempt numbers no shift or multiplication would survive.
TEST(RetryPolicy, HugeAttemptNumbersStayAtTheCap) {
  RetryPolicy policy = doubling();
  policy.max_backoff = milliseconds{LLONG_MAX};
  Backoff backoff(policy);
  EXPECT_EQ(backoff.delay(INT_MAX), milliseconds{LLONG_MAX});
  EXPECT_EQ(Backoff(doubling()).delay(INT_MAX), milliseconds{8000});
}

TEST(RetryPolicy, JitterShortensEachWaitByAtMostItsShare) {
  Backoff backoff(doubling(0.5), 42);
  bool shortened = false;
  for (int i = 0; i < 200; ++i) {
    const auto wait = backoff.delay(3);
    EXPECT_GE(wait, milliseconds{2000});
    EXPECT_LE(wait, milliseconds{4000});
    shortened = shortened || wait < milliseconds{4000};
  }
  EXPECT_TRUE(shortened) << "200 draws never below the base: no jitter applied";
}

TEST(RetryPolicy, RetryAfterReplacesTheBackoffWithinItsLimit) {
  Backoff backoff(doubling(0.5));
  EXPECT_EQ(backoff.delay(1, milliseconds{30000}), milliseconds{30000});
  EXPECT_EQ(backoff.delay(1, milliseconds{0}), milliseconds{0});
  EXPECT_EQ(backoff.delay(1, milliseconds{-5}), milliseconds{0});
  EXPECT_EQ(backoff.delay(1, kMaxRetryAfter), milliseconds{120000});
}

TEST(RetryPolicy, ALongRetryAfterIsWaitedOutOrGivenUpOnAsThePolicySays) {
  RetryPolicy policy = doubling();
  EXPECT_FALSE(policy.gives_up_on(milliseconds{600000}));
  policy.long_retry_after = LongRetryAfter::GiveUp;
  EXPECT_FALSE(policy.gives_up_on(milliseconds{120000}));
  EXPECT_TRUE(policy.gives_up_on(milliseconds{120001}));
}

TEST(RetryPolicy, AttemptsAreCountedWithTheFirstTryAndZeroMeansNoLimit) {
  RetryPolicy policy = doubling();
  EXPECT_TRUE(policy.allows_attempt_after(3));
  EXPECT_FALSE(policy.allows_attempt_after(4));
  policy.max_attempts = 0;
  EXPECT_TRUE(policy.allows_attempt_after(1000000));
}

TEST(RetryPolicy, RetryAfterHeaderIsReadFromTheResponse) {
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
  Response response;
  EXPECT_EQ(retry_after(response, now), std::nullopt);
  response.headers.emplace_back("retry-after", "7");
  EXPECT_EQ(retry_after(response, now), milliseconds{7000});
}

}  // namespace
}  // namespace kfc::http::test
