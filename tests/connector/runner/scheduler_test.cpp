#include "kfc/fixtures/manual_clock.h"
#include "kfc/runner/scheduler.h"

#include <gtest/gtest.h>

#include <vector>

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;

const SystemTime kStart = SystemTime{std::chrono::seconds{1'800'000'000}};

TEST(Scheduler, FirstRunAtStartThenOneEveryIntervalAfterTheRunEnded) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 3600s});
  std::vector<SystemTime> starts;
  scheduler.loop([&] {
    starts.push_back(clock.now());
    clock.advance(10min);  // the run itself takes ten minutes
    if (starts.size() == 3) stop.request("test");
    return RunOutcome::Succeeded;
  });
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_EQ(starts[0], kStart);
  EXPECT_EQ(starts[1], kStart + 10min + 3600s);
  EXPECT_EQ(starts[2], kStart + 2 * (10min + 3600s));
}

TEST(Scheduler, RunOnceRunsOneAndReportsItsOutcome) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 60s, .run_once = true});
  int runs = 0;
  EXPECT_EQ(scheduler.loop([&] { ++runs; return RunOutcome::Failed; }), RunOutcome::Failed);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(clock.slept(), 0ms);
  EXPECT_FALSE(scheduler.next_run().has_value());
}

TEST(Scheduler, AFailedRunIsRetriedAtTheNextInterval) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 300s});
  std::vector<RunOutcome> outcomes{RunOutcome::Failed, RunOutcome::Succeeded};
  std::size_t runs = 0;
  const auto last = scheduler.loop([&] {
    const auto outcome = outcomes[runs++];
    if (runs == outcomes.size()) stop.request("test");
    return outcome;
  });
  EXPECT_EQ(runs, 2u);
  EXPECT_EQ(last, RunOutcome::Succeeded);
  EXPECT_EQ(clock.slept(), 300s);
}

TEST(Scheduler, AStopDuringTheSleepEndsTheLoopWithoutAnotherRun) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 3600s});
  int runs = 0;
  // A helper thread cannot be synchronised with a ManualClock without sleeping, so the stop comes
  // from a clock that requests it once the sleep is under way.
  struct StoppingClock final : Clock {
    ManualClock& inner;
    StopSignal& stop;
    StoppingClock(ManualClock& c, StopSignal& s) : inner(c), stop(s) {}
    SystemTime now() const override { return inner.now(); }
    void sleep_for(Duration d) override {
      inner.sleep_for(d);
      if (inner.slept() >= 30min) stop.request("SIGTERM");
    }
  } stopping(clock, stop);
  Scheduler stoppable(stopping, stop, {.interval = 3600s});
  stoppable.loop([&] { ++runs; return RunOutcome::Succeeded; });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(clock.slept(), 30min);  // woke within one slice of the stop, not after the interval
  (void)scheduler;
}

TEST(Scheduler, AnInterruptedRunEndsTheLoop) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 60s});
  int runs = 0;
  EXPECT_EQ(scheduler.loop([&] { ++runs; return RunOutcome::Interrupted; }), RunOutcome::Interrupted);
  EXPECT_EQ(runs, 1);
}

TEST(Scheduler, ReportsLastAndNextRunForThePing) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 60s});
  std::optional<SystemTime> next_seen_in_second_run;
  int runs = 0;
  scheduler.loop([&] {
    ++runs;
    clock.advance(5s);
    if (runs == 2) {
      next_seen_in_second_run = scheduler.next_run();
      stop.request("test");
    }
    return RunOutcome::Succeeded;
  });
  EXPECT_EQ(scheduler.last_run(), kStart + 5s + 60s);
  EXPECT_FALSE(next_seen_in_second_run.has_value());  // a run is under way: no next run yet
}

TEST(Scheduler, TellsWhenTheNextRunIsKnownBeforeSleeping) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 600s});
  std::vector<std::optional<SystemTime>> nexts;
  int runs = 0;
  scheduler.loop([&] { if (++runs == 2) stop.request("test"); return RunOutcome::Succeeded; }, {},
                 [&] { nexts.push_back(scheduler.next_run()); });
  // start (next = now), run 1 starts (none), run 1 ends (next = +600 s), run 2 starts, run 2 ends
  ASSERT_GE(nexts.size(), 3u);
  EXPECT_EQ(nexts[2], kStart + 600s);
  EXPECT_FALSE(nexts.back().has_value());
}

TEST(Scheduler, HeldRunsWaitWhileTheQueueIsFull) {
  ManualClock clock(kStart);
  StopSignal stop;
  Scheduler scheduler(clock, stop, {.interval = 600s, .hold_recheck = 60s});
  int checks = 0;
  int runs = 0;
  scheduler.loop([&] { ++runs; stop.request("test"); return RunOutcome::Succeeded; },
                 [&] { return ++checks <= 3; });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(clock.slept(), 180s);
}

TEST(StopSignal, SleepRunsTheWholeDurationWithoutAStop) {
  ManualClock clock(kStart);
  StopSignal stop;
  EXPECT_TRUE(stop.sleep_for(clock, 2h));
  EXPECT_EQ(clock.now(), kStart + 2h);
}

TEST(StopSignal, KeepsTheFirstReason) {
  StopSignal stop;
  stop.request("SIGTERM");
  stop.request("SIGINT");
  EXPECT_TRUE(stop.requested());
  EXPECT_EQ(stop.reason(), "SIGTERM");
  ManualClock clock(kStart);
  EXPECT_FALSE(stop.sleep_for(clock, 1h));
  EXPECT_EQ(clock.slept(), 0ms);
  EXPECT_TRUE(stop.wait_for(1h));  // already stopped: returns at once
}

}  // namespace
}  // namespace kfc::runner
