// The Batcher: source batches, the cluster cap, the before-staging hook and stages (connector/batching/README.md)
// driven in streaming fashion. The transform used here is a small Kaspersky-shaped expansion written
// for the tests (author + indicator + locations + relationships + report), so the invariants can be
// checked on feeds of any shape; the real Mapper plugs into the same TransformFn.
#include "kfc/batching/batcher.h"

#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "batcher_test_support.h"
#include "kfc/batching/stages.h"

namespace {

using namespace kfc::batching;
using namespace kfc::batching::test;
using rapidjson::Document;
using rapidjson::Value;

constexpr const char* kAuthor = "identity--04d070e4-451d-54f4-a42e-c64431074504";

Value str(const std::string& s, Document::AllocatorType& a) { return Value(s.c_str(), a); }

// A feed indicator: {"type": "indicator", "id": …, "description": …, "x_locations": [codes],
// "x_report": name, "x_size": n}. Expansion: the author, the indicator, one location per code and a
// relationship to each, the report (object_refs = [indicator]) and `x_size` extra sector identities.
// Any other feed object passes through. Objects are merged by id like the mapping does.
class TestExpansion {
 public:
  void operator()(Document& feed_objects, Document& out) {
    ++calls;
    batch_sizes.push_back(feed_objects.Size());
    out.SetArray();
    auto& a = out.GetAllocator();
    add(out, author(a));
    for (auto& feed : feed_objects.GetArray()) {
      if (feed.HasMember("x_fail")) throw std::runtime_error("mapping failed on purpose");
      if (std::string(feed["type"].GetString()) != "indicator") {
        add(out, Value(feed, a));
        continue;
      }
      const std::string indicator_id = feed["id"].GetString();
      Value indicator(feed, a);
      indicator.RemoveMember("x_locations");
      indicator.RemoveMember("x_report");
      indicator.RemoveMember("x_size");
      indicator.AddMember("created_by_ref", str(kAuthor, a), a);
      add(out, std::move(indicator));
      if (feed.HasMember("x_locations")) {
        for (const auto& code : feed["x_locations"].GetArray()) {
          const std::string location_id = std::string("location--") + code.GetString();
          Value location(rapidjson::kObjectType);
          location.AddMember("type", "location", a);
          location.AddMember("id", str(location_id, a), a);
          location.AddMember("created_by_ref", str(kAuthor, a), a);
          add(out, std::move(location));
          Value relationship(rapidjson::kObjectType);
          relationship.AddMember("type", "relationship", a);
          relationship.AddMember("id", str("relationship--" + indicator_id + "-" + location_id, a), a);
          relationship.AddMember("created_by_ref", str(kAuthor, a), a);
          relationship.AddMember("source_ref", str(indicator_id, a), a);
          relationship.AddMember("target_ref", str(location_id, a), a);
          add(out, std::move(relationship));
        }
      }
      if (feed.HasMember("x_size")) {
        for (int i = 0; i < feed["x_size"].GetInt(); ++i) {
          Value sector(rapidjson::kObjectType);
          sector.AddMember("type", "identity", a);
          sector.AddMember("id", str("identity--" + indicator_id + "-" + std::to_string(i), a), a);
          add(out, std::move(sector));
        }
      }
      if (feed.HasMember("x_report")) {
        Value report(rapidjson::kObjectType);
        report.AddMember("type", "report", a);
        report.AddMember("id", str(std::string("report--") + feed["x_report"].GetString(), a), a);
        report.AddMember("created_by_ref", str(kAuthor, a), a);
        Value types(rapidjson::kArrayType);
        types.PushBack("indicator", a);
        if (feed.HasMember("x_report_type")) types.PushBack(str(feed["x_report_type"].GetString(), a), a);
        report.AddMember("report_types", types, a);
        Value refs(rapidjson::kArrayType);
        refs.PushBack(str(indicator_id, a), a);
        report.AddMember("object_refs", refs, a);
        add(out, std::move(report));
      }
    }
  }

  int calls = 0;
  std::vector<std::size_t> batch_sizes;

