#include "reference_resolver.h"

#include <algorithm>
#include <array>
#include <bit>
#include <functional>
#include <map>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "kfc/stix/id_index.h"
#include "reference_cycles.h"
#include "references.h"

namespace kfc::batching::detail {
namespace {

constexpr std::size_t kShownRefs = 3;  // references named in a log line; the rest are counted
constexpr std::size_t kShownCycleIds = 6;  // ids of a cycle named in a log line

// The key of an id in the tables below: the batch index's hash (the resolution hands those on for
// the objects it stages, add_all_hashed()), 0 being the empty slot.
std::uint64_t key_of_hash(std::uint64_t hash) { return hash == 0 ? 1 : hash; }
std::uint64_t hash_of(std::string_view id) { return key_of_hash(stix::IdIndex::hash_of(id)); }


std::string describe(const rapidjson::Value& ref) {
  if (ref.IsString()) return std::string(string_of(ref));
  if (ref.IsNull()) return "null";
  return ref.IsNumber() ? "a number" : ref.IsBool() ? "a boolean" : ref.IsArray() ? "a list" : "an object";
}

}  // namespace

// ---- bounded memories ----------------------------------------------------------------------------

std::size_t slots_for(std::size_t capacity) { return std::bit_ceil(capacity + capacity / 3 + 1); }

namespace {

// A slot's key: the slot itself for an id table, its `key` for an alias table; 0 marks an empty slot.
template <class Slot>
std::uint64_t key_of(const Slot& slot) {
  if constexpr (std::is_integral_v<Slot>) return slot;
  else return slot.key;
}

// The slot holding `key`, or the empty slot where it goes (linear probing; a table is never full).
template <class Slot>
std::size_t probe(const std::vector<Slot>& slots, std::uint64_t key) {
  std::size_t i = key & (slots.size() - 1);
  while (key_of(slots[i]) != 0 && key_of(slots[i]) != key) i = (i + 1) & (slots.size() - 1);
  return i;
}

// The slots a table needs for one more key: it starts small (a short run stays small) and doubles
// while more than 3/4 full, up to slots_for(capacity).
template <class Slot>
void make_room(std::vector<Slot>& slots, std::size_t size, std::size_t capacity) {
  constexpr std::size_t kFirstSlots = 1024;
  const std::size_t most = slots_for(capacity);
  if (slots.empty()) {
    slots.assign(std::min(kFirstSlots, most), Slot{});
    return;
  }
  if ((size + 1) * 4 <= slots.size() * 3 || slots.size() >= most) return;
  std::vector<Slot> bigger(slots.size() * 2, Slot{});
  for (const Slot& slot : slots) {
    if (key_of(slot) != 0) bigger[probe(bigger, key_of(slot))] = slot;
  }
  slots.swap(bigger);
}

// Empties a table and keeps its slots: a table dropped and grown again would leave its memory as a
// hole the next doubling cannot use, and the process would grow by a table at every generation.
template <class Table>
void clear_table(Table& table) {
  std::fill(table.slots.begin(), table.slots.end(), typename decltype(table.slots)::value_type{});
  table.size = 0;
}

}  // namespace

bool IdGenerations::Table::insert(std::uint64_t key, std::size_t capacity) {
  make_room(slots, size, capacity);
  const std::size_t i = probe(slots, key);
  if (slots[i] == key) return false;
  slots[i] = key;
  ++size;
  return true;
}

bool IdGenerations::Table::contains(std::uint64_t key) const {
  return !slots.empty() && slots[probe(slots, key)] == key;
}

void IdGenerations::Table::prefetch(std::uint64_t key) const {
  if (!slots.empty()) __builtin_prefetch(&slots[key & (slots.size() - 1)]);
}

void IdGenerations::add(std::string_view id) { add_key(hash_of(id)); }

void IdGenerations::add_all(const std::vector<std::string_view>& ids) {
  std::vector<std::uint64_t> hashes(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) hashes[i] = stix::IdIndex::hash_of(ids[i]);
  add_all_hashed(hashes);
}

void IdGenerations::add_all_hashed(const std::vector<std::uint64_t>& hashes) {
  constexpr std::size_t kAhead = 8;
  std::vector<std::uint64_t> keys(hashes.size());
  for (std::size_t i = 0; i < hashes.size(); ++i) keys[i] = key_of_hash(hashes[i]);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i + kAhead < keys.size()) {
      old_.prefetch(keys[i + kAhead]);
      young_.prefetch(keys[i + kAhead]);
    }
    add_key(keys[i]);
  }
}

