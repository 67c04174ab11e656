#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <mutex>

#include "kfc/config/text.h"
#include "kfc/config/values.h"
#include "kfc/http/transport.h"

namespace kfc::http {
namespace {

constexpr std::string_view kLineBlanks = " \t\r\n";  // a header line still holds its CRLF

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Which libcurl failures are which kind, one kind a line; any code not listed is Other.
struct CodesOfKind {
  FailureKind kind;
  std::initializer_list<CURLcode> codes;
};
const CodesOfKind kFailureKinds[] = {
    {FailureKind::Connect, {CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY}},
    {FailureKind::Timeout, {CURLE_OPERATION_TIMEDOUT}},
    {FailureKind::Tls, {CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
                        CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE}},
    {FailureKind::TooLarge, {CURLE_FILESIZE_EXCEEDED}},
    {FailureKind::Cancelled, {CURLE_ABORTED_BY_CALLBACK}},
    {FailureKind::Reset, {CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE}},
};

FailureKind classify(CURLcode code) {
  for (const auto& [kind, codes] : kFailureKinds) {
    if (std::ranges::find(codes, code) != codes.end()) return kind;
  }
  return FailureKind::Other;
}

// OpenSSL's wording of the alerts a server sends when it refuses (or misses) the client certificate.
bool refuses_client_certificate(std::string_view detail) {
  for (std::string_view alert : {"alert certificate required", "alert bad certificate", "alert unknown ca",
                                 "alert certificate unknown", "alert handshake failure", "alert access denied"}) {
    if (detail.find(alert) != std::string_view::npos) return true;
  }
  return false;
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(const CurlOptions& options) : options_(options) {
    global_init_once();
    handle_ = curl_easy_init();
    if (handle_ == nullptr) throw TransportError(FailureKind::Other, "cannot initialise libcurl");
  }
  ~CurlTransport() override { curl_easy_cleanup(handle_); }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Follows up to kMaxRedirects redirects itself: libcurl would send every custom header (an
  // X-API-Key, say) on to whatever host a redirect names. Headers other than the harmless ones
  // never leave the origin (scheme, host, port) of the first request.
  Response send(const Request& request) override {
    Request hop = request;
    const std::string origin = origin_of(request.url);
    for (int redirects = 0;; ++redirects) {
      Response response = perform(hop);
      if (!is_redirect(response.status)) return response;
      char* location = nullptr;
      curl_easy_getinfo(handle_, CURLINFO_REDIRECT_URL, &location);
      if (location == nullptr) return response;  // a 3xx without Location: the caller sees it
      if (redirects >= kMaxRedirects) {
        throw TransportError(FailureKind::Other, "request to " + redact_url(request.url) + " was redirected more than " +
                                                     std::to_string(kMaxRedirects) + " times");
      }
      std::string target = location;
      if (!target.starts_with("http://") && !target.starts_with("https://")) {
        throw TransportError(FailureKind::Other,
                             "request to " + redact_url(request.url) + " was redirected to a non-HTTP URL");
      }
      if (response.status == 303 || ((response.status == 301 || response.status == 302) && hop.method == "POST")) {
        hop.method = "GET";  // as browsers and libcurl do
        hop.body.clear();
      }
      if (origin_of(target) != origin) std::erase_if(hop.headers, [](const auto& h) { return !safe_across_origins(h.first); });
      hop.url = std::move(target);
    }
  }

 private:
  static constexpr int kMaxRedirects = 5;

  static bool is_redirect(long status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  // Headers that carry no credential and may follow a redirect to another origin.
  static bool safe_across_origins(const std::string& name) {
    static const std::string kSafe[] = {"accept", "accept-language", "content-type", "range", "expect"};
    return std::find(std::begin(kSafe), std::end(kSafe), to_lower(name)) != std::end(kSafe);
  }

  // "scheme://host:port" in lower case, the port made explicit.
  static std::string origin_of(std::string_view url) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return to_lower(url);
    std::string scheme = to_lower(url.substr(0, scheme_end));
    auto authority = url.substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
    std::string host = to_lower(authority);
    const bool has_port = host.starts_with('[') ? host.find("]:") != std::string::npos  // [IPv6]:port
                                                : host.find(':') != std::string::npos;
    if (!has_port) host += scheme == "https" ? ":443" : ":80";
    return scheme + "://" + host;
  }

  Response perform(const Request& request) {
    Exchange exchange{.response = {}, .limit = options_.max_response_bytes, .handle = handle_};
    curl_easy_reset(handle_);  // keeps the connection cache: keep-alive survives
    configure(request, exchange);

    curl_slist* header_list = nullptr;
    for (const auto& [name, value] : request.headers) {
      header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
    }
    // libcurl adds "Expect: 100-continue" to large POSTs; servers in the wild handle it badly.
    header_list = curl_slist_append(header_list, "Expect:");
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, header_list);
    char detail[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, detail);

    CURLcode code = curl_easy_perform(handle_);
    curl_slist_free_all(header_list);

    if (exchange.too_large) {
      throw TransportError(FailureKind::TooLarge,
                           "response from " + redact_url(request.url) + " exceeds the limit of " +
                               std::to_string(options_.max_response_bytes) + " bytes");
    }
    if (code != CURLE_OK && refuses_client_certificate(detail)) {
      // With TLS 1.3 the server's verdict on the client certificate arrives after the handshake, as
      // an alert on the first read: not a transient reset, retrying cannot help.
      throw TransportError(FailureKind::Tls, "request to " + redact_url(request.url) +
                                                 " failed: the server rejected the client certificate (TLS alert: " +
                                                 std::string(detail) + ")");
    }
    if (code != CURLE_OK) {
      std::string message = "request to " + redact_url(request.url) + " failed: " + curl_easy_strerror(code);
      if (!options_.client_cert.empty() && (code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR)) {
        // The alert refusing a certificate can be lost when the request is already on its way.
        message += " (a server refusing the client certificate may close the connection this way)";
      }
      throw TransportError(classify(code), message);
    }
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &exchange.response.status);
    return std::move(exchange.response);
  }

