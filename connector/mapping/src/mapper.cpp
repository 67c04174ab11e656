// The feed mapping pipeline: collect -> transform -> post-process -> description policy
// (connector/mapping/README.md). This file holds the pipeline of one source batch and what all
// sections share; each section of the README has a file of its own (the README names them), all
// implementing Mapper::Impl (mapper_impl.h).
#include <mutex>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <spdlog/spdlog.h>

#include "mapper_impl.h"
#include "timestamps.h"
#include "tlp.h"

namespace kfc::mapping {

Mapper::Impl::Impl(MappingOptions o, const Clock& c) : opt(o), clock(c) {
  malicious_variants = variants("malicious-activity:kaspersky", "kaspersky:malicious-activity");
  const std::array<std::string_view, 3> levels{"high", "medium", "low"};
  for (std::size_t i = 0; i < levels.size(); ++i)
    level_labels[i] = variants("threat_score:kaspersky:" + std::string(levels[i]),
                               "kaspersky:threat_score:" + std::string(levels[i]));
  build_author();
  detail::build_tlp_marking(opt.tlp_level, tlp_marking);
}

std::vector<std::string> Mapper::Impl::variants(std::string legacy, std::string modern) const {
  switch (opt.label_format) {
    case LabelFormat::Legacy: return {std::move(legacy)};
    case LabelFormat::New: return {std::move(modern)};
    case LabelFormat::Both: return {std::move(legacy), std::move(modern)};
  }
  return {};
}

void Mapper::Impl::problem(Problem p, std::string_view where) {
  ++stats.problems[static_cast<std::size_t>(p)];
  auto& seen = logged[static_cast<std::size_t>(p)];
  if (seen) return;
  seen = true;
  spdlog::warn("feed mapping: {} (first seen at {}); further occurrences are only counted",
               to_string(p), where.empty() ? std::string_view("<no id>") : where);
}

Value Mapper::Impl::sdo_header(Batch& b, std::string_view type, Value id) {
  Value o(rapidjson::kObjectType);
  o.AddMember("type", json::ref(type), b.a);
  o.AddMember("spec_version", "2.1", b.a);
  o.AddMember("id", id, b.a);
  o.AddMember("created_by_ref", json::ref(kAuthorId), b.a);
  o.AddMember("created", json::share_value(b.now, b.a), b.a);
  o.AddMember("modified", json::share_value(b.now, b.a), b.a);
  return o;
}

Value Mapper::Impl::sdo_header(Batch& b, std::string_view type, const std::string& id) {
  return sdo_header(b, type, json::copy(id, b.a));
}

void Mapper::Impl::transform(const Value& source_batch, rapidjson::Document& out) {
  // A fresh allocator per batch: a MemoryPoolAllocator only frees when destroyed, so reusing
  // the caller's would make memory grow with the feed.
  {
    rapidjson::Document fresh;
    out.Swap(fresh);
  }
  transform(source_batch, out, out.GetAllocator());
}

// Objects are built in `allocator`, which outlives `out` (strings of the indicator copy are
// shared by its expansions).
void Mapper::Impl::transform(const Value& source_batch, Value& out, Allocator& allocator) {
  out.SetArray();
  score_memo = {};  // memory of an earlier call may have been reused
  Batch b{out, allocator, json::copy(format_created(clock.now()), allocator), {}, {}, {}};
  b.add(json::copy_value(author, b.a), kAuthorId);
  const bool marked = tlp_marking.IsObject();
  if (marked) b.add(json::copy_value(tlp_marking, b.a), json::view(tlp_marking["id"]));
  if (source_batch.IsArray()) {
    out.Reserve(source_batch.Size() * 2 + 1, b.a);
    for (const auto& s : source_batch.GetArray()) {
      ++stats.source_objects;
      if (!s.IsObject()) {
        problem(Problem::NotAnObject, {});
        continue;
      }
      const auto type = json::string_member(s, "type");
      if (type && *type == "indicator") {
        transform_indicator(b, s);
      } else {
        if (!type) problem(Problem::MissingType, json::string_member(s, "id").value_or(""));
        add_feed_object(b, json::copy_value(s, b.a), false);
      }
    }
  } else {
    problem(Problem::NotAnObject, {});
  }
  for (const ReportState& r : b.reports)
    if (r.placed) out[static_cast<rapidjson::SizeType>(r.position)] = report_object(b, r);
  for (auto& o : out.GetArray()) post_process(o, b.a);
  if (marked) {
    for (auto& o : out.GetArray()) detail::add_marking(o, json::view(tlp_marking["id"]), kAuthorId, b.a);
  }
  stats.output_objects += out.Size();
}

// --------------------------------------------------------------------------------------------

namespace {
// Each batch builds ~1 MB of JSON in 64 KB pool chunks and frees it all at once; with glibc's
// default trim threshold the heap top is handed back to the kernel after every batch and faulted
// in again for the next, which cost 8x the mapping itself (measured: 183 vs 20 us per indicator).
// Keeping up to 64 MB of free heap bounds memory by the peak, not by the feed.
void keep_freed_heap_for_reuse() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
  });
#endif
}
}  // namespace

Mapper::Mapper(MappingOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(options, clock)) {
  keep_freed_heap_for_reuse();
}
Mapper::~Mapper() = default;

const MappingOptions& Mapper::options() const { return impl_->opt; }

void Mapper::collect(rapidjson::Value& feed_object, rapidjson::Document::AllocatorType& allocator,
                     std::string_view collection_title) {
  impl_->collect(feed_object, allocator, collection_title);
}

void Mapper::transform(const rapidjson::Value& source_batch, rapidjson::Document& out) {
  impl_->transform(source_batch, out);
}

void Mapper::transform(const rapidjson::Value& source_batch, rapidjson::Value& out,
                       rapidjson::Document::AllocatorType& allocator) {
  impl_->transform(source_batch, out, allocator);
}

void Mapper::apply_description_policy(rapidjson::Value& objects, ExistingIds* lookup) {
  impl_->apply_description_policy(objects, lookup);
}

void Mapper::begin_run() {
  impl_->known_existing.clear();
  impl_->known_new.clear();
}

const rapidjson::Value& Mapper::author() const { return impl_->author; }

const MappingStats& Mapper::stats() const { return impl_->stats; }

const rapidjson::Value* Mapper::tlp_marking() const {
  return impl_->tlp_marking.IsObject() ? &impl_->tlp_marking : nullptr;
}


}  // namespace kfc::mapping
