// Runs of the real connector binary: complete, incremental, killed, stopped, reset, cancelled.
#include <signal.h>

#include "e2e_fixture.h"
#include "kfc/runner/state.h"
#include "kfc/testing/bad_feed_objects.h"

namespace kfc::e2e {
namespace {

// Pages of 10 objects, each answered after `delay`: a run long enough to be interrupted.
testing::TestServerOptions slow_pages(std::chrono::milliseconds delay) {
  testing::TestServerOptions options;
  options.default_page_size = 10;
  options.max_page_size = 10;
  (void)delay;
  return options;
}

void slow_down(testing::TaxiiTestServer& server, std::chrono::milliseconds delay) {
  server.inject({.kind = testing::FaultKind::Slow, .path_contains = "/objects/", .times = -1, .delay = delay});
}

bool has_cursor(const rapidjson::Document& state) {
  return state.IsObject() && state.HasMember("collections") && state["collections"].IsObject() &&
         state["collections"].MemberCount() > 0;
}

TEST_F(EndToEnd, AFullRunDeliversEveryFeedObjectAndStoresTheState) {
  const auto collections = feed(60, days_ago(2));
  serve(collections);
  EXPECT_EQ(run_once(), 0) << last_stderr_;
  EXPECT_EQ(take_delivered(), ids_of(collections));

  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work.has_value());
  ASSERT_TRUE(work->processed_message.has_value());
  EXPECT_FALSE(work->in_error) << *work->processed_message;
  EXPECT_NE(work->processed_message->find("Connector queued"), std::string::npos) << *work->processed_message;
  EXPECT_EQ(static_cast<std::size_t>(work->expectations), messages_);  // one expectation per message

