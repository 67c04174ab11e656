#pragma once
// The rule for a URL that carries credentials (kaspersky.api_root, taxii2.discovery_url,
// opentip.url): https, or plain http only where the user allowed it with the key's
// allow_insecure_http. The loader and each client apply this one rule; each words the refusal
// for its key.
#include <string_view>

namespace kfc {

enum class UrlTransport {
  Https,             // fine
  PlainHttpAllowed,  // http, allowed by allow_insecure_http (warn where the key's rules say so)
  PlainHttpRefused,  // http without allow_insecure_http: refuse
  NotHttp,           // not an absolute http(s) URL with a host: refuse
};

UrlTransport url_transport(std::string_view url, bool allow_insecure_http);

}  // namespace kfc
