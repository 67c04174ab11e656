// References that point nowhere never abort a run: they are resolved against the batch and the
// batches taken before it in the run, rewritten from an alias to the id, or dropped with what needs
// them — counted, logged once per object — while every other object stays exactly as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <vector>

#include "batcher_test_support.h"
#include "kfc/batching/batcher.h"

namespace {

using namespace kfc::batching;
using namespace kfc::batching::test;
using rapidjson::Document;
using rapidjson::Value;
using ::testing::HasSubstr;

// Feed objects pass through, except an indicator with "x_standard_id", which gets that id and keeps
// its feed id in x_opencti_stix_ids — what the mapping's id normalisation does.
void normalising(Document& feed_objects, Document& out) {
  out.SetArray();
  auto& a = out.GetAllocator();
  for (auto& feed : feed_objects.GetArray()) {
    Value object(feed, a);
    if (object.HasMember("x_standard_id")) {
      Value stix_ids(rapidjson::kArrayType);
      stix_ids.PushBack(Value(object["id"], a), a);
      object["id"] = Value(object["x_standard_id"], a);
      object.RemoveMember("x_standard_id");
      object.AddMember("x_opencti_stix_ids", stix_ids, a);
    }
    out.PushBack(object, a);
  }
}

std::string compact(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

// Every object of every batch, compact, by id.
std::map<std::string, std::string> objects_of(const std::vector<Batch>& batches) {
  std::map<std::string, std::string> objects;
  for (const auto& batch : batches) {
    for (const auto& stage : batch.stages) {
      for (const auto& object : stage.objects.GetArray()) objects[object["id"].GetString()] = compact(object);
    }
  }
  return objects;
}

ReferenceRepairs total(const std::vector<Batch>& batches) {
  ReferenceRepairs sum;
  for (const auto& batch : batches) sum += batch.references;
  return sum;
}

BatcherOptions cap(std::size_t n) {
  BatcherOptions options;
  options.max_bundle_objects = n;
  return options;
}

class References : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)));
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }

  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_;
};

const std::string kGood = R"({"type":"indicator","id":"indicator--good","name":"IP","created_by_ref":"identity--author"})";
const std::string kAuthor = R"({"type":"identity","id":"identity--author","name":"Kaspersky"})";

TEST_F(References, AnOrphanCreatedByRefIsDroppedAndTheObjectKept) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {kAuthor, kGood,
                                     R"({"type":"malware","id":"malware--m","name":"X","created_by_ref":"identity--nobody"})"});
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("malware--m"), R"({"type":"malware","id":"malware--m","name":"X"})");
  EXPECT_EQ(objects.at("indicator--good"), kGood);  // untouched, byte for byte
  EXPECT_EQ(total(batches).dropped_created_by, 1u);
  EXPECT_THAT(log_.str(), HasSubstr("object malware--m: dropped created_by_ref identity--nobody"));
}

TEST_F(References, OrphanReportRefsAreDroppedAndAReportLeftWithoutRefsToo) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {
      kAuthor, kGood,
      R"({"type":"report","id":"report--half","object_refs":["indicator--good","indicator--gone"]})",
      R"({"type":"report","id":"report--none","object_refs":["indicator--gone","x--gone2"]})",
      R"({"type":"report","id":"report--empty","object_refs":[]})",
  });
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("report--half"), R"({"type":"report","id":"report--half","object_refs":["indicator--good"]})");
  EXPECT_FALSE(objects.contains("report--none"));
  // Sent empty by the feed: left as it came (the reference connector sends those too).
  EXPECT_TRUE(objects.contains("report--empty"));
  const auto repairs = total(batches);
  EXPECT_EQ(repairs.dropped_object_refs, 3u);
  EXPECT_EQ(repairs.dropped_without_refs, 1u);
  const std::string log = log_.str();
  EXPECT_THAT(log, HasSubstr("object report--none: dropped object_refs indicator--gone, x--gone2"));
  EXPECT_EQ(log.find("report--none"), log.rfind("report--none")) << "logged once per object";
}

TEST_F(References, ARelationshipToAMissingObjectIsDroppedAndWhatReferencesItFollows) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {
      kAuthor, kGood,
      R"({"type":"relationship","id":"relationship--r","source_ref":"indicator--good","target_ref":"malware--gone"})",
      R"({"type":"report","id":"report--of-r","object_refs":["relationship--r"]})",
  });
  const auto objects = objects_of(batches);
  EXPECT_FALSE(objects.contains("relationship--r"));
  EXPECT_FALSE(objects.contains("report--of-r"));
  EXPECT_TRUE(objects.contains("indicator--good"));
  const auto repairs = total(batches);
  EXPECT_EQ(repairs.dropped_relationships, 1u);
  EXPECT_EQ(repairs.dropped_without_refs, 1u);
  EXPECT_THAT(log_.str(), HasSubstr("object relationship--r: dropped: its target_ref malware--gone was not delivered"));
}

