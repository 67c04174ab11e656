#pragma once
// The reference fields the dependency stages follow (connector/batching/README.md), shared by the stager
// and the cluster packer so both agree on what "references" means.
#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include <rapidjson/document.h>

namespace kfc::batching::detail {

inline constexpr std::array<const char*, 4> kReferenceFields = {"created_by_ref", "x_opencti_created_by_ref",
                                                                "source_ref", "target_ref"};
inline constexpr const char* kListReferenceField = "object_refs";

inline std::string_view string_of(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// The object's id, or an empty view when it has none usable (not an object, no string `id`).
inline std::string_view id_of(const rapidjson::Value& object) {
  if (!object.IsObject()) return {};
  const auto member = object.FindMember("id");
  if (member == object.MemberEnd() || !member->value.IsString()) return {};
  return string_of(member->value);
}

// id_of(object) and the object's x_opencti_stix_ids (null unless an array), each the first member of
// its name, in one pass over the members.
struct IdAndAliases {
  std::string_view id;
  const rapidjson::Value* aliases = nullptr;
};
inline IdAndAliases id_and_aliases(const rapidjson::Value& object) {
  if (!object.IsObject()) return {};
  const rapidjson::Value* id = nullptr;
  const rapidjson::Value* aliases = nullptr;
  for (auto m = object.MemberBegin(); m != object.MemberEnd(); ++m) {
    const std::string_view name = string_of(m->name);
    if (id == nullptr && name == "id") id = &m->value;
    else if (aliases == nullptr && name == "x_opencti_stix_ids") aliases = &m->value;
  }
  IdAndAliases found;
  if (id != nullptr && id->IsString()) found.id = string_of(*id);
  if (aliases != nullptr && aliases->IsArray()) found.aliases = aliases;
  return found;
}

// The reference members of an object (each the first member of that name, or MemberEnd), found in one
// pass over its members: an object has a dozen members, and looking each of the five fields up on
// its own compared every name five times.
template <typename Object>
struct ReferenceMembers {
  using Iterator = decltype(std::declval<Object&>().MemberBegin());
  std::array<Iterator, kReferenceFields.size()> fields;  // in the order of kReferenceFields
  Iterator list;                                         // kListReferenceField
};

template <typename Object>
ReferenceMembers<Object> reference_members(Object& object) {
  static constexpr std::array<std::string_view, kReferenceFields.size() + 1> kNames = {
      kReferenceFields[0], kReferenceFields[1], kReferenceFields[2], kReferenceFields[3], kListReferenceField};
  const auto end = object.MemberEnd();
  std::array<decltype(object.MemberBegin()), kNames.size()> found;
  found.fill(end);
  for (auto m = object.MemberBegin(); m != end; ++m) {
    const std::string_view name = string_of(m->name);
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (name != kNames[i]) continue;
      if (found[i] == end) found[i] = m;  // a repeated name: the first one counts, as with FindMember
      break;
    }
  }
  ReferenceMembers<Object> members;
  std::copy_n(found.begin(), kReferenceFields.size(), members.fields.begin());
  members.list = found.back();
  return members;
}

// Calls visit(field, value) for each present, non-null reference of `object`, fields in the order
// above, then each element of `object_refs` (an `object_refs` that is not an array is visited whole).
template <typename Visit>
void for_each_reference(const rapidjson::Value& object, Visit&& visit) {
  if (!object.IsObject()) return;
  const auto members = reference_members(object);
  for (std::size_t i = 0; i < kReferenceFields.size(); ++i) {
    const auto member = members.fields[i];
    if (member != object.MemberEnd() && !member->value.IsNull()) visit(kReferenceFields[i], member->value);
  }
  const auto refs = members.list;
  if (refs == object.MemberEnd() || refs->value.IsNull()) return;
  if (!refs->value.IsArray()) {
    visit(kListReferenceField, refs->value);
    return;
  }
  for (const auto& ref : refs->value.GetArray()) visit(kListReferenceField, ref);
}

}  // namespace kfc::batching::detail
