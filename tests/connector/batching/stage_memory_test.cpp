// The stages of a batch share the batch's memory instead of copying out of it: a stage must stay
// intact however long it is kept (later batches, the Batcher gone), and a transform that builds its
// output in memory of its own must still give stages that own what they hold.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "kfc/batching/batcher.h"
#include "kfc/batching/stages.h"
#include "kfc/stix/python_json.h"

namespace {

using namespace kfc::batching;
using rapidjson::Document;
using rapidjson::Value;

Document parse(const std::string& text) {
  Document document;
  document.Parse(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

// Each feed object {"id": p, "n": k} becomes an author and k notes that reference it; every string is
// long enough to live in the pool (not inside its Value) and differs per feed object.
void notes(Document& feed_objects, Document& out) {
  out.SetArray();  // keeps the batch's allocator
  auto& a = out.GetAllocator();
  for (const auto& feed : feed_objects.GetArray()) {
    const std::string prefix = std::string(feed["id"].GetString()) + "-with-a-long-enough-name";
    Value author(rapidjson::kObjectType);
    author.AddMember("id", Value(("identity--" + prefix).c_str(), a), a);
    out.PushBack(author, a);
    for (int i = 0; i < feed["n"].GetInt(); ++i) {
      Value note(rapidjson::kObjectType);
      note.AddMember("id", Value(("note--" + prefix + "-" + std::to_string(i)).c_str(), a), a);
      note.AddMember("created_by_ref", Value(("identity--" + prefix).c_str(), a), a);
      out.PushBack(note, a);
    }
  }
}

std::string text_of(const Batch& batch) {
  std::string text;
  for (const auto& stage : batch.stages) text += kfc::stix::compact_json(stage.objects) + "\n";
  return text;
}

Document feed(const std::string& id, int n) {
  return parse(R"({"id": ")" + id + R"(", "n": )" + std::to_string(n) + "}");
}

TEST(StageMemory, AKeptBatchOutlivesLaterBatchesAndTheBatcher) {
  Batch kept;
  std::string kept_text;
  {
    BatcherOptions options;
    options.max_bundle_objects = 10;
    Batcher batcher(notes, options);
    batcher.push(feed("first", 8));
    batcher.push(feed("second", 8));  // closes the first batch
    ASSERT_TRUE(batcher.has_ready());
    kept = batcher.take();
    kept_text = text_of(kept);
    ASSERT_EQ(kept.stages.size(), 2u);
    EXPECT_NE(kept.stages[0].memory, nullptr);  // shared, not copied
    // Later batches reuse free memory; the kept batch's must not be among it.
    for (int i = 0; i < 50; ++i) {
      batcher.push(feed("later" + std::to_string(i), 8));
      while (batcher.has_ready()) batcher.take();
    }
    batcher.finish();
    while (batcher.has_ready()) batcher.take();
  }
  EXPECT_EQ(text_of(kept), kept_text);
  EXPECT_NE(kept_text.find("identity--first-with-a-long-enough-name"), std::string::npos);
}

TEST(StageMemory, MovedStagesEqualCopiedStages) {
  const std::string text = R"([{"id": "b-with-a-long-enough-identifier", "created_by_ref": "a-with-a-long-enough-identifier"},
                               {"id": "a-with-a-long-enough-identifier"},
                               {"id": "b-with-a-long-enough-identifier", "created_by_ref": "a-with-a-long-enough-identifier", "x": 1}])";
  const Document original = parse(text);
  const auto copied = build_stages(original);
  Document objects = parse(text);
  auto memory = std::make_shared<int>(0);
  const auto moved = build_stages(objects, memory);
  ASSERT_EQ(moved.size(), copied.size());
  for (std::size_t i = 0; i < moved.size(); ++i) {
    EXPECT_EQ(kfc::stix::compact_json(moved[i].objects), kfc::stix::compact_json(copied[i].objects));
    EXPECT_EQ(moved[i].memory, memory);
    EXPECT_EQ(copied[i].memory, nullptr);
  }
  EXPECT_EQ(kfc::stix::compact_json(moved[1].objects),
            R"([{"id":"b-with-a-long-enough-identifier","created_by_ref":"a-with-a-long-enough-identifier","x":1}])");
}

TEST(StageMemory, MovedStagingFailsLikeCopiedStaging) {
  Document objects = parse(R"([{"id": "a", "created_by_ref": "missing"}])");
  EXPECT_THROW(build_stages(objects, std::make_shared<int>(0)), StagingError);
}

// A transform that ignores the batch's memory (a fresh Document of its own): the Batcher must copy.
void notes_in_own_memory(Document& feed_objects, Document& out) {
  Document own;
  notes(feed_objects, own);
  out.Swap(own);  // `out` now uses the transform's allocator, which dies with `out`
}

TEST(StageMemory, OutputInTheTransformsOwnMemoryIsCopiedIntoTheStages) {
  BatcherOptions options;
  options.sizing = BundleSizing::SourceBatches;
  options.source_batch_size = 2;
  Batcher batcher(notes_in_own_memory, options);
  batcher.push(feed("one", 3));
  batcher.push(feed("two", 3));
  ASSERT_TRUE(batcher.has_ready());
  Batch batch = batcher.take();
  for (int i = 0; i < 10; ++i) {
    batcher.push(feed("more" + std::to_string(i), 3));
    while (batcher.has_ready()) batcher.take();
  }
  ASSERT_EQ(batch.stages.size(), 2u);
  EXPECT_EQ(batch.stages[0].memory, nullptr);
  EXPECT_EQ(kfc::stix::compact_json(batch.stages[0].objects),
            R"([{"id":"identity--one-with-a-long-enough-name"},{"id":"identity--two-with-a-long-enough-name"}])");
}

}  // namespace
