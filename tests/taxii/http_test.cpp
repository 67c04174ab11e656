// The HTTP side of the TAXII client over real loopback: one keep-alive connection, gzip, the
// User-Agent, the timeouts and response cap taken from the kaspersky.* settings, proxies from the
// environment.
#include <httplib.h>

#include <cstdlib>
#include <thread>

#include "harness.h"
#include "kfc/config/version.h"
#include "kfc/taxii/settings_client.h"

namespace kfc::taxii::test {
namespace {

using testing::generate_collection;

// Settings pointing at the test server the way config.yml would.
KasperskySettings settings_for(const TaxiiTestServer& server) {
  KasperskySettings settings;
  settings.api_root = server.api_root_url();
  settings.allow_insecure_http = true;
  settings.api_token = make_token();
  settings.connection_timeout = std::chrono::seconds{10};
  return settings;
}

TestServerOptions basic_auth() {
  TestServerOptions options;
  options.auth = AuthScheme::Basic;
  options.secret = kSecret;
  options.max_page_size = 10;
  return options;
}

TEST(TaxiiHttp, EveryRequestOfAClientReusesOneConnection) {
  Harness h({.max_page_size = 10});
  h.server.add_collection(generate_collection("a", "A", 35, kStart));
  h.server.add_collection(generate_collection("b", "B", 12, kStart));
  h.start();
  auto client = h.client();
  client->discover();
  client->api_root();
  client->collections();
  h.read(*client, "a");
  h.read(*client, "b");
  auto requests = h.server.requests();
  ASSERT_EQ(requests.size(), 3u + 4u + 2u);
  std::set<int> connections;
  for (const auto& request : requests) connections.insert(request.client_port);
  EXPECT_EQ(connections.size(), 1u) << "keep-alive: one TCP connection for every request";
}

TEST(TaxiiHttp, ANewConnectionIsOpenedOnlyAfterTheServerDroppedOne) {
  Harness h({.max_page_size = 10});
  auto feed = generate_collection("feed", "Feed", 40, kStart);
  h.server.add_collection(feed);
  h.server.inject({.kind = FaultKind::DropMidBody, .skip = 1});
  h.start();
  auto client = h.client();
  EXPECT_EQ(h.read(*client, "feed").ids, h.expected_ids(feed));
  // Page 1, page 2 (dropped), page 2 again from page 1's last timestamp (one object re-read), 3, 4, 5.
  auto requests = h.server.requests_to("/objects/");
  ASSERT_EQ(requests.size(), 6u);
  std::set<int> connections;
  for (const auto& request : requests) connections.insert(request.client_port);
  EXPECT_EQ(connections.size(), 2u);
  EXPECT_EQ(requests[0].client_port, requests[1].client_port);
  EXPECT_NE(requests[1].client_port, requests[2].client_port);
  EXPECT_EQ(requests[2].client_port, requests[5].client_port);
}

TEST(TaxiiHttp, GzipIsAcceptedAndDecoded) {
  TestServerOptions options;
  options.max_page_size = 10;
  options.gzip = true;
  Harness h(options);
  auto feed = generate_collection("feed", "Feed", 25, kStart);
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  auto requests = h.server.requests_to("/objects/");
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& request : requests) {
    EXPECT_NE(request.accept_encoding.find("gzip"), std::string::npos) << request.accept_encoding;
    EXPECT_TRUE(request.gzipped);
  }
  // The statistics count what was parsed (decoded), which is more than the compressed wire bytes.
  EXPECT_GT(got.summary.stats.bytes, 25u * 200u);
}

TEST(TaxiiHttp, ResponseCapAppliesToTheDecodedSizeSoAGzipBombIsRefused) {
  TestServerOptions options;
  options.gzip = true;
  Harness h(options);
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  // 64 MiB of JSON whitespace: a few hundred KiB on the wire.
  h.server.inject({.kind = FaultKind::HugePage, .times = -1, .bytes = 64u << 20});
  h.start();
  KasperskySettings settings = settings_for(h.server);
  settings.max_response_bytes = 2u << 20;
  auto client = make_client(settings, h.clock);
  EXPECT_THROW(h.read(*client, "feed"), ResponseTooLargeError);
  auto requests = h.server.requests_to("/objects/");
  ASSERT_EQ(requests.size(), 1u);  // not retried
  EXPECT_TRUE(requests.front().gzipped);
}

TEST(TaxiiHttp, UserAgentNamesTheProductAndVersion) {
  Harness h(basic_auth());
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.start();
  auto client = make_client(settings_for(h.server), h.clock);
  client->collections();
  EXPECT_EQ(h.read(*client, "feed").ids.size(), 3u);
  for (const auto& request : h.server.requests()) {
    EXPECT_EQ(request.user_agent, "kaspersky-feeds-connector/" + std::string(version()));
  }
}

TEST(TaxiiHttp, ConnectionTimeoutSettingBoundsTheWholeRequest) {
  KasperskySettings settings;
  settings.connection_timeout = std::chrono::seconds{12};
  auto curl = curl_options(settings);
  EXPECT_EQ(curl.connect_timeout, std::chrono::milliseconds{12000});
  EXPECT_EQ(curl.total_timeout, std::chrono::milliseconds{12000});

  // A server that sits on one page longer than kaspersky.connection_timeout: that attempt times
  // out and is retried (the server answers the retry at once).
  Harness h(basic_auth());
  auto feed = generate_collection("feed", "Feed", 25, kStart);
  h.server.add_collection(feed);
  h.server.inject({.kind = FaultKind::Slow, .skip = 1, .delay = 5000ms});
  h.start();
  settings = settings_for(h.server);
  settings.connection_timeout = std::chrono::seconds{1};
  auto client = make_client(settings, h.clock);
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  EXPECT_EQ(got.summary.stats.retries, 1u);
}

// HTTPS against a server whose certificate no system CA signed.
class TaxiiTls : public ::testing::Test {
 protected:
  void SetUp() override {
    TestServerOptions options = basic_auth();
    options.tls = true;
    h = std::make_unique<Harness>(options);
    feed = generate_collection("feed", "Feed", 15, kStart);
    h->server.add_collection(feed);
    h->start();
    settings = settings_for(h->server);
    settings.allow_insecure_http = false;  // an https:// root
    settings.max_attempts = 3;
  }

