#include <gtest/gtest.h>

#include "kfc/fixtures/manual_clock.h"

namespace kfc {
namespace {

using namespace std::chrono_literals;

TEST(ManualClock, SleepingAdvancesTimeWithoutWaiting) {
  ManualClock clock{SystemTime{} + 1000h};
  clock.sleep_for(90s);
  clock.advance(10s);
  EXPECT_EQ(clock.now(), SystemTime{} + 1000h + 100s);
  EXPECT_EQ(clock.slept(), 90s);
}

}  // namespace
}  // namespace kfc