 private:
  static Value author(Document::AllocatorType& a) {
    Value author(rapidjson::kObjectType);
    author.AddMember("type", "identity", a);
    author.AddMember("id", str(kAuthor, a), a);
    author.AddMember("description", "Kaspersky Lab develops…", a);
    return author;
  }
  // First position, last content (the mapping's add()).
  static void add(Document& out, Value&& object) {
    for (auto& existing : out.GetArray()) {
      if (existing["id"] == object["id"]) {
        existing = object;
        return;
      }
    }
    out.PushBack(object, out.GetAllocator());
  }
};

// Independent objects only: feed {"x_cluster": n, "id": p} expands to exactly n objects p-0 … p-(n-1),
// with no author and no references, to reproduce the reference's cluster-size tests.
void sized_clusters(Document& feed_objects, Document& out) {
  out.SetArray();
  auto& a = out.GetAllocator();
  for (const auto& feed : feed_objects.GetArray()) {
    for (int i = 0; i < feed["x_cluster"].GetInt(); ++i) {
      Value object(rapidjson::kObjectType);
      object.AddMember("id", str(std::string(feed["id"].GetString()) + "-" + std::to_string(i), a), a);
      out.PushBack(object, a);
    }
  }
}

std::vector<std::size_t> batch_sizes(const std::vector<Batch>& batches) {
  std::vector<std::size_t> sizes;
  for (const auto& batch : batches) sizes.push_back(batch.object_count());
  return sizes;
}

std::vector<std::string> ids_of(const Batch& batch) {
  std::vector<std::string> ids;
  for (const auto& stage : batch.stages)
    for (const auto& object : stage.objects.GetArray()) ids.push_back(object["id"].GetString());
  return ids;
}

const Value* find(const Batch& batch, const std::string& id) {
  for (const auto& stage : batch.stages)
    for (const auto& object : stage.objects.GetArray())
      if (id == object["id"].GetString()) return &object;
  return nullptr;
}

std::string cluster(const std::string& id, int size) {
  return R"({"id": ")" + id + R"(", "x_cluster": )" + std::to_string(size) + "}";
}

BatcherOptions cap(std::size_t limit) {
  BatcherOptions options;
  options.max_bundle_objects = limit;
  return options;
}

TEST(ClusterCap, ReferenceResultsWithLimitFive) {
  // connector/batching/README.md: clusters 4, 4 → batches 4, 4; clusters 2, 6, 2 → batches 2, 6, 2.
  {
    Batcher batcher(sized_clusters, cap(5));
    EXPECT_EQ(batch_sizes(run(batcher, {cluster("a", 4), cluster("b", 4)})), (std::vector<std::size_t>{4, 4}));
  }
  {
    Batcher batcher(sized_clusters, cap(5));
    EXPECT_EQ(batch_sizes(run(batcher, {cluster("a", 2), cluster("b", 6), cluster("c", 2)})),
              (std::vector<std::size_t>{2, 6, 2}));
  }
}

TEST(ClusterCap, FillsUpToTheLimitExactlyAndSkipsEmptyClusters) {
  Batcher batcher(sized_clusters, cap(5));
  const auto batches =
      run(batcher, {cluster("a", 3), cluster("e", 0), cluster("b", 2), cluster("c", 3), cluster("d", 3)});
  EXPECT_EQ(batch_sizes(batches), (std::vector<std::size_t>{5, 3, 3}));
  EXPECT_EQ(batches[0].feed_objects, 3u);  // a, the empty e, b
  EXPECT_EQ(batches[0].number, 1u);
  EXPECT_EQ(batches[2].number, 3u);
}

TEST(ClusterCap, DefaultLimitIsOneThousand) {
  Batcher batcher(sized_clusters);
  const auto batches = run(batcher, {cluster("a", 600), cluster("b", 400), cluster("c", 1)});
  EXPECT_EQ(batch_sizes(batches), (std::vector<std::size_t>{1000, 1}));
}

TEST(ClusterCap, ABatchIsClosedAsSoonAsTheNextClusterDoesNotFit) {
  Batcher batcher(sized_clusters, cap(5));
  batcher.push(parse(cluster("a", 4)));
  EXPECT_FALSE(batcher.has_ready());
  batcher.push(parse(cluster("b", 4)));
  ASSERT_TRUE(batcher.has_ready());
  EXPECT_EQ(batcher.take().object_count(), 4u);
  EXPECT_FALSE(batcher.has_ready());
  batcher.finish();
  EXPECT_EQ(batcher.take().object_count(), 4u);
  EXPECT_FALSE(batcher.has_ready());
}

TEST(ClusterCap, TakeWithoutReadyBatchIsALogicError) {
  Batcher batcher(sized_clusters);
  EXPECT_THROW(batcher.take(), std::logic_error);
}

TEST(ClusterCap, SharedEntitiesAreMergedInABatchAndRepeatedInTheNext) {
  TestExpansion expansion;
  // Cluster sizes: author + indicator + 2 × (location + relationship) = 6 objects.
  Batcher batcher(std::ref(expansion), cap(10));
  const auto batches = run(batcher, {
      R"({"type": "indicator", "id": "indicator--1", "x_locations": ["de", "kr"]})",
      R"({"type": "indicator", "id": "indicator--2", "x_locations": ["de", "kr"]})",  // +3 new: fits (9)
      R"({"type": "indicator", "id": "indicator--3", "x_locations": ["de", "kr"]})",  // +3 → 12 > 10
  });
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].object_count(), 9u);
  EXPECT_EQ(batches[1].object_count(), 6u);
  for (const auto& batch : batches) {
    EXPECT_NE(find(batch, kAuthor), nullptr);
    EXPECT_NE(find(batch, "location--de"), nullptr);
    EXPECT_NE(find(batch, "location--kr"), nullptr);
  }
  EXPECT_EQ(expansion.calls, 3);  // one transform per feed object
}

