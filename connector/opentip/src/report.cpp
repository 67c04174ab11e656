#include "kfc/opentip/report.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace kfc::opentip {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

void add(Rows& rows, std::string field, const std::string& value) {
  if (!value.empty()) rows.emplace_back(std::move(field), value);
}

void add(Rows& rows, std::string field, const std::optional<std::uint64_t>& value) {
  if (value) rows.emplace_back(std::move(field), std::to_string(*value));
}

std::string render(const Rows& rows) {
  std::size_t width = 0;
  for (const auto& [field, value] : rows) width = std::max(width, field.size());
  std::string out;
  for (const auto& [field, value] : rows) out += fmt::format("{:<{}}  {}\n", field, width, value);
  return out;
}

}  // namespace

int exit_code_for(const LookupResult& result) {
  if (!result.found || !result.zone) return exit_code::kGreyOrNoData;
  switch (*result.zone) {
    case Zone::Green: return exit_code::kGreen;
    case Zone::Grey: return exit_code::kGreyOrNoData;
    case Zone::Yellow: return exit_code::kYellow;
    case Zone::Orange: return exit_code::kOrange;
    case Zone::Red: return exit_code::kRed;
  }
  return exit_code::kGreyOrNoData;
}

// One row per field OpenTIP sent. The file and network sections look alike on purpose: each is a
// plain list of labels and fields, read top to bottom like the table it prints.
std::string format_table(const LookupResult& result) {
  Rows rows;
  rows.emplace_back("Value", fmt::format("{} ({})", result.query.value, to_string(result.query.kind)));
  rows.emplace_back("Zone", result.found ? (result.zone ? std::string(to_string(*result.zone)) : "-")
                                         : "no data (OpenTIP knows nothing about this value)");
  if (result.file) {
    const FileInfo& f = *result.file;
    add(rows, "Status", f.status);
    add(rows, "Type", f.type);
    add(rows, "Size", f.size);
    add(rows, "MD5", f.md5);
    add(rows, "SHA1", f.sha1);
    add(rows, "SHA256", f.sha256);
    add(rows, "First seen", f.first_seen);
    add(rows, "Last seen", f.last_seen);
    add(rows, "Signer", f.signer);
    add(rows, "Packer", f.packer);
    add(rows, "Hits", f.hits_count);
  }
  if (result.network) {
    const NetworkInfo& n = *result.network;
    add(rows, "Status", n.status);
    add(rows, "Country", n.country_code);
    add(rows, "Host", n.host);
    add(rows, "First seen", n.first_seen);
    add(rows, "Hits", n.hits_count);
    add(rows, "Files", n.files_count);
    add(rows, "URLs", n.urls_count);
    add(rows, "IPv4 addresses", n.ipv4_count);
  }
  for (const auto& category : result.categories) {
    auto with_zone = std::ranges::find_if(result.categories_with_zone, [&](const auto& c) { return c.name == category; });
    std::string zone = with_zone != result.categories_with_zone.end() && with_zone->zone
                           ? fmt::format(" ({})", to_string(*with_zone->zone))
                           : "";
    rows.emplace_back("Category", category + zone);
  }
  if (result.whois) {
    const Whois& w = *result.whois;
    for (const auto& asn : w.asns) rows.emplace_back("ASN", asn);
    add(rows, "Network", w.net_name);
    add(rows, "Range", w.net_range);
    add(rows, "Registrar", w.registrar);
    add(rows, "Registrant", w.registrant_organization);
    add(rows, "Registered", w.created);
    add(rows, "Expires", w.expires);
  }
  if (result.found) rows.emplace_back("OpenTIP page", result.portal_url());
  if (result.from_cache) rows.emplace_back("Source", "cache (opentip.cache_ttl)");
  std::string out = render(rows);
  if (!result.detections.empty()) {
    out += fmt::format("\nDetections ({}):\n", result.detections.size());
    for (const auto& d : result.detections) {
      out += fmt::format("  {:<22} {:<40} {:<12} {}\n", d.last_detect_date, d.name, d.method,
                         d.zone ? to_string(*d.zone) : "");
    }
  }
  return out;
}

}  // namespace kfc::opentip
