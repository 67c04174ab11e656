#pragma once
// Shared by the TAXII suites: a test server on loopback, a real libcurl client pointed at it, a
// ManualClock (backoff is asserted on slept time, never waited for), and page collection helpers.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/config/token.h"
#include "kfc/fixtures/tokens.h"
#include "kfc/taxii/client.h"
#include "kfc/testing/taxii_test_server.h"

namespace kfc::taxii::test {

using namespace std::chrono_literals;
using testing::AuthScheme;
using testing::EmptyAnswer;
using testing::Fault;
using testing::FaultKind;
using testing::NextStyle;
using testing::TaxiiTestServer;
using testing::TestServerOptions;

inline const Timestamp kStart = std::chrono::sys_days{std::chrono::year{2026} / 4 / 1} + std::chrono::hours{8};
inline constexpr const char* kSecret = "S3CR3T-demo-taxii-token-4242";

inline TokenPtr make_token(std::string value = kSecret,
                           std::optional<SystemTime> expires_at = std::chrono::sys_days{std::chrono::year{2027} / 1 / 1}) {
  return fixtures::inline_token("kaspersky.api_token", "KASPERSKY_API_TOKEN", "the Kaspersky TAXII server",
                                std::move(value), expires_at);
}

// What a read delivered, copied out of the pages.
struct Collected {
  std::vector<std::string> ids;  // in delivery order
  std::vector<std::size_t> page_sizes;
  std::vector<std::optional<Timestamp>> resume_points;
  ReadSummary summary;

  std::set<std::string> unique() const { return {ids.begin(), ids.end()}; }
};

inline std::string id_of(const rapidjson::Value& object) { return object["id"].GetString(); }

class Harness {
 public:
  explicit Harness(TestServerOptions options = {}) : server(std::move(options)) {}

  void start() { server.start(); }

  ClientOptions options() const {
    ClientOptions options;
    options.api_root = server.api_root_url();
    options.version = TaxiiVersion::V21;
    options.retry.max_attempts = 4;
    options.retry.initial_backoff = 1000ms;
    options.retry.max_backoff = 8000ms;
    return options;
  }

  std::unique_ptr<Client> client(ClientOptions options, http::CurlOptions curl = {}) {
    curl.connect_timeout = 5000ms;
    if (curl.total_timeout == 60000ms) curl.total_timeout = 20000ms;
    return std::make_unique<Client>(std::move(options), http::make_curl_transport(curl), clock);
  }
  std::unique_ptr<Client> client() { return client(options()); }

  Collected read(Client& client, const std::string& collection, ObjectFilter filter = {}, std::size_t stop_after = 0) {
    Collected out;
    out.summary = client.read_objects(collection, filter, [&](const Page& page) {
      for (const auto* object : page.objects) out.ids.push_back(id_of(*object));
      out.page_sizes.push_back(page.objects.size());
      out.resume_points.push_back(page.resume_after);
      return stop_after == 0 || out.page_sizes.size() < stop_after;
    });
    return out;
  }

  std::vector<std::string> expected_ids(const testing::FixtureCollection& collection) const {
    std::vector<std::string> ids;
    for (const auto& object : collection.objects) ids.push_back(object.id);
    return ids;
  }

  TaxiiTestServer server;
  ManualClock clock{std::chrono::sys_days{std::chrono::year{2026} / 5 / 1}};
};

}  // namespace kfc::taxii::test
