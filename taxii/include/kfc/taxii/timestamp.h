#pragma once
// TAXII timestamps ("2024-05-01T12:00:00.123456Z"): the `added_after` filter and the
// X-TAXII-Date-Added-First/-Last headers. Microsecond precision, as the specification requires.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kfc::taxii {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (UTC; digits beyond microseconds are truncated).
// Returns nullopt for anything else.
std::optional<Timestamp> parse_timestamp(std::string_view text);

// Always six fractional digits: "2024-05-01T12:00:00.000000Z".
std::string format_timestamp(Timestamp timestamp);

}  // namespace kfc::taxii