  const auto state = stored_state();
  ASSERT_TRUE(state.IsObject()) << opencti_->stored_state().value_or("(none)");
  EXPECT_TRUE(state.HasMember("last_added"));  // the Python connector's key, kept
  EXPECT_TRUE(has_cursor(state));
  EXPECT_TRUE(state["collections"].HasMember("TAXII_Demo_IP_Reputation_Data_Feed"));
  // next/last run datetimes reach the platform in the ping
  const auto ping = opencti_->last_variables("pingConnector");
  ASSERT_TRUE(ping.IsObject());
  EXPECT_TRUE(ping["connectorInfo"]["last_run_datetime"].IsString());
  EXPECT_TRUE(ping["connectorInfo"]["run_and_terminate"].GetBool());
}

TEST_F(EndToEnd, ASecondRunReadsOnlyWhatIsNew) {
  auto collections = feed(30, days_ago(2));
  serve(collections);
  ASSERT_EQ(run_once({}, "first"), 0) << last_stderr_;
  EXPECT_EQ(take_delivered(), ids_of(collections));

  // 12 new objects per collection, added an hour ago (after the first run's objects).
  auto grown = collections;
  std::set<std::string> fresh;
  int number = 1;
  for (auto& c : grown) {
    const auto more = collection(number++, c.id, 12, days_ago(0) - std::chrono::hours{1}, 30);
    for (const auto& o : more.objects) {
      c.objects.push_back(o);
      fresh.insert(o.id);
    }
  }
  serve(grown);
  ASSERT_EQ(run_once({}, "second"), 0) << last_stderr_;
  const auto second = take_delivered();
  for (const auto& id : fresh) EXPECT_TRUE(second.contains(id)) << id << " was not delivered";
  // Only the boundary timestamp group of the first run may come again, nothing older.
  EXPECT_LE(second.size(), fresh.size() + 2 * 3) << "the second run re-read old objects";
  for (const auto& added_after : added_after_requests()) EXPECT_FALSE(added_after.empty());
}

TEST_F(EndToEnd, KilledMidRunThenRestartedLosesNothing) {
  // ~3 STIX objects per feed object: the first bundle of 1000 closes after ~330 feed objects; the
  // ~90 slow pages after it leave seconds to kill the run in its middle, even on a loaded machine.
  const auto collections = feed(600, days_ago(2));
  std::string killed_log;
  auto& server = serve(collections, slow_pages(60ms));
  slow_down(server, 60ms);
  {
    auto process = start({"run", "--once"}, {}, "killed");
    // Wait until at least one checkpoint reached the platform, then kill -9 in the middle.
    ASSERT_TRUE(wait_until([&] { return has_cursor(stored_state()); })) << process->err();
    process->signal(SIGKILL);
    EXPECT_EQ(process->wait(10s), 128 + SIGKILL);
    killed_log = process->err();
  }
  const auto before_restart = take_delivered();
  EXPECT_LT(before_restart.size(), ids_of(collections).size()) << "the run finished before the kill:\n" << killed_log;
  expect_checkpoint_covers_only_delivered(collections, "at the kill");
  const auto checkpoint = stored_state();

  server.clear_faults();
  EXPECT_EQ(run_once({}, "restarted"), 0) << last_stderr_;
  take_delivered();
  EXPECT_EQ(delivered_, ids_of(collections)) << "some feed objects were never delivered";
  // The restart resumed from the checkpoint instead of the whole history.
  const auto requests = taxii_->requests_to("/objects/");
  ASSERT_FALSE(requests.empty());
  EXPECT_NE(requests.front().param("added_after"), "");
  EXPECT_TRUE(checkpoint["collections"].HasMember("TAXII_Demo_IP_Reputation_Data_Feed"));
}

// kill -9 at several instants — right after the first bundle reached the broker (its checkpoint
// not stored yet), then at arbitrary points of reading and delivering — each restart continuing
// from the last checkpoint: at every kill the stored cursors pass only delivered objects, and in
// the end every feed object was delivered at least once.
TEST_F(EndToEnd, KilledAtSeveralInstantsLosesNothing) {
  const auto collections = feed(300, days_ago(2));
  auto& server = serve(collections, slow_pages(40ms));
  slow_down(server, 40ms);
  int killed_mid_run = 0;
  for (int round = 0; round < 3; ++round) {
    const std::size_t pages_before = taxii_->requests_to("/objects/").size();
    auto process = start({"run", "--once"}, {}, fmt::format("kill{}", round));
    if (round == 0) {
      ASSERT_TRUE(wait_until([&] { return messages_ > 0 || !take_delivered(20ms).empty(); })) << process->err();
    } else {  // somewhere in the reading: after 3 more pages in round 1, 6 more in round 2
      ASSERT_TRUE(wait_until([&] {
        return taxii_->requests_to("/objects/").size() >= pages_before + 3 * round || process->wait(0ms).has_value();
      })) << process->err();
    }
    if (!process->wait(0ms)) ++killed_mid_run;
    process->signal(SIGKILL);
    ASSERT_TRUE(process->wait(10s).has_value());
    take_delivered();
    expect_checkpoint_covers_only_delivered(collections, fmt::format("kill {}", round));
  }
  EXPECT_GE(killed_mid_run, 2);
  server.clear_faults();
  EXPECT_EQ(run_once({}, "final"), 0) << last_stderr_;
  take_delivered();
  expect_checkpoint_covers_only_delivered(collections, "after the final run");
  EXPECT_EQ(delivered_, ids_of(collections)) << "some feed objects were never delivered";
}

TEST_F(EndToEnd, SigtermWhileWaitingForTheNextRunExitsZeroEvenAfterAFailedRun) {
  serve(feed(3, days_ago(2)), {.secret = "the-server-knows-another-token"});
  auto process = start({"run"}, {}, "failed-then-stopped");
  ASSERT_TRUE(process->wait_for_log("Sleeping until next run", 30s)) << process->err();
  EXPECT_NE(process->err().find("revoked or expired"), std::string::npos) << process->err();
  process->signal(SIGTERM);
  EXPECT_EQ(process->wait(5s), 0) << process->err();
}

TEST_F(EndToEnd, SigtermWhileOpenCtiIsUnreachableExitsZero) {
  serve(feed(3, days_ago(2)));
  auto process = start({"run"}, {{"OPENCTI_URL", "http://127.0.0.1:9"}}, "unreachable");
  ASSERT_TRUE(process->wait_for_log("retrying registration", 30s)) << process->err();
  const auto signalled = std::chrono::steady_clock::now();
  process->signal(SIGTERM);
  const auto status = process->wait(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << process->err();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 5s);
}

// Waits that could outlast the 4.5 s forced-exit guard — a page that takes a minute, a Retry-After of a
// minute — end at once on SIGTERM: the process exits 0, not with the guard's 75.
TEST_F(EndToEnd, SigtermEndsASlowPageAndARetryAfterWaitAtOnce) {
  auto& server = serve(feed(30, days_ago(2)));
  server.inject({.kind = testing::FaultKind::Slow, .path_contains = "/objects/", .times = 1, .delay = 60s});
  auto slow = start({"run"}, {}, "slow-page");
  ASSERT_TRUE(wait_until([&] { return !taxii_->requests_to("/objects/").empty(); })) << slow->err();
  slow->signal(SIGTERM);
  EXPECT_EQ(slow->wait(30s), 0) << slow->err();

  server.clear_faults();
  server.inject({.kind = testing::FaultKind::TooManyRequests, .path_contains = "/objects/", .times = 1,
                 .retry_after_seconds = 60});
  auto backing_off = start({"run"}, {}, "retry-after");
  ASSERT_TRUE(backing_off->wait_for_log("Retrying in 60000 ms", 30s)) << backing_off->err();
  backing_off->signal(SIGTERM);
  EXPECT_EQ(backing_off->wait(30s), 0) << backing_off->err();
  // An abandoned wait is an interruption, not a TAXII error of the collection.
  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work && work->processed_message);
  EXPECT_NE(work->processed_message->find("interrupted by SIGTERM"), std::string::npos) << *work->processed_message;
  EXPECT_NE(work->processed_message->find("(not read to the end)"), std::string::npos) << *work->processed_message;
  EXPECT_EQ(work->processed_message->find("stopped by an error"), std::string::npos) << *work->processed_message;
}

