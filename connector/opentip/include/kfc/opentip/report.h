#pragma once
// What `lookup` shows an analyst: a readable table, and an exit code by zone for shell scripts.
#include <string>

#include "kfc/opentip/result.h"

namespace kfc::opentip {

// Exit codes of `lookup`. Zones: the worse the zone, the higher the code; 0 only for Green.
namespace exit_code {
inline constexpr int kGreen = 0;
inline constexpr int kError = 1;           // anything unexpected
inline constexpr int kInvalid = 2;         // bad value or configuration (nothing sent)
inline constexpr int kTokenProblem = 3;    // opentip.api_key rejected (401) or expired
inline constexpr int kQuota = 4;           // quota exceeded (403) or still blocked
inline constexpr int kUnavailable = 5;     // 429 / 5xx / unreachable after retries
inline constexpr int kGreyOrNoData = 10;
inline constexpr int kYellow = 11;
inline constexpr int kOrange = 12;
inline constexpr int kRed = 13;
}  // namespace exit_code

int exit_code_for(const LookupResult& result);

// Aligned "Field  value" lines, then categories, WHOIS and a detections table.
std::string format_table(const LookupResult& result);

}  // namespace kfc::opentip