// A reference to the feed id of an indicator (normalised to its standard id) points at the standard
// id: in the same batch and across batches.
TEST_F(References, AReferenceToAnIndicatorsFeedIdIsRewrittenToItsNormalisedId) {
  Batcher batcher(normalising, cap(2));
  const auto batches = run(batcher, {
      R"({"type":"indicator","id":"indicator--feed-1","x_standard_id":"indicator--std-1"})",
      R"({"type":"report","id":"report--same","object_refs":["indicator--feed-1"]})",
      R"({"type":"identity","id":"identity--filler-1"})",
      R"({"type":"identity","id":"identity--filler-2"})",
      R"({"type":"identity","id":"identity--filler-3"})",
      R"({"type":"report","id":"report--later","object_refs":["indicator--feed-1"]})",
  });
  ASSERT_GE(batches.size(), 3u);
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("report--same"), R"({"type":"report","id":"report--same","object_refs":["indicator--std-1"]})");
  EXPECT_EQ(objects.at("report--later"), R"({"type":"report","id":"report--later","object_refs":["indicator--std-1"]})");
  EXPECT_EQ(total(batches).rewritten, 2u);
  EXPECT_THAT(log_.str(), HasSubstr("reference indicator--feed-1 rewritten to indicator--std-1"));
}

// An object delivered by an earlier batch of the run resolves the reference: nothing is dropped, and
// the batch's stages carry no dependency on it (it is not in the batch).
TEST_F(References, AnObjectDeliveredEarlierInTheRunResolvesTheReference) {
  Batcher batcher(normalising, cap(2));
  const auto batches = run(batcher, {
      kAuthor,
      R"({"type":"identity","id":"identity--filler-1"})",
      R"({"type":"identity","id":"identity--filler-2"})",
      R"({"type":"identity","id":"identity--filler-3"})",
      R"({"type":"malware","id":"malware--m","created_by_ref":"identity--author"})",
  });
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("malware--m"), R"({"type":"malware","id":"malware--m","created_by_ref":"identity--author"})");
  EXPECT_FALSE(total(batches).any());
  EXPECT_EQ(batches.back().stages.size(), 1u);
}

TEST_F(References, ObjectsWithoutAnIdAreDroppedNotFatal) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {kGood, R"({"type":"note","content":"no id"})", R"({"type":"note","id":7})"});
  EXPECT_EQ(total(batches).dropped_without_id, 2u);
  EXPECT_TRUE(objects_of(batches).contains("indicator--good"));
}

// The reference's 100-object source batches (the dry run) go through the same resolution.
TEST_F(References, SourceBatchesAreResolvedToo) {
  BatcherOptions options;
  options.sizing = BundleSizing::SourceBatches;
  options.source_batch_size = 2;
  Batcher batcher(normalising, options);
  const auto batches = run(batcher, {
      R"({"type":"indicator","id":"indicator--feed-1","x_standard_id":"indicator--std-1"})",
      kAuthor,
      R"({"type":"report","id":"report--r","object_refs":["indicator--feed-1","indicator--gone"],"created_by_ref":"identity--author"})",
  });
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(objects_of(batches).at("report--r"),
            R"({"type":"report","id":"report--r","object_refs":["indicator--std-1"],"created_by_ref":"identity--author"})");
  EXPECT_EQ(total(batches).rewritten, 1u);
  EXPECT_EQ(total(batches).dropped_object_refs, 1u);
}

// Memory is bounded: only the most recent ids are remembered. A reference to an object delivered
// long before (here: beyond twice the remembered count) is dropped, like one to an unknown object.
TEST_F(References, RememberedIdsAreBounded) {
  BatcherOptions options = cap(1);
  options.remembered_ids = 4;
  Batcher batcher(normalising, options);
  std::vector<std::string> feed = {R"({"type":"identity","id":"identity--old"})"};
  for (int i = 0; i < 12; ++i) feed.push_back(R"({"type":"identity","id":"identity--filler-)" + std::to_string(i) + "\"}");
  feed.push_back(R"({"type":"malware","id":"malware--m","created_by_ref":"identity--old"})");
  feed.push_back(R"({"type":"malware","id":"malware--n","created_by_ref":"identity--filler-11"})");
  const auto batches = run(batcher, feed);
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("malware--m"), R"({"type":"malware","id":"malware--m"})");
  EXPECT_EQ(objects.at("malware--n"), R"({"type":"malware","id":"malware--n","created_by_ref":"identity--filler-11"})");
  EXPECT_EQ(total(batches).dropped_created_by, 1u);
}

