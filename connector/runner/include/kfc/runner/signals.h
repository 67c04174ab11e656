#pragma once
// SIGTERM/SIGINT for the connector process: the first one asks the run to stop (stop reading,
// deliver and confirm what is in flight, checkpoint, close the work as interrupted); if that takes
// longer than the grace period the process exits anyway with its own status, kForcedExitStatus
// (nothing is lost: unconfirmed objects are read again by the next run, but a stop that needs the
// guard is a fault worth seeing); a second signal exits at once (128 + signal).
//
// Signals are taken by a dedicated thread with sigwait(), so handling does not depend on which
// thread runs the loop (a weakness of the reference connector) and no work happens in a signal handler.
#include <signal.h>

#include <chrono>
#include <thread>

#include "kfc/runner/stop.h"

namespace kfc::runner {

// The exit status when the grace period ran out (EX_TEMPFAIL: stopped, nothing lost, not clean).
inline constexpr int kForcedExitStatus = 75;

class SignalWatcher {
 public:
  // Create it before any other thread: it blocks SIGTERM/SIGINT in the calling thread, and threads
  // started afterwards inherit that.
  explicit SignalWatcher(StopSignal& stop, std::chrono::milliseconds grace = std::chrono::milliseconds{4500});
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void watch();

  StopSignal& stop_;
  std::chrono::milliseconds grace_;
  sigset_t previous_mask_{};
  std::thread thread_;
};

}  // namespace kfc::runner
