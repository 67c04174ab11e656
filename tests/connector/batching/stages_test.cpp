// Dependency stages (connector/batching/README.md).
#include "kfc/batching/stages.h"

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace {

using kfc::batching::build_stages;
using kfc::batching::StagingError;

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

std::vector<std::vector<std::string>> stage_ids(const std::vector<kfc::stix::Bundle>& stages) {
  std::vector<std::vector<std::string>> ids;
  for (const auto& stage : stages) {
    ids.emplace_back();
    for (const auto& object : stage.objects.GetArray()) ids.back().push_back(object["id"].GetString());
  }
  return ids;
}

std::string staging_error(const std::string& objects) {
  try {
    build_stages(parse(objects));
  } catch (const StagingError& error) {
    return error.what();
  }
  return "(no error)";
}

constexpr const char* kAuthor = "identity--04d070e4-451d-54f4-a42e-c64431074504";

TEST(Stages, ReferenceTestRelationshipReportActorIndicatorAuthor) {
  // The reference's own test: objects relationship, report, actor, indicator, author → stages
  // [author], [indicator, actor], [relationship, report] (each in batch order).
  const auto objects = parse(std::string(R"([
    {"type": "relationship", "id": "relationship--1", "created_by_ref": ")") + kAuthor +
                             R"(", "source_ref": "indicator--1", "target_ref": "threat-actor--1"},
    {"type": "report", "id": "report--1", "created_by_ref": ")" + kAuthor +
                             R"(", "object_refs": ["indicator--1", "threat-actor--1"]},
    {"type": "threat-actor", "id": "threat-actor--1", "created_by_ref": ")" + kAuthor + R"("},
    {"type": "indicator", "id": "indicator--1", "created_by_ref": ")" + kAuthor + R"("},
    {"type": "identity", "id": ")" + kAuthor + R"("}
  ])");
  const auto stages = build_stages(objects);
  EXPECT_EQ(stage_ids(stages),
            (std::vector<std::vector<std::string>>{{kAuthor},
                                                   {"threat-actor--1", "indicator--1"},
                                                   {"relationship--1", "report--1"}}));
}

