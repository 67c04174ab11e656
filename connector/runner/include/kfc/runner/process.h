#pragma once
// The connector process: OpenCTI session, TAXII client, sink, state store, metrics endpoint, signal
// handling and the schedule around Runner::run_once().
#include <chrono>
#include <iosfwd>
#include <optional>

#include "kfc/config/settings.h"
#include "kfc/runner/state.h"
#include "kfc/runner/stop.h"

namespace kfc::runner {

struct ProcessOptions {
  bool once = false;                    // `run --once` (connector.run_and_terminate does the same)
  bool dry_run = false;                 // `run --dry-run`: stdout, no OpenCTI, no state written, one run
  std::optional<ConnectorState> state;  // `run --state`: where a dry run starts
  std::ostream* out = nullptr;          // dry-run lines (default std::cout)
  bool print_summary = false;           // a summary of each run on stderr (the demo)
  std::chrono::milliseconds ping_interval{40000};  // OpenCTI pings (pycti: 40 s); health allows 3 missed
};

// Runs until stopped (or once); returns the exit status: 0 when the last run succeeded, or the
// process was stopped by a signal (a scheduled process: whatever its last run did), 1 when it failed, 2 when the process could not start (bad settings,
// OpenCTI unreachable at start, metrics port taken).
int run_process(const Settings& settings, const ProcessOptions& options, Clock& clock, StopSignal& stop);

}  // namespace kfc::runner
