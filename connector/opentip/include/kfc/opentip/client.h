#pragma once
// The OpenTIP client: classify the value, answer from the cache, respect the rate limit and the
// quota block, send `GET search/<kind>?request=<value>` with `x-api-key`, type the answer.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "kfc/config/clock.h"
#include "kfc/config/settings.h"
#include "kfc/config/token.h"
#include "kfc/http/retry.h"
#include "kfc/http/transport.h"
#include "kfc/opentip/cache.h"
#include "kfc/opentip/errors.h"
#include "kfc/opentip/query.h"
#include "kfc/opentip/rate_limiter.h"
#include "kfc/opentip/result.h"

namespace kfc::opentip {

struct ClientOptions {
  std::string base_url = "https://opentip.kaspersky.com/api/v1/";  // ends with '/'
  TokenPtr api_key;
  int max_requests_per_minute = 10;
  // After a 403: no request before now + cooldown (zero: before the next UTC midnight).
  std::chrono::seconds quota_cooldown{3600};
  // Per lookup, for 429 / 5xx / no answer: 4 tries, 2 s doubling to 60 s; someone waits for the
  // answer, so a Retry-After beyond 5 minutes gives up at once.
  http::RetryPolicy retry{.max_attempts = 4,
                          .initial_backoff = std::chrono::seconds(2),
                          .max_backoff = std::chrono::seconds(60),
                          .max_retry_after = std::chrono::minutes(5),
                          .long_retry_after = http::LongRetryAfter::GiveUp,
                          .jitter = 0.0};
};

// Checks opentip.url (https unless opentip.allow_insecure_http, and a usable URL) and the key's
// presence; throws std::invalid_argument naming the key and what to do.
ClientOptions client_options(const OpenTipSettings& settings);

class Client {
 public:
  // `cache` may be null (no caching). The transport, clock and cache must outlive the client.
  Client(ClientOptions options, http::Transport& transport, Clock& clock, ResultCache* cache);

  // Throws InvalidValueError (nothing sent), TokenRejectedError (401), QuotaExceededError (403 or
  // blocked), BadRequestError (400), ServiceUnavailableError (429/5xx/no answer after retries),
  // ResponseFormatError, TokenError (expired key: never sent).
  LookupResult lookup(std::string_view value);
  LookupResult lookup(const Query& query);

  int requests_sent() const noexcept { return requests_sent_; }
  // Until when OpenTIP's quota blocks requests (after a 403), as far as this client knows.
  std::optional<SystemTime> blocked_until() const noexcept { return blocked_until_; }
  std::string endpoint_url(const Query& query) const;

 private:
  http::Response send_with_retries(const Query& query);
  [[noreturn]] void on_quota_exceeded();
  void check_quota_block();
  SystemTime quota_block_end(SystemTime now) const;

  ClientOptions options_;
  http::Transport& transport_;
  Clock& clock_;
  ResultCache* cache_;
  RateLimiter limiter_;
  http::Backoff backoff_;
  std::optional<SystemTime> blocked_until_;
  int requests_sent_ = 0;
};

}  // namespace kfc::opentip
