// The enrichment connector end to end, as OpenCTI drives it: the test plays the platform (stand-in
// GraphQL server, requests placed on the listen queue of the real RabbitMQ broker, the push queue
// read and checked as OpenCTI's worker does) and OpenTIP (stand-in server).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/fixtures/opentip_server.h"
#include "kfc/fixtures/wait_until.h"
#include "kfc/opentip/enrichment_connector.h"

namespace {

using namespace std::chrono_literals;
using kfc::fixtures::AmqpTestBroker;
using kfc::fixtures::MarkingRecord;
using kfc::fixtures::OpenCtiServer;
using kfc::fixtures::OpenTipServer;
using kfc::fixtures::PushQueue;
using kfc::fixtures::WorkerMessage;
using kfc::fixtures::WorkRecord;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kApiKey = "E2E-OPENTIP-KEY-7c1f93b2d4e6";
constexpr const char* kOpenCtiToken = "e2e-opencti-token-4a8d2f6b";
constexpr const char* kApplicant = "user--analyst-0001";
const MarkingRecord kGreen{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP", "TLP:GREEN"};
const MarkingRecord kRed{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP", "TLP:RED"};

std::string random_uuid() {
  std::random_device device;
  std::mt19937_64 random(device());
  char text[37];
  std::snprintf(text, sizeof text, "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(random()),
                static_cast<unsigned>(random() & 0xffff), static_cast<unsigned>(random() & 0xfff),
                static_cast<unsigned>(random() & 0xfff), static_cast<unsigned long long>(random() & 0xffffffffffffULL));
  return text;
}

std::string file_stix(const std::string& stix_id, const MarkingRecord& marking) {
  return R"({"type":"file","spec_version":"2.1","id":")" + stix_id + R"(","hashes":{"MD5":")" +
         OpenTipServer::kRedMd5 + R"("},"object_marking_refs":[")" + marking.standard_id +
         R"("],"x_opencti_score":50,"labels":["seen-in-phishing"]})";
}

std::string ip_stix(const std::string& stix_id) {
  return R"({"type":"ipv4-addr","spec_version":"2.1","id":")" + stix_id + R"(","value":")" + OpenTipServer::kRedIp +
         R"("})";
}

// A request as the platform puts it on the listen queue (pycti's ListenQueue reads these fields).
std::string enrichment_request(const std::string& work_id, const std::string& entity_id, const std::string& entity_type) {
  return R"({"internal":{"work_id":")" + work_id + R"(","applicant_id":")" + kApplicant +
         R"(","draft_id":""},"event":{"event_type":"INTERNAL_ENRICHMENT","entity_id":")" + entity_id +
         R"(","entity_type":")" + entity_type + R"("}})";
}

std::vector<std::string> strings_of(const rapidjson::Value& object, const char* name) {
  std::vector<std::string> out;
  if (!object.HasMember(name) || !object[name].IsArray()) return out;
  for (const auto& item : object[name].GetArray()) {
    if (item.IsString()) out.emplace_back(item.GetString());
  }
  return out;
}

