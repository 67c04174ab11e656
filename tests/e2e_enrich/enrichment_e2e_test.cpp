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
#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/fixtures/opentip_server.h"
#include "kfc/fixtures/tcp_proxy.h"
#include "kfc/fixtures/wait_until.h"
#include "kfc/opentip/enrichment_connector.h"

#include <httplib.h>

#include <fstream>

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
  // connector.playbook_compatible is off by default: the platform must not offer it in playbooks.
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
  // The request is still there, unchanged, for when the quota comes back: a copy at the back of the
  // queue (the original was acked), not the original nacked to the head.
  auto left = broker_->take(listen_.queue, 1, 5s);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].body, request);
  EXPECT_FALSE(left[0].redelivered);
  EXPECT_TRUE(left[0].has_headers);
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

  // A new process: the block comes from the cache directory. The blocked IP request went to the back
  // of the queue, so the file request comes first now, and is held by the block too.
  start(s);
  WorkRecord file = wait_for_processed(file_work);
  stop();
  std::filesystem::remove_all(cache_dir);

  EXPECT_TRUE(file.in_error);
  EXPECT_THAT(file.processed_message.value_or(""), HasSubstr("quota"));
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

// A request OpenTIP fails on every time (a persistent 5xx for this value): tried at most
// opentip.max_delivery_attempts times, each time going to the back of the queue, so the good request
// behind it is enriched meanwhile; then acked with its work in error saying it was given up.
TEST_F(EnrichmentE2E, APoisonRequestIsTriedAtMostMaxAttemptsAndTheOneBehindItIsEnrichedMeanwhile) {
  constexpr const char* kPoisonIp = "198.51.100.7";
  opencti_.add_observable("internal-ip-poison", R"({"type":"ipv4-addr","spec_version":"2.1",)"
                                                R"("id":"ipv4-addr--7e0f1a2b-3c4d-5e6f-8a9b-0c1d2e3f4a5b","value":")" +
                                                    std::string(kPoisonIp) + R"("})");
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  opentip_.set_answer("ip", kPoisonIp, R"({"error": "Server error"})", 500);
  const std::string poison_work = opencti_.add_work(connector_id_, "Poison");
  const std::string good_work = opencti_.add_work(connector_id_, "Good");
  kfc::ManualClock clock(std::chrono::system_clock::now());  // backoff and pauses pass without sleeping
  start(settings(), &clock);
  broker_->publish(listen_, enrichment_request(poison_work, "internal-ip-poison", "IPv4-Addr"));
  broker_->publish(listen_, enrichment_request(good_work, "internal-file-1", "StixFile"));

  WorkRecord poison = wait_for_processed(poison_work, 3);
  WorkRecord good = wait_for_processed(good_work);
  // A fourth try would be a copy queued before the third was acked: a request published now comes
  // after it, so once this one is closed the queue holds no try of the poison request any more.
  const std::string after_work = opencti_.add_work(connector_id_, "After");
  broker_->publish(listen_, enrichment_request(after_work, "internal-gone", "StixFile"));
  wait_for_processed(after_work);
  stop();

  EXPECT_FALSE(good.in_error) << good.processed_message.value_or("");
  EXPECT_TRUE(poison.in_error);
  EXPECT_THAT(poison.processed_message.value_or(""), HasSubstr("given up after 3 attempts"));
  EXPECT_EQ(opencti_.work(poison_work)->processed_calls, 3);
  // The good request did not wait for the poison one to be given up.
  const auto closed = processed_messages();
  std::size_t good_at = closed.size(), last_poison_at = 0;
  for (std::size_t i = 0; i < closed.size(); ++i) {
    if (closed[i].find("zone Red") != std::string::npos) good_at = i;
    if (closed[i].find("given up") != std::string::npos) last_poison_at = i;
  }
  EXPECT_LT(good_at, last_poison_at) << ::testing::PrintToString(closed);
  EXPECT_THAT(closed[0], HasSubstr("attempt 1 of 3"));
  EXPECT_EQ(opencti_.count("stixCyberObservable"), 5u);  // 3 tries of the poison, the good one, the one after
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
  expect_no_secret_anywhere();
}