TEST_F(EndToEnd, SigtermMidRunDeliversWhatIsInFlightChecksPointsAndExitsZeroWithinFiveSeconds) {
  const auto collections = feed(100, days_ago(2));
  auto& server = serve(collections, slow_pages(250ms));
  slow_down(server, 250ms);
  auto process = start({"run"}, {}, "sigterm");  // the scheduled process, not --once
  ASSERT_TRUE(process->wait_for_log("Reading collection", 30s)) << process->err();
  ASSERT_TRUE(wait_until([&] { return taxii_->requests_to("/objects/").size() >= 3; })) << process->err();
  const auto signalled = std::chrono::steady_clock::now();
  process->signal(SIGTERM);
  const auto status = process->wait(10s);
  const auto took = std::chrono::steady_clock::now() - signalled;
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << process->err();
  EXPECT_LT(took, 5s);

  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work && work->processed_message);
  EXPECT_TRUE(work->in_error);
  EXPECT_NE(work->processed_message->find("interrupted by SIGTERM"), std::string::npos) << *work->processed_message;
  // The final message says what each collection gave.
  EXPECT_NE(work->processed_message->find("TAXII_Demo_IP_Reputation_Data_Feed: "), std::string::npos)
      << *work->processed_message;
  // What was read before the signal (still in the open batch: far fewer than 1000 objects) was
  // delivered, and everything up to the stored cursor was.
  const auto delivered = take_delivered();
  EXPECT_FALSE(delivered.empty());
  expect_checkpoint_covers_only_delivered(collections, "after SIGTERM");
  EXPECT_TRUE(has_cursor(stored_state())) << opencti_->stored_state().value_or("(none)");
  EXPECT_FALSE(stored_state().HasMember("last_added")) << "an interrupted run must not complete the window";
}

TEST_F(EndToEnd, AResetFromTheUiReadsTheHistoryAgain) {
  const auto collections = feed(20, days_ago(2));
  serve(collections);
  auto process = start({"run"}, {{"CONNECTOR_DURATION_PERIOD", "PT1S"}}, "reset");
  ASSERT_TRUE(process->wait_for_log("Connector queued", 30s)) << process->err();
  EXPECT_EQ(take_delivered(), ids_of(collections));
  opencti_->reset_state();
  ASSERT_TRUE(process->wait_for_log("reset in OpenCTI", 30s)) << process->err();
  // The run after the reset reads the whole initial_history again.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::set<std::string> again;
  while (again != ids_of(collections) && std::chrono::steady_clock::now() < deadline) {
    const auto more = take_delivered(300ms);
    again.insert(more.begin(), more.end());
  }
  EXPECT_EQ(again, ids_of(collections)) << "after a reset every object in initial_history comes again";
  process->signal(SIGTERM);
  EXPECT_EQ(process->wait(10s), 0);
}

