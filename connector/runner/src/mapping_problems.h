#pragma once
// What both feeds report of the bad input their transform survived: one metric value per kind.
#include <cstddef>

#include "kfc/runner/metrics.h"

namespace kfc::runner {

// Sets kfc_mapping_problems_total{kind} for every kind counted; kinds never seen stay unset.
// `counts[i]` is the count of kind `Kind(i)`; its label is `to_string(kind)`, found beside the enum.
template <typename Kind, typename Counts>
void export_problem_counts(Metrics& metrics, const Counts& counts) {
  for (std::size_t kind = 0; kind < counts.size(); ++kind) {
    if (counts[kind] == 0) continue;
    metrics.set(Metric::MappingProblems, static_cast<double>(counts[kind]), to_string(static_cast<Kind>(kind)));
  }
}

}  // namespace kfc::runner
