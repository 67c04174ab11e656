#include "kfc/opentip/enrichment.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "kfc/config/time_format.h"
#include "kfc/config/zone_scores.h"
#include "kfc/json/untrusted.h"
#include "kfc/opentip/errors.h"
#include "kfc/opentip/query.h"
#include "kfc/stix/ids.h"

namespace kfc::opentip {
namespace {

using rapidjson::Document;
using rapidjson::Value;
using kfc::stix::uuid5;

constexpr std::string_view kOctiScoExtension = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba";
// The OpenCTI extension of SDOs and SCOs that carries granted_refs (organisation sharing): the same id.
constexpr std::string_view kOctiSdoExtension = kOctiScoExtension;

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string trim(std::string_view text) {
  auto begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  auto end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(trim(text.substr(start, end - start)));
    start = end + 1;
  }
  return parts;
}

// A JSON string literal (escaped), as the canonical form pycti hashes for ids.
std::string json_string(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return buffer.GetString();
}

// Whole seconds written with milliseconds, 2026-12-03T10:00:00.000Z, as the reference writes them.
std::string stix_time(SystemTime t) {
  return format_time(SystemTime(std::chrono::floor<std::chrono::seconds>(t)), kStixFormat);
}

std::string string_member(const Value& object, const char* name) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

const Value* object_member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
}

void set_member(Value& object, std::string_view name, Value value, Document::AllocatorType& allocator) {
  auto it = object.FindMember(Value(name.data(), static_cast<rapidjson::SizeType>(name.size())));
  if (it != object.MemberEnd()) {
    it->value = std::move(value);
  } else {
    object.AddMember(Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), allocator), std::move(value),
                     allocator);
  }
}

Value string_value(std::string_view text, Document::AllocatorType& allocator) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

// Adds the strings to the array member `name` (created if missing), skipping ones already there.
void merge_strings(Value& object, const char* name, const std::vector<std::string>& additions,
                   Document::AllocatorType& allocator) {
  if (additions.empty()) return;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsArray()) {
    set_member(object, name, Value(rapidjson::kArrayType), allocator);
    it = object.FindMember(name);
  }
  Value& array = it->value;
  for (const auto& addition : additions) {
    bool present = std::any_of(array.Begin(), array.End(), [&](const Value& v) {
      return v.IsString() && std::string_view(v.GetString(), v.GetStringLength()) == addition;
    });
    if (!present) array.PushBack(string_value(addition, allocator), allocator);
  }
}

