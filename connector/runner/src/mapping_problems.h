#pragma once
// What both feeds report of the bad input their transform survived (FeedStats::problems).
#include <cstddef>

#include "kfc/runner/feed.h"

namespace kfc::runner {

// The kinds counted, each with its count; kinds never seen are left out. `counts[i]` is the count
// of kind `Kind(i)`; its label is `to_string(kind)`, found beside the enum.
template <typename Kind, typename Counts>
decltype(FeedStats::problems) problem_counts(const Counts& counts) {
  decltype(FeedStats::problems) out;
  for (std::size_t kind = 0; kind < counts.size(); ++kind) {
    if (counts[kind] != 0) out.emplace_back(to_string(static_cast<Kind>(kind)), counts[kind]);
  }
  return out;
}

}  // namespace kfc::runner
