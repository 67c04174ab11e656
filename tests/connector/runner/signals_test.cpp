#include "kfc/runner/signals.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;

TEST(SignalWatcher, FirstSignalRequestsAStopNamingIt) {
  StopSignal stop;
  {
    SignalWatcher watcher(stop);
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    EXPECT_TRUE(stop.wait_for(10s));
  }
  EXPECT_EQ(stop.reason(), "SIGTERM");
}

TEST(SignalWatcher, SigintToo) {
  StopSignal stop;
  SignalWatcher watcher(stop);
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  EXPECT_TRUE(stop.wait_for(10s));
  EXPECT_EQ(stop.reason(), "SIGINT");
}

TEST(SignalWatcher, EndsQuietlyWithoutASignal) {
  StopSignal stop;
  { SignalWatcher watcher(stop); }
  EXPECT_FALSE(stop.requested());
}

TEST(SignalWatcherDeathTest, ASecondSignalExitsAtOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignal stop;
        SignalWatcher watcher(stop, 60s);
        ::kill(::getpid(), SIGTERM);
        stop.wait_for(10s);
        ::kill(::getpid(), SIGTERM);
        std::this_thread::sleep_for(30s);  // the watcher must not wait for this
      },
      ::testing::ExitedWithCode(128 + SIGTERM), "second stop signal");
}

// The guard is observable: its own exit status and line, so a stop that needed it never passes for clean.
TEST(SignalWatcherDeathTest, AStopThatHangsPastTheGracePeriodExitsWithTheForcedExitStatus) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        StopSignal stop;
        SignalWatcher watcher(stop, 50ms);
        ::kill(::getpid(), SIGTERM);
        std::this_thread::sleep_for(30s);  // a delivery that never confirms
      },
      ::testing::ExitedWithCode(kForcedExitStatus), "graceful stop took too long: forced exit with status 75");
}

}  // namespace
}  // namespace kfc::runner
