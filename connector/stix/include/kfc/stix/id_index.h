#pragma once
// The ids of one batch, each with a number (a position, a node, a count). The mapping and every
// step of batching look ids up per object and per reference, about ten objects per feed
// indicator: a node-based std::unordered_map with std::string keys spent more time in malloc than
// in lookups. This one is a single open-addressing table over the ids' hashes, and the ids are
// copied into one buffer, so it holds no view into a document whose values may move (RapidJSON
// keeps a short string inside its value, and erasing a member moves the members after it).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kfc::stix {

class IdIndex {
 public:
  IdIndex() = default;
  explicit IdIndex(std::size_t expected_ids) { reserve(expected_ids); }

  // Room for `ids` ids without growing.
  void reserve(std::size_t ids) {
    std::size_t slots = kFirstSlots;
    while (slots < ids * 2) slots *= 2;
    if (slots > slots_.size()) rehash(slots);
  }

  // The hash the index files `id` under (std::hash): a caller that needs it too computes it once.
  static std::uint64_t hash_of(std::string_view id) { return std::hash<std::string_view>{}(id); }

  // The number stored for `id`, after storing `value` if the id was new; true when it was new.
  std::pair<std::size_t&, bool> try_emplace(std::string_view id, std::size_t value) {
    return try_emplace(id, value, hash_of(id));
  }
  // The same, with `hash` = hash_of(id) already known.
  std::pair<std::size_t&, bool> try_emplace(std::string_view id, std::size_t value, std::uint64_t hash) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? kFirstSlots : slots_.size() * 2);
    std::size_t i = hash & (slots_.size() - 1);
    for (; slots_[i].used; i = (i + 1) & (slots_.size() - 1)) {
      if (matches(slots_[i], hash, id)) return {slots_[i].value, false};
    }
    slots_[i] = Slot{hash, keys_.size(), id.size(), value, true};
    keys_.append(id);
    ++size_;
    return {slots_[i].value, true};
  }

  // The number stored for `id`, or nullptr.
  const std::size_t* find(std::string_view id) const {
    if (slots_.empty()) return nullptr;
    const std::uint64_t hash = hash_of(id);
    for (std::size_t i = hash & (slots_.size() - 1); slots_[i].used; i = (i + 1) & (slots_.size() - 1)) {
      if (matches(slots_[i], hash, id)) return &slots_[i].value;
    }
    return nullptr;
  }
  std::size_t* find(std::string_view id) {
    return const_cast<std::size_t*>(static_cast<const IdIndex&>(*this).find(id));
  }
  bool contains(std::string_view id) const { return find(id) != nullptr; }

  std::size_t size() const { return size_; }

  // Forgets every id; keeps the memory unless it grew large (an index cleared for every small
  // group of ids should not sweep a big table each time).
  void clear() {
    if (slots_.size() > kKeptSlots) {
      slots_ = {};
      keys_ = {};
    }
    for (auto& slot : slots_) slot.used = false;
    keys_.clear();
    size_ = 0;
  }

 private:
  static constexpr std::size_t kFirstSlots = 64;
  static constexpr std::size_t kKeptSlots = 4096;

  struct Slot {
    std::uint64_t hash = 0;
    std::size_t key_offset = 0;  // in keys_
    std::size_t key_size = 0;
    std::size_t value = 0;
    bool used = false;
  };

  bool matches(const Slot& slot, std::uint64_t hash, std::string_view id) const {
    return slot.hash == hash && std::string_view(keys_.data() + slot.key_offset, slot.key_size) == id;
  }

  void rehash(std::size_t slot_count) {
    std::vector<Slot> bigger(slot_count);
    for (const Slot& slot : slots_) {
      if (!slot.used) continue;
      std::size_t i = slot.hash & (slot_count - 1);
      while (bigger[i].used) i = (i + 1) & (slot_count - 1);
      bigger[i] = slot;
    }
    slots_.swap(bigger);
  }

  std::vector<Slot> slots_;
  std::string keys_;
  std::size_t size_ = 0;
};

}  // namespace kfc::stix
