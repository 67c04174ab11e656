#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "client_impl.h"
#include "kfc/config/counters.h"

namespace kfc::taxii {
namespace {

std::string with_slash(std::string url) {
  if (url.empty() || url.back() != '/') url += '/';
  return url;
}

// "https://host:port" of a URL.
std::string origin_of(const std::string& url) {
  auto scheme = url.find("://");
  auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// API roots in a discovery answer may be absolute, host-relative or relative to the discovery URL.
std::string resolve(const std::string& base, const std::string& reference) {
  if (reference.starts_with("http://") || reference.starts_with("https://")) return with_slash(reference);
  if (reference.starts_with('/')) return with_slash(origin_of(base) + reference);
  return with_slash(with_slash(base) + reference);
}

std::string normalized_media_type(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool offers(const std::vector<std::string>& versions, std::string_view wanted) {
  auto target = normalized_media_type(wanted);
  return std::any_of(versions.begin(), versions.end(),
                     [&](const std::string& v) { return normalized_media_type(v) == target; });
}

bool offers_v20(const std::vector<std::string>& versions) {
  return offers(versions, "taxii-2.0") || offers(versions, media::kTaxii20);
}

std::vector<std::string> string_list(const rapidjson::Value& object, const char* name) {
  std::vector<std::string> out;
  if (!object.IsObject()) return out;
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsArray()) return out;
  for (const auto& item : member->value.GetArray()) {
    if (item.IsString()) out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

bool bool_member(const rapidjson::Value& object, const char* name) {
  auto member = object.FindMember(name);
  return member != object.MemberEnd() && member->value.IsBool() && member->value.GetBool();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "none" : out;
}

}  // namespace

ReadStats& ReadStats::operator+=(const ReadStats& other) {
  return add_counters(*this, other, &ReadStats::requests, &ReadStats::pages, &ReadStats::objects, &ReadStats::skipped,
                      &ReadStats::repaired, &ReadStats::duplicates, &ReadStats::retries, &ReadStats::bytes);
}

detail::ClientCore::ClientCore(ClientOptions options_in, std::unique_ptr<http::Transport> transport_in, Clock& clock_in)
    : options(std::move(options_in)),
      transport(std::move(transport_in)),
      clock(clock_in),
      exchange(options, *transport, clock),
      root_url(with_slash(options.api_root)),
      version(options.version) {}

std::string_view detail::ClientCore::resource_media_type() const {
  return version == TaxiiVersion::V20 ? media::kTaxii20 : media::kTaxii21;
}

std::unique_ptr<detail::JsonBody> detail::ClientCore::get_resource(const std::string& url, std::string_view accept) {
  const std::string shown = http::redact_url(url);
  return exchange.with_retries(shown, totals, [&](int) {
    http::Response response = exchange.get(url, accept, totals);
    if (response.status == 404 || response.status == 416) {
      throw ProtocolError(shown, response.status, detail::parse_error_body(response),
                          "TAXII resource " + shown + " not found (HTTP " + std::to_string(response.status) +
                              ") — check " + options.api_root_key);
    }
    const std::string content_type = response.header("content-type").value_or("");
    if (!content_type.empty() && !detail::is_json_media_type(content_type)) {
      throw detail::UnreadableBody(shown + " answered '" + content_type + "' instead of TAXII JSON", content_type);
    }
    json::ParseError error;
    auto body = detail::parse_json(std::move(response.body), options.max_object_depth, error);
    if (!body) throw detail::UnreadableBody(shown + " answered " + error.message, content_type, error.offset);
    if (!body->document.IsObject()) {
      throw detail::UnreadableBody(shown + " answered JSON that is not an object", content_type);
    }
    return body;
  });
}

Discovery detail::ClientCore::discover() {
  std::string url = options.discovery_url;
  if (url.empty()) url = origin_of(root_url) + (version == TaxiiVersion::V20 ? "/taxii/" : "/taxii2/");
  url = with_slash(url);
  std::unique_ptr<detail::JsonBody> body;
  try {
    body = get_resource(url, resource_media_type());
  } catch (const ProtocolError& error) {
    // A 2.0-only server refuses the 2.1 media type (406/415): ask again in 2.0. The version itself
    // is settled per API root (api_root()).
    if (version != TaxiiVersion::Auto || (error.status() != 406 && error.status() != 415)) throw;
    body = get_resource(url, media::kTaxii20);
  }
  const auto& doc = body->document;
  Discovery out;
  out.title = detail::string_member(doc, "title").value_or("");
  out.description = detail::string_member(doc, "description").value_or("");
  out.contact = detail::string_member(doc, "contact").value_or("");
  if (auto root = detail::string_member(doc, "default")) out.default_root = resolve(url, *root);
  for (const auto& root : string_list(doc, "api_roots")) out.api_roots.push_back(resolve(url, root));
  return out;
}

ApiRootInfo detail::ClientCore::api_root() {
  std::unique_ptr<detail::JsonBody> body;
  TaxiiVersion spoken = version == TaxiiVersion::V20 ? TaxiiVersion::V20 : TaxiiVersion::V21;
  try {
    body = get_resource(root_url, spoken == TaxiiVersion::V20 ? media::kTaxii20 : media::kTaxii21);
  } catch (const ProtocolError& error) {
    // A 2.0-only server refuses the 2.1 media type (406/415): ask again in 2.0.
    if (version != TaxiiVersion::Auto || (error.status() != 406 && error.status() != 415)) throw;
    spoken = TaxiiVersion::V20;
    body = get_resource(root_url, media::kTaxii20);
  }
  const auto& doc = body->document;
  ApiRootInfo info;
  info.url = root_url;
  info.title = detail::string_member(doc, "title").value_or("");
  info.description = detail::string_member(doc, "description").value_or("");
  info.versions = string_list(doc, "versions");
  if (auto max = doc.FindMember("max_content_length"); max != doc.MemberEnd() && max->value.IsInt64()) {
    info.max_content_length = max->value.GetInt64();
  }
  const bool has_v21 = offers(info.versions, media::kTaxii21);
  const bool has_v20 = offers_v20(info.versions) || (spoken == TaxiiVersion::V20 && info.versions.empty());
  const std::string shown = http::redact_url(root_url);
  if (version == TaxiiVersion::V21 && !has_v21) {
    throw ConfigurationError(shown, "Specified API Root doesn't support version '" + std::string(media::kTaxii21) +
                                        "' (" + shown + " offers: " + join(info.versions) +
                                        ") — check " + options.api_root_key);
  }
  if (version == TaxiiVersion::V20 && !has_v20) {
    throw ConfigurationError(shown, "Specified API Root doesn't support version 'taxii-2.0' (" + shown +
                                        " offers: " + join(info.versions) + ") — check " + options.api_root_key);
  }
  if (version == TaxiiVersion::Auto) {
    if (has_v21 && spoken == TaxiiVersion::V21) {
      version = TaxiiVersion::V21;
    } else if (has_v20) {
      version = TaxiiVersion::V20;
    } else {
      throw ConfigurationError(shown, "API root " + shown + " offers no TAXII version this client speaks (" +
                                          join(info.versions) + ") — check " + options.api_root_key);
    }
  }
  info.version = version;
  return info;
}

void detail::ClientCore::settle_version() {
  if (version == TaxiiVersion::Auto) api_root();
}

std::vector<Collection> detail::ClientCore::collections() {
  settle_version();
  auto body = get_resource(root_url + "collections/", resource_media_type());
  std::vector<Collection> out;
  auto list = body->document.FindMember("collections");
  if (list == body->document.MemberEnd()) return out;  // "{}": no collections
  if (!list->value.IsArray()) {
    throw ProtocolError(http::redact_url(root_url + "collections/"), 200, {},
                        "TAXII server answered " + http::redact_url(root_url) +
                            "collections/ with 'collections' that is not a list");
  }
  for (const auto& item : list->value.GetArray()) {
    auto id = detail::string_member(item, "id");
    if (!id || id->empty()) {
      spdlog::warn("TAXII: {}collections/ lists a collection without an id; ignored", http::redact_url(root_url));
      continue;
    }
    Collection collection;
    collection.id = *id;
    collection.title = detail::string_member(item, "title").value_or("");
    collection.description = detail::string_member(item, "description").value_or("");
    collection.alias = detail::string_member(item, "alias").value_or("");
    collection.can_read = bool_member(item, "can_read");
    collection.can_write = bool_member(item, "can_write");
    collection.media_types = string_list(item, "media_types");
    out.push_back(std::move(collection));
  }
  return out;
}

ReadSummary detail::ClientCore::read_objects(std::string_view collection_id, const ObjectFilter& filter,
                                       const PageCallback& on_page) {
  settle_version();
  std::string url = root_url + "collections/" + http::url_encode(collection_id) + "/objects/";
  // The readers add their statistics to `totals` themselves, failed reads included.
  return version == TaxiiVersion::V20 ? read_objects_v20(*this, collection_id, url, filter, on_page)
                                      : read_objects_v21(*this, collection_id, url, filter, on_page);
}

void detail::ClientCore::explain_forbidden(std::string_view collection_id, const std::string& objects_url) {
  const ErrorBody refusal = exchange.last_refusal();
  std::vector<Collection> listed;
  try {
    listed = collections();  // a TokenError here means the token itself is refused: it propagates
  } catch (const TokenError&) {
    throw;
  } catch (const std::exception& error) {
    spdlog::warn("TAXII: cannot tell whether the 403 on collection {} is about the token or the collection: {}",
                 collection_id, error.what());
    return;
  }
  auto collection = std::find_if(listed.begin(), listed.end(), [&](const Collection& c) { return c.id == collection_id; });
  const char* listing = collection == listed.end() ? "the server no longer lists it"
                        : collection->can_read     ? "the server lists it as readable"
                                                   : "the server lists it as not readable (can_read: false)";
  std::string explanation = refusal.title;
  if (!refusal.description.empty()) explanation += (explanation.empty() ? "" : ": ") + refusal.description;
  const std::string shown = http::redact_url(objects_url);
  const std::string token_key = options.auth.token ? options.auth.token->key() : std::string("the token");
  throw CollectionAccessDeniedError(
      shown, std::string(collection_id), refusal,
      "TAXII server refused to read collection " + std::string(collection_id) + " (HTTP 403 on " + shown +
          (explanation.empty() ? std::string() : ": " + explanation) + "); " + listing + " and still accepts " +
          token_key + " for the collection list, so the token is valid but cannot read this collection — check "
          "that your subscription includes it, or leave it out of " + options.collections_key);
}

Client::Client(ClientOptions options, std::unique_ptr<http::Transport> transport, Clock& clock)
    : impl_(std::make_unique<detail::ClientCore>(std::move(options), std::move(transport), clock)) {}
Client::~Client() = default;

Discovery Client::discover() { return impl_->discover(); }
ApiRootInfo Client::api_root() { return impl_->api_root(); }
std::vector<Collection> Client::collections() { return impl_->collections(); }
ReadSummary Client::read_objects(std::string_view collection_id, const ObjectFilter& filter,
                                 const PageCallback& on_page) {
  return impl_->read_objects(collection_id, filter, on_page);
}
TaxiiVersion Client::version() const noexcept { return impl_->version; }
const std::string& Client::api_root_url() const noexcept { return impl_->root_url; }
const ReadStats& Client::stats() const noexcept { return impl_->totals; }

}  // namespace kfc::taxii
