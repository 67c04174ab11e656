#pragma once
// Injectable time, as Envoy does it: production code asks a Clock, tests hand in a ManualClock so
// token expiry, schedules and backoff are tested without sleeping.
#include <chrono>
#include <mutex>

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

// A clock for tests: time only moves when told to (or when someone sleeps on it).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start);
  SystemTime now() const override;
  void sleep_for(Duration d) override;
  void advance(Duration d);
  void set(SystemTime t);
  // Total time callers have slept on this clock (lets tests assert on backoff without waiting).
  Duration slept() const;

 private:
  mutable std::mutex mutex_;
  SystemTime now_;
  Duration slept_{0};
};

}  // namespace kfc