TEST_F(EndToEnd, ADeletedWorkStopsTheRunAndKeepsNothingOfIt) {
  const auto collections = feed(600, days_ago(2));  // seconds of slow pages after the first checkpoint
  auto& server = serve(collections, slow_pages(60ms));
  slow_down(server, 60ms);
  auto process = start({"run", "--once"}, {}, "cancelled");
  // Delete the work once the run has checkpointed some progress.
  ASSERT_TRUE(wait_until([&] { return has_cursor(stored_state()); })) << process->err();
  opencti_->delete_work(opencti_->last_work_id());
  const auto status = process->wait(30s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1) << process->err();
  EXPECT_NE(process->err().find("is no longer active"), std::string::npos) << process->err();
  EXPECT_FALSE(has_cursor(stored_state())) << "the workers dropped the messages of the deleted work: the run's "
                                              "progress must be rolled back, got "
                                           << opencti_->stored_state().value_or("(none)");
}

TEST_F(EndToEnd, DryRunNeedsNoOpenCtiPrintsObjectsAndWritesNoState) {
  const auto collections = feed(10, days_ago(2));
  serve(collections);
  auto env = environment();
  env.erase("OPENCTI_URL");
  env.erase("OPENCTI_TOKEN");
  env.erase("CONNECTOR_ID");
  env["OPENCTI_JSON_LOGGING"] = "true";
  ConnectorProcess process({"run", "--dry-run"}, env, directory_, "dry");
  ASSERT_EQ(process.wait(60s), 0) << process.err();
  std::size_t lines = 0, indicators = 0;
  std::istringstream out(process.out());
  for (std::string line; std::getline(out, line);) {
    rapidjson::Document object;
    object.Parse(line.c_str());
    ASSERT_FALSE(object.HasParseError()) << "not one JSON object per line: " << line;
    ++lines;
    if (std::string_view(object["type"].GetString()) == "indicator") ++indicators;
  }
  EXPECT_EQ(indicators, 20u);
  EXPECT_GT(lines, indicators);
  EXPECT_NE(process.err().find("dry run"), std::string::npos);  // logs go to stderr
  std::istringstream logs(process.err());
  for (std::string line; std::getline(logs, line);) {  // one JSON object per line (OPENCTI_JSON_LOGGING)
    rapidjson::Document entry;
    entry.Parse(line.c_str());
    ASSERT_TRUE(entry.IsObject() && entry.HasMember("message")) << line;
  }
  EXPECT_EQ(opencti_->count("registerConnector"), 0u);
  EXPECT_EQ(process.out().find(kTaxiiToken), std::string::npos);
}

TEST_F(EndToEnd, DryRunStartsFromTheGivenState) {
  const auto collections = feed(10, days_ago(2));
  serve(collections);
  auto env = environment();
  env.erase("OPENCTI_URL");
  const auto cutoff = std::chrono::duration_cast<std::chrono::seconds>(
                          (days_ago(2) + std::chrono::seconds{5}).time_since_epoch()).count();
  ConnectorProcess process({"run", "--dry-run", "--state", fmt::format(R"({{"last_added": {}}})", cutoff)}, env,
                           directory_, "dry-state");
  ASSERT_EQ(process.wait(60s), 0) << process.err();
  const auto expected = runner::format_seconds(SystemTime{std::chrono::seconds{cutoff}}).substr(0, 19);
  const auto requests = added_after_requests();
  ASSERT_FALSE(requests.empty());
  for (const auto& value : requests) EXPECT_EQ(value.substr(0, 19), expected);
}

TEST_F(EndToEnd, DirectoryOutputWritesBundlesAndAStateFile) {
  const auto collections = feed(15, days_ago(2));
  serve(collections);
  auto env = environment();
  env.erase("OPENCTI_URL");
  env["CONNECTOR_OUTPUT"] = "directory";
  env["CONNECTOR_OUTPUT_DIR"] = (directory_ / "bundles").string();
  std::filesystem::create_directories(directory_ / "bundles");
  ConnectorProcess first({"run", "--once"}, env, directory_, "dir1");
  ASSERT_EQ(first.wait(60s), 0) << first.err();
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory_ / "bundles")) {
    if (entry.path().extension() == ".json") ++files;
  }
  EXPECT_GT(files, 0u);
  ASSERT_TRUE(std::filesystem::exists(directory_ / "bundles" / ".state.json"));
  EXPECT_NE(read_text(directory_ / "bundles" / ".state.json").find("TAXII_Demo_IP_Reputation_Data_Feed"), std::string::npos);
  // The next run starts from the file's cursors, not from initial_history again.
  const auto first_window = added_after_requests().front();
  taxii_->clear_requests();
  env["CONNECTOR_RUN_AND_TERMINATE"] = "true";  // and no command at all: `run` is the default
  ConnectorProcess second({}, env, directory_, "dir2");
  ASSERT_EQ(second.wait(60s), 0) << second.err();
  const auto second_windows = added_after_requests();
  ASSERT_EQ(second_windows.size(), 2u);
  for (const auto& value : second_windows) EXPECT_GT(value, first_window);
}

