#include "kfc/taxii/settings_client.h"

#include "kfc/config/secure_url.h"
#include "kfc/config/version.h"

namespace kfc::taxii {

ClientOptions client_options(const KasperskySettings& settings) {
  if (const auto transport = url_transport(settings.api_root, settings.allow_insecure_http);
      transport == UrlTransport::PlainHttpRefused || transport == UrlTransport::NotHttp) {
    throw ConfigurationError(http::redact_url(settings.api_root),
                             "config error: kaspersky.api_root must be an https:// URL (got " +
                                 http::redact_url(settings.api_root) +
                                 "); set kaspersky.allow_insecure_http only for a local test server");
  }
  ClientOptions options;
  options.api_root = settings.api_root;
  options.version = TaxiiVersion::V21;
  options.auth.mode = AuthMode::Basic;
  options.auth.user = "taxii";
  options.auth.token = settings.api_token;
  options.page_limit = settings.page_limit;
  options.retry.max_attempts = settings.max_attempts;
  options.server_name = "the Kaspersky TAXII server";
  return options;
}

http::CurlOptions curl_options(std::chrono::seconds connection_timeout, bool verify_tls, const std::string& ca_file,
                               std::size_t max_response_bytes) {
  http::CurlOptions options;
  options.connect_timeout = connection_timeout;
  options.total_timeout = connection_timeout;
  options.verify_tls = verify_tls;
  options.ca_file = ca_file;
  options.max_response_bytes = max_response_bytes;
  options.user_agent = "kaspersky-feeds-connector/" + std::string(version());
  return options;
}

http::CurlOptions curl_options(const KasperskySettings& settings) {
  return curl_options(settings.connection_timeout, settings.ssl_verify, settings.ca_file, settings.max_response_bytes);
}

std::unique_ptr<Client> make_client(const KasperskySettings& settings, Clock& clock, std::function<bool()> cancel) {
  http::CurlOptions transport = curl_options(settings);
  transport.cancel = std::move(cancel);
  return std::make_unique<Client>(client_options(settings), http::make_curl_transport(transport), clock);
}

}  // namespace kfc::taxii