// Nesting a million levels deep, in a listen-queue message, in OpenCTI's answer, in the entity's
// export and in OpenTIP's answer: an error for that request, the connector alive, the next enriched.
TEST_F(EnrichmentE2E, AMillionNestedArraysAnywhereFailsOnlyThatRequest) {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  constexpr const char* kDeepIp = "198.51.100.9";
  opencti_.add_observable("internal-ip-deep", R"({"type":"ipv4-addr","spec_version":"2.1",)"
                                              R"("id":"ipv4-addr--1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d","value":")" +
                                                  std::string(kDeepIp) + R"("})");
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  opentip_.set_answer("ip", kDeepIp, deep);
  const std::string graphql_work = opencti_.add_work(connector_id_, "Deep GraphQL answer");
  const std::string export_work = opencti_.add_work(connector_id_, "Deep toStix");
  const std::string opentip_work = opencti_.add_work(connector_id_, "Deep OpenTIP answer");
  const std::string good_work = opencti_.add_work(connector_id_, "Good");
  // The first entity read is answered with deep JSON, the second with an export nested as deep.
  opencti_.answer_next("stixCyberObservable", 1, R"({"data":{"stixCyberObservable":)" + deep + "}}");
  start(settings());
  broker_->publish(listen_, deep);
  broker_->publish(listen_, enrichment_request(graphql_work, "internal-file-1", "StixFile"));
  ASSERT_TRUE(opencti_.wait_for("stixCyberObservable", 1, 20s));
  opencti_.answer_next("stixCyberObservable", 1,
                       R"({"data":{"stixCyberObservable":{"id":"x","standard_id":"file--5d0c6a1e-8f3b-5c2d-9e4f-)"
                       R"(1a2b3c4d5e6f","entity_type":"StixFile","objectMarking":[],"toStix":")" +
                           std::string(1'000'000, '[') + std::string(1'000'000, ']') + R"("}}})");
  broker_->publish(listen_, enrichment_request(export_work, "internal-file-1", "StixFile"));
  broker_->publish(listen_, enrichment_request(opentip_work, "internal-ip-deep", "IPv4-Addr"));
  broker_->publish(listen_, enrichment_request(good_work, "internal-file-1", "StixFile"));

  WorkRecord graphql = wait_for_processed(graphql_work);
  WorkRecord exported = wait_for_processed(export_work);
  WorkRecord from_opentip = wait_for_processed(opentip_work);
  WorkRecord good = wait_for_processed(good_work);
  stop();

  EXPECT_EQ(exit_code_, 0);
  EXPECT_TRUE(graphql.in_error);
  EXPECT_THAT(graphql.processed_message.value_or(""), HasSubstr("nested deeper than 64 levels"));
  EXPECT_TRUE(exported.in_error);
  EXPECT_THAT(exported.processed_message.value_or(""), HasSubstr("nested deeper than 64 levels"));
  EXPECT_TRUE(from_opentip.in_error);
  EXPECT_THAT(from_opentip.processed_message.value_or(""), HasSubstr("nested deeper than 64 levels"));
  EXPECT_FALSE(good.in_error) << good.processed_message.value_or("");
  EXPECT_THAT(log_.str(), HasSubstr("enrichment request is not a JSON object (nested deeper than 64 levels"));
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
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

