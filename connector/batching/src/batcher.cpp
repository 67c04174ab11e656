#include "kfc/batching/batcher.h"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "kfc/batching/stages.h"
#include "json_copy.h"
#include "kfc/config/counters.h"
#include "reference_resolver.h"
#include "references.h"
#include "stage_levels.h"

namespace kfc::batching {
namespace {

using detail::id_of;
using detail::string_of;

bool is_report(const rapidjson::Value& object) {
  const auto type = object.FindMember("type");
  return type != object.MemberEnd() && type->value.IsString() && string_of(type->value) == "report";
}

// `object_refs` of the earlier content followed by the later one's; `report_types` united in order
// of first appearance. This is what one report accumulates over a reference source batch.
void accumulate_report(const rapidjson::Value& earlier, rapidjson::Value& merged,
                       rapidjson::Document::AllocatorType& allocator) {
  const auto earlier_refs = earlier.FindMember("object_refs");
  auto merged_refs = merged.FindMember("object_refs");
  if (earlier_refs != earlier.MemberEnd() && earlier_refs->value.IsArray() && merged_refs != merged.MemberEnd() &&
      merged_refs->value.IsArray()) {
    rapidjson::Value refs(rapidjson::kArrayType);
    for (const auto& ref : earlier_refs->value.GetArray()) refs.PushBack(detail::deep_copy(ref, allocator), allocator);
    for (auto& ref : merged_refs->value.GetArray()) refs.PushBack(ref, allocator);  // moves
    merged_refs->value = refs;
  }
  const auto earlier_types = earlier.FindMember("report_types");
  auto merged_types = merged.FindMember("report_types");
  if (earlier_types != earlier.MemberEnd() && earlier_types->value.IsArray() && merged_types != merged.MemberEnd() &&
      merged_types->value.IsArray()) {
    rapidjson::Value types = detail::deep_copy(earlier_types->value, allocator);
    for (const auto& type : merged_types->value.GetArray()) {
      bool present = false;
      for (const auto& existing : types.GetArray()) present = present || existing == type;
      if (!present) types.PushBack(detail::deep_copy(type, allocator), allocator);
    }
    merged_types->value = types;
  }
}

}  // namespace

ReferenceRepairs& ReferenceRepairs::operator+=(const ReferenceRepairs& other) {
  return add_counters(*this, other, &ReferenceRepairs::rewritten, &ReferenceRepairs::dropped_created_by,
                      &ReferenceRepairs::dropped_object_refs, &ReferenceRepairs::dropped_without_refs,
                      &ReferenceRepairs::dropped_relationships, &ReferenceRepairs::dropped_without_id,
                      &ReferenceRepairs::kept_external, &ReferenceRepairs::cycle_references_dropped,
                      &ReferenceRepairs::cycle_relationships_dropped);
}

bool ReferenceRepairs::any() const { return !by_kind().empty(); }

std::vector<std::pair<std::string, std::uint64_t>> ReferenceRepairs::by_kind() const {
  std::vector<std::pair<std::string, std::uint64_t>> kinds;
  auto add = [&](const char* kind, std::uint64_t count) {
    if (count > 0) kinds.emplace_back(kind, count);
  };
  add("reference_rewritten_to_normalised_id", rewritten);
  add("created_by_ref_dropped", dropped_created_by);
  add("object_ref_dropped", dropped_object_refs);
  add("object_without_refs_dropped", dropped_without_refs);
  add("relationship_without_end_dropped", dropped_relationships);
  add("object_without_id_dropped", dropped_without_id);
  add("external_reference_kept", kept_external);
  add("reference_cycle_broken", cycle_references_dropped);
  add("relationship_in_cycle_dropped", cycle_relationships_dropped);
  return kinds;
}

std::size_t Batch::object_count() const {
  std::size_t count = 0;
  for (const auto& stage : stages) count += stage.size();
  return count;
}

// Batch memory is recycled: a cleared arena keeps its (already faulted-in) buffer, so a steady
// stream of batches does not allocate and return memory to the system for every batch.
struct Batcher::Arena {
  static constexpr std::size_t kBufferBytes = 8u << 20;  // typical batch; bigger ones add chunks
  std::unique_ptr<char[]> buffer{new char[kBufferBytes]};
  rapidjson::MemoryPoolAllocator<> allocator{buffer.get(), kBufferBytes};
};


// Free arenas. Shared with the stages that hold an arena, which return it when released (maybe on
// another thread, maybe after the Batcher is gone).
struct Batcher::ArenaPool {
  std::mutex mutex;
  std::vector<std::unique_ptr<Arena>> free;

