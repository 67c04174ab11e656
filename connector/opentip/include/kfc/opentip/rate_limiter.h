#pragma once
// The client-side limit opentip.max_requests_per_minute: OpenTIP blocks clients that ask too often,
// so we wait (on the injectable clock) rather than be blocked.
#include <deque>
#include <mutex>

#include "kfc/config/clock.h"

namespace kfc::opentip {

class RateLimiter {
 public:
  // `max_per_minute` <= 0 disables the limit.
  RateLimiter(int max_per_minute, Clock& clock) : max_per_minute_(max_per_minute), clock_(clock) {}
  // Blocks until one more request fits in the sliding minute, then counts it.
  void acquire();
  // How long acquire() would wait now (zero when a request may go at once).
  Duration wait_needed();

 private:
  void forget_older_than_a_minute(SystemTime now);

  int max_per_minute_;
  Clock& clock_;
  std::mutex mutex_;
  std::deque<SystemTime> sent_;
};

}  // namespace kfc::opentip
