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

// The reference fields are found wherever they stand in the object, the first of a repeated name
// counting (as a look-up by name finds it), and an author removed before the ends does not lose them.
TEST_F(References, ReferenceFieldsInAnyOrderAndTheFirstOfARepeatedName) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {
      kAuthor, kGood,
      R"({"target_ref":"indicator--good","x_opencti_created_by_ref":"identity--nobody","id":"relationship--kept",)"
      R"("type":"relationship","source_ref":"indicator--good","created_by_ref":"identity--gone"})",
      R"({"created_by_ref":"identity--gone","source_ref":"indicator--good","type":"relationship",)"
      R"("target_ref":"malware--gone","id":"relationship--dropped"})",
      R"({"object_refs":["indicator--good"],"created_by_ref":"identity--author","id":"report--r",)"
      R"("created_by_ref":"identity--second","type":"report","object_refs":["indicator--gone"]})",
  });
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("relationship--kept"),
            R"({"target_ref":"indicator--good","id":"relationship--kept","type":"relationship",)"
            R"("source_ref":"indicator--good"})");
  EXPECT_FALSE(objects.contains("relationship--dropped"));
  EXPECT_EQ(objects.at("report--r"),
            R"({"object_refs":["indicator--good"],"created_by_ref":"identity--author","id":"report--r",)"
            R"("created_by_ref":"identity--second","type":"report","object_refs":["indicator--gone"]})");
  const auto repairs = total(batches);
  EXPECT_EQ(repairs.dropped_created_by, 3u);
  EXPECT_EQ(repairs.dropped_relationships, 1u);
  EXPECT_EQ(repairs.dropped_object_refs, 0u);
}

// Objects in a row that name the same object through the same field (the resolution remembers the
// last one found per field) each see whether it is still there: dropped, it is missing for all of
// them, also in the second look the repairs take after a drop (nothing in between names another).
TEST_F(References, ObjectsInARowNamingTheSameDroppedObjectAreAllRepaired) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {
      kAuthor, kGood,
      R"({"type":"relationship","id":"relationship--gone","source_ref":"indicator--good","target_ref":"malware--gone"})",
      R"({"type":"relationship","id":"relationship--a","source_ref":"relationship--gone","target_ref":"indicator--good"})",
      R"({"type":"relationship","id":"relationship--b","source_ref":"relationship--gone","target_ref":"indicator--good"})",
      R"({"type":"identity","id":"identity--x","x_opencti_created_by_ref":"relationship--gone"})",
      R"({"type":"identity","id":"identity--y","x_opencti_created_by_ref":"relationship--gone"})",
  });
  const auto objects = objects_of(batches);
  for (const char* gone : {"relationship--gone", "relationship--a", "relationship--b"}) EXPECT_FALSE(objects.contains(gone)) << gone;
  EXPECT_EQ(objects.at("identity--x"), R"({"type":"identity","id":"identity--x"})");
  EXPECT_EQ(objects.at("identity--y"), R"({"type":"identity","id":"identity--y"})");
  EXPECT_TRUE(objects.contains("indicator--good"));
  const auto repairs = total(batches);
  EXPECT_EQ(repairs.dropped_relationships, 3u);
  EXPECT_EQ(repairs.dropped_created_by, 2u);
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

// An alias delivered again with another id names the latest one (the remembered aliases keep their
// ids in one buffer, rewritten as old ids pile up).
TEST_F(References, AnAliasGivenAnotherIdLaterNamesTheLatest) {
  BatcherOptions options = cap(1);
  options.remembered_ids = 64;
  Batcher batcher(normalising, options);
  std::vector<std::string> feed;
  for (int i = 1; i <= 5; ++i)
    feed.push_back(R"({"type":"indicator","id":"indicator--feed-1","x_standard_id":"indicator--std-)" + std::to_string(i) + "\"}");
  feed.push_back(R"({"type":"report","id":"report--r","object_refs":["indicator--feed-1"]})");
  const auto batches = run(batcher, feed);
  EXPECT_EQ(objects_of(batches).at("report--r"), R"({"type":"report","id":"report--r","object_refs":["indicator--std-5"]})");
  EXPECT_EQ(total(batches).rewritten, 1u);
}

