#pragma once
// One HTTP exchange with a TAXII server: media types, credentials (asked from the token before each
// request), status classification, and the retry loop with backoff, jitter and Retry-After.
#include <chrono>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "kfc/taxii/client.h"

namespace kfc::taxii::detail {

// A failure another attempt may cure (connection, timeout, 408/429/5xx, unreadable body).
class RetryableFailure : public std::runtime_error {
 public:
  explicit RetryableFailure(const std::string& what, std::optional<std::chrono::milliseconds> retry_after = {})
      : std::runtime_error(what), retry_after_(retry_after) {}
  std::optional<std::chrono::milliseconds> retry_after() const noexcept { return retry_after_; }

 private:
  std::optional<std::chrono::milliseconds> retry_after_;
};

class Exchange {
 public:
  Exchange(const ClientOptions& options, http::Transport& transport, Clock& clock);

  // One GET with Accept and credentials. Returns the response for 2xx, 404 and 416 (callers give
  // those meaning). Throws kfc::TokenError (expired token, nothing sent), kfc::TokenRejectedError
  // (401/403 with a token; the object readers tell a 403 about one collection apart),
  // ConfigurationError (401/403 without one), RetryableFailure,
  // ResponseTooLargeError, ProtocolError (any other status) or TaxiiError (TLS).
  http::Response get(const std::string& url, std::string_view accept, ReadStats& stats,
                     const http::Headers& extra = {});

  // Runs attempt(n), n = 1.., until it returns. A RetryableFailure is logged, waited out on the
  // clock, and retried while attempts remain; then UnavailableError naming `url`.
  template <class Attempt>
  auto with_retries(const std::string& url, ReadStats& stats, Attempt&& attempt) -> decltype(attempt(1)) {
    const int max_attempts = std::max(1, options_.retry.max_attempts);
    for (int n = 1;; ++n) {
      try {
        return attempt(n);
      } catch (const RetryableFailure& failure) {
        if (n >= max_attempts) {
          throw UnavailableError(url, n,
                                 "TAXII request to " + url + " failed after " + std::to_string(n) +
                                     " attempts: " + failure.what() +
                                     " — check that the server is reachable, or raise " + options_.attempts_key);
        }
        auto delay = backoff(n, failure.retry_after());
        spdlog::warn("TAXII attempt {}/{} for {} failed: {}. Retrying in {} ms", n, max_attempts, url,
                     failure.what(), delay.count());
        ++stats.retries;
        clock_.sleep_for(delay);
      }
    }
  }

  std::chrono::milliseconds backoff(int failed_attempt, std::optional<std::chrono::milliseconds> retry_after);

  // The server's explanation of the last 401/403 it answered.
  const ErrorBody& last_refusal() const noexcept { return last_refusal_; }

 private:
  http::Headers credentials();

  const ClientOptions& options_;
  http::Transport& transport_;
  Clock& clock_;
  std::minstd_rand random_;
  ErrorBody last_refusal_;
};

// "Retry-After: 120" or an HTTP date, relative to `now`.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, SystemTime now);

}  // namespace kfc::taxii::detail
