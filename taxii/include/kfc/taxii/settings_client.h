#pragma once
// Builds a TAXII client from the connector's `kaspersky.*` settings (Basic auth, user "taxii").
#include <memory>

#include "kfc/config/settings.h"
#include "kfc/http/transport.h"
#include "kfc/taxii/client.h"

namespace kfc::taxii {

// Throws ConfigurationError when kaspersky.api_root is not https:// and
// kaspersky.allow_insecure_http is false.
ClientOptions client_options(const KasperskySettings& settings);
http::CurlOptions curl_options(const KasperskySettings& settings);
std::unique_ptr<Client> make_client(const KasperskySettings& settings, Clock& clock);

}  // namespace kfc::taxii
