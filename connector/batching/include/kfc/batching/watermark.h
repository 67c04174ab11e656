#pragma once
// The incremental cursor of the reference connector (connector/batching/README.md): the `date_added`
// watermark of a batch, the next `last_added` state, and the `added_after` text sent to TAXII.
//
// Times are Python floats of epoch seconds, as the reference computes them, so that
// `int(max(run start, watermark))` gives the same state value to the second.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

namespace kfc::batching {

// Parses `text` exactly as Python `datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")` (UTC): a 4-digit
// year; month, day, hour, minute, second of one or two digits (`2026-4-1T1:2:3.5Z` is accepted, as
// is a day written " 1"); 1 to 6 fractional digits (required); `T` and `Z` in either letter case;
// nothing before or after; a real calendar date (no Feb 30, no second 60). Returns epoch seconds.
std::optional<double> parse_date_added(std::string_view text);

// What one description contributes to the watermark.
struct DateAdded {
  double epoch_seconds = 0.0;        // 0 when absent or invalid
  std::optional<std::string> warning;  // "Invalid date format in description: <text>"
};

// The `date_added` of one description: the text after the FIRST occurrence of `date_added=` up to the
// next `;` (or the next `date_added=`), parsed with parse_date_added. Absent or empty text → 0 without
// warning; unparsable text → 0 with the reference's warning.
DateAdded date_added_of(std::string_view description);

// The description the watermark reads from an object: `description` if it is a non-empty string,
// else `x_opencti_description` if it is a non-empty string, else "" (Python `a or b or ""`).
std::string_view watermark_description(const rapidjson::Value& object);

struct Watermark {
  double epoch_seconds = 0.0;          // max over the objects, never below 0
  std::vector<std::string> warnings;   // one per unparsable `date_added`, in object order
};

// The batch watermark: max of date_added_of(watermark_description(o)) over the array `objects`.
// Compute it BEFORE the description policy, which may strip descriptions.
Watermark batch_watermark(const rapidjson::Value& objects);

// The state written after a successful run: `int(max(floor(run start), max batch watermark))`.
long long next_last_added(std::chrono::system_clock::time_point run_start, double watermark_seconds);

// `added_after` as taxii2-client formats it: `YYYY-MM-DDTHH:MM:SS` + (if the microseconds are
// non-zero) `.` + the 6-digit microseconds with trailing zeros removed + `Z`.
std::string format_added_after(std::chrono::system_clock::time_point t);

}  // namespace kfc::batching
