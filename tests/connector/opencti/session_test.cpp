// Registration with retry, the ping thread, state and remote resets, against the stand-in platform.
#include <gtest/gtest.h>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/opencti/session.h"

namespace kfc::opencti {
namespace {

constexpr char kToken[] = "opencti-SECRET-token-session-42";

fixtures::OpenCtiServerOptions platform() {
  fixtures::OpenCtiServerOptions options;
  options.token = kToken;
  return options;
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() {
    TokenSpec spec;
    spec.key = "opencti.token";
    spec.origin = TokenOrigin::Inline;
    spec.value = Secret(kToken);
    settings.opencti.url = server.url();
    settings.opencti.token = std::make_shared<Token>(spec);
    settings.connector.id = "0b8a2f7e-2222-4ccc-9ddd-0123456789ab";
    settings.connector.run_and_terminate = true;
    settings.connector.queue_threshold_mb = 321;
  }

  std::unique_ptr<OpenCtiSession> connect(SessionOptions options = {}) {
    return OpenCtiSession::connect(settings, clock, std::move(options));
  }
  static SessionOptions no_thread() {
    SessionOptions options;
    options.start_ping_thread = false;
    return options;
  }

  fixtures::OpenCtiServer server{platform()};
  ManualClock clock{std::chrono::system_clock::now()};
  Settings settings;
};

TEST_F(SessionTest, RetriesRegistrationWithBackoffWhileThePlatformIsDown) {
  server.fail_next("*", 3, 503);
  auto session = connect(no_thread());
  EXPECT_EQ(session->connector_id(), settings.connector.id);
  EXPECT_EQ(server.count("registerConnector"), 1u);
  // 2 s, 4 s, 8 s on the injected clock; nothing slept for real.
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(14000));
}

TEST_F(SessionTest, GivesUpAfterMaxAttemptsWithAClearError) {
  server.set_outage(502);
  SessionOptions options = no_thread();
  options.retry.max_attempts = 3;
  try {
    connect(options);
    FAIL();
  } catch (const OpenCtiUnavailableError& error) {
    EXPECT_NE(std::string(error.what()).find("opencti.url"), std::string::npos) << error.what();
  }
  EXPECT_EQ(server.count("healthCheck"), 3u);
}

// A stop request during the registration backoff ends the wait at once, not when the delay is over.
TEST_F(SessionTest, StopRequestEndsTheRetryingAtOnce) {
  server.set_outage(503);
  SessionOptions options = no_thread();
  options.retry.initial_backoff = std::chrono::minutes(1);
  // The stop arrives once the first wait is under way (the clock has been slept on).
  options.should_stop = [&] { return clock.slept() > std::chrono::milliseconds(0); };
  EXPECT_THROW(connect(options), OpenCtiUnavailableError);
  EXPECT_EQ(server.count("healthCheck"), 1u);
  EXPECT_LE(clock.slept(), std::chrono::milliseconds(100)) << "the 60 s backoff was slept out";
}

// A stop request abandons a registration call under way (a platform that does not answer).
TEST_F(SessionTest, StopRequestAbandonsARegistrationCallUnderWay) {
  server.set_answer_delay(std::chrono::seconds(30));
  SessionOptions options = no_thread();
  const auto started = std::chrono::steady_clock::now();
  options.should_stop = [&] { return std::chrono::steady_clock::now() - started > std::chrono::milliseconds(200); };
  EXPECT_THROW(connect(options), Interrupted);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  server.set_answer_delay(std::chrono::milliseconds(0));
}

TEST_F(SessionTest, RejectedTokenIsNotRetried) {
  server.set_token("another-token-entirely-123");
  EXPECT_THROW(connect(no_thread()), TokenRejectedError);
  EXPECT_EQ(server.calls().size(), 1u);
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(0));
}

TEST_F(SessionTest, RegistrationStateBecomesTheLocalState) {
  server.set_stored_state(R"({"last_added": 1700000000})");
  auto session = connect(no_thread());
  EXPECT_EQ(session->state(), R"({"last_added": 1700000000})");
  EXPECT_FALSE(session->take_reset());
}

