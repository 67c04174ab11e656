#pragma once
// The one place the sinks turn JSON values into text: compact JSON, byte for byte what RapidJSON's
// Writer writes, through the stix module's writer (its string escaping scans 16 bytes at a time;
// RapidJSON's tests every byte on its own, which made writing bundles a third of the directory run).
#include <string>

#include <rapidjson/document.h>

#include "kfc/stix/python_json.h"

namespace kfc::sinks::detail {

inline void append_json(const rapidjson::Value& value, std::string& out) { stix::append_compact_json(value, out); }

inline std::string json_text(const rapidjson::Value& value) {
  std::string out;
  append_json(value, out);
  return out;
}

}  // namespace kfc::sinks::detail