TEST(ClusterCap, ReportsAccumulateObjectRefsAndTypesLikeOneSourceBatch) {
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion));
  const auto batches = run(batcher, {
      R"({"type": "indicator", "id": "indicator--1", "x_report": "op"})",
      R"({"type": "indicator", "id": "indicator--2", "x_report": "op", "x_report_type": "threat-actor"})",
      R"({"type": "indicator", "id": "indicator--1", "x_report": "op"})",
  });
  ASSERT_EQ(batches.size(), 1u);
  const Value* report = find(batches[0], "report--op");
  ASSERT_NE(report, nullptr);
  std::vector<std::string> refs, types;
  for (const auto& ref : (*report)["object_refs"].GetArray()) refs.push_back(ref.GetString());
  for (const auto& type : (*report)["report_types"].GetArray()) types.push_back(type.GetString());
  EXPECT_EQ(refs, (std::vector<std::string>{"indicator--1", "indicator--2", "indicator--1"}));  // no de-dup, as the reference
  EXPECT_EQ(types, (std::vector<std::string>{"indicator", "threat-actor"}));
}

TEST(ClusterCap, LaterContentOfAnIdWinsAtItsFirstPosition) {
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion));
  const auto batches = run(batcher, {
      R"({"type": "indicator", "id": "indicator--1", "name": "first"})",
      R"({"type": "indicator", "id": "indicator--2"})",
      R"({"type": "indicator", "id": "indicator--1", "name": "second"})",
  });
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(ids_of(batches[0]), (std::vector<std::string>{kAuthor, "indicator--1", "indicator--2"}));
  EXPECT_STREQ((*find(batches[0], "indicator--1"))["name"].GetString(), "second");
}

TEST(ClusterCap, ReferencedObjectsOfTheClosedBatchAreCarriedIntoTheNext) {
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion), cap(4));
  // indicator--1 expands to 4 objects; the feed relationship that follows references it and the
  // sector, but cannot join the full batch: the objects it references come along into batch 2.
  const auto batches = run(batcher, {
      R"({"type": "indicator", "id": "indicator--1", "x_locations": ["de"]})",
      R"({"type": "relationship", "id": "relationship--feed", "source_ref": "indicator--1",
          "target_ref": "location--de", "created_by_ref": ")" + std::string(kAuthor) + R"("})",
  });
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].object_count(), 4u);
  EXPECT_NE(find(batches[1], "relationship--feed"), nullptr);
  EXPECT_NE(find(batches[1], "indicator--1"), nullptr);
  EXPECT_NE(find(batches[1], "location--de"), nullptr);
  EXPECT_EQ(batches[1].stages.size(), 3u);  // [author], [indicator, location], [relationship]
}

// The reference connector aborts the run here ("Unresolved STIX reference …"); the Batcher drops the
// relationship and goes on (references_test.cpp has every rule).
TEST(ClusterCap, UnresolvableReferenceDropsTheObjectNotTheBatch) {
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion));
  batcher.push(parse(R"({"type": "relationship", "id": "relationship--x", "source_ref": "indicator--elsewhere"})"));
  batcher.push(parse(R"({"type": "indicator", "id": "indicator--1"})"));
  batcher.finish();
  ASSERT_TRUE(batcher.has_ready());
  const Batch batch = batcher.take();
  EXPECT_EQ(find(batch, "relationship--x"), nullptr);
  EXPECT_NE(find(batch, "indicator--1"), nullptr);
  EXPECT_EQ(batch.references.dropped_relationships, 1u);
}

