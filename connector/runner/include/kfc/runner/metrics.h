#pragma once
// The metrics live in connector/health (shared with the enrichment connector); the runner's names.
#include "kfc/health/metrics.h"

namespace kfc::runner {
using health::Metric;
using health::Metrics;
using health::MetricsServer;
}  // namespace kfc::runner
