// Runner::run_once against a real loopback TAXII server, the real directory sink and a state file,
// on a ManualClock (retries and windows without sleeping).
#include "kfc/runner/runner.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "../../sinks/local_broker.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/runner/state_stores.h"
#include "kfc/sinks/other_sinks.h"
#include "kfc/taxii/settings_client.h"
#include "kfc/testing/bad_feed_objects.h"
#include "kfc/testing/taxii_test_server.h"
#include "../run_fixture.h"

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;
using namespace test_run;

constexpr const char* kToken = "PIPELINE-TEST-TOKEN-93kd82";

testing::FixtureCollection collection(int number, const std::string& id, std::size_t count, SystemTime start) {
  testing::FixtureCollection c;
  c.id = id;
  c.title = id;
  for (std::size_t i = 0; i < count; ++i) {
    const auto date_added = ts(start + std::chrono::seconds{static_cast<long long>(i / 3)});
    const auto when = stix_millis(date_added);
    const auto oid = indicator_id(0xabc00000u + number, i);
    c.objects.push_back({date_added, oid, "indicator", when, "2.1",
                         fmt::format(R"({{"type":"indicator","spec_version":"2.1","id":"{}","created":"{}",)"
                                     R"("modified":"{}","name":"IP","pattern":"[ipv4-addr:value = '10.{}.{}.{}']",)"
                                     R"("pattern_type":"stix","valid_from":"{}","labels":["malicious-activity"],)"
                                     R"("description":"threat_score=80;date_added={}"}})",
                                     oid, when, when, number, i / 256, i % 256, when, when)});
  }
  return c;
}

class RunLoop : public RunFixture {
 protected:
  void SetUp() override {
    directory = test_run::fresh_directory("runloop");
    server = std::make_unique<testing::TaxiiTestServer>(testing::TestServerOptions{
        .api_root = "v2", .auth = testing::AuthScheme::Basic, .secret = kToken, .default_page_size = 10,
        .max_page_size = 10, .empty_answer = testing::EmptyAnswer::NotFound});
  }
  void TearDown() override { fs::remove_all(directory); }

  void start() {
    server->start();
    settings.connector.id = "6f1c0a8e-2d4b-4c6e-9a1f-3b5d7e9f1a2c";
    settings.connector.output = OutputKind::Directory;
    settings.connector.output_dir = (directory / "bundles").string();
    settings.kaspersky.api_root = server->api_root_url();
    settings.kaspersky.allow_insecure_http = true;
    settings.kaspersky.max_attempts = 2;
    TokenSpec spec;
    spec.key = "kaspersky.api_token";
    spec.server = "the Kaspersky TAXII server";
    spec.origin = TokenOrigin::Inline;
    spec.value = Secret(kToken);
    settings.kaspersky.api_token = std::make_shared<Token>(spec);
  }

  RunReport run() {
    auto sink = sinks::make_directory_sink(directory / "bundles", clock);
    return run(*sink);
  }

  RunReport run(sinks::Sink& sink_to_use) {
    auto taxii = taxii::make_client(settings.kaspersky, clock);
    auto* sink = &sink_to_use;
    FileStateStore store(directory / "state.json");
    Runner runner({.settings = &settings, .clock = &clock, .stop = &stop, .taxii = taxii.get(), .sink = sink,
                   .state = &store, .session = nullptr, .metrics = &metrics, .dry_run = false});
    return runner.run_once();
  }

  ConnectorState saved() {
    auto state = FileStateStore(directory / "state.json").load();
    EXPECT_TRUE(state.has_value());
    return state.value_or(ConnectorState{});
  }

  // Feed ids of the indicators written so far (the mapping keeps them in x_opencti_stix_ids).
  std::set<std::string> delivered() {
    std::set<std::string> ids;
    test_run::for_each_written(directory / "bundles", [&](const rapidjson::Value& object) {
      if (object.HasMember("x_opencti_stix_ids")) {
        for (const auto& id : object["x_opencti_stix_ids"].GetArray()) ids.insert(id.GetString());
      }
    });
    return ids;
  }

  std::vector<std::string> windows(const std::string& collection_id) {
    std::vector<std::string> values;
    for (const auto& request : server->requests_to("/collections/" + collection_id + "/objects/")) {
      values.push_back(request.param("added_after"));
    }
    return values;
  }
};

