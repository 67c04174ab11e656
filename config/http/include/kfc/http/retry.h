#pragma once
// The one retry policy of every HTTP client (TAXII, OpenCTI GraphQL, OpenTIP): how many attempts, the
// backoff between them (doubling, capped, with jitter) and how far a server's Retry-After is believed.
// Each client keeps its own idea of which failure is worth another attempt; how long to wait, and
// when to stop, is decided here (README.md, "Retries").
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "kfc/http/transport.h"

namespace kfc::http {

// What a Retry-After longer than RetryPolicy::max_retry_after means to the client.
enum class LongRetryAfter {
  WaitTheMaximum,  // wait max_retry_after, then try again (a feed read must go on)
  GiveUp,          // stop retrying at once (a lookup someone waits for)
};

struct RetryPolicy {
  int max_attempts = 5;  // per request, first try included; 0: no limit (until the caller stops)
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{60000};
  // A server's Retry-After is believed up to this; what a longer one means: long_retry_after.
  std::chrono::milliseconds max_retry_after{600000};
  LongRetryAfter long_retry_after = LongRetryAfter::WaitTheMaximum;
  // Each backoff is drawn uniformly from [base × (1 − jitter), base]; 0: exactly base.
  double jitter = 0.0;

  // True when attempt number `attempt` (from 1) may be followed by another one.
  bool allows_attempt_after(int attempt) const noexcept { return max_attempts <= 0 || attempt < max_attempts; }
  // A Retry-After this policy gives up on (LongRetryAfter::GiveUp and beyond max_retry_after).
  bool gives_up_on(std::chrono::milliseconds retry_after) const noexcept {
    return long_retry_after == LongRetryAfter::GiveUp && retry_after > max_retry_after;
  }
};

// The waits of one client under a policy. The jitter is drawn here; the waiting itself is done on
// the client's injected Clock, so tests see every wait without sleeping.
class Backoff {
 public:
  explicit Backoff(RetryPolicy policy);
  Backoff(RetryPolicy policy, std::uint32_t seed);

  const RetryPolicy& policy() const noexcept { return policy_; }

  // The wait after attempt `failed_attempt` (from 1) failed: the server's Retry-After when it sent
  // one (never below 0 nor above max_retry_after), else initial_backoff doubled per earlier failure,
  // capped at max_backoff (no overflow however many attempts), less up to `jitter` of it.
  std::chrono::milliseconds delay(int failed_attempt, std::optional<std::chrono::milliseconds> retry_after = {});

 private:
  RetryPolicy policy_;
  std::minstd_rand random_;
};

// The response's Retry-After as a wait from `now` (parse_retry_after), nullopt without a usable one.
std::optional<std::chrono::milliseconds> retry_after(const Response& response,
                                                     std::chrono::system_clock::time_point now);

}  // namespace kfc::http
