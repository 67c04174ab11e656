#pragma once
// When runs happen: the first at start, the next one run_interval after the previous ended
// (the reference sleeps update_interval after each run), or a single run for run_and_terminate /
// `run --once`. Time comes from the injected Clock; a stop request cuts any wait short.
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "kfc/config/clock.h"
#include "kfc/runner/stop.h"

namespace kfc::runner {

enum class RunOutcome { Succeeded, Failed, Interrupted };

struct ScheduleOptions {
  std::chrono::seconds interval{3600};       // Settings::run_interval()
  bool run_once = false;                     // connector.run_and_terminate or --once
  std::chrono::seconds hold_recheck{60};     // how often a held run (queue buffering) is re-checked
};

class Scheduler {
 public:
  Scheduler(Clock& clock, StopSignal& stop, ScheduleOptions options);

  using Run = std::function<RunOutcome()>;
  // Answers true while runs must wait (OpenCTI queue over its threshold).
  using Hold = std::function<bool()>;
  // Told whenever last_run()/next_run() changed (so the OpenCTI ping can carry them).
  using Changed = std::function<void()>;

  // Runs until a stop request (or after one run with run_once); returns the last run's outcome
  // (Interrupted when stopped before any run completed).
  RunOutcome loop(const Run& run, const Hold& hold = {}, const Changed& changed = {});

  // For the OpenCTI ping (thread-safe): start of the last run, start of the next one.
  std::optional<SystemTime> last_run() const;
  std::optional<SystemTime> next_run() const;

 private:
  void set_times(std::optional<SystemTime> last, std::optional<SystemTime> next);
  Changed changed_;
  bool wait_until(SystemTime when);

  Clock& clock_;
  StopSignal& stop_;
  ScheduleOptions options_;
  mutable std::mutex mutex_;
  std::optional<SystemTime> last_run_;
  std::optional<SystemTime> next_run_;
};

}  // namespace kfc::runner