// Objects are remembered as they are sent, stage by stage: of two objects of one batch claiming
// the same alias, the one of the later stage names it afterwards, wherever both stood in the batch.
TEST_F(References, AnAliasClaimedTwiceInABatchNamesTheObjectOfTheLaterStage) {
  Batcher batcher(normalising, cap(3));
  const auto batches = run(batcher, {
      kAuthor,
      R"({"type":"indicator","id":"x--alias","x_standard_id":"indicator--a","created_by_ref":"identity--author"})",
      R"({"type":"identity","id":"x--alias","x_standard_id":"identity--b"})",
      R"({"type":"report","id":"report--r","object_refs":["x--alias"]})",
  });
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(stage_sizes(batches[0]), (std::vector<std::size_t>{2, 1}));  // author, identity--b; indicator--a
  EXPECT_EQ(objects_of(batches).at("report--r"), R"({"type":"report","id":"report--r","object_refs":["indicator--a"]})");
}

// The remembered aliases hold their ids' text; an id longer than any STIX id is not kept for that
// (a hostile feed cannot fill the memory with it): a later reference to its alias points nowhere.
TEST_F(References, AnAliasOfAnIdLongerThanAnyStixIdIsNotRemembered) {
  Batcher batcher(normalising, cap(1));
  const std::string long_id = "indicator--" + std::string(300, 'x');
  const auto batches = run(batcher, {R"({"type":"identity","id":"identity--a"})",
                                     R"({"type":"indicator","id":"indicator--feed-1","x_standard_id":")" + long_id + "\"}",
                                     R"({"type":"report","id":"report--r","object_refs":["indicator--feed-1","identity--a"]})"});
  const auto objects = objects_of(batches);
  EXPECT_TRUE(objects.contains(long_id));  // delivered all the same
  EXPECT_EQ(total(batches).rewritten, 0u);
  EXPECT_EQ(total(batches).dropped_object_refs, 1u);
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

// Reference cycles (README.md, "Reference cycles"): the stages cannot order objects that reference
// each other in a ring. The weakest reference that closes the ring is removed — an author before a
// report's element, a relationship's required end never (the relationship goes instead) — counted,
// logged once with the ids around the cycle; every other object stays byte for byte as it came.

// Two identities naming each other as author: the later one's author reference closes the cycle.
TEST_F(References, TwoObjectsNamingEachOtherAsAuthorAreBothDelivered) {
  const std::string a = R"({"type":"identity","id":"identity--a","name":"A","created_by_ref":"identity--b"})";
  const std::string b = R"({"type":"identity","id":"identity--b","name":"B","created_by_ref":"identity--a"})";
  for (const auto mode : {UnresolvedReferences::Drop, UnresolvedReferences::Keep}) {
    BatcherOptions options;
    options.unresolved_references = mode;
    Batcher batcher(normalising, options);
    const auto batches = run(batcher, {a, b, kAuthor, kGood});
    const auto objects = objects_of(batches);
    EXPECT_EQ(objects.at("identity--a"), a);  // its reference is kept: b now comes first
    EXPECT_EQ(objects.at("identity--b"), R"({"type":"identity","id":"identity--b","name":"B"})");
    EXPECT_EQ(objects.at("indicator--good"), kGood);
    const auto repairs = total(batches);
    EXPECT_EQ(repairs.cycle_references_dropped, 1u);
    EXPECT_EQ(repairs.cycle_relationships_dropped, 0u);
    EXPECT_THAT(repairs.by_kind(), ::testing::ElementsAre(std::pair<std::string, std::uint64_t>{"reference_cycle_broken", 1}));
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].stages.size(), 2u);
    EXPECT_THAT(compact(batches[0].stages[0].objects), HasSubstr("identity--b"));
    EXPECT_THAT(compact(batches[0].stages[1].objects), HasSubstr("identity--a"));
  }
  const std::string log = log_.str();
  EXPECT_THAT(log, HasSubstr("object identity--b: reference cycle broken: dropped created_by_ref identity--a "
                             "(cycle identity--b → identity--a → identity--b)"));
  std::size_t lines = 0;
  for (auto at = log.find("reference cycle broken"); at != std::string::npos; at = log.find("reference cycle broken", at + 1))
    ++lines;
  EXPECT_EQ(lines, 2u) << "one line for each of the two runs: " << log;
  // The same batch breaks the same reference: the order decides, not chance.
  Batcher reversed(normalising);
  const auto objects = objects_of(run(reversed, {b, a}));
  EXPECT_EQ(objects.at("identity--b"), b);
  EXPECT_EQ(objects.at("identity--a"), R"({"type":"identity","id":"identity--a","name":"A"})");
}

