// The generic TAXII mode through the whole run loop: Runner::run_once with make_generic_feed against
// the real TAXII test server (every authentication, TAXII 2.0 and 2.1, two API roots, paging loops,
// outages), the real directory sink and a state file, on a ManualClock.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "kfc/fixtures/log_capture.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/runner/feed.h"
#include "kfc/runner/runner.h"
#include "kfc/runner/state_stores.h"
#include "kfc/sinks/other_sinks.h"
#include "kfc/testing/taxii_test_server.h"
#include "../run_fixture.h"

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;
using namespace test_run;

constexpr const char* kSecret = "GENERIC-FEED-SECRET-5h2k9q";

// A generic feed's objects: indicators and the malware they indicate, related, in one collection.
testing::FixtureCollection feed(const std::string& root, const std::string& id, const std::string& title,
                                std::size_t indicators, SystemTime start) {
  testing::FixtureCollection c;
  c.api_root = root;
  c.id = id;
  c.title = title;
  for (std::size_t i = 0; i < indicators; ++i) {
    const auto date_added = ts(start + std::chrono::seconds{static_cast<long long>(i / 2)});
    const auto when = stix_millis(date_added);
    const auto oid = indicator_id(std::hash<std::string>{}(id) & 0xffffffff, i);
    c.objects.push_back({date_added, oid, "indicator", when, "2.1",
                         fmt::format(R"({{"type":"indicator","spec_version":"2.1","id":"{}","created":"{}",)"
                                     R"("modified":"{}","name":"C2 {}","pattern":"[ipv4-addr:value = '10.9.{}.{}']",)"
                                     R"("pattern_type":"stix","valid_from":"{}","labels":["c2","high"]}})",
                                     oid, when, when, i, i / 256, i % 256, when)});
  }
  return c;
}

std::set<std::string> ids_of(const std::vector<testing::FixtureCollection>& collections) {
  std::set<std::string> ids;
  for (const auto& c : collections)
    for (const auto& o : c.objects) ids.insert(o.id);
  return ids;
}

TokenPtr secret(const std::string& key, const std::string& value) {
  TokenSpec spec;
  spec.key = key;
  spec.server = "the TAXII server";
  spec.origin = TokenOrigin::Inline;
  spec.value = Secret(value);
  spec.kind = key == "taxii2.password" ? SecretKind::Password : SecretKind::ApiToken;
  return std::make_shared<Token>(spec);
}

class GenericRun : public RunFixture {
 protected:
  void SetUp() override {
    directory = test_run::fresh_directory("generic");
    settings.connector.id = "6f1c0a8e-2d4b-4c6e-9a1f-3b5d7e9f1a2c";
    settings.connector.name = "TAXII2";
    settings.connector.output = OutputKind::Directory;
    settings.connector.output_dir = (directory / "bundles").string();
    settings.taxii2.allow_insecure_http = true;
    settings.taxii2.max_attempts = 2;
    settings.taxii2.connection_timeout = 5s;
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(directory);
  }

  testing::TaxiiTestServer& serve(const std::vector<testing::FixtureCollection>& collections,
                                  testing::TestServerOptions options = {}) {
    options.api_root = "api1";
    options.default_page_size = 10;
    options.max_page_size = 10;
    server = std::make_unique<testing::TaxiiTestServer>(options);
    for (const auto& c : collections) server->add_collection(c);
    server->start();
    settings.taxii2.discovery_url = server->discovery_url();
    return *server;
  }

  RunReport run() {
    auto generic = make_generic_feed(settings, clock);
    auto sink = sinks::make_directory_sink(directory / "bundles", clock);
    RunKeyStateStore store(std::make_unique<FileStateStore>(directory / "state.json"), "last_run");
    Runner runner({.settings = &settings, .clock = &clock, .stop = &stop, .feed = generic.get(), .sink = sink.get(),
                   .state = &store, .session = nullptr, .metrics = &metrics, .dry_run = false});
    return runner.run_once();
  }

  // Calls visit(object) for every object written to a bundle so far, bundle by bundle.
  template <typename Visit>
  void for_each_written(Visit&& visit) {
    test_run::for_each_written(directory / "bundles", visit);
  }
  // Every object written to a bundle so far: id → type.
  std::map<std::string, std::string> written() {
    std::map<std::string, std::string> objects;
    for_each_written([&](const rapidjson::Value& object) {
      objects[object["id"].GetString()] = object["type"].GetString();
    });
    return objects;
  }
  // The object written with this id (a copy; null when none was).
  rapidjson::Document written_object(const std::string& id) {
    rapidjson::Document found;
    for_each_written([&](const rapidjson::Value& object) {
      if (object["id"].GetString() == id) found.CopyFrom(object, found.GetAllocator());
    });
    return found;
  }
  std::set<std::string> written_ids() {
    std::set<std::string> ids;
    for (const auto& [id, type] : written()) ids.insert(id);
    return ids;
  }

