// The OpenCTI GraphQL client against the stand-in platform on loopback (real HTTP, real libcurl).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/opencti/client.h"

namespace kfc::opencti {
namespace {

constexpr char kSecretToken[] = "opencti-SECRET-token-7c1f2e9a";

TokenPtr make_token(const std::string& value, std::optional<SystemTime> expires_at = std::nullopt) {
  TokenSpec spec;
  spec.key = "opencti.token";
  spec.env_name = "OPENCTI_TOKEN";
  spec.server = "OpenCTI";
  spec.origin = TokenOrigin::Inline;
  spec.value = Secret(value);
  spec.expires_at = expires_at;
  return std::make_shared<Token>(spec);
}

GraphqlOptions options_for(const std::string& url, TokenPtr token, std::string custom_headers = {}) {
  GraphqlOptions options;
  options.url = url;
  options.token = std::move(token);
  options.custom_headers = std::move(custom_headers);
  return options;
}

fixtures::OpenCtiServerOptions platform(std::string version = "6.8.10", bool auth_error_as_graphql = false) {
  fixtures::OpenCtiServerOptions options;
  options.token = kSecretToken;
  options.version = std::move(version);
  options.auth_error_as_graphql = auth_error_as_graphql;
  return options;
}

class ClientTest : public ::testing::Test {
 protected:
  OpenCtiClient make_client(const std::string& token = kSecretToken, std::string custom_headers = {}) {
    GraphqlOptions options = options_for(server.url() + "/", make_token(token), std::move(custom_headers));
    return OpenCtiClient(options, curl_transport_factory(true, "kfc-test/1")(), clock);
  }
  ConnectorIdentity identity() {
    ConnectorSettings settings;
    settings.id = "6f5c3a2e-1111-4aaa-8bbb-0123456789ab";
    settings.name = "Kaspersky Feeds";
    settings.scope = "kaspersky, indicator";
    return identity_from(settings);
  }

  fixtures::OpenCtiServer server{platform()};
  ManualClock clock{std::chrono::system_clock::now()};
};

TEST_F(ClientTest, RegistersWithHealthCheckFirstAndKeepsWhatThePlatformReturns) {
  auto client = make_client();
  Registration registration = client.register_connector(identity(), MqSettings{});

  auto calls = server.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].operation, "healthCheck");
  EXPECT_EQ(calls[1].operation, "registerConnector");
  EXPECT_EQ(calls[1].authorization, std::string("Bearer ") + kSecretToken);
  EXPECT_EQ(calls[1].user_agent, "kaspersky-feeds-connector/0.1.0");

  auto variables = server.last_variables("registerConnector");
  const auto& input = variables["input"];
  EXPECT_STREQ(input["id"].GetString(), "6f5c3a2e-1111-4aaa-8bbb-0123456789ab");
  EXPECT_STREQ(input["name"].GetString(), "Kaspersky Feeds");
  EXPECT_STREQ(input["type"].GetString(), "EXTERNAL_IMPORT");
  ASSERT_EQ(input["scope"].Size(), 2u);
  EXPECT_STREQ(input["scope"][1].GetString(), "indicator");
  EXPECT_TRUE(input.HasMember("playbook_compatible"));  // 6.8.10 knows it
  EXPECT_TRUE(input.HasMember("auto_update"));

  EXPECT_EQ(registration.platform_version, "6.8.10");
  EXPECT_EQ(registration.connector_id, "6f5c3a2e-1111-4aaa-8bbb-0123456789ab");
  EXPECT_EQ(registration.connector_user_id, server.options().connector_user_id);
  EXPECT_EQ(registration.push_exchange, "amqp.worker.exchange");
  EXPECT_EQ(registration.push_routing, "push_routing_6f5c3a2e-1111-4aaa-8bbb-0123456789ab");
  EXPECT_EQ(registration.mq.host, "127.0.0.1");
  EXPECT_EQ(registration.mq.port, 5672);
  EXPECT_EQ(registration.mq.user, "guest");
  EXPECT_EQ(registration.mq.pass.reveal(), "guest");
  EXPECT_FALSE(registration.state.has_value());
}

TEST_F(ClientTest, OlderPlatformsGetOnlyTheFieldsTheyKnow) {
  fixtures::OpenCtiServer old_platform(platform("5.10.3"));
  OpenCtiClient client(options_for(old_platform.url(), make_token(kSecretToken)),
                       curl_transport_factory(true, "kfc-test/1")(), clock);
  client.register_connector(identity(), MqSettings{});
  auto variables = old_platform.last_variables("registerConnector");
  EXPECT_FALSE(variables["input"].HasMember("playbook_compatible"));
  EXPECT_FALSE(variables["input"].HasMember("auto_update"));
  EXPECT_TRUE(variables["input"].HasMember("only_contextual"));
}

