#pragma once
// The HTTP seam every client talks through (TAXII, OpenCTI GraphQL, OpenTIP). Tests point the real
// libcurl transport at loopback servers instead of mocking this interface.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kfc::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;  // may carry credentials: never log them
  std::string body;
};

struct Response {
  long status = 0;
  Headers headers;  // names lower-cased, in arrival order
  std::string body;

  // First header with this (case-insensitive) name.
  std::optional<std::string> header(std::string_view name) const;
};

// Cancelled: the caller's `cancel` predicate asked to abandon the transfer (the process is stopping).
enum class FailureKind { Connect, Timeout, Tls, TooLarge, Reset, Cancelled, Other };

// A request that got no complete HTTP answer. The message names the URL (without credentials or
// query secrets) and what went wrong; never a header value.
class TransportError : public std::runtime_error {
 public:
  TransportError(FailureKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  FailureKind kind() const noexcept { return kind_; }
  // Worth retrying: everything but TLS failures, over-size answers and cancelled transfers.
  bool transient() const noexcept {
    return kind_ != FailureKind::Tls && kind_ != FailureKind::TooLarge && kind_ != FailureKind::Cancelled;
  }

 private:
  FailureKind kind_;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request and returns whatever status the server answered; throws TransportError only
  // when no complete answer arrived.
  virtual Response send(const Request& request) = 0;
};

struct CurlOptions {
  std::chrono::milliseconds connect_timeout{60000};
  std::chrono::milliseconds total_timeout{60000};  // whole request, 0 = none
  bool verify_tls = true;
  std::string ca_file;                              // optional CA bundle
  // Client certificate for mutual TLS (PEM); its key in client_key, or in the same file when empty.
  std::string client_cert;
  std::string client_key;
  std::size_t max_response_bytes = 256u << 20;      // a larger body is FailureKind::TooLarge
  std::string user_agent = "kaspersky-feeds-connector";
  bool accept_gzip = true;
  // Polled while a request is under way (about once a second and on every read); true abandons it
  // with FailureKind::Cancelled. Lets a stop request end a slow transfer at once.
  std::function<bool()> cancel;
  // Proxies come from the usual environment variables (https_proxy, no_proxy...) as libcurl reads them.
};

// One libcurl easy handle reused for every request, so connections are kept alive per server.
// Not thread-safe: one transport per thread.
std::unique_ptr<Transport> make_curl_transport(const CurlOptions& options);

// The URL with any user:password@ part and the query string removed, for messages.
std::string redact_url(std::string_view url);

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view value);

// A Retry-After header (RFC 9110 §10.2.3): delta-seconds or an HTTP date, as a wait from `now`.
// Numbers are read with overflow checks: any count of seconds beyond kMaxRetryAfter (10^30 too)
// is kMaxRetryAfter; a date in the past is 0. nullopt for anything else (the caller's own backoff).
inline constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24 * 365);
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                            std::chrono::system_clock::time_point now);

// A decimal count sent by a server (Content-Range bounds, sizes): digits only, no sign, no
// overflow (nullopt beyond uint64).
std::optional<std::uint64_t> parse_count(std::string_view digits);

}  // namespace kfc::http
