// kaspersky.tlp_level: the OpenCTI standard TLP marking on every object the mapping creates, the
// marking definition with them; none (the default) changes nothing.
#include <set>

#include "mapping_test_util.h"
#include "kfc/fixtures/manual_clock.h"

namespace kfc::mapping {
namespace {

using namespace testing;

struct Level {
  const char* level;
  const char* id;
  const char* name;
};

// The ids pycti's MarkingDefinition.generate_id("TLP", ...) gives for the standard markings.
const Level kLevels[] = {
    {"clear", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:CLEAR"},
    {"green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"},
    {"amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER"},
    {"amber+strict", "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37", "TLP:AMBER+STRICT"},
    {"red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED"},
};

rapidjson::Document map_example(const std::string& level) {
  auto fixture = load_fixture("example_a.json");
  MappingOptions options;
  options.tlp_level = level;
  ManualClock clock(fixed_time());
  Mapper mapper(options, clock);
  rapidjson::Document input;
  input.CopyFrom(fixture["input"], input.GetAllocator());
  return run(mapper, input, str(fixture, "collection"));
}

TEST(TlpMarking, EveryCreatedObjectCarriesTheStandardMarking) {
  for (const auto& level : kLevels) {
    SCOPED_TRACE(level.level);
    const auto out = map_example(level.level);
    ASSERT_TRUE(out.IsArray());
    const rapidjson::Value* marking = find_id(out, level.id);
    ASSERT_NE(marking, nullptr) << "the marking definition is not in the bundle: " << dump(out);
    EXPECT_EQ(str(*marking, "type"), "marking-definition");
    EXPECT_EQ(str(*marking, "x_opencti_definition_type"), "TLP");
    EXPECT_EQ(str(*marking, "x_opencti_definition"), level.name);
    std::size_t marked = 0;
    for (const auto& object : out.GetArray()) {
      const std::string type = str(object, "type");
      if (type == "marking-definition" || str(object, "id") == std::string(Mapper::kAuthorId)) {
        EXPECT_FALSE(object.HasMember("object_marking_refs")) << dump(object);
        continue;
      }
      ASSERT_TRUE(object.HasMember("object_marking_refs") && object["object_marking_refs"].IsArray()) << dump(object);
      std::set<std::string> refs;
      for (const auto& ref : object["object_marking_refs"].GetArray()) refs.insert(ref.GetString());
      EXPECT_TRUE(refs.contains(level.id)) << dump(object);
      EXPECT_EQ(refs.size(), object["object_marking_refs"].Size()) << "duplicate marking: " << dump(object);
      ++marked;
    }
    EXPECT_GT(marked, 5u) << dump(out);
  }
}

TEST(TlpMarking, NoneAddsNothing) {
  const auto out = map_example("none");
  for (const auto& object : out.GetArray()) {
    EXPECT_NE(str(object, "type"), "marking-definition") << dump(object);
    EXPECT_FALSE(object.HasMember("object_marking_refs")) << dump(object);
  }
  // And the mapping is otherwise the same as with a marking.
  const auto marked = map_example("amber");
  EXPECT_EQ(out.Size() + 1, marked.Size());
}

}  // namespace
}  // namespace kfc::mapping