void IdGenerations::add_key(std::uint64_t key) {
  if (old_.contains(key)) return;
  if (young_.size >= capacity_) {
    std::swap(old_, young_);  // the forgotten generation's memory is reused (see clear_table())
    clear_table(young_);
  }
  young_.insert(key, capacity_);
}

bool IdGenerations::contains(std::string_view id) const {
  const std::uint64_t key = hash_of(id);
  return young_.contains(key) || old_.contains(key);
}

void AliasGenerations::Table::insert_or_assign(std::uint64_t key, std::string_view id, std::size_t capacity) {
  make_room(slots, size, capacity);
  const std::size_t i = probe(slots, key);
  if (slots[i].key == 0) ++size;
  // An alias given another id names the new one; the old text stays until the generation goes.
  slots[i] = Slot{key, static_cast<std::uint32_t>(ids.size()), static_cast<std::uint32_t>(id.size())};
  ids.append(id);
}

const AliasGenerations::Slot* AliasGenerations::Table::find(std::uint64_t key) const {
  if (slots.empty()) return nullptr;
  const Slot& slot = slots[probe(slots, key)];
  return slot.key == key ? &slot : nullptr;
}

// Full by count, or by text when aliases are given new ids again and again.
bool AliasGenerations::young_is_full() const {
  return young_.size >= capacity_ || young_.ids.size() >= capacity_ * kMaxAliasedIdBytes;
}

void AliasGenerations::add(std::string_view alias, std::string_view id) {
  if (id.size() > kMaxAliasedIdBytes) return;
  if (young_is_full()) {
    std::swap(old_, young_);
    clear_table(young_);
    young_.ids.clear();
  }
  young_.insert_or_assign(hash_of(alias), id, capacity_);
}

std::optional<std::string_view> AliasGenerations::find(std::string_view alias) const {
  const std::uint64_t key = hash_of(alias);
  for (const Table* table : {&young_, &old_}) {
    if (const Slot* slot = table->find(key)) return std::string_view(table->ids).substr(slot->offset, slot->length);
  }
  return std::nullopt;
}

// ---- one batch -----------------------------------------------------------------------------------

namespace {

// The resolution of one batch: which objects are still in it, what each reference resolves to.
class BatchResolution {
 public:
  BatchResolution(rapidjson::Document& objects, const IdGenerations& delivered, const AliasGenerations& aliases,
                  UnresolvedReferences unresolved)
      : objects_(objects), delivered_(delivered), aliases_(aliases), unresolved_(unresolved),
        alive_(objects.Size(), true), in_batch_(objects.Size()), level_(objects.Size(), 0),
        hashes_(objects.Size(), 0), first_alias_(objects.Size() + 1, 0) {
    for (rapidjson::SizeType i = 0; i < objects.Size(); ++i) {
      first_alias_[i] = aliases_of_.size();
      const auto [id, stix_ids] = id_and_aliases(objects[i]);
      if (id.empty()) {
        drop(i, "it has no string id");
        ++repairs_.dropped_without_id;
        continue;
      }
      hashes_[i] = stix::IdIndex::hash_of(id);
      const auto [record, inserted] = in_batch_.try_emplace(id, ids_.size(), hashes_[i]);
      if (inserted) {
        ids_.push_back(BatchId{i, 1});
      } else {
        ++ids_[record].alive_copies;
        repeated_id_ = true;
      }
      if (stix_ids == nullptr) continue;
      for (const auto& alias : stix_ids->GetArray()) {
        if (!alias.IsString() || string_of(alias) == id) continue;
        local_aliases_.try_emplace(string_of(alias), i);
        aliases_of_.push_back(string_of(alias));
      }
    }
    first_alias_[objects.Size()] = aliases_of_.size();
  }