TEST_F(ClientTest, MqSettingsOverrideTheAdvertisedConnection) {
  MqSettings overrides;
  overrides.host = "rabbit.local";
  overrides.port = 5671;
  overrides.use_ssl = true;
  overrides.pass = Secret("other-pass");
  overrides.ssl_ca = "/etc/ca.pem";
  auto client = make_client();
  Registration registration = client.register_connector(identity(), overrides);
  EXPECT_EQ(registration.mq.host, "rabbit.local");
  EXPECT_EQ(registration.mq.port, 5671);
  EXPECT_TRUE(registration.mq.use_ssl);
  EXPECT_EQ(registration.mq.user, "guest");  // not overridden
  EXPECT_EQ(registration.mq.pass.reveal(), "other-pass");
  EXPECT_EQ(registration.mq.ssl_ca, "/etc/ca.pem");
}

// pycti takes the PEM text itself in MQ_USE_SSL_KEY: it reaches the connection as text (loaded from
// memory when connecting, never written to a file).
TEST_F(ClientTest, MqPemTextReachesTheConnectionAsText) {
  MqSettings overrides;
  overrides.ssl_key = "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n";
  overrides.ssl_ca = "/etc/ssl/rabbitmq-ca.pem";
  auto client = make_client();
  Registration registration = client.register_connector(identity(), overrides);
  EXPECT_EQ(registration.mq.ssl_key, overrides.ssl_key);
  EXPECT_EQ(registration.mq.ssl_ca, overrides.ssl_ca);
}

TEST_F(ClientTest, StoredStateComesBackWithRegistration) {
  server.set_stored_state(R"({"last_added": 1700000000})");
  auto client = make_client();
  EXPECT_EQ(client.register_connector(identity(), {}).state, R"({"last_added": 1700000000})");
}

TEST_F(ClientTest, RejectedTokenIsATokenErrorThatNeverShowsTheToken) {
  const std::string wrong = "wrong-SECRET-value-0123456789";
  auto client = make_client(wrong);
  try {
    client.platform_version();
    FAIL() << "expected TokenRejectedError";
  } catch (const TokenRejectedError& error) {
    EXPECT_EQ(error.http_status(), 401);
    std::string text = error.what();
    EXPECT_NE(text.find("opencti.token"), std::string::npos) << text;
    EXPECT_EQ(text.find(wrong), std::string::npos) << text;
    EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  }
}

TEST_F(ClientTest, AuthRequiredGraphqlErrorIsATokenRejectionToo) {
  fixtures::OpenCtiServer graphql_auth(platform("6.8.10", true));
  OpenCtiClient client(options_for(graphql_auth.url(), make_token("not-the-right-token-123")),
                       curl_transport_factory(true, "ua")(), clock);
  EXPECT_THROW(client.platform_version(), TokenRejectedError);
}

TEST_F(ClientTest, ExpiredTokenIsNeverSent) {
  auto expired = make_token(kSecretToken, clock.now() - std::chrono::hours(24));
  OpenCtiClient client(options_for(server.url(), expired), curl_transport_factory(true, "ua")(), clock);
  EXPECT_THROW(client.platform_version(), TokenError);
  EXPECT_EQ(server.calls().size(), 0u);
}

TEST_F(ClientTest, GraphqlErrorsSurfaceThePlatformsMessage) {
  server.fail_next("workAdd", 1, 200, "FUNCTIONAL_ERROR");
  auto client = make_client();
  try {
    client.add_work("c1", "run");
    FAIL() << "expected GraphqlError";
  } catch (const GraphqlError& error) {
    EXPECT_EQ(error.name(), "FUNCTIONAL_ERROR");
    EXPECT_NE(std::string(error.what()).find("Simulated failure of workAdd"), std::string::npos) << error.what();
  }
}