// report--1 → relationship--r → report--2 → report--1, through object_refs, a target_ref and
// object_refs: of the two report elements, the later one closes the cycle; the relationship's
// required end is never the one given up.
TEST_F(References, ALongerCycleThroughReportsAndARelationshipLosesOneReportElement) {
  const std::string report1 = R"({"type":"report","id":"report--1","object_refs":["relationship--r"]})";
  const std::string relationship =
      R"({"type":"relationship","id":"relationship--r","source_ref":"indicator--good","target_ref":"report--2"})";
  const std::string report2 = R"({"type":"report","id":"report--2","object_refs":["report--1","indicator--good"]})";
  Batcher batcher(normalising);
  const auto batches = run(batcher, {kAuthor, kGood, report1, relationship, report2});
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("report--1"), report1);
  EXPECT_EQ(objects.at("relationship--r"), relationship);
  EXPECT_EQ(objects.at("report--2"), R"({"type":"report","id":"report--2","object_refs":["indicator--good"]})");
  EXPECT_EQ(objects.at("indicator--good"), kGood);
  const auto repairs = total(batches);
  EXPECT_EQ(repairs.cycle_references_dropped, 1u);
  EXPECT_EQ(repairs.dropped_object_refs + repairs.dropped_relationships + repairs.cycle_relationships_dropped, 0u);
  ASSERT_EQ(batches.size(), 1u);
  // author, indicator, report--2, relationship--r, report--1
  EXPECT_EQ(batches[0].stages.size(), 5u);
  EXPECT_THAT(log_.str(), HasSubstr("object report--2: reference cycle broken: dropped object_refs report--1 "
                                    "(cycle report--2 → report--1 → relationship--r → report--2)"));
}

// An author inside a longer cycle goes before any report element.
TEST_F(References, AnAuthorReferenceIsGivenUpBeforeAReportElement) {
  const std::string report = R"({"type":"report","id":"report--1","object_refs":["identity--x"]})";
  const std::string identity = R"({"type":"identity","id":"identity--x","created_by_ref":"report--1"})";
  Batcher batcher(normalising);
  const auto objects = objects_of(run(batcher, {identity, report}));
  EXPECT_EQ(objects.at("report--1"), report);
  EXPECT_EQ(objects.at("identity--x"), R"({"type":"identity","id":"identity--x"})");
}

// Two relationships whose required ends name each other: the later one is dropped (then the first
// one's end points nowhere, and it follows, as for any relationship to a missing object).
TEST_F(References, ACycleOfRequiredReferencesDropsTheRelationshipThatClosesIt) {
  Batcher batcher(normalising);
  const auto batches = run(batcher, {
      kAuthor, kGood,
      R"({"type":"relationship","id":"relationship--x","source_ref":"indicator--good","target_ref":"relationship--y"})",
      R"({"type":"relationship","id":"relationship--y","source_ref":"relationship--x","target_ref":"indicator--good"})",
  });
  const auto objects = objects_of(batches);
  EXPECT_FALSE(objects.contains("relationship--y"));
  EXPECT_FALSE(objects.contains("relationship--x"));
  EXPECT_EQ(objects.at("indicator--good"), kGood);
  const auto repairs = total(batches);
  EXPECT_EQ(repairs.cycle_relationships_dropped, 1u);
  EXPECT_EQ(repairs.dropped_relationships, 1u);
  EXPECT_EQ(repairs.cycle_references_dropped, 0u);
  EXPECT_THAT(repairs.by_kind(), ::testing::Contains(std::pair<std::string, std::uint64_t>{"relationship_in_cycle_dropped", 1}));
  EXPECT_THAT(log_.str(), HasSubstr("object relationship--y: dropped: its source_ref closes a reference cycle of required "
                                    "references (cycle relationship--y → relationship--x → relationship--y)"));
}

// An object naming itself is no cycle: nothing is removed or counted.
TEST_F(References, ASelfReferenceIsNoCycle) {
  const std::string identity = R"({"type":"identity","id":"identity--self","created_by_ref":"identity--self"})";
  const std::string report = R"({"type":"report","id":"report--self","object_refs":["report--self","indicator--good"]})";
  Batcher batcher(normalising);
  const auto batches = run(batcher, {identity, report, kAuthor, kGood});
  const auto objects = objects_of(batches);
  EXPECT_EQ(objects.at("identity--self"), identity);
  EXPECT_EQ(objects.at("report--self"), report);
  EXPECT_FALSE(total(batches).any());
  EXPECT_EQ(log_.str(), "");
}

}  // namespace