class EnrichmentE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ();
    broker_ = std::make_unique<AmqpTestBroker>();
    listen_ = broker_->prepare_listen_queue(connector_id_);
    push_ = broker_->prepare_push_queue(connector_id_);
    previous_logger_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("kaspersky-feeds",
                                                   std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }

  void TearDown() override {
    stop();
    if (previous_logger_) spdlog::set_default_logger(previous_logger_);
    if (!HasFailure() && !std::getenv("KFC_SHOW_LOG")) return;
    std::cerr << "connector log:\n" << log_.str();
  }

  kfc::Settings settings() const {
    kfc::Settings s;
    s.opencti.url = opencti_.url();
    s.opencti.token = kfc::Token::from_value("opencti.token", kOpenCtiToken, "OpenCTI");
    s.connector.id = connector_id_;
    s.connector.name = "Kaspersky OpenTIP";
    s.opentip.url = opentip_.base_url();
    s.opentip.api_key = kfc::Token::from_value("opentip.api_key", kApiKey, "OpenTIP");
    s.opentip.allow_insecure_http = true;
    s.opentip.max_requests_per_minute = 0;
    return s;
  }

  void start(const kfc::Settings& s, kfc::Clock* clock = nullptr, int heartbeat_seconds = 10) {
    stop_requested_ = false;
    runner_ = std::thread([this, s, clock, heartbeat_seconds] {
      kfc::opentip::EnrichmentEnvironment environment;
      environment.clock = clock;
      environment.heartbeat_seconds = heartbeat_seconds;
      environment.should_stop = [this] { return stop_requested_.load(); };
      environment.poll_interval = 200ms;
      environment.reconnect_delay = 1s;
      exit_code_ = kfc::opentip::run_enrichment(s, std::move(environment));
    });
  }

  // Stops the connector like SIGTERM; its broker connection closes, unacked requests go back.
  void stop() {
    stop_requested_ = true;
    if (runner_.joinable()) runner_.join();
  }

  // Waits (real time, bounded) until the work was closed `n` times.
  WorkRecord wait_for_processed(const std::string& work_id, int n = 1) {
    const bool processed = kfc::fixtures::wait_until([&] {
      auto work = opencti_.work(work_id);
      return work && work->processed_calls >= n;
    });
    if (!processed) ADD_FAILURE() << "work " << work_id << " was not processed " << n << " time(s)";
    return opencti_.work(work_id).value_or(WorkRecord{});
  }

  std::vector<std::string> processed_messages() const {
    std::vector<std::string> out;
    for (const auto& call : opencti_.calls("toProcessed")) {
      rapidjson::Document variables;
      variables.Parse(call.variables_json.c_str());
      out.push_back(std::string(variables["message"].GetString()) + (variables["inError"].GetBool() ? " [error]" : ""));
    }
    return out;
  }

  void expect_no_secret_anywhere(const std::vector<WorkerMessage>& messages = {}) {
    const std::string log = log_.str();
    EXPECT_THAT(log, Not(HasSubstr(kApiKey)));
    EXPECT_THAT(log, Not(HasSubstr(kOpenCtiToken)));
    for (const auto& message : messages) {
      EXPECT_THAT(message.body, Not(HasSubstr(kApiKey)));
    }
    for (const auto& message : processed_messages()) {
      EXPECT_THAT(message, Not(HasSubstr(kApiKey)));
      EXPECT_THAT(message, Not(HasSubstr(kOpenCtiToken)));
    }
  }

  std::string connector_id_ = random_uuid();
  OpenCtiServer opencti_{{.token = kOpenCtiToken}};
  OpenTipServer opentip_{kApiKey};
  std::unique_ptr<AmqpTestBroker> broker_;
  PushQueue listen_;
  PushQueue push_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
  std::atomic<bool> stop_requested_{false};
  std::thread runner_;
  int exit_code_ = -1;
};

TEST_F(EnrichmentE2E, RegistersAsInternalEnrichmentWithTheOpenTipScope) {
  kfc::Settings s = settings();
  s.opentip.enrichment_scope = "StixFile,Url";
  start(s);
  ASSERT_TRUE(opencti_.wait_for("registerConnector", 1));
  ASSERT_TRUE(opencti_.wait_for("pingConnector", 1));
  stop();
  EXPECT_EQ(exit_code_, 0);
  auto input = opencti_.last_variables("registerConnector");
  EXPECT_STREQ(input["input"]["type"].GetString(), "INTERNAL_ENRICHMENT");
  ASSERT_EQ(input["input"]["scope"].Size(), 2u);
  EXPECT_STREQ(input["input"]["scope"][0].GetString(), "StixFile");
  EXPECT_STREQ(input["input"]["scope"][1].GetString(), "Url");
  // Playbook requests are refused, so the platform must not offer the connector in playbooks.
  ASSERT_TRUE(input["input"].HasMember("playbook_compatible"));
  EXPECT_FALSE(input["input"]["playbook_compatible"].GetBool());
  EXPECT_THAT(log_.str(), HasSubstr("listen_" + connector_id_));
  expect_no_secret_anywhere();
}

