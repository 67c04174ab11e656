#include <gtest/gtest.h>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/opentip/rate_limiter.h"

namespace kfc::opentip {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, LetsTheAllowanceThroughThenWaitsForTheOldestToLeaveTheMinute) {
  ManualClock clock(SystemTime{} + 1000h);
  RateLimiter limiter(3, clock);
  limiter.acquire();
  clock.advance(10s);
  limiter.acquire();
  limiter.acquire();
  EXPECT_EQ(clock.slept(), 0ms);
  EXPECT_EQ(limiter.wait_needed(), 50s);
  limiter.acquire();  // waits until the first request is a minute old
  EXPECT_EQ(clock.slept(), 50s);
  limiter.acquire();  // the two at t=10s leave the window at t=70s
  EXPECT_EQ(clock.slept(), 60s);
}

TEST(RateLimiter, ZeroMeansNoLimit) {
  ManualClock clock(SystemTime{} + 1000h);
  RateLimiter limiter(0, clock);
  for (int i = 0; i < 100; ++i) limiter.acquire();
  EXPECT_EQ(clock.slept(), 0ms);
}

}  // namespace
}  // namespace kfc::opentip
