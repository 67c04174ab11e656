#pragma once
// Dangling references (README.md, "References that point nowhere"): before a batch is staged,
// every reference is resolved against the batch itself, then against the objects earlier batches of
// this run delivered; what still points nowhere is dropped (an optional reference) or drops its
// object (a required one), counted and logged once per object — or, with UnresolvedReferences::Keep,
// kept as it is and counted (only a reference that is not text is still dropped). References to an
// object's alias (an indicator's original feed id, kept in x_opencti_stix_ids) are rewritten to its id.
// Reference cycles are then broken (README.md, "Reference cycles"), so the stages never meet one.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/batching/batcher.h"

namespace kfc::batching::detail {

// Slots of a table holding at most `capacity` keys, no more than 3/4 full: a power of two, so the
// slot is the hash's low bits. A generation's table starts small and doubles up to this size, never
// past it: memory is bounded by it whatever the run's size.
std::size_t slots_for(std::size_t capacity);

// A set of ids kept as 64-bit hashes in two generations: when the young one holds `capacity` ids,
// the old one is forgotten and the young one becomes old. Memory is therefore bounded (2 tables of
// slots_for(capacity) × 8 bytes) whatever the run's size; an id forgotten that way is "not delivered".
class IdGenerations {
 public:
  explicit IdGenerations(std::size_t capacity) : capacity_(capacity) {}
  void add(std::string_view id);
  // The same as add() for each id, faster for many: the tables outgrow the cache and nearly every id
  // of a batch is new, so each slot is fetched from memory a few ids ahead of its insert.
  void add_all(const std::vector<std::string_view>& ids);
  // add_all() with each id's stix::IdIndex::hash_of already known.
  void add_all_hashed(const std::vector<std::uint64_t>& hashes);
  bool contains(std::string_view id) const;

 private:
  // Open addressing, linear probing; 0 marks an empty slot (a hash of 0 is stored as 1).
  struct Table {
    std::vector<std::uint64_t> slots;  // none until the first key, then doubling to slots_for(capacity)
    std::size_t size = 0;
    bool insert(std::uint64_t key, std::size_t capacity);  // false when it was there already
    bool contains(std::uint64_t key) const;
    void prefetch(std::uint64_t key) const;
  };
  void add_key(std::uint64_t key);
  std::size_t capacity_;
  Table young_, old_;
};

// Alias → id, bounded the same way (aliases are rarer than ids). The ids' text sits in one buffer
// per generation; an id longer than any STIX id (kMaxAliasedIdBytes) is not remembered.
class AliasGenerations {
 public:
  static constexpr std::size_t kMaxAliasedIdBytes = 256;
  explicit AliasGenerations(std::size_t capacity) : capacity_(capacity) {}
  void add(std::string_view alias, std::string_view id);
  std::optional<std::string_view> find(std::string_view alias) const;

 private:
  struct Slot {
    std::uint64_t key = 0;  // the alias's hash; 0: empty
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  struct Table {
    std::vector<Slot> slots;  // none until the first alias
    std::string ids;          // the text of every id the slots name, one after another
    std::size_t size = 0;
    void insert_or_assign(std::uint64_t key, std::string_view id, std::size_t capacity);
    const Slot* find(std::uint64_t key) const;
  };
  bool young_is_full() const;
  std::size_t capacity_;
  Table young_, old_;
};

class ReferenceResolver {
 public:
  ReferenceResolver(std::size_t max_ids = 1u << 19, std::size_t max_aliases = 1u << 16,
                    UnresolvedReferences unresolved = UnresolvedReferences::Drop)
      : delivered_(max_ids), aliases_(max_aliases), unresolved_(unresolved) {}

  // Repairs the batch `objects` (an array) in place and says what it did. With `levels`: when the
  // batch's ids are distinct and its references all point back (what the mapping produces), sets it
  // to each object's dependency level, as build_stages would find it; else leaves it empty.
  ReferenceRepairs resolve(rapidjson::Document& objects, std::vector<int>* levels = nullptr);
  // Remembers the objects of a batch that is about to be sent (their ids and aliases).
  void delivered(const rapidjson::Value& objects);
  // delivered() for every stage built from the levels the last resolve() gave, in stage order: the
  // resolution already read each object's id, hash and aliases, so the stages are not read again.
  void delivered_as_resolved();
  // For the stages, after resolve(): a reference to `id` outside the batch is no dependency — the
  // object was delivered earlier in the run, or (Keep) every reference left is the platform's.
  bool satisfied_outside_batch(std::string_view id) const {
    return unresolved_ == UnresolvedReferences::Keep || delivered_.contains(id);
  }

 private:
  IdGenerations delivered_;
  AliasGenerations aliases_;
  UnresolvedReferences unresolved_;

 public:
  // What the objects of the last resolve() that gave levels would be remembered by, in stage order
  // (level by level, batch order within one, as the stages are built).
  struct Delivery {
    std::vector<std::uint64_t> hashes;  // of the ids
    std::string text;                   // the aliases' and ids' text, one after another
    struct Alias {
      std::size_t alias_offset, alias_size, id_offset, id_size;
    };
    std::vector<Alias> aliases;
  };

 private:
  Delivery resolved_;
};

}  // namespace kfc::batching::detail