TEST_F(EnrichmentE2E, EnrichedBundleComesBackOnThePushQueueAndTheWorkIsProcessed) {
  const std::string file_id = "file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f";
  opencti_.add_observable("internal-file-1", file_stix(file_id, kGreen), {kGreen});
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment request");
  start(settings());
  broker_->publish(listen_, enrichment_request(work_id, "internal-file-1", "StixFile"));

  WorkRecord work = wait_for_processed(work_id);
  auto messages = broker_->take(push_.queue, 3);
  stop();

  // The work: received, then processed without error, with one expectation per pushed message.
  EXPECT_FALSE(work.in_error);
  EXPECT_THAT(work.processed_message.value_or(""), HasSubstr("zone Red (score 100)"));
  EXPECT_THAT(work.received_messages, Contains("Connector ready to process the operation"));
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(work.expectations, 3);
  EXPECT_TRUE(broker_->drain(push_.queue, 300ms).empty());

  // Each message importable by the worker, on behalf of the analyst who asked, for this work.
  const rapidjson::Value* file = nullptr;
  const rapidjson::Value* note = nullptr;
  for (const auto& message : messages) {
    EXPECT_THAT(message.problems({.applicant_id = kApplicant, .work_id = work_id}), ::testing::IsEmpty());
    const auto& object = message.bundle["objects"][0];
    std::string type = object["type"].GetString();
    if (type == "file") file = &object;
    if (type == "note") note = &object;
  }
  ASSERT_NE(file, nullptr);
  EXPECT_STREQ((*file)["id"].GetString(), file_id.c_str());
  EXPECT_EQ((*file)["x_opencti_score"].GetInt(), 100);
  EXPECT_THAT(strings_of(*file, "labels"), Contains("opentip:red"));
  EXPECT_THAT(strings_of(*file, "labels"), Contains("seen-in-phishing"));
  EXPECT_STREQ((*file)["hashes"]["SHA-256"].GetString(), OpenTipServer::kRedSha256);
  EXPECT_EQ((*file)["size"].GetInt(), 68);
  ASSERT_TRUE(file->HasMember("external_references"));
  EXPECT_EQ(std::string((*file)["external_references"][0]["url"].GetString()),
            std::string("https://opentip.kaspersky.com/") + OpenTipServer::kRedMd5 + "/");
  ASSERT_NE(note, nullptr);
  EXPECT_THAT(std::string((*note)["content"].GetString()), HasSubstr("EICAR-Test-File"));
  EXPECT_THAT(strings_of(*note, "object_refs"), Contains(file_id));
  EXPECT_THAT(strings_of(*note, "object_marking_refs"), Contains(kGreen.standard_id));

  // OpenTIP was asked once, with the key; the request was acked (nothing back on the queue).
  ASSERT_EQ(opentip_.request_count(), 1);
  EXPECT_EQ(opentip_.requests()[0].request, OpenTipServer::kRedMd5);
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
  expect_no_secret_anywhere(messages);
}

TEST_F(EnrichmentE2E, QuotaExhaustedMarksTheWorkInErrorAndKeepsTheRequestOnTheQueue) {
  opencti_.add_observable("internal-ip-1", ip_stix("ipv4-addr--1b9a4c2e-3d5f-5a6b-8c7d-9e0f1a2b3c4d"));
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment request");
  const std::string request = enrichment_request(work_id, "internal-ip-1", "IPv4-Addr");
  opentip_.fail_next(403, 1);
  kfc::Settings s = settings();
  s.opentip.quota_cooldown = std::chrono::hours(1);
  start(s);
  broker_->publish(listen_, request);

  WorkRecord work = wait_for_processed(work_id);
  stop();

  EXPECT_TRUE(work.in_error);
  EXPECT_THAT(work.processed_message.value_or(""), HasSubstr("quota"));
  EXPECT_THAT(work.processed_message.value_or(""), HasSubstr("kept on the queue"));
  EXPECT_EQ(opentip_.request_count(), 1);  // no request spent while blocked
  EXPECT_TRUE(broker_->drain(push_.queue, 300ms).empty());
  // The request is still there, unchanged, for when the quota comes back.
  auto left = broker_->take(listen_.queue, 1, 5s);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].body, request);
  EXPECT_TRUE(left[0].redelivered);
  expect_no_secret_anywhere();
}