// A short id lives inside its JSON value: erasing a member before it must not invalidate it.
TEST_F(References, ShortIdsSurviveTheRepairOfTheirObject) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {R"({"created_by_ref":"x--gone","type":"note","id":"n--1","object_refs":["n--1"]})"});
  EXPECT_EQ(objects_of(batches).at("n--1"), R"({"type":"note","id":"n--1","object_refs":["n--1"]})");
}

// The generic TAXII mode keeps what resolves nowhere in the run (an object of an earlier run, or one
// the platform holds): the same feed, both settings. Keep sends those objects untouched and counts
// each reference once, even when a drop elsewhere makes the resolution look at the batch again; a
// reference that is not text is dropped in both; an alias is rewritten in both.
TEST_F(References, KeepLeavesUnresolvedReferencesToThePlatformDropRemovesThem) {
  const std::string relationship =
      R"({"type":"relationship","id":"relationship--r","source_ref":"indicator--good","target_ref":"malware--earlier-run"})";
  const std::string report = R"({"type":"report","id":"report--r","object_refs":["indicator--good","x--in-opencti"]})";
  const std::string malware = R"({"type":"malware","id":"malware--m","created_by_ref":"identity--in-opencti"})";
  const std::vector<std::string> feed = {
      kAuthor, kGood, relationship, report, malware,
      R"({"type":"relationship","id":"relationship--bad","source_ref":7,"target_ref":"indicator--good"})",
      R"({"type":"indicator","id":"indicator--feed-1","x_standard_id":"indicator--std-1"})",
      R"({"type":"relationship","id":"relationship--alias","source_ref":"indicator--feed-1","target_ref":"indicator--good"})",
  };

  BatcherOptions keep_options;
  keep_options.unresolved_references = UnresolvedReferences::Keep;
  Batcher keeping(normalising, keep_options);
  const auto kept = run(keeping, feed);
  const auto kept_objects = objects_of(kept);
  EXPECT_EQ(kept_objects.at("relationship--r"), relationship);  // untouched, byte for byte
  EXPECT_EQ(kept_objects.at("report--r"), report);
  EXPECT_EQ(kept_objects.at("malware--m"), malware);
  EXPECT_FALSE(kept_objects.contains("relationship--bad"));
  EXPECT_EQ(kept_objects.at("relationship--alias"),
            R"({"type":"relationship","id":"relationship--alias","source_ref":"indicator--std-1","target_ref":"indicator--good"})");
  const auto kept_repairs = total(kept);
  EXPECT_EQ(kept_repairs.kept_external, 3u);
  EXPECT_EQ(kept_repairs.dropped_relationships, 1u);
  EXPECT_EQ(kept_repairs.dropped_created_by + kept_repairs.dropped_object_refs + kept_repairs.dropped_without_refs, 0u);
  EXPECT_EQ(kept_repairs.rewritten, 1u);
  EXPECT_THAT(kept_repairs.by_kind(), ::testing::Contains(std::pair<std::string, std::uint64_t>{"external_reference_kept", 3}));
  // The kept references are no dependencies: the relationship follows only the indicator it names.
  ASSERT_EQ(kept.size(), 1u);
  ASSERT_EQ(kept[0].stages.size(), 3u);  // author, malware…; the authored indicator; relationships, report
  EXPECT_THAT(compact(kept[0].stages[2].objects), HasSubstr("relationship--r"));

  Batcher dropping(normalising);
  const auto dropped = run(dropping, feed);
  const auto dropped_objects = objects_of(dropped);
  EXPECT_FALSE(dropped_objects.contains("relationship--r"));
  EXPECT_EQ(dropped_objects.at("report--r"), R"({"type":"report","id":"report--r","object_refs":["indicator--good"]})");
  EXPECT_EQ(dropped_objects.at("malware--m"), R"({"type":"malware","id":"malware--m"})");
  const auto dropped_repairs = total(dropped);
  EXPECT_EQ(dropped_repairs.kept_external, 0u);
  EXPECT_EQ(dropped_repairs.dropped_relationships, 2u);
  EXPECT_EQ(dropped_repairs.rewritten, 1u);
}

}  // namespace