std::optional<Tlp> tlp_of_marking(const Value& marking) {
  static const std::map<std::string, Tlp, std::less<>> kStandard = {
      {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::Clear},
      {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::Green},
      {"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::Amber},
      {"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::Red},
  };
  if (auto it = kStandard.find(string_member(marking, "id")); it != kStandard.end()) return it->second;
  if (auto tlp = parse_tlp(string_member(marking, "name")); tlp) return tlp;
  if (const Value* definition = object_member(marking, "definition")) {
    if (auto tlp = parse_tlp(string_member(*definition, "tlp")); tlp) return tlp;
  }
  if (lower(string_member(marking, "definition_type")) == "tlp") {
    if (auto tlp = parse_tlp(string_member(marking, "x_opencti_definition")); tlp) return tlp;
  }
  return std::nullopt;
}

std::string author_id(std::string_view name) {
  return "identity--" + uuid5("{\"identity_class\":\"organization\",\"name\":" + json_string(lower(trim(name))) + "}");
}

Value author_identity(const EnrichmentOptions& options, SystemTime now, Document::AllocatorType& allocator) {
  Value identity(rapidjson::kObjectType);
  identity.AddMember("type", "identity", allocator);
  identity.AddMember("spec_version", "2.1", allocator);
  identity.AddMember("id", string_value(author_id(options.author_name), allocator), allocator);
  identity.AddMember("name", string_value(options.author_name, allocator), allocator);
  identity.AddMember("identity_class", "organization", allocator);
  identity.AddMember("description", "Kaspersky Threat Intelligence Portal (https://opentip.kaspersky.com)", allocator);
  std::string created = stix_time(now);
  identity.AddMember("created", string_value(created, allocator), allocator);
  identity.AddMember("modified", string_value(created, allocator), allocator);
  return identity;
}

Value external_reference(const LookupResult& result, Document::AllocatorType& allocator) {
  Value reference(rapidjson::kObjectType);
  reference.AddMember("source_name", "Kaspersky OpenTIP", allocator);
  reference.AddMember("url", string_value(result.portal_url(), allocator), allocator);
  std::string description = "Kaspersky Threat Intelligence Portal lookup";
  if (result.zone) description += ": zone " + std::string(to_string(*result.zone));
  reference.AddMember("description", string_value(description, allocator), allocator);
  return reference;
}

void add_external_reference(Value& entity, const LookupResult& result, Document::AllocatorType& allocator) {
  auto it = entity.FindMember("external_references");
  if (it == entity.MemberEnd() || !it->value.IsArray()) {
    set_member(entity, "external_references", Value(rapidjson::kArrayType), allocator);
    it = entity.FindMember("external_references");
  }
  std::string url = result.portal_url();
  for (auto& existing : it->value.GetArray()) {
    if (string_member(existing, "url") == url) {
      existing = external_reference(result, allocator);  // refresh the zone in the description
      return;
    }
  }
  it->value.PushBack(external_reference(result, allocator), allocator);
}

void set_score(Value& entity, int score, Document::AllocatorType& allocator) {
  set_member(entity, "x_opencti_score", Value(score), allocator);
  auto extensions = entity.FindMember("extensions");
  if (extensions == entity.MemberEnd() || !extensions->value.IsObject()) return;
  auto octi = extensions->value.FindMember(Value(kOctiScoExtension.data(), kOctiScoExtension.size()));
  if (octi != extensions->value.MemberEnd() && octi->value.IsObject()) {
    set_member(octi->value, "score", Value(score), allocator);
  }
}

void fill_file(Value& entity, const FileInfo& file, Document::AllocatorType& allocator) {
  auto hashes = entity.FindMember("hashes");
  if (hashes == entity.MemberEnd() || !hashes->value.IsObject()) {
    set_member(entity, "hashes", Value(rapidjson::kObjectType), allocator);
    hashes = entity.FindMember("hashes");
  }
  for (auto [algorithm, value] : {std::pair{"MD5", &file.md5}, {"SHA-1", &file.sha1}, {"SHA-256", &file.sha256}}) {
    if (value->empty() || string_member(hashes->value, algorithm) != "") continue;
    set_member(hashes->value, algorithm, string_value(lower(*value), allocator), allocator);
  }
  if (file.size && entity.FindMember("size") == entity.MemberEnd()) {
    set_member(entity, "size", Value(static_cast<std::uint64_t>(*file.size)), allocator);
  }
}

std::vector<std::string> labels_for(const LookupResult& result) {
  std::vector<std::string> labels;
  if (result.zone) labels.push_back(zone_label(*result.zone));
  for (const auto& category : result.categories) {
    std::string label = category_label(category);
    if (!label.empty() && std::ranges::find(labels, label) == labels.end()) labels.push_back(label);
  }
  return labels;
}

Value note_for(const Value& entity, const LookupResult& result, const std::string& content,
               const EnrichmentOptions& options, SystemTime now, Document::AllocatorType& allocator) {
  std::string entity_id = string_member(entity, "id");
  std::string abstract = "Kaspersky OpenTIP: " + result.query.value;
  Value note(rapidjson::kObjectType);
  note.AddMember("type", "note", allocator);
  note.AddMember("spec_version", "2.1", allocator);
  // Same entity and same findings give the same note: re-enrichment updates rather than piles up.
  note.AddMember("id", string_value("note--" + uuid5("{\"abstract\":" + json_string(abstract) + ",\"content\":" +
                                                    json_string(content) + ",\"object_refs\":" +
                                                    json_string(entity_id) + "}"),
                                    allocator),
                 allocator);
  std::string created = stix_time(now);
  note.AddMember("created", string_value(created, allocator), allocator);
  note.AddMember("modified", string_value(created, allocator), allocator);
  note.AddMember("abstract", string_value(abstract, allocator), allocator);
  note.AddMember("content", string_value(content, allocator), allocator);
  note.AddMember("created_by_ref", string_value(author_id(options.author_name), allocator), allocator);
  Value refs(rapidjson::kArrayType);
  refs.PushBack(string_value(entity_id, allocator), allocator);
  note.AddMember("object_refs", refs, allocator);
  if (auto markings = entity.FindMember("object_marking_refs");
      markings != entity.MemberEnd() && markings->value.IsArray()) {
    note.AddMember("object_marking_refs", Value(markings->value, allocator), allocator);
  }
  Value references(rapidjson::kArrayType);
  references.PushBack(external_reference(result, allocator), allocator);
  note.AddMember("external_references", references, allocator);
  return note;
}

std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) out += (c == '|') ? '/' : (c == '\n' ? ' ' : c);
  return out;
}

}  // namespace