TEST_F(EnrichmentE2E, RequestKeptForTheQuotaIsEnrichedOnceTheCooldownIsOver) {
  opencti_.add_observable("internal-ip-1", ip_stix("ipv4-addr--1b9a4c2e-3d5f-5a6b-8c7d-9e0f1a2b3c4d"));
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment request");
  opentip_.fail_next(403, 1);
  kfc::Settings s = settings();
  s.opentip.quota_cooldown = std::chrono::minutes(10);
  kfc::ManualClock clock(std::chrono::system_clock::now());  // the pause passes without sleeping
  start(s, &clock);
  broker_->publish(listen_, enrichment_request(work_id, "internal-ip-1", "IPv4-Addr"));

  WorkRecord work = wait_for_processed(work_id, 2);
  auto messages = broker_->take(push_.queue, 3);
  stop();

  auto closed = processed_messages();
  ASSERT_GE(closed.size(), 2u);
  EXPECT_THAT(closed[0], HasSubstr("quota"));
  EXPECT_THAT(closed[0], HasSubstr("[error]"));
  EXPECT_THAT(closed.back(), HasSubstr("zone Red"));
  EXPECT_FALSE(work.in_error);
  EXPECT_GE(clock.slept(), std::chrono::minutes(10));
  EXPECT_EQ(opentip_.request_count(), 2);
  ASSERT_FALSE(messages.empty());
  for (const auto& message : messages) {
    EXPECT_THAT(message.problems({.applicant_id = kApplicant, .work_id = work_id}), ::testing::IsEmpty());
  }
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
  expect_no_secret_anywhere(messages);
}

// opentip.max_requests_per_minute holds across requests: one client serves the whole process.
TEST_F(EnrichmentE2E, RateLimitHoldsAcrossEnrichmentRequests) {
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  opencti_.add_observable("internal-ip-1", ip_stix("ipv4-addr--1b9a4c2e-3d5f-5a6b-8c7d-9e0f1a2b3c4d"));
  const std::string file_work = opencti_.add_work(connector_id_, "File enrichment");
  const std::string ip_work = opencti_.add_work(connector_id_, "IP enrichment");
  kfc::Settings s = settings();
  s.opentip.max_requests_per_minute = 1;
  kfc::ManualClock clock(std::chrono::system_clock::now());  // the wait passes without sleeping
  start(s, &clock);
  broker_->publish(listen_, enrichment_request(file_work, "internal-file-1", "StixFile"));
  broker_->publish(listen_, enrichment_request(ip_work, "internal-ip-1", "IPv4-Addr"));

  WorkRecord file = wait_for_processed(file_work);
  WorkRecord ip = wait_for_processed(ip_work);
  stop();

  EXPECT_FALSE(file.in_error);
  EXPECT_FALSE(ip.in_error);
  EXPECT_EQ(opentip_.request_count(), 2);
  EXPECT_GE(clock.slept(), std::chrono::seconds(60));  // the second lookup waited for the minute to pass
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
}

