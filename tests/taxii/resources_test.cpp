// Discovery, API root information, collections, collection selection, timestamps.
#include <filesystem>
#include <fstream>

#include "harness.h"
#include "kfc/taxii/selection.h"
#include "kfc/taxii/settings_client.h"

namespace kfc::taxii::test {
namespace {

using testing::generate_collection;

TEST(TaxiiResources, DiscoveryResolvesRelativeApiRoots) {
  Harness h;
  h.start();
  auto client = h.client();
  auto discovery = client->discover();
  EXPECT_EQ(discovery.title, "kfc TAXII test server");
  ASSERT_EQ(discovery.api_roots.size(), 1u);
  EXPECT_EQ(discovery.api_roots[0], h.server.api_root_url());
  EXPECT_EQ(discovery.default_root, h.server.api_root_url());
  EXPECT_EQ(h.server.requests().front().path, "/taxii2/");
}

TEST(TaxiiResources, ApiRootWithoutTaxii21IsRefusedWithTheReferenceWording) {
  TestServerOptions options;
  options.versions = std::vector<std::string>{"application/taxii+json;version=2.0"};
  Harness h(options);
  h.start();
  auto client = h.client();
  try {
    client->api_root();
    FAIL() << "expected ConfigurationError";
  } catch (const ConfigurationError& error) {
    EXPECT_NE(std::string(error.what()).find("Specified API Root doesn't support version "
                                             "'application/taxii+json;version=2.1'"),
              std::string::npos);
    EXPECT_NE(std::string(error.what()).find("kaspersky.api_root"), std::string::npos);
  }
}

TEST(TaxiiResources, ApiRootInformationAndAutoDetection) {
  Harness h;
  h.start();
  auto options = h.options();
  options.version = TaxiiVersion::Auto;
  options.api_root = h.server.api_root_url().substr(0, h.server.api_root_url().size() - 1);  // no slash
  auto client = h.client(options);
  auto info = client->api_root();
  EXPECT_EQ(info.url, h.server.api_root_url());
  EXPECT_EQ(info.version, TaxiiVersion::V21);
  EXPECT_EQ(client->version(), TaxiiVersion::V21);
  EXPECT_EQ(info.max_content_length, 104857600);
}

TEST(TaxiiResources, CollectionsAreListedWithTheirProperties) {
  Harness h;
  auto readable = generate_collection("c1", "TAXII_Demo_IP_Reputation_Data_Feed", 1, kStart);
  readable.description = "IP reputation";
  auto closed = generate_collection("c2", "TAXII_APT_Hash_Data_Feed", 0, kStart);
  closed.can_read = false;
  h.server.add_collection(readable);
  h.server.add_collection(closed);
  h.start();
  auto client = h.client();
  auto collections = client->collections();
  ASSERT_EQ(collections.size(), 2u);
  EXPECT_EQ(collections[0].id, "c1");
  EXPECT_EQ(collections[0].title, "TAXII_Demo_IP_Reputation_Data_Feed");
  EXPECT_EQ(collections[0].description, "IP reputation");
  EXPECT_TRUE(collections[0].can_read);
  EXPECT_FALSE(collections[0].can_write);
  EXPECT_EQ(collections[0].media_types, (std::vector<std::string>{"application/stix+json;version=2.1"}));
  EXPECT_FALSE(collections[1].can_read);
}

TEST(TaxiiResources, EmptyCollectionListIsAnEmptyEnvelope) {
  Harness h;
  h.start();
  auto client = h.client();
  EXPECT_TRUE(client->collections().empty());
}

TEST(TaxiiResources, UnreadableCollectionAnswers403WhichIsReportedNotSkippedSilently) {
  Harness h;
  auto closed = generate_collection("closed", "Closed", 2, kStart);
  closed.can_read = false;
  h.server.add_collection(closed);
  h.start();
  auto client = h.client();
  EXPECT_THROW(h.read(*client, "closed"), ConfigurationError);  // no token configured: "needs credentials"
}

TEST(TaxiiResources, LoadsFixtureDirectoryOfTheDemoFeed) {
  Harness h;
  h.server.load_directory(KFC_SOURCE_DIR "/tests/fixtures/taxii_server/data/demo");
  h.start();
  auto client = h.client();
  auto collections = client->collections();
  ASSERT_EQ(collections.size(), 4u);
  EXPECT_EQ(collections[0].title, "TAXII_Demo_IP_Reputation_Data_Feed");
  auto got = h.read(*client, collections[0].id);
  EXPECT_EQ(got.ids.size(), 30u);
}

TEST(TaxiiResources, BadFixtureFilesAreRefusedWithTheFileName) {
  auto dir = std::filesystem::temp_directory_path() / "kfc_bad_fixture";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "bad.json") << R"({"id":"x","objects":[{"object":{"type":"indicator","id":"i"}}]})";
  }
  try {
    testing::load_collection_directory(dir.string());
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("bad.json"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("date_added"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(TaxiiSelection, ShellWildcardsMatchIdOrTitle) {
  Collection ip{.id = "0001", .title = "TAXII_Demo_IP_Reputation_Data_Feed"};
  Collection other{.id = "TAXII_Special", .title = "Special feed"};
  EXPECT_TRUE(is_selected({"TAXII_*_Data_Feed"}, ip));
  EXPECT_FALSE(is_selected({"TAXII_*_Data_Feed"}, other));
  EXPECT_TRUE(is_selected({"TAXII_Spec?al"}, other));          // by id
  EXPECT_TRUE(is_selected({"0001"}, ip));
  EXPECT_TRUE(is_selected({}, other));                         // nothing configured: everything
  EXPECT_TRUE(is_selected({"TAXII_Demo_[HI]P_*"}, ip));
  EXPECT_FALSE(is_selected({"TAXII_Demo_[!I]P_*"}, ip));
  EXPECT_FALSE(is_selected({"taxii_*"}, ip));                  // case-sensitive
  EXPECT_TRUE(wildcard_matches("a\\b*", "a\\bc"));             // backslash is literal
}

TEST(TaxiiTimestamps, ParseAndFormat) {
  auto t = parse_timestamp("2026-04-21T10:00:00.123456Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_timestamp(*t), "2026-04-21T10:00:00.123456Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-04-21T10:00:00Z")), "2026-04-21T10:00:00.000000Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-04-21T10:00:00.1Z")), "2026-04-21T10:00:00.100000Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-04-21T10:00:00.123456789Z")), "2026-04-21T10:00:00.123456Z");
  EXPECT_EQ(format_timestamp(*t - std::chrono::microseconds{123457}), "2026-04-21T09:59:59.999999Z");
  for (const char* bad : {"", "2026-04-21", "2026-04-21T10:00:00", "2026-02-30T10:00:00Z", "2026-04-21T25:00:00Z",
                          "2026-04-21T10:00:00.Z", "2026-04-21T10:00:00Zjunk", "2026-04-21 10:00:00Z"}) {
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
  }
}

TEST(TaxiiSettings, KasperskySettingsGiveBasicAuthAndRefusePlainHttp) {
  KasperskySettings settings;
  settings.api_token = make_token();
  settings.page_limit = 500;
  settings.max_attempts = 7;
  auto options = client_options(settings);
  EXPECT_EQ(options.auth.mode, AuthMode::Basic);
  EXPECT_EQ(options.auth.user, "taxii");
  EXPECT_EQ(options.page_limit, 500);
  EXPECT_EQ(options.retry.max_attempts, 7);
  EXPECT_EQ(options.version, TaxiiVersion::V21);

  settings.api_root = "http://taxii.example.test/v2";
  try {
    client_options(settings);
    FAIL() << "expected ConfigurationError";
  } catch (const ConfigurationError& error) {
    EXPECT_NE(std::string(error.what()).find("kaspersky.allow_insecure_http"), std::string::npos);
  }
  settings.allow_insecure_http = true;
  EXPECT_NO_THROW(client_options(settings));

  settings.connection_timeout = std::chrono::seconds{12};
  auto curl = curl_options(settings);
  EXPECT_EQ(curl.connect_timeout, std::chrono::milliseconds{12000});
  EXPECT_NE(curl.user_agent.find("kaspersky-feeds-connector/"), std::string::npos);
}

}  // namespace
}  // namespace kfc::taxii::test
