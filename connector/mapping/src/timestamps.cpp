#include "timestamps.h"

#include <chrono>
#include <cstdio>

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

void append_fraction(int micros, std::string& out, std::size_t min_digits) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06d", micros);
  std::size_t n = 6;
  while (n > min_digits && buf[n - 1] == '0') --n;
  out.append(buf, n);
}

}  // namespace

std::string format_created(SystemTime t) {
  using namespace std::chrono;
  const auto us = time_point_cast<microseconds>(t);
  const auto day = floor<days>(us);
  const year_month_day ymd{day};
  const hh_mm_ss hms{us - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  std::string out = buf;
  append_fraction(static_cast<int>(hms.subseconds().count()), out, 3);
  out.push_back('Z');
  return out;
}

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
  char buf[96];  // roomy enough for any int values, so GCC can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, sec);
  std::string out = buf;
  if (micros != 0) {
    out.push_back('.');
    append_fraction(micros, out, 1);
  }
  out.push_back('Z');
  return out;
}

}  // namespace kfc::mapping
