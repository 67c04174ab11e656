#pragma once
// Bundles and ids shared by the AMQP sink suites (the everyday one and the broker-restart one, which
// is its own executable so ctest can run it alone).
#include <random>
#include <set>
#include <string>

#include "kfc/stix/bundle.h"

namespace kfc::sinks::test_bundles {

inline constexpr char kApplicant[] = "user--2b7c0e3e-applicant";

// A name no earlier test run has used on the shared broker.
inline std::string random_id() {
  static std::mt19937_64 random{std::random_device{}()};
  return "kfc-test-" + std::to_string(random());
}

// A Kaspersky-like stage: author, n indicators authored by it, one relationship per indicator.
inline stix::Bundle stage(int indicators, const std::string& tag = "a") {
  stix::Bundle bundle;
  bundle.id = "bundle--" + tag;
  auto& alloc = bundle.objects.GetAllocator();
  auto object = [&](const std::string& type, const std::string& id) {
    rapidjson::Value value(rapidjson::kObjectType);
    value.AddMember("type", rapidjson::Value(type.c_str(), alloc), alloc);
    value.AddMember("id", rapidjson::Value(id.c_str(), alloc), alloc);
    return value;
  };
  bundle.objects.PushBack(object("identity", "identity--" + tag), alloc);
  for (int i = 0; i < indicators; ++i) {
    auto indicator = object("indicator", "indicator--" + tag + "-" + std::to_string(i));
    indicator.AddMember("created_by_ref", rapidjson::Value(("identity--" + tag).c_str(), alloc), alloc);
    indicator.AddMember("name", "caf\xc3\xa9 \xe2\x82\xac", alloc);
    bundle.objects.PushBack(indicator, alloc);
  }
  for (int i = 0; i < indicators; ++i) {
    auto relationship = object("relationship", "relationship--" + tag + "-" + std::to_string(i));
    relationship.AddMember("source_ref", rapidjson::Value(("indicator--" + tag + "-" + std::to_string(i)).c_str(), alloc), alloc);
    relationship.AddMember("target_ref", rapidjson::Value(("identity--" + tag).c_str(), alloc), alloc);
    bundle.objects.PushBack(relationship, alloc);
  }
  return bundle;
}

// Objects with no references: one dependency rank, so every message is published before any confirm.
inline stix::Bundle independent(int count, const std::string& tag) {
  stix::Bundle bundle;
  bundle.id = "bundle--" + tag;
  auto& alloc = bundle.objects.GetAllocator();
  for (int i = 0; i < count; ++i) {
    rapidjson::Value value(rapidjson::kObjectType);
    value.AddMember("type", "identity", alloc);
    value.AddMember("id", rapidjson::Value(("identity--" + tag + "-" + std::to_string(i)).c_str(), alloc), alloc);
    bundle.objects.PushBack(value, alloc);
  }
  return bundle;
}

inline std::set<std::string> ids_of(const stix::Bundle& bundle) {
  std::set<std::string> ids;
  for (const auto& object : bundle.objects.GetArray()) ids.insert(object["id"].GetString());
  return ids;
}

}  // namespace kfc::sinks::test_bundles