// A request that kills the process every time it is handled (here: kill -9 while it waits for
// OpenTIP) is handled at most opentip.max_delivery_attempts times across restarts, then acked with
// its work in error: the broker's redelivered flag and a counter on the requeued copies survive the
// restarts, so the crash loop ends.
TEST_F(EnrichCommand, ARequestThatKillsTheProcessIsGivenUpAfterMaxAttempts) {
  opencti_.add_observable("internal-file-1", file_stix("file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", kGreen), {kGreen});
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment request");
  opentip_.set_delay(8s);  // the process is inside the lookup when it is killed
  const auto output = std::filesystem::temp_directory_path() / ("kfc-enrich-crash-" + connector_id_ + ".log");
  broker_->publish(listen_, enrichment_request(work_id, "internal-file-1", "StixFile"));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    pid_t pid = launch(output, "enrich", {"OPENTIP_MAX_DELIVERY_ATTEMPTS=3"});
    ASSERT_GT(pid, 0);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (opentip_.request_count() < attempt && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ASSERT_EQ(opentip_.request_count(), attempt) << "attempt " << attempt << " did not reach OpenTIP";
  }
  pid_t pid = launch(output, "enrich", {"OPENTIP_MAX_DELIVERY_ATTEMPTS=3"});
  WorkRecord work = wait_for_processed(work_id);
  // A fourth try would come before a request published now (and this one needs no OpenTIP lookup).
  const std::string after_work = opencti_.add_work(connector_id_, "After");
  broker_->publish(listen_, enrichment_request(after_work, "internal-gone", "StixFile"));
  wait_for_processed(after_work);
  const int exit_code = terminate(pid);
  std::ifstream file(output);
  const std::string printed((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::filesystem::remove(output);

  EXPECT_EQ(exit_code, 0) << printed;
  EXPECT_EQ(opentip_.request_count(), 3);  // not a fourth time
  EXPECT_TRUE(work.in_error) << printed;
  EXPECT_THAT(work.processed_message.value_or(""), HasSubstr("abandoned after 3 attempts"));
  EXPECT_THAT(work.processed_message.value_or(""), HasSubstr("stopped"));
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
  EXPECT_THAT(printed, Not(HasSubstr(kApiKey)));
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

// ---- automatic enrichment, playbooks, drafts, organisations, key rotation, metrics and health ----

int free_port() { return kfc::fixtures::free_tcp_port(); }

std::string http_get(int port, const std::string& path, int* status = nullptr) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1s);
  client.set_read_timeout(5s);
  std::optional<httplib::Response> response;
  // The server may still be starting.
  const bool answered = kfc::fixtures::wait_until([&] {
    if (auto result = client.Get(path)) response = *result;
    return response.has_value();
  }, 60s, 100ms);
  if (!answered) {
    ADD_FAILURE() << "nothing answers on port " << port;
    return {};
  }
  if (status) *status = response->status;
  return response->body;
}

std::string playbook_request(const std::string& work_id, const std::string& entity_stix_id,
                             const std::string& objects_json) {
  return R"({"internal":{"work_id":")" + work_id + R"(","applicant_id":")" + kApplicant +
         R"(","playbook":{"execution_id":"exec-1","event_id":"event-1","playbook_id":"playbook-1",)"
         R"("data_instance_id":"instance-1","step_id":"step-2","previous_step_id":"step-1"}},)"
         R"("event":{"entity_id":")" + entity_stix_id + R"(","entity_type":"StixFile","bundle":{"type":"bundle",)"
         R"("id":"bundle--0b3c2f1e-7f0e-4a51-9b7c-2d9e8f6a5b4c","objects":)" + objects_json + "}}}";
}

TEST_F(EnrichmentE2E, AutomaticEnrichmentIsRegisteredAndItsRequestsEnriched) {
  const std::string ip_id = "ipv4-addr--6d3a2b1c-4e5f-5a6b-9c7d-8e9f0a1b2c3d";
  opencti_.add_observable("internal-ip-auto", ip_stix(ip_id));
  kfc::Settings s = settings();
  s.connector.auto_enrich = true;
  start(s);
  ASSERT_TRUE(opencti_.wait_for("registerConnector", 1));
  auto input = opencti_.last_variables("registerConnector");
  EXPECT_TRUE(input["input"]["auto"].GetBool());
  // What the platform sends for an observable created in scope: a request with its own work.
  const std::string work_id = opencti_.add_work(connector_id_, "Automatic enrichment");
  broker_->publish(listen_, enrichment_request(work_id, "internal-ip-auto", "IPv4-Addr"));
  WorkRecord work = wait_for_processed(work_id);
  auto messages = broker_->take(push_.queue, 1);
  stop();
  EXPECT_FALSE(work.in_error) << work.processed_message.value_or("");
  ASSERT_FALSE(messages.empty());
  EXPECT_THAT(messages[0].problems({.applicant_id = kApplicant, .work_id = work_id}), ::testing::IsEmpty());
}

