#pragma once
// The one formatter of UTC times the connector writes (config values, the run's state and work
// names, TAXII `added_after`, STIX `created`/`published`). Callers name the format they need; the
// formats differ only in how much of the time they show and how the fraction is written.
#include <chrono>
#include <string>

#include "kfc/config/clock.h"

namespace kfc {

// Microsecond time: also holds the years a SystemTime (nanoseconds in 64 bits) cannot.
using MicrosecondTime = std::chrono::sys_time<std::chrono::microseconds>;

struct TimeFormat {
  bool time_of_day = true;     // false: the date alone
  int fraction_digits = 0;     // 0: whole seconds; 6: microseconds
  int min_fraction_digits = 0; // trailing zeros of the fraction are dropped down to this many (no '.' at 0)
  bool separators = true;      // false: ISO 8601's basic form, 20261203T100000Z (file names)
};

inline constexpr TimeFormat kDateFormat{false, 0, 0};         // 2026-12-03
inline constexpr TimeFormat kSecondsFormat{true, 0, 0};       // 2026-12-03T10:00:00Z
inline constexpr TimeFormat kBasicSecondsFormat{true, 0, 0, false};  // 20261203T100000Z
inline constexpr TimeFormat kMicrosecondsFormat{true, 6, 6};  // 2026-12-03T10:00:00.120000Z
// Python's isoformat-like short form (TAXII added_after, STIX `published`): 2026-12-03T10:00:00.12Z,
// 2026-12-03T10:00:00Z.
inline constexpr TimeFormat kTrimmedFractionFormat{true, 6, 0};
// stix2's `created`/`modified`: at least milliseconds: 2026-12-03T10:00:00.000Z, …:00.12345Z.
inline constexpr TimeFormat kStixFormat{true, 6, 3};

std::string format_time(MicrosecondTime t, TimeFormat format);
// Floors `t` to the microsecond.
std::string format_time(SystemTime t, TimeFormat format);

}  // namespace kfc
