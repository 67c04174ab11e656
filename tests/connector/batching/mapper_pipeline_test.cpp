// The real Mapper driven through the Batcher, as the run loop does: collect → push → take → stages
// → dry-run lines.
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "batcher_test_support.h"
#include "feed_generator.h"
#include "kfc/batching/batcher.h"
#include "kfc/batching/stages.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/mapping/mapper.h"
#include "kfc/stix/python_json.h"

namespace {

using namespace kfc::batching;

constexpr const char* kNow = "2026-04-21T10:00:00.245366Z";

kfc::SystemTime fixed_time() {
  using namespace std::chrono;
  return sys_days{year{2026} / 4 / 21} + hours{10} + microseconds{245366};
}

// Worked example A's input (tests/connector/mapping/data/example_a.json).
constexpr const char* kExampleAInput = R"({
 "type": "indicator", "spec_version": "2.1", "id": "indicator--11111111-1111-4111-8111-111111111111",
 "created": "2026-04-21T10:00:00.000Z", "modified": "2026-04-21T10:00:00.000Z", "name": "IP",
 "pattern": "[ipv4-addr:value = '1.2.3.4']", "pattern_type": "stix", "valid_from": "2026-04-21T10:00:00.000Z",
 "valid_until": "2100-01-01T00:00:00.000Z", "labels": ["malicious-activity"],
 "description": "ip_geo=ru;users_geo=Germany, Korea, Republic of;threat_score=80;category=bot;date_added=2026-04-21T10:00:00.000Z",
 "x-kaspersky-internal": "drop-me"})";

std::string expected_example_a_dry_run() {
  std::ifstream file(std::string(KFC_SOURCE_DIR) + "/tests/connector/batching/data/example_a.jsonl");
  std::string expected;
  for (std::string line; std::getline(file, line);) {
    for (std::size_t at; (at = line.find("<now>")) != std::string::npos;) line.replace(at, 5, kNow);
    expected += line + "\n";
  }
  return expected;
}

class MapperPipeline : public testing::TestWithParam<BundleSizing> {};

TEST_P(MapperPipeline, ExampleADryRunIsTheReferenceOutput) {
  kfc::ManualClock clock(fixed_time());
  kfc::mapping::Mapper mapper(kfc::mapping::MappingOptions{}, clock);
  BatcherOptions options;
  options.sizing = GetParam();
  Batcher batcher([&](rapidjson::Document& in, rapidjson::Document& out) { mapper.transform(in, out); }, options,
                  [&](rapidjson::Document& objects) { mapper.apply_description_policy(objects, nullptr); });

  rapidjson::Document page;
  page.Parse(kExampleAInput);
  ASSERT_FALSE(page.HasParseError());
  mapper.collect(page, page.GetAllocator(), "TAXII_Demo_IP_Reputation_Data_Feed");
  batcher.push(page);
  batcher.finish();
  ASSERT_TRUE(batcher.has_ready());
  const Batch batch = batcher.take();
  EXPECT_FALSE(batcher.has_ready());

  EXPECT_EQ(test::stage_sizes(batch), (std::vector<std::size_t>{1, 8, 7}));
  EXPECT_EQ(test::dry_run_text(batch), expected_example_a_dry_run());
}

INSTANTIATE_TEST_SUITE_P(BothSizings, MapperPipeline,
                         testing::Values(BundleSizing::ClusterCap, BundleSizing::SourceBatches));

struct FeedOutput {
  std::set<std::string> ids;
  std::set<std::pair<std::string, std::string>> report_refs;  // (report id, referenced id)
  std::size_t batches = 0;
  std::size_t largest_batch = 0;
  std::size_t oversize_batches_of_several_feed_objects = 0;
  std::size_t unresolved_references = 0;
};

// Streams `feed_size` objects of a generated Kaspersky-shaped feed (all six kinds of collections,
// pages of 50) through the Mapper and the Batcher as the run loop does; each batch goes to `on_batch`.
template <typename OnBatch>
void stream_generated_feed(std::uint64_t seed, std::size_t feed_size, kfc::mapping::Mapper& mapper, Batcher& batcher,
                           const OnBatch& on_batch) {
  kfc::bench::FeedGenerator generator(seed);
  for (std::size_t done = 0; done < feed_size; done += 50) {
    std::string collection;
    const std::string text = generator.next_page(50, done + 50 < feed_size, collection);
    rapidjson::Document page;
    page.Parse(text.c_str(), text.size());
    for (auto& object : page["objects"].GetArray()) {
      mapper.collect(object, page.GetAllocator(), collection);
      batcher.push(object);
      while (batcher.has_ready()) on_batch(batcher.take());
    }
  }
  batcher.finish();
  while (batcher.has_ready()) on_batch(batcher.take());
}