  // What delivered() would remember of the stages built from the levels (call after run(), when
  // levels_known()): the kept objects level by level, in batch order within one.
  void delivery(ReferenceResolver::Delivery& out) const {
    out.hashes.clear();
    out.text.clear();
    out.aliases.clear();
    int deepest = 0;
    for (const int level : level_) deepest = std::max(deepest, level);
    std::vector<std::size_t> at_level(static_cast<std::size_t>(deepest) + 2, 0);  // counting sort
    for (const int level : level_) ++at_level[static_cast<std::size_t>(level) + 1];
    for (std::size_t l = 1; l < at_level.size(); ++l) at_level[l] += at_level[l - 1];
    std::vector<rapidjson::SizeType> order(level_.size());
    for (rapidjson::SizeType k = 0; k < level_.size(); ++k) order[at_level[static_cast<std::size_t>(level_[k])]++] = k;
    out.hashes.reserve(order.size());
    for (const rapidjson::SizeType k : order) {
      const rapidjson::SizeType from = kept_from_[k];
      out.hashes.push_back(hashes_[from]);
      if (first_alias_[from] == first_alias_[from + 1]) continue;
      const std::string_view id = id_of(objects_[k]);
      for (std::size_t a = first_alias_[from]; a < first_alias_[from + 1]; ++a) {
        const std::string_view alias = aliases_of_[a];
        out.aliases.push_back({out.text.size(), alias.size(), out.text.size() + alias.size(), id.size()});
        out.text.append(alias).append(id);
      }
    }
  }

  // Without a repeated id and with every reference pointing back, the levels found while resolving
  // are the stages' (and compact() kept them in step with the objects).
  bool levels_known() const { return !repeated_id_ && !forward_reference_; }
  std::vector<int> take_levels() { return std::move(level_); }

  // Breaking a cycle can drop a relationship, which can leave other references pointing nowhere:
  // both steps are repeated until neither changes anything.
  ReferenceRepairs run() {
    do repair_until_stable();
    while (break_cycles());
    if (unresolved_ == UnresolvedReferences::Keep) count_kept();
    log();
    compact();
    return repairs_;
  }

 private:
  enum class Verdict { Resolved, Missing };

  // The id each reference field found last in in_batch_ (which does not change once built): objects
  // follow each other with the same author, relationships with the same source, so most references
  // are not hashed and looked up again.
  struct Recent {
    std::string id;
    std::size_t record = 0;
    bool found = false;
  };

  // Until nothing changes: dropping an object can leave other references pointing nowhere.
  void repair_until_stable() {
    for (bool changed = true; changed;) {
      changed = false;
      std::fill(level_.begin(), level_.end(), 0);
      for (rapidjson::SizeType i = 0; i < objects_.Size(); ++i) {
        if (alive_[i] && !repair(i)) changed = true;
      }
    }
  }

  // Removes what closes a reference cycle (README.md, "Reference cycles"); false when there is none.
  bool break_cycles() {
    // Every object its own id, every reference to an earlier object (or itself): no ring can close,
    // and the search, a graph of the whole batch, is spared. That is nearly every batch.
    if (!repeated_id_ && !forward_reference_) return false;
    auto breaks = find_cycle_breaks(objects_, alive_);
    // Later elements of one object_refs first, so the positions of the earlier ones stay valid.
    std::stable_sort(breaks.begin(), breaks.end(), [](const CycleBreak& a, const CycleBreak& b) {
      return a.position != b.position ? a.position < b.position : a.element > b.element;
    });
    for (const auto& cycle_break : breaks) apply(cycle_break);
    return !breaks.empty();
  }

