#include "kfc/config/values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <regex>

#include "kfc/config/time_format.h"

namespace kfc {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string to_upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string lower = to_lower(text);
  if (lower == "true" || lower == "yes") return true;
  if (lower == "false" || lower == "no") return false;
  return std::nullopt;
}

std::optional<long long> parse_integer(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::seconds> parse_iso8601_duration(std::string_view text) {
  static const std::regex pattern(
      R"(P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?)",
      std::regex::ECMAScript | std::regex::icase);
  const std::string input(text);
  std::smatch match;
  if (!std::regex_match(input, match, pattern)) return std::nullopt;
  // "P" and "PT" alone name no component.
  if (!match[1].matched && !match[2].matched && !match[3].matched && !match[4].matched && !match[5].matched) {
    return std::nullopt;
  }
  // At most 12 digits a component: the sum then fits 64 bits (12 digits of weeks are 6e17 s) and no
  // conversion can throw or overflow; such a duration is refused by the key's range anyway.
  constexpr std::size_t kMaxDigits = 12;
  for (int group = 1; group <= 4; ++group) {
    if (match[group].matched && match[group].str().size() > kMaxDigits) return std::nullopt;
  }
  auto whole = [&](int group) -> long long { return match[group].matched ? std::stoll(match[group].str()) : 0; };
  long long seconds = whole(1) * 7 * 86400 + whole(2) * 86400 + whole(3) * 3600 + whole(4) * 60;
  if (match[5].matched) {
    std::string part = match[5].str();
    std::replace(part.begin(), part.end(), ',', '.');
    if (std::min(part.find('.'), part.size()) > kMaxDigits) return std::nullopt;
    seconds += static_cast<long long>(std::stod(part));
  }
  return std::chrono::seconds{seconds};
}

std::optional<SystemTime> parse_date_or_timestamp(std::string_view text) {
  static const std::regex pattern(
      R"((\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2})))?)");
  const std::string input(text);
  std::smatch match;
  if (!std::regex_match(input, match, pattern)) return std::nullopt;
  auto number = [&](int group) { return match[group].matched ? std::stoi(match[group].str()) : 0; };
  std::tm fields{};
  fields.tm_year = number(1) - 1900;
  fields.tm_mon = number(2) - 1;
  fields.tm_mday = number(3);
  fields.tm_hour = number(4);
  fields.tm_min = number(5);
  fields.tm_sec = number(6);
  // system_clock counts nanoseconds in 64 bits: it ends in 2262.
  if (fields.tm_year + 1900 < 1970 || fields.tm_year + 1900 > 2200) return std::nullopt;
  if (fields.tm_mon < 0 || fields.tm_mon > 11 || fields.tm_mday < 1 || fields.tm_mday > 31 || fields.tm_hour > 23 ||
      fields.tm_min > 59 || fields.tm_sec > 60) {
    return std::nullopt;
  }
  std::tm normalised = fields;
  const std::time_t seconds = timegm(&normalised);
  // timegm normalises 2026-02-30 into March: refuse dates that do not exist.
  if (normalised.tm_mday != fields.tm_mday || normalised.tm_mon != fields.tm_mon) return std::nullopt;
  long long offset = 0;
  if (match[9].matched) {
    offset = (number(10) * 3600LL + number(11) * 60LL) * (match[9].str() == "-" ? -1 : 1);
  }
  return std::chrono::system_clock::from_time_t(seconds) - std::chrono::seconds{offset};
}

std::string format_date(SystemTime t) { return format_time(t, kDateFormat); }

std::string format_timestamp(SystemTime t) { return format_time(t, kSecondsFormat); }

bool is_uuid(std::string_view text) {
  static const std::regex pattern("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  return std::regex_match(std::string(text), pattern);
}

bool is_loopback_host(std::string_view host) {
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  const std::string name = to_lower(host);
  if (name == "localhost" || name.ends_with(".localhost") || name == "::1") return true;
  static const std::regex ipv4_loopback(R"(127\.\d{1,3}\.\d{1,3}\.\d{1,3})");
  return std::regex_match(name, ipv4_loopback);
}

bool is_http_url(std::string_view text, std::string* scheme, std::string* host) {
  static const std::regex pattern(R"((https?)://([^/?#\s@]+@)?([^/?#\s:@]+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?([/?#]\S*)?)",
                                  std::regex::ECMAScript | std::regex::icase);
  std::smatch match;
  const std::string input(text);
  if (!std::regex_match(input, match, pattern)) return false;
  if (match[4].matched) {
    const long long port = *parse_integer(match[4].str().substr(1));
    if (port < 1 || port > 65535) return false;
  }
  if (scheme) *scheme = to_lower(match[1].str());
  if (host) {
    *host = match[3].str();
    if (host->starts_with('[')) *host = host->substr(1, host->size() - 2);
  }
  return true;
}

std::string url_without_credentials(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority_start = scheme_end + 3;
  const auto authority_end = url.find_first_of("/?#", authority_start);
  const auto at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority_start) return std::string(url);
  return std::string(url.substr(0, authority_start)) + "****@" + std::string(url.substr(at + 1));
}

std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  // At most two edits (a few more for long names): a typo, not a different word.
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 6) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(to_lower(word), to_lower(candidate));
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace kfc
