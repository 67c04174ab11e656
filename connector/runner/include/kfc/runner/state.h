#pragma once
// The connector state: what was read and confirmed, so a run continues where the last one stopped.
//
//   {"last_added": 1732752000,                       <- the Python connector's key, kept as is
//    "collections": {"<collection id>": {"added_after": "2026-11-20T10:00:00.123455Z"}}}
//
// `last_added` (epoch seconds) lets a user switch from the Python connector (and back) without a
// gap. The cursor per collection is where that collection's next read starts (TAXII added_after,
// strictly after): it only moves past objects the sink confirmed, and it sits just before the last
// confirmed timestamp group so objects sharing the boundary date_added are read again, not skipped.
#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "kfc/config/clock.h"

namespace kfc::runner {

struct ConnectorState {
  std::optional<std::int64_t> last_added;        // epoch seconds (reference key)
  std::map<std::string, SystemTime> cursors;     // collection id -> added_after of its next read
  // Top-level keys written by someone else (kept verbatim, as JSON text).
  std::map<std::string, std::string> other_keys;

  bool empty() const { return !last_added && cursors.empty(); }
  bool operator==(const ConnectorState&) const = default;
};

// "" / "null" / "{}" is the empty state (a reset from the OpenCTI UI). Anything unreadable is an
// error that says what is wrong; the caller decides what to do (never silently starts over).
std::expected<ConnectorState, std::string> parse_state(std::string_view json);
std::string to_json(const ConnectorState& state);

// Where this run reads `collection_id` from (added_after, strictly after): its cursor; else the
// reference's last_added (a state written by the Python connector, or a newly selected collection);
// else now - initial_history. No bound at all (read everything) when initial_history is 0, as in
// the reference.
std::optional<SystemTime> window_start(const ConnectorState& state, const std::string& collection_id,
                                       SystemTime now, std::chrono::seconds initial_history);

// The cursor after the sink confirmed everything up to a page's resume point. It never goes past
// the run's start: feeds add backdated objects (date_added earlier than when they appear), and an
// object claiming a future date_added must not freeze ingestion (a weakness of the reference connector).
SystemTime advance_cursor(SystemTime resume_point, SystemTime run_start);

// A fully successful run moves the reference key to the run's start (floored to seconds), so the
// Python connector would resume from there too.
void complete_run(ConnectorState& state, SystemTime run_start);

// Timestamps: RFC 3339 UTC with microseconds ("2026-11-20T10:00:00.123456Z").
std::string format_timestamp(SystemTime t);
// The reference's added_after form: microseconds with trailing zeros removed, none when zero.
std::string format_added_after(SystemTime t);
// "%Y-%m-%dT%H:%M:%SZ" (OpenCTI ping datetimes, work names).
std::string format_seconds(SystemTime t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z"; nullopt otherwise.
std::optional<SystemTime> parse_timestamp(std::string_view text);

}  // namespace kfc::runner
