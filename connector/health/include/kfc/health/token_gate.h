#pragma once
// Token checks before each use (a feed run, an enrichment request): a file-backed token is re-read (rotation without restart), then
// checked. An expired or unusable token stops its source for this run with an error that says when
// it expired and where to request a new one; an expiring one logs a warning with the days left on
// every run, marked as a reminder when it crosses the warning window, 7 and 1 days; a token without
// an expiry date gets a one-time notice that its expiry cannot be tracked.
#include <optional>
#include <string>

#include "kfc/config/token.h"
#include "kfc/health/health.h"
#include "kfc/health/metrics.h"

namespace kfc::health {

struct TokenVerdict {
  bool usable = true;
  std::string error;                    // set when !usable: what happened and what to do
  std::optional<std::string> warning;   // set when this check logged an expiry warning
  bool reminder = false;                // the warning crosses a threshold (window, 7 days, 1 day)
  std::optional<std::string> notice;    // set when this check logged the one-time "expiry cannot be tracked"
  std::optional<long> days_left;
};

class TokenGate {
 public:
  // `metrics` gets the days left, `health` whether the token has expired (both optional).
  TokenGate(TokenPtr token, int warning_days, Metrics* metrics = nullptr, Health* health = nullptr);
  TokenVerdict check(SystemTime now);

 private:
  bool crosses_threshold(long days_left);

  TokenPtr token_;
  int warning_days_;
  Metrics* metrics_;
  Health* health_;
  std::optional<long> reminded_at_;  // the threshold last reminded about
  bool unknown_expiry_noticed_ = false;
};

}  // namespace kfc::health
