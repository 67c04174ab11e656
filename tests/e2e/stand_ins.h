#pragma once
// The servers the connector binary talks to in the end-to-end tests and the soak scenarios: the real
// broker with a push queue prepared for a fresh connector id, the stand-in OpenCTI, a Kaspersky-like
// TAXII test server, and the environment that points the connector at them.
#include <spdlog/fmt/fmt.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/testing/taxii_test_server.h"

namespace kfc::e2e {

inline std::string random_uuid4() {
  std::random_device device;
  std::mt19937_64 random(device());
  const auto a = random(), b = random();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                     8 + (b >> 62), (b >> 48) & 0xfff, b & 0xffffffffffffULL);
}

struct StandIns {
  // An empty `directory` for the connector's files, a new connector id with its push queue, the
  // stand-in OpenCTI. The TAXII server comes with serve().
  void set_up(std::filesystem::path directory) {
    directory_ = std::move(directory);
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    connector_id_ = random_uuid4();
    broker_ = std::make_unique<fixtures::AmqpTestBroker>();
    queue_ = broker_->prepare_push_queue(connector_id_);
    opencti_ = std::make_unique<fixtures::OpenCtiServer>();
  }

  // (Re)starts the TAXII server with these collections and options (a new server, a new port).
  testing::TaxiiTestServer& start_taxii(const std::vector<testing::FixtureCollection>& collections,
                                        const testing::TestServerOptions& options) {
    taxii_ = std::make_unique<testing::TaxiiTestServer>(options);
    for (const auto& c : collections) taxii_->add_collection(c);
    taxii_->start();
    return *taxii_;
  }

  // The TAXII server answering as Kaspersky's does: Basic authentication with `secret` (unless the
  // options name another), 404 for an empty window, API root v2.
  testing::TaxiiTestServer& serve(const std::vector<testing::FixtureCollection>& collections,
                                  testing::TestServerOptions options, const std::string& secret) {
    options.auth = testing::AuthScheme::Basic;
    if (options.secret.empty()) options.secret = secret;
    options.empty_answer = testing::EmptyAnswer::NotFound;
    options.api_root = "v2";
    return start_taxii(collections, options);
  }

  // The connector's environment for the platform: the stand-in OpenCTI and the connector id.
  std::map<std::string, std::string> platform_environment() const {
    return {
        {"PATH", "/usr/bin:/bin"},
        {"OPENCTI_URL", opencti_->url()},
        {"OPENCTI_TOKEN", opencti_->options().token},
        {"CONNECTOR_ID", connector_id_},
        {"CONNECTOR_LOG_LEVEL", "info"},
    };
  }

  // With the Kaspersky feed read from serve()'s server with `taxii_token`.
  std::map<std::string, std::string> environment(const std::string& taxii_token, int max_attempts) const {
    auto env = platform_environment();
    env.insert({
        {"KASPERSKY_API_ROOT", taxii_->api_root_url()},
        {"KASPERSKY_API_TOKEN", taxii_token},
        {"KASPERSKY_ALLOW_INSECURE_HTTP", "true"},
        {"KASPERSKY_MAX_ATTEMPTS", std::to_string(max_attempts)},
        {"KASPERSKY_CONNECTION_TIMEOUT", "10"},
    });
    return env;
  }

  std::filesystem::path directory_;
  std::string connector_id_;
  std::unique_ptr<fixtures::AmqpTestBroker> broker_;
  fixtures::PushQueue queue_;
  std::unique_ptr<fixtures::OpenCtiServer> opencti_;
  std::unique_ptr<testing::TaxiiTestServer> taxii_;
};

}  // namespace kfc::e2e