// ---- zone scores and TLP ----

ZoneScores::ZoneScores() : scores_{100, 80, 60, 20, 0} {}

ZoneScores ZoneScores::parse(std::string_view spec) {
  const ZoneScoreSpec parsed = parse_zone_scores(spec);
  if (!parsed.bad_entries.empty()) {
    throw std::invalid_argument("config error: opentip.zone_scores entry '" + parsed.bad_entries.front() +
                                "' is not <zone>:<score 0-100> — expected e.g. "
                                "'red:100,orange:80,yellow:60,grey:20,green:0'");
  }
  if (const auto missing = parsed.first_missing_zone()) {
    throw std::invalid_argument("config error: opentip.zone_scores has no score for zone " + std::string(*missing) +
                                " — give all five: red, orange, yellow, grey, green");
  }
  ZoneScores out;
  for (std::size_t i = 0; i < ZoneScoreSpec::kZones.size(); ++i) {
    const auto zone = parse_zone(ZoneScoreSpec::kZones[i]);
    out.scores_[static_cast<std::size_t>(*zone)] = *parsed.scores[i];
  }
  return out;
}

std::optional<Tlp> parse_tlp(std::string_view text) {
  std::string name = upper(trim(text));
  if (name.starts_with("TLP:")) name = name.substr(4);
  if (name == "CLEAR" || name == "WHITE") return Tlp::Clear;
  if (name == "GREEN") return Tlp::Green;
  if (name == "AMBER") return Tlp::Amber;
  if (name == "AMBER+STRICT") return Tlp::AmberStrict;
  if (name == "RED") return Tlp::Red;
  return std::nullopt;
}

std::string_view to_string(Tlp tlp) {
  switch (tlp) {
    case Tlp::Clear: return "TLP:CLEAR";
    case Tlp::Green: return "TLP:GREEN";
    case Tlp::Amber: return "TLP:AMBER";
    case Tlp::AmberStrict: return "TLP:AMBER+STRICT";
    case Tlp::Red: return "TLP:RED";
  }
  return "TLP:RED";
}

