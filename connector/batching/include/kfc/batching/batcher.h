#pragma once
// Batching (connector/batching/README.md): the pipeline stage between the mapping and the sinks.
//
//   feed objects ──push()──> [transform: Mapper] ──> batch ──> before-staging hook (description policy)
//                                                         ──> dependency stages ──take()──> Batch
//
// The run loop drives it in streaming fashion:
//
//   Batcher batcher(transform, options, description_policy);
//   for (each page) for (each feed object o) {
//     mapper.collect(o, …);                       // collection step, before push
//     batcher.push(o);
//     while (batcher.has_ready()) send(batcher.take());
//   }
//   batcher.finish();
//   while (batcher.has_ready()) send(batcher.take());
//
// Memory is bounded by one batch plus one cluster, not by feed size, as long as the caller takes
// ready batches before pushing more (push never blocks; untaken batches queue up).
//
// Two sizings:
//  - ClusterCap (default): every feed object is transformed on its own (a source batch of 1),
//    its output is a *cluster*; clusters are packed into batches of at most `max_bundle_objects`
//    distinct objects and never split (a bigger cluster is a batch of its own). Objects repeated
//    across clusters of one batch (author, sectors, locations, malware…) are merged by id at their
//    first position with their last content — except reports, whose `object_refs` are concatenated
//    and `report_types` united, exactly as the reference accumulates a report over a source batch.
//    When a batch is closed, the objects the next cluster references but does not contain are
//    copied from the closed batch into the new one, so a relationship never travels without the
//    objects it references. A batch is therefore self-contained (its stages resolve every reference)
//    whenever the transform's clusters are.
//  - SourceBatches: the reference's behaviour, for byte parity: every `source_batch_size`
//    (100) feed objects are transformed together into one batch of unbounded size.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/stix/bundle.h"
#include "kfc/stix/id_index.h"

namespace kfc::batching {

namespace detail {
class ReferenceResolver;
}

enum class BundleSizing {
  ClusterCap,     // bounded bundles (default)
  SourceBatches,  // the reference's 100-object source batches, unbounded bundles
};

// What becomes of a reference that resolves neither in its batch nor among the objects delivered
// earlier in the run (README.md, "References that point nowhere").
enum class UnresolvedReferences {
  Drop,  // dropped, with what requires it (Kaspersky's feeds: the default)
  Keep,  // kept as it is, counted, left to the platform (generic TAXII: an object of an earlier run)
};

struct BatcherOptions {
  BundleSizing sizing = BundleSizing::ClusterCap;
  UnresolvedReferences unresolved_references = UnresolvedReferences::Drop;
  std::size_t source_batch_size = 100;    // SourceBatches: feed objects per batch
  std::size_t max_bundle_objects = 1000;  // ClusterCap: distinct objects per batch
  // Ids of delivered objects remembered for resolving later references: between this many and twice
  // as many of the most recent, in two generations (README.md, "Bounded memory"); aliases: an eighth.
  std::size_t remembered_ids = 96'000;
};

// The mapping of a group of feed objects: reads the array `feed_objects` (it may change it in place,
// with feed_objects.GetAllocator()) and sets `bundle_objects` to the array of transformed,
// post-processed objects. It may move values out of `feed_objects` into
// `bundle_objects`: the feed objects' memory lives until the batch is staged. `bundle_objects`
// comes with the batch's allocator; keep it (SetArray(), not Swap) to let the Batcher move rather
// than copy the result. May throw; the error reaches the caller of push()
// (ClusterCap) or take() (SourceBatches).
using TransformFn = std::function<void(rapidjson::Document& feed_objects, rapidjson::Document& bundle_objects)>;

// Runs on every batch before staging: the description policy. May change or strip objects of the array; may throw (the error reaches take()).
using BeforeStagingFn = std::function<void(rapidjson::Document& batch_objects)>;

// What the reference resolution repaired in a batch (README.md, "References that point nowhere").
struct ReferenceRepairs {
  std::uint64_t rewritten = 0;              // references to an alias (an indicator's feed id), now to its id
  std::uint64_t dropped_created_by = 0;     // created_by_ref / x_opencti_created_by_ref pointing nowhere, removed
  std::uint64_t dropped_object_refs = 0;    // elements of object_refs pointing nowhere, removed
  std::uint64_t dropped_without_refs = 0;   // objects (reports…) left without object_refs, dropped
  std::uint64_t dropped_relationships = 0;  // objects whose source_ref or target_ref points nowhere, dropped
  std::uint64_t dropped_without_id = 0;     // elements without a string id (they cannot be staged), dropped
  std::uint64_t kept_external = 0;          // UnresolvedReferences::Keep: references left for the platform
  std::uint64_t cycle_references_dropped = 0;     // optional references removed to break a reference cycle
  std::uint64_t cycle_relationships_dropped = 0;  // objects dropped to break a cycle of required references

