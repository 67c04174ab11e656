#pragma once
// What every end-to-end test needs: a TAXII test server with Kaspersky-like collections, the
// stand-in OpenCTI, a prepared push queue on the real broker, and the connector binary's environment.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <spdlog/fmt/fmt.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "connector_process.h"
#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/tcp_proxy.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/fixtures/wait_until.h"
#include "kfc/runner/state.h"
#include "kfc/testing/taxii_test_server.h"
#include "stand_ins.h"

namespace kfc::e2e {

using namespace std::chrono_literals;
using fixtures::stays_true;
using fixtures::wait_until;

// A secret that must never show up in any output.
inline constexpr const char* kTaxiiToken = "E2E-TAXII-SECRET-7Hq9zK2m";

// A TCP port free on 127.0.0.1 right now.
inline int free_port() { return fixtures::free_tcp_port(); }

inline taxii::Timestamp days_ago(int days) {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - std::chrono::days{days};
}

// One Kaspersky-style IP indicator (name "IP", context in the description); `collection` and
// `index` make its pattern, and so its standard id, unique.
inline testing::FixtureObject indicator(int collection, std::size_t index, taxii::Timestamp date_added) {
  const auto id = fmt::format("indicator--{:08x}-0000-4000-8000-{:012x}", 0xfeed0000u + collection, index);
  const auto when = taxii::format_timestamp(date_added);
  const auto stix_when = when.substr(0, 23) + "Z";
  const auto ip = fmt::format("10.{}.{}.{}", collection, (index >> 8) & 0xff, index & 0xff);
  const auto json = fmt::format(
      R"({{"type":"indicator","spec_version":"2.1","id":"{}","created":"{}","modified":"{}","name":"IP",)"
      R"("pattern":"[ipv4-addr:value = '{}']","pattern_type":"stix","valid_from":"{}","labels":["malicious-activity"],)"
      R"("description":"ip_geo=de;threat_score=80;category=bot;date_added={}"}})",
      id, stix_when, stix_when, ip, stix_when, stix_when);
  return testing::FixtureObject{date_added, id, "indicator", stix_when, "2.1", json};
}

// Objects `first`..`first + count - 1` of a collection: timestamp groups of 3, one second apart
// (page boundaries fall inside groups).
inline testing::FixtureCollection collection(int number, const std::string& id, std::size_t count,
                                             taxii::Timestamp start, std::size_t first = 0) {
  testing::FixtureCollection c;
  c.id = id;
  c.title = id;
  for (std::size_t i = first; i < first + count; ++i) {
    c.objects.push_back(indicator(number, i, start + std::chrono::seconds{static_cast<long long>((i - first) / 3)}));
  }
  return c;
}

// Two collections shaped like Kaspersky's.
inline std::vector<testing::FixtureCollection> feed(std::size_t per_collection, taxii::Timestamp start) {
  return {collection(1, "TAXII_Demo_IP_Reputation_Data_Feed", per_collection, start),
          collection(2, "TAXII_Demo_Botnet_CnC_URL_Data_Feed", per_collection, start)};
}

inline std::set<std::string> ids_of(const std::vector<testing::FixtureCollection>& collections) {
  std::set<std::string> ids;
  for (const auto& c : collections) {
    for (const auto& o : c.objects) ids.insert(o.id);
  }
  return ids;
}

class EndToEnd : public ::testing::Test, protected StandIns {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ();
    set_up(std::filesystem::temp_directory_path() /
           fmt::format("kfc-e2e-{}-{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }

  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(directory_);
  }

  // (Re)starts the TAXII server with these collections (a new server, a new port).
  testing::TaxiiTestServer& serve(const std::vector<testing::FixtureCollection>& collections,
                                  testing::TestServerOptions options = {}) {
    return StandIns::serve(collections, std::move(options), kTaxiiToken);
  }

  std::map<std::string, std::string> environment() const { return StandIns::environment(kTaxiiToken, 2); }

  std::unique_ptr<ConnectorProcess> start(const std::vector<std::string>& args,
                                          const std::map<std::string, std::string>& extra = {},
                                          const std::string& label = "run") {
    auto env = environment();
    for (const auto& [k, v] : extra) env[k] = v;
    return std::make_unique<ConnectorProcess>(args, env, directory_, label);
  }

  // Runs `run --once` to the end; returns the exit status.
  int run_once(const std::map<std::string, std::string>& extra = {}, const std::string& label = "run") {
    auto process = start({"run", "--once"}, extra, label);
    const auto status = process->wait(60s);
    last_stderr_ = process->err();
    EXPECT_TRUE(status.has_value()) << "the connector did not finish: " << last_stderr_;
    EXPECT_EQ(last_stderr_.find(kTaxiiToken), std::string::npos) << "the TAXII token leaked into the logs";
    EXPECT_EQ(process->out().find(kTaxiiToken), std::string::npos);
    return status.value_or(-1);
  }

  // Runs `run --once --summary` to the end, expecting exit status 0; returns its log (stderr).
  std::string run_once_with_summary() {
    auto process = start({"run", "--once", "--summary"});
    const auto status = process->wait(60s);
    std::string log = process->err();
    EXPECT_TRUE(status.has_value()) << "the connector did not finish: " << log;
    EXPECT_EQ(status.value_or(-1), 0) << log;
    return log;
  }

  // The feed ids of every indicator in `collections`.
  static std::set<std::string> indicator_ids(const std::vector<testing::FixtureCollection>& collections) {
    std::set<std::string> ids;
    for (const auto& c : collections) {
      for (const auto& o : c.objects) {
        if (o.type == "indicator") ids.insert(o.id);
      }
    }
    return ids;
  }

  // Takes every message published so far; returns the feed ids the delivered indicators carry
  // (the mapping moves the feed id to x_opencti_stix_ids) and checks each message as a worker would.
  std::set<std::string> take_delivered(std::chrono::milliseconds quiet = 700ms) {
    std::set<std::string> feed_ids;
    for (const auto& message : broker_->drain(queue_.queue, quiet)) {
      ++messages_;
      const auto& bundle = message.bundle;
      if (!bundle.IsObject() || !bundle.HasMember("objects")) continue;
      for (const auto& object : bundle["objects"].GetArray()) {
        objects_delivered_.insert(object["id"].GetString());
        if (std::string_view(object["type"].GetString()) != "indicator") continue;
        if (object.HasMember("x_opencti_stix_ids")) {
          for (const auto& id : object["x_opencti_stix_ids"].GetArray()) feed_ids.insert(id.GetString());
        }
      }
    }
    delivered_.insert(feed_ids.begin(), feed_ids.end());
    return feed_ids;
  }

  rapidjson::Document stored_state() const {
    rapidjson::Document state;
    const auto text = opencti_->stored_state();
    if (text) state.Parse(text->c_str());
    return state;
  }

  // At least once: every feed object at or before a stored cursor (the next read asks for objects
  // added strictly after it) is among the delivered ones. Call after take_delivered().
  void expect_checkpoint_covers_only_delivered(const std::vector<testing::FixtureCollection>& collections,
                                               const std::string& when) {
    const auto text = opencti_->stored_state();
    if (!text) return;
    const auto state = runner::parse_state(*text);
    ASSERT_TRUE(state.has_value()) << *text;
    for (const auto& c : collections) {
      const auto cursor = state->cursors.find(c.id);
      if (cursor == state->cursors.end()) continue;
      std::size_t missing = 0;
      for (const auto& o : c.objects) {
        if (o.date_added <= cursor->second && !delivered_.contains(o.id)) ++missing;
      }
      EXPECT_EQ(missing, 0u) << when << ": the stored cursor of " << c.id << " ("
                             << runner::format_timestamp(cursor->second) << ") passes " << missing
                             << " feed objects that never reached the broker";
    }
  }

  // added_after of every objects request, in order.
  std::vector<std::string> added_after_requests() const {
    std::vector<std::string> values;
    for (const auto& request : taxii_->requests_to("/objects/")) values.push_back(request.param("added_after"));
    return values;
  }

  std::set<std::string> delivered_;
  std::set<std::string> objects_delivered_;  // ids of every object take_delivered() saw, any type
  std::size_t messages_ = 0;
  std::string last_stderr_;
};

}  // namespace kfc::e2e
