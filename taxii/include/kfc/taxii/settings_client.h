#pragma once
// Builds a TAXII client from the connector's `kaspersky.*` settings (Basic auth, user "taxii").
#include <functional>
#include <memory>

#include "kfc/config/settings.h"
#include "kfc/http/transport.h"
#include "kfc/taxii/client.h"

namespace kfc::taxii {

// Throws ConfigurationError when kaspersky.api_root is not https:// and
// kaspersky.allow_insecure_http is false.
ClientOptions client_options(const KasperskySettings& settings);
http::CurlOptions curl_options(const KasperskySettings& settings);
// `cancel` (optional) abandons a request under way when it answers true: the read then throws
// kfc::Interrupted. Give the client an InterruptibleClock too, so a backoff wait ends the same way.
std::unique_ptr<Client> make_client(const KasperskySettings& settings, Clock& clock,
                                    std::function<bool()> cancel = {});

}  // namespace kfc::taxii