TEST_F(EnrichmentE2E, APlaybookStepGetsTheEnrichedBundleBack) {
  const std::string file_id = "file--7a1b2c3d-4e5f-5a6b-8c7d-9e0f1a2b3c4d";
  const std::string objects = "[" + file_stix(file_id, kGreen) +
                              R"(,{"type":"marking-definition","spec_version":"2.1","id":")" + kGreen.standard_id +
                              R"(","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}])";
  kfc::Settings s = settings();
  s.connector.playbook_compatible = true;
  const std::string work_id = opencti_.add_work(connector_id_, "Playbook step");
  start(s);
  ASSERT_TRUE(opencti_.wait_for("registerConnector", 1));
  EXPECT_TRUE(opencti_.last_variables("registerConnector")["input"]["playbook_compatible"].GetBool());
  broker_->publish(listen_, playbook_request(work_id, file_id, objects));
  WorkRecord work = wait_for_processed(work_id);
  ASSERT_TRUE(opencti_.wait_for("playbookStepExecution", 1));
  stop();
  EXPECT_FALSE(work.in_error) << work.processed_message.value_or("");
  auto step = opencti_.last_variables("playbookStepExecution");
  EXPECT_STREQ(step["step_id"].GetString(), "step-2");
  EXPECT_STREQ(step["previous_step_id"].GetString(), "step-1");
  EXPECT_STREQ(step["execution_id"].GetString(), "exec-1");
  EXPECT_STREQ(step["playbook_id"].GetString(), "playbook-1");
  rapidjson::Document previous;
  previous.Parse(step["previous_bundle"].GetString());
  ASSERT_TRUE(previous.IsObject());
  EXPECT_EQ(previous["objects"].Size(), 2u);
  rapidjson::Document bundle;
  bundle.Parse(step["bundle"].GetString());
  ASSERT_TRUE(bundle.IsObject() && bundle["objects"].IsArray()) << step["bundle"].GetString();
  EXPECT_STREQ(bundle["type"].GetString(), "bundle");
  const rapidjson::Value* file = nullptr;
  bool marking_kept = false, note = false;
  for (const auto& object : bundle["objects"].GetArray()) {
    if (std::string(object["id"].GetString()) == file_id) file = &object;
    if (std::string(object["id"].GetString()) == kGreen.standard_id) marking_kept = true;
    if (std::string(object["type"].GetString()) == "note") note = true;
  }
  ASSERT_NE(file, nullptr);
  EXPECT_EQ((*file)["x_opencti_score"].GetInt(), 100);
  EXPECT_THAT(strings_of(*file, "labels"), Contains("opentip:red"));
  EXPECT_TRUE(marking_kept) << "the playbook's other objects go on with the entity";
  EXPECT_TRUE(note);
  // The result went to the playbook, not to the import queue.
  EXPECT_TRUE(broker_->drain(push_.queue, 300ms).empty());
  EXPECT_EQ(broker_->depth(listen_.queue), 0u);
  expect_no_secret_anywhere();
}

