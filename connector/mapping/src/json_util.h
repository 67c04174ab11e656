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

// Sets key to value: replaced in place when present (keeps its position), else appended.
// `key` must have static lifetime.
inline void set(Value& obj, std::string_view key, Value&& value, Allocator& a) {
  if (Value* existing = member(obj, key)) {
    *existing = value;  // RapidJSON assignment moves
    return;
  }
  obj.AddMember(ref(key), value, a);
}

// append-unique (§0): appends s unless an equal string is already in the array.
inline void append_unique(Value& array, std::string_view s, Allocator& a) {
  for (const auto& e : array.GetArray())
    if (e.IsString() && view(e) == s) return;
  array.PushBack(copy(s, a), a);
}

}  // namespace kfc::mapping::json
