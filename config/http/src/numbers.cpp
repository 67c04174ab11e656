// Numbers in HTTP headers, read without trusting their size (README.md, "Numbers from the network").
#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "kfc/config/text.h"
#include "kfc/http/transport.h"

namespace kfc::http {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<std::uint64_t> parse_count(std::string_view digits) {
  if (!all_digits(digits)) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                            std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (all_digits(value)) {
    // Compared in seconds before any multiplication: 10^30 or 2^63-1 seconds is simply "too long".
    constexpr auto kMaxSeconds = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(kMaxRetryAfter).count());
    const auto seconds = parse_count(value);
    if (!seconds || *seconds > kMaxSeconds) return kMaxRetryAfter;
    return std::chrono::seconds(static_cast<std::int64_t>(*seconds));
  }
  if (value.empty() || value.size() > 64) return std::nullopt;
  const std::string text(value);
  const std::time_t at = curl_getdate(text.c_str(), nullptr);
  if (at == -1) return std::nullopt;
  // In whole seconds first: a date centuries away does not fit the clock's nanoseconds.
  const auto now_seconds = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  const std::int64_t ahead = static_cast<std::int64_t>(at) - now_seconds;
  if (ahead < -1) return std::chrono::milliseconds(0);
  if (ahead > std::chrono::duration_cast<std::chrono::seconds>(kMaxRetryAfter).count()) return kMaxRetryAfter;
  const auto wait = std::chrono::system_clock::from_time_t(at) - now;
  if (wait <= std::chrono::system_clock::duration::zero()) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(wait);
}

}  // namespace kfc::http
