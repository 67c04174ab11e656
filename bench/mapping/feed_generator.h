#pragma once
// A deterministic generator of Kaspersky-shaped TAXII feed objects (connector/mapping/README.md): IP
// reputation, botnet URLs (with LIKE masks), malicious domains, malicious hashes, APT hashes with
// full publication context (actors, industries, countries, detection dates) and exploits, with
// rich `description` contexts. It produces TAXII envelope pages as JSON text, one page at a time, so
// a feed of any length streams through without being held in memory.
#include <cstdint>
#include <random>
#include <string>

namespace kfc::bench {

class FeedGenerator {
 public:
  explicit FeedGenerator(std::uint64_t seed = 42);

  // The next `count` objects as a TAXII 2.1 envelope {"more": …, "objects": [ … ]}, all of the
  // collection whose title is returned in `collection_title` (collections rotate page by page).
  std::string next_page(std::size_t count, bool more, std::string& collection_title);

  std::uint64_t generated() const { return generated_; }

  // One feed object of a pattern kind, appended to `out` as JSON (the static pages of bench/run.sh).
  enum class Kind { Ip, Url, Domain, Hash, AptHash, Exploit };
  void append_object(Kind kind, std::string& out);

 private:
  static const char* indicator_name(Kind kind);
  std::string indicator_pattern(Kind kind, std::uint64_t n);
  std::string description(Kind kind);
  std::string hex(std::size_t digits);
  std::string timestamp(int day_offset);
  std::string countries(std::size_t max_count);
  template <typename T, std::size_t N>
  const T& pick(const T (&items)[N]) {
    return items[random_() % N];
  }

  std::mt19937_64 random_;
  std::uint64_t generated_ = 0;
  std::size_t page_number_ = 0;
};

}  // namespace kfc::bench