EnrichmentOptions enrichment_options(const OpenTipSettings& settings) {
  EnrichmentOptions options;
  options.scores = ZoneScores::parse(settings.zone_scores);
  auto tlp = parse_tlp(settings.max_tlp);
  if (!tlp) {
    throw std::invalid_argument("config error: opentip.max_tlp '" + settings.max_tlp +
                                "' is not a TLP — use TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED");
  }
  options.max_tlp = *tlp;
  options.scope.clear();
  for (const auto& type : split(settings.enrichment_scope, ',')) {
    if (type.empty()) continue;
    static const std::vector<std::string> kSupported{"StixFile", "IPv4-Addr", "IPv6-Addr", "Domain-Name", "Url"};
    auto known = std::ranges::find_if(kSupported, [&](const std::string& s) { return lower(s) == lower(type); });
    if (known == kSupported.end()) {
      throw std::invalid_argument("config error: opentip.enrichment_scope lists '" + type +
                                  "', which OpenTIP cannot look up — use StixFile, IPv4-Addr, IPv6-Addr, Domain-Name, Url");
    }
    options.scope.push_back(*known);
  }
  if (options.scope.empty()) {
    throw std::invalid_argument("config error: opentip.enrichment_scope is empty — list at least one of "
                                "StixFile, IPv4-Addr, IPv6-Addr, Domain-Name, Url");
  }
  return options;
}

// ---- the request ----

EnrichmentRequest parse_enrichment_request(std::string_view body) {
  Document document;
  const auto parsed = json::parse(document, body);
  if (!parsed || !document.IsObject()) {
    throw EnrichmentRefused("enrichment request is not a JSON object" +
                            (parsed ? std::string() : " (" + parsed.error().message + ")") + "; dropped");
  }
  const Value* internal = object_member(document, "internal");
  const Value* event = object_member(document, "event");
  if (internal == nullptr || event == nullptr) {
    throw EnrichmentRefused("enrichment request lacks its 'internal' or 'event' part; dropped");
  }
  EnrichmentRequest request;
  request.work_id = string_member(*internal, "work_id");
  request.applicant_id = string_member(*internal, "applicant_id");
  request.draft_id = string_member(*internal, "draft_id");
  request.entity_id = string_member(*event, "entity_id");
  request.entity_type = string_member(*event, "entity_type");
  request.event_type = string_member(*event, "event_type");
  if (request.entity_id.empty()) throw EnrichmentRefused("Internal enrichment must be based on a specific id");
  request.from_playbook = internal->HasMember("playbook");
  if (request.from_playbook) {
    const Value* bundle = object_member(*event, "bundle");
    auto objects = bundle ? bundle->FindMember("objects") : Value::ConstMemberIterator{};
    if (bundle == nullptr || objects == bundle->MemberEnd() || !objects->value.IsArray()) {
      throw EnrichmentRefused("playbook enrichment request has no event.bundle.objects; dropped");
    }
    request.playbook_objects.CopyFrom(objects->value, request.playbook_objects.GetAllocator());
    const Value* step = object_member(*internal, "playbook");
    auto& playbook = request.playbook;
    playbook.execution_id = step ? string_member(*step, "execution_id") : "";
    playbook.event_id = step ? string_member(*step, "event_id") : "";
    playbook.playbook_id = step ? string_member(*step, "playbook_id") : "";
    playbook.data_instance_id = step ? string_member(*step, "data_instance_id") : "";
    playbook.step_id = step ? string_member(*step, "step_id") : "";
    playbook.previous_step_id = step ? string_member(*step, "previous_step_id") : "";
    if (playbook.step_id.empty()) throw EnrichmentRefused("playbook enrichment request has no internal.playbook.step_id; dropped");
    rapidjson::StringBuffer previous;
    rapidjson::Writer<rapidjson::StringBuffer> writer(previous);
    bundle->Accept(writer);
    playbook.previous_bundle.assign(previous.GetString(), previous.GetSize());
  }
  return request;
}

std::string_view opencti_type_of(std::string_view stix_type) {
  if (stix_type == "file") return "StixFile";
  if (stix_type == "ipv4-addr") return "IPv4-Addr";
  if (stix_type == "ipv6-addr") return "IPv6-Addr";
  if (stix_type == "domain-name") return "Domain-Name";
  if (stix_type == "url") return "Url";
  return "";
}