  std::unique_ptr<Harness> h;
  testing::FixtureCollection feed;
  KasperskySettings settings;
};

TEST_F(TaxiiTls, CertificatesAreVerifiedByDefaultAndAFailureIsNotRetried) {
  ASSERT_TRUE(h->server.base_url().starts_with("https://"));
  auto client = make_client(settings, h->clock);
  try {
    client->collections();
    FAIL() << "expected a TLS verification failure";
  } catch (const UnavailableError& error) {
    FAIL() << "a certificate problem must not be retried: " << error.what();
  } catch (const TaxiiError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("kaspersky.ca_file"), std::string::npos) << text;
    EXPECT_NE(text.find(h->server.api_root_url()), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecret), std::string::npos);
  }
  EXPECT_TRUE(h->server.requests().empty());  // no request got past the handshake
  EXPECT_EQ(h->clock.slept(), 0ms);
}

TEST_F(TaxiiTls, ConfiguredCaBundleIsTrusted) {
  settings.ca_file = h->server.ca_file();
  auto client = make_client(settings, h->clock);
  EXPECT_EQ(h->read(*client, "feed").ids, h->expected_ids(feed));
}

TEST_F(TaxiiTls, VerificationCanBeTurnedOff) {
  settings.ssl_verify = false;
  auto client = make_client(settings, h->clock);
  EXPECT_EQ(h->read(*client, "feed").ids, h->expected_ids(feed));
}