TEST_F(RunLoop, FirstRunStartsAtInitialHistoryThenEachCollectionAtItsCursor) {
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 25, kNow - 2h));
  start();
  const auto first = run();
  ASSERT_EQ(first.outcome, RunOutcome::Succeeded) << format_summary(first);
  EXPECT_EQ(windows("TAXII_A_Data_Feed").front(), "2027-01-08T08:00:00.000000Z");  // now - 7 days
  EXPECT_EQ(delivered().size(), 25u);
  const auto state = saved();
  EXPECT_EQ(state.last_added, 1'800'000'000);
  ASSERT_TRUE(state.cursors.contains("TAXII_A_Data_Feed"));
  // The last object was added at kNow - 2h + 8 s: the next read starts right after it.
  EXPECT_EQ(format_timestamp(state.cursors.at("TAXII_A_Data_Feed")), "2027-01-15T06:00:08.000000Z");
  clock.advance(1h);
  server->clear_requests();
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  EXPECT_EQ(windows("TAXII_A_Data_Feed").front(), "2027-01-15T06:00:08.000000Z");
}

TEST_F(RunLoop, StartsFromThePythonConnectorsLastAdded) {
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 9, kNow - 2h));
  start();
  ConnectorState python;
  python.last_added = 1'799'990'000;
  FileStateStore(directory / "state.json").save(python);
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  EXPECT_EQ(windows("TAXII_A_Data_Feed").front(), "2027-01-15T05:13:20.000000Z");
}

TEST_F(RunLoop, AFailingCollectionKeepsItsCheckpointWhileTheOthersMoveOn) {
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 40, kNow - 3h));
  server->add_collection(collection(2, "TAXII_B_Data_Feed", 12, kNow - 3h));
  // Collection A answers its first 2 pages, then 503 for good.
  server->inject({.kind = testing::FaultKind::Status, .path_contains = "/TAXII_A_Data_Feed/objects/", .skip = 2,
                  .times = -1, .status = 503});
  start();
  const auto report = run();
  EXPECT_EQ(report.outcome, RunOutcome::Failed);
  ASSERT_FALSE(report.errors.empty());
  EXPECT_NE(report.errors.front().find("TAXII_A_Data_Feed"), std::string::npos) << report.errors.front();
  EXPECT_EQ(report.collections.at(1).feed_objects, 12u);  // B was read all the same
  const auto state = saved();
  EXPECT_FALSE(state.last_added.has_value()) << "a failed run must not complete the window";
  ASSERT_TRUE(state.cursors.contains("TAXII_B_Data_Feed"));
  ASSERT_TRUE(state.cursors.contains("TAXII_A_Data_Feed"));  // the 20 delivered objects count
  EXPECT_LT(state.cursors.at("TAXII_A_Data_Feed"), ts(kNow - 3h + 7s));
  EXPECT_GT(clock.slept(), 0ms);  // the retries waited on the clock, not in real time

  // Once the server recovers, the next run delivers the rest: nothing lost.
  server->clear_faults();
  clock.advance(1h);
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  EXPECT_EQ(delivered().size(), 52u);
}

TEST_F(RunLoop, AnEmptyCollectionKeepsItsWindowAndAFutureDateDoesNotFreezeIt) {
  auto future = collection(1, "TAXII_A_Data_Feed", 3, kNow + 24h);  // a feed clock ahead by a day
  server->add_collection(future);
  server->add_collection(collection(2, "TAXII_Empty_Data_Feed", 0, kNow));
  start();
  ASSERT_EQ(run().outcome, RunOutcome::Succeeded);
  const auto state = saved();
  EXPECT_EQ(state.cursors.at("TAXII_A_Data_Feed"), kNow);  // capped at the run's start
  EXPECT_EQ(format_timestamp(state.cursors.at("TAXII_Empty_Data_Feed")), "2027-01-08T08:00:00.000000Z");
}