TEST(ClusterCap, TransformErrorsReachPush) {
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion));
  EXPECT_THROW(batcher.push(parse(R"({"type": "indicator", "id": "indicator--1", "x_fail": true})")),
               std::runtime_error);
}

TEST(ClusterCap, AClusterBiggerThanTheCapIsNeverSplit) {
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion), cap(50));
  const auto batches = run(batcher, {
      R"({"type": "indicator", "id": "indicator--1"})",
      R"({"type": "indicator", "id": "indicator--big", "x_size": 60})",
      R"({"type": "indicator", "id": "indicator--3"})",
  });
  EXPECT_EQ(batch_sizes(batches), (std::vector<std::size_t>{2, 62, 2}));
}

// Invariants on a random Kaspersky-shaped feed: every batch within the cap unless it is one oversize
// cluster, every reference resolved inside its batch, stages in dependency order, nothing lost.
TEST(ClusterCap, InvariantsHoldOnARandomFeed) {
  std::mt19937 random(12345);
  std::vector<std::string> feed;
  std::set<std::string> expected_ids{kAuthor};
  for (int i = 0; i < 1500; ++i) {
    const std::string id = "indicator--" + std::to_string(i);
    std::string text = R"({"type": "indicator", "id": ")" + id + R"(", "x_locations": [)";
    const int locations = static_cast<int>(random() % 40);
    for (int k = 0; k < locations; ++k) {
      const std::string code = "c" + std::to_string(random() % 250);
      text += std::string(k ? ", " : "") + "\"" + code + "\"";
      expected_ids.insert("location--" + code);
      expected_ids.insert("relationship--" + id + "-location--" + code);
    }
    text += "]";
    if (random() % 10 == 0) {
      text += R"(, "x_report": "r)" + std::to_string(random() % 5) + "\"";
    }
    if (i == 700) text += R"(, "x_size": 1300)";  // one cluster above the cap
    text += "}";
    expected_ids.insert(id);
    feed.push_back(text);
  }
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion));
  const auto batches = run(batcher, feed);

  std::set<std::string> seen;
  std::size_t feed_objects = 0, oversize_batches = 0;
  for (const auto& batch : batches) {
    feed_objects += batch.feed_objects;
    if (batch.object_count() > 1000) {
      ++oversize_batches;
      EXPECT_EQ(batch.feed_objects, 1u) << "batch " << batch.number;
    }
    std::set<std::string> earlier_stages;
    for (const auto& stage : batch.stages) {
      std::set<std::string> this_stage;
      for (const auto& object : stage.objects.GetArray()) {
        const std::string id = object["id"].GetString();
        EXPECT_TRUE(this_stage.insert(id).second) << "duplicate " << id;
        seen.insert(id);
        for (const char* field : {"created_by_ref", "source_ref", "target_ref"}) {
          if (object.HasMember(field)) {
            EXPECT_TRUE(earlier_stages.contains(object[field].GetString())) << id << " " << field;
          }
        }
        if (object.HasMember("object_refs")) {
          for (const auto& ref : object["object_refs"].GetArray()) {
            EXPECT_TRUE(earlier_stages.contains(ref.GetString())) << id << " object_refs";
          }
        }
      }
      earlier_stages.insert(this_stage.begin(), this_stage.end());
    }
  }
  EXPECT_EQ(feed_objects, feed.size());
  for (const auto& id : expected_ids) EXPECT_TRUE(seen.contains(id)) << id;
  EXPECT_GT(batches.size(), 10u);
  EXPECT_EQ(oversize_batches, 1u);  // the 1300-sector cluster, alone
}

// A pass-through transform that moves the feed values into its output instead of copying them: the
// Batcher must keep the feed objects' memory alive until the batch is staged (ASan checks this too).
void moving_pass_through(Document& feed_objects, Document& out) {
  out.SetArray();
  for (auto& feed : feed_objects.GetArray()) out.PushBack(feed, out.GetAllocator());  // moves
}

TEST(Batcher, TransformMayMoveFeedValuesIntoItsOutput) {
  for (const auto sizing : {BundleSizing::ClusterCap, BundleSizing::SourceBatches}) {
    BatcherOptions options;
    options.sizing = sizing;
    options.source_batch_size = 3;
    options.max_bundle_objects = 3;
    Batcher batcher(moving_pass_through, options);
    std::vector<std::string> feed;
    for (int i = 0; i < 10; ++i)
      feed.push_back(R"({"id": "indicator--)" + std::to_string(i) + R"(", "description": "a long enough text )" +
                     std::string(100, 'x') + R"("})");
    std::vector<std::string> ids;
    for (const auto& batch : run(batcher, feed)) {
      for (const auto& id : ids_of(batch)) ids.push_back(id);
      for (const auto& stage : batch.stages)
        for (const auto& object : stage.objects.GetArray())
          EXPECT_EQ(std::string(object["description"].GetString()).size(), 119u);
    }
    ASSERT_EQ(ids.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(ids[static_cast<std::size_t>(i)], "indicator--" + std::to_string(i));
  }
}