const Value* find_object(const Value& objects, std::string_view stix_id) {
  if (!objects.IsArray()) return nullptr;
  for (const auto& object : objects.GetArray()) {
    if (string_member(object, "id") == stix_id) return &object;
  }
  return nullptr;
}

std::string lookup_value(const Value& entity) {
  std::string type = string_member(entity, "type");
  if (type == "file") {
    const Value* hashes = object_member(entity, "hashes");
    for (const char* algorithm : {"SHA-256", "SHA-1", "MD5"}) {
      if (hashes && !string_member(*hashes, algorithm).empty()) return string_member(*hashes, algorithm);
    }
    throw EnrichmentRefused("the file has no MD5, SHA-1 or SHA-256 hash: OpenTIP looks files up by hash only");
  }
  if (opencti_type_of(type).empty()) {
    throw EnrichmentRefused("OpenTIP cannot look up a '" + type + "'; it enriches files, IPv4/IPv6 addresses, domain names and URLs");
  }
  std::string value = string_member(entity, "value");
  if (value.empty()) throw EnrichmentRefused("the " + type + " observable has no value to look up");
  return value;
}

std::optional<Tlp> entity_tlp(const Value& objects, const Value& entity) {
  std::optional<Tlp> highest;
  auto refs = entity.FindMember("object_marking_refs");
  if (refs == entity.MemberEnd() || !refs->value.IsArray()) return highest;
  for (const auto& ref : refs->value.GetArray()) {
    if (!ref.IsString()) continue;
    std::string id(ref.GetString(), ref.GetStringLength());
    std::optional<Tlp> tlp;
    if (const Value* marking = find_object(objects, id)) {
      tlp = tlp_of_marking(*marking);
    } else {
      Value bare(rapidjson::kObjectType);
      Document scratch;
      bare.AddMember("id", Value(id.data(), static_cast<rapidjson::SizeType>(id.size()), scratch.GetAllocator()), scratch.GetAllocator());
      tlp = tlp_of_marking(bare);
    }
    if (tlp && (!highest || *tlp > *highest)) highest = tlp;
  }
  return highest;
}

void check_enrichable(const Value& objects, const Value& entity, const EnrichmentOptions& options) {
  std::string type(opencti_type_of(string_member(entity, "type")));
  if (type.empty() || std::ranges::find(options.scope, type) == options.scope.end()) {
    throw EnrichmentRefused("Failed to process observable, " +
                            (type.empty() ? string_member(entity, "type") : type) +
                            " is not in opentip.enrichment_scope");
  }
  if (auto tlp = entity_tlp(objects, entity); tlp && *tlp > options.max_tlp) {
    throw EnrichmentRefused("Do not send any data, TLP of the observable (" + std::string(to_string(*tlp)) +
                            ") is greater than MAX TLP (opentip.max_tlp " + std::string(to_string(options.max_tlp)) + ")");
  }
}

// ---- the bundle ----

std::vector<std::string> granted_refs(const Value& entity) {
  const Value* refs = nullptr;
  if (const Value* extensions = object_member(entity, "extensions")) {
    if (const Value* octi = object_member(*extensions, std::string(kOctiSdoExtension).c_str())) {
      auto found = octi->FindMember("granted_refs");
      if (found != octi->MemberEnd() && found->value.IsArray()) refs = &found->value;
    }
  }
  if (refs == nullptr && entity.IsObject()) {
    auto found = entity.FindMember("x_opencti_granted_refs");
    if (found != entity.MemberEnd() && found->value.IsArray()) refs = &found->value;
  }
  std::vector<std::string> out;
  if (refs == nullptr) return out;
  for (const auto& ref : refs->GetArray()) {
    if (ref.IsString()) out.emplace_back(ref.GetString(), ref.GetStringLength());
  }
  return out;
}

