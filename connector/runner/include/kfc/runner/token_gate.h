#pragma once
// The token gate lives in connector/health (shared with the enrichment connector); the runner's names.
#include "kfc/health/token_gate.h"
#include "kfc/runner/metrics.h"

namespace kfc::runner {
using health::TokenGate;
using health::TokenVerdict;
}  // namespace kfc::runner
