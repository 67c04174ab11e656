#include "kfc/runner/scheduler.h"

#include <spdlog/spdlog.h>

namespace kfc::runner {

Scheduler::Scheduler(Clock& clock, StopSignal& stop, ScheduleOptions options)
    : clock_(clock), stop_(stop), options_(options) {}

RunOutcome Scheduler::loop(const Run& run, const Hold& hold, const Changed& changed) {
  changed_ = changed;
  RunOutcome outcome = RunOutcome::Interrupted;
  set_times(std::nullopt, clock_.now());
  while (!stop_.requested()) {
    // Back-pressure: the platform has not imported what was queued; do not pile up more.
    while (!options_.run_once && hold && hold()) {
      spdlog::info("OpenCTI queue is over connector.queue_threshold: the run waits (checked again in {} s)",
                   options_.hold_recheck.count());
      if (!stop_.sleep_for(clock_, options_.hold_recheck)) return outcome;
    }
    const SystemTime started = clock_.now();
    set_times(started, std::nullopt);
    outcome = run();
    if (options_.run_once || outcome == RunOutcome::Interrupted || stop_.requested()) {
      if (options_.run_once) spdlog::info("Run Complete. Stopping connector...");
      set_times(started, std::nullopt);
      return outcome;
    }
    const SystemTime next = clock_.now() + options_.interval;
    set_times(started, next);
    spdlog::info("Run Complete. Sleeping until next run in {} seconds", options_.interval.count());
    if (!wait_until(next)) break;
  }
  return outcome;
}

bool Scheduler::wait_until(SystemTime when) {
  const auto left = std::chrono::duration_cast<Duration>(when - clock_.now());
  return left <= Duration::zero() || stop_.sleep_for(clock_, left);
}

void Scheduler::set_times(std::optional<SystemTime> last, std::optional<SystemTime> next) {
  {
    std::lock_guard lock(mutex_);
    if (last) last_run_ = last;
    next_run_ = next;
  }
  if (changed_) changed_();
}

std::optional<SystemTime> Scheduler::last_run() const {
  std::lock_guard lock(mutex_);
  return last_run_;
}

std::optional<SystemTime> Scheduler::next_run() const {
  std::lock_guard lock(mutex_);
  return next_run_;
}

}  // namespace kfc::runner
