#pragma once
// Builds a TAXII client from the connector's `kaspersky.*` settings (Basic auth, user "taxii").
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "kfc/config/settings.h"
#include "kfc/http/transport.h"
#include "kfc/taxii/client.h"

namespace kfc::taxii {

// Throws ConfigurationError when kaspersky.api_root is not https:// and
// kaspersky.allow_insecure_http is false.
ClientOptions client_options(const KasperskySettings& settings);
http::CurlOptions curl_options(const KasperskySettings& settings);
// What both TAXII modes (kaspersky.*, taxii2.*) give the transport: one timeout for connecting and
// for the whole request, TLS trust, the response cap, and the product's User-Agent.
http::CurlOptions curl_options(std::chrono::seconds connection_timeout, bool verify_tls, const std::string& ca_file,
                               std::size_t max_response_bytes);
// `cancel` (optional) abandons a request under way when it answers true: the read then throws
// kfc::Interrupted. Give the client an InterruptibleClock too, so a backoff wait ends the same way.
std::unique_ptr<Client> make_client(const KasperskySettings& settings, Clock& clock,
                                    std::function<bool()> cancel = {});

}  // namespace kfc::taxii
