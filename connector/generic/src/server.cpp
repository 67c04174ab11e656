#include "kfc/generic/server.h"

#include <spdlog/spdlog.h>

#include "kfc/config/secure_url.h"
#include "kfc/generic/selection.h"
#include "kfc/taxii/errors.h"
#include "kfc/taxii/settings_client.h"

namespace kfc::generic {
namespace {

std::string server_name(const Taxii2Settings& settings) {
  return "the TAXII server " + http::redact_url(settings.discovery_url);
}

taxii::TaxiiVersion version_of(const Taxii2Settings& settings) {
  if (!settings.v21) return taxii::TaxiiVersion::Auto;
  return *settings.v21 ? taxii::TaxiiVersion::V21 : taxii::TaxiiVersion::V20;
}

}  // namespace

taxii::ClientOptions client_options(const Taxii2Settings& settings, const std::string& api_root_url) {
  if (const auto transport = url_transport(settings.discovery_url, settings.allow_insecure_http);
      transport == UrlTransport::PlainHttpRefused || transport == UrlTransport::NotHttp) {
    throw taxii::ConfigurationError(http::redact_url(settings.discovery_url),
                                    "config error: taxii2.discovery_url must be an https:// URL (got " +
                                        http::redact_url(settings.discovery_url) +
                                        "); plain http only with taxii2.allow_insecure_http: true");
  }
  taxii::ClientOptions options;
  options.api_root = api_root_url;
  options.discovery_url = settings.discovery_url;
  options.version = version_of(settings);
  switch (settings.auth()) {
    case Taxii2Auth::Basic:
      options.auth.mode = taxii::AuthMode::Basic;
      options.auth.user = settings.username;
      break;
    case Taxii2Auth::Bearer:
      options.auth.mode = taxii::AuthMode::Bearer;
      break;
    case Taxii2Auth::ApiKey:
      options.auth.mode = taxii::AuthMode::Header;
      options.auth.header_name = settings.apikey_key;
      break;
    case Taxii2Auth::None:
      break;
  }
  options.auth.token = settings.active_secret();
  if (settings.enable_url_query_limit) options.page_limit = settings.url_query_limit;
  options.retry.max_attempts = settings.max_attempts;
  options.server_name = server_name(settings);
  options.response_cap_key = "taxii2.max_response_mb";
  options.api_root_key = "taxii2.discovery_url";
  options.collections_key = "taxii2.collections";
  options.attempts_key = "taxii2.max_attempts";
  options.page_limit_key = "taxii2.url_query_limit";
  options.tls_keys = "taxii2.verify_ssl, taxii2.ca_file and taxii2.cert_path";
  options.credentials_hint =
      "set taxii2.username and taxii2.password (Basic), taxii2.use_token and taxii2.token (Bearer), or "
      "taxii2.use_apikey, taxii2.apikey_key and taxii2.apikey_value (API key)";
  return options;
}

http::CurlOptions curl_options(const Taxii2Settings& settings) {
  http::CurlOptions options =
      taxii::curl_options(settings.connection_timeout, settings.verify_ssl, settings.ca_file, settings.max_response_bytes);
  options.client_cert = settings.cert_path;
  options.client_key = settings.key_path;
  return options;
}

TaxiiServer::TaxiiServer(const Taxii2Settings& settings, Clock& clock) : settings_(settings), clock_(clock) {
  // The discovery client's API root is only a placeholder: it asks the discovery URL.
  discovery_ = std::make_unique<taxii::Client>(client_options(settings, settings.discovery_url),
                                               http::make_curl_transport(curl_options(settings)), clock);
}

TaxiiServer::~TaxiiServer() = default;

taxii::Client& TaxiiServer::client_for(const std::string& api_root_url) {
  auto& client = roots_[api_root_url];
  if (!client) {
    client = std::make_unique<taxii::Client>(client_options(settings_, api_root_url),
                                             http::make_curl_transport(curl_options(settings_)), clock_);
  }
  return *client;
}

taxii::ReadStats TaxiiServer::stats() const {
  taxii::ReadStats total = discovery_->stats();
  for (const auto& [url, client] : roots_) total += client->stats();
  return total;
}

std::vector<TaxiiServer::Listed> TaxiiServer::list_all() {
  std::vector<Listed> listed;
  const taxii::Discovery discovery = discovery_->discover();
  for (const auto& root_url : discovery.api_roots) {
    taxii::Client& client = client_for(root_url);
    const std::string name = api_root_name(root_url);
    for (auto& collection : client.collections()) {
      Listed entry{root_url, name, client.version(), std::move(collection), false, false};
      entry.matched = is_selected(settings_.collections, name, entry.collection);
      entry.selected = entry.matched && entry.collection.can_read;
      listed.push_back(std::move(entry));
    }
  }
  return listed;
}

Selection TaxiiServer::select() {
  Selection selection;
  const taxii::Discovery discovery = discovery_->discover();
  if (discovery.api_roots.empty()) {
    selection.errors.push_back("the TAXII server at " + http::redact_url(settings_.discovery_url) +
                               " lists no API root in its discovery answer — check taxii2.discovery_url");
  }
  for (const auto& root_url : discovery.api_roots) {
    const std::string name = api_root_name(root_url);
    try {
      taxii::Client& client = client_for(root_url);
      client.api_root();
      for (auto& collection : client.collections()) {
        if (!is_selected(settings_.collections, name, collection)) continue;
        if (!collection.can_read) {
          spdlog::info("Collection {}.{} [{}] is not readable, skip it", name, collection.id, collection.title);
          continue;
        }
        selection.collections.push_back({&client, name, std::move(collection)});
      }
    } catch (const TokenError&) {
      throw;  // the credentials are refused: the source stops
    } catch (const std::exception& error) {
      selection.errors.push_back("API root " + http::redact_url(root_url) + ": " + error.what());
    }
  }
  if (selection.collections.empty() && selection.errors.empty()) {
    spdlog::warn("No readable collection matches taxii2.collections ({}): nothing to read",
                 fmt::format("{}", fmt::join(settings_.collections, ",")));
  }
  return selection;
}

}  // namespace kfc::generic