TEST_F(EnrichmentE2E, PlaybookRequestsAreRefusedWhenPlaybooksAreOff) {
  const std::string file_id = "file--8b2c3d4e-5f6a-5b7c-8d9e-0f1a2b3c4d5e";
  const std::string work_id = opencti_.add_work(connector_id_, "Playbook step");
  start(settings());
  broker_->publish(listen_, playbook_request(work_id, file_id, "[" + file_stix(file_id, kGreen) + "]"));
  WorkRecord work = wait_for_processed(work_id);
  stop();
  EXPECT_TRUE(work.in_error);
  EXPECT_THAT(work.processed_message.value_or(""), HasSubstr("connector.playbook_compatible is false"));
  EXPECT_EQ(opencti_.count("playbookStepExecution"), 0u);
  EXPECT_EQ(opentip_.request_count(), 0);
}

TEST_F(EnrichmentE2E, DraftAndOrganisationSharingArePassedThrough) {
  const std::string ip_id = "ipv4-addr--7e4b3c2d-5f6a-5b7c-8d9e-0f1a2b3c4d5e";
  const std::string shared = R"({"type":"ipv4-addr","spec_version":"2.1","id":")" + ip_id + R"(","value":")" +
                             OpenTipServer::kRedIp + R"(","x_opencti_granted_refs":["identity--0rg-a"]})";
  opencti_.add_observable("internal-ip-draft", shared);
  const std::string work_id = opencti_.add_work(connector_id_, "Enrichment in a draft");
  std::string request = enrichment_request(work_id, "internal-ip-draft", "IPv4-Addr");
  request.replace(request.find(R"("draft_id":"")"), 13, R"("draft_id":"draft-42")");
  start(settings());
  broker_->publish(listen_, request);
  WorkRecord work = wait_for_processed(work_id);
  auto messages = broker_->take(push_.queue, 1);
  stop();
  EXPECT_FALSE(work.in_error) << work.processed_message.value_or("");
  ASSERT_FALSE(messages.empty());
  for (const auto& message : messages) {
    EXPECT_THAT(message.problems({.applicant_id = kApplicant, .work_id = work_id, .draft_id = "draft-42"}),
                ::testing::IsEmpty());
    const auto& object = message.bundle["objects"][0];
    if (std::string(object["type"].GetString()) == "identity") continue;  // the author
    EXPECT_THAT(strings_of(object, "x_opencti_granted_refs"), Contains("identity--0rg-a")) << message.body;
  }
  // The entity was read inside the draft.
  auto reads = opencti_.calls("stixCyberObservable");
  ASSERT_FALSE(reads.empty());
  EXPECT_EQ(reads.back().headers["opencti-draft-id"], "draft-42");
  // The work is closed from inside the draft too, as pycti does.
  EXPECT_EQ(opencti_.calls("toProcessed").back().headers["opencti-draft-id"], "draft-42");
}

