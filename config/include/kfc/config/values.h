#pragma once
// Parsers for configuration values, shared by the loader and by anyone reading the same formats
// (ISO-8601 durations, token dates). Each returns nullopt on malformed input; callers word the error.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kfc/config/clock.h"

namespace kfc {

// true/false/yes/no in any letter case (the reference's rule).
std::optional<bool> parse_bool(std::string_view text);
// A whole decimal number with an optional sign ("60" yes, "60.5" and "6O" no).
std::optional<long long> parse_integer(std::string_view text);
std::optional<double> parse_number(std::string_view text);

// ISO-8601 duration as OpenCTI's duration_period: P[nW][nD][T[nH][nM][nS]], e.g. P1D, PT1H, PT30M,
// P1DT2H, PT0.5S (fractions truncated to seconds). Years and months have no fixed length: rejected.
std::optional<std::chrono::seconds> parse_iso8601_duration(std::string_view text);

// A date "2026-12-03" (midnight UTC) or an RFC 3339 timestamp "2026-12-03T10:00:00Z" /
// "2026-12-03T10:00:00.5+02:00". Years 1970..2200 only.
std::optional<SystemTime> parse_date_or_timestamp(std::string_view text);
std::string format_date(SystemTime t);       // 2026-12-03
std::string format_timestamp(SystemTime t);  // 2026-12-03T10:00:00Z

// Canonical UUID text (8-4-4-4-12 hex digits).
bool is_uuid(std::string_view text);
// An absolute http(s) URL with a host; `scheme` receives "http" or "https" (lower case), `host` the
// host name or address (IPv6 without its brackets).
bool is_http_url(std::string_view text, std::string* scheme = nullptr, std::string* host = nullptr);
// localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine (no warning for plaintext).
bool is_loopback_host(std::string_view host);
// The URL without any user:password@ part, for printing.
std::string url_without_credentials(std::string_view url);

// The candidate closest to `word` by edit distance when it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

std::string to_lower(std::string_view text);
std::string to_upper(std::string_view text);

}  // namespace kfc
