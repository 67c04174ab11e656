#pragma once
// One GraphQL call to OpenCTI: POST {opencti.url}/graphql with the Bearer token, as pycti does it.
// Knows nothing of connectors; OpenCtiClient (client.h) builds the operations on top of it.
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "kfc/config/clock.h"
#include "kfc/config/settings.h"
#include "kfc/config/token.h"
#include "kfc/http/transport.h"

namespace kfc::opencti {

// Anything that went wrong talking to OpenCTI. The text names opencti.url, never the token.
class OpenCtiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// OpenCTI could not be reached or answered with a server error (5xx): worth retrying later.
class OpenCtiUnavailableError : public OpenCtiError {
 public:
  using OpenCtiError::OpenCtiError;
};

// The platform answered the call with a GraphQL error; what() carries its message.
class GraphqlError : public OpenCtiError {
 public:
  GraphqlError(const std::string& message, std::string name)
      : OpenCtiError(message), name_(std::move(name)) {}
  // errors[0].name or errors[0].extensions.code, e.g. "FUNCTIONAL_ERROR", "NOT_FOUND".
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
};

// Builds a fresh HTTP transport; each thread talking to OpenCTI (main loop, ping thread) gets its own.
using TransportFactory = std::function<std::unique_ptr<http::Transport>()>;

struct GraphqlOptions {
  std::string url;                 // opencti.url, e.g. "http://opencti:8080" (no /graphql)
  TokenPtr token;                  // opencti.token
  std::string custom_headers;      // OPENCTI_CUSTOM_HEADERS "h1:v1;h2:v2"
  std::string user_agent = "kaspersky-feeds-connector/0.1.0";
};

// The transport a GraphqlOptions/ssl_verify pair implies (libcurl, keep-alive).
TransportFactory curl_transport_factory(bool ssl_verify, std::string user_agent);
// The same from opencti.ssl_verify (a boolean or a CA bundle path); `cancel` answering true
// abandons a request under way (registration while the process is asked to stop).
TransportFactory curl_transport_factory(const OpenCtiSettings& settings, std::string user_agent,
                                        std::function<bool()> cancel = {});

class GraphqlClient {
 public:
  GraphqlClient(GraphqlOptions options, std::unique_ptr<http::Transport> transport, const Clock& clock);

  // Runs one query/mutation and returns its "data" object (a Document holding only it).
  // Throws TokenRejectedError on 401/403 or AUTH_REQUIRED, OpenCtiUnavailableError when there is no
  // answer or a 5xx, GraphqlError when the body carries "errors", OpenCtiError otherwise.
  rapidjson::Document call(std::string_view query, const rapidjson::Value& variables);

  const std::string& url() const noexcept { return options_.url; }

  // Calls made while set carry `opencti-draft-id` (pycti's header): the platform reads and writes in
  // that draft. Empty: no draft.
  void set_draft_id(std::string draft_id) { draft_id_ = std::move(draft_id); }

 private:
  http::Request build_request(std::string_view query, const rapidjson::Value& variables) const;
  rapidjson::Document parse_answer(const http::Response& response) const;

  GraphqlOptions options_;
  std::string endpoint_;
  http::Headers custom_headers_;
  std::string draft_id_;
  std::unique_ptr<http::Transport> transport_;
  const Clock& clock_;
};

// "h1:v1;h2:v2" → headers; malformed parts are skipped.
http::Headers parse_custom_headers(std::string_view text);

}  // namespace kfc::opencti