// After a 403 no request is spent until the cool-down ends — neither for the requests behind it nor
// after a restart, when opentip.cache_dir keeps the block.
TEST_F(EnrichmentE2E, QuotaBlockHoldsForLaterRequestsAndAcrossARestart) {
  auto cache_dir = std::filesystem::temp_directory_path() / ("kfc-enrich-cache-" + connector_id_);
  opencti_.add_observable("internal-ip-1", ip_stix("ipv4-addr--1b9a4c2e-3d5f-5a6b-8c7d-9e0f1a2b3c4d"));
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  const std::string ip_work = opencti_.add_work(connector_id_, "IP enrichment");
  const std::string file_work = opencti_.add_work(connector_id_, "File enrichment");
  opentip_.fail_next(403, 1);
  kfc::Settings s = settings();
  s.opentip.quota_cooldown = std::chrono::hours(1);
  s.opentip.cache_dir = cache_dir.string();
  start(s);
  broker_->publish(listen_, enrichment_request(ip_work, "internal-ip-1", "IPv4-Addr"));
  broker_->publish(listen_, enrichment_request(file_work, "internal-file-1", "StixFile"));
  wait_for_processed(ip_work);
  // The next request must not be looked up: nothing more reaches OpenTIP while the block holds.
  EXPECT_TRUE(kfc::fixtures::stays_true([&] { return opentip_.request_count() == 1; }, 1s));
  stop();
  EXPECT_EQ(opentip_.request_count(), 1);
  EXPECT_FALSE(opencti_.work(file_work)->processed_calls > 0);

  start(s);  // a new process: the block comes from the cache directory
  WorkRecord ip = wait_for_processed(ip_work, 2);
  stop();
  std::filesystem::remove_all(cache_dir);

  EXPECT_TRUE(ip.in_error);
  EXPECT_THAT(ip.processed_message.value_or(""), HasSubstr("quota"));
  EXPECT_EQ(opentip_.request_count(), 1);
  EXPECT_TRUE(broker_->drain(push_.queue, 300ms).empty());
  EXPECT_EQ(broker_->depth(listen_.queue), 2u);  // both still waiting for the quota
  expect_no_secret_anywhere();
}

// A lookup that outlasts the AMQP heartbeat (here a 1 s heartbeat and a 5 s OpenTIP answer): the
// consumer keeps the connection alive meanwhile, so the broker does not hand the request out again.
TEST_F(EnrichmentE2E, LongLookupIsHandledOnceWhileTheConnectionIsKeptAlive) {
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment request");
  opentip_.set_delay(5s);
  start(settings(), nullptr, /*heartbeat_seconds=*/1);
  broker_->publish(listen_, enrichment_request(work_id, "internal-file-1", "StixFile"));

  WorkRecord work = wait_for_processed(work_id);
  auto messages = broker_->take(push_.queue, 3);
  // A redelivered request would be handled a second time within a few heartbeats.
  EXPECT_TRUE(kfc::fixtures::stays_true([&] { return opencti_.work(work_id)->processed_calls == 1; }, 3s));
  stop();

  EXPECT_FALSE(work.in_error);
  EXPECT_EQ(opencti_.work(work_id)->processed_calls, 1);
  EXPECT_EQ(messages.size(), 3u);
  EXPECT_TRUE(broker_->drain(push_.queue, 300ms).empty());
  EXPECT_EQ(opentip_.request_count(), 1);
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
  EXPECT_THAT(log_.str(), Not(HasSubstr("reconnecting")));
}

// SIGTERM while a request waits for the rate limit: the wait is abandoned, no request is spent, the
// request goes back to the queue and its work says why.
TEST_F(EnrichmentE2E, StopDuringARateLimitWaitPutsTheRequestBack) {
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  opencti_.add_observable("internal-ip-1", ip_stix("ipv4-addr--1b9a4c2e-3d5f-5a6b-8c7d-9e0f1a2b3c4d"));
  const std::string file_work = opencti_.add_work(connector_id_, "File enrichment");
  const std::string ip_work = opencti_.add_work(connector_id_, "IP enrichment");
  const std::string ip_request = enrichment_request(ip_work, "internal-ip-1", "IPv4-Addr");
  kfc::Settings s = settings();
  s.opentip.max_requests_per_minute = 1;  // real clock: the second lookup would wait a minute
  start(s);
  broker_->publish(listen_, enrichment_request(file_work, "internal-file-1", "StixFile"));
  broker_->publish(listen_, ip_request);
  wait_for_processed(file_work);
  // The second request has read its entity: its lookup waits for the rate limit, or is about to
  // (the first wait of a stopping connector is abandoned at once: either way the same outcome).
  ASSERT_TRUE(opencti_.wait_for("stixCyberObservable", 2));
  stop();

  EXPECT_EQ(exit_code_, 0);
  EXPECT_EQ(opentip_.request_count(), 1);
  auto ip = opencti_.work(ip_work);
  ASSERT_TRUE(ip.has_value());
  EXPECT_TRUE(ip->in_error);
  EXPECT_THAT(ip->processed_message.value_or(""), HasSubstr("stopping"));
  auto left = broker_->take(listen_.queue, 1, 5s);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].body, ip_request);
}

