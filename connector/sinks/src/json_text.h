#pragma once
// The one place the sinks turn JSON values into text. Compact RapidJSON output for now.
// Hook: when kfc/stix/python_json.h is in main, switch to stix::python_dumps here so message content
// is byte-identical to pycti's json.dumps (OpenCTI's worker accepts either).
#include <string>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace kfc::sinks::detail {

inline void append_json(const rapidjson::Value& value, std::string& out) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  out.append(buffer.GetString(), buffer.GetSize());
}

inline std::string json_text(const rapidjson::Value& value) {
  std::string out;
  append_json(value, out);
  return out;
}

}  // namespace kfc::sinks::detail