  struct Exchange {
    Response response;
    std::size_t limit;
    CURL* handle;
    bool too_large = false;
    bool sized = false;  // the body's room was reserved from Content-Length
  };

  // A body grown by appending is copied at every doubling and, for a moment, held twice (a 1 MiB
  // TAXII page: 1.5 MiB). With a Content-Length (within the limit) its room is taken at once.
  static void reserve_body(Exchange& exchange) {
    exchange.sized = true;
    curl_off_t length = -1;
    if (curl_easy_getinfo(exchange.handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) != CURLE_OK || length <= 0) return;
    if (static_cast<std::uint64_t>(length) > exchange.limit) return;
    exchange.response.body.reserve(static_cast<std::size_t>(length));
  }

  void configure(const Request& request, Exchange& exchange) {
    curl_easy_setopt(handle_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_file.empty()) curl_easy_setopt(handle_, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.client_cert.empty()) {
      curl_easy_setopt(handle_, CURLOPT_SSLCERT, options_.client_cert.c_str());
      curl_easy_setopt(handle_, CURLOPT_SSLCERTTYPE, "PEM");
      // libcurl reads the key from the certificate file when no key file is named.
      if (!options_.client_key.empty()) curl_easy_setopt(handle_, CURLOPT_SSLKEY, options_.client_key.c_str());
    }
    if (options_.accept_gzip) curl_easy_setopt(handle_, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(handle_, CURLOPT_FOLLOWLOCATION, 0L);  // send() follows redirects itself
    curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");

    if (request.method == "GET") {
      curl_easy_setopt(handle_, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &CurlTransport::on_body);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, &CurlTransport::on_header);
    curl_easy_setopt(handle_, CURLOPT_HEADERDATA, &exchange);
    if (options_.cancel) {
      curl_easy_setopt(handle_, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(handle_, CURLOPT_XFERINFOFUNCTION, &CurlTransport::on_progress);
      curl_easy_setopt(handle_, CURLOPT_XFERINFODATA, this);
    }
  }

  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<CurlTransport*>(user)->options_.cancel() ? 1 : 0;  // non-zero aborts the transfer
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    std::size_t bytes = size * count;
    if (!exchange.sized) reserve_body(exchange);
    if (exchange.response.body.size() + bytes > exchange.limit) {
      exchange.too_large = true;
      return 0;  // aborts the transfer
    }
    exchange.response.body.append(data, bytes);
    return bytes;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      exchange.response.headers.clear();  // a new response (after a redirect or 100-continue)
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      exchange.response.headers.emplace_back(to_lower(trim(line.substr(0, colon), kLineBlanks)), std::string(trim(line.substr(colon + 1), kLineBlanks)));
    }
    return size * count;
  }

  CurlOptions options_;
  CURL* handle_ = nullptr;
};

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  std::string wanted = to_lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return std::nullopt;
}

std::unique_ptr<Transport> make_curl_transport(const CurlOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  if (auto query = out.find('?'); query != std::string::npos) out.erase(query);
  auto scheme = out.find("://");
  auto authority_start = scheme == std::string::npos ? 0 : scheme + 3;
  auto authority_end = out.find('/', authority_start);
  auto at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
  if (at != std::string::npos && at >= authority_start) out.erase(authority_start, at + 1 - authority_start);
  return out;
}

std::string url_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace kfc::http