// Streams a generated Kaspersky-shaped feed (all six kinds of collections) through Mapper and Batcher.
FeedOutput run_feed(BundleSizing sizing, std::size_t feed_size, std::size_t cap) {
  kfc::ManualClock clock(fixed_time());
  kfc::mapping::Mapper mapper(kfc::mapping::MappingOptions{}, clock);
  BatcherOptions options;
  options.sizing = sizing;
  options.max_bundle_objects = cap;
  Batcher batcher([&](rapidjson::Document& in, rapidjson::Document& out) { mapper.transform(in, out); }, options);
  FeedOutput output;
  const auto collect_batch = [&](const Batch& batch) {
    ++output.batches;
    output.largest_batch = std::max(output.largest_batch, batch.object_count());
    if (batch.object_count() > cap && batch.feed_objects > 1) ++output.oversize_batches_of_several_feed_objects;
    std::set<std::string> earlier;
    for (const auto& stage : batch.stages) {
      for (const auto& object : stage.objects.GetArray()) {
        const std::string id = object["id"].GetString();
        output.ids.insert(id);
        for (const char* field : {"created_by_ref", "x_opencti_created_by_ref", "source_ref", "target_ref"})
          if (object.HasMember(field) && !earlier.contains(object[field].GetString())) ++output.unresolved_references;
        if (object.HasMember("object_refs")) {
          for (const auto& ref : object["object_refs"].GetArray()) {
            output.report_refs.emplace(id, ref.GetString());
            if (!earlier.contains(ref.GetString())) ++output.unresolved_references;
          }
        }
      }
      for (const auto& object : stage.objects.GetArray()) earlier.insert(object["id"].GetString());
    }
  };
  stream_generated_feed(7, feed_size, mapper, batcher, collect_batch);
  return output;
}

TEST(MapperPipeline, ClusterCapProducesExactlyTheReferenceObjectsInBoundedSelfContainedBundles) {
  const FeedOutput reference = run_feed(BundleSizing::SourceBatches, 1200, 1000);
  const FeedOutput capped = run_feed(BundleSizing::ClusterCap, 1200, 150);

  EXPECT_EQ(capped.ids, reference.ids);                  // nothing lost, nothing invented
  EXPECT_EQ(capped.report_refs, reference.report_refs);  // every report still references the same objects
  EXPECT_EQ(capped.unresolved_references, 0u);
  EXPECT_EQ(reference.unresolved_references, 0u);
  EXPECT_EQ(capped.oversize_batches_of_several_feed_objects, 0u);
  EXPECT_LE(capped.largest_batch, 150u);
  EXPECT_GT(reference.largest_batch, 150u);  // the reference's bundles are not bounded
  EXPECT_GT(reference.ids.size(), 5000u);
}

// The resolution finds the stages' levels itself for the batches the mapping produces; the stages
// must be exactly the ones build_stages finds on the same objects.
TEST_P(MapperPipeline, StagesFoundWhileResolvingAreTheStagersStages) {
  kfc::ManualClock clock(fixed_time());
  kfc::mapping::Mapper mapper(kfc::mapping::MappingOptions{}, clock);
  BatcherOptions options;
  options.sizing = GetParam();
  options.max_bundle_objects = 300;
  rapidjson::Document before;  // the batch as it goes into the resolution (a copy of its own)
  // Built in the batch's memory, as the run loop does, so the batch's stages are moved, not copied.
  const TransformFn transform = [&](rapidjson::Document& in, rapidjson::Document& out) {
    mapper.transform(in, out, out.GetAllocator());
  };
  Batcher batcher(transform, options,
                  [&](rapidjson::Document& objects) { before.Parse(kfc::stix::compact_json(objects).c_str()); });
  std::size_t batches = 0;
  const auto compare = [&](const Batch& batch) {
    ++batches;
    ASSERT_FALSE(batch.references.any());  // nothing repaired: `before` is what was staged
    const std::vector<kfc::stix::Bundle> expected = build_stages(before);
    ASSERT_EQ(batch.stages.size(), expected.size()) << "batch " << batch.number;
    for (std::size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(batch.stages[i].objects == expected[i].objects) << "batch " << batch.number << " stage " << i;
  };
  stream_generated_feed(11, 600, mapper, batcher, compare);
  EXPECT_GT(batches, 3u);
}

}  // namespace
