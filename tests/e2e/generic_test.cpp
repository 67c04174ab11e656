// The generic TAXII mode end to end with the real binary: the bundled generic demo feed (a STIX 2.1
// bundle in deploy/demo/generic) behind Bearer authentication on the TAXII test server -> connector
// -> stand-in OpenCTI + the real RabbitMQ; its dry run; a kill -9 in the middle of a run.
#include <signal.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "e2e_fixture.h"

namespace kfc::e2e {
namespace {

constexpr const char* kBearer = "E2E-GENERIC-BEARER-8Jd72kQp";

class GenericEndToEnd : public EndToEnd {
 protected:
  // The TAXII test server with these collections, Bearer authentication, medallion-like answers.
  testing::TaxiiTestServer& serve_generic(const std::vector<testing::FixtureCollection>& collections,
                                          testing::TestServerOptions options = {}) {
    options.auth = testing::AuthScheme::Bearer;
    options.secret = kBearer;
    options.api_root = "feeds";
    return start_taxii(collections, options);
  }

  static std::vector<testing::FixtureCollection> demo_feed() {
    return testing::load_collection_directory(std::string(KFC_SOURCE_DIR) + "/deploy/demo/generic");
  }

  // The generic mode's environment: TAXII2_* only (the Kaspersky keys are left out entirely).
  std::map<std::string, std::string> generic_environment(const std::map<std::string, std::string>& extra = {}) const {
    auto env = platform_environment();
    env.insert({
        {"TAXII2_DISCOVERY_URL", taxii_->discovery_url()},
        {"TAXII2_ALLOW_INSECURE_HTTP", "true"},
        {"TAXII2_USE_TOKEN", "true"},
        {"TAXII2_TOKEN", kBearer},
        {"TAXII2_INITIAL_HISTORY", "0"},
        {"TAXII2_MAX_ATTEMPTS", "2"},
    });
    for (const auto& [k, v] : extra) env[k] = v;
    return env;
  }

  int run_generic(const std::map<std::string, std::string>& extra = {}, const std::string& label = "generic") {
    ConnectorProcess process({"run", "--once"}, generic_environment(extra), directory_, label);
    const auto status = process.wait(60s);
    last_stderr_ = process.err();
    EXPECT_TRUE(status.has_value()) << "the connector did not finish: " << last_stderr_;
    EXPECT_EQ(last_stderr_.find(kBearer), std::string::npos) << "the Bearer token leaked into the logs";
    EXPECT_EQ(process.out().find(kBearer), std::string::npos);
    return status.value_or(-1);
  }