void share_with(stix::Bundle& bundle, const std::vector<std::string>& organizations) {
  if (organizations.empty()) return;
  auto& allocator = bundle.objects.GetAllocator();
  for (auto& object : bundle.objects.GetArray()) {
    if (!object.IsObject()) continue;
    Value* target = &object;
    const char* member = "x_opencti_granted_refs";
    auto extensions = object.FindMember("extensions");
    if (extensions != object.MemberEnd() && extensions->value.IsObject()) {
      auto octi = extensions->value.FindMember(Value(kOctiSdoExtension.data(), static_cast<rapidjson::SizeType>(kOctiSdoExtension.size())));
      if (octi != extensions->value.MemberEnd() && octi->value.IsObject()) {
        target = &octi->value;
        member = "granted_refs";
      }
    }
    merge_strings(*target, member, organizations, allocator);
  }
}

std::string zone_label(Zone zone) { return "opentip:" + lower(to_string(zone)); }

std::string category_label(std::string_view category) {
  std::string name(category);
  if (name.starts_with("CATEGORY_")) name = name.substr(9);
  std::string out = lower(name);
  std::ranges::replace(out, '_', '-');
  return out;
}

std::string note_content(const LookupResult& result) {
  if (!result.found) return {};
  std::string out = "**Kaspersky OpenTIP** — " + std::string(to_string(result.query.kind)) + " `" + result.query.value + "`";
  if (result.zone) out += ", zone **" + std::string(to_string(*result.zone)) + "**";
  out += "\n\n";
  if (result.file) {
    const FileInfo& f = *result.file;
    if (!f.status.empty()) out += "- Status: " + f.status + "\n";
    if (!f.type.empty()) out += "- Type: " + f.type + "\n";
    if (f.size) out += "- Size: " + std::to_string(*f.size) + " bytes\n";
    if (!f.first_seen.empty()) out += "- First seen: " + f.first_seen + "\n";
    if (!f.last_seen.empty()) out += "- Last seen: " + f.last_seen + "\n";
    if (!f.signer.empty()) out += "- Signer: " + f.signer + "\n";
    if (!f.packer.empty()) out += "- Packer: " + f.packer + "\n";
    if (f.hits_count) out += "- Hits: " + std::to_string(*f.hits_count) + "\n";
  }
  if (result.network) {
    const NetworkInfo& n = *result.network;
    if (!n.status.empty()) out += "- Status: " + n.status + "\n";
    if (!n.country_code.empty()) out += "- Country: " + n.country_code + "\n";
    if (!n.first_seen.empty()) out += "- First seen: " + n.first_seen + "\n";
    if (n.hits_count) out += "- Hits: " + std::to_string(*n.hits_count) + "\n";
    if (n.files_count) out += "- Related files: " + std::to_string(*n.files_count) + "\n";
    if (n.urls_count) out += "- Related URLs: " + std::to_string(*n.urls_count) + "\n";
    if (n.ipv4_count) out += "- Related IPv4 addresses: " + std::to_string(*n.ipv4_count) + "\n";
  }
  if (!result.categories_with_zone.empty() || !result.categories.empty()) {
    out += "- Categories: ";
    bool first = true;
    for (const auto& category : result.categories) {
      out += (first ? "" : ", ") + category;
      auto with_zone = std::ranges::find_if(result.categories_with_zone, [&](const auto& c) { return c.name == category; });
      if (with_zone != result.categories_with_zone.end() && with_zone->zone) {
        out += " (" + std::string(to_string(*with_zone->zone)) + ")";
      }
      first = false;
    }
    out += "\n";
  }
  if (result.whois) {
    const Whois& w = *result.whois;
    for (const auto& asn : w.asns) out += "- ASN: " + asn + "\n";
    if (!w.net_name.empty()) out += "- Network: " + w.net_name + (w.net_range.empty() ? "" : " (" + w.net_range + ")") + "\n";
    if (!w.registrar.empty()) out += "- Registrar: " + w.registrar + "\n";
    if (!w.registrant_organization.empty()) out += "- Registrant: " + w.registrant_organization + "\n";
    if (!w.created.empty()) out += "- Registered: " + w.created + "\n";
    if (!w.expires.empty()) out += "- Expires: " + w.expires + "\n";
  }
  if (!result.detections.empty()) {
    out += "\n| Detection date | Detection name | Method | Zone |\n|---|---|---|---|\n";
    for (const auto& d : result.detections) {
      std::string name = d.description_url.empty() ? cell(d.name) : "[" + cell(d.name) + "](" + cell(d.description_url) + ")";
      out += "| " + cell(d.last_detect_date) + " | " + name + " | " + cell(d.method) + " | " +
             (d.zone ? std::string(to_string(*d.zone)) : "") + " |\n";
    }
  }
  return out;
}

