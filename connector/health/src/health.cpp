#include "kfc/health/health.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kfc/health/metrics.h"

namespace kfc::health {
namespace {

double epoch_seconds(SystemTime time) { return std::chrono::duration<double>(time.time_since_epoch()).count(); }

}  // namespace

Health::Health(const Clock& clock, Duration platform_silence, Metrics* metrics)
    : clock_(clock), platform_silence_(platform_silence), metrics_(metrics) {}

void Health::run_started() {
  std::lock_guard lock(mutex_);
  running_ = true;
}

void Health::run_finished(bool succeeded, const std::string& error) {
  std::lock_guard lock(mutex_);
  running_ = false;
  last_run_succeeded_ = succeeded;
  last_run_error_ = succeeded ? "" : error;
  if (succeeded) {
    ++runs_succeeded_;
    last_success_ = clock_.now();
  } else {
    ++runs_failed_;
  }
}

void Health::expect_platform() {
  std::lock_guard lock(mutex_);
  if (platform_watched_) return;
  platform_watched_ = true;
  platform_expected_since_ = clock_.now();
}

void Health::platform_answered(const std::optional<std::string>& error) {
  std::lock_guard lock(mutex_);
  if (!platform_watched_) platform_expected_since_ = clock_.now();
  platform_watched_ = true;
  if (error) {
    platform_last_error_ = *error;
    return;
  }
  platform_last_answer_ = clock_.now();
  platform_last_error_.clear();
  if (metrics_) metrics_->set(Metric::PlatformLastAnswer, epoch_seconds(*platform_last_answer_));
}

void Health::token_checked(const std::string& key, const std::string& expired_message) {
  std::lock_guard lock(mutex_);
  if (expired_message.empty()) {
    expired_tokens_.erase(key);
  } else {
    expired_tokens_[key] = expired_message;
  }
}

Verdict Health::verdict() const {
  std::lock_guard lock(mutex_);
  Verdict verdict;
  const SystemTime now = clock_.now();
  if (!running_ && last_run_succeeded_ == false) {
    verdict.reasons.push_back("the last run failed" + (last_run_error_.empty() ? "" : ": " + last_run_error_));
  }
  if (platform_watched_) {
    const SystemTime since = platform_last_answer_.value_or(platform_expected_since_);
    if (now - since > platform_silence_) {
      const auto silent = std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
      verdict.reasons.push_back(std::string(platform_last_answer_ ? "OpenCTI has not answered for "
                                                                  : "OpenCTI has not answered since the start, ") +
                                std::to_string(silent) + " s" +
                                (platform_last_error_.empty() ? "" : " (last error: " + platform_last_error_ + ")"));
    }
  }
  for (const auto& [key, message] : expired_tokens_) verdict.reasons.push_back(message);
  verdict.healthy = verdict.reasons.empty();

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("status");
  json.String(verdict.healthy ? "ok" : "unhealthy");
  json.Key("reasons");
  json.StartArray();
  for (const auto& reason : verdict.reasons) json.String(reason.c_str());
  json.EndArray();
  json.Key("run_in_progress");
  json.Bool(running_);
  json.Key("runs_succeeded");
  json.Uint64(runs_succeeded_);
  json.Key("runs_failed");
  json.Uint64(runs_failed_);
  json.Key("last_success_timestamp");
  json.Int64(last_success_ ? static_cast<std::int64_t>(epoch_seconds(*last_success_)) : 0);
  if (platform_watched_) {
    json.Key("platform_last_answer_timestamp");
    json.Int64(platform_last_answer_ ? static_cast<std::int64_t>(epoch_seconds(*platform_last_answer_)) : 0);
  }
  json.EndObject();
  verdict.json.assign(buffer.GetString(), buffer.GetSize());
  if (metrics_) metrics_->set(Metric::Healthy, verdict.healthy ? 1 : 0);
  return verdict;
}

}  // namespace kfc::health
