#pragma once
// Injectable time, as Envoy does it: production code asks a Clock, tests hand in a ManualClock
// (tests/fixtures/clock) so token expiry, schedules and backoff are tested without sleeping.
#include <chrono>
#include <functional>
#include <stdexcept>

namespace kfc {

using SystemTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC), for token expiry, TAXII timestamps and run datetimes.
  virtual SystemTime now() const = 0;
  // Blocks the caller for `d` (backoff, schedule). A ManualClock advances instead of sleeping.
  virtual void sleep_for(Duration d) = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override;
  void sleep_for(Duration d) override;
};

// The process-wide real clock.
Clock& system_clock();

// Sleeps `d` on `clock` in slices of at most `slice`, so that a stop request (`stopping()` turning
// true) ends the wait within one slice. Returns true when the whole duration passed, false when
// stopped. Slices rather than a condition variable: a ManualClock only moves when slept on.
bool sleep_unless_stopping(Clock& clock, Duration d, const std::function<bool()>& stopping,
                           Duration slice = Duration{100});

// A wait or a transfer abandoned because the process is stopping (SIGTERM): not a fault of a server
// or of the data. Whoever catches it reports the run as interrupted, not failed.
class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The clock for code that backs off and retries (TAXII pages): its sleeps end within a slice of a
// stop request by throwing Interrupted, so a Retry-After of minutes does not hold a shutdown.
class InterruptibleClock final : public Clock {
 public:
  InterruptibleClock(Clock& base, std::function<bool()> stopping) : base_(base), stopping_(std::move(stopping)) {}
  SystemTime now() const override { return base_.now(); }
  void sleep_for(Duration d) override;

 private:
  Clock& base_;
  std::function<bool()> stopping_;
};

}  // namespace kfc
