#pragma once
// The bench servers run until SIGINT/SIGTERM: block both before any thread starts (threads inherit
// the mask), then wait for one in the main thread.
#include <csignal>

namespace kfc::bench {

class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  }
  void wait() const {
    int received = 0;
    sigwait(&signals_, &received);
  }

 private:
  sigset_t signals_;
};

}  // namespace kfc::bench