  // Every object of every message published so far, by id (the last copy seen).
  std::map<std::string, rapidjson::Document> take_objects(std::chrono::milliseconds quiet = 700ms) {
    std::map<std::string, rapidjson::Document> objects;
    for (const auto& message : broker_->drain(queue_.queue, quiet)) {
      ++messages_;
      if (!message.bundle.IsObject() || !message.bundle.HasMember("objects")) continue;
      for (const auto& object : message.bundle["objects"].GetArray()) {
        rapidjson::Document copy;
        copy.CopyFrom(object, copy.GetAllocator());
        const std::string id = object["id"].GetString();
        delivered_.insert(id);
        objects[id] = std::move(copy);
      }
    }
    return objects;
  }
};

std::set<std::string> served_ids(const std::vector<testing::FixtureCollection>& collections,
                                 const std::set<std::string>& left_out = {}) {
  std::set<std::string> ids;
  for (const auto& c : collections)
    for (const auto& o : c.objects)
      if (!left_out.contains(o.id)) ids.insert(o.id);
  return ids;
}

std::string yara_indicator(const std::vector<testing::FixtureCollection>& collections) {
  for (const auto& c : collections)
    for (const auto& o : c.objects)
      if (o.json.find(R"("pattern_type":"yara")") != std::string::npos) return o.id;
  return {};
}

TEST_F(GenericEndToEnd, TheGenericDemoFeedReachesRabbitMqThroughTheStandInOpenCti) {
  const auto feed = demo_feed();
  ASSERT_EQ(feed.size(), 1u);
  ASSERT_EQ(feed[0].api_root, "feeds");
  serve_generic(feed);
  const std::string yara = yara_indicator(feed);
  ASSERT_FALSE(yara.empty());
  ASSERT_EQ(run_generic({{"TAXII2_COLLECTIONS", "feeds.ACME Phishing & Malware Feed v2.1"},
                         {"TAXII2_IGNORE_PATTERN_TYPES", "true"},
                         {"TAXII2_PATTERN_TYPES_TO_IGNORE", "yara"}}),
            0)
      << last_stderr_;
  const auto objects = take_objects();
  std::set<std::string> ids;
  for (const auto& [id, object] : objects) ids.insert(id);
  EXPECT_EQ(ids, served_ids(feed, {yara}));  // everything served, the ignored pattern type left out

  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work && work->processed_message);
  EXPECT_FALSE(work->in_error) << *work->processed_message;
  EXPECT_EQ(static_cast<std::size_t>(work->expectations), messages_);
  const auto state = stored_state();
  ASSERT_TRUE(state.IsObject()) << opencti_->stored_state().value_or("(none)");
  EXPECT_TRUE(state["last_run"].IsInt64());  // the taxii2 connector's key
  EXPECT_TRUE(state["collections"].HasMember(("feeds." + feed[0].id).c_str()));
  // Registered as the taxii2 connector registers (its default name).
  const auto registration = opencti_->last_variables("registerConnector");
  ASSERT_TRUE(registration.IsObject());
  EXPECT_STREQ(registration["input"]["name"].GetString(), "TAXII2");
}

// The dry run prints the objects the server holds, each with exactly the chosen settings applied.
TEST_F(GenericEndToEnd, DryRunOfTheDemoFeedIsTheServedObjectsWithTheSettingsApplied) {
  const auto feed = demo_feed();
  serve_generic(feed);
  auto env = generic_environment({{"TAXII2_ADD_CUSTOM_LABEL", "true"},
                                  {"TAXII2_CUSTOM_LABEL", "acme-demo"},
                                  {"TAXII2_SET_INDICATOR_AS_DETECTION", "true"},
                                  {"TAXII2_CHANGE_REPORT_STATUS", "true"},
                                  {"TAXII2_CHANGE_REPORT_STATUS_X_OPENCTI_WORKFLOW_ID", "wf-1"}});
  env.erase("OPENCTI_URL");
  ConnectorProcess process({"run", "--dry-run"}, env, directory_, "generic-dry-run");
  ASSERT_EQ(process.wait(60s), 0) << process.err();
  EXPECT_EQ(process.err().find(kBearer), std::string::npos);

  std::map<std::string, rapidjson::Document> printed;
  std::istringstream lines(process.out());
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document object;
    object.Parse(line.c_str());
    ASSERT_TRUE(object.IsObject()) << line;
    printed[object["id"].GetString()] = std::move(object);
  }
  std::size_t compared = 0;
  for (const auto& served : feed[0].objects) {
    rapidjson::Document expected;
    expected.Parse(served.json.c_str());
    auto& a = expected.GetAllocator();
    const std::string type = expected["type"].GetString();
    // The settings, written out from their description (README), not from the code.
    if (expected.HasMember("labels")) expected["labels"].PushBack("acme-demo", a);
    if (type == "indicator") {
      expected.AddMember("x_opencti_create_observables", true, a);
      expected.AddMember("x_opencti_detection", true, a);
      const std::string pattern = expected["pattern"].GetString();
      const std::pair<const char*, const char*> types[] = {{"[url:", "Url"}, {"[domain-name:", "Domain-Name"},
                                                            {"[ipv4-addr:", "IPv4-Addr"}, {"[file:", "StixFile"},
                                                            {"[email-addr:", "Email-Addr"}};
      for (const auto& [prefix, opencti] : types) {
        if (pattern.starts_with(prefix)) expected.AddMember("x_opencti_main_observable_type", rapidjson::StringRef(opencti), a);
      }
    }
    if (type == "url" || type == "domain-name" || type == "ipv4-addr") expected.AddMember("x_opencti_create_indicators", true, a);
    if (type == "report") expected.AddMember("x_opencti_workflow_id", "wf-1", a);
    const auto it = printed.find(served.id);
    ASSERT_NE(it, printed.end()) << served.id << " was not printed";
    EXPECT_TRUE(it->second == expected) << served.id << "\nprinted:  " << [&] {
      rapidjson::StringBuffer b;
      rapidjson::Writer<rapidjson::StringBuffer> w(b);
      it->second.Accept(w);
      return std::string(b.GetString());
    }();
    ++compared;
  }
  EXPECT_EQ(compared, printed.size()) << "the dry run printed objects the server does not hold";
  EXPECT_EQ(compared, 20u);
}

// A collection of generated indicators, timestamp groups of 3, one second apart.
testing::FixtureCollection generated(std::size_t count, taxii::Timestamp start) {
  testing::FixtureCollection c;
  c.api_root = "feeds";
  c.id = "0f3b2c1d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
  c.title = "Generated v1.0";
  for (std::size_t i = 0; i < count; ++i) {
    const auto date_added = start + std::chrono::seconds{static_cast<long long>(i / 3)};
    const auto when = taxii::format_timestamp(date_added).substr(0, 23) + "Z";
    const auto id = fmt::format("indicator--0e2e0000-0000-4000-8000-{:012x}", i);
    c.objects.push_back({date_added, id, "indicator", when, "2.1",
                         fmt::format(R"({{"type":"indicator","spec_version":"2.1","id":"{}","created":"{}",)"
                                     R"("modified":"{}","pattern":"[ipv4-addr:value = '10.77.{}.{}']",)"
                                     R"("pattern_type":"stix","valid_from":"{}","labels":["c2"]}})",
                                     id, when, when, i / 256, i % 256, when)});
  }
  return c;
}

