#include "kfc/batching/watermark.h"

#include <algorithm>
#include <cmath>

namespace kfc::batching {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads a strptime field of one or two ASCII digits that ends at `separator` (a non-digit, so the
// token is unambiguous) and checks it against the directive's alternatives via `accept`.
template <typename Accept>
bool read_field(std::string_view text, std::size_t& pos, char separator, int& value, Accept accept) {
  const std::size_t end = text.find(separator, pos);
  if (end == std::string_view::npos) return false;
  const std::string_view token = text.substr(pos, end - pos);
  if (!accept(token)) return false;
  value = 0;
  for (char c : token)
    if (is_digit(c)) value = value * 10 + (c - '0');
  pos = end + 1;
  return true;
}

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

// %m: 1[0-2] | 0[1-9] | [1-9]
bool month_token(std::string_view t) {
  if (t.size() == 1) return t[0] >= '1' && t[0] <= '9';
  return t.size() == 2 && all_digits(t) && ((t[0] == '1' && t[1] <= '2') || (t[0] == '0' && t[1] != '0'));
}
// %d: 3[01] | [12]\d | 0[1-9] | [1-9] | " "[1-9]
bool day_token(std::string_view t) {
  if (t.size() == 1) return t[0] >= '1' && t[0] <= '9';
  if (t.size() != 2) return false;
  if (t[0] == ' ') return t[1] >= '1' && t[1] <= '9';
  if (!all_digits(t)) return false;
  return (t[0] == '3' && t[1] <= '1') || t[0] == '1' || t[0] == '2' || (t[0] == '0' && t[1] != '0');
}
// %H: 2[0-3] | [01]\d | \d
bool hour_token(std::string_view t) {
  if (t.size() == 1) return is_digit(t[0]);
  return t.size() == 2 && all_digits(t) && (t[0] <= '1' || (t[0] == '2' && t[1] <= '3'));
}
// %M: [0-5]\d | \d
bool minute_token(std::string_view t) {
  if (t.size() == 1) return is_digit(t[0]);
  return t.size() == 2 && all_digits(t) && t[0] <= '5';
}
// %S: 6[01] | [0-5]\d | \d  (60 and 61 then fail datetime's range check)
bool second_token(std::string_view t) {
  if (t.size() == 1) return is_digit(t[0]);
  return t.size() == 2 && all_digits(t) && (t[0] <= '5' || (t[0] == '6' && t[1] <= '1'));
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
long long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const long long yoe = y - era * 400;
  const long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool letter(char c, char upper) { return c == upper || c == upper - 'A' + 'a'; }

}  // namespace

std::optional<double> parse_date_added(std::string_view text) {
  if (text.size() < 4 || !all_digits(text.substr(0, 4)) || text.size() < 5 || text[4] != '-')
    return std::nullopt;
  const int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
  std::size_t pos = 5;
  int month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_field(text, pos, '-', month, month_token)) return std::nullopt;
  // The format's literal T is matched case-insensitively: the day ends at the first T or t.
  const std::size_t t_pos = text.find_first_of("Tt", pos);
  if (t_pos == std::string_view::npos) return std::nullopt;
  if (!read_field(text, pos, text[t_pos], day, day_token) || pos != t_pos + 1) return std::nullopt;
  if (!read_field(text, pos, ':', hour, hour_token)) return std::nullopt;
  if (!read_field(text, pos, ':', minute, minute_token)) return std::nullopt;
  if (!read_field(text, pos, '.', second, second_token)) return std::nullopt;
  // %f: 1 to 6 digits, then the literal Z and the end of the text.
  const std::size_t fraction_start = pos;
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  const std::size_t fraction_digits = pos - fraction_start;
  if (fraction_digits < 1 || fraction_digits > 6) return std::nullopt;
  if (pos + 1 != text.size() || !letter(text[pos], 'Z')) return std::nullopt;
  long long microseconds = 0;
  for (std::size_t i = 0; i < 6; ++i)
    microseconds = microseconds * 10 + (i < fraction_digits ? text[fraction_start + i] - '0' : 0);

  // datetime()'s range checks.
  if (year < 1 || day > days_in_month(year, month) || second > 59) return std::nullopt;

  const long long seconds = days_from_civil(year, month, day) * 86400LL + hour * 3600LL + minute * 60LL + second;
  // Python: timedelta.total_seconds() = total microseconds / 10**6, correctly rounded.
  const long double total_us = static_cast<long double>(seconds) * 1000000.0L + static_cast<long double>(microseconds);
  return static_cast<double>(total_us / 1000000.0L);
}

DateAdded date_added_of(std::string_view description) {
  static constexpr std::string_view kKey = "date_added=";
  DateAdded result;
  const std::size_t start = description.find(kKey);
  if (start == std::string_view::npos) return result;
  std::string_view text = description.substr(start + kKey.size());
  text = text.substr(0, std::min(text.find(kKey), text.find(';')));
  if (text.empty()) return result;
  if (const auto parsed = parse_date_added(text)) {
    result.epoch_seconds = *parsed;
  } else {
    result.warning = "Invalid date format in description: " + std::string(text);
  }
  return result;
}

std::string_view watermark_description(const rapidjson::Value& object) {
  if (!object.IsObject()) return {};
  for (const char* key : {"description", "x_opencti_description"}) {
    const auto member = object.FindMember(key);
    if (member != object.MemberEnd() && member->value.IsString() && member->value.GetStringLength() > 0)
      return {member->value.GetString(), member->value.GetStringLength()};
  }
  return {};
}

Watermark batch_watermark(const rapidjson::Value& objects) {
  Watermark watermark;
  if (!objects.IsArray()) return watermark;
  // The mapping's relationships and observables carry their indicator's description as the same
  // text (one string), so consecutive objects repeat it: it is parsed once. While `objects` is only
  // read, equal address and length mean equal text.
  std::string_view last;
  DateAdded last_date_added;
  for (const auto& object : objects.GetArray()) {
    const std::string_view description = watermark_description(object);
    if (description.empty()) continue;
    if (description.data() != last.data() || description.size() != last.size()) {
      last = description;
      last_date_added = date_added_of(description);
    }
    watermark.epoch_seconds = std::max(watermark.epoch_seconds, last_date_added.epoch_seconds);
    if (last_date_added.warning) watermark.warnings.push_back(*last_date_added.warning);
  }
  return watermark;
}

long long next_last_added(std::chrono::system_clock::time_point run_start, double watermark_seconds) {
  const long long run_start_seconds =
      std::chrono::floor<std::chrono::seconds>(run_start).time_since_epoch().count();
  if (watermark_seconds > static_cast<double>(run_start_seconds))
    return static_cast<long long>(std::trunc(watermark_seconds));
  return run_start_seconds;
}

namespace {

void append_padded(std::string& out, long long value, int width) {
  std::string digits = std::to_string(value);
  if (static_cast<int>(digits.size()) < width) out.append(static_cast<std::size_t>(width) - digits.size(), '0');
  out += digits;
}

}  // namespace

std::string format_added_after(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto micros = floor<microseconds>(t);
  const auto day = floor<days>(micros);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> time{micros - day};
  std::string out;
  append_padded(out, static_cast<int>(ymd.year()), 4);
  out += '-';
  append_padded(out, static_cast<unsigned>(ymd.month()), 2);
  out += '-';
  append_padded(out, static_cast<unsigned>(ymd.day()), 2);
  out += 'T';
  append_padded(out, time.hours().count(), 2);
  out += ':';
  append_padded(out, time.minutes().count(), 2);
  out += ':';
  append_padded(out, time.seconds().count(), 2);
  if (const long long fraction = time.subseconds().count(); fraction > 0) {
    std::string digits;
    append_padded(digits, fraction, 6);
    while (digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  out += 'Z';
  return out;
}

}  // namespace kfc::batching
