#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kfc/opentip/cache.h"

namespace kfc::opentip {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class DirectoryCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("kfc-opentip-cache-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }
  fs::path directory_;
  SystemTime t0 = SystemTime{} + 500000h;
};

TEST_F(DirectoryCacheTest, KeepsAnswersForTheTtlAcrossInstances) {
  {
    DirectoryCache cache(directory_.string(), 3600s);
    cache.put("hash:abc", {200, R"({"Zone":"Red"})", t0});
    cache.put("domain:gone.example", {404, "", t0});
  }
  DirectoryCache reopened(directory_.string(), 3600s);
  auto hit = reopened.get("hash:abc", t0 + 3599s);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->status, 200);
  EXPECT_EQ(hit->body, R"({"Zone":"Red"})");
  EXPECT_EQ(hit->stored_at, t0);
  EXPECT_EQ(reopened.get("domain:gone.example", t0)->status, 404);
  EXPECT_FALSE(reopened.get("hash:abc", t0 + 3600s));
  EXPECT_FALSE(reopened.get("hash:other", t0));
}

TEST_F(DirectoryCacheTest, FileNamesNeverContainTheValue) {
  DirectoryCache cache(directory_.string(), 60s);
  cache.put("url:http://evil.example/../../etc/passwd", {200, "{}", t0});
  for (const auto& entry : fs::directory_iterator(directory_)) {
    EXPECT_EQ(entry.path().filename().string().find("evil"), std::string::npos);
  }
}

TEST_F(DirectoryCacheTest, CorruptOrForeignFilesAreMisses) {
  DirectoryCache cache(directory_.string(), 60s);
  std::ofstream(cache.path_for("hash:abc")) << "garbage without a header";
  EXPECT_FALSE(cache.get("hash:abc", t0));
  std::ofstream(cache.path_for("hash:def")) << "0 200\nhash:SOMETHING-ELSE\n{}";
  EXPECT_FALSE(cache.get("hash:def", t0));
  std::ofstream(cache.path_for("hash:ghi")) << "0 500\nhash:ghi\n{}";
  EXPECT_FALSE(cache.get("hash:ghi", t0));
}

// A file another program wrote (or a bit flipped) holds numbers the clock cannot take: a miss, never
// an overflow (the sanitizer build aborts on one).
TEST(CacheFiles, TimesTheClockCannotHoldAreMisses) {
  EXPECT_TRUE(parse_cache_file("1700000000000 200\nhash:a\n{}", "hash:a").has_value());
  EXPECT_EQ(parse_cache_file("1700000000000 404\nhash:a\n", "hash:a")->status, 404);
  EXPECT_EQ(parse_cache_file("1700000000000 200\nhash:a\n{\"x\":1}\n", "hash:a")->body, "{\"x\":1}\n");
  for (std::string_view bad : {"9223372036854775807 200\nhash:a\n{}", "99999999999999999999 200\nhash:a\n{}",
                               "-1 200\nhash:a\n{}", "1e3 200\nhash:a\n{}", " 1 200\nhash:a\n{}",
                               "1 200 \nhash:a\n{}", "1 200\nhash:a", "1\nhash:a\n{}", ""}) {
    EXPECT_FALSE(parse_cache_file(bad, "hash:a").has_value()) << bad;
  }
  EXPECT_TRUE(parse_quota_file("1700000000000\n").has_value());
  EXPECT_FALSE(parse_quota_file("9223372036854775807\n").has_value());
  EXPECT_FALSE(parse_quota_file("soon").has_value());
}

TEST_F(DirectoryCacheTest, QuotaBlockIsSharedThroughTheDirectory) {
  DirectoryCache first(directory_.string(), 60s);
  EXPECT_FALSE(first.quota_blocked_until());
  first.set_quota_blocked_until(t0 + 1h);
  DirectoryCache second(directory_.string(), 60s);
  EXPECT_EQ(second.quota_blocked_until(), t0 + 1h);
}

TEST_F(DirectoryCacheTest, UnusableDirectoryNamesTheKey) {
  std::ofstream(directory_.string()) << "a file, not a directory";
  try {
    DirectoryCache cache(directory_.string(), 60s);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("opentip.cache_dir"), std::string::npos);
  }
  fs::remove(directory_);
}

TEST(MemoryCache, ExpiresAfterTheTtl) {
  SystemTime t0 = SystemTime{} + 500000h;
  MemoryCache cache(10s);
  cache.put("ip:1.2.3.4", {200, "{}", t0});
  EXPECT_TRUE(cache.get("ip:1.2.3.4", t0 + 9s));
  EXPECT_FALSE(cache.get("ip:1.2.3.4", t0 + 10s));
  EXPECT_EQ(cache.size(), 0u);
}

// opentip.cache_max_entries: a full cache drops the answer used least recently, never more.
TEST(MemoryCache, KeepsAtMostMaxEntriesDroppingTheLeastRecentlyUsed) {
  SystemTime t0 = SystemTime{} + 500000h;
  MemoryCache cache(1h, 3);
  cache.put("ip:1.1.1.1", {200, "one", t0});
  cache.put("ip:2.2.2.2", {200, "two", t0});
  cache.put("ip:3.3.3.3", {200, "three", t0});
  ASSERT_TRUE(cache.get("ip:1.1.1.1", t0));  // now the most recently used: 2.2.2.2 is the oldest
  cache.put("ip:4.4.4.4", {200, "four", t0});
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.get("ip:2.2.2.2", t0));
  EXPECT_EQ(cache.get("ip:1.1.1.1", t0)->body, "one");
  EXPECT_TRUE(cache.get("ip:3.3.3.3", t0));
  EXPECT_TRUE(cache.get("ip:4.4.4.4", t0));
  cache.put("ip:3.3.3.3", {404, "", t0});  // replacing an answer does not evict another
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.get("ip:3.3.3.3", t0)->status, 404);
  for (int i = 0; i < 1000; ++i) cache.put("domain:" + std::to_string(i) + ".example", {200, "{}", t0});
  EXPECT_EQ(cache.size(), 3u);
}

}  // namespace
}  // namespace kfc::opentip
