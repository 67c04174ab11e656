#pragma once
// Quota is precious: answers are kept for opentip.cache_ttl, in memory or in opentip.cache_dir (so
// successive `lookup` commands share them). The quota block (after a 403) is kept there too.
#include <algorithm>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kfc/config/clock.h"

namespace kfc::opentip {

struct CachedAnswer {
  int status = 200;  // 200 (body holds the JSON) or 404 (no data)
  std::string body;
  SystemTime stored_at;
};

class ResultCache {
 public:
  virtual ~ResultCache() = default;
  // The answer stored under `key` if it is younger than the TTL at `now`.
  virtual std::optional<CachedAnswer> get(const std::string& key, SystemTime now) = 0;
  virtual void put(const std::string& key, const CachedAnswer& answer) = 0;
  // Until when OpenTIP must not be asked (after a 403), shared by every user of the cache.
  virtual std::optional<SystemTime> quota_blocked_until() = 0;
  virtual void set_quota_blocked_until(SystemTime until) = 0;
};

// Bounded by opentip.cache_max_entries: a months-long enrichment process sees an endless stream of
// distinct values, so when the cache is full the least recently used answer makes room.
class MemoryCache final : public ResultCache {
 public:
  static constexpr std::size_t kDefaultMaxEntries = 10000;
  explicit MemoryCache(std::chrono::seconds ttl, std::size_t max_entries = kDefaultMaxEntries)
      : ttl_(ttl), max_entries_(std::max<std::size_t>(max_entries, 1)) {}
  std::optional<CachedAnswer> get(const std::string& key, SystemTime now) override;
  void put(const std::string& key, const CachedAnswer& answer) override;
  std::optional<SystemTime> quota_blocked_until() override;
  void set_quota_blocked_until(SystemTime until) override;
  std::size_t size() const;

 private:
  using Recency = std::list<std::string>;  // keys, most recently used first
  struct Entry {
    CachedAnswer answer;
    Recency::iterator position;
  };

  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  mutable std::mutex mutex_;
  Recency recency_;
  std::unordered_map<std::string, Entry> entries_;
  std::optional<SystemTime> blocked_until_;
};

// One file per answer (named by the SHA-256 of the key, so values never become path names),
// written atomically; an unreadable or corrupt file counts as a miss.
class DirectoryCache final : public ResultCache {
 public:
  // Creates the directory; throws std::runtime_error naming opentip.cache_dir when it cannot.
  DirectoryCache(std::string directory, std::chrono::seconds ttl);
  std::optional<CachedAnswer> get(const std::string& key, SystemTime now) override;
  void put(const std::string& key, const CachedAnswer& answer) override;
  std::optional<SystemTime> quota_blocked_until() override;
  void set_quota_blocked_until(SystemTime until) override;
  const std::string& directory() const { return directory_; }
  std::string path_for(const std::string& key) const;

 private:
  std::string directory_;
  std::chrono::seconds ttl_;
};

// The content of a cache file, "<stored_at epoch ms> <status>\n<key>\n<body>": the answer when it is
// well formed, stored under `key`, with a status 200/404 and a time the clock can hold; nullopt for
// anything else (another program's file, a half-written or tampered one: a miss, never a crash).
std::optional<CachedAnswer> parse_cache_file(std::string_view content, std::string_view key);
// The content of the quota file, "<epoch ms>\n"; nullopt when it is not that.
std::optional<SystemTime> parse_quota_file(std::string_view content);

// In memory (at most `max_entries` answers) when `directory` is empty, else on disk.
std::unique_ptr<ResultCache> make_cache(const std::string& directory, std::chrono::seconds ttl,
                                        std::size_t max_entries = MemoryCache::kDefaultMaxEntries);

}  // namespace kfc::opentip
