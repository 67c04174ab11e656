#include "kfc/opentip/result.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "kfc/http/transport.h"
#include "kfc/json/untrusted.h"
#include "kfc/opentip/errors.h"

namespace kfc::opentip {
namespace {

using rapidjson::Value;

// The zones as OpenTIP spells them: to_string writes these names, parse_zone reads them in any case.
struct ZoneName {
  Zone zone;
  std::string_view name;
};
constexpr ZoneName kZoneNames[] = {
    {Zone::Red, "Red"}, {Zone::Orange, "Orange"}, {Zone::Yellow, "Yellow"}, {Zone::Grey, "Grey"}, {Zone::Green, "Green"},
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::ranges::equal(a, b, [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

const Value* member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

std::string text(const Value& object, const char* name) {
  const Value* value = member(object, name);
  if (value == nullptr) return {};
  if (value->IsString()) return {value->GetString(), value->GetStringLength()};
  if (value->IsInt64()) return std::to_string(value->GetInt64());
  if (value->IsUint64()) return std::to_string(value->GetUint64());
  return {};
}

std::optional<std::uint64_t> count(const Value& object, const char* name) {
  const Value* value = member(object, name);
  if (value == nullptr) return std::nullopt;
  if (value->IsUint64()) return value->GetUint64();
  // A count sent as a float ("1.0e3"); one beyond uint64 would be undefined to convert: ignored.
  if (value->IsDouble() && value->GetDouble() >= 0 && value->GetDouble() < 1.8e19) {
    return static_cast<std::uint64_t>(value->GetDouble());
  }
  return std::nullopt;
}

std::vector<std::string> strings(const Value& object, const char* name) {
  std::vector<std::string> out;
  const Value* value = member(object, name);
  if (value == nullptr) return out;
  if (value->IsString()) {
    out.emplace_back(value->GetString(), value->GetStringLength());
  } else if (value->IsArray()) {
    for (const auto& item : value->GetArray()) {
      if (item.IsString()) out.emplace_back(item.GetString(), item.GetStringLength());
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

void read_categories(const Value& general, LookupResult& result) {
  result.categories = strings(general, "Categories");
  if (const Value* with_zone = member(general, "CategoriesWithZone"); with_zone && with_zone->IsArray()) {
    for (const auto& item : with_zone->GetArray()) {
      std::string name = text(item, "Name");
      if (name.empty()) continue;
      result.categories_with_zone.push_back({name, parse_zone(text(item, "Zone"))});
      if (std::ranges::find(result.categories, name) == result.categories.end()) result.categories.push_back(name);
    }
  }
}

// FileGeneralInfo and the network *GeneralInfo objects are read the same way on purpose: one line
// per field, OpenTIP's name beside ours.
FileInfo read_file_info(const Value& info) {
  return FileInfo{
      .status = text(info, "FileStatus"),
      .md5 = text(info, "Md5"),
      .sha1 = text(info, "Sha1"),
      .sha256 = text(info, "Sha256"),
      .first_seen = text(info, "FirstSeen"),
      .last_seen = text(info, "LastSeen"),
      .signer = text(info, "Signer"),
      .packer = text(info, "Packer"),
      .type = text(info, "Type"),
      .size = count(info, "Size"),
      .hits_count = count(info, "HitsCount"),
  };
}

std::vector<Detection> read_detections(const Value& root) {
  std::vector<Detection> out;
  const Value* list = member(root, "DetectionsInfo");
  if (list == nullptr || !list->IsArray()) return out;
  for (const auto& item : list->GetArray()) {
    out.push_back(Detection{
        .last_detect_date = text(item, "LastDetectDate"),
        .description_url = text(item, "DescriptionUrl"),
        .zone = parse_zone(text(item, "Zone")),
        .name = text(item, "DetectionName"),
        .method = text(item, "DetectionMethod"),
    });
  }
  return out;
}

NetworkInfo read_network_info(const Value& info) {
  return NetworkInfo{
      .status = text(info, "Status"),
      .country_code = text(info, "CountryCode"),
      .first_seen = text(info, "FirstSeen"),
      .ip = text(info, "Ip"),
      .domain = text(info, "Domain"),
      .url = text(info, "Url"),
      .host = text(info, "Host"),
      .hits_count = count(info, "HitsCount"),
      .files_count = count(info, "FilesCount"),
      .urls_count = count(info, "UrlsCount"),
      .ipv4_count = count(info, "Ipv4Count"),
  };
}

// IpWhoIs{Asn[{Number, Description[]}], Net{StartIp, EndIp, Name, Description}}.
Whois read_ip_whois(const Value& whois) {
  Whois out;
  if (const Value* asns = member(whois, "Asn"); asns && asns->IsArray()) {
    for (const auto& asn : asns->GetArray()) {
      std::string number = text(asn, "Number");
      std::string description = joined(strings(asn, "Description"), " ");
      std::string line = number.empty() ? description : "AS" + number;
      if (!number.empty() && !description.empty()) line += " " + description;
      if (!line.empty()) out.asns.push_back(line);
    }
  }
  if (const Value* net = member(whois, "Net")) {
    out.net_name = text(*net, "Name");
    std::string start = text(*net, "StartIp");
    std::string end = text(*net, "EndIp");
    if (!start.empty() || !end.empty()) out.net_range = start + " - " + end;
    out.net_description = joined(strings(*net, "Description"), " ");
    out.created = text(*net, "Created");
    out.updated = text(*net, "Changed");
  }
  return out;
}

// DomainWhoIsInfo / UrlDomainWhoIs{DomainName, Created, Updated, Expires, NameServers[], Registrar{Info},
// RegistrationOrganization, Contacts[{ContactType, Organization}]}.
Whois read_domain_whois(const Value& whois) {
  Whois out;
  out.created = text(whois, "Created");
  out.updated = text(whois, "Updated");
  out.expires = text(whois, "Expires");
  out.name_servers = strings(whois, "NameServers");
  if (const Value* registrar = member(whois, "Registrar")) {
    out.registrar = registrar->IsString() ? text(whois, "Registrar") : text(*registrar, "Info");
  }
  out.registrant_organization = text(whois, "RegistrationOrganization");
  if (const Value* contacts = member(whois, "Contacts"); contacts && contacts->IsArray()) {
    for (const auto& contact : contacts->GetArray()) {
      if (iequals(text(contact, "ContactType"), "registrant") && out.registrant_organization.empty()) {
        out.registrant_organization = text(contact, "Organization");
      }
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(Zone zone) {
  const auto* found = std::ranges::find(kZoneNames, zone, &ZoneName::zone);
  return found == std::ranges::end(kZoneNames) ? "Grey" : found->name;
}

std::optional<Zone> parse_zone(std::string_view text) {
  if (iequals(text, "gray")) return Zone::Grey;
  for (const auto& [zone, name] : kZoneNames) {
    if (iequals(text, name)) return zone;
  }
  return std::nullopt;
}

std::string LookupResult::portal_url() const {
  return "https://opentip.kaspersky.com/" + http::url_encode(query.value) + "/";
}

LookupResult no_data_result(const Query& query) {
  LookupResult result;
  result.query = query;
  return result;
}

LookupResult parse_lookup_result(const Query& query, std::string_view body) {
  rapidjson::Document document;
  const auto parsed = json::parse(document, body);
  if (!parsed || !document.IsObject()) {
    throw ResponseFormatError("OpenTIP answered the " + std::string(to_string(query.endpoint())) +
                              " lookup with something that is not a JSON object" +
                              (parsed ? std::string() : " (" + parsed.error().message + ")") +
                              "; check opentip.url points at the OpenTIP API (https://opentip.kaspersky.com/api/v1/)");
  }
  LookupResult result = no_data_result(query);
  result.found = true;
  result.raw_json = std::string(body);
  result.zone = parse_zone(text(document, "Zone"));

  if (const Value* file = member(document, "FileGeneralInfo")) {
    result.file = read_file_info(*file);
    read_categories(*file, result);
  }
  result.detections = read_detections(document);
  for (const char* section : {"IpGeneralInfo", "DomainGeneralInfo", "UrlGeneralInfo"}) {
    if (const Value* general = member(document, section)) {
      result.network = read_network_info(*general);
      read_categories(*general, result);
    }
  }
  if (const Value* whois = member(document, "IpWhoIs")) result.whois = read_ip_whois(*whois);
  for (const char* section : {"DomainWhoIsInfo", "UrlDomainWhoIs"}) {
    if (const Value* whois = member(document, section)) result.whois = read_domain_whois(*whois);
  }
  return result;
}

}  // namespace kfc::opentip