TEST_F(RunLoop, AStopBetweenPagesDeliversWhatWasReadAndCheckpointsIt) {
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 60, kNow - 1h));
  start();
  struct StopAfterPages final : Clock {  // requests the stop while the third page is being read
    ManualClock& inner;
    StopSignal& stop;
    testing::TaxiiTestServer& server;
    StopAfterPages(ManualClock& c, StopSignal& s, testing::TaxiiTestServer& t) : inner(c), stop(s), server(t) {}
    SystemTime now() const override {
      if (server.requests_to("/objects/").size() >= 3) stop.request("SIGTERM");
      return inner.now();
    }
    void sleep_for(Duration d) override { inner.sleep_for(d); }
  } stopping(clock, stop, *server);
  auto taxii = taxii::make_client(settings.kaspersky, stopping);
  auto sink = sinks::make_directory_sink(directory / "bundles", clock);
  FileStateStore store(directory / "state.json");
  Runner runner({.settings = &settings, .clock = &stopping, .stop = &stop, .taxii = taxii.get(), .sink = sink.get(),
                 .state = &store, .session = nullptr, .metrics = nullptr, .dry_run = false});
  const auto report = runner.run_once();
  EXPECT_EQ(report.outcome, RunOutcome::Interrupted);
  EXPECT_LT(report.feed_objects, 60u);
  EXPECT_EQ(report.delivered_objects, report.sent_objects) << "what was read is delivered before stopping";
  EXPECT_EQ(delivered().size(), report.feed_objects);
  const auto state = saved();
  ASSERT_TRUE(state.cursors.contains("TAXII_A_Data_Feed"));
  EXPECT_FALSE(state.last_added.has_value());
}

TEST_F(RunLoop, AStateThatCannotBeSavedFailsTheRunAfterDeliveringEverything) {
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 30, kNow - 1h));
  start();
  std::ofstream(directory / "not-a-directory") << "x";
  auto taxii = taxii::make_client(settings.kaspersky, clock);
  auto sink = sinks::make_directory_sink(directory / "bundles", clock);
  FileStateStore store(directory / "not-a-directory" / "state.json");
  Runner runner({.settings = &settings, .clock = &clock, .stop = &stop, .taxii = taxii.get(), .sink = sink.get(),
                 .state = &store, .session = nullptr, .metrics = &metrics, .dry_run = false});
  const auto report = runner.run_once();
  EXPECT_EQ(report.outcome, RunOutcome::Failed);
  ASSERT_FALSE(report.errors.empty());
  EXPECT_NE(report.errors.back().find("cannot save the connector state"), std::string::npos) << report.errors.back();
  EXPECT_EQ(delivered().size(), 30u);
}

TEST_F(RunLoop, TheTokenNeverAppearsInTheReport) {
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 3, kNow - 1h));
  server->set_secret("another-token-entirely");
  start();
  const auto report = run();
  EXPECT_EQ(report.outcome, RunOutcome::Failed);
  EXPECT_TRUE(report.token_rejected);
  const auto text = format_summary(report);
  EXPECT_NE(text.find("revoked or expired"), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos);
  EXPECT_EQ(metrics.value(Metric::Errors, "token_rejected"), 1);
}

// A state file that checks every checkpoint before storing it.
class CheckedStateStore final : public StateStore {
 public:
  CheckedStateStore(fs::path path, std::function<void(const ConnectorState&)> check)
      : file_(std::move(path)), check_(std::move(check)) {}
  std::expected<ConnectorState, std::string> load() override { return file_.load(); }
  void save(const ConnectorState& state) override {
    check_(state);
    file_.save(state);
  }
  std::string describe() const override { return file_.describe(); }

 private:
  FileStateStore file_;
  std::function<void(const ConnectorState&)> check_;
};

