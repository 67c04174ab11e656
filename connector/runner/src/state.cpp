#include "kfc/runner/state.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/fmt/fmt.h>

#include <charconv>
#include <cmath>

#include "kfc/config/time_format.h"
#include "kfc/json/untrusted.h"

namespace kfc::runner {
namespace {

using namespace std::chrono;

constexpr std::string_view kLastAdded = "last_added";
constexpr std::string_view kCollections = "collections";
constexpr std::string_view kAddedAfter = "added_after";

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

// JSON text of `value`. The JSON reader never yields a value the writer refuses (it turns numbers
// beyond a double into null); should one ever reach here, the key is kept as "null" rather than
// written as half a document and lost on the next load.
std::string serialise(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  if (!value.Accept(writer)) return "null";
  return {buffer.GetString(), buffer.GetSize()};
}

// A key as read, whole: JSON lets a name hold U+0000, which a C string would cut short (and so rename).
rapidjson::Value json_string(const std::string& text, rapidjson::Document::AllocatorType& allocator) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

// The Python connector stores an int, reads it with float(); accept both, and numeric strings.
std::expected<std::int64_t, std::string> parse_last_added(const rapidjson::Value& value) {
  double seconds = 0;
  if (value.IsNumber()) {
    seconds = value.GetDouble();
  } else if (value.IsString()) {
    const std::string_view text = trimmed({value.GetString(), value.GetStringLength()});
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (error != std::errc{} || end != text.data() + text.size()) {
      return std::unexpected(fmt::format("'last_added' is not a number: '{}'", text));
    }
  } else {
    return std::unexpected("'last_added' is not a number");
  }
  // The clock counts nanoseconds in 64 bits (it ends in 2262): a later date would overflow.
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 7258118400.0) {  // 2200-01-01
    return std::unexpected(fmt::format("'last_added' is out of range: {}", seconds));
  }
  return static_cast<std::int64_t>(std::floor(seconds));
}

std::expected<std::map<std::string, SystemTime>, std::string> parse_cursors(const rapidjson::Value& value) {
  if (!value.IsObject()) return std::unexpected("'collections' is not an object");
  std::map<std::string, SystemTime> cursors;
  for (const auto& member : value.GetObject()) {
    const std::string id{member.name.GetString(), member.name.GetStringLength()};
    const auto& cursor = member.value;
    if (!cursor.IsObject() || !cursor.HasMember(kAddedAfter.data()) || !cursor[kAddedAfter.data()].IsString()) {
      return std::unexpected(fmt::format("collection '{}' has no 'added_after' timestamp", id));
    }
    const auto& text = cursor[kAddedAfter.data()];
    const auto when = parse_timestamp({text.GetString(), text.GetStringLength()});
    if (!when) {
      return std::unexpected(fmt::format("collection '{}' has an invalid 'added_after': '{}'", id,
                                         std::string_view{text.GetString(), text.GetStringLength()}));
    }
    // Cursors are written to the microsecond: a finer one is floored here, so a saved state reads
    // back the same, and earlier is the safe side (re-read, never skipped).
    cursors.emplace(id, SystemTime(std::chrono::floor<std::chrono::microseconds>(*when)));
  }
  return cursors;
}

int parse_digits(std::string_view text, std::size_t at, std::size_t count, bool& ok) {
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') {
      ok = false;
      return 0;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::expected<ConnectorState, std::string> parse_state(std::string_view json) {
  const std::string_view text = trimmed(json);
  ConnectorState state;
  if (text.empty() || text == "null") return state;
  rapidjson::Document document;
  if (const auto parsed = json::parse(document, text); !parsed) {
    return std::unexpected(fmt::format("connector state is not valid JSON ({})", parsed.error().message));
  }
  if (document.IsNull()) return state;
  if (!document.IsObject()) return std::unexpected("connector state is not a JSON object");
  for (const auto& member : document.GetObject()) {
    const std::string_view key{member.name.GetString(), member.name.GetStringLength()};
    if (key == kLastAdded) {
      if (member.value.IsNull()) continue;
      auto seconds = parse_last_added(member.value);
      if (!seconds) return std::unexpected("connector state: " + seconds.error());
      state.last_added = *seconds;
    } else if (key == kCollections) {
      auto cursors = parse_cursors(member.value);
      if (!cursors) return std::unexpected("connector state: " + cursors.error());
      state.cursors = std::move(*cursors);
    } else {
      state.other_keys.emplace(std::string(key), serialise(member.value));
    }
  }
  return state;
}

std::string to_json(const ConnectorState& state) {
  rapidjson::Document document(rapidjson::kObjectType);
  auto& allocator = document.GetAllocator();
  for (const auto& [key, raw] : state.other_keys) {
    rapidjson::Document value(&allocator);
    value.Parse(raw.data(), raw.size());
    if (value.HasParseError()) continue;  // cannot happen: other_keys holds what parse_state read
    document.AddMember(json_string(key, allocator), rapidjson::Value(value, allocator), allocator);
  }
  if (state.last_added) document.AddMember(rapidjson::StringRef(kLastAdded.data()), *state.last_added, allocator);
  if (!state.cursors.empty()) {
    rapidjson::Value collections(rapidjson::kObjectType);
    for (const auto& [id, when] : state.cursors) {
      rapidjson::Value cursor(rapidjson::kObjectType);
      cursor.AddMember(rapidjson::StringRef(kAddedAfter.data()),
                       rapidjson::Value(format_timestamp(when).c_str(), allocator), allocator);
      collections.AddMember(json_string(id, allocator), cursor, allocator);
    }
    document.AddMember(rapidjson::StringRef(kCollections.data()), collections, allocator);
  }
  return serialise(document);
}

std::optional<SystemTime> window_start(const ConnectorState& state, const std::string& collection_id,
                                       SystemTime now, seconds initial_history) {
  if (const auto cursor = state.cursors.find(collection_id); cursor != state.cursors.end()) return cursor->second;
  if (state.last_added) return SystemTime{seconds{*state.last_added}};
  if (initial_history.count() > 0) return now - initial_history;
  return std::nullopt;
}

SystemTime advance_cursor(SystemTime resume_point, SystemTime run_start) {
  return std::min(resume_point, run_start);
}

void complete_run(ConnectorState& state, SystemTime run_start) {
  state.last_added = floor<seconds>(run_start.time_since_epoch()).count();
}

std::string format_timestamp(SystemTime t) { return format_time(t, kMicrosecondsFormat); }

std::string format_added_after(SystemTime t) { return format_time(t, kTrimmedFractionFormat); }

std::string format_seconds(SystemTime t) { return format_time(t, kSecondsFormat); }

std::optional<SystemTime> parse_timestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':' || (text.back() != 'Z' && text.back() != 'z')) {
    return std::nullopt;
  }
  bool ok = true;
  const int y = parse_digits(text, 0, 4, ok), mo = parse_digits(text, 5, 2, ok), d = parse_digits(text, 8, 2, ok);
  const int h = parse_digits(text, 11, 2, ok), mi = parse_digits(text, 14, 2, ok), s = parse_digits(text, 17, 2, ok);
  // Years the clock can hold (it counts nanoseconds since 1970 in 64 bits: 1677 to 2262).
  if (!ok || y < 1970 || y > 2200 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  nanoseconds fraction{0};
  const std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) return std::nullopt;
    long long value = 0;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    for (std::size_t digits = rest.size() - 1; digits < 9; ++digits) value *= 10;
    fraction = nanoseconds{value};
  }
  const auto since_epoch = sys_days{date}.time_since_epoch() + hours{h} + minutes{mi} + seconds{s} + fraction;
  return SystemTime{duration_cast<SystemTime::duration>(since_epoch)};
}

}  // namespace kfc::runner
