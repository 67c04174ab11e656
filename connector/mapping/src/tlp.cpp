#include "tlp.h"

#include <array>
#include <string>

namespace kfc::mapping::detail {
namespace {

using rapidjson::Value;

struct TlpMarking {
  std::string_view level;
  std::string_view id;          // as pycti's MarkingDefinition.generate_id("TLP", ...) answers
  std::string_view definition;  // OpenCTI's name of the marking
  std::string_view stix_tlp;    // the STIX 2.1 TLP value ("" for the OpenCTI-only markings)
};

// GREEN, AMBER and RED are STIX 2.1's own TLP marking objects; CLEAR (STIX's WHITE id) and
// AMBER+STRICT are OpenCTI statement markings carrying their TLP name in x_opencti_definition.
constexpr std::array<TlpMarking, 5> kMarkings{{
    {"clear", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:CLEAR", ""},
    {"green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN", "green"},
    {"amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER", "amber"},
    {"amber+strict", "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37", "TLP:AMBER+STRICT", ""},
    {"red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED", "red"},
}};

Value text(std::string_view value, rapidjson::Document::AllocatorType& allocator) {
  return Value(value.data(), static_cast<rapidjson::SizeType>(value.size()), allocator);
}

}  // namespace

bool build_tlp_marking(std::string_view level, rapidjson::Document& out) {
  const TlpMarking* found = nullptr;
  for (const auto& marking : kMarkings) {
    if (marking.level == level) found = &marking;
  }
  if (found == nullptr) return false;
  out.SetObject();
  auto& a = out.GetAllocator();
  out.AddMember("type", "marking-definition", a);
  out.AddMember("spec_version", "2.1", a);
  out.AddMember("id", text(found->id, a), a);
  out.AddMember("created", "2017-01-20T00:00:00.000Z", a);
  Value definition(rapidjson::kObjectType);
  if (!found->stix_tlp.empty()) {
    out.AddMember("definition_type", "tlp", a);
    out.AddMember("name", text(found->definition, a), a);
    definition.AddMember("tlp", text(found->stix_tlp, a), a);
  } else {
    out.AddMember("definition_type", "statement", a);
    out.AddMember("name", text(found->definition, a), a);
    definition.AddMember("statement", "custom", a);
  }
  out.AddMember("definition", definition, a);
  out.AddMember("x_opencti_definition_type", "TLP", a);
  out.AddMember("x_opencti_definition", text(found->definition, a), a);
  return true;
}

void add_marking(Value& object, std::string_view marking_id, std::string_view author_id,
                 rapidjson::Document::AllocatorType& allocator) {
  if (!object.IsObject()) return;
  const auto type = object.FindMember("type");
  const auto id = object.FindMember("id");
  if (type != object.MemberEnd() && type->value.IsString() &&
      std::string_view(type->value.GetString(), type->value.GetStringLength()) == "marking-definition") {
    return;
  }
  if (id != object.MemberEnd() && id->value.IsString() &&
      std::string_view(id->value.GetString(), id->value.GetStringLength()) == author_id) {
    return;
  }
  auto refs = object.FindMember("object_marking_refs");
  if (refs == object.MemberEnd() || !refs->value.IsArray()) {
    if (refs != object.MemberEnd()) object.RemoveMember(refs);
    object.AddMember("object_marking_refs", Value(rapidjson::kArrayType), allocator);
    refs = object.FindMember("object_marking_refs");
  }
  for (const auto& ref : refs->value.GetArray()) {
    if (ref.IsString() && std::string_view(ref.GetString(), ref.GetStringLength()) == marking_id) return;
  }
  refs->value.PushBack(text(marking_id, allocator), allocator);
}

}  // namespace kfc::mapping::detail
