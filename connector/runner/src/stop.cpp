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
  return sleep_unless_stopping(clock, d, [this] { return requested(); }, kSlice);
}

bool StopSignal::wait_for(Duration d) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, d, [this] { return requested_.load(); });
}

}  // namespace kfc::runner
