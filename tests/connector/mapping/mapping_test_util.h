#pragma once
// Shared helpers of the mapping tests: fixtures, a fixed clock, JSON shortcuts.
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kfc/config/clock.h"
#include "kfc/mapping/mapper.h"

namespace kfc::mapping::testing {

// 2026-04-21T10:00:00.245366Z: the generated created/modified must print as kNow.
inline SystemTime fixed_time() {
  using namespace std::chrono;
  return sys_days{year{2026} / 4 / 21} + hours{10} + microseconds{245366};
}
inline constexpr const char* kNow = "2026-04-21T10:00:00.245366Z";

inline rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  EXPECT_FALSE(d.HasParseError()) << "bad JSON in test: " << text.substr(0, 200);
  return d;
}

inline rapidjson::Document load_fixture(const std::string& name) {
  std::ifstream in(std::string(KFC_MAPPING_TEST_DATA) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << "missing fixture " << name;
  return parse(text.str());
}

inline std::string dump(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

inline std::string str(const rapidjson::Value& o, const char* key) {
  if (!o.IsObject() || !o.HasMember(key) || !o[key].IsString()) return "<absent>";
  return o[key].GetString();
}

// Runs collect (with `collection`) on every input object, then one transform.
inline rapidjson::Document run(Mapper& mapper, rapidjson::Document& input, const std::string& collection) {
  for (auto& o : input.GetArray()) mapper.collect(o, input.GetAllocator(), collection);
  rapidjson::Document out;
  mapper.transform(input, out);
  return out;
}

inline const rapidjson::Value* find_id(const rapidjson::Value& objects, const std::string& id) {
  for (const auto& o : objects.GetArray())
    if (str(o, "id") == id) return &o;
  return nullptr;
}

}  // namespace kfc::mapping::testing