// At least once, with bundles of up to 1000 STIX objects: a page's objects may wait in the open
// batch while later pages (and the next collection) are read. No checkpoint may pass them until
// the bundle carrying them is written.
TEST_F(RunLoop, EveryCheckpointPassesOnlyObjectsTheSinkConfirmed) {
  const std::vector<testing::FixtureCollection> feed{collection(1, "TAXII_A_Data_Feed", 400, kNow - 3h),
                                                     collection(2, "TAXII_B_Data_Feed", 400, kNow - 3h)};
  for (const auto& c : feed) server->add_collection(c);
  start();
  std::size_t checkpoints = 0;
  std::size_t pages_before_first_checkpoint = 0;
  std::size_t most_waiting = 0;  // feed objects read but not yet delivered at a checkpoint
  CheckedStateStore store(directory / "state.json", [&](const ConnectorState& state) {
    ++checkpoints;
    const auto written = delivered();
    const std::size_t pages = server->requests_to("/objects/").size();
    if (checkpoints == 1) pages_before_first_checkpoint = pages;
    const std::size_t read = pages * 10;  // full pages of 10
    most_waiting = std::max(most_waiting, read > written.size() ? read - written.size() : 0);
    for (const auto& [collection_id, cursor] : state.cursors) {
      for (const auto& c : feed) {
        if (c.id != collection_id) continue;
        for (const auto& object : c.objects) {
          // The next read asks for objects added strictly after the cursor.
          if (object.date_added <= cursor) {
            EXPECT_TRUE(written.contains(object.id))
                << "checkpoint " << checkpoints << " moved " << collection_id << " to " << format_timestamp(cursor)
                << " past " << object.id << ", which no bundle carries yet";
          }
        }
      }
    }
  });
  auto taxii = taxii::make_client(settings.kaspersky, clock);
  auto sink = sinks::make_directory_sink(directory / "bundles", clock);
  Runner runner({.settings = &settings, .clock = &clock, .stop = &stop, .taxii = taxii.get(), .sink = sink.get(),
                 .state = &store, .session = nullptr, .metrics = &metrics, .dry_run = false});
  const auto report = runner.run_once();
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  EXPECT_EQ(delivered().size(), 800u);
  EXPECT_GE(checkpoints, 3u) << "checkpoints during the run, not only at its end";
  // What makes it a test: many pages sat in the open batch before the first bundle was written,
  // and at some checkpoint part of a page was still waiting.
  EXPECT_GT(pages_before_first_checkpoint, 10u);
  EXPECT_GT(most_waiting, 0u);
}

// Long runs tell how far each collection got (pages, objects, rate) every 10 s or so.
TEST_F(RunLoop, ALongRunLogsProgressPerCollection) {
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 50, kNow - 1h));
  start();
  struct SlowServerClock final : Clock {  // every page request takes 11 s of the run's time
    ManualClock& inner;
    testing::TaxiiTestServer& server;
    SlowServerClock(ManualClock& c, testing::TaxiiTestServer& t) : inner(c), server(t) {}
    SystemTime now() const override {
      return inner.now() + std::chrono::seconds{11 * static_cast<long long>(server.requests_to("/objects/").size())};
    }
    void sleep_for(Duration d) override { inner.sleep_for(d); }
  } slow(clock, *server);
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs));
  spdlog::set_default_logger(capture);
  auto taxii = taxii::make_client(settings.kaspersky, slow);
  auto sink = sinks::make_directory_sink(directory / "bundles", slow);
  FileStateStore store(directory / "state.json");
  Runner runner({.settings = &settings, .clock = &slow, .stop = &stop, .taxii = taxii.get(), .sink = sink.get(),
                 .state = &store, .session = nullptr, .metrics = &metrics, .dry_run = false});
  const auto report = runner.run_once();
  spdlog::set_default_logger(previous);
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  const std::string text = logs.str();
  EXPECT_NE(text.find("Collection TAXII_A_Data_Feed: 1 pages, 10 objects so far"), std::string::npos) << text;
  EXPECT_NE(text.find("Collection TAXII_A_Data_Feed: 3 pages, 30 objects so far"), std::string::npos) << text;
  EXPECT_NE(text.find(" objects/s in this run)"), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos);
}

