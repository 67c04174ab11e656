#include "kfc/config/catalogue.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <spdlog/fmt/fmt.h>

#include <sstream>

#include "kfc/config/loader.h"
#include "kfc/config/values.h"
#include "kfc/config/version.h"

namespace kfc::catalogue {
namespace {

using rapidjson::Document;
using rapidjson::Value;
using Allocator = Document::AllocatorType;

// What differs between the two connector types this one binary runs as.
struct ConnectorKind {
  KeyUse use;
  std::string folder;  // OpenCTI's folder for the type, then the slug
  std::string slug;
  std::string type;    // connector.type
  std::string title;
  std::string short_description;
  std::string description;
  std::vector<std::string> use_cases;
  std::vector<std::string> solution_categories;
  std::string license_type;
  bool playbook_supported = false;
};

const std::vector<ConnectorKind>& kinds() {
  static const std::vector<ConnectorKind> all{
      {KeyUse::Feed, "external-import", "kaspersky-feeds", "EXTERNAL_IMPORT", "Kaspersky Threat Data Feeds",
       "Imports Kaspersky Threat Data Feeds (indicators, observables and their context) from Kaspersky's TAXII 2.1 "
       "server into OpenCTI, continuously and without losing an indicator.",
       "Kaspersky Threat Data Feeds (the free Demo feeds or the commercial feeds) are published on a TAXII 2.1 "
       "server. This connector reads the selected collections page by page, maps each feed object the way "
       "Kaspersky's own Python connector does (same objects, same ids, same labels), and delivers the bundles to "
       "OpenCTI over RabbitMQ with publisher confirms. A collection's cursor only moves past what OpenCTI's broker "
       "confirmed, so a crash or restart re-reads instead of losing data. Tokens are tracked for expiry and can be "
       "rotated without a restart.",
       {"Adversary & Campaign Insights"}, {"Threat Intelligence Feed"}, "Commercial", false},
      {KeyUse::Enrichment, "internal-enrichment", "kaspersky-opentip", "INTERNAL_ENRICHMENT",
       "Kaspersky Threat Intelligence Portal (OpenTIP)",
       "Enriches files, IP addresses, domains and URLs with Kaspersky OpenTIP verdicts: zone, score, categories, "
       "detections and WHOIS essentials.",
       "The enrichment connector looks observables up in the Kaspersky Threat Intelligence Portal API (OpenTIP) "
       "and writes back what Kaspersky knows: a score from the verdict zone, zone and category labels, missing "
       "file hashes and size, a note with detections or network details, and a link to the portal page. It "
       "respects the portal's request rate and quota, keeps requests on the queue while the quota is exhausted, "
       "and works from the enrichment menu, automatically, or as a playbook step.",
       {"Infrastructure & Attack Surface Visibility"}, {"Enrichment & Reputation"}, "Free", true},
  };
  return all;
}

bool applies(const KeyDoc& doc, const ConnectorKind& kind) { return doc.use == KeyUse::Both || doc.use == kind.use; }
bool required(const KeyDoc& doc, const ConnectorKind& kind) {
  return doc.required == KeyUse::Both || doc.required == kind.use;
}

Value text(const std::string& value, Allocator& allocator) { return Value(value.c_str(), allocator); }

Value string_array(const std::vector<std::string>& items, Allocator& allocator) {
  Value array(rapidjson::kArrayType);
  for (const auto& item : items) array.PushBack(text(item, allocator), allocator);
  return array;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) items.push_back(item);
  return items;
}

// A key of two types ("boolean|string": opencti.ssl_verify takes true/false or a CA bundle path).
std::vector<std::string> types_of(const KeyDoc& doc) {
  std::vector<std::string> types;
  std::stringstream stream(doc.type);
  for (std::string type; std::getline(stream, type, '|');) types.push_back(type);
  return types;
}

// The default as a JSON value of the key's type (the table shows every value as text).
Value default_value(const KeyDoc& doc, Allocator& allocator) {
  const std::string& shown = doc.default_value;
  const bool boolean_text = shown == "true" || shown == "false";
  if (doc.type == "boolean" || (doc.type.starts_with("boolean|") && boolean_text)) return Value(shown == "true");
  if (doc.type == "integer") return Value(static_cast<std::int64_t>(parse_integer(shown).value_or(0)));
  if (doc.type == "number") return Value(parse_number(shown).value_or(0));
  if (doc.type == "array") return string_array(split_list(shown), allocator);
  return text(shown, allocator);
}

Value property(const KeyDoc& doc, const ConnectorKind& kind, Allocator& allocator) {
  Value out(rapidjson::kObjectType);
  out.AddMember("description", text(doc.description, allocator), allocator);
  const auto types = types_of(doc);
  out.AddMember("type", types.size() > 1 ? string_array(types, allocator) : text(doc.type, allocator), allocator);
  if (doc.key == "connector.type") {
    out.AddMember("const", text(kind.type, allocator), allocator);
    out.AddMember("default", text(kind.type, allocator), allocator);
    return out;
  }
  if (doc.type == "array") {
    Value items(rapidjson::kObjectType);
    items.AddMember("type", "string", allocator);
    out.AddMember("items", items, allocator);
  }
  if (doc.secret) {
    out.AddMember("format", "password", allocator);
    out.AddMember("writeOnly", true, allocator);
  } else if (!doc.format.empty()) {
    out.AddMember("format", text(doc.format, allocator), allocator);
  }
  if (!doc.choices.empty()) out.AddMember("enum", string_array(doc.choices, allocator), allocator);
  if (doc.minimum) out.AddMember("minimum", static_cast<std::int64_t>(*doc.minimum), allocator);
  if (doc.maximum) out.AddMember("maximum", static_cast<std::int64_t>(*doc.maximum), allocator);
  if (!doc.default_value.empty()) out.AddMember("default", default_value(doc, allocator), allocator);
  return out;
}

std::string pretty(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

std::string schema(const ConnectorKind& kind, const std::vector<KeyDoc>& docs) {
  Document out(rapidjson::kObjectType);
  auto& allocator = out.GetAllocator();
  out.AddMember("$schema", "https://json-schema.org/draft/2020-12/schema", allocator);
  out.AddMember("$id", text("urn:kaspersky-feeds-connector:" + kind.slug + ":config", allocator), allocator);
  out.AddMember("type", "object", allocator);
  Value properties(rapidjson::kObjectType);
  Value required_keys(rapidjson::kArrayType);
  // A required token may come from its file instead: "this one or that one" for each of them.
  Value alternatives(rapidjson::kArrayType);
  for (const auto& doc : docs) {
    if (!applies(doc, kind)) continue;
    properties.AddMember(text(doc.env_name, allocator), property(doc, kind, allocator), allocator);
    if (!required(doc, kind)) continue;
    if (doc.alternative.empty()) {
      required_keys.PushBack(text(doc.env_name, allocator), allocator);
      continue;
    }
    Value either(rapidjson::kArrayType);
    for (const std::string& name : {doc.env_name, env_name_for(doc.alternative)}) {
      Value one(rapidjson::kObjectType);
      one.AddMember("required", string_array({name}, allocator), allocator);
      either.PushBack(one, allocator);
    }
    Value any_of(rapidjson::kObjectType);
    any_of.AddMember("anyOf", either, allocator);
    alternatives.PushBack(any_of, allocator);
  }
  out.AddMember("properties", properties, allocator);
  out.AddMember("required", required_keys, allocator);
  if (!alternatives.Empty()) out.AddMember("allOf", alternatives, allocator);
  out.AddMember("additionalProperties", true, allocator);
  return pretty(out);
}

std::string cell(std::string value) {
  std::string out;
  for (char c : value) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string possible_values(const KeyDoc& doc) {
  if (!doc.choices.empty()) {
    std::string out;
    for (const auto& choice : doc.choices) out += (out.empty() ? "`" : " `") + choice + "`";
    return out;
  }
  const std::string format = doc.secret ? "password" : doc.format;
  if (!format.empty()) {
    return fmt::format("Format: [`{}`](https://json-schema.org/understanding-json-schema/reference/string#built-in-formats)",
                       format);
  }
  if (doc.minimum && doc.maximum) return fmt::format("`{} <= x <= {}`", *doc.minimum, *doc.maximum);
  if (doc.type == "array") return "string";
  return fmt::format("{}", fmt::join(types_of(doc), " or "));
}

std::string shown_default(const KeyDoc& doc) {
  if (doc.default_value.empty()) return "";
  Document scratch;
  return "`" + cell([&] {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    default_value(doc, scratch.GetAllocator()).Accept(writer);
    return std::string(buffer.GetString(), buffer.GetSize());
  }()) + "`";
}

std::string config_doc(const ConnectorKind& kind, const std::vector<KeyDoc>& docs) {
  std::string out = "# Connector Configurations\n\n";
  out += fmt::format(
      "Every setting of the {} connector, by environment variable (the same key in config.yml is "
      "`section.key` in lower case: `KASPERSKY_API_ROOT` is `kaspersky.api_root`). An environment value wins over "
      "config.yml, which wins over the default. Generated from the connector's key table by "
      "`kaspersky-feeds-connector metadata --write deploy/opencti`; do not edit by hand.\n\n",
      kind.title);
  out += "### Type: `object`\n\n";
  out += "| Property | Type | Required | Possible values | Default | Description |\n";
  out += "| -------- | ---- | -------- | --------------- | ------- | ----------- |\n";
  auto row = [&](const KeyDoc& doc) {
    std::string mark;
    if (required(doc, kind)) mark = doc.alternative.empty() ? "✅" : "✅ (or `" + env_name_for(doc.alternative) + "`)";
    const std::string type =
        doc.key == "connector.type" ? "const" : fmt::format("{}", fmt::join(types_of(doc), "` or `"));
    const std::string values = doc.key == "connector.type" ? "`" + kind.type + "`" : possible_values(doc);
    const std::string value = doc.key == "connector.type" ? "`\"" + kind.type + "\"`" : shown_default(doc);
    out += fmt::format("| {} | `{}` | {} | {} | {} | {} |\n", doc.env_name, type, mark, values, value, cell(doc.description));
  };
  for (const auto& doc : docs) {
    if (applies(doc, kind) && required(doc, kind)) row(doc);
  }
  for (const auto& doc : docs) {
    if (applies(doc, kind) && !required(doc, kind)) row(doc);
  }
  return out;
}

std::string manifest(const ConnectorKind& kind) {
  Document out(rapidjson::kObjectType);
  auto& allocator = out.GetAllocator();
  out.AddMember("title", text(kind.title, allocator), allocator);
  out.AddMember("slug", text(kind.slug, allocator), allocator);
  out.AddMember("description", text(kind.description, allocator), allocator);
  out.AddMember("short_description", text(kind.short_description, allocator), allocator);
  out.AddMember("use_cases", string_array(kind.use_cases, allocator), allocator);
  out.AddMember("solution_categories", string_array(kind.solution_categories, allocator), allocator);
  out.AddMember("license_type", text(kind.license_type, allocator), allocator);
  out.AddMember("contact", Value(rapidjson::kNullType), allocator);
  out.AddMember("verified", false, allocator);
  out.AddMember("last_verified_date", Value(rapidjson::kNullType), allocator);
  out.AddMember("playbook_supported", kind.playbook_supported, allocator);
  out.AddMember("max_confidence_level", 100, allocator);
  // The oldest platform the registration and the message format were checked against.
  out.AddMember("support_version", ">=6.0.0", allocator);
  out.AddMember("subscription_link", "https://opentip.kaspersky.com", allocator);
  // Where the repository is published is not known to the build: filled in when it is.
  out.AddMember("source_code", Value(rapidjson::kNullType), allocator);
  out.AddMember("manager_supported", true, allocator);
  out.AddMember("container_version", text(std::string(version()), allocator), allocator);
  out.AddMember("container_image", "kaspersky-feeds-connector", allocator);
  out.AddMember("container_type", text(kind.type, allocator), allocator);
  return pretty(out);
}

}  // namespace

std::vector<MetadataFile> metadata_files() {
  const std::vector<KeyDoc> docs = key_docs();
  std::vector<MetadataFile> files;
  for (const auto& kind : kinds()) {
    const std::string folder = kind.folder + "/" + kind.slug + "/__metadata__/";
    files.push_back({folder + "connector_manifest.json", manifest(kind)});
    files.push_back({folder + "connector_config_schema.json", schema(kind, docs)});
    files.push_back({folder + "CONNECTOR_CONFIG_DOC.md", config_doc(kind, docs)});
  }
  return files;
}

}  // namespace kfc::catalogue
