#pragma once
// A sink's counts (Sink::stats()) as metrics, the same way in both connector modes.
#include "kfc/health/metrics.h"
#include "kfc/sinks/sink.h"

namespace kfc::sinks {

// Sets the sink families (and pycti's bundles/records sent) to these totals.
void export_stats(const SinkStats& stats, health::Metrics& metrics);

}  // namespace kfc::sinks
