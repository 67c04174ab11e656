#pragma once
// opentip.zone_scores, read once for the loader's check and the enrichment connector alike:
// "red:100,orange:80,yellow:60,grey:20,green:0" — entries separated by commas, spaces around them
// ignored, zone names in any case (gray for grey), a score of 0..100.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kfc {

struct ZoneScoreSpec {
  // Names in the order of `scores`.
  static constexpr std::array<std::string_view, 5> kZones{"red", "orange", "yellow", "grey", "green"};
  std::array<std::optional<int>, 5> scores;  // the score given for each zone, if any
  std::vector<std::string> bad_entries;      // entries that are not <zone>:<0..100>, as written (trimmed)

  // The first zone without a score (the enrichment connector needs all five), if any.
  std::optional<std::string_view> first_missing_zone() const;
};

ZoneScoreSpec parse_zone_scores(std::string_view text);

}  // namespace kfc