TEST_F(GenericEndToEnd, KilledMidRunThenRestartedLosesNothing) {
  // With the original-id notes each feed object becomes two STIX objects: a bundle of 1000 closes
  // every 50 pages of 10, and the ~200 slow pages after the first checkpoint leave seconds to kill
  // the run in its middle.
  const std::vector<testing::FixtureCollection> feed{generated(3000, days_ago(1))};
  const std::map<std::string, std::string> notes{{"TAXII2_SAVE_ORIGINAL_INDICATOR_ID_TO_NOTE", "true"}};
  auto& server = serve_generic(feed, {.default_page_size = 10, .max_page_size = 10});
  server.inject({.kind = testing::FaultKind::Slow, .path_contains = "/objects/", .times = -1, .delay = 30ms});
  std::string killed_log;
  {
    ConnectorProcess process({"run", "--once"}, generic_environment(notes), directory_, "generic-killed");
    auto has_cursor = [&] {
      const auto state = stored_state();
      return state.IsObject() && state.HasMember("collections") && state["collections"].MemberCount() > 0;
    };
    ASSERT_TRUE(wait_until(has_cursor)) << process.err();
    process.signal(SIGKILL);
    EXPECT_EQ(process.wait(10s), 128 + SIGKILL);
    killed_log = process.err();
  }
  take_objects();
  std::size_t served_and_delivered = 0;
  for (const auto& id : served_ids(feed)) served_and_delivered += delivered_.contains(id) ? 1 : 0;
  EXPECT_LT(served_and_delivered, 3000u) << "the run finished before the kill:\n" << killed_log;
  // The stored cursor passes only delivered objects.
  const auto state = runner::parse_state(opencti_->stored_state().value_or(""));
  ASSERT_TRUE(state.has_value());
  const auto cursor = state->cursors.at("feeds." + feed[0].id);
  for (const auto& o : feed[0].objects) {
    if (o.date_added <= cursor) {
      EXPECT_TRUE(delivered_.contains(o.id)) << o.id << " is behind the stored cursor but was never delivered";
    }
  }
  server.clear_faults();
  server.clear_requests();
  EXPECT_EQ(run_generic(notes, "generic-restarted"), 0) << last_stderr_;
  take_objects();
  std::size_t missing = 0;
  for (const auto& id : served_ids(feed)) missing += delivered_.contains(id) ? 0 : 1;
  EXPECT_EQ(missing, 0u) << "some feed objects were never delivered";
  // The restart continued from the checkpoint, not from the whole history.
  const auto requests = taxii_->requests_to("/objects/");
  ASSERT_FALSE(requests.empty());
  EXPECT_NE(requests.front().param("added_after"), "");
}

TEST_F(GenericEndToEnd, AWrongBearerTokenIsRejectedClearlyAndTheWorkSaysSo) {
  serve_generic(demo_feed());
  ASSERT_EQ(run_generic({{"TAXII2_TOKEN", "a-wrong-bearer-token-123"}}), 1) << last_stderr_;
  EXPECT_NE(last_stderr_.find("credentials rejected by the TAXII server"), std::string::npos) << last_stderr_;
  EXPECT_EQ(taxii_->requests().size(), 1u) << "no retries of a refused token";
  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work && work->processed_message);
  EXPECT_TRUE(work->in_error);
  EXPECT_NE(work->processed_message->find("taxii2.token"), std::string::npos) << *work->processed_message;
  EXPECT_EQ(work->processed_message->find("a-wrong-bearer-token-123"), std::string::npos);
}

TEST_F(GenericEndToEnd, TheCollectionsCommandListsEveryApiRootAndWhatIsSelected) {
  testing::FixtureCollection other;
  other.api_root = "archive";
  other.id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  other.title = "Old v1.0";
  auto feed = demo_feed();
  feed.push_back(other);
  serve_generic(feed);
  auto env = generic_environment({{"TAXII2_COLLECTIONS", "feeds.*"}});
  env.erase("CONNECTOR_ID");  // not needed to look at a server
  ConnectorProcess process({"collections"}, env, directory_, "generic-collections");
  ASSERT_EQ(process.wait(30s), 0) << process.err();
  const std::string out = process.out();
  EXPECT_NE(out.find("feeds." + feed[0].id), std::string::npos) << out;
  EXPECT_NE(out.find("archive." + other.id), std::string::npos) << out;
  EXPECT_NE(out.find("ACME Phishing & Malware Feed v2.1"), std::string::npos) << out;
  EXPECT_NE(out.find("2 collection(s); 1 selected"), std::string::npos) << out;
  EXPECT_EQ(out.find(kBearer), std::string::npos);
  EXPECT_EQ(process.err().find(kBearer), std::string::npos);
}

}  // namespace
}  // namespace kfc::e2e
