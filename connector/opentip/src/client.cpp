#include "kfc/opentip/client.h"
#include "kfc/config/secure_url.h"
#include "kfc/config/values.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

namespace kfc::opentip {
namespace {

constexpr std::string_view kKeyName = "opentip.api_key";

}  // namespace

ClientOptions client_options(const OpenTipSettings& settings) {
  ClientOptions options;
  std::string url = settings.url;
  switch (url_transport(url, settings.allow_insecure_http)) {
    case UrlTransport::Https:
    case UrlTransport::PlainHttpAllowed:
      break;
    case UrlTransport::PlainHttpRefused:
      throw std::invalid_argument("config error: opentip.url '" + http::redact_url(url) +
                                  "' is plain http — the OpenTIP API key must travel over https; use "
                                  "https://opentip.kaspersky.com/api/v1/ (opentip.allow_insecure_http: true is "
                                  "for local test servers only)");
    case UrlTransport::NotHttp:
      throw std::invalid_argument("config error: opentip.url '" + http::redact_url(url) +
                                  "' is not an http(s) URL — set it to https://opentip.kaspersky.com/api/v1/");
  }
  if (url.back() != '/') url += '/';
  options.base_url = url;
  if (!settings.api_key || settings.api_key->origin() == TokenOrigin::Unset) {
    throw std::invalid_argument(
        "config error: opentip.api_key is not set — request an API token on the Kaspersky Threat Intelligence "
        "Portal (Request token page) and set it in config.yml or OPENTIP_API_KEY");
  }
  options.api_key = settings.api_key;
  if (settings.max_requests_per_minute < 0) {
    throw std::invalid_argument("config error: opentip.max_requests_per_minute must be 0 (no limit) or more");
  }
  options.max_requests_per_minute = settings.max_requests_per_minute;
  options.quota_cooldown = settings.quota_cooldown;
  return options;
}

Client::Client(ClientOptions options, http::Transport& transport, Clock& clock, ResultCache* cache)
    : options_(std::move(options)),
      transport_(transport),
      clock_(clock),
      cache_(cache),
      limiter_(options_.max_requests_per_minute, clock),
      backoff_(options_.retry) {
  if (!options_.api_key) throw std::invalid_argument("config error: opentip.api_key is not set");
  if (options_.base_url.empty() || options_.base_url.back() != '/') options_.base_url += '/';
}

std::string Client::endpoint_url(const Query& query) const {
  return options_.base_url + "search/" + std::string(to_string(query.endpoint())) +
         "?request=" + http::url_encode(query.value);
}

LookupResult Client::lookup(std::string_view value) {
  auto query = classify(value);
  if (!query) throw InvalidValueError("cannot look up: " + query.error());
  return lookup(*query);
}

LookupResult Client::lookup(const Query& query) {
  const std::string key = query.cache_key();
  if (cache_ != nullptr) {
    if (auto cached = cache_->get(key, clock_.now())) {
      LookupResult result = cached->status == 200 ? parse_lookup_result(query, cached->body) : no_data_result(query);
      result.from_cache = true;
      return result;
    }
  }
  check_quota_block();

  http::Response response = send_with_retries(query);
  switch (response.status) {
    case 200: {
      LookupResult result = parse_lookup_result(query, response.body);
      if (cache_ != nullptr) cache_->put(key, {200, response.body, clock_.now()});
      return result;
    }
    case 404:
      if (cache_ != nullptr) cache_->put(key, {404, {}, clock_.now()});
      return no_data_result(query);
    case 400:
      // The value passed our own checks, so for a hash OpenTIP's 400 means "unknown hash".
      if (query.is_hash()) {
        if (cache_ != nullptr) cache_->put(key, {404, {}, clock_.now()});
        return no_data_result(query);
      }
      throw BadRequestError("OpenTIP rejected the " + std::string(to_string(query.kind)) + " lookup of '" +
                            query.value + "' as an invalid request (HTTP 400)");
    case 401:
      throw TokenRejectedError(OpenTipSettings::kServerName, kKeyName, 401);
    case 403:
      on_quota_exceeded();
    default:
      throw ServiceUnavailableError("OpenTIP answered HTTP " + std::to_string(response.status) + " to " +
                                    http::redact_url(options_.base_url) + "search/" +
                                    std::string(to_string(query.endpoint())) + "; try again later");
  }
}

SystemTime Client::quota_block_end(SystemTime now) const {
  if (options_.quota_cooldown > std::chrono::seconds::zero()) return now + options_.quota_cooldown;
  auto days = std::chrono::floor<std::chrono::days>(now);
  return SystemTime(days + std::chrono::days(1));
}

void Client::on_quota_exceeded() {
  SystemTime until = quota_block_end(clock_.now());
  blocked_until_ = until;
  if (cache_ != nullptr) cache_->set_quota_blocked_until(until);
  throw QuotaExceededError(
      "OpenTIP quota or request limit exceeded (HTTP 403) — no more OpenTIP requests until " + format_timestamp(until) +
          " (opentip.quota_cooldown); lower opentip.max_requests_per_minute or wait for the daily quota to reset",
      until);
}

void Client::check_quota_block() {
  if (cache_ != nullptr) {
    if (auto shared = cache_->quota_blocked_until(); shared && (!blocked_until_ || *shared > *blocked_until_)) {
      blocked_until_ = shared;
    }
  }
  if (blocked_until_ && clock_.now() < *blocked_until_) {
    throw QuotaExceededError("OpenTIP quota exceeded earlier — no request is sent until " +
                                 format_timestamp(*blocked_until_) + " (opentip.quota_cooldown)",
                             *blocked_until_);
  }
}

http::Response Client::send_with_retries(const Query& query) {
  const http::RetryPolicy& policy = backoff_.policy();
  std::string last_problem;
  int attempt = 1;
  for (;; ++attempt) {
    // Asked each attempt: an expired key is never sent, a rotated file-backed key is picked up.
    Secret key = options_.api_key->secret_for_request(clock_);
    limiter_.acquire();
    http::Request request{.method = "GET",
                          .url = endpoint_url(query),
                          .headers = {{"x-api-key", key.reveal()}, {"Accept", "application/json"}},
                          .body = {}};
    std::optional<Duration> wait;
    try {
      ++requests_sent_;
      http::Response response = transport_.send(request);
      bool retryable = response.status == 429 || response.status >= 500;
      if (!retryable) return response;
      last_problem = "HTTP " + std::to_string(response.status);
      wait = http::retry_after(response, clock_.now());
      if (wait && policy.gives_up_on(*wait)) {
        throw ServiceUnavailableError("OpenTIP asked to retry after " +
                                      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*wait).count()) +
                                      " s (HTTP " + std::to_string(response.status) + "); try again later");
      }
    } catch (const http::TransportError& error) {
      if (!error.transient()) throw ServiceUnavailableError(std::string("OpenTIP unreachable: ") + error.what());
      last_problem = error.what();
    }
    if (!policy.allows_attempt_after(attempt)) break;
    const Duration pause = backoff_.delay(attempt, wait);
    spdlog::warn("OpenTIP {} lookup: {} — retrying in {} s (attempt {}/{})", to_string(query.endpoint()), last_problem,
                 std::chrono::duration_cast<std::chrono::seconds>(pause).count(), attempt + 1, policy.max_attempts);
    clock_.sleep_for(pause);
  }
  throw ServiceUnavailableError("OpenTIP did not answer the " + std::string(to_string(query.endpoint())) +
                                " lookup after " + std::to_string(attempt) + " attempts (last: " +
                                last_problem + "); try again later");
}

}  // namespace kfc::opentip