stix::Bundle build_enrichment_bundle(const Value& objects, std::string_view entity_stix_id, const LookupResult& result,
                                     const EnrichmentOptions& options, SystemTime now) {
  if (find_object(objects, entity_stix_id) == nullptr) {
    throw EnrichmentRefused("the entity " + std::string(entity_stix_id) + " is not among the objects to enrich");
  }
  stix::Bundle bundle;
  bundle.id = "bundle--" + uuid5(std::string(entity_stix_id) + "|" + stix_time(now));
  auto& allocator = bundle.objects.GetAllocator();
  bundle.objects.CopyFrom(objects, allocator);

  Value* entity = nullptr;
  for (auto& object : bundle.objects.GetArray()) {
    if (string_member(object, "id") == entity_stix_id) entity = &object;
  }
  if (!result.found) return bundle;  // nothing learnt: the entity goes back unchanged

  if (result.zone) set_score(*entity, options.scores.score(*result.zone), allocator);
  std::vector<std::string> labels = labels_for(result);
  merge_strings(*entity, "labels", labels, allocator);
  if (entity->HasMember("x_opencti_labels")) merge_strings(*entity, "x_opencti_labels", labels, allocator);
  if (result.file && string_member(*entity, "type") == "file") fill_file(*entity, *result.file, allocator);
  add_external_reference(*entity, result, allocator);

  // Built before anything is appended: appending may move the array and `entity` with it.
  std::optional<Value> note;
  if (std::string content = note_content(result); !content.empty()) {
    note = note_for(*entity, result, content, options, now, allocator);
  }
  if (find_object(bundle.objects, author_id(options.author_name)) == nullptr) {
    bundle.objects.PushBack(author_identity(options, now, allocator), allocator);
  }
  if (note) bundle.objects.PushBack(*note, allocator);
  return bundle;
}

}  // namespace kfc::opentip

namespace kfc::opentip {

FailureHandling handle_failure(std::exception_ptr failure, SystemTime now) {
  constexpr auto kUnavailablePause = std::chrono::minutes(5);
  constexpr auto kTokenPause = std::chrono::hours(1);
  try {
    std::rethrow_exception(failure);
  } catch (const EnrichmentInterrupted& error) {
    return {Disposition::RequeueLater, std::string(error.what()) + " — the request is kept on the queue", now};
  } catch (const QuotaExceededError& error) {
    return {Disposition::RequeueLater,
            std::string(error.what()) + " — the request is kept on the queue and retried then", error.until()};
  } catch (const ServiceUnavailableError& error) {
    return {Disposition::RequeueLater, std::string(error.what()) + " — the request is kept on the queue and retried",
            now + kUnavailablePause, /*spends_attempt=*/true};
  } catch (const TokenError& error) {
    return {Disposition::RequeueLater,
            std::string(error.what()) + " — requests are kept on the queue until opentip.api_key works again",
            now + kTokenPause};
  } catch (const std::exception& error) {
    return {Disposition::Ack, error.what(), std::nullopt};
  } catch (...) {
    return {Disposition::Ack, "unexpected failure while enriching", std::nullopt};
  }
}

}  // namespace kfc::opentip