// The feed objects the reference connector dies on (an orphan created_by_ref, a report naming an
// object nobody sent, a relationship to a missing object, a report naming an indicator by its feed
// id) and two objects with text that is not valid Unicode: the run exits 0, every indicator reaches
// the broker, and what was repaired or dropped is counted in the log and in the run summary.
TEST_F(EndToEnd, BadFeedObjectsAreRepairedOrDroppedAndTheRunSucceeds) {
  auto collections = feed(12, days_ago(2));
  auto& objects = collections[0].objects;
  for (auto& object : testing::dangling_reference_objects(objects.back().date_added, objects[4].id)) {
    objects.push_back(std::move(object));
  }
  testing::prepend_to_description(collections[1].objects[2], "lone \\ud800;");
  testing::prepend_to_description(collections[1].objects[5], "bad \xff;");
  serve(collections);

  const std::string log = run_once_with_summary();
  EXPECT_EQ(take_delivered(), indicator_ids(collections));  // every indicator
  // In the log: once per object, and the run's totals.
  EXPECT_NE(log.find("object malware--00000000-0000-4000-8000-0000000000a1: dropped created_by_ref"), std::string::npos) << log;
  EXPECT_NE(log.find("delivered repaired: 1 invalid Unicode sequence(s) replaced by U+FFFD"), std::string::npos) << log;
  EXPECT_NE(log.find("This run repaired or dropped instead of stopping:"), std::string::npos) << log;
  // In the run summary.
  const auto summary = log.substr(log.find("Repaired or dropped instead of stopping the run"));
  for (const char* kind : {"created_by_ref_dropped", "object_ref_dropped", "relationship_without_end_dropped",
                           "reference_rewritten_to_normalised_id", "feed_object_repaired"}) {
    EXPECT_NE(summary.find(kind), std::string::npos) << kind << " missing from the summary:\n" << summary;
  }
  // And in the work the platform shows.
  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work.has_value());
  EXPECT_FALSE(work->in_error);
  EXPECT_NE(work->processed_message.value_or("").find("repaired or dropped"), std::string::npos);
}

// Feed objects in reference cycles (two malware naming each other as author; a report and a
// relationship naming each other) used to fail staging, and so every run at the same window. Now
// each cycle loses its weakest reference: the run exits 0, every indicator and every object of the
// cycles reaches the broker, and the count is in the log and the run summary.
TEST_F(EndToEnd, ReferenceCyclesAreBrokenAndTheRunSucceeds) {
  auto collections = feed(12, days_ago(2));
  auto& objects = collections[0].objects;
  const auto cycle = testing::reference_cycle_objects(objects.back().date_added);
  for (const auto& object : cycle) objects.push_back(object);
  serve(collections);

  const std::string log = run_once_with_summary();
  EXPECT_EQ(take_delivered(), indicator_ids(collections));  // every indicator
  for (const auto& object : cycle) EXPECT_TRUE(objects_delivered_.contains(object.id)) << object.id << " not delivered";
  EXPECT_NE(log.find("object malware--00000000-0000-4000-8000-0000000000c2: reference cycle broken: dropped "
                     "created_by_ref malware--00000000-0000-4000-8000-0000000000c1"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("object report--00000000-0000-4000-8000-0000000000c3: reference cycle broken: dropped "
                     "object_refs relationship--00000000-0000-4000-8000-0000000000c4"),
            std::string::npos)
      << log;
  const auto summary_at = log.find("Repaired or dropped instead of stopping the run");
  ASSERT_NE(summary_at, std::string::npos) << log;
  EXPECT_NE(log.find("reference_cycle_broken", summary_at), std::string::npos) << log.substr(summary_at);
  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work.has_value());
  EXPECT_FALSE(work->in_error);
}

}  // namespace
}  // namespace kfc::e2e
