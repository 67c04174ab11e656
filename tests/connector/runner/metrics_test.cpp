#include "kfc/fixtures/manual_clock.h"
#include "kfc/runner/metrics.h"

#include "kfc/health/health.h"

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

TEST(Metrics, NamespaceAndSubsystemPrefixEveryFamilyAsPyctiDoes) {
  Metrics metrics("opencti", "kaspersky");
  metrics.add(Metric::ObjectsDelivered, 3);
  metrics.set_state("running");
  const std::string text = metrics.render();
  EXPECT_NE(text.find("opencti_kaspersky_kfc_objects_delivered_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE opencti_kaspersky_runs_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("opencti_kaspersky_state{state=\"running\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("opencti_kaspersky_state{state=\"idle\"} 0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\nkfc_"), std::string::npos) << "a family without the prefix:\n" << text;
  EXPECT_EQ(Metrics("", "sub").name(Metric::PyctiRuns), "sub_runs_total");
}

TEST(MetricsServer, ServesMetricsAndHealthOnLoopback) {
  Metrics metrics;
  ManualClock clock(SystemTime{std::chrono::seconds{1800000000}});
  health::Health health(clock, std::chrono::seconds(120), &metrics);
  metrics.add(Metric::ObjectsDelivered, 7);
  MetricsServer server(&metrics, health, "127.0.0.1", 0);
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("kfc_objects_delivered_total 7\n"), std::string::npos);
  EXPECT_NE(response->body.find("kfc_healthy 1\n"), std::string::npos);
  EXPECT_NE(response->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  health.run_started();
  health.run_finished(true);
  auto healthy = client.Get("/healthz");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200);
  EXPECT_EQ(healthy->body, R"({"status":"ok","reasons":[],"run_in_progress":false,"runs_succeeded":1,"runs_failed":0,)"
                           R"("last_success_timestamp":1800000000})" "\n");
  health.run_started();
  health.run_finished(false, "collection X: HTTP 500");
  auto failed = client.Get("/healthz");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 503);
  EXPECT_NE(failed->body.find(R"("reasons":["the last run failed: collection X: HTTP 500"])"), std::string::npos)
      << failed->body;
  EXPECT_NE(client.Get("/metrics")->body.find("kfc_healthy 0\n"), std::string::npos);
}

TEST(MetricsServer, HealthOnlyServesNoMetrics) {
  ManualClock clock(SystemTime{std::chrono::seconds{1800000000}});
  health::Health health(clock);
  MetricsServer server(nullptr, health, "127.0.0.1", 0, "connector.health_port");
  httplib::Client client("127.0.0.1", server.port());
  EXPECT_EQ(client.Get("/healthz")->status, 200);
  EXPECT_EQ(client.Get("/metrics")->status, 404);
}

TEST(MetricsServer, APortInUseIsAnErrorNamingTheKeys) {
  Metrics metrics;
  ManualClock clock(SystemTime{});
  health::Health health(clock);
  MetricsServer first(&metrics, health, "127.0.0.1", 0);
  try {
    MetricsServer second(&metrics, health, "127.0.0.1", first.port());
    FAIL() << "bound a port in use";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("connector.metrics_port"), std::string::npos) << error.what();
  }
  try {
    MetricsServer second(nullptr, health, "127.0.0.1", first.port(), "connector.health_port");
    FAIL() << "bound a port in use";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("connector.health_port"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace kfc::runner