TEST(Stages, EveryStageIsABundleWithAFreshUuid4Id) {
  const auto stages = build_stages(parse(R"([{"id": "a"}, {"id": "b", "created_by_ref": "a"}])"));
  ASSERT_EQ(stages.size(), 2u);
  const std::regex uuid4("bundle--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  EXPECT_TRUE(std::regex_match(stages[0].id, uuid4)) << stages[0].id;
  EXPECT_TRUE(std::regex_match(stages[1].id, uuid4)) << stages[1].id;
  EXPECT_NE(stages[0].id, stages[1].id);
}

TEST(Stages, DeduplicatesByIdAtFirstPositionWithLastContent) {
  const auto stages = build_stages(parse(R"([
    {"id": "x", "v": 1}, {"id": "y"}, {"id": "x", "v": 2}
  ])"));
  ASSERT_EQ(stages.size(), 1u);
  ASSERT_EQ(stages[0].size(), 2u);
  EXPECT_STREQ(stages[0].objects[0]["id"].GetString(), "x");
  EXPECT_EQ(stages[0].objects[0]["v"].GetInt(), 2);
  EXPECT_STREQ(stages[0].objects[1]["id"].GetString(), "y");
}

TEST(Stages, DependenciesComeFromTheLastContentOfAnId) {
  // The first copy of "b" references "a"; the last one does not, so both are level 0.
  const auto stages = build_stages(parse(R"([{"id": "b", "created_by_ref": "a"}, {"id": "a"}, {"id": "b"}])"));
  EXPECT_EQ(stage_ids(stages), (std::vector<std::vector<std::string>>{{"b", "a"}}));
}

TEST(Stages, LevelIsOnePlusTheDeepestDependency) {
  // d → c → b → a, and e → a: stages [a], [b, e], [c], [d].
  const auto stages = build_stages(parse(R"([
    {"id": "d", "source_ref": "c"}, {"id": "e", "target_ref": "a"}, {"id": "c", "object_refs": ["b", "a"]},
    {"id": "b", "x_opencti_created_by_ref": "a"}, {"id": "a"}
  ])"));
  EXPECT_EQ(stage_ids(stages), (std::vector<std::vector<std::string>>{{"a"}, {"e", "b"}, {"c"}, {"d"}}));
}

TEST(Stages, SelfReferencesAndNullsAreIgnored) {
  const auto stages = build_stages(parse(R"([
    {"id": "a", "created_by_ref": "a", "source_ref": null, "object_refs": ["a"]},
    {"id": "b", "object_refs": null}
  ])"));
  EXPECT_EQ(stage_ids(stages), (std::vector<std::vector<std::string>>{{"a", "b"}}));
}

TEST(Stages, MarkingRefsAreNotDependencies) {
  const auto stages = build_stages(parse(R"([{"id": "a", "object_marking_refs": ["marking-definition--x"]}])"));
  EXPECT_EQ(stages.size(), 1u);
}

TEST(Stages, EmptyBatchHasNoStages) { EXPECT_TRUE(build_stages(parse("[]")).empty()); }

TEST(Stages, ObjectWithoutIdIsRejected) {
  EXPECT_EQ(staging_error(R"([{"id": "a"}, {"type": "indicator"}])"), "Unable to stage STIX object without id");
  EXPECT_EQ(staging_error(R"([{"id": null}])"), "Unable to stage STIX object without id");
  EXPECT_EQ(staging_error(R"([{"id": 5}])"), "Unable to stage STIX object without id");
  EXPECT_EQ(staging_error(R"(["indicator--1"])"), "Unable to stage STIX object without id");
}

TEST(Stages, UnresolvedReferenceNamesFieldObjectAndRef) {
  EXPECT_EQ(staging_error(R"([{"id": "rel", "source_ref": "indicator--gone"}])"),
            "Unresolved STIX reference field=source_ref object=rel ref=indicator--gone");
  EXPECT_EQ(staging_error(R"([{"id": "obs", "x_opencti_created_by_ref": "identity--gone"}])"),
            "Unresolved STIX reference field=x_opencti_created_by_ref object=obs ref=identity--gone");
  EXPECT_EQ(staging_error(R"([{"id": "a"}, {"id": "report", "object_refs": ["a", "b"]}])"),
            "Unresolved STIX reference field=object_refs object=report ref=b");
  EXPECT_EQ(staging_error(R"([{"id": "rel", "target_ref": 7}])"),
            "Unresolved STIX reference field=target_ref object=rel ref=7");
}

TEST(Stages, UnresolvedReferenceIsReportedForTheFirstObjectAndFieldInOrder) {
  // Objects in batch order; within an object created_by_ref, x_opencti_created_by_ref, source_ref,
  // target_ref, then object_refs.
  EXPECT_EQ(staging_error(R"([
    {"id": "r1", "object_refs": ["x1"], "target_ref": "x2", "created_by_ref": "x3"},
    {"id": "r2", "created_by_ref": "x4"}
  ])"),
            "Unresolved STIX reference field=created_by_ref object=r1 ref=x3");
  EXPECT_EQ(staging_error(R"([{"id": "r1", "object_refs": ["x1"], "target_ref": "x2"}])"),
            "Unresolved STIX reference field=target_ref object=r1 ref=x2");
}

TEST(Stages, CycleIsReportedForTheObjectMetAgain) {
  EXPECT_EQ(staging_error(R"([{"id": "a", "source_ref": "b"}, {"id": "b", "target_ref": "a"}])"),
            "Cyclic STIX dependency detected for a");
  EXPECT_EQ(staging_error(R"([{"id": "z"}, {"id": "a", "source_ref": "b"}, {"id": "b", "target_ref": "c"},
                              {"id": "c", "object_refs": ["z", "b"]}])"),
            "Cyclic STIX dependency detected for b");
}

TEST(Stages, LongChainsDoNotExhaustTheStack) {
  // 10000 objects each referencing the next one: resolved without recursion.
  std::string text = "[";
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    if (i) text += ",";
    text += "{\"id\": \"o" + std::to_string(i) + "\"";
    if (i + 1 < n) text += ", \"source_ref\": \"o" + std::to_string(i + 1) + "\"";
    text += "}";
  }
  text += "]";
  const auto stages = build_stages(parse(text));
  ASSERT_EQ(stages.size(), static_cast<std::size_t>(n));
  EXPECT_STREQ(stages.front().objects[0]["id"].GetString(), "o9999");
  EXPECT_STREQ(stages.back().objects[0]["id"].GetString(), "o0");
}

TEST(Stages, InputIsLeftUnchanged) {
  const auto objects = parse(R"([{"id": "a", "v": [1, 2]}, {"id": "a", "v": 3}])");
  build_stages(objects);
  EXPECT_EQ(objects.Size(), 2u);
  EXPECT_TRUE(objects[0]["v"].IsArray());
}

}  // namespace
