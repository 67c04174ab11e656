#include "kfc/opentip/cache.h"

#include <openssl/evp.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace kfc::opentip {
namespace {

namespace fs = std::filesystem;

bool fresh(const CachedAnswer& answer, std::chrono::seconds ttl, SystemTime now) {
  return now >= answer.stored_at && now - answer.stored_at < ttl;
}

std::string sha256_hex(const std::string& text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

long long to_epoch_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SystemTime from_epoch_ms(long long ms) { return SystemTime{std::chrono::milliseconds(ms)}; }

// Writes through a temporary file and a rename, so a reader never sees half a file.
void write_atomically(const fs::path& path, const std::string& content) {
  fs::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write the OpenTIP cache file " + temporary.string() +
                                       " — check opentip.cache_dir is writable");
  }
  fs::rename(temporary, path);
}

}  // namespace

std::optional<CachedAnswer> MemoryCache::get(const std::string& key, SystemTime now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (!fresh(it->second.answer, ttl_, now)) {
    recency_.erase(it->second.position);
    entries_.erase(it);
    return std::nullopt;
  }
  recency_.splice(recency_.begin(), recency_, it->second.position);
  return it->second.answer;
}

void MemoryCache::put(const std::string& key, const CachedAnswer& answer) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    it->second.answer = answer;
    recency_.splice(recency_.begin(), recency_, it->second.position);
    return;
  }
  while (entries_.size() >= max_entries_) {
    entries_.erase(recency_.back());
    recency_.pop_back();
  }
  recency_.push_front(key);
  entries_.emplace(key, Entry{answer, recency_.begin()});
}

std::optional<SystemTime> MemoryCache::quota_blocked_until() {
  std::lock_guard lock(mutex_);
  return blocked_until_;
}

void MemoryCache::set_quota_blocked_until(SystemTime until) {
  std::lock_guard lock(mutex_);
  blocked_until_ = until;
}

std::size_t MemoryCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

DirectoryCache::DirectoryCache(std::string directory, std::chrono::seconds ttl)
    : directory_(std::move(directory)), ttl_(ttl) {
  std::error_code error;
  fs::create_directories(directory_, error);
  if (error || !fs::is_directory(directory_)) {
    throw std::runtime_error("opentip.cache_dir '" + directory_ + "' cannot be created (" + error.message() +
                             ") — point it at a writable directory or leave it empty for an in-memory cache");
  }
}

std::string DirectoryCache::path_for(const std::string& key) const {
  return (fs::path(directory_) / (sha256_hex(key) + ".answer")).string();
}

// File layout: "<stored_at epoch ms> <status>\n<key>\n<body>". The key is checked on read.
std::optional<CachedAnswer> DirectoryCache::get(const std::string& key, SystemTime now) {
  std::ifstream in(path_for(key), std::ios::binary);
  if (!in) return std::nullopt;
  long long stored_ms = 0;
  int status = 0;
  std::string stored_key;
  if (!(in >> stored_ms >> status) || in.get() != '\n' || !std::getline(in, stored_key) || stored_key != key ||
      (status != 200 && status != 404)) {
    return std::nullopt;
  }
  std::ostringstream body;
  body << in.rdbuf();
  CachedAnswer answer{.status = status, .body = body.str(), .stored_at = from_epoch_ms(stored_ms)};
  if (!fresh(answer, ttl_, now)) return std::nullopt;
  return answer;
}

void DirectoryCache::put(const std::string& key, const CachedAnswer& answer) {
  write_atomically(path_for(key), std::to_string(to_epoch_ms(answer.stored_at)) + " " +
                                      std::to_string(answer.status) + "\n" + key + "\n" + answer.body);
}

std::optional<SystemTime> DirectoryCache::quota_blocked_until() {
  std::ifstream in(fs::path(directory_) / "quota-blocked-until");
  long long until_ms = 0;
  if (!(in >> until_ms)) return std::nullopt;
  return from_epoch_ms(until_ms);
}

void DirectoryCache::set_quota_blocked_until(SystemTime until) {
  write_atomically(fs::path(directory_) / "quota-blocked-until", std::to_string(to_epoch_ms(until)) + "\n");
}

std::unique_ptr<ResultCache> make_cache(const std::string& directory, std::chrono::seconds ttl,
                                        std::size_t max_entries) {
  if (directory.empty()) return std::make_unique<MemoryCache>(ttl, max_entries);
  return std::make_unique<DirectoryCache>(directory, ttl);
}

}  // namespace kfc::opentip
