#include "kfc/sinks/splitter.h"

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "json_text.h"

namespace kfc::sinks {
namespace {

using rapidjson::Value;

// pycti's supported_types: STIX meta + core objects, cyber observables, relationship, sighting.
constexpr std::array<std::string_view, 85> kSupportedTypes = {
    "label", "vocabulary", "kill-chain-phase",
    "attack-pattern", "campaign", "case-incident", "x-opencti-case-incident", "case-rfi", "x-opencti-case-rfi",
    "case-rft", "x-opencti-case-rft", "channel", "course-of-action", "data-component", "x-mitre-data-component",
    "data-source", "x-mitre-data-source", "event", "external-reference", "feedback", "x-opencti-feedback",
    "grouping", "identity", "incident", "indicator", "infrastructure", "intrusion-set", "language", "location",
    "malware", "malware-analysis", "marking-definition", "narrative", "note", "observed-data", "opinion", "report",
    "task", "x-opencti-task", "threat-actor", "tool", "vulnerability", "security-coverage",
    "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "email-mime-part-type",
    "artifact", "file", "x509-certificate", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic",
    "process", "software", "url", "user-account", "windows-registry-key", "windows-registry-value-type",
    "hostname", "cryptographic-key", "cryptocurrency-wallet", "text", "user-agent", "bank-account",
    "phone-number", "credential", "tracking-number", "payment-card", "media-content", "simple-observable",
    "persona", "ssh-key",
    "relationship", "sighting",
    // padding to the array size (never a real type)
    "", "", "", "", "", ""};

bool id_supported(std::string_view id) {
  auto separator = id.find("--");
  if (separator == std::string_view::npos) return true;  // not a STIX id: not filtered
  return is_supported_stix_type(id.substr(0, separator));
}

bool ends_with(std::string_view text, std::string_view suffix) { return text.ends_with(suffix); }

std::string_view view(const Value& value) { return {value.GetString(), value.GetStringLength()}; }

const Value* get(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

bool is_null_or_absent(const Value* value) { return value == nullptr || value->IsNull(); }

// The recursion of OpenCTIStix2Splitter.enlist_element, on a private copy of the objects.
class Splitter {
 public:
  explicit Splitter(rapidjson::Document& objects) : doc_(objects) {
    for (auto& item : doc_.GetArray()) {
      if (!item.IsObject()) continue;
      if (const Value* id = get(item, "id"); id && id->IsString()) raw_[std::string(view(*id))] = &item;
      if (const Value* internal = get(item, "x_opencti_id"); internal && internal->IsString()) {
        raw_[std::string(view(*internal))] = &item;
      }
    }
  }

  void run() {
    for (auto& item : doc_.GetArray()) {
      if (const Value* id = item.IsObject() ? get(item, "id") : nullptr; id && id->IsString()) {
        std::vector<std::string> parents;
        enlist(std::string(view(*id)), parents);
      }
    }
  }

  // In enlistment order; the caller sorts stably by nb_deps.
  const std::vector<std::pair<Value*, int>>& elements() const { return elements_; }

 private:

  bool may_follow(const std::string& item_id, const std::string& ref, const std::vector<std::string>& parents) {
    // pycti: supported type, not an ancestor on this path, not the object itself, and not a
    // reference whose own references already point back to this object.
    auto back = refs_.find(ref);
    bool points_back = back != refs_.end() && std::find(back->second.begin(), back->second.end(), item_id) != back->second.end();
    return id_supported(ref) && std::find(parents.begin(), parents.end(), ref) == parents.end() && ref != item_id &&
           !points_back;
  }

  // pycti recurses with parents + [ref]: the same path, extended for the call and restored after.
  int follow(const std::string& item_id, const std::string& ref, std::vector<std::string>& parents) {
    refs_[item_id].push_back(ref);
    parents.push_back(ref);
    const int nb_deps = enlist(ref, parents);
    parents.pop_back();
    return nb_deps;
  }

  int enlist(const std::string& item_id, std::vector<std::string>& parents) {
    auto found = raw_.find(item_id);
    if (found == raw_.end()) return 0;
    if (auto cached = nb_deps_.find(item_id); cached != nb_deps_.end()) return cached->second;
    Value& item = *found->second;
    auto& alloc = doc_.GetAllocator();
    refs_.try_emplace(item_id);

    int nb_deps = 1;
    // By index over the keys present now (pycti iterates a snapshot of the keys): a cycle can bring
    // the recursion back to this object and add "nb_deps" to it, which may move its members.
    const rapidjson::SizeType key_count = item.MemberCount();
    for (rapidjson::SizeType index = 0; index < key_count; ++index) {
      auto member_at = [&] { return item.MemberBegin() + index; };
      const std::string_view key = view(member_at()->name);  // only read before the recursion below
      if (ends_with(key, "_refs")) {
        if (!member_at()->value.IsArray() || member_at()->value.Empty()) continue;
        std::vector<std::string> refs;
        for (const auto& element : member_at()->value.GetArray()) {
          if (element.IsString()) refs.emplace_back(view(element));
        }
        std::vector<std::string> kept;
        for (const auto& ref : refs) {
          if (!may_follow(item_id, ref, parents)) continue;
          nb_deps += follow(item_id, ref, parents);
          if (std::find(kept.begin(), kept.end(), ref) == kept.end()) kept.push_back(ref);
        }
        Value kept_value(rapidjson::kArrayType);
        for (const auto& ref : kept) {  // by length: a reference may hold U+0000
          kept_value.PushBack(Value(ref.data(), static_cast<rapidjson::SizeType>(ref.size()), alloc), alloc);
        }
        member_at()->value = kept_value;
      } else if (ends_with(key, "_ref")) {
        const Value& value = member_at()->value;
        std::string ref = value.IsString() ? std::string(view(value)) : std::string();
        if (value.IsString() && may_follow(item_id, ref, parents)) {
          nb_deps += follow(item_id, ref, parents);
        } else {
          member_at()->value.SetNull();
        }
      } else if (key == "external_references" && member_at()->value.IsArray()) {
        dedup_external_references(member_at()->value, alloc);
      } else if (key == "kill_chain_phases" && member_at()->value.IsArray()) {
        dedup_kill_chain_phases(member_at()->value, alloc);
      }
    }

    if (auto existing = item.FindMember("nb_deps"); existing != item.MemberEnd()) {
      existing->value.SetInt(nb_deps);
    } else {
      item.AddMember("nb_deps", nb_deps, alloc);
    }
    if (!nb_deps_.contains(item_id)) {
      if (compatible(item, item_id)) elements_.emplace_back(&item, nb_deps);
      nb_deps_[item_id] = nb_deps;
      if (const Value* internal = get(item, "x_opencti_id"); internal && internal->IsString()) {
        nb_deps_[std::string(view(*internal))] = nb_deps;
      }
    }
    return nb_deps;
  }

  static bool compatible(const Value& item, const std::string& item_id) {
    const Value* type = get(item, "type");
    std::string_view type_name = type && type->IsString() ? view(*type) : std::string_view();
    const bool plain = is_null_or_absent(get(item, "opencti_operation"));
    if (type_name == "relationship" && plain) {
      return !is_null_or_absent(get(item, "source_ref")) && !is_null_or_absent(get(item, "target_ref"));
    }
    if (type_name == "sighting" && plain) {
      const Value* where = get(item, "where_sighted_refs");
      return !is_null_or_absent(get(item, "sighting_of_ref")) && where && where->IsArray() && !where->Empty();
    }
    return id_supported(item_id);
  }

  // Keeps the first object of each identity in `list` (non-objects dropped); an object whose
  // identity is nullopt has none and is dropped too.
  template <class Identity>
  static void keep_first_of_each(Value& list, rapidjson::Document::AllocatorType& alloc, Identity identity) {
    Value kept(rapidjson::kArrayType);
    std::set<std::string> seen;
    for (auto& item : list.GetArray()) {
      if (!item.IsObject()) continue;
      const std::optional<std::string> id = identity(item);
      if (id && seen.insert(*id).second) kept.PushBack(Value(item, alloc), alloc);
    }
    list = kept;
  }

  // Same identity as pycti's external_reference_generate_id: the url, else source_name+external_id;
  // a reference with neither has no id and is dropped.
  static void dedup_external_references(Value& references, rapidjson::Document::AllocatorType& alloc) {
    keep_first_of_each(references, alloc, [](const Value& reference) -> std::optional<std::string> {
      const Value* url = get(reference, "url");
      const Value* source = get(reference, "source_name");
      const Value* external = get(reference, "external_id");
      if (!is_null_or_absent(url)) return "url:" + detail::json_text(*url);
      if (!is_null_or_absent(source) && !is_null_or_absent(external)) {
        return "src:" + detail::json_text(*source) + "|" + detail::json_text(*external);
      }
      return std::nullopt;
    });
  }

  static void dedup_kill_chain_phases(Value& phases, rapidjson::Document::AllocatorType& alloc) {
    keep_first_of_each(phases, alloc, [](const Value& phase) -> std::optional<std::string> {
      const Value* name = get(phase, "kill_chain_name");
      const Value* phase_name = get(phase, "phase_name");
      return (name ? detail::json_text(*name) : "null") + "|" + (phase_name ? detail::json_text(*phase_name) : "null");
    });
  }

  rapidjson::Document& doc_;
  std::unordered_map<std::string, Value*> raw_;
  std::unordered_map<std::string, int> nb_deps_;
  std::unordered_map<std::string, std::vector<std::string>> refs_;
  std::vector<std::pair<Value*, int>> elements_;
};

void append_bundle_head(std::string& out, const std::string& bundle_id) {
  out += R"({"type":"bundle","id":)";
  detail::append_json(Value(bundle_id.c_str(), static_cast<rapidjson::SizeType>(bundle_id.size())), out);
  out += R"(,"spec_version":"2.1",)";
}

}  // namespace

bool is_supported_stix_type(std::string_view type) {
  if (type.empty()) return false;
  return std::find(kSupportedTypes.begin(), kSupportedTypes.end(), type) != kSupportedTypes.end();
}

std::vector<SplitMessage> split_bundle(const stix::Bundle& bundle) {
  rapidjson::Document objects;
  objects.CopyFrom(bundle.objects, objects.GetAllocator());
  if (!objects.IsArray()) return {};
  Splitter splitter(objects);
  splitter.run();

  auto elements = splitter.elements();
  std::stable_sort(elements.begin(), elements.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });

  std::vector<SplitMessage> messages;
  messages.reserve(elements.size());
  for (const auto& [object, nb_deps] : elements) {
    SplitMessage message;
    message.nb_deps = nb_deps;
    if (const Value* id = get(*object, "id"); id && id->IsString()) message.object_id = id->GetString();
    append_bundle_head(message.bundle_json, bundle.id);
    message.bundle_json += R"("x_opencti_seq":)" + std::to_string(nb_deps) + R"(,"objects":[)";
    detail::append_json(*object, message.bundle_json);
    message.bundle_json += "]}";
    messages.push_back(std::move(message));
  }
  return messages;
}

std::string whole_bundle_json(const stix::Bundle& bundle) {
  std::string out;
  append_bundle_head(out, bundle.id);
  out += R"("objects":)";
  detail::append_json(bundle.objects, out);
  out += "}";
  return out;
}

}  // namespace kfc::sinks
