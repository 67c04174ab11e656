// The description policy, `connector.description_mode` (README "Descriptions").
#include <algorithm>

#include <spdlog/spdlog.h>

#include "mapper_impl.h"

namespace kfc::mapping {

namespace {
constexpr std::size_t kLookupChunk = 200;
}  // namespace

bool Mapper::Impl::has_description(const Value& o) {
  return o.IsObject() && (o.HasMember("description") || o.HasMember("x_opencti_description"));
}

void Mapper::Impl::strip(Value& o) {
  o.EraseMember("description");
  o.EraseMember("x_opencti_description");
  ++stats.descriptions_stripped;
}

void Mapper::Impl::apply_description_policy(Value& objects, ExistingIds* lookup) {
  if (!objects.IsArray() || opt.description_mode == DescriptionMode::Overwrite) return;
  if (opt.description_mode == DescriptionMode::Skip) {
    for (auto& o : objects.GetArray())
      if (has_description(o)) strip(o);
    return;
  }
  // create_only
  std::vector<std::string> pending_ids;
  std::unordered_map<std::string, std::vector<Value*>> pending;
  for (auto& o : objects.GetArray()) {
    if (!has_description(o)) continue;
    const auto id = json::string_member(o, "id");
    if (!id) {
      const std::string type(json::string_member(o, "type").value_or("<missing>"));
      spdlog::warn("skip description mode=create_only type={} id=<missing> reason=missing-id", type);
      ++stats.problems[static_cast<std::size_t>(Problem::MissingId)];
      strip(o);
      continue;
    }
    std::string key(*id);
    if (known_new.contains(key)) continue;
    if (known_existing.contains(key)) {
      strip(o);
      continue;
    }
    auto [it, inserted] = pending.try_emplace(key);
    if (inserted) pending_ids.push_back(key);
    it->second.push_back(&o);
  }
  if (pending_ids.empty() || !lookup) {
    for (auto& id : pending_ids) known_new.insert(std::move(id));
    return;
  }
  std::unordered_set<std::string> existing;
  for (std::size_t i = 0; i < pending_ids.size(); i += kLookupChunk) {
    const std::size_t n = std::min(kLookupChunk, pending_ids.size() - i);
    auto answer = lookup->existing(std::span<const std::string>(pending_ids.data() + i, n));
    if (!answer) {
      std::size_t count = 0;
      for (const auto& [id, objs] : pending) count += objs.size();
      const Value& first = *pending[pending_ids.front()].front();
      spdlog::warn("skip descriptions mode=create_only count={} reason={} sample={}:{}", count,
                   answer.error(), json::string_member(first, "type").value_or(""), pending_ids.front());
      ++stats.problems[static_cast<std::size_t>(Problem::LookupFailed)];
      for (auto& [id, objs] : pending)
        for (Value* o : objs) strip(*o);
      return;
    }
    existing.merge(*answer);
  }
  for (auto& id : pending_ids) {
    if (existing.contains(id)) {
      for (Value* o : pending[id]) strip(*o);
      known_existing.insert(std::move(id));
    } else {
      known_new.insert(std::move(id));
    }
  }
}

}  // namespace kfc::mapping
