#pragma once
// The process's stop request (SIGTERM/SIGINT, a deleted OpenCTI work, a test): set once, seen by
// every loop, and able to cut a sleep short.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "kfc/config/clock.h"

namespace kfc::runner {

class StopSignal {
 public:
  // Records the first reason (e.g. "SIGTERM") and wakes every waiter; later calls keep that reason.
  void request(std::string reason);
  bool requested() const noexcept { return requested_.load(std::memory_order_acquire); }
  std::string reason() const;

  // Sleeps `d` on `clock` in short slices, so a stop ends it early (a ManualClock just advances).
  // Returns true when the whole duration passed, false when a stop cut it short.
  bool sleep_for(Clock& clock, Duration d);

  // Real-time wait for helper threads (ping, metrics): true when stopped, false on timeout.
  bool wait_for(Duration d);

  // The longest a stop waits to be noticed by sleep_for.
  static constexpr Duration kSlice{100};

 private:
  std::atomic<bool> requested_{false};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string reason_;
};

}  // namespace kfc::runner
