#include "kfc/opentip/rate_limiter.h"

namespace kfc::opentip {
namespace {
constexpr auto kWindow = std::chrono::minutes(1);
}

void RateLimiter::forget_older_than_a_minute(SystemTime now) {
  while (!sent_.empty() && now - sent_.front() >= kWindow) sent_.pop_front();
}

Duration RateLimiter::wait_needed() {
  std::lock_guard lock(mutex_);
  if (max_per_minute_ <= 0) return Duration::zero();
  SystemTime now = clock_.now();
  forget_older_than_a_minute(now);
  if (static_cast<int>(sent_.size()) < max_per_minute_) return Duration::zero();
  return std::chrono::duration_cast<Duration>(sent_.front() + kWindow - now);
}

void RateLimiter::acquire() {
  if (max_per_minute_ <= 0) return;
  for (Duration wait = wait_needed(); wait > Duration::zero(); wait = wait_needed()) clock_.sleep_for(wait);
  std::lock_guard lock(mutex_);
  sent_.push_back(clock_.now());
}

}  // namespace kfc::opentip
