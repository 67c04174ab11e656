#pragma once
// The token component shared by every client (TAXII, OpenTIP, OpenCTI): a secret that never prints,
// where it came from, when it expires, and one wording for "the server rejected it".
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include "kfc/config/clock.h"

namespace kfc {

// A secret value. Every string form (operator<<, fmt, masked()) shows only "****" plus the last
// four characters (and only "****" for short values), so it can sit in a log line or an exception.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  // The raw value, only for putting it on the wire. Never log or format the result.
  const std::string& reveal() const noexcept { return value_; }
  std::string masked() const;
  bool empty() const noexcept { return value_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

std::ostream& operator<<(std::ostream& out, const Secret& secret);

enum class TokenOrigin { Unset, Inline, Environment, File };
std::string_view to_string(TokenOrigin origin);

enum class TokenState {
  Valid,     // expiry known and beyond the warning window
  Expiring,  // within tokens.expiry_warning_days
  Expired,   // the client refuses to send it
  Unknown,   // no expiry date given: cannot be tracked
};
std::string_view to_string(TokenState state);

struct TokenStatus {
  TokenState state = TokenState::Unknown;
  std::optional<SystemTime> expires_at;
  std::optional<long> days_left;  // whole days until expiry (0 on the day it expired, then negative)
  // One line a user can act on, e.g. "kaspersky.api_token expires in 5 days (2026-12-03)".
  std::string message;
  // True on the days is_expiry_reminder_day() names (the runner warns again on those days).
  bool reminder_day = false;
};

// An API token is a long random string (the plausibility checks apply); a password (Basic auth of a
// generic TAXII server) may be short and contain blanks or non-ASCII letters.
enum class SecretKind { ApiToken, Password };

// Everything the loader knows about one configured token.
struct TokenSpec {
  std::string key;          // configuration key, e.g. "kaspersky.api_token"
  std::string env_name;     // e.g. "KASPERSKY_API_TOKEN"
  std::string server;       // who receives it, e.g. "the Kaspersky TAXII server"
  TokenOrigin origin = TokenOrigin::Unset;
  Secret value;             // inline / environment value, or the file's content at load
  std::string file_path;    // set when origin == File (re-read before each run)
  std::optional<SystemTime> expires_at;  // explicit, or issued_at + 365 days
  std::optional<SystemTime> issued_at;
  SecretKind kind = SecretKind::ApiToken;
};

class TokenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by every client when a server answers 401/403 to a token it sent.
class TokenRejectedError : public TokenError {
 public:
  TokenRejectedError(std::string_view server, std::string_view token_key, int http_status);
  int http_status() const noexcept { return http_status_; }

 private:
  int http_status_;
};

// "token rejected by <server>: revoked or expired — request a new one on the Kaspersky Threat
// Intelligence Portal (Request token page)" — the one wording every client uses.
std::string token_rejected_message(std::string_view server, std::string_view token_key, int http_status);

// Where a user gets a new value for `token_key` (the Kaspersky portal for Kaspersky tokens, the
// OpenCTI profile page for opencti.token, the feed's provider for taxii2.* secrets), as a phrase to
// end an error message with.
std::string token_renewal_hint(std::string_view token_key);

// The days on which a token in its warning window gets an extra reminder beyond the per-run
// warning: the first day of the window (days_left == warning_days), 7 days and 1 day before expiry.
bool is_expiry_reminder_day(long days_left, int warning_days);

// Validity the portal gives a token when only its request date is known (one year at most).
inline constexpr std::chrono::hours kTokenMaxValidity{24 * 365};

class Token {
 public:
  // A file-backed spec (origin File) whose value is empty is read from file_path at once
  // (throws TokenError naming the file when it cannot be read).
  explicit Token(TokenSpec spec);

  // Shorthand for tests and tools: an inline token with an optional expiry date.
  static std::shared_ptr<Token> from_value(std::string key, std::string value, std::string server = {},
                                           std::optional<SystemTime> expires_at = std::nullopt);

  const std::string& key() const noexcept { return spec_.key; }
  const std::string& server() const noexcept { return spec_.server; }
  TokenOrigin origin() const noexcept { return spec_.origin; }
  const std::string& file_path() const noexcept { return spec_.file_path; }
  const std::string& env_name() const noexcept { return spec_.env_name; }
  std::optional<SystemTime> expires_at() const { return spec_.expires_at; }
  std::optional<SystemTime> issued_at() const { return spec_.issued_at; }

  // The current value (thread-safe copy).
  Secret secret() const;
  // Re-reads a file-backed token (rotation without restart); returns true when the value changed.
  // Throws TokenError naming the file (never its content) when it cannot be read.
  bool reload();

  // Syntax problems of the current value: empty, placeholder 'ChangeMe', whitespace or control
  // characters, implausible length. Each message names the key, never the value.
  std::vector<std::string> problems() const;
  TokenStatus status(SystemTime now, int warning_days) const;

  // The value to put on the wire now. Throws TokenError when the token is expired or unusable,
  // saying when it expired and where to request a new one: an expired token is never sent.
  Secret secret_for_request(const Clock& clock) const;

 private:
  TokenSpec spec_;
  mutable std::mutex mutex_;
};

using TokenPtr = std::shared_ptr<Token>;

}  // namespace kfc

template <>
struct fmt::formatter<kfc::Secret> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const kfc::Secret& secret, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(secret.masked(), ctx);
  }
};
