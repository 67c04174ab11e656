#pragma once
// Whether the connector is healthy, for /healthz and the `health` command (the container's
// HEALTHCHECK). Healthy while all of these hold:
//  - the last run succeeded, or a run is in progress, or none has finished yet;
//  - OpenCTI answered (registration or ping) within the last `platform_silence` (three ping intervals),
//    when the connector talks to OpenCTI at all;
//  - no token has expired.
// Anything else is unhealthy, with one reason per failing rule. Thread-safe: the run loop, the ping
// thread and the HTTP server thread all use it.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kfc/config/clock.h"

namespace kfc::health {

class Metrics;

struct Verdict {
  bool healthy = true;
  std::vector<std::string> reasons;  // why not, one line each
  std::string json;                  // the /healthz body
};

class Health {
 public:
  explicit Health(const Clock& clock, Duration platform_silence = std::chrono::seconds(120),
                  Metrics* metrics = nullptr);

  void run_started();
  void run_finished(bool succeeded, const std::string& error = {});
  // The connector depends on OpenCTI from now on (before registration): no answer within
  // `platform_silence` is unhealthy even when it never answered.
  void expect_platform();
  // OpenCTI answered (nullopt) or did not (what went wrong).
  void platform_answered(const std::optional<std::string>& error = std::nullopt);
  // After each check of a token: `expired_message` empty when the token is usable.
  void token_checked(const std::string& key, const std::string& expired_message);

  Verdict verdict() const;

 private:
  const Clock& clock_;
  Duration platform_silence_;
  Metrics* metrics_;
  mutable std::mutex mutex_;
  bool running_ = false;
  std::optional<bool> last_run_succeeded_;
  std::string last_run_error_;
  std::uint64_t runs_succeeded_ = 0;
  std::uint64_t runs_failed_ = 0;
  std::optional<SystemTime> last_success_;
  bool platform_watched_ = false;
  SystemTime platform_expected_since_{};
  std::optional<SystemTime> platform_last_answer_;
  std::string platform_last_error_;
  std::map<std::string, std::string> expired_tokens_;
};

}  // namespace kfc::health
