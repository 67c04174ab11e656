#pragma once
// What the user asked about: the value, recognised and normalised before any request is spent.
#include <expected>
#include <string>
#include <string_view>

namespace kfc::opentip {

enum class ValueKind { Md5, Sha1, Sha256, Ipv4, Ipv6, Domain, Url };
// The OpenTIP search endpoint that answers a kind: search/hash, search/ip, search/domain, search/url.
enum class Endpoint { Hash, Ip, Domain, Url };

std::string_view to_string(ValueKind kind);     // "MD5", "SHA1", "SHA256", "IPv4", "IPv6", "domain", "URL"
std::string_view to_string(Endpoint endpoint);  // "hash", "ip", "domain", "url" (the path segment)

struct Query {
  ValueKind kind;
  std::string value;  // normalised: hashes lower-case, IPv6 canonical, domains lower-case without a final dot

  Endpoint endpoint() const;
  bool is_hash() const { return endpoint() == Endpoint::Hash; }
  // The key a result is cached under ("hash:44d8...").
  std::string cache_key() const;
  bool operator==(const Query&) const = default;
};

// Recognises a hash (MD5/SHA1/SHA256 by length), an IPv4/IPv6 address, a URL (scheme or path) or a
// domain name. On failure: a sentence saying why the value cannot be looked up.
std::expected<Query, std::string> classify(std::string_view input);

}  // namespace kfc::opentip
