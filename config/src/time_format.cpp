#include "kfc/config/time_format.h"

#include <spdlog/fmt/fmt.h>

#include <string_view>

namespace kfc {

std::string format_time(MicrosecondTime t, TimeFormat format) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const std::string_view dash = format.separators ? "-" : "", colon = format.separators ? ":" : "";
  std::string out = fmt::format("{:04}{}{:02}{}{:02}", static_cast<int>(date.year()), dash,
                                static_cast<unsigned>(date.month()), dash, static_cast<unsigned>(date.day()));
  if (!format.time_of_day) return out;
  const hh_mm_ss<std::chrono::microseconds> time{t - day};
  out += fmt::format("T{:02}{}{:02}{}{:02}", time.hours().count(), colon, time.minutes().count(), colon,
                     time.seconds().count());
  if (format.fraction_digits > 0) {
    std::string fraction = fmt::format("{:06}", time.subseconds().count());
    fraction.resize(static_cast<std::size_t>(format.fraction_digits));
    while (fraction.size() > static_cast<std::size_t>(format.min_fraction_digits) && fraction.back() == '0')
      fraction.pop_back();
    if (!fraction.empty()) out += "." + fraction;
  }
  out += 'Z';
  return out;
}

std::string format_time(SystemTime t, TimeFormat format) {
  return format_time(std::chrono::floor<std::chrono::microseconds>(t), format);
}

}  // namespace kfc
