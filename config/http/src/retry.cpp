#include "kfc/http/retry.h"

#include <algorithm>

namespace kfc::http {

Backoff::Backoff(RetryPolicy policy) : Backoff(policy, std::random_device{}()) {}

Backoff::Backoff(RetryPolicy policy, std::uint32_t seed) : policy_(policy), random_(seed) {}

std::chrono::milliseconds Backoff::delay(int failed_attempt, std::optional<std::chrono::milliseconds> retry_after) {
  if (retry_after) return std::clamp(*retry_after, std::chrono::milliseconds{0}, policy_.max_retry_after);
  // Doubled in floating point and only while below the cap: a thousandth attempt does not overflow.
  const double cap = static_cast<double>(policy_.max_backoff.count());
  double base = static_cast<double>(policy_.initial_backoff.count());
  for (int i = 1; i < failed_attempt && base < cap; ++i) base *= 2;
  base = std::min(base, cap);
  if (policy_.jitter > 0.0) {
    std::uniform_real_distribution<double> spread(1.0 - std::clamp(policy_.jitter, 0.0, 1.0), 1.0);
    base *= spread(random_);
  }
  // The cap itself is returned as it is: a cap near the largest count does not survive a round
  // trip through a double.
  if (base >= cap) return policy_.max_backoff;
  return std::chrono::milliseconds{static_cast<long long>(base)};
}

std::optional<std::chrono::milliseconds> retry_after(const Response& response,
                                                     std::chrono::system_clock::time_point now) {
  const auto header = response.header("retry-after");
  if (!header) return std::nullopt;
  return parse_retry_after(*header, now);
}

}  // namespace kfc::http
