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
#include "kfc/fixtures/opencti_server.h"
#include "kfc/testing/taxii_test_server.h"

namespace kfc::e2e {

using namespace std::chrono_literals;

// A secret that must never show up in any output.
inline constexpr const char* kTaxiiToken = "E2E-TAXII-SECRET-7Hq9zK2m";

inline std::string random_uuid4() {
  std::random_device device;
  std::mt19937_64 random(device());
  const auto a = random(), b = random();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                     8 + (b >> 62), (b >> 48) & 0xfff, b & 0xffffffffffffULL);
}

inline taxii::Timestamp days_ago(int days) {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - std::chrono::days{days};
}

// Collections shaped like Kaspersky's, with timestamp groups of 3 (page boundaries fall inside them).
inline std::vector<testing::FixtureCollection> feed(std::size_t per_collection, taxii::Timestamp start) {
  return {testing::generate_collection("TAXII_Demo_IP_Reputation_Data_Feed", "TAXII_Demo_IP_Reputation_Data_Feed",
                                       per_collection, start, 3, std::chrono::seconds{1}),
          testing::generate_collection("TAXII_Demo_Botnet_CnC_URL_Data_Feed", "TAXII_Demo_Botnet_CnC_URL_Data_Feed",
                                       per_collection, start, 3, std::chrono::seconds{1})};
}

inline std::set<std::string> ids_of(const std::vector<testing::FixtureCollection>& collections) {
  std::set<std::string> ids;
  for (const auto& c : collections) {
    for (const auto& o : c.objects) ids.insert(o.id);
  }
  return ids;
}

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ();
    directory_ = std::filesystem::temp_directory_path() /
                 fmt::format("kfc-e2e-{}-{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    connector_id_ = random_uuid4();
    broker_ = std::make_unique<fixtures::AmqpTestBroker>();
    queue_ = broker_->prepare_push_queue(connector_id_);
    opencti_ = std::make_unique<fixtures::OpenCtiServer>();
  }

  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(directory_);
  }

  // (Re)starts the TAXII server with these collections (a new server, a new port).
  testing::TaxiiTestServer& serve(const std::vector<testing::FixtureCollection>& collections,
                                  testing::TestServerOptions options = {}) {
    options.auth = testing::AuthScheme::Basic;
    if (options.secret.empty()) options.secret = kTaxiiToken;
    options.empty_answer = testing::EmptyAnswer::NotFound;  // as Kaspersky
    options.api_root = "v2";
    taxii_ = std::make_unique<testing::TaxiiTestServer>(options);
    for (const auto& c : collections) taxii_->add_collection(c);
    taxii_->start();
    return *taxii_;
  }

  std::map<std::string, std::string> environment() const {
    return {
        {"PATH", "/usr/bin:/bin"},
        {"OPENCTI_URL", opencti_->url()},
        {"OPENCTI_TOKEN", opencti_->options().token},
        {"CONNECTOR_ID", connector_id_},
        {"CONNECTOR_LOG_LEVEL", "info"},
        {"KASPERSKY_API_ROOT", taxii_->api_root_url()},
        {"KASPERSKY_API_TOKEN", kTaxiiToken},
        {"KASPERSKY_ALLOW_INSECURE_HTTP", "true"},
        {"KASPERSKY_MAX_ATTEMPTS", "2"},
        {"KASPERSKY_CONNECTION_TIMEOUT", "10"},
    };
  }

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

  // Takes every message published so far; returns the feed ids the delivered indicators carry
  // (the mapping moves the feed id to x_opencti_stix_ids) and checks each message as a worker would.
  std::set<std::string> take_delivered(std::chrono::milliseconds quiet = 700ms) {
    std::set<std::string> feed_ids;
    for (const auto& message : broker_->drain(queue_.queue, quiet)) {
      ++messages_;
      const auto& bundle = message.bundle;
      if (!bundle.IsObject() || !bundle.HasMember("objects")) continue;
      for (const auto& object : bundle["objects"].GetArray()) {
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

  // added_after of every objects request, in order.
  std::vector<std::string> added_after_requests() const {
    std::vector<std::string> values;
    for (const auto& request : taxii_->requests_to("/objects/")) values.push_back(request.param("added_after"));
    return values;
  }

  std::filesystem::path directory_;
  std::string connector_id_;
  std::unique_ptr<fixtures::AmqpTestBroker> broker_;
  fixtures::PushQueue queue_;
  std::unique_ptr<fixtures::OpenCtiServer> opencti_;
  std::unique_ptr<testing::TaxiiTestServer> taxii_;
  std::set<std::string> delivered_;
  std::size_t messages_ = 0;
  std::string last_stderr_;
};

}  // namespace kfc::e2e
