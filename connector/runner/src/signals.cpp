#include "kfc/runner/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace kfc::runner {
namespace {

// SIGUSR2 only wakes the watcher when the process ends normally.
constexpr int kQuitWatcher = SIGUSR2;

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, kQuitWatcher);
  return set;
}

const char* signal_name(int signal) { return signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "signal"; }

[[noreturn]] void exit_now(int code, const char* message) {
  // No destructors, no locks: other threads may hold any of them.
  const ssize_t ignored = ::write(STDERR_FILENO, message, __builtin_strlen(message));
  (void)ignored;
  ::_exit(code);
}

}  // namespace

SignalWatcher::SignalWatcher(StopSignal& stop, std::chrono::milliseconds grace) : stop_(stop), grace_(grace) {
  const sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
  thread_ = std::thread([this] { watch(); });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), kQuitWatcher);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

void SignalWatcher::watch() {
  const sigset_t set = watched_signals();
  int received = 0;
  do {
    if (sigwait(&set, &received) != 0) return;
  } while (received != SIGTERM && received != SIGINT && received != kQuitWatcher);
  if (received == kQuitWatcher) return;

  spdlog::info("{} received: stopping after delivering what is in flight (a second signal exits at once)",
               signal_name(received));
  stop_.request(signal_name(received));

  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(grace_);
  timespec timeout{static_cast<time_t>(seconds.count()),
                   static_cast<long>(std::chrono::nanoseconds(grace_ - seconds).count())};
  while (true) {
    const int next = sigtimedwait(&set, nullptr, &timeout);
    if (next == kQuitWatcher) return;
    if (next == SIGTERM || next == SIGINT) {
      exit_now(128 + next, "second stop signal: exiting at once (unconfirmed objects will be read again)\n");
    }
    if (next < 0 && errno == EINTR) continue;  // timeout shrinks only approximately; fine for a guard
    if (next < 0 && errno == EAGAIN) {
      exit_now(kForcedExitStatus,
               "graceful stop took too long: forced exit with status 75 (unconfirmed objects will be read again)\n");
    }
  }
}

}  // namespace kfc::runner
