#pragma once
// Small RapidJSON helpers the mapping uses everywhere.
#include <optional>
#include <string_view>

#include <rapidjson/document.h>

namespace kfc::mapping::json {

using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

inline std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

inline const Value* member(const Value& obj, std::string_view key) {
  const auto it = obj.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  return it == obj.MemberEnd() ? nullptr : &it->value;
}
inline Value* member(Value& obj, std::string_view key) {
  const auto it = obj.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

// The string value of key, or nullopt when absent or not a string.
inline std::optional<std::string_view> string_member(const Value& obj, std::string_view key) {
  const Value* v = member(obj, key);
  if (!v || !v->IsString()) return std::nullopt;
  return view(*v);
}

// A string Value owning a copy of s.
inline Value copy(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}
// A string Value referring to text of static lifetime (literals, the datasheet).
inline Value ref(std::string_view s) {
  return Value(rapidjson::StringRef(s.data(), s.size()));
}

// An array holding `copy(e, a)` of each element e of the array `v`.
template <typename CopyElement>
Value copy_array(const Value& v, Allocator& a, CopyElement copy) {
  Value array(rapidjson::kArrayType);
  array.Reserve(v.Size(), a);
  for (const auto& e : v.GetArray()) array.PushBack(copy(e, a), a);
  return array;
}

// A deep copy of v into a. Strings referring to constant text stay references (as RapidJSON's own
// copy does); unlike RapidJSON 1.1's copy constructor, this does not go through a temporary
// Document and its SAX stack (a heap allocation per copied object or array).
inline Value copy_value(const Value& v, Allocator& a) {
  switch (v.GetType()) {
    case rapidjson::kObjectType: {
      Value object(rapidjson::kObjectType);
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) object.AddMember(copy_value(m->name, a), copy_value(m->value, a), a);
      return object;
    }
    case rapidjson::kArrayType:
      return copy_array(v, a, [](const Value& e, Allocator& allocator) { return copy_value(e, allocator); });
    default:
      return Value(v, a);  // strings (copied, or constant references kept), numbers, literals
  }
}

// Like copy_value, but strings stored outside their Value are shared instead of copied. Only for
// a value that lives in `a` itself (or in memory that outlives it): a pool allocator frees nothing
// before it is cleared, so the shared text lives as long as the copy. Short strings live inside
// their Value (which may move), so they are copied, which costs no allocation.
inline Value share_value(const Value& v, Allocator& a) {
  switch (v.GetType()) {
    case rapidjson::kStringType: {
      const char* text = v.GetString();
      const bool inside = text >= reinterpret_cast<const char*>(&v) && text < reinterpret_cast<const char*>(&v + 1);
      if (inside) return Value(text, v.GetStringLength(), a);
      return Value(rapidjson::StringRef(text, v.GetStringLength()));
    }
    case rapidjson::kArrayType:
      return copy_array(v, a, [](const Value& e, Allocator& allocator) { return share_value(e, allocator); });
    default:
      return copy_value(v, a);
  }
}

// Sets key to value: replaced in place when present (keeps its position), else appended.
// `key` must have static lifetime.
inline void set(Value& obj, std::string_view key, Value&& value, Allocator& a) {
  if (Value* existing = member(obj, key)) {
    *existing = value;  // RapidJSON assignment moves
    return;
  }
  obj.AddMember(ref(key), value, a);
}

// append-unique: appends s unless an equal string is already in the array.
inline void append_unique(Value& array, std::string_view s, Allocator& a) {
  for (const auto& e : array.GetArray())
    if (e.IsString() && view(e) == s) return;
  array.PushBack(copy(s, a), a);
}

}  // namespace kfc::mapping::json
