#include "kfc/config/secure_url.h"

#include <string>

#include "kfc/config/values.h"

namespace kfc {

UrlTransport url_transport(std::string_view url, bool allow_insecure_http) {
  std::string scheme;
  if (!is_http_url(url, &scheme)) return UrlTransport::NotHttp;
  if (scheme == "https") return UrlTransport::Https;
  return allow_insecure_http ? UrlTransport::PlainHttpAllowed : UrlTransport::PlainHttpRefused;
}

}  // namespace kfc
