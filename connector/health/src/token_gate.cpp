#include "kfc/health/token_gate.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

namespace kfc::health {

TokenGate::TokenGate(TokenPtr token, int warning_days, Metrics* metrics, Health* health)
    : token_(std::move(token)), warning_days_(warning_days), metrics_(metrics), health_(health) {}

TokenVerdict TokenGate::check(SystemTime now) {
  TokenVerdict verdict;
  if (!token_) {
    verdict.usable = false;
    verdict.error = "no token configured";
    return verdict;
  }
  if (token_->origin() == TokenOrigin::File) {
    try {
      if (token_->reload()) spdlog::info("{} was re-read from {}: a new token is in use", token_->key(), token_->file_path());
    } catch (const TokenError& error) {
      verdict.usable = false;
      verdict.error = error.what();
      return verdict;
    }
  }
  if (const auto problems = token_->problems(); !problems.empty()) {
    verdict.usable = false;
    verdict.error = problems.front();
    return verdict;
  }
  const TokenStatus status = token_->status(now, warning_days_);
  verdict.days_left = status.days_left;
  if (metrics_ && status.days_left) {
    metrics_->set(Metric::TokenDaysLeft, static_cast<double>(*status.days_left), token_->key());
  }
  if (health_) health_->token_checked(token_->key(), status.state == TokenState::Expired ? status.message : "");
  if (status.state == TokenState::Valid) reminded_at_.reset();  // e.g. rotated to a fresh token
  if (status.state == TokenState::Expired) {
    verdict.usable = false;
    verdict.error = status.message;
  } else if (status.state == TokenState::Expiring && status.days_left) {
    verdict.reminder = crosses_threshold(*status.days_left);
    verdict.warning = verdict.reminder ? "reminder: " + status.message : status.message;
    spdlog::warn("{}", *verdict.warning);
  } else if (status.state == TokenState::Unknown && !unknown_expiry_noticed_) {
    unknown_expiry_noticed_ = true;
    spdlog::info("{}", status.message);
    verdict.notice = status.message;
  }
  return verdict;
}

bool TokenGate::crosses_threshold(long days_left) {
  // The reminder thresholds that apply: the warning window, then a week, then the last day.
  long threshold = warning_days_;
  for (long t : std::array<long, 2>{7, 1}) {
    if (days_left <= t && t < threshold) threshold = t;
  }
  if (reminded_at_ && *reminded_at_ <= threshold) return false;
  reminded_at_ = threshold;
  return true;
}

}  // namespace kfc::health