TEST(TaxiiHttp, SettingsGiveTheTransportItsTlsCaBundleAndResponseCap) {
  KasperskySettings settings;
  settings.ssl_verify = true;
  settings.ca_file = "/etc/kfc/ca-bundle.pem";
  settings.max_response_bytes = 3u << 20;
  auto curl = curl_options(settings);
  EXPECT_TRUE(curl.verify_tls);
  EXPECT_EQ(curl.ca_file, "/etc/kfc/ca-bundle.pem");
  EXPECT_EQ(curl.max_response_bytes, 3u << 20);
  EXPECT_TRUE(curl.accept_gzip);
  settings.ssl_verify = false;
  EXPECT_FALSE(curl_options(settings).verify_tls);
}

TEST(TaxiiHttp, SameOriginRedirectKeepsTheCredentials) {
  TestServerOptions options;
  options.auth = AuthScheme::Header;
  options.secret = kSecret;
  Harness h(options);
  h.start();
  auto transport = http::make_curl_transport({});
  http::Request request;
  request.url = h.server.base_url() + "/api1";  // the server answers 308 to ".../api1/"
  request.headers = {{"X-API-Key", kSecret}, {"Accept", "application/taxii+json;version=2.1"}};
  auto response = transport->send(request);
  EXPECT_EQ(response.status, 200);
  auto requests = h.server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].status, 308);
  EXPECT_EQ(requests[1].path, "/api1/");
  EXPECT_EQ(requests[1].api_key, kSecret);
}

TEST(TaxiiHttp, RedirectToAnotherOriginNeverCarriesTheCredentials) {
  // A server that sends everything on to the TAXII server (another port: another origin), as a
  // load balancer pointing at a storage host would. libcurl alone would forward the API-key header.
  TestServerOptions options;
  options.auth = AuthScheme::Header;
  options.secret = kSecret;
  Harness h(options);
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.start();
  httplib::Server redirector;
  const std::string target = h.server.base_url();
  redirector.Get(".*", [&](const httplib::Request& request, httplib::Response& response) {
    response.set_redirect(target + request.path, 307);
  });
  const int port = redirector.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { redirector.listen_after_bind(); });
  while (!redirector.is_running()) std::this_thread::sleep_for(1ms);

  auto client_options = h.options();
  client_options.api_root = "http://127.0.0.1:" + std::to_string(port) + "/api1/";
  client_options.auth = {.mode = AuthMode::Header, .user = {}, .header_name = "X-API-Key", .token = make_token()};
  auto client = h.client(client_options);
  EXPECT_THROW(client->collections(), TokenRejectedError);  // it reached the server without its key
  redirector.stop();
  serving.join();

  auto requests = h.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/api1/collections/");
  EXPECT_TRUE(requests[0].api_key.empty());
  EXPECT_TRUE(requests[0].authorization.empty());
  EXPECT_EQ(requests[0].accept, "application/taxii+json;version=2.1");  // harmless headers follow
}

// Restores an environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(TaxiiHttp, ProxyFromTheEnvironmentIsUsed) {
  // The test server stands in for the proxy: it receives the absolute URL of a host that does not
  // exist (no name is resolved, nothing leaves the machine).
  Harness h;
  h.start();
  ScopedEnv proxy("http_proxy", h.server.base_url());
  ScopedEnv no_proxy("no_proxy", "");
  ScopedEnv no_proxy_upper("NO_PROXY", "");
  auto options = h.options();
  options.api_root = "http://taxii.example.invalid/api1/";
  options.retry.max_attempts = 1;
  auto client = h.client(options);
  EXPECT_THROW(client->collections(), ProtocolError);  // the "proxy" answers 404
  auto requests = h.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests.front().path.find("taxii.example.invalid"), std::string::npos) << requests.front().path;
}

}  // namespace
}  // namespace kfc::taxii::test
