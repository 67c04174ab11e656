#include "kfc/runner/metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>

namespace kfc::runner {
namespace {

TEST(Metrics, RendersPrometheusTextWithLabels) {
  Metrics metrics;
  metrics.add(Metric::ObjectsFetched, 100, "TAXII_Demo_IP_Reputation_Data_Feed");
  metrics.add(Metric::ObjectsFetched, 20, "TAXII_Demo_IP_Reputation_Data_Feed");
  metrics.add(Metric::Errors, 1, "token_rejected");
  metrics.set(Metric::TokenDaysLeft, -3, "kaspersky.api_token");
  metrics.set(Metric::LastSuccess, 1800000000);
  const std::string text = metrics.render();
  EXPECT_NE(text.find("# TYPE kfc_objects_fetched_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_objects_fetched_total{collection=\"TAXII_Demo_IP_Reputation_Data_Feed\"} 120\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("kfc_errors_total{kind=\"token_rejected\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_token_days_left{token=\"kaspersky.api_token\"} -3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_last_success_timestamp_seconds 1800000000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kfc_objects_delivered_total 0\n"), std::string::npos) << text;  // present before use
  EXPECT_EQ(metrics.value(Metric::ObjectsFetched, "TAXII_Demo_IP_Reputation_Data_Feed"), 120);
}

TEST(Metrics, EscapesLabelValues) {
  Metrics metrics;
  metrics.add(Metric::Pages, 1, "a\"b\\c\nd");
  EXPECT_NE(metrics.render().find(R"(kfc_pages_total{collection="a\"b\\c\nd"} 1)"), std::string::npos);
}

TEST(MetricsServer, ServesMetricsAndHealthOnLoopback) {
  Metrics metrics;
  metrics.add(Metric::ObjectsDelivered, 7);
  MetricsServer server(metrics, "127.0.0.1", 0);
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("kfc_objects_delivered_total 7\n"), std::string::npos);
  EXPECT_NE(response->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  metrics.add(Metric::Runs, 1, "succeeded");
  metrics.set(Metric::LastSuccess, 1800000000);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"ok","runs_succeeded":1,"runs_failed":0,"last_success_timestamp":1800000000})" "\n");
}

TEST(MetricsServer, APortInUseIsAnErrorNamingTheKeys) {
  Metrics metrics;
  MetricsServer first(metrics, "127.0.0.1", 0);
  try {
    MetricsServer second(metrics, "127.0.0.1", first.port());
    FAIL() << "bound a port in use";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("connector.metrics_port"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace kfc::runner