// A page that arrives but cannot be parsed ends its collection as *unreadable* (not "unreachable"),
// in the report, the work message and a metric; the cursor stays before it, so the next run reads
// it again and, once the server sends it whole, delivers it.
TEST_F(RunLoop, AnUnreadablePageStopsItsCollectionBeforeItAndIsReadAgainNextRun) {
  const auto feed = collection(1, "TAXII_A_Data_Feed", 30, kNow - 2h);
  server->add_collection(feed);
  server->add_collection(collection(2, "TAXII_B_Data_Feed", 5, kNow - 2h));
  server->inject({.kind = testing::FaultKind::TruncatedJson, .path_contains = "/TAXII_A_Data_Feed/objects/",
                  .skip = 2, .times = -1});
  start();
  const auto first = run();
  EXPECT_EQ(first.outcome, RunOutcome::Failed);
  ASSERT_FALSE(first.errors.empty());
  const std::string error = first.errors.front();
  EXPECT_NE(error.find("unreadably"), std::string::npos) << error;
  EXPECT_NE(error.find("/collections/TAXII_A_Data_Feed/objects/"), std::string::npos) << error;
  EXPECT_NE(error.find("invalid JSON at byte"), std::string::npos) << error;
  EXPECT_NE(error.find("Content-Type: application/taxii+json"), std::string::npos) << error;
  EXPECT_EQ(error.find("raise kaspersky.max_attempts"), std::string::npos) << error;
  EXPECT_EQ(metrics.value(Metric::Errors, "unreadable_page"), 1);
  EXPECT_EQ(delivered().size(), 20u + 5u);  // two pages of A, and all of B: the other collection went on
  // The cursor does not pass the unreadable page: its first object is later than the cursor.
  const auto cursor = saved().cursors.at("TAXII_A_Data_Feed");
  EXPECT_LT(cursor, feed.objects[20].date_added);

  server->clear_faults();
  const auto second = run();
  ASSERT_EQ(second.outcome, RunOutcome::Succeeded) << format_summary(second);
  std::set<std::string> all;
  for (const auto& object : feed.objects) all.insert(object.id);
  for (const auto& id : all) EXPECT_TRUE(delivered().contains(id)) << id;
}

// One lone surrogate and one invalid UTF-8 byte among good objects: every object is delivered, the
// bad text as U+FFFD, counted in the report (and so in the summary) and in the metrics.
TEST_F(RunLoop, InvalidUnicodeIsRepairedAndEveryObjectDelivered) {
  auto feed = collection(1, "TAXII_A_Data_Feed", 12, kNow - 2h);
  testing::prepend_to_description(feed.objects[3], "lone \\ud800;");
  testing::prepend_to_description(feed.objects[7], "bad \xff;");
  server->add_collection(feed);
  start();
  const auto report = run();
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  EXPECT_EQ(delivered().size(), 12u);
  EXPECT_EQ(report.bad_input.at("feed_object_repaired"), 2u);
  EXPECT_EQ(metrics.value(Metric::BadInput, "feed_object_repaired"), 2);
  EXPECT_NE(format_summary(report).find("feed_object_repaired"), std::string::npos);
  std::size_t replaced = 0;
  for (const auto& file : fs::directory_iterator(directory / "bundles")) {
    std::ifstream in(file.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::size_t at = text.find("\xEF\xBF\xBD"); at != std::string::npos; at = text.find("\xEF\xBF\xBD", at + 1)) {
      ++replaced;
    }
  }
  EXPECT_GE(replaced, 2u);  // (the description may be copied onto the relationships too)
}

// The feed objects the reference connector dies on: an orphan created_by_ref, a report naming an
// object nobody sent, a relationship to a missing object, and a report naming an indicator by its
// feed id. The run succeeds, every indicator is delivered, the repairs are counted.
TEST_F(RunLoop, DanglingReferencesAreRepairedAndTheRunSucceeds) {
  auto feed = collection(1, "TAXII_A_Data_Feed", 6, kNow - 2h);
  const std::string indicator_feed_id = feed.objects[1].id;
  for (auto& object : testing::dangling_reference_objects(feed.objects.back().date_added, indicator_feed_id)) {
    feed.objects.push_back(std::move(object));
  }
  server->add_collection(feed);
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs)));
  start();
  const auto report = run();
  spdlog::set_default_logger(previous);

  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report) << logs.str();
  EXPECT_EQ(delivered().size(), 6u);  // every indicator
  EXPECT_EQ(report.bad_input.at("created_by_ref_dropped"), 1u);
  EXPECT_EQ(report.bad_input.at("object_ref_dropped"), 1u);
  EXPECT_EQ(report.bad_input.at("relationship_without_end_dropped"), 1u);
  EXPECT_EQ(report.bad_input.at("reference_rewritten_to_normalised_id"), 1u);
  const std::string summary = format_summary(report);
  EXPECT_NE(summary.find("created_by_ref_dropped"), std::string::npos) << summary;
  const std::string log = logs.str();
  EXPECT_NE(log.find("object malware--00000000-0000-4000-8000-0000000000a1: dropped created_by_ref"), std::string::npos) << log;
  EXPECT_NE(log.find("repaired or dropped instead of stopping"), std::string::npos) << log;

  // The report by feed id now names the indicator's normalised id, which was delivered.
  std::string by_feed_id, normalised;
  test_run::for_each_written(directory / "bundles", [&](const rapidjson::Value& object) {
    const std::string id = object["id"].GetString();
    if (id == "report--00000000-0000-4000-8000-0000000000a4") by_feed_id = object["object_refs"][0].GetString();
    if (object.HasMember("x_opencti_stix_ids") && object["x_opencti_stix_ids"][0].GetString() == indicator_feed_id) {
      normalised = id;
    }
  });
  EXPECT_FALSE(normalised.empty());
  EXPECT_EQ(by_feed_id, normalised);
}

