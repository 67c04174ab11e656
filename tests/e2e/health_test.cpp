// Health, metrics and TLP marking of the running feed connector: /healthz goes 503 when a run fails or
// OpenCTI stops answering and back to 200 after recovery; the `health` command exits 0/1 on it; the
// metrics families come from the modules' own counts; kaspersky.tlp_level marks what is delivered.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "e2e_fixture.h"
#include "kfc/config/loader.h"
#include "kfc/runner/process.h"
#include "kfc/runner/stop.h"

namespace kfc::e2e {
namespace {

// GET on 127.0.0.1:port; status 0 when nothing answers.
std::pair<int, std::string> get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2s);
  auto response = client.Get(path);
  if (!response) return {0, ""};
  return {response->status, response->body};
}

// Polls until /healthz answers `status` (real time, bounded).
bool health_becomes(int port, int status, std::chrono::seconds timeout = 60s) {
  return wait_until([&] { return get(port, "/healthz").first == status; }, timeout, 100ms);
}

class HealthEndToEnd : public EndToEnd {
 protected:
  // `kaspersky-feeds-connector health` with the same settings as the running connector.
  int health_command(int port, std::string* out = nullptr) {
    auto process = start({"health"}, {{"CONNECTOR_HEALTH_PORT", std::to_string(port)}}, "health");
    const auto status = process->wait(20s);
    if (out) *out = process->out() + process->err();
    return status.value_or(-1);
  }
};

TEST_F(HealthEndToEnd, AFailedRunMakesItUnhealthyAndTheNextGoodRunHealthyAgain) {
  serve(feed(6, days_ago(1)));
  const int port = free_port();
  auto process = start({"run"}, {{"CONNECTOR_HEALTH_PORT", std::to_string(port)},
                                 {"KASPERSKY_UPDATE_INTERVAL", "1"},
                                 {"KASPERSKY_API_TOKEN_EXPIRES_AT", "2099-01-01"}},
                       "health-run");
  ASSERT_TRUE(process->wait_for_log("Connector queued", 30s)) << process->err();
  ASSERT_TRUE(health_becomes(port, 200)) << process->err();
  std::string said;
  EXPECT_EQ(health_command(port, &said), 0) << said;
  EXPECT_NE(said.find(R"("status":"ok")"), std::string::npos) << said;
  EXPECT_EQ(get(port, "/metrics").first, 404) << "with expose_metrics off only /healthz is served";

  // The TAXII server fails every page: the next run fails.
  taxii_->inject({.kind = testing::FaultKind::Status, .times = -1, .status = 500});
  ASSERT_TRUE(health_becomes(port, 503)) << process->err();
  EXPECT_EQ(health_command(port, &said), 1) << said;
  EXPECT_NE(said.find("the last run failed"), std::string::npos) << said;

  // Fixed: the next run succeeds.
  taxii_->clear_faults();
  EXPECT_TRUE(health_becomes(port, 200)) << process->err();
  EXPECT_EQ(health_command(port), 0);
  process->signal(SIGTERM);
  EXPECT_EQ(process->wait(20s).value_or(-1), 0);
  EXPECT_EQ(process->err().find(kTaxiiToken), std::string::npos);
}

TEST_F(HealthEndToEnd, TheHealthCommandFailsWhenNothingListens) {
  serve(feed(1, days_ago(1)));
  std::string said;
  EXPECT_EQ(health_command(free_port(), &said), 1);
  EXPECT_NE(said.find("nothing answers"), std::string::npos) << said;
}

// In process, with pings every 200 ms, so that "OpenCTI silent for three ping intervals" takes
// under a second rather than two minutes.
TEST_F(HealthEndToEnd, OpenCtiGoingAwayMakesItUnhealthyUntilItAnswersAgain) {
  serve(feed(3, days_ago(1)));
  const int port = free_port();
  LoadRequest request;
  request.yaml_text = "";
  request.environment = {};
  for (const auto& [name, value] : environment()) request.environment[name] = value;
  request.environment["CONNECTOR_HEALTH_PORT"] = std::to_string(port);
  request.environment["CONNECTOR_QUEUE_PROTOCOL"] = "api";  // GraphQL push to the stand-in
  request.environment["KASPERSKY_UPDATE_INTERVAL"] = "1";
  const LoadResult loaded = load_settings(request);
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front();
  runner::StopSignal stop;
  runner::ProcessOptions options;
  options.ping_interval = 200ms;
  int exit_code = -1;
  std::thread connector([&] { exit_code = runner::run_process(loaded.settings, options, system_clock(), stop); });
  // Polls /healthz until its body says `wanted` (or, with `absent`, no longer says it).
  const auto body_says = [port](const std::string& wanted, bool absent = false) {
    return wait_until([&] {
      const std::string body = get(port, "/healthz").second;
      return !body.empty() && (body.find(wanted) != std::string::npos) != absent;
    }, 60s, 50ms);
  };
  // A first run done (so the platform answered) before it goes away.
  ASSERT_TRUE(body_says(R"("runs_succeeded":0)", true));
  EXPECT_TRUE(health_becomes(port, 200, 20s)) << get(port, "/healthz").second;
  opencti_->set_outage(503);
  EXPECT_TRUE(body_says("OpenCTI has not answered for")) << get(port, "/healthz").second;
  EXPECT_EQ(get(port, "/healthz").first, 503);
  opencti_->set_outage(0);
  EXPECT_TRUE(health_becomes(port, 200, 10s)) << get(port, "/healthz").second;
  stop.request("test");
  connector.join();
  EXPECT_EQ(exit_code, 0);
}

