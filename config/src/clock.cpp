#include "kfc/config/clock.h"

#include <algorithm>
#include <thread>

namespace kfc {

SystemTime SystemClock::now() const { return std::chrono::system_clock::now(); }

void SystemClock::sleep_for(Duration d) { std::this_thread::sleep_for(d); }

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

bool sleep_unless_stopping(Clock& clock, Duration d, const std::function<bool()>& stopping, Duration slice) {
  const SystemTime deadline = clock.now() + d;
  while (!(stopping && stopping())) {
    const auto left = std::chrono::duration_cast<Duration>(deadline - clock.now());
    if (left <= Duration::zero()) return true;
    clock.sleep_for(std::min(left, slice));
  }
  return false;
}

void InterruptibleClock::sleep_for(Duration d) {
  if (!sleep_unless_stopping(base_, d, stopping_)) throw Interrupted("stopping: a wait was cut short");
}

}  // namespace kfc
