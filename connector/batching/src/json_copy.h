#pragma once
// A direct deep copy of a RapidJSON value. RapidJSON 1.1's copying constructor goes through a
// temporary Document and its SAX stack (a heap allocation per copy); batching copies every object
// at least once, so the direct recursion matters for throughput.
#include <rapidjson/document.h>

namespace kfc::batching::detail {

inline rapidjson::Value deep_copy(const rapidjson::Value& source, rapidjson::Document::AllocatorType& allocator) {
  switch (source.GetType()) {
    case rapidjson::kObjectType: {
      rapidjson::Value object(rapidjson::kObjectType);
      for (auto member = source.MemberBegin(); member != source.MemberEnd(); ++member) {
        rapidjson::Value name(member->name.GetString(), member->name.GetStringLength(), allocator);
        object.AddMember(name, deep_copy(member->value, allocator), allocator);
      }
      return object;
    }
    case rapidjson::kArrayType: {
      rapidjson::Value array(rapidjson::kArrayType);
      array.Reserve(source.Size(), allocator);
      for (const auto& element : source.GetArray()) array.PushBack(deep_copy(element, allocator), allocator);
      return array;
    }
    case rapidjson::kStringType:
      return rapidjson::Value(source.GetString(), source.GetStringLength(), allocator);
    default:
      return rapidjson::Value(source, allocator);  // scalars: no allocation
  }
}

}  // namespace kfc::batching::detail