  rapidjson::Document state_file() {
    std::ifstream in(directory / "state.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    rapidjson::Document state;
    state.Parse(text.c_str());
    return state;
  }
};

// --- authentication: the right secret reads everything; a wrong one is one clear refusal -------------

struct AuthCase {
  const char* name;
  testing::AuthScheme scheme;
  void (*configure)(Settings&, const std::string& secret);
};

class GenericAuth : public GenericRun, public ::testing::WithParamInterface<AuthCase> {};

TEST_P(GenericAuth, TheRightSecretReadsTheFeedAWrongOneIsRejectedOnceWithoutRetries) {
  const auto collections = std::vector{feed("api1", "c-auth", "Auth Feed", 12, kNow - 2h)};
  serve(collections, {.auth = GetParam().scheme, .user = "reader", .header_name = "X-Feed-Key", .secret = kSecret});
  GetParam().configure(settings, kSecret);
  const auto good = run();
  ASSERT_EQ(good.outcome, RunOutcome::Succeeded) << format_summary(good);
  EXPECT_EQ(written_ids(), ids_of(collections));

  server->set_secret("the-server-now-wants-another-one");
  server->clear_requests();
  clock.advance(1h);
  const auto refused = run();
  EXPECT_EQ(refused.outcome, RunOutcome::Failed);
  EXPECT_TRUE(refused.token_rejected);
  const std::string text = format_summary(refused);
  EXPECT_NE(text.find("rejected"), std::string::npos) << text;
  EXPECT_NE(text.find("not retried"), std::string::npos) << text;
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(server->requests().size(), 1u) << "one refused discovery request, no retry storm";
  EXPECT_EQ(clock.slept(), 0ms);
}

INSTANTIATE_TEST_SUITE_P(
    EveryScheme, GenericAuth,
    ::testing::Values(
        AuthCase{"Basic", testing::AuthScheme::Basic,
                 [](Settings& s, const std::string& value) {
                   s.taxii2.username = "reader";
                   s.taxii2.password = secret("taxii2.password", value);
                 }},
        AuthCase{"Bearer", testing::AuthScheme::Bearer,
                 [](Settings& s, const std::string& value) {
                   s.taxii2.use_token = true;
                   s.taxii2.token = secret("taxii2.token", value);
                 }},
        AuthCase{"ApiKey", testing::AuthScheme::Header,
                 [](Settings& s, const std::string& value) {
                   s.taxii2.use_apikey = true;
                   s.taxii2.apikey_key = "X-Feed-Key";
                   s.taxii2.apikey_value = secret("taxii2.apikey_value", value);
                 }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(GenericRun, WithoutAuthenticationNoCredentialIsSent) {
  const auto collections = std::vector{feed("api1", "c-open", "Open Feed", 5, kNow - 2h)};
  serve(collections);
  const auto report = run();
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  EXPECT_EQ(written_ids(), ids_of(collections));
  for (const auto& request : server->requests()) EXPECT_EQ(request.authorization, "") << request.path;
}

TEST_F(GenericRun, AServerThatWantsCredentialsTheConfigurationLacksSaysSo) {
  serve({feed("api1", "c-closed", "Closed", 5, kNow - 2h)}, {.auth = testing::AuthScheme::Bearer, .secret = kSecret});
  const auto report = run();
  EXPECT_EQ(report.outcome, RunOutcome::Failed);
  ASSERT_FALSE(report.errors.empty());
  EXPECT_NE(report.errors.front().find("HTTP 401"), std::string::npos) << report.errors.front();
  EXPECT_NE(report.errors.front().find("taxii2.use_token and taxii2.token (Bearer)"), std::string::npos)
      << report.errors.front();
  EXPECT_LE(server->requests().size(), 1u);
}

TEST_F(GenericRun, MutualTlsWithTheClientCertificateTheServerTrusts) {
  const auto client = testing::make_client_certificate();
  const auto stranger = testing::make_client_certificate();
  const auto collections = std::vector{feed("api1", "c-mtls", "mTLS Feed", 6, kNow - 2h)};
  serve(collections, {.tls = true, .trusted_client_certificates = client->certificate_file()});
  settings.taxii2.ca_file = server->ca_file();
  settings.taxii2.use_cert = true;
  settings.taxii2.cert_path = client->combined_file();  // certificate and key in one file
  const auto good = run();
  ASSERT_EQ(good.outcome, RunOutcome::Succeeded) << format_summary(good);
  EXPECT_EQ(written_ids(), ids_of(collections));

  settings.taxii2.cert_path = stranger->certificate_file();  // and its key in a file of its own
  settings.taxii2.key_path = stranger->key_file();
  server->clear_requests();
  const auto refused = run();
  EXPECT_EQ(refused.outcome, RunOutcome::Failed);
  const std::string text = format_summary(refused);
  // With TLS 1.3 the server's alert arrives after the handshake: read, it is "rejected the client
  // certificate" (never retried); lost in a race with the request, the reset names the certificate.
  EXPECT_NE(text.find("client certificate"), std::string::npos) << text;
  EXPECT_NE(text.find("taxii2."), std::string::npos) << text;
  EXPECT_EQ(server->requests().size(), 0u) << "no request got past the handshake";
  EXPECT_EQ(written_ids(), ids_of(collections));  // nothing new

  settings.taxii2.cert_path.clear();  // none at all
  settings.taxii2.key_path.clear();
  EXPECT_EQ(run().outcome, RunOutcome::Failed);
  EXPECT_EQ(server->requests().size(), 0u);
}

TEST_F(GenericRun, TlsVerificationUsesTheCaBundleAndRefusesAnUnknownServer) {
  serve({feed("api1", "c-tls", "TLS Feed", 3, kNow - 2h)}, {.tls = true});
  const auto unknown = run();  // no CA bundle: the self-signed server is not trusted
  EXPECT_EQ(unknown.outcome, RunOutcome::Failed);
  EXPECT_NE(format_summary(unknown).find("taxii2.verify_ssl"), std::string::npos) << format_summary(unknown);
  settings.taxii2.ca_file = server->ca_file();
  EXPECT_EQ(run().outcome, RunOutcome::Succeeded);
}

// --- versions and collections ------------------------------------------------------------------

TEST_F(GenericRun, Taxii20IsDetectedOrForcedAndItsIndicatorsGetAPatternType) {
  const auto collections = std::vector{feed("api1", "c-20", "Old Feed", 25, kNow - 2h)};
  serve(collections, {.protocol = testing::Protocol::V20});
  const auto detected = run();
  ASSERT_EQ(detected.outcome, RunOutcome::Succeeded) << format_summary(detected);
  EXPECT_EQ(written_ids(), ids_of(collections));
  bool ranged = false;
  for (const auto& request : server->requests_to("/objects/")) ranged = ranged || !request.range.empty();
  EXPECT_TRUE(ranged) << "TAXII 2.0 pages with Range";

  settings.taxii2.v21 = false;  // TAXII2_V21=false, as for the taxii2 connector
  fs::remove(directory / "state.json");
  EXPECT_EQ(run().outcome, RunOutcome::Succeeded);
  settings.taxii2.v21 = true;  // a 2.1 client cannot talk to this server: a clear error
  const auto wrong = run();
  EXPECT_EQ(wrong.outcome, RunOutcome::Failed);
  EXPECT_NE(format_summary(wrong).find("406"), std::string::npos) << format_summary(wrong);
}

TEST_F(GenericRun, Taxii21IsDetected) {
  const auto collections = std::vector{feed("api1", "c-21", "New Feed", 25, kNow - 2h)};
  serve(collections);
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  EXPECT_EQ(written_ids(), ids_of(collections));
  for (const auto& request : server->requests_to("/objects/")) {
    EXPECT_NE(request.accept.find("taxii+json;version=2.1"), std::string::npos) << request.accept;
  }
}

TEST_F(GenericRun, WildcardsSelectOverTwoApiRootsWithDotsInTitles) {
  const std::vector<testing::FixtureCollection> collections{
      feed("api1", "c1", "Phishing v1.2", 4, kNow - 2h), feed("api1", "c2", "Malware", 4, kNow - 2h),
      feed("api2", "c3", "Phishing v1.2", 4, kNow - 2h), feed("api2", "c4", "Botnets", 4, kNow - 2h),
      feed("api2", "c5", "Ransomware.Extra", 4, kNow - 2h)};
  serve(collections);
  settings.taxii2.collections = {"*.Phishing v1.2", "api2.*.Extra"};
  const auto report = run();
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  std::set<std::string> read;
  for (const auto& c : report.collections) read.insert(c.id);
  EXPECT_EQ(read, (std::set<std::string>{"api1.c1", "api2.c3", "api2.c5"}));
  EXPECT_EQ(written_ids(), ids_of({collections[0], collections[2], collections[4]}));
  // Metrics per collection, labelled api_root.collection like the summary.
  EXPECT_EQ(metrics.value(Metric::ObjectsFetched, "api2.c3"), 4);
  EXPECT_EQ(metrics.value(Metric::ObjectsFetched, "api1.c2"), 0);
  EXPECT_EQ(metrics.value(Metric::ObjectsDelivered), 12);
  // Each collection keeps its own cursor, by API root.
  const auto state = state_file();
  EXPECT_TRUE(state["collections"].HasMember("api1.c1"));
  EXPECT_TRUE(state["collections"].HasMember("api2.c3"));
  EXPECT_TRUE(state["last_run"].IsInt64());  // the taxii2 connector's run-level key
  EXPECT_FALSE(state.HasMember("last_added"));
}

TEST_F(GenericRun, ContinuesFromTheTaxii2ConnectorsLastRun) {
  serve({feed("api1", "c1", "Feed", 6, kNow - 2h)});
  std::ofstream(directory / "state.json") << R"({"last_run": 1799990000})";
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  const auto requests = server->requests_to("/objects/");
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().param("added_after"), "2027-01-15T05:13:20.000000Z");
  EXPECT_EQ(state_file()["last_run"].GetInt64(), 1'800'000'000);
}

TEST_F(GenericRun, InitialHistoryIsInHours) {
  settings.taxii2.initial_history_hours = 5;
  serve({feed("api1", "c1", "Feed", 6, kNow - 2h)});
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  EXPECT_EQ(server->requests_to("/objects/").front().param("added_after"), "2027-01-15T03:00:00.000000Z");
}

TEST_F(GenericRun, TheUrlLimitIsSentWhenEnabled) {
  serve({feed("api1", "c1", "Feed", 20, kNow - 2h)});
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  for (const auto& request : server->requests_to("/objects/")) EXPECT_FALSE(request.has("limit"));
  settings.taxii2.enable_url_query_limit = true;
  settings.taxii2.url_query_limit = 7;
  fs::remove(directory / "state.json");
  server->clear_requests();
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  const auto requests = server->requests_to("/objects/");
  ASSERT_EQ(requests.size(), 3u);  // 20 objects, 7 a page
  for (const auto& request : requests) EXPECT_EQ(request.param("limit"), "7");
}

// --- faults ------------------------------------------------------------------------------------

TEST_F(GenericRun, APagingLoopIsStoppedWithAClearErrorAndTheOtherCollectionsAreRead) {
  const std::vector<testing::FixtureCollection> collections{feed("api1", "loops", "Loops", 30, kNow - 2h),
                                                            feed("api1", "fine", "Fine", 8, kNow - 2h)};
  serve(collections).inject({.kind = testing::FaultKind::StuckMore, .path_contains = "/loops/objects/", .times = -1});
  const auto report = run();
  EXPECT_EQ(report.outcome, RunOutcome::Failed);
  ASSERT_FALSE(report.errors.empty());
  EXPECT_NE(report.errors.front().find("api1.loops"), std::string::npos) << report.errors.front();
  EXPECT_LE(server->requests_to("/loops/objects/").size(), 6u) << "the loop was cut short";
  const auto ids = written_ids();
  for (const auto& o : collections[1].objects) EXPECT_TRUE(ids.contains(o.id)) << o.id;
}

TEST_F(GenericRun, AnOutageMidRunLosesNothing) {
  const std::vector<testing::FixtureCollection> collections{feed("api1", "c1", "First", 60, kNow - 3h),
                                                            feed("api2", "c2", "Second", 30, kNow - 3h)};
  auto& taxii = serve(collections);
  // After 3 pages the server goes away (503) for the rest of the run.
  taxii.inject({.kind = testing::FaultKind::Status, .path_contains = "/objects/", .skip = 3, .times = -1, .status = 503});
  const auto broken = run();
  EXPECT_EQ(broken.outcome, RunOutcome::Failed);
  const auto state = state_file();
  ASSERT_TRUE(state.IsObject());
  EXPECT_FALSE(state.HasMember("last_run")) << "a failed run does not complete its window";
  // What the cursor passes was written.
  const auto delivered = written_ids();
  if (state.HasMember("collections") && state["collections"].HasMember("api1.c1")) {
    const auto cursor = parse_timestamp(state["collections"]["api1.c1"]["added_after"].GetString());
    ASSERT_TRUE(cursor);
    for (const auto& o : collections[0].objects) {
      if (o.date_added <= *cursor) {
        EXPECT_TRUE(delivered.contains(o.id)) << o.id;
      }
    }
  }
  taxii.clear_faults();
  clock.advance(1h);
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  EXPECT_EQ(written_ids(), ids_of(collections));
}

TEST_F(GenericRun, OneApiRootFailingLeavesTheOtherReadable) {
  const std::vector<testing::FixtureCollection> collections{feed("api1", "c1", "First", 5, kNow - 2h),
                                                            feed("api2", "c2", "Second", 5, kNow - 2h)};
  serve(collections).inject({.kind = testing::FaultKind::Status, .path_contains = "/api1/collections/", .times = -1,
                             .status = 500});
  const auto report = run();
  EXPECT_EQ(report.outcome, RunOutcome::Failed);
  EXPECT_NE(format_summary(report).find("API root"), std::string::npos) << format_summary(report);
  EXPECT_EQ(written_ids(), ids_of({collections[1]}));
}

// References that resolve nowhere in the run are the platform's to resolve: a relationship to an
// object this run never delivered (an earlier run's, or one OpenCTI holds) is sent as it came and
// counted, where the Kaspersky mode would drop it; the run succeeds and checkpoints. One to an object
// of an earlier bundle of the same run is sent too, and not counted.
TEST_F(GenericRun, ReferencesToObjectsOutsideTheRunArePassedThroughAndCounted) {
  auto c = feed("api1", "c1", "Feed", 1200, kNow - 2h);  // > 1000 objects: two bundles
  const auto when = c.objects.back().date_added;
  const auto rel = [&](const char* id, const std::string& target) {
    return testing::FixtureObject{when, id, "relationship", "2027-01-15T06:00:00.000Z", "2.1",
        fmt::format(R"({{"type":"relationship","spec_version":"2.1","id":"{}","relationship_type":"indicates",)"
                    R"("source_ref":"{}","target_ref":"{}","created":"2027-01-15T06:00:00.000Z",)"
                    R"("modified":"2027-01-15T06:00:00.000Z"}})", id, c.objects.front().id, target)};
  };
  const std::string elsewhere = "malware--00000000-0000-4000-8000-00000000dead";
  c.objects.push_back(rel("relationship--00000000-0000-4000-8000-0000000000a1", elsewhere));  // never delivered
  c.objects.push_back(rel("relationship--00000000-0000-4000-8000-0000000000a2", c.objects[1].id));  // earlier bundle
  serve({c});
  const fixtures::LogCapture logs;
  const auto report = run();
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  const auto ids = written_ids();
  EXPECT_EQ(ids, ids_of({c}));  // nothing dropped
  const auto kept = written_object("relationship--00000000-0000-4000-8000-0000000000a1");
  ASSERT_TRUE(kept.IsObject());
  EXPECT_EQ(std::string(kept["target_ref"].GetString()), elsewhere);
  EXPECT_EQ(std::string(kept["source_ref"].GetString()), c.objects.front().id);
  EXPECT_EQ(report.bad_input, (std::map<std::string, std::uint64_t>{{"external_reference_kept", 1}}));
  EXPECT_EQ(metrics.value(Metric::BadInput, "external_reference_kept"), 1);
  const std::string summary = format_summary(report);
  EXPECT_NE(summary.find("Sent as they came, for OpenCTI to resolve:\n  external_reference_kept"), std::string::npos)
      << summary;
  EXPECT_EQ(summary.find("Repaired or dropped"), std::string::npos) << summary;  // nothing was repaired
  EXPECT_TRUE(logs.contains("sent references to objects outside it as they came, for OpenCTI to resolve: "
                            "1 external_reference_kept"))
      << logs.text();
  EXPECT_FALSE(logs.contains("repaired or dropped")) << logs.text();
  EXPECT_TRUE(state_file()["collections"].HasMember("api1.c1"));
}

TEST_F(GenericRun, SettingsAreAppliedOnTheWay) {
  const auto collections = std::vector{feed("api1", "c1", "Feed", 4, kNow - 2h)};
  serve(collections);
  settings.taxii2.create_author = true;
  settings.taxii2.author_name = "ACME";
  settings.taxii2.ignore_specific_patterns = true;
  settings.taxii2.patterns_to_ignore = {"10.9.0.3'"};
  const auto report = run();
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  const auto objects = written();
  EXPECT_EQ(objects.size(), 4u);  // 3 indicators (one ignored) and the author
  EXPECT_EQ(report.objects_by_type.at("identity"), 1u);
  EXPECT_FALSE(objects.contains(collections[0].objects[3].id));
}

}  // namespace
}  // namespace kfc::runner
