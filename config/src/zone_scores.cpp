#include "kfc/config/zone_scores.h"

#include <algorithm>
#include <cctype>

#include "kfc/config/values.h"

namespace kfc {
namespace {

std::string_view trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

std::optional<std::size_t> zone_index(std::string_view name) {
  std::string lower = to_lower(trim(name));
  if (lower == "gray") lower = "grey";
  for (std::size_t i = 0; i < ZoneScoreSpec::kZones.size(); ++i) {
    if (ZoneScoreSpec::kZones[i] == lower) return i;
  }
  return std::nullopt;
}

// 0..100 written as at most three digits.
std::optional<int> score_of(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 3 || !std::ranges::all_of(text, [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  const int score = std::stoi(std::string(text));
  if (score > 100) return std::nullopt;
  return score;
}

}  // namespace

std::optional<std::string_view> ZoneScoreSpec::first_missing_zone() const {
  for (std::size_t i = 0; i < kZones.size(); ++i) {
    if (!scores[i]) return kZones[i];
  }
  return std::nullopt;
}

ZoneScoreSpec parse_zone_scores(std::string_view text) {
  ZoneScoreSpec spec;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view entry = trim(text.substr(start, end - start));
    start = end + 1;
    const auto colon = entry.find(':');
    const auto zone = zone_index(entry.substr(0, colon));
    const auto score = colon == std::string_view::npos ? std::nullopt : score_of(entry.substr(colon + 1));
    if (!zone || !score) {
      spec.bad_entries.emplace_back(entry);
      continue;
    }
    spec.scores[*zone] = *score;
  }
  return spec;
}

}  // namespace kfc
