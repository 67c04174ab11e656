// The metrics endpoint of the running process.
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>

#include "e2e_fixture.h"

namespace kfc::e2e {
namespace {

// The local address (hex, as in /proc/net/tcp: 0100007F is 127.0.0.1) of the socket listening on `port`.
std::string listening_address(int port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto colon = local.find(':');
    if (state == "0A" && colon != std::string::npos && std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
      return local.substr(0, colon);
    }
  }
  return "(not listening)";
}

TEST_F(EndToEnd, MetricsAndHealthAreServedOnLoopback) {
  const auto collections = feed(12, days_ago(2));
  serve(collections);
  const int port = free_port();
  auto process = start({"run"}, {{"CONNECTOR_EXPOSE_METRICS", "true"},
                                 {"CONNECTOR_METRICS_PORT", std::to_string(port)},
                                 {"KASPERSKY_API_TOKEN_EXPIRES_AT", "2099-01-01"}},
                       "metrics");
  ASSERT_TRUE(process->wait_for_log("Connector queued", 30s)) << process->err();
  httplib::Client client("127.0.0.1", port);
  const auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics) << process->err();
  EXPECT_EQ(metrics->status, 200);
  const auto& text = metrics->body;
  EXPECT_NE(text.find("kfc_objects_fetched_total{collection=\"TAXII_Demo_IP_Reputation_Data_Feed\"} 12"), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_pages_total{collection="), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_runs_total{outcome=\"succeeded\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_token_days_left{token=\"kaspersky.api_token\"}"), std::string::npos) << text;
  EXPECT_EQ(text.find("kfc_objects_delivered_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_last_success_timestamp_seconds "), std::string::npos);
  for (const auto* family : {"kfc_objects_mapped_total ", "kfc_objects_delivered_total ", "kfc_retries_total ",
                             "kfc_run_duration_seconds ", "kfc_queue_buffering 0\n", "# TYPE kfc_errors_total counter"}) {
    EXPECT_NE(text.find(family), std::string::npos) << family << " missing:\n" << text;
  }
  EXPECT_EQ(listening_address(port), "0100007F") << "the metrics endpoint must bind 127.0.0.1 by default";
  // The ping told the platform when the next run comes.
  EXPECT_TRUE(wait_until([&] {
    const auto ping = opencti_->last_variables("pingConnector");
    return ping.IsObject() && ping["connectorInfo"]["next_run_datetime"].IsString();
  }));
  const auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  process->signal(SIGTERM);
  EXPECT_EQ(process->wait(10s), 0);
}

}  // namespace
}  // namespace kfc::e2e

namespace kfc::e2e {
namespace {

TEST_F(EndToEnd, AFullOpenCtiQueueHoldsTheRunAndTheUiSeesBuffering) {
  const auto collections = feed(6, days_ago(2));
  serve(collections);
  opencti_->set_queue(100000, 600e6);  // 600 MB queued, over the 500 MB default threshold
  auto process = start({"run"}, {{"CONNECTOR_DURATION_PERIOD", "PT1S"}}, "buffering");
  ASSERT_TRUE(process->wait_for_log("queue_threshold", 30s)) << process->err();
  EXPECT_TRUE(wait_until([&] {
    const auto ping = opencti_->last_variables("pingConnector");
    return ping.IsObject() && ping["connectorInfo"]["buffering"].GetBool();
  }));
  EXPECT_EQ(opencti_->count("workAdd"), 0u) << "no run while the platform is behind";
  opencti_->set_queue(0, 0);  // the workers caught up
  ASSERT_TRUE(process->wait_for_log("Connector queued", 30s)) << process->err();
  EXPECT_EQ(take_delivered(), ids_of(collections));
  process->signal(SIGTERM);
  EXPECT_EQ(process->wait(10s), 0);
}

}  // namespace
}  // namespace kfc::e2e