TEST_F(EnrichmentE2E, OutOfScopeAndOverTlpRequestsAreAckedWithTheReason) {
  opencti_.add_observable("internal-ip-1", ip_stix("ipv4-addr--1b9a4c2e-3d5f-5a6b-8c7d-9e0f1a2b3c4d"));
  opencti_.add_observable("internal-file-red", file_stix("file--9e8d7c6b-5a4f-5e3d-8c2b-1a0f9e8d7c6b", kRed), {kRed});
  const std::string ip_work = opencti_.add_work(connector_id_, "IP enrichment");
  const std::string red_work = opencti_.add_work(connector_id_, "File enrichment");
  const std::string missing_work = opencti_.add_work(connector_id_, "Missing entity");
  kfc::Settings s = settings();
  s.opentip.enrichment_scope = "StixFile";
  s.opentip.max_tlp = "TLP:AMBER";
  start(s);
  broker_->publish(listen_, enrichment_request(ip_work, "internal-ip-1", "IPv4-Addr"));
  broker_->publish(listen_, enrichment_request(red_work, "internal-file-red", "StixFile"));
  broker_->publish(listen_, enrichment_request(missing_work, "internal-gone", "StixFile"));
  broker_->publish(listen_, "this is not JSON");

  WorkRecord ip = wait_for_processed(ip_work);
  WorkRecord red = wait_for_processed(red_work);
  WorkRecord missing = wait_for_processed(missing_work);
  // The last (bad) message is handled once the queue holds nothing, unacknowledged ones included.
  EXPECT_TRUE(kfc::fixtures::wait_until([&] { return kfc::fixtures::messages_including_unacked(listen_.queue) == 0u; }));
  stop();

  EXPECT_TRUE(ip.in_error);
  EXPECT_THAT(ip.processed_message.value_or(""), HasSubstr("IPv4-Addr is not in opentip.enrichment_scope"));
  EXPECT_TRUE(red.in_error);
  EXPECT_THAT(red.processed_message.value_or(""), HasSubstr("TLP:RED"));
  EXPECT_THAT(red.processed_message.value_or(""), HasSubstr("opentip.max_tlp"));
  EXPECT_TRUE(missing.in_error);
  EXPECT_THAT(missing.processed_message.value_or(""), HasSubstr("Unable to read/access to the entity"));
  EXPECT_EQ(opentip_.request_count(), 0);  // nothing spent on refused requests
  EXPECT_EQ(opencti_.count("stixCyberObservable"), 2u);  // the out-of-scope type was refused before reading
  EXPECT_TRUE(broker_->drain(push_.queue, 300ms).empty());
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);  // all acked: they are refused for good
  EXPECT_THAT(log_.str(), HasSubstr("not a JSON object"));
  expect_no_secret_anywhere();
}

TEST_F(EnrichmentE2E, RequestWithoutWorkGetsItsOwnWork) {
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  start(settings());
  broker_->publish(listen_, enrichment_request("", "internal-file-1", "StixFile"));
  ASSERT_TRUE(opencti_.wait_for("workAdd", 1, 20s));
  const std::string work_id = opencti_.last_work_id();
  WorkRecord work = wait_for_processed(work_id);
  auto messages = broker_->take(push_.queue, 3);
  stop();
  EXPECT_FALSE(work.in_error);
  EXPECT_THAT(work.friendly_name, HasSubstr("internal-file-1"));
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_THAT(messages[0].problems({.applicant_id = kApplicant, .work_id = work_id}), ::testing::IsEmpty());
}

TEST_F(EnrichmentE2E, QueueProtocolApiPushesTheBundleThroughGraphql) {
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment request");
  kfc::Settings s = settings();
  s.connector.queue_protocol = kfc::QueueProtocol::Api;
  start(s);
  broker_->publish(listen_, enrichment_request(work_id, "internal-file-1", "StixFile"));
  WorkRecord work = wait_for_processed(work_id);
  stop();
  EXPECT_FALSE(work.in_error);
  auto pushed = opencti_.pushed_bundles();
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].work_id, work_id);
  EXPECT_THAT(pushed[0].bundle_json, HasSubstr("opentip:red"));
  EXPECT_TRUE(broker_->drain(push_.queue, 300ms).empty());
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
}

}  // namespace