TEST_F(EnrichmentE2E, TheKeyFileIsReadAgainBeforeEachRequest) {
  const auto key_file = std::filesystem::temp_directory_path() / ("kfc-opentip-key-" + connector_id_);
  std::ofstream(key_file) << kApiKey << "\n";
  kfc::TokenSpec spec{.key = "opentip.api_key", .env_name = "OPENTIP_API_KEY", .server = "OpenTIP",
                      .origin = kfc::TokenOrigin::File, .value = {}, .file_path = key_file.string(),
                      .expires_at = std::chrono::system_clock::now() + std::chrono::days(200), .issued_at = {}};
  kfc::Settings s = settings();
  s.opentip.api_key = std::make_shared<kfc::Token>(spec);
  s.opentip.cache_ttl = std::chrono::seconds(0);
  s.connector.expose_metrics = true;
  s.connector.metrics_port = free_port();
  opencti_.add_observable("internal-ip-rot", ip_stix("ipv4-addr--8f5c4d3e-6a7b-5c8d-9e0f-1a2b3c4d5e6f"));
  start(s);
  const std::string first = opencti_.add_work(connector_id_, "Before rotation");
  broker_->publish(listen_, enrichment_request(first, "internal-ip-rot", "IPv4-Addr"));
  EXPECT_FALSE(wait_for_processed(first).in_error);

  // The key is replaced on the portal and in the secret file; the old one stops working.
  const std::string rotated = "ROTATED-OPENTIP-KEY-5b9e2d";
  opentip_.set_api_key(rotated);
  std::ofstream(key_file, std::ios::trunc) << rotated << "\n";
  const std::string second = opencti_.add_work(connector_id_, "After rotation");
  broker_->publish(listen_, enrichment_request(second, "internal-ip-rot", "IPv4-Addr"));
  WorkRecord work = wait_for_processed(second);
  // The counts are updated right after the work is closed.
  std::string metrics;
  kfc::fixtures::wait_until([&] {
    metrics = http_get(s.connector.metrics_port, "/metrics");
    return metrics.find("kfc_enrichment_requests_total{outcome=\"enriched\"} 2") != std::string::npos;
  }, 60s, 50ms);
  int health_status = 0;
  const std::string health = http_get(s.connector.metrics_port, "/healthz", &health_status);
  stop();
  std::filesystem::remove(key_file);
  EXPECT_FALSE(work.in_error) << work.processed_message.value_or("");
  ASSERT_EQ(opentip_.request_count(), 2);
  EXPECT_EQ(opentip_.requests()[1].api_key, rotated);
  EXPECT_THAT(log_.str(), HasSubstr("opentip.api_key was re-read"));
  EXPECT_THAT(log_.str(), Not(HasSubstr(rotated)));
  // Metrics in enrichment mode: the same families as in feed mode, from the same sources.
  EXPECT_THAT(metrics, HasSubstr("kfc_enrichment_requests_total{outcome=\"enriched\"} 2\n"));
  EXPECT_THAT(metrics, HasSubstr("kfc_opentip_requests_total 2\n"));
  EXPECT_THAT(metrics, HasSubstr("kfc_opentip_quota_blocked 0\n"));
  EXPECT_THAT(metrics, HasSubstr("kfc_token_days_left{token=\"opentip.api_key\"} 199\n"));
  EXPECT_THAT(metrics, HasSubstr("kfc_sink_messages_total{event=\"confirmed\"} "));
  EXPECT_THAT(metrics, HasSubstr("bundles_sent_total 2\n"));
  EXPECT_THAT(metrics, HasSubstr("state{state=\"running\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("ping_api_total "));
  EXPECT_THAT(metrics, HasSubstr("kfc_healthy 1\n"));
  EXPECT_EQ(health_status, 200) << health;
  EXPECT_THAT(metrics, Not(HasSubstr(rotated)));
}

TEST_F(EnrichmentE2E, AnExpiredKeyIsNeverSentAndMakesTheConnectorUnhealthy) {
  kfc::Settings s = settings();
  s.opentip.api_key = kfc::Token::from_value("opentip.api_key", kApiKey, "OpenTIP",
                                             std::chrono::system_clock::now() - std::chrono::hours(1));
  s.connector.health_port = free_port();
  opencti_.add_observable("internal-ip-exp", ip_stix("ipv4-addr--9a6d5e4f-7b8c-5d9e-8f0a-1b2c3d4e5f6a"));
  const std::string work_id = opencti_.add_work(connector_id_, "Expired key");
  start(s);
  broker_->publish(listen_, enrichment_request(work_id, "internal-ip-exp", "IPv4-Addr"));
  WorkRecord work = wait_for_processed(work_id);
  int status = 0;
  const std::string health = http_get(s.connector.health_port, "/healthz", &status);
  int metrics_status = 0;
  http_get(s.connector.health_port, "/metrics", &metrics_status);
  stop();
  EXPECT_TRUE(work.in_error);
  EXPECT_THAT(work.processed_message.value_or(""), HasSubstr("opentip.api_key expired"));
  EXPECT_EQ(opentip_.request_count(), 0) << "an expired key must not be sent";
  EXPECT_EQ(status, 503) << health;
  EXPECT_THAT(health, HasSubstr("opentip.api_key expired"));
  EXPECT_EQ(metrics_status, 404) << "health_port serves health alone";
  expect_no_secret_anywhere();
}

}  // namespace
