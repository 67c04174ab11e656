#include "kfc/opentip/query.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "kfc/config/text.h"
#include "kfc/config/values.h"

namespace kfc::opentip {
namespace {

bool all_hex(std::string_view text) {
  return std::ranges::all_of(text, [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::optional<Query> as_hash(std::string_view text) {
  if (!all_hex(text)) return std::nullopt;
  switch (text.size()) {
    case 32: return Query{ValueKind::Md5, to_lower(text)};
    case 40: return Query{ValueKind::Sha1, to_lower(text)};
    case 64: return Query{ValueKind::Sha256, to_lower(text)};
    default: return std::nullopt;
  }
}

std::optional<Query> as_ip(std::string_view text) {
  std::string value(text);
  std::array<unsigned char, 16> address{};
  if (inet_pton(AF_INET, value.c_str(), address.data()) == 1) return Query{ValueKind::Ipv4, value};
  if (inet_pton(AF_INET6, value.c_str(), address.data()) == 1) {
    std::array<char, INET6_ADDRSTRLEN> canonical{};
    inet_ntop(AF_INET6, address.data(), canonical.data(), canonical.size());
    return Query{ValueKind::Ipv6, canonical.data()};
  }
  return std::nullopt;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::ranges::all_of(label, [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

bool valid_domain(std::string_view name) {
  if (name.size() > 253 || name.find('.') == std::string_view::npos) return false;
  std::string_view rest = name;
  std::string_view last;
  while (!rest.empty()) {
    auto dot = rest.find('.');
    last = rest.substr(0, dot);
    if (!valid_label(last)) return false;
    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
    if (dot != std::string_view::npos && rest.empty()) return false;  // "a..b" or trailing dot handled by caller
  }
  // A top-level domain is never all digits (that would be a malformed IPv4 address).
  return !std::ranges::all_of(last, [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::optional<Query> as_url(std::string_view text) {
  auto scheme_end = text.find("://");
  std::string_view host_and_rest = text;
  if (scheme_end != std::string_view::npos) {
    std::string scheme = to_lower(text.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https" && scheme != "ftp") return std::nullopt;
    host_and_rest = text.substr(scheme_end + 3);
  } else if (text.find('/') == std::string_view::npos) {
    return std::nullopt;  // no scheme and no path: a domain, not a URL
  }
  auto host_end = host_and_rest.find_first_of("/?#");
  std::string_view authority = host_and_rest.substr(0, host_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
    if (!as_ip(host)) return std::nullopt;
  } else {
    host = host.substr(0, host.find(':'));
    std::string lowered = to_lower(host);
    if (!as_ip(host) && !valid_domain(lowered) && lowered != "localhost") return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  return Query{ValueKind::Url, std::string(text)};
}

std::optional<Query> as_domain(std::string_view text) {
  std::string name = to_lower(text);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (!valid_domain(name)) return std::nullopt;
  return Query{ValueKind::Domain, name};
}

// Each kind of value: its name in messages and the OpenTIP endpoint that looks it up, side by side.
struct KindFacts {
  ValueKind kind;
  std::string_view name;
  Endpoint endpoint;
};
constexpr KindFacts kKinds[] = {
    {ValueKind::Md5, "MD5", Endpoint::Hash},
    {ValueKind::Sha1, "SHA1", Endpoint::Hash},
    {ValueKind::Sha256, "SHA256", Endpoint::Hash},
    {ValueKind::Ipv4, "IPv4", Endpoint::Ip},
    {ValueKind::Ipv6, "IPv6", Endpoint::Ip},
    {ValueKind::Domain, "domain", Endpoint::Domain},
    {ValueKind::Url, "URL", Endpoint::Url},
};

const KindFacts* facts_of(ValueKind kind) {
  const auto* found = std::ranges::find(kKinds, kind, &KindFacts::kind);
  return found == std::ranges::end(kKinds) ? nullptr : found;
}

}  // namespace

std::string_view to_string(ValueKind kind) {
  const KindFacts* facts = facts_of(kind);
  return facts ? facts->name : "unknown";
}

std::string_view to_string(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::Hash: return "hash";
    case Endpoint::Ip: return "ip";
    case Endpoint::Domain: return "domain";
    case Endpoint::Url: return "url";
  }
  return "unknown";
}

Endpoint Query::endpoint() const {
  const KindFacts* facts = facts_of(kind);
  return facts ? facts->endpoint : Endpoint::Url;
}

std::string Query::cache_key() const { return std::string(to_string(endpoint())) + ":" + value; }

std::expected<Query, std::string> classify(std::string_view input) {
  std::string_view text = trim(input, " \t\r\n");
  if (text.empty()) return std::unexpected("the value to look up is empty");
  if (text.size() > 2048) return std::unexpected("the value to look up is longer than 2048 characters");
  if (std::ranges::any_of(text, [](unsigned char c) { return c < 0x20 || c == 0x7f || c == ' '; })) {
    return std::unexpected("the value to look up contains spaces or control characters");
  }
  if (auto hash = as_hash(text)) return *hash;
  if (auto ip = as_ip(text)) return *ip;
  if (auto url = as_url(text)) return *url;
  if (auto domain = as_domain(text)) return *domain;
  return std::unexpected("'" + std::string(text.substr(0, 80)) +
                         "' is neither a hash (MD5, SHA1, SHA256), an IP address, a domain name nor a URL");
}

}  // namespace kfc::opentip