// A server may date objects in any year TAXII allows (0001 to 9999); the system clock holds only
// 1677 to 2262. Such a page is delivered and its cursor clamped, never an overflow (the sanitizer
// build aborts on one).
TEST_F(RunLoop, ServerTimestampsTheClockCannotHoldAreClamped) {
  auto feed = collection(1, "TAXII_A_Data_Feed", 3, kNow - 2h);
  feed.objects[0].date_added = taxii::parse_timestamp("1013-04-01T08:00:00.000000Z").value();
  feed.objects[2].date_added = taxii::parse_timestamp("9999-12-31T23:59:59.999999Z").value();
  server->add_collection(feed);
  settings.kaspersky.initial_history = std::chrono::seconds(0);  // the whole history, year 1013 included
  start();
  const auto report = run();
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  EXPECT_EQ(delivered().size(), 3u);
  EXPECT_LE(saved().cursors.at("TAXII_A_Data_Feed"), kNow);  // never beyond the run's start
}

// A TAXII page that takes many heartbeat intervals to arrive while the previous page's messages are
// still unconfirmed: the sink's I/O thread answers the broker's heartbeats meanwhile, so the
// connection survives — no reconnect, nothing published twice. CI runs it scaled down (1 s heartbeat,
// 6 s page); KFC_HEARTBEAT_SECONDS=10 KFC_SLOW_PAGE_SECONDS=60 runs the full-size case by hand.
TEST_F(RunLoop, ASlowPageCostsNoReconnectAndNoDuplicate) {
  KFC_REQUIRE_RABBITMQ();
  auto from_env = [](const char* name, int fallback) {
    const char* value = std::getenv(name);
    return value ? std::atoi(value) : fallback;
  };
  const int heartbeat = from_env("KFC_HEARTBEAT_SECONDS", 1);
  const int slow_page = from_env("KFC_SLOW_PAGE_SECONDS", 6);
  // Pages of 10 indicators, 3 objects each: by page 51 a bundle of 1000 objects was handed to the sink.
  server->add_collection(collection(1, "TAXII_A_Data_Feed", 900, kNow - 2h));
  server->inject({.kind = testing::FaultKind::Slow, .skip = 50, .times = 1,
                  .delay = std::chrono::seconds(slow_page)});
  start();
  settings.kaspersky.connection_timeout = std::chrono::seconds(slow_page + 30);
  fixtures::AmqpTestBroker broker;
  const auto queue = broker.prepare_push_queue(fmt::format("kfc-slow-page-{}", ::getpid()));
  sinks::AmqpSinkOptions options = sinks::test_broker::options_for(queue, "user--slow-page");
  options.heartbeat_seconds = heartbeat;
  auto sink = sinks::make_amqp_sink(options, {}, clock);

  const auto report = run(*sink);
  ASSERT_EQ(report.outcome, RunOutcome::Succeeded) << format_summary(report);
  const auto stats = sink->stats();
  EXPECT_EQ(stats.reconnects, 0u);
  EXPECT_EQ(stats.republished, 0u);
  EXPECT_GT(stats.bundles, 1u);
  EXPECT_EQ(broker.drain(queue.queue).size(), stats.messages);  // every message exactly once
}

}  // namespace
}  // namespace kfc::runner
