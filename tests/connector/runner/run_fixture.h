#pragma once
// What the run-loop suites share (the Kaspersky one in pipeline/, the generic TAXII one in generic/):
// the fixed "now" of their ManualClock, a scratch directory per test, feed objects with the
// timestamps a feed writes, and a reader of the bundles the directory sink wrote.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "kfc/config/clock.h"
#include "kfc/config/settings.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/runner/metrics.h"
#include "kfc/runner/stop.h"
#include "kfc/taxii/timestamp.h"
#include "kfc/testing/taxii_test_server.h"

namespace kfc::runner::test_run {

namespace fs = std::filesystem;

inline const SystemTime kNow = SystemTime{std::chrono::seconds{1'800'000'000}};  // 2027-01-15T08:00:00Z

// A time as the TAXII server keeps it (microseconds).
inline taxii::Timestamp ts(SystemTime t) { return std::chrono::floor<std::chrono::microseconds>(t); }

// A time as feeds write created/modified: milliseconds, 2027-01-15T08:00:00.000Z.
inline std::string stix_millis(taxii::Timestamp t) { return taxii::format_timestamp(t).substr(0, 23) + "Z"; }

// An indicator id of the `i`th object of a collection numbered `collection`.
inline std::string indicator_id(std::uint64_t collection, std::size_t i) {
  return fmt::format("indicator--{:08x}-0000-4000-8000-{:012x}", collection, i);
}

// An empty `<tmp>/kfc-<suite>-<pid>-<test name>/bundles` for the directory sink; returns its parent.
inline fs::path fresh_directory(std::string_view suite) {
  const fs::path directory = fs::temp_directory_path() /
                             fmt::format("kfc-{}-{}-{}", suite, ::getpid(),
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(directory);
  fs::create_directories(directory / "bundles");
  return directory;
}

// Calls visit(object) for every object of every bundle file in `bundles`, file by file.
template <typename Visit>
void for_each_written(const fs::path& bundles, Visit&& visit) {
  for (const auto& file : fs::directory_iterator(bundles)) {
    if (file.path().extension() != ".json") continue;
    std::ifstream in(file.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    rapidjson::Document bundle;
    bundle.Parse(text.c_str());
    for (const auto& object : bundle["objects"].GetArray()) visit(object);
  }
}

// The parts a run-loop test drives a Runner with; each suite's SetUp fills them in.
class RunFixture : public ::testing::Test {
 protected:
  fs::path directory;  // fresh_directory()
  ManualClock clock{kNow};
  StopSignal stop;
  Metrics metrics;
  Settings settings;
  std::unique_ptr<testing::TaxiiTestServer> server;
};

}  // namespace kfc::runner::test_run
