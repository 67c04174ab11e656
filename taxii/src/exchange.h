#pragma once
// One HTTP exchange with a TAXII server: media types, credentials (asked from the token before each
// request), status classification, and the retry loop with backoff, jitter and Retry-After.
#include <chrono>
#include <optional>
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

// The answer arrived but cannot be read (not JSON, broken JSON, not the expected shape). Retried
// like any transient failure (a server may send a truncated page once), but when every attempt
// failed so, the error says the body was unreadable, not that the server was unreachable.
class UnreadableBody : public RetryableFailure {
 public:
  UnreadableBody(const std::string& what, std::string content_type, std::optional<std::size_t> offset = {})
      : RetryableFailure(what), content_type_(std::move(content_type)), offset_(offset) {}
  const std::string& content_type() const noexcept { return content_type_; }
  std::optional<std::size_t> offset() const noexcept { return offset_; }

 private:
  std::string content_type_;
  std::optional<std::size_t> offset_;
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
  // clock, and retried while attempts remain; then UnavailableError naming `url` (or
  // UnreadableResponseError when the last attempt got an UnreadableBody).
  template <class Attempt>
  auto with_retries(const std::string& url, ReadStats& stats, Attempt&& attempt) -> decltype(attempt(1)) {
    const int max_attempts = options_.retry.max_attempts;
    for (int n = 1;; ++n) {
      try {
        return attempt(n);
      } catch (const RetryableFailure& failure) {
        if (!options_.retry.allows_attempt_after(n)) give_up(url, n, failure);
        auto delay = backoff_.delay(n, failure.retry_after());
        spdlog::warn("TAXII attempt {}/{} for {} failed: {}. Retrying in {} ms", n, max_attempts, url,
                     failure.what(), delay.count());
        ++stats.retries;
        clock_.sleep_for(delay);
      }
    }
  }

  // The error for a request whose every attempt failed; `last` is the last attempt's failure.
  [[noreturn]] void give_up(const std::string& url, int attempts, const RetryableFailure& last) const;

  // The server's explanation of the last 401/403 it answered.
  const ErrorBody& last_refusal() const noexcept { return last_refusal_; }

 private:
  http::Headers credentials();

  const ClientOptions& options_;
  http::Transport& transport_;
  Clock& clock_;
  http::Backoff backoff_;
  ErrorBody last_refusal_;
};

}  // namespace kfc::taxii::detail
