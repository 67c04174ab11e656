#pragma once
// The reference fields the dependency stages follow (connector/batching/README.md), shared by the stager
// and the cluster packer so both agree on what "references" means.
#include <array>

#include <rapidjson/document.h>

namespace kfc::batching::detail {

inline constexpr std::array<const char*, 4> kReferenceFields = {"created_by_ref", "x_opencti_created_by_ref",
                                                                "source_ref", "target_ref"};
inline constexpr const char* kListReferenceField = "object_refs";

// Calls visit(field, value) for each present, non-null reference of `object`, fields in the order
// above, then each element of `object_refs` (an `object_refs` that is not an array is visited whole).
template <typename Visit>
void for_each_reference(const rapidjson::Value& object, Visit&& visit) {
  if (!object.IsObject()) return;
  for (const char* field : kReferenceFields) {
    const auto member = object.FindMember(field);
    if (member != object.MemberEnd() && !member->value.IsNull()) visit(field, member->value);
  }
  const auto refs = object.FindMember(kListReferenceField);
  if (refs == object.MemberEnd() || refs->value.IsNull()) return;
  if (!refs->value.IsArray()) {
    visit(kListReferenceField, refs->value);
    return;
  }
  for (const auto& ref : refs->value.GetArray()) visit(kListReferenceField, ref);
}

}  // namespace kfc::batching::detail
