#pragma once
// What the mapping derives from a piece of feed text, remembered (README "Context expansion"): the
// same threat verdicts, actor, industry and country names come back indicator after indicator, and
// deriving them again costs a split, a Unicode lower-casing and a SHA-1 each time. Bounded: past
// kLimit entries the memo starts again empty, so memory does not grow with the feed.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kfc::mapping {

template <class V>
class Memo {
 public:
  static constexpr std::size_t kLimit = 4096;

  // The value for `key`, made by make() the first time. The reference is valid until the next get().
  template <class Make>
  const V& get(std::string_view key, Make&& make) {
    if (const auto it = map_.find(key); it != map_.end()) return it->second;
    if (map_.size() >= kLimit) map_.clear();
    return map_.emplace(std::string(key), make()).first->second;
  }

  std::size_t size() const { return map_.size(); }

 private:
  struct Hash {
    using is_transparent = void;  // find() by string_view, without a string made for each look-up
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, V, Hash, std::equal_to<>> map_;
};

}  // namespace kfc::mapping
