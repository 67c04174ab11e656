#include "kfc/opentip/cache.h"

#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "kfc/config/text.h"

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

// A time read from a file: only 1970..2200 (the clock counts nanoseconds in 64 bits, up to 2262;
// a bigger number would overflow on conversion).
std::optional<SystemTime> from_epoch_ms(std::string_view digits) {
  constexpr long long kYear2200Ms = 7'258'118'400'000;
  long long ms = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  if (error != std::errc{} || end != digits.data() + digits.size() || ms < 0 || ms > kYear2200Ms) return std::nullopt;
  return SystemTime{std::chrono::milliseconds(ms)};
}

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

std::optional<CachedAnswer> parse_cache_file(std::string_view content, std::string_view key) {
  const auto first_line = content.find('\n');
  if (first_line == std::string_view::npos) return std::nullopt;
  const auto key_line = content.find('\n', first_line + 1);
  if (key_line == std::string_view::npos || content.substr(first_line + 1, key_line - first_line - 1) != key) {
    return std::nullopt;
  }
  const std::string_view header = content.substr(0, first_line);
  const auto space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto stored_at = from_epoch_ms(header.substr(0, space));
  const std::string_view status = header.substr(space + 1);
  if (!stored_at || (status != "200" && status != "404")) return std::nullopt;
  return CachedAnswer{.status = status == "200" ? 200 : 404, .body = std::string(content.substr(key_line + 1)),
                      .stored_at = *stored_at};
}

std::optional<SystemTime> parse_quota_file(std::string_view content) {
  if (content.ends_with('\n')) content.remove_suffix(1);
  return from_epoch_ms(content);
}

// File layout: see parse_cache_file. The key is checked on read.
std::optional<CachedAnswer> DirectoryCache::get(const std::string& key, SystemTime now) {
  auto answer = parse_cache_file(read_whole_file(path_for(key)), key);
  if (!answer || !fresh(*answer, ttl_, now)) return std::nullopt;
  return answer;
}

void DirectoryCache::put(const std::string& key, const CachedAnswer& answer) {
  write_atomically(path_for(key), std::to_string(to_epoch_ms(answer.stored_at)) + " " +
                                      std::to_string(answer.status) + "\n" + key + "\n" + answer.body);
}

std::optional<SystemTime> DirectoryCache::quota_blocked_until() {
  return parse_quota_file(read_whole_file(fs::path(directory_) / "quota-blocked-until"));
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