  ReferenceRepairs& operator+=(const ReferenceRepairs& other);
  bool any() const;
  // Each count with its kind, e.g. {"created_by_ref_dropped", 2}; kinds with 0 are left out.
  std::vector<std::pair<std::string, std::uint64_t>> by_kind() const;
};

// One batch, ready for a sink: its stages are sent in order, each one after the previous was
// confirmed.
struct Batch {
  std::size_t number = 0;                 // 1, 2, … in the order batches were closed
  std::size_t feed_objects = 0;           // feed objects whose output this batch carries
  ReferenceRepairs references;            // what the reference resolution changed (already logged)
  std::vector<stix::Bundle> stages;       // dependency stages, each with a fresh bundle--<uuid4> id

  // Objects over all stages (the reference's `count`).
  std::size_t object_count() const;
};

// Not thread-safe: one Batcher per run loop.
class Batcher {
 public:
  explicit Batcher(TransformFn transform, BatcherOptions options = {}, BeforeStagingFn before_staging = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Adds one feed object (copied; already through the collection step). ClusterCap transforms
  // it now and may close the open batch; SourceBatches closes a batch every source_batch_size objects.
  void push(const rapidjson::Value& feed_object);

  // Closes the open batch, if it holds anything. The Batcher can be used again afterwards.
  void finish();

  bool has_ready() const { return !ready_.empty(); }

  // The oldest closed batch: transformed (SourceBatches), before-staging hook, reference
  // resolution against this batch and every batch taken before it (ids only, bounded) and reference
  // cycles broken (README.md), stages.
  // Throws StagingError (stages.h) or what the transform/hook throws; the batch is then dropped.
  // Precondition: has_ready().
  Batch take();

 private:
  struct Arena;      // recycled memory of one batch
  struct ArenaPool;  // free arenas, shared with the stages that hold one
  struct Pending {
    Arena* arena = nullptr;         // where `objects` lives
    std::size_t number = 0;
    std::size_t feed_objects = 0;
    bool transformed = false;       // false: `objects` still holds the feed objects
    rapidjson::Document objects;
  };

  void push_to_source_batch(const rapidjson::Value& feed_object);
  void push_cluster(rapidjson::Document& cluster);
  void carry_over_references(const rapidjson::Document& cluster, Pending& closed,
                             const stix::IdIndex& closed_index);
  void add_object(rapidjson::Value& object, bool movable);
  void close_open_batch();
  void open_new_batch();
  void release_arena(Arena* arena);
  std::unique_ptr<Arena> unbusy(Arena* arena);
  std::shared_ptr<void> share_arena(Arena* arena);
  std::size_t distinct_new_objects(const rapidjson::Document& cluster);

  TransformFn transform_;
  BatcherOptions options_;
  BeforeStagingFn before_staging_;
  std::size_t next_number_ = 1;
  // Declared before the batches that live in them, so they are destroyed after them.
  std::shared_ptr<ArenaPool> pool_;
  std::vector<std::unique_ptr<Arena>> busy_arenas_;
  Pending open_;                                         // the batch being filled
  stix::IdIndex index_;                                  // id → position in open_.objects
  stix::IdIndex cluster_ids_;                            // distinct_new_objects(): ids seen in the cluster
  std::deque<Pending> ready_;
  std::unique_ptr<detail::ReferenceResolver> resolver_;  // what batches taken so far delivered
};

}  // namespace kfc::batching