  std::unique_ptr<Arena> take() {
    std::lock_guard lock(mutex);
    if (free.empty()) return std::make_unique<Arena>();
    std::unique_ptr<Arena> arena = std::move(free.back());
    free.pop_back();
    return arena;
  }
  void give_back(std::unique_ptr<Arena> arena) {
    arena->allocator.Clear();
    std::lock_guard lock(mutex);
    free.push_back(std::move(arena));
  }
};

Batcher::Batcher(TransformFn transform, BatcherOptions options, BeforeStagingFn before_staging)
    : transform_(std::move(transform)), options_(options), before_staging_(std::move(before_staging)),
      pool_(std::make_shared<ArenaPool>()), resolver_(std::make_unique<detail::ReferenceResolver>(std::max<std::size_t>(options.remembered_ids, 1),
                                                            std::max<std::size_t>(options.remembered_ids / 8, 1),
                                                            options.unresolved_references)) {
  if (!transform_) throw std::invalid_argument("Batcher needs a transform");
  if (options_.source_batch_size == 0) options_.source_batch_size = 1;
  if (options_.max_bundle_objects == 0) options_.max_bundle_objects = 1;
  open_new_batch();
}

Batcher::~Batcher() = default;

void Batcher::open_new_batch() {
  busy_arenas_.push_back(pool_->take());
  Arena* arena = busy_arenas_.back().get();
  open_ = Pending{};
  open_.arena = arena;
  open_.objects = rapidjson::Document(rapidjson::kArrayType, &arena->allocator);
  index_.clear();
}

std::unique_ptr<Batcher::Arena> Batcher::unbusy(Arena* arena) {
  for (auto it = busy_arenas_.begin(); it != busy_arenas_.end(); ++it) {
    if (it->get() != arena) continue;
    std::unique_ptr<Arena> owned = std::move(*it);
    busy_arenas_.erase(it);
    return owned;
  }
  return nullptr;
}

void Batcher::release_arena(Arena* arena) {
  if (auto owned = unbusy(arena)) pool_->give_back(std::move(owned));
}

std::shared_ptr<void> Batcher::share_arena(Arena* arena) {
  std::unique_ptr<Arena> owned = unbusy(arena);
  return std::shared_ptr<void>(owned.release(), [pool = pool_](void* shared) {
    pool->give_back(std::unique_ptr<Arena>(static_cast<Arena*>(shared)));
  });
}

void Batcher::push(const rapidjson::Value& feed_object) {
  if (options_.sizing == BundleSizing::SourceBatches) {
    push_to_source_batch(feed_object);
    return;
  }
  // Both the feed object and its cluster live in the open batch's memory: merging then moves
  // values instead of copying them, and a transform that moves feed values into its output (or
  // refers to their strings) leaves nothing dangling. The pool is released with the batch.
  auto& allocator = open_.objects.GetAllocator();
  rapidjson::Document sources(rapidjson::kArrayType, &allocator);
  sources.PushBack(detail::deep_copy(feed_object, allocator), allocator);
  rapidjson::Document cluster(rapidjson::kArrayType, &allocator);
  transform_(sources, cluster);
  if (!cluster.IsArray()) throw std::logic_error("the mapping transform did not produce an array of objects");
  push_cluster(cluster);
}

void Batcher::push_to_source_batch(const rapidjson::Value& feed_object) {
  open_.objects.PushBack(detail::deep_copy(feed_object, open_.objects.GetAllocator()), open_.objects.GetAllocator());
  ++open_.feed_objects;
  if (open_.feed_objects >= options_.source_batch_size) close_open_batch();
}

void Batcher::push_cluster(rapidjson::Document& cluster) {
  // Values built in the open batch's allocator can be moved into it; anything else is copied.
  bool movable = &cluster.GetAllocator() == &open_.objects.GetAllocator();
  if (!open_.objects.Empty() &&
      open_.objects.Size() + distinct_new_objects(cluster) > options_.max_bundle_objects) {
    Pending closed = std::move(open_);
    stix::IdIndex closed_index = std::exchange(index_, {});
    closed.number = next_number_++;
    closed.transformed = true;
    open_new_batch();
    carry_over_references(cluster, closed, closed_index);
    ready_.push_back(std::move(closed));  // its allocator (which may hold the cluster) lives on
    movable = false;
  }
  for (auto& object : cluster.GetArray()) add_object(object, movable);
  ++open_.feed_objects;
  // Only a cluster bigger than the cap (never split) can overflow an open batch: it goes alone.
  if (open_.objects.Size() > options_.max_bundle_objects) close_open_batch();
}

std::size_t Batcher::distinct_new_objects(const rapidjson::Document& cluster) {
  std::size_t count = 0;
  cluster_ids_.clear();
  for (const auto& object : cluster.GetArray()) {
    const std::string_view id = id_of(object);
    if (id.empty()) {
      ++count;
    } else if (!index_.contains(id) && cluster_ids_.try_emplace(id, 0).second) {
      ++count;
    }
  }
  return count;
}

void Batcher::add_object(rapidjson::Value& object, bool movable) {
  auto& allocator = open_.objects.GetAllocator();
  rapidjson::Value value = movable ? rapidjson::Value(std::move(object)) : detail::deep_copy(object, allocator);
  const std::string_view id = id_of(value);
  if (id.empty()) {  // cannot be merged; staging will report it
    open_.objects.PushBack(value, allocator);
    return;
  }
  const auto [position, inserted] = index_.try_emplace(id, open_.objects.Size());
  if (inserted) {
    open_.objects.PushBack(value, allocator);
    return;
  }
  rapidjson::Value& stored = open_.objects[static_cast<rapidjson::SizeType>(position)];
  if (is_report(stored) && is_report(value)) accumulate_report(stored, value, allocator);
  stored = value;  // first position, last content
}

void Batcher::carry_over_references(const rapidjson::Document& cluster, Pending& closed,
                                    const stix::IdIndex& closed_index) {
  std::unordered_set<std::string_view> in_cluster;
  for (const auto& object : cluster.GetArray())
    if (const auto id = id_of(object); !id.empty()) in_cluster.insert(id);

  std::vector<const rapidjson::Value*> to_visit;
  for (const auto& object : cluster.GetArray()) to_visit.push_back(&object);
  while (!to_visit.empty()) {
    const rapidjson::Value* object = to_visit.back();
    to_visit.pop_back();
    detail::for_each_reference(*object, [&](const char*, const rapidjson::Value& ref) {
      if (!ref.IsString()) return;
      const std::string_view ref_id = string_of(ref);
      if (in_cluster.contains(ref_id) || index_.contains(ref_id)) return;
      const std::size_t* found = closed_index.find(ref_id);
      if (found == nullptr) return;  // not ours to resolve: staging reports it
      rapidjson::Value& referenced = closed.objects[static_cast<rapidjson::SizeType>(*found)];
      add_object(referenced, false);
      to_visit.push_back(&referenced);  // its own references come along too
    });
  }
}

void Batcher::close_open_batch() {
  if (open_.objects.Empty() && open_.feed_objects == 0) return;
  open_.number = next_number_++;
  open_.transformed = options_.sizing == BundleSizing::ClusterCap;
  ready_.push_back(std::move(open_));
  open_new_batch();
}

void Batcher::finish() { close_open_batch(); }

Batch Batcher::take() {
  if (ready_.empty()) throw std::logic_error("Batcher::take() without a ready batch");
  Pending pending = std::move(ready_.front());
  ready_.pop_front();
  // The arena goes back to the free list if this fails, or else when the last stage sharing it is
  // released.
  struct ArenaReturn {
    Batcher& batcher;
    Arena* arena;
    ~ArenaReturn() {
      if (arena != nullptr) batcher.release_arena(arena);
    }
  } arena_return{*this, pending.arena};

  // The feed objects stay alive until the batch is staged: the transform may have moved values
  // out of them into its output.
  rapidjson::Document transformed(rapidjson::kArrayType, &pending.objects.GetAllocator());
  if (!pending.transformed) {
    transform_(pending.objects, transformed);
    if (!transformed.IsArray()) throw std::logic_error("the mapping transform did not produce an array of objects");
  }
  rapidjson::Document& objects = pending.transformed ? pending.objects : transformed;

  Batch batch;
  batch.number = pending.number;
  batch.feed_objects = pending.feed_objects;
  if (before_staging_) before_staging_(objects);
  std::vector<int> levels;  // found by the resolution for nearly every batch (reference_resolver.h)
  batch.references = resolver_->resolve(objects, &levels);
  const DeliveredFn delivered = [this](std::string_view id) { return resolver_->satisfied_outside_batch(id); };
  if (&objects.GetAllocator() == &pending.arena->allocator) {
    // The stages take the objects out of the batch's memory, which they then keep alive.
    std::shared_ptr<void> memory = share_arena(pending.arena);
    arena_return.arena = nullptr;
    if (levels.size() == objects.Size() && !levels.empty()) {
      batch.stages = detail::build_stages_from_levels(objects, std::move(memory), levels);
      resolver_->delivered_as_resolved();  // what the resolution read of the objects staged from its levels
      return batch;
    }
    batch.stages = build_stages(objects, std::move(memory), delivered);
  } else {  // a transform that built its output elsewhere: copied out, the arena is free again
    batch.stages = build_stages(objects, delivered);
  }
  for (const auto& stage : batch.stages) resolver_->delivered(stage.objects);
  return batch;
}

}  // namespace kfc::batching