// `kaspersky-feeds-connector enrich` as deployed: the built binary configured through the environment,
// stopped with SIGTERM. Its whole output is checked for secrets.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

class EnrichCommand : public EnrichmentE2E {
 protected:
  // Starts the binary with only the environment a deployment would give it (no config.yml).
  // `command` empty: no command at all (what a container's default entry point runs).
  pid_t launch(const std::filesystem::path& output, const std::string& command = "enrich",
               const std::vector<std::string>& extra_environment = {}) {
    std::vector<std::string> environment = {
        "PATH=/usr/bin:/bin",
        "OPENCTI_URL=" + opencti_.url(),
        std::string("OPENCTI_TOKEN=") + kOpenCtiToken,
        "CONNECTOR_ID=" + connector_id_,
        "CONNECTOR_NAME=Kaspersky OpenTIP",
        "CONNECTOR_LOG_LEVEL=info",
        "OPENTIP_URL=" + opentip_.base_url(),
        std::string("OPENTIP_API_KEY=") + kApiKey,
        "OPENTIP_ALLOW_INSECURE_HTTP=true",
        "OPENTIP_MAX_REQUESTS_PER_MINUTE=600",
    };
    environment.insert(environment.end(), extra_environment.begin(), extra_environment.end());
    pid_t pid = fork();
    if (pid == 0) {
      int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      ::chdir(std::filesystem::temp_directory_path().c_str());
      std::vector<char*> envp;
      for (auto& entry : environment) envp.push_back(entry.data());
      envp.push_back(nullptr);
      std::string command_argument = command;
      char* argv[] = {const_cast<char*>(KFC_CONNECTOR_BINARY), command_argument.empty() ? nullptr : command_argument.data(),
                      nullptr};
      execve(KFC_CONNECTOR_BINARY, argv, envp.data());
      _exit(127);
    }
    return pid;
  }

  void expect_enrichment_round_trip(const std::string& command, const std::vector<std::string>& extra_environment);

  static int terminate(pid_t pid) {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

TEST_F(EnrichCommand, EnrichesFromTheQueueAndStopsCleanlyWithoutPrintingSecrets) {
  expect_enrichment_round_trip("enrich", {});
}

// A deployment switches the default `run` to enrichment with CONNECTOR_TYPE alone, as OpenCTI's
// enrichment connectors are configured; the TAXII token is not needed for it.
TEST_F(EnrichCommand, DefaultCommandEnrichesWhenTheConnectorTypeIsInternalEnrichment) {
  expect_enrichment_round_trip("", {"CONNECTOR_TYPE=INTERNAL_ENRICHMENT"});
}

void EnrichCommand::expect_enrichment_round_trip(const std::string& command,
                                                 const std::vector<std::string>& extra_environment) {
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment request");
  auto output = std::filesystem::temp_directory_path() / ("kfc-enrich-" + connector_id_ + ".log");
  pid_t pid = launch(output, command, extra_environment);
  ASSERT_GT(pid, 0);
  broker_->publish(listen_, enrichment_request(work_id, "internal-file-1", "StixFile"));
  WorkRecord work = wait_for_processed(work_id);
  auto messages = broker_->take(push_.queue, 3);
  int exit_code = terminate(pid);

  std::ifstream file(output);
  std::string printed((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::filesystem::remove(output);
  EXPECT_EQ(exit_code, 0) << printed;
  EXPECT_FALSE(work.in_error) << printed;
  EXPECT_EQ(messages.size(), 3u);
  EXPECT_THAT(printed, HasSubstr("Enrichment of internal-file-1 done"));
  EXPECT_THAT(printed, Not(HasSubstr(kApiKey)));
  EXPECT_THAT(printed, Not(HasSubstr(kOpenCtiToken)));
  auto input = opencti_.last_variables("registerConnector");
  ASSERT_TRUE(input.IsObject()) << printed;
  EXPECT_STREQ(input["input"]["type"].GetString(), "INTERNAL_ENRICHMENT");
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
}

}  // namespace
