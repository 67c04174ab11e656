#pragma once
// An OpenTIP answer, typed: the zone, categories with their zones, file info and detections, and the
// IP / domain / URL general information with WHOIS essentials. The raw JSON is kept for --json.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kfc/opentip/query.h"

namespace kfc::opentip {

enum class Zone { Red, Orange, Yellow, Grey, Green };

std::string_view to_string(Zone zone);                  // "Red", "Orange", ...
std::optional<Zone> parse_zone(std::string_view text);  // case-insensitive; "Gray" accepted

struct CategoryWithZone {
  std::string name;  // "CATEGORY_MALWARE"
  std::optional<Zone> zone;
};

struct FileInfo {
  std::string status;  // FileStatus: "Malware", "Adware and other", "Clean", ...
  std::string md5, sha1, sha256;
  std::string first_seen, last_seen;
  std::string signer, packer, type;
  std::optional<std::uint64_t> size;
  std::optional<std::uint64_t> hits_count;
};

struct Detection {
  std::string last_detect_date;
  std::string description_url;
  std::optional<Zone> zone;
  std::string name;    // DetectionName
  std::string method;  // DetectionMethod
};

// The WHOIS essentials of an IP network or a domain, whichever the answer carried.
struct Whois {
  std::vector<std::string> asns;  // "AS15169 GOOGLE"
  std::string net_name, net_range, net_description;
  std::string registrar, registrant_organization, created, updated, expires;
  std::vector<std::string> name_servers;
};

struct NetworkInfo {  // IpGeneralInfo / DomainGeneralInfo / UrlGeneralInfo, the fields they share or own
  std::string status;        // IP: Status
  std::string country_code;  // IP: CountryCode
  std::string first_seen;
  std::string ip, domain, url, host;
  std::optional<std::uint64_t> hits_count, files_count, urls_count, ipv4_count;
};

struct LookupResult {
  Query query;
  // false when OpenTIP has no data (404, or 400 for a well-formed hash it does not know).
  bool found = false;
  std::optional<Zone> zone;
  std::vector<std::string> categories;
  std::vector<CategoryWithZone> categories_with_zone;
  std::optional<FileInfo> file;
  std::vector<Detection> detections;
  std::optional<NetworkInfo> network;
  std::optional<Whois> whois;
  std::string raw_json;     // the body as OpenTIP sent it ("" when not found)
  bool from_cache = false;

  // The OpenTIP portal page of the value, for people and external references.
  std::string portal_url() const;
};

// Parses an OpenTIP 200 answer; throws ResponseFormatError (errors.h) on malformed JSON.
LookupResult parse_lookup_result(const Query& query, std::string_view body);
// The "no data" result for a query.
LookupResult no_data_result(const Query& query);

}  // namespace kfc::opentip