  void apply(const CycleBreak& cycle_break) {
    const std::string field(cycle_break.field);
    const std::string cycle = " (cycle " + cycle_text(cycle_break.cycle) + ")";
    if (cycle_break.drop_object) {
      drop(cycle_break.position, "its " + field + " closes a reference cycle of required references" + cycle);
      ++repairs_.cycle_relationships_dropped;
      return;
    }
    rapidjson::Value& object = objects_[cycle_break.position];
    const auto member = object.FindMember(cycle_break.field);
    std::string ref;
    if (cycle_break.element == CycleBreak::kWholeField) {
      ref = describe(member->value);
      object.EraseMember(member);
    } else {
      auto& list = member->value;
      ref = describe(list[cycle_break.element]);
      list.Erase(list.Begin() + cycle_break.element);
    }
    note(cycle_break.position, "reference cycle broken: dropped " + field + " " + ref + cycle);
    ++repairs_.cycle_references_dropped;
  }

  static std::string cycle_text(const std::vector<std::string>& ids) {
    std::string text;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i == kShownCycleIds && ids.size() > kShownCycleIds + 1) {
        text += " → … " + std::to_string(ids.size() - 1 - i) + " more → " + ids.back();
        break;
      }
      text += (i ? " → " : "") + ids[i];
    }
    return text;
  }

  // Resolves one reference in place (rewriting an alias); Missing when it points nowhere (Keep: only
  // when it is not text, which no platform can resolve). A reference of an object to itself needs no
  // test of its own: the object is alive, so its id is present.
  Verdict resolve(rapidjson::Value& ref, rapidjson::SizeType position, Recent* recent = nullptr) {
    if (!ref.IsString()) return Verdict::Missing;
    if (present(string_of(ref), position, recent)) return Verdict::Resolved;
    const std::string target(string_of(ref));
    std::optional<std::string> id;
    if (const std::size_t* local = local_aliases_.find(target)) id = std::string(id_of(objects_[*local]));
    if (!id) {
      if (auto global = aliases_.find(target)) id = std::string(*global);
    }
    if (!id || !present(*id, position)) return unresolved_ == UnresolvedReferences::Keep ? Verdict::Resolved : Verdict::Missing;
    note(position, "reference " + std::string(target) + " rewritten to " + *id);
    ref.SetString(id->data(), static_cast<rapidjson::SizeType>(id->size()), objects_.GetAllocator());
    ++repairs_.rewritten;
    return Verdict::Resolved;
  }

  bool present(std::string_view id) const {
    const std::size_t* record = in_batch_.find(id);
    return (record != nullptr && ids_[*record].alive_copies > 0) || delivered_.contains(id);
  }

  // present(), for a reference of the object at `from`, noting one to an object later in the batch.
  // With `recent`, the id found last through the same field is not looked up again.
  bool present(std::string_view id, rapidjson::SizeType from, Recent* recent = nullptr) {
    const std::size_t* record = nullptr;
    if (recent != nullptr && recent->found && recent->id == id) {
      record = &recent->record;
    } else {
      record = in_batch_.find(id);
      if (recent != nullptr && record != nullptr) {
        recent->id.assign(id);
        recent->record = *record;
        recent->found = true;
      }
    }
    if (record != nullptr && ids_[*record].alive_copies > 0) {
      const rapidjson::SizeType to = ids_[*record].position;
      if (to > from) forward_reference_ = true;
      if (to < from) level_[from] = std::max(level_[from], level_[to] + 1);  // `to` was repaired before
      return true;
    }
    return delivered_.contains(id);
  }

  // Repairs the object at `position`; false when it had to be dropped.
  bool repair(rapidjson::SizeType position) {
    rapidjson::Value& object = objects_[position];
    auto members = reference_members(object);
    for (std::size_t i = 0; i < kReferenceFields.size(); ++i) {
      const auto member = members.fields[i];
      if (member == object.MemberEnd() || member->value.IsNull()) continue;
      if (resolve(member->value, position, &recent_[i]) == Verdict::Resolved) continue;
      const bool required = i >= 2;  // source_ref, target_ref; else an author
      if (required) {
        drop(position, std::string("its ") + kReferenceFields[i] + " " + describe(member->value) +
                           " was not delivered in this run");
        ++repairs_.dropped_relationships;
        return false;
      }
      note(position, std::string("dropped ") + kReferenceFields[i] + " " + describe(member->value));
      object.EraseMember(member);
      ++repairs_.dropped_created_by;
      members = reference_members(object);  // erasing moved the members after it
    }
    return repair_object_refs(object, members.list, position);
  }

  bool repair_object_refs(rapidjson::Value& object, rapidjson::Value::MemberIterator refs,
                          rapidjson::SizeType position) {
    if (refs == object.MemberEnd() || refs->value.IsNull()) return true;
    if (!refs->value.IsArray()) {
      if (resolve(refs->value, position) == Verdict::Resolved) return true;
      drop(position, "its object_refs is " + describe(refs->value) + ", which names no delivered object");
      ++repairs_.dropped_without_refs;
      return false;
    }
    auto& list = refs->value;
    if (list.Empty()) return true;  // sent that way (the reference connector does too): left as it is
    std::vector<std::string> missing;
    for (auto element = list.Begin(); element != list.End();) {
      if (resolve(*element, position) == Verdict::Resolved) {
        ++element;
        continue;
      }
      missing.push_back(describe(*element));
      element = list.Erase(element);
      ++repairs_.dropped_object_refs;
    }
    if (!missing.empty()) note(position, "dropped object_refs " + shortened(missing));
    if (!list.Empty()) return true;
    drop(position, "none of its object_refs was delivered in this run");
    ++repairs_.dropped_without_refs;
    return false;
  }

  void drop(rapidjson::SizeType position, const std::string& why) {
    alive_[position] = false;
    if (const std::size_t* record = in_batch_.find(id_of(objects_[position]))) --ids_[*record].alive_copies;
    note(position, "dropped: " + why);
  }

  void note(rapidjson::SizeType position, std::string what) {
    auto [it, first] = notes_.try_emplace(position);
    if (first) {
      const std::string_view id = id_of(objects_[position]);
      it->second.name = id.empty() ? "#" + std::to_string(position + 1) + " of the batch" : std::string(id);
    }
    it->second.parts.push_back(std::move(what));
  }

  static std::string shortened(const std::vector<std::string>& refs) {
    std::string text;
    for (std::size_t i = 0; i < refs.size() && i < kShownRefs; ++i) text += (i ? ", " : "") + refs[i];
    if (refs.size() > kShownRefs) text += " and " + std::to_string(refs.size() - kShownRefs) + " more";
    return text + " (not delivered in this run)";
  }

  // Keep: the references of the objects left that still point outside the run, counted once when
  // nothing changes any more (the loop above may look at an object several times).
  void count_kept() {
    for (rapidjson::SizeType i = 0; i < objects_.Size(); ++i) {
      if (!alive_[i]) continue;
      const std::string_view self = id_of(objects_[i]);
      detail::for_each_reference(objects_[i], [&](const char* field, const rapidjson::Value& ref) {
        if (!ref.IsString() || string_of(ref) == self || present(string_of(ref))) return;
        ++repairs_.kept_external;
        spdlog::debug("Reference kept for the platform to resolve, object {}: {} {}", self, field, string_of(ref));
      });
    }
  }

  // Dropped objects leave the array; the others keep their order.
  void compact() {
    rapidjson::SizeType kept = 0;
    kept_from_.clear();
    for (rapidjson::SizeType i = 0; i < objects_.Size(); ++i) {
      if (!alive_[i]) continue;
      kept_from_.push_back(i);
      if (kept != i) {
        objects_[kept] = objects_[i].Move();
        level_[kept] = level_[i];
      }
      ++kept;
    }
    while (objects_.Size() > kept) objects_.PopBack();
    level_.resize(kept);
  }

  // One line per object that was changed or dropped (ids only: descriptions may be long).
  void log() const {
    for (const auto& [position, notes] : notes_) {
      std::string text;
      for (const auto& part : notes.parts) text += (text.empty() ? "" : "; ") + part;
      spdlog::warn("Reference repair, object {}: {}", notes.name, text);
    }
  }

  rapidjson::Document& objects_;
  const IdGenerations& delivered_;
  const AliasGenerations& aliases_;
  const UnresolvedReferences unresolved_;
  std::vector<bool> alive_;
  // The batch's ids: where each was first seen, how many of the objects still alive carry it.
  struct BatchId {
    rapidjson::SizeType position;
    std::size_t alive_copies;
  };
  stix::IdIndex in_batch_;          // id → its BatchId in ids_
  std::array<Recent, kReferenceFields.size()> recent_;
  std::vector<BatchId> ids_;
  bool repeated_id_ = false;        // some id is carried by several objects
  bool forward_reference_ = false;  // some reference resolved to an object later in the batch
  // The dependency level (stages.h) of each object, found while its references are resolved; right
  // only when every reference points back (levels_known()).
  std::vector<int> level_;
  stix::IdIndex local_aliases_;  // alias (x_opencti_stix_ids) → position of the object it names
  // For delivery(): each object's id hash (0 without an id) and aliases (from first_alias_[i] to
  // first_alias_[i + 1] in aliases_of_; views of alias text, which nothing changes or moves: an
  // object moved moves only the pointer to its members), by position before compact(); and where
  // each object left by compact() came from.
  std::vector<std::uint64_t> hashes_;
  std::vector<std::size_t> first_alias_;
  std::vector<std::string_view> aliases_of_;
  std::vector<rapidjson::SizeType> kept_from_;
  struct Notes {
    std::string name;  // the object's id when the first note was taken
    std::vector<std::string> parts;
  };
  std::map<rapidjson::SizeType, Notes> notes_;
  ReferenceRepairs repairs_;
};

}  // namespace

