#include "exchange.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "json_page.h"

namespace kfc::taxii::detail {
namespace {

std::string base64(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3), '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

bool transient_status(long status) {
  return status == 408 || status == 425 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

std::string describe(const ErrorBody& body) {
  std::string text = body.title;
  if (!body.description.empty()) text += (text.empty() ? "" : ": ") + body.description;
  return text.empty() ? "(no explanation in the body)" : text;
}

}  // namespace

Exchange::Exchange(const ClientOptions& options, http::Transport& transport, Clock& clock)
    : options_(options), transport_(transport), clock_(clock), backoff_(options.retry) {}

http::Headers Exchange::credentials() {
  const auto& auth = options_.auth;
  if (auth.mode == AuthMode::None || !auth.token) return {};
  Secret secret = auth.token->secret_for_request(clock_);  // throws when expired: never sent
  switch (auth.mode) {
    case AuthMode::Basic:
      return {{"Authorization", "Basic " + base64(auth.user + ":" + secret.reveal())}};
    case AuthMode::Bearer:
      return {{"Authorization", "Bearer " + secret.reveal()}};
    case AuthMode::Header:
      return {{auth.header_name, secret.reveal()}};
    case AuthMode::None:
      break;
  }
  return {};
}

http::Response Exchange::get(const std::string& url, std::string_view accept, ReadStats& stats,
                             const http::Headers& extra) {
  http::Request request;
  request.url = url;
  request.headers = credentials();
  request.headers.emplace_back("Accept", std::string(accept));
  request.headers.insert(request.headers.end(), extra.begin(), extra.end());
  const std::string shown_url = http::redact_url(url);

  http::Response response;
  ++stats.requests;
  try {
    response = transport_.send(request);
  } catch (const http::TransportError& error) {
    if (error.kind() == http::FailureKind::TooLarge) {
      throw ResponseTooLargeError(shown_url, std::string(error.what()) + " — raise " + options_.response_cap_key +
                                                 " or lower " + options_.page_limit_key);
    }
    if (error.kind() == http::FailureKind::Cancelled) throw Interrupted("stopping: the request to " + shown_url + " was abandoned");
    if (!error.transient()) {
      throw TaxiiError(shown_url, std::string(error.what()) + " — check " + options_.tls_keys);
    }
    throw RetryableFailure(error.what());
  }
  stats.bytes += response.body.size();

  const long status = response.status;
  if ((status >= 200 && status < 300) || status == 404 || status == 416) return response;
  if (status == 401 || status == 403) {
    last_refusal_ = parse_error_body(response);
    if (options_.auth.mode != AuthMode::None && options_.auth.token) {
      throw TokenRejectedError(options_.server_name, options_.auth.token->key(), static_cast<int>(status));
    }
    const std::string what = status == 401 ? " — it needs credentials: " + options_.credentials_hint
                                           : " — access denied without credentials: " + options_.credentials_hint;
    throw ConfigurationError(shown_url, "TAXII server " + shown_url + " answered HTTP " + std::to_string(status) +
                                            " (" + describe(last_refusal_) + ")" + what);
  }
  if (transient_status(status)) {
    throw RetryableFailure("HTTP " + std::to_string(status) + " (" + describe(parse_error_body(response)) + ")",
                           http::retry_after(response, clock_.now()));
  }
  ErrorBody body = parse_error_body(response);
  throw ProtocolError(shown_url, status, body,
                      "TAXII server refused " + shown_url + " with HTTP " + std::to_string(status) + ": " +
                          describe(body));
}

void Exchange::give_up(const std::string& url, int attempts, const RetryableFailure& last) const {
  const std::string tries = std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
  if (const auto* unreadable = dynamic_cast<const UnreadableBody*>(&last)) {
    const std::string type = unreadable->content_type().empty() ? "none" : unreadable->content_type();
    throw UnreadableResponseError(url, attempts, unreadable->offset(), unreadable->content_type(),
                                  "TAXII server " + url + " answered, but unreadably, " + tries + " in a row: " +
                                      last.what() + " (Content-Type: " + type +
                                      ") — the server is reachable; what it sends cannot be parsed. Nothing after "
                                      "this point was skipped: it is read from here again next run. Report it to "
                                      "the server's operator if it persists");
  }
  throw UnavailableError(url, attempts,
                         "TAXII request to " + url + " failed after " + tries + ": " + last.what() +
                             " — check that the server is reachable, or raise " + options_.attempts_key);
}

}  // namespace kfc::taxii::detail