TEST_F(HealthEndToEnd, MetricsComeFromTheModulesCountsWithPyctiNames) {
  serve(feed(9, days_ago(1)));
  const int port = free_port();
  auto process = start({"run"}, {{"CONNECTOR_EXPOSE_METRICS", "true"},
                                 {"CONNECTOR_METRICS_PORT", std::to_string(port)},
                                 {"CONNECTOR_METRICS_NAMESPACE", "opencti"},
                                 {"CONNECTOR_METRICS_SUBSYSTEM", "kaspersky"}},
                       "metrics-families");
  ASSERT_TRUE(process->wait_for_log("Connector queued", 30s)) << process->err();
  const auto [status, text] = get(port, "/metrics");
  process->signal(SIGTERM);
  process->wait(20s);
  ASSERT_EQ(status, 200);
  const std::string p = "opencti_kaspersky_";
  for (const std::string& family : std::vector<std::string>{
           "kfc_taxii_requests_total ", "kfc_taxii_bytes_total ", "kfc_taxii_objects_skipped_total 0",
        "kfc_taxii_duplicates_dropped_total ", "kfc_sink_messages_total{event=\"published\"} ",
        "kfc_sink_messages_total{event=\"confirmed\"} ", "kfc_sink_messages_total{event=\"nacked\"} 0",
        "kfc_sink_messages_total{event=\"returned\"} 0", "kfc_sink_messages_total{event=\"republished\"} 0",
        "kfc_sink_bundles_total ", "# TYPE " + p + "kfc_mapping_problems_total counter",
        "# TYPE " + p + "kfc_enrichment_requests_total counter", "kfc_healthy 1", "bundles_sent_total ",
        "records_sent_total ", "runs_total 1", "ping_api_total ", "state{state=\"idle\"} 1"}) {
    const std::string wanted = family.starts_with("# TYPE") ? family : p + family;
    EXPECT_NE(text.find(wanted), std::string::npos) << wanted << " missing:\n" << text;
  }
  EXPECT_EQ(text.find("\nkfc_"), std::string::npos) << "a family without the namespace";
  EXPECT_EQ(text.find(kTaxiiToken), std::string::npos);
}

TEST_F(HealthEndToEnd, TheTlpMarkingIsOnEveryDeliveredObjectAndInEveryBundle) {
  const auto collections = feed(8, days_ago(1));
  serve(collections);
  const auto out = directory_ / "bundles";
  std::filesystem::create_directories(out);
  ASSERT_EQ(run_once({{"CONNECTOR_OUTPUT", "directory"}, {"CONNECTOR_OUTPUT_DIR", out.string()},
                      {"KASPERSKY_TLP_LEVEL", "amber+strict"}}),
            0)
      << last_stderr_;
  const std::string amber_strict = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37";
  std::size_t bundles = 0, marked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    if (entry.path().filename().string().starts_with('.')) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document bundle;
    bundle.Parse(text.str().c_str());
    ASSERT_TRUE(bundle.IsObject()) << entry.path();
    ++bundles;
    bool has_definition = false;
    for (const auto& object : bundle["objects"].GetArray()) {
      const std::string type = object["type"].GetString();
      if (type == "marking-definition") {
        has_definition = std::string(object["id"].GetString()) == amber_strict;
        continue;
      }
      if (type == "identity" && std::string(object["id"].GetString()) == "identity--04d070e4-451d-54f4-a42e-c64431074504") {
        continue;  // the author
      }
      ASSERT_TRUE(object.HasMember("object_marking_refs")) << text.str().substr(0, 400);
      bool found = false;
      for (const auto& ref : object["object_marking_refs"].GetArray()) found |= ref == amber_strict.c_str();
      EXPECT_TRUE(found) << object["id"].GetString();
      ++marked;
    }
    EXPECT_TRUE(has_definition) << entry.path() << " lacks the marking definition";
  }
  EXPECT_GT(bundles, 0u);
  EXPECT_GE(marked, 16u);
}

}  // namespace
}  // namespace kfc::e2e
