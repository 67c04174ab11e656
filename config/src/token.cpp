#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "kfc/config/token.h"
#include "kfc/config/values.h"

namespace kfc {
namespace {

using Days = std::chrono::duration<long, std::ratio<86400>>;

// Tokens issued by the portals are long random strings; anything outside this range is a
// copy/paste accident (a truncated value, a whole file pasted in).
constexpr std::size_t kMinPlausibleLength = 12;
constexpr std::size_t kMaxPlausibleLength = 4096;

std::string plural_days(long n) { return fmt::format("{} day{}", n, n == 1 || n == -1 ? "" : "s"); }

bool is_placeholder(const std::string& value) {
  static constexpr std::string_view kPlaceholder = "changeme";
  if (value.size() != kPlaceholder.size()) return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kPlaceholder[i]) return false;
  }
  return true;
}

bool has_unprintable(const std::string& value) {
  for (unsigned char c : value) {
    if (c <= 0x20 || c >= 0x7f) return true;  // whitespace, control or non-ASCII
  }
  return false;
}

bool has_control(const std::string& value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The secrets of a generic TAXII server (taxii2.password, taxii2.token, taxii2.apikey_value) come
// from whoever runs that server, not from Kaspersky's portal.
bool is_generic_taxii_secret(std::string_view token_key) { return token_key.starts_with("taxii2."); }

std::string trim_blanks(std::string text) {
  const char* blanks = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

// What the user must touch to fix the value, given where it came from.
std::string where_to_fix(const TokenSpec& spec) {
  switch (spec.origin) {
    case TokenOrigin::File:
      return fmt::format("fix the file {} ({}_file)", spec.file_path, spec.key);
    case TokenOrigin::Environment:
      return fmt::format("fix the environment variable {}", spec.env_name);
    case TokenOrigin::Inline:
      return fmt::format("fix {} in config.yml", spec.key);
    case TokenOrigin::Unset:
      break;
  }
  return spec.env_name.empty() ? fmt::format("set {} in config.yml", spec.key)
                               : fmt::format("set {} in config.yml or {}", spec.key, spec.env_name);
}

std::string read_token_file(const TokenSpec& spec) {
  std::ifstream in(spec.file_path, std::ios::binary);
  if (!in) {
    throw TokenError(fmt::format("cannot read {} from file {} ({}_file): {} — check the path and its permissions",
                                 spec.key, spec.file_path, spec.key, std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  // Secret files usually end with a newline (echo, kubectl create secret --from-file).
  return trim_blanks(content.str());
}

}  // namespace

std::string_view to_string(TokenOrigin origin) {
  switch (origin) {
    case TokenOrigin::Unset: return "unset";
    case TokenOrigin::Inline: return "config.yml";
    case TokenOrigin::Environment: return "environment";
    case TokenOrigin::File: return "file";
  }
  return "unset";
}

std::string_view to_string(TokenState state) {
  switch (state) {
    case TokenState::Valid: return "valid";
    case TokenState::Expiring: return "expiring";
    case TokenState::Expired: return "expired";
    case TokenState::Unknown: return "unknown";
  }
  return "unknown";
}

std::string token_renewal_hint(std::string_view token_key) {
  if (is_generic_taxii_secret(token_key)) {
    return fmt::format("ask the TAXII feed's provider for valid credentials and set {}", token_key);
  }
  if (token_key.starts_with("opencti.")) {
    return fmt::format("create a new API token in OpenCTI (Profile > API access) and set {}", token_key);
  }
  return fmt::format(
      "request a new one on the Kaspersky Threat Intelligence Portal (Request token page) and set {}", token_key);
}

std::string token_rejected_message(std::string_view server, std::string_view token_key, int http_status) {
  if (is_generic_taxii_secret(token_key)) {
    return fmt::format("credentials rejected by {}: {} is wrong, revoked or expired (HTTP {}) — {}; not retried",
                       server, token_key, http_status, token_renewal_hint(token_key));
  }
  if (token_key.starts_with("opencti.")) {
    return fmt::format("token rejected by {}: revoked or expired (HTTP {}) — {}", server, http_status,
                       token_renewal_hint(token_key));
  }
  return fmt::format(
      "token rejected by {}: revoked or expired — request a new one on the Kaspersky Threat Intelligence "
      "Portal (Request token page) and set {} (HTTP {})",
      server, token_key, http_status);
}

TokenRejectedError::TokenRejectedError(std::string_view server, std::string_view token_key, int http_status)
    : TokenError(token_rejected_message(server, token_key, http_status)), http_status_(http_status) {}

bool is_expiry_reminder_day(long days_left, int warning_days) {
  return days_left == warning_days || days_left == 7 || days_left == 1;
}

Token::Token(TokenSpec spec) : spec_(std::move(spec)) {
  if (spec_.origin == TokenOrigin::File && spec_.value.empty()) spec_.value = Secret{read_token_file(spec_)};
  if (!spec_.expires_at && spec_.issued_at) spec_.expires_at = *spec_.issued_at + kTokenMaxValidity;
}

std::shared_ptr<Token> Token::from_value(std::string key, std::string value, std::string server,
                                         std::optional<SystemTime> expires_at) {
  TokenSpec spec;
  spec.key = std::move(key);
  spec.server = std::move(server);
  spec.origin = TokenOrigin::Inline;
  spec.value = Secret{std::move(value)};
  spec.expires_at = expires_at;
  return std::make_shared<Token>(std::move(spec));
}

Secret Token::secret() const {
  std::lock_guard lock(mutex_);
  return spec_.value;
}

bool Token::reload() {
  if (spec_.origin != TokenOrigin::File) return false;
  Secret fresh{read_token_file(spec_)};  // outside the lock: file I/O
  std::lock_guard lock(mutex_);
  if (fresh == spec_.value) return false;
  spec_.value = std::move(fresh);
  return true;
}

std::vector<std::string> Token::problems() const {
  const Secret current = secret();
  const std::string& value = current.reveal();
  std::vector<std::string> found;
  if (value.empty()) {
    found.push_back(fmt::format("{} is empty — {}", spec_.key, where_to_fix(spec_)));
    return found;
  }
  if (is_placeholder(value)) {
    found.push_back(fmt::format("{} is the placeholder 'ChangeMe' — {}", spec_.key, where_to_fix(spec_)));
    return found;
  }
  if (spec_.kind == SecretKind::Password) {
    if (has_control(value)) {
      found.push_back(fmt::format("{} contains control characters (a copy/paste accident?) — {}", spec_.key,
                                  where_to_fix(spec_)));
    }
    if (value.size() > kMaxPlausibleLength) {
      found.push_back(fmt::format("{} has an implausible length of {} characters (at most {}) — {}", spec_.key,
                                  value.size(), kMaxPlausibleLength, where_to_fix(spec_)));
    }
    return found;
  }
  if (has_unprintable(value)) {
    found.push_back(fmt::format(
        "{} contains whitespace, control or non-ASCII characters (a copy/paste accident?) — {}", spec_.key,
        where_to_fix(spec_)));
  }
  if (value.size() < kMinPlausibleLength || value.size() > kMaxPlausibleLength) {
    found.push_back(fmt::format("{} has an implausible length of {} characters (expected {} to {}) — {}",
                                spec_.key, value.size(), kMinPlausibleLength, kMaxPlausibleLength,
                                where_to_fix(spec_)));
  }
  return found;
}

TokenStatus Token::status(SystemTime now, int warning_days) const {
  TokenStatus status;
  status.expires_at = spec_.expires_at;
  if (!spec_.expires_at) {
    status.state = TokenState::Unknown;
    status.message = fmt::format(
        "{} has no expiry date: expiry cannot be tracked — set {}_expires_at (the date the portal showed) "
        "or {}_issued_at (the day it was requested)",
        spec_.key, spec_.key, spec_.key);
    return status;
  }
  const SystemTime expires = *spec_.expires_at;
  const std::string date = format_date(expires);
  if (now >= expires) {
    // Whole days since expiry, counted like days left: 0 on the day it expired, then -1, -2, ...
    const long days_ago = std::chrono::floor<Days>(now - expires).count();
    status.days_left = -days_ago;
    status.state = TokenState::Expired;
    status.message = days_ago == 0 ? fmt::format("{} expired on {} (today) — {}", spec_.key, date,
                                                 token_renewal_hint(spec_.key))
                                   : fmt::format("{} expired on {} ({} ago) — {}", spec_.key, date,
                                                 plural_days(days_ago), token_renewal_hint(spec_.key));
    return status;
  }
  const long days_left = std::chrono::floor<Days>(expires - now).count();
  status.days_left = days_left;
  if (days_left <= warning_days) {
    status.state = TokenState::Expiring;
    status.reminder_day = is_expiry_reminder_day(days_left, warning_days);
    status.message = days_left == 0
                         ? fmt::format("{} expires today ({}) — {}", spec_.key, date, token_renewal_hint(spec_.key))
                         : fmt::format("{} expires in {} ({}) — {}", spec_.key, plural_days(days_left), date,
                                       token_renewal_hint(spec_.key));
  } else {
    status.state = TokenState::Valid;
    status.message = fmt::format("{} is valid for {} more (until {})", spec_.key, plural_days(days_left), date);
  }
  return status;
}

Secret Token::secret_for_request(const Clock& clock) const {
  Secret current = secret();
  if (current.empty() || is_placeholder(current.reveal())) {
    throw TokenError(fmt::format("{} is not set — {} (it is sent to {})", spec_.key, where_to_fix(spec_),
                                 spec_.server.empty() ? "the server" : spec_.server));
  }
  if (spec_.expires_at && clock.now() >= *spec_.expires_at) {
    throw TokenError(fmt::format("{} expired on {}; it is not sent to {} — {}", spec_.key,
                                 format_date(*spec_.expires_at), spec_.server.empty() ? "the server" : spec_.server,
                                 token_renewal_hint(spec_.key)));
  }
  return current;
}

}  // namespace kfc
