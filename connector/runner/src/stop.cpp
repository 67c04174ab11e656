#include "kfc/runner/stop.h"

#include <algorithm>

namespace kfc::runner {

void StopSignal::request(std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (requested_.load()) return;
    reason_ = std::move(reason);
    requested_.store(true, std::memory_order_release);
  }
  changed_.notify_all();
}

std::string StopSignal::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

bool StopSignal::sleep_for(Clock& clock, Duration d) {
  // Slices on the injected clock rather than a condition variable wait: the clock may be a
  // ManualClock, whose time only moves when someone sleeps on it.
  const SystemTime deadline = clock.now() + d;
  while (!requested()) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - clock.now());
    if (left <= Duration::zero()) return true;
    clock.sleep_for(std::min(left, kSlice));
  }
  return false;
}

bool StopSignal::wait_for(Duration d) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, d, [this] { return requested_.load(); });
}

}  // namespace kfc::runner