// An answer nested a million levels deep is an error for that call only; the next call works.
TEST_F(ClientTest, AMillionNestedArraysInAnAnswerIsAnErrorForThatCall) {
  server.answer_next("workAdd", 1, R"({"data":{"workAdd":)" + std::string(1'000'000, '[') +
                                       std::string(1'000'000, ']') + "}}");
  auto client = make_client();
  try {
    client.add_work("c1", "run");
    FAIL() << "expected OpenCtiError";
  } catch (const OpenCtiError& error) {
    EXPECT_NE(std::string(error.what()).find("nested deeper than 64 levels"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(client.add_work("c1", "run").empty());
}

TEST_F(ClientTest, OutageIsUnavailableAndNamesTheUrlNotTheToken) {
  server.set_outage(503);
  auto client = make_client();
  try {
    client.platform_version();
    FAIL() << "expected OpenCtiUnavailableError";
  } catch (const OpenCtiUnavailableError& error) {
    std::string text = error.what();
    EXPECT_NE(text.find(server.url()), std::string::npos) << text;
    EXPECT_NE(text.find("503"), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecretToken), std::string::npos);
  }
}

TEST_F(ClientTest, UnreachablePlatformIsUnavailable) {
  std::string url;
  {
    fixtures::OpenCtiServer gone;
    url = gone.url();
  }
  OpenCtiClient client(options_for(url, make_token(kSecretToken)), curl_transport_factory(true, "ua")(), clock);
  EXPECT_THROW(client.platform_version(), OpenCtiUnavailableError);
}

TEST_F(ClientTest, NonGraphqlAnswerIsAClearError) {
  // A 404 from something that is not OpenCTI (wrong opencti.url path).
  OpenCtiClient client(options_for(server.url() + "/not-here", make_token(kSecretToken)),
                       curl_transport_factory(true, "ua")(), clock);
  try {
    client.platform_version();
    FAIL();
  } catch (const OpenCtiError& error) {
    EXPECT_NE(std::string(error.what()).find("HTTP 404"), std::string::npos) << error.what();
  }
}

TEST_F(ClientTest, CustomHeadersAreSent) {
  auto client = make_client(kSecretToken, "X-Tenant: blue; X-Trace:abc;broken");
  client.platform_version();
  auto call = server.calls().back();
  EXPECT_EQ(call.headers["x-tenant"], "blue");
  EXPECT_EQ(call.headers["x-trace"], "abc");
}

TEST_F(ClientTest, PingCarriesStateAndConnectorInfo) {
  auto client = make_client();
  ConnectorInfo info;
  info.run_and_terminate = true;
  info.buffering = true;
  info.queue_threshold = 250;
  info.queue_messages_size = 12.5;
  info.next_run = SystemTime(std::chrono::seconds(1700000000));
  PingAnswer answer = client.ping("c1", R"({"last_added": 5})", info);
  EXPECT_EQ(answer.state, R"({"last_added": 5})");

  auto variables = server.last_variables("pingConnector");
  EXPECT_STREQ(variables["id"].GetString(), "c1");
  EXPECT_STREQ(variables["state"].GetString(), R"({"last_added": 5})");
  const auto& sent = variables["connectorInfo"];
  EXPECT_TRUE(sent["run_and_terminate"].GetBool());
  EXPECT_TRUE(sent["buffering"].GetBool());
  EXPECT_DOUBLE_EQ(sent["queue_threshold"].GetDouble(), 250);
  EXPECT_DOUBLE_EQ(sent["queue_messages_size"].GetDouble(), 12.5);
  EXPECT_STREQ(sent["next_run_datetime"].GetString(), "2023-11-14T22:13:20Z");
  EXPECT_TRUE(sent["last_run_datetime"].IsNull());
}

TEST_F(ClientTest, PingWithoutStateSendsNullText) {
  auto client = make_client();
  PingAnswer answer = client.ping("c1", std::nullopt, {});
  EXPECT_STREQ(server.last_variables("pingConnector")["state"].GetString(), "null");
  EXPECT_FALSE(answer.state.has_value());
}

TEST_F(ClientTest, WorkLifecycleIsRecordedByThePlatform) {
  auto client = make_client();
  std::string work = client.add_work("c1", "Kaspersky Feeds run @ 2024-01-01T00:00:00Z");
  client.to_received(work, "Connector started the synchronization run");
  client.add_expectations(work, 3);
  client.add_expectations(work, 4);
  client.report_expectation(work, "bad object", "indicator--1");
  EXPECT_TRUE(client.is_work_alive(work));
  client.to_processed(work, "Connector queued 7 objects for import", false);

  auto record = server.work(work);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->friendly_name, "Kaspersky Feeds run @ 2024-01-01T00:00:00Z");
  EXPECT_EQ(record->expectations, 7);
  EXPECT_EQ(record->reported, 1);
  EXPECT_EQ(record->errors, std::vector<std::string>{"bad object"});
  EXPECT_EQ(record->received_messages.size(), 1u);
  EXPECT_EQ(record->processed_message, "Connector queued 7 objects for import");
  EXPECT_FALSE(record->in_error);
  auto vars = server.last_variables("toProcessed");
  EXPECT_FALSE(vars["inError"].GetBool());
}

TEST_F(ClientTest, DeletedWorkIsNotAliveAndCannotBeEdited) {
  auto client = make_client();
  std::string work = client.add_work("c1", "run");
  server.delete_work(work);
  EXPECT_FALSE(client.is_work_alive(work));
  EXPECT_THROW(client.add_expectations(work, 1), GraphqlError);
}

TEST_F(ClientTest, ClosedInErrorCarriesTheFlag) {
  auto client = make_client();
  std::string work = client.add_work("c1", "run");
  client.to_processed(work, "Connector run failed: boom", true);
  EXPECT_TRUE(server.work(work)->in_error);
}

TEST_F(ClientTest, QueueDetailsAreInBytesAndMegabytes) {
  server.set_queue(42, 600e6);
  auto client = make_client();
  QueueDetails details = client.queue_details("c1");
  EXPECT_EQ(details.messages_number, 42);
  EXPECT_DOUBLE_EQ(details.size_mb(), 600);
  EXPECT_STREQ(server.last_variables("connector_queue_details")["id"].GetString(), "c1");
}

TEST_F(ClientTest, StixBundlePushSendsTheWholeBundle) {
  auto client = make_client();
  const std::string bundle = R"({"type":"bundle","id":"bundle--1","objects":[{"id":"indicator--1","type":"indicator"}]})";
  client.push_bundle("c1", bundle, std::string("work-9"));
  client.push_bundle("c1", bundle, std::nullopt);
  auto pushed = server.pushed_bundles();
  ASSERT_EQ(pushed.size(), 2u);
  EXPECT_EQ(pushed[0].bundle_json, bundle);
  EXPECT_EQ(pushed[0].work_id, "work-9");
  EXPECT_FALSE(pushed[1].work_id.has_value());
}

TEST_F(ClientTest, StixBundlePushOfAnEmptyBundleSurfacesThePlatformsRefusal) {
  auto client = make_client();
  EXPECT_THROW(client.push_bundle("c1", R"({"type":"bundle","id":"bundle--1","objects":[]})", std::nullopt),
               GraphqlError);
}

TEST_F(ClientTest, ExistingIdsAreLookedUpInChunksOf200AndPaged) {
  std::vector<std::string> ids;
  for (int i = 0; i < 450; ++i) ids.push_back("indicator--" + std::to_string(i));
  server.add_existing_ids({"indicator--3", "indicator--250", "indicator--449", "identity--not-asked"});
  server.set_lookup_page_size(1);  // one node per page: every chunk with a hit pages
  auto client = make_client();
  auto existing = client.existing_ids(ids);
  EXPECT_EQ(existing, (std::unordered_set<std::string>{"indicator--3", "indicator--250", "indicator--449"}));

  auto calls = server.calls("stixObjectOrStixRelationships");
  // chunk 0..199 (1 hit: 1 page), 200..399 (1 hit), 400..449 (1 hit): 3 calls, the chunk sizes as `first`.
  ASSERT_EQ(calls.size(), 3u);
  rapidjson::Document first;
  first.Parse(calls[0].variables_json.c_str());
  EXPECT_EQ(first["first"].GetInt(), 200);
  EXPECT_EQ(first["filters"]["filters"][0]["values"].Size(), 200u);
  EXPECT_STREQ(first["filters"]["filters"][0]["key"].GetString(), "ids");
  rapidjson::Document last;
  last.Parse(calls[2].variables_json.c_str());
  EXPECT_EQ(last["first"].GetInt(), 50);
}

TEST_F(ClientTest, ExistingIdsFollowPageInfo) {
  server.add_existing_ids({"a--1", "a--2", "a--3"});
  server.set_lookup_page_size(2);
  auto client = make_client();
  auto existing = client.existing_ids({"a--1", "a--2", "a--3", "a--4"});
  EXPECT_EQ(existing.size(), 3u);
  EXPECT_EQ(server.count("stixObjectOrStixRelationships"), 2u);
  rapidjson::Document second;
  second.Parse(server.calls("stixObjectOrStixRelationships")[1].variables_json.c_str());
  EXPECT_STREQ(second["after"].GetString(), "2");
}

TEST(PlatformVersionTest, Parses) {
  EXPECT_EQ(PlatformVersion::parse("6.8.10"), (PlatformVersion{6, 8, 10}));
  EXPECT_EQ(PlatformVersion::parse("5.11"), (PlatformVersion{5, 11, 0}));
  EXPECT_EQ(PlatformVersion::parse("garbage"), (PlatformVersion{0, 0, 0}));
  EXPECT_LT(PlatformVersion::parse("6.8.9"), PlatformVersion::parse("6.8.10"));
}

}  // namespace
}  // namespace kfc::opencti
