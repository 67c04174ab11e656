#pragma once
// The TAXII server of the generic mode: discovery at taxii2.discovery_url, one client per API root
// (each keeps its own connection and settles its TAXII version), the credentials and TLS settings
// of taxii2.*, and the collections taxii2.collections selects.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kfc/config/settings.h"
#include "kfc/http/transport.h"
#include "kfc/taxii/client.h"

namespace kfc::generic {

taxii::ClientOptions client_options(const Taxii2Settings& settings, const std::string& api_root_url);
http::CurlOptions curl_options(const Taxii2Settings& settings);

struct SelectedCollection {
  taxii::Client* client = nullptr;  // its API root's client
  std::string api_root_name;
  taxii::Collection collection;
};

struct Selection {
  std::vector<SelectedCollection> collections;
  std::vector<std::string> errors;  // API roots that could not be listed (their collections skipped)
};

class TaxiiServer {
 public:
  // Throws taxii::ConfigurationError for plain http:// without taxii2.allow_insecure_http.
  TaxiiServer(const Taxii2Settings& settings, Clock& clock);
  ~TaxiiServer();

  // Discovery, then every API root's collections. Throws kfc::TokenError when the credentials are
  // refused, and TAXII errors when discovery fails.
  Selection select();
  // Every collection of every API root with its selection verdict (the `collections` command).
  struct Listed {
    std::string api_root_url;
    std::string api_root_name;
    taxii::TaxiiVersion version = taxii::TaxiiVersion::Auto;
    taxii::Collection collection;
    bool matched = false;   // taxii2.collections names it
    bool selected = false;  // matched and readable: it is read
  };
  std::vector<Listed> list_all();
  // Totals over every request of this server's clients.
  taxii::ReadStats stats() const;

 private:
  taxii::Client& client_for(const std::string& api_root_url);

  const Taxii2Settings& settings_;
  Clock& clock_;
  std::unique_ptr<taxii::Client> discovery_;
  std::map<std::string, std::unique_ptr<taxii::Client>> roots_;  // by URL: kept across runs
};

}  // namespace kfc::generic
