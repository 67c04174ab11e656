#include "kfc/opencti/graphql.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kfc/config/text.h"
#include "kfc/json/untrusted.h"

namespace kfc::opencti {
namespace {

constexpr std::string_view kServerName = "OpenCTI";

std::string first_error_name(const rapidjson::Value& error) {
  if (error.HasMember("name") && error["name"].IsString()) return error["name"].GetString();
  if (error.HasMember("extensions") && error["extensions"].IsObject()) {
    const auto& extensions = error["extensions"];
    if (extensions.HasMember("code") && extensions["code"].IsString()) return extensions["code"].GetString();
  }
  return {};
}

std::string first_error_message(const rapidjson::Value& error) {
  // pycti prefers data.reason (the functional cause) over the generic message.
  if (error.HasMember("data") && error["data"].IsObject() && error["data"].HasMember("reason") &&
      error["data"]["reason"].IsString()) {
    return error["data"]["reason"].GetString();
  }
  if (error.HasMember("message") && error["message"].IsString()) return error["message"].GetString();
  return "unknown error";
}

}  // namespace

http::Headers parse_custom_headers(std::string_view text) {
  http::Headers headers;
  while (!text.empty()) {
    auto end = text.find(';');
    std::string_view part = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    auto colon = part.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(trim(part.substr(0, colon)));
    if (name.empty()) continue;
    headers.emplace_back(name, std::string(trim(part.substr(colon + 1))));
  }
  return headers;
}

TransportFactory curl_transport_factory(bool ssl_verify, std::string user_agent) {
  OpenCtiSettings settings;
  settings.ssl_verify = ssl_verify;
  return curl_transport_factory(settings, std::move(user_agent));
}

TransportFactory curl_transport_factory(const OpenCtiSettings& settings, std::string user_agent,
                                        std::function<bool()> cancel) {
  http::CurlOptions options;
  options.verify_tls = settings.ssl_verify;
  options.ca_file = settings.ssl_ca_file;
  options.user_agent = std::move(user_agent);
  options.connect_timeout = std::chrono::seconds(30);
  options.total_timeout = std::chrono::seconds(300);  // stixBundlePush of a large stage takes a while
  options.cancel = std::move(cancel);
  return [options] { return http::make_curl_transport(options); };
}

GraphqlClient::GraphqlClient(GraphqlOptions options, std::unique_ptr<http::Transport> transport,
                             const Clock& clock)
    : options_(std::move(options)), transport_(std::move(transport)), clock_(clock) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
  endpoint_ = options_.url + "/graphql";
  custom_headers_ = parse_custom_headers(options_.custom_headers);
}

http::Request GraphqlClient::build_request(std::string_view query, const rapidjson::Value& variables) const {
  rapidjson::StringBuffer body;
  rapidjson::Writer<rapidjson::StringBuffer> writer(body);
  writer.StartObject();
  writer.Key("query");
  writer.String(query.data(), static_cast<rapidjson::SizeType>(query.size()));
  writer.Key("variables");
  variables.Accept(writer);
  writer.EndObject();

  http::Request request;
  request.method = "POST";
  request.url = endpoint_;
  request.body.assign(body.GetString(), body.GetSize());
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("User-Agent", options_.user_agent);
  if (options_.token) {
    // Throws TokenError when the token is expired: an expired token is never sent.
    request.headers.emplace_back("Authorization", "Bearer " + options_.token->secret_for_request(clock_).reveal());
  }
  for (const auto& header : custom_headers_) request.headers.push_back(header);
  if (!draft_id_.empty()) request.headers.emplace_back("opencti-draft-id", draft_id_);
  return request;
}

rapidjson::Document GraphqlClient::call(std::string_view query, const rapidjson::Value& variables) {
  http::Request request = build_request(query, variables);
  http::Response response;
  try {
    response = transport_->send(request);
  } catch (const http::TransportError& error) {
    if (error.kind() == http::FailureKind::Tls) {
      // Not a passing outage: retrying cannot make the certificate trusted.
      throw OpenCtiError("TLS verification of OpenCTI at " + http::redact_url(endpoint_) + " failed: " + error.what() +
                         " — set opencti.ssl_verify (OPENCTI_SSL_VERIFY) to the path of the CA bundle that signs "
                         "the platform's certificate (or false to skip verification), and check opencti.url");
    }
    if (error.kind() == http::FailureKind::Cancelled) {
      throw Interrupted("stopping: the call to OpenCTI at " + http::redact_url(endpoint_) + " was abandoned");
    }
    throw OpenCtiUnavailableError("OpenCTI is unreachable at " + http::redact_url(endpoint_) + ": " + error.what() +
                                  " — check opencti.url and that the platform is running");
  }
  return parse_answer(response);
}

rapidjson::Document GraphqlClient::parse_answer(const http::Response& response) const {
  const std::string key = options_.token ? options_.token->key() : std::string("opencti.token");
  if (response.status == 401 || response.status == 403) {
    throw TokenRejectedError(kServerName, key, static_cast<int>(response.status));
  }
  if (response.status >= 500) {
    throw OpenCtiUnavailableError("OpenCTI at " + http::redact_url(endpoint_) + " (opencti.url) answered HTTP " +
                                  std::to_string(response.status) + " — the platform is unavailable; check that it is running");
  }
  rapidjson::Document document;
  const auto parsed = json::parse(document, response.body);
  if (response.status != 200) {
    std::string detail;
    if (parsed && document.IsObject() && document.HasMember("errors") &&
        document["errors"].IsArray() && !document["errors"].Empty()) {
      detail = ": " + first_error_message(document["errors"][0]);
    }
    throw OpenCtiError("OpenCTI at " + http::redact_url(endpoint_) + " answered HTTP " +
                       std::to_string(response.status) + detail);
  }
  if (!parsed || !document.IsObject()) {
    throw OpenCtiError("OpenCTI at " + http::redact_url(endpoint_) +
                       " answered with something that is not a GraphQL JSON object" +
                       (parsed ? std::string() : " (" + parsed.error().message + ")") + " — check opencti.url");
  }
  if (document.HasMember("errors") && document["errors"].IsArray() && !document["errors"].Empty()) {
    const auto& error = document["errors"][0];
    std::string name = first_error_name(error);
    if (name == "AUTH_REQUIRED" || name == "AuthRequired") throw TokenRejectedError(kServerName, key, 401);
    if (name == "FORBIDDEN_ACCESS" || name == "ForbiddenAccess") throw TokenRejectedError(kServerName, key, 403);
    throw GraphqlError("OpenCTI rejected the call: " + first_error_message(error) +
                           (name.empty() ? std::string() : " (" + name + ")"),
                       name);
  }
  if (!document.HasMember("data") || !document["data"].IsObject()) {
    throw OpenCtiError("OpenCTI at " + http::redact_url(endpoint_) + " answered without a data object");
  }
  rapidjson::Document data;
  data.CopyFrom(document["data"], data.GetAllocator());
  return data;
}

}  // namespace kfc::opencti