TEST_F(SessionTest, PingThreadPingsRepeatedlyWithStateAndInfo) {
  SessionOptions options;
  options.ping_interval = std::chrono::milliseconds(10);
  auto session = connect(options);
  session->set_state(R"({"last_added": 7})");
  ASSERT_TRUE(server.wait_for("pingConnector", 4));
  session->stop_ping_thread();
  auto variables = server.last_variables("pingConnector");
  EXPECT_STREQ(variables["id"].GetString(), settings.connector.id.c_str());
  EXPECT_TRUE(variables["connectorInfo"]["run_and_terminate"].GetBool());
  EXPECT_DOUBLE_EQ(variables["connectorInfo"]["queue_threshold"].GetDouble(), 321);
  EXPECT_EQ(server.stored_state(), R"({"last_added": 7})");
  EXPECT_GE(session->pings_done(), 4u);
}

TEST(SessionOptionsTest, PingsEvery40SecondsLikePycti) {
  EXPECT_EQ(SessionOptions{}.ping_interval, std::chrono::seconds(40));
}

TEST_F(SessionTest, PingThreadSurvivesPlatformErrors) {
  server.fail_next("pingConnector", 2, 500);
  SessionOptions options;
  options.ping_interval = std::chrono::milliseconds(5);
  auto session = connect(options);
  ASSERT_TRUE(server.wait_for("pingConnector", 4));
  session->stop_ping_thread();
  auto pings = server.calls("pingConnector");
  EXPECT_EQ(pings[0].status, 500);
  EXPECT_EQ(pings[3].status, 200);
}

TEST_F(SessionTest, ForcedPingStoresTheStateBeforeExit) {
  auto session = connect(no_thread());
  session->set_state(R"({"last_added": 1700000123})");
  session->force_ping();
  EXPECT_EQ(server.stored_state(), R"({"last_added": 1700000123})");
  EXPECT_EQ(server.count("pingConnector"), 1u);
}

TEST_F(SessionTest, ForcedPingFailureIsReportedToTheCaller) {
  auto session = connect(no_thread());
  server.set_outage(503);
  EXPECT_THROW(session->force_ping(), OpenCtiUnavailableError);
}

TEST_F(SessionTest, ResetInTheUiClearsTheStateOnce) {
  server.set_stored_state(R"({"last_added": 1700000000})");
  auto session = connect(no_thread());
  server.reset_state();
  session->force_ping();
  EXPECT_FALSE(session->state().has_value());
  EXPECT_TRUE(session->take_reset());
  EXPECT_FALSE(session->take_reset());
  EXPECT_FALSE(server.stored_state().has_value());

  // The next run's state is stored normally again.
  session->set_state(R"({"last_added": 1800000000})");
  session->force_ping();
  EXPECT_EQ(server.stored_state(), R"({"last_added": 1800000000})");
  EXPECT_FALSE(session->take_reset());
}

TEST_F(SessionTest, ResetSeenByThePingThread) {
  server.set_stored_state(R"({"last_added": 1})");
  SessionOptions options;
  options.ping_interval = std::chrono::milliseconds(5);
  auto session = connect(options);
  server.reset_state();
  ASSERT_TRUE(server.wait_for("pingConnector", 3));
  session->stop_ping_thread();
  EXPECT_TRUE(session->take_reset());
  EXPECT_FALSE(session->state().has_value());
}

TEST(StateStoreTest, StateSetDuringAResetPingIsKept) {
  StateStore store(R"({"last_added": 1})");
  const auto sent = store.get();
  store.set(R"({"last_added": 2})");  // the run loop finished while the ping was on its way
  store.remote_reset(sent);
  EXPECT_EQ(store.get(), R"({"last_added": 2})");
  EXPECT_TRUE(store.take_reset());
}

TEST_F(SessionTest, InfoUpdatesReachTheNextPing) {
  auto session = connect(no_thread());
  session->info().update([](ConnectorInfo& info) {
    info.buffering = true;
    info.last_run = SystemTime(std::chrono::seconds(0));
  });
  session->force_ping();
  auto variables = server.last_variables("pingConnector");
  EXPECT_TRUE(variables["connectorInfo"]["buffering"].GetBool());
  EXPECT_STREQ(variables["connectorInfo"]["last_run_datetime"].GetString(), "1970-01-01T00:00:00Z");
}

TEST_F(SessionTest, ApiClientWorksFromTheRunLoopThread) {
  auto session = connect(no_thread());
  std::string work = session->api().add_work(session->connector_id(), "run");
  EXPECT_EQ(server.work(work)->connector_id, settings.connector.id);
}

}  // namespace
}  // namespace kfc::opencti