ReferenceRepairs ReferenceResolver::resolve(rapidjson::Document& objects, std::vector<int>* levels) {
  if (levels != nullptr) levels->clear();
  if (!objects.IsArray()) return {};
  BatchResolution resolution(objects, delivered_, aliases_, unresolved_);
  ReferenceRepairs repairs = resolution.run();
  if (levels != nullptr && resolution.levels_known()) {
    resolution.delivery(resolved_);
    *levels = resolution.take_levels();
  }
  return repairs;
}

void ReferenceResolver::delivered_as_resolved() {
  for (const auto& a : resolved_.aliases) {
    const std::string_view text = resolved_.text;
    aliases_.add(text.substr(a.alias_offset, a.alias_size), text.substr(a.id_offset, a.id_size));
  }
  delivered_.add_all_hashed(resolved_.hashes);
}

void ReferenceResolver::delivered(const rapidjson::Value& objects) {
  if (!objects.IsArray()) return;
  std::vector<std::string_view> ids;
  ids.reserve(objects.Size());
  for (const auto& object : objects.GetArray()) {
    const std::string_view id = id_of(object);
    if (id.empty()) continue;
    ids.push_back(id);
    const auto stix_ids = object.FindMember("x_opencti_stix_ids");
    if (stix_ids == object.MemberEnd() || !stix_ids->value.IsArray()) continue;
    for (const auto& alias : stix_ids->value.GetArray()) {
      if (alias.IsString() && string_of(alias) != id) aliases_.add(string_of(alias), id);
    }
  }
  delivered_.add_all(ids);
}

}  // namespace kfc::batching::detail