TEST(SourceBatches, HundredFeedObjectsPerBatchWithoutSizeBound) {
  TestExpansion expansion;
  BatcherOptions options;
  options.sizing = BundleSizing::SourceBatches;
  Batcher batcher(std::ref(expansion), options);
  std::vector<std::string> feed;
  for (int i = 0; i < 250; ++i)
    feed.push_back(R"({"type": "indicator", "id": "indicator--)" + std::to_string(i) +
                   R"(", "x_locations": ["a)" + std::to_string(i) + R"(", "b", "c"]})");
  const auto batches = run(batcher, feed);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(expansion.batch_sizes, (std::vector<std::size_t>{100, 100, 50}));
  EXPECT_EQ(batches[0].feed_objects, 100u);
  EXPECT_EQ(batches[2].feed_objects, 50u);
  // author + 100 × (indicator + own location + 3 relationships) + 2 shared locations
  EXPECT_EQ(batches[0].object_count(), 1u + 100 * 5 + 2);
  EXPECT_GT(batches[0].object_count(), 500u);
  ASSERT_EQ(batches[0].stages.size(), 3u);
  EXPECT_EQ(batches[0].stages[0].size(), 1u);  // [author]
}

TEST(SourceBatches, TransformRunsInTakeAndItsErrorsReachTake) {
  TestExpansion expansion;
  BatcherOptions options;
  options.sizing = BundleSizing::SourceBatches;
  options.source_batch_size = 2;
  Batcher batcher(std::ref(expansion), options);
  batcher.push(parse(R"({"type": "indicator", "id": "indicator--1", "x_fail": true})"));
  batcher.push(parse(R"({"type": "indicator", "id": "indicator--2"})"));
  EXPECT_EQ(expansion.calls, 0);
  ASSERT_TRUE(batcher.has_ready());
  EXPECT_THROW(batcher.take(), std::runtime_error);
}

TEST(BeforeStaging, SeesEveryObjectOfTheBatchBeforeItIsStaged) {
  TestExpansion expansion;
  std::vector<std::size_t> seen_by_policy;
  const auto strip_descriptions = [&](Document& objects) {
    seen_by_policy.push_back(objects.Size());
    for (auto& object : objects.GetArray()) object.RemoveMember("description");
  };
  Batcher batcher(std::ref(expansion), cap(1000), strip_descriptions);
  const auto batches = run(batcher, {
      R"({"type": "indicator", "id": "indicator--1", "description": "date_added=2026-04-21T10:00:00.000Z"})",
      R"({"type": "indicator", "id": "indicator--2", "description": "date_added=2026-04-21T13:00:00.500Z;x=1"})",
      R"({"type": "indicator", "id": "indicator--3", "description": "date_added=not-a-date"})",
  });
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(seen_by_policy, (std::vector<std::size_t>{4}));
  EXPECT_FALSE(find(batches[0], "indicator--1")->HasMember("description"));
}

TEST(Streaming, ReadyBatchesNeverPileUpWhenTakenAfterEachPush) {
  TestExpansion expansion;
  Batcher batcher(std::ref(expansion), cap(100));
  std::size_t most_ready = 0, taken = 0;
  for (int i = 0; i < 5000; ++i) {
    batcher.push(parse(R"({"type": "indicator", "id": "indicator--)" + std::to_string(i) +
                       R"(", "x_locations": ["de", "x)" + std::to_string(i) + R"("]})"));
    std::size_t ready = 0;
    while (batcher.has_ready()) {
      ++ready;
      const Batch batch = batcher.take();
      EXPECT_LE(batch.object_count(), 100u);
      ++taken;
    }
    most_ready = std::max(most_ready, ready);
  }
  batcher.finish();
  taken += drain(batcher).size();
  EXPECT_EQ(most_ready, 1u);
  // A batch opens with a 6-object cluster; each further one adds 4 (author and "de" are shared):
  // 1 + (100 - 6) / 4 = 24 clusters per batch, so ceil(5000 / 24) = 209 batches.
  EXPECT_EQ(taken, 209u);
}

}  // namespace
