#include "timestamps.h"

#include <chrono>

#include "kfc/config/time_format.h"

namespace kfc::mapping {
namespace {

// Reads 1..max_digits ASCII digits (strptime: as many as allowed, at least one).
bool read_number(std::string_view s, std::size_t& i, int max_digits, int& value) {
  const std::size_t start = i;
  value = 0;
  while (i < s.size() && i - start < static_cast<std::size_t>(max_digits) && s[i] >= '0' && s[i] <= '9')
    value = value * 10 + (s[i++] - '0');
  return i > start;
}

bool expect(std::string_view s, std::size_t& i, char c) {
  if (i < s.size() && s[i] == c) {
    ++i;
    return true;
  }
  return false;
}

}  // namespace

std::string format_created(SystemTime t) { return format_time(t, kStixFormat); }

std::optional<std::string> reformat_published(std::string_view s) {
  using namespace std::chrono;
  std::size_t i = 0;
  int y, mo, d, h, mi, sec, micros = 0;
  // %Y takes exactly 4 digits in Python's strptime; the other fields 1-2 digits.
  if (!read_number(s, i, 4, y) || i != 4) return std::nullopt;
  if (!expect(s, i, '-') || !read_number(s, i, 2, mo) || !expect(s, i, '-')) return std::nullopt;
  if (i < s.size() && s[i] == ' ') ++i;  // %d also accepts " 1"
  if (!read_number(s, i, 2, d) || !expect(s, i, 'T')) return std::nullopt;
  if (!read_number(s, i, 2, h) || !expect(s, i, ':') || !read_number(s, i, 2, mi) ||
      !expect(s, i, ':') || !read_number(s, i, 2, sec))
    return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    if (!read_number(s, i, 6, micros)) return std::nullopt;
    for (std::size_t k = i - start; k < 6; ++k) micros *= 10;
  }
  if (!expect(s, i, 'Z') || i != s.size()) return std::nullopt;
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y < 1) return std::nullopt;
  const MicrosecondTime t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + microseconds{micros};
  return format_time(t, kTrimmedFractionFormat);
}

}  // namespace kfc::mapping
