// Credentials: Basic (Kaspersky: user "taxii"), Bearer, API-key header, none; expired tokens are
// never sent; 401/403 say the token was rejected, in the token component's words, without the secret.
#include "harness.h"

namespace kfc::taxii::test {
namespace {

using testing::generate_collection;

struct AuthCase {
  const char* name;
  AuthScheme server;
  AuthMode client;
};

class AuthModes : public ::testing::TestWithParam<AuthCase> {};

TEST_P(AuthModes, TokenIsAcceptedInTheConfiguredForm) {
  TestServerOptions options;
  options.auth = GetParam().server;
  options.secret = kSecret;
  options.header_name = "X-API-Key";
  Harness h(options);
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.start();
  auto client_options = h.options();
  client_options.auth = {.mode = GetParam().client, .user = "taxii", .header_name = "X-API-Key",
                         .token = GetParam().client == AuthMode::None ? nullptr : make_token()};
  auto client = h.client(client_options);
  EXPECT_EQ(h.read(*client, "feed").ids.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Taxii, AuthModes,
                         ::testing::Values(AuthCase{"basic", AuthScheme::Basic, AuthMode::Basic},
                                           AuthCase{"bearer", AuthScheme::Bearer, AuthMode::Bearer},
                                           AuthCase{"header", AuthScheme::Header, AuthMode::Header},
                                           AuthCase{"none", AuthScheme::None, AuthMode::None}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TaxiiAuth, BasicIsUserTaxiiWithTheTokenAsPassword) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 1, kStart));
  h.start();
  auto options = h.options();
  options.auth = {.mode = AuthMode::Basic, .user = "taxii", .header_name = {}, .token = make_token("abc")};
  auto client = h.client(options);
  client->collections();
  EXPECT_EQ(h.server.requests().back().authorization, "Basic dGF4aWk6YWJj");  // taxii:abc
}

TEST(TaxiiAuth, RejectedTokenSaysRevokedOrExpiredWithoutTheSecretAndIsNotRetried) {
  TestServerOptions server_options;
  server_options.auth = AuthScheme::Basic;
  server_options.secret = "another-token-entirely-0000";
  Harness h(server_options);
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.start();
  auto options = h.options();
  options.server_name = "the Kaspersky TAXII server";
  options.auth = {.mode = AuthMode::Basic, .user = "taxii", .header_name = {}, .token = make_token()};
  auto client = h.client(options);
  try {
    client->collections();
    FAIL() << "expected TokenRejectedError";
  } catch (const TokenRejectedError& error) {
    EXPECT_EQ(error.http_status(), 401);
    std::string text = error.what();
    EXPECT_EQ(text, token_rejected_message("the Kaspersky TAXII server", "kaspersky.api_token", 401));
    EXPECT_EQ(text.find(kSecret), std::string::npos);
  }
  EXPECT_EQ(h.server.requests().size(), 1u);
  EXPECT_EQ(h.clock.slept(), 0ms);
}

TEST(TaxiiAuth, TokenRevokedInTheMiddleOfAReadStopsIt) {
  TestServerOptions server_options;
  server_options.auth = AuthScheme::Bearer;
  server_options.secret = kSecret;
  server_options.max_page_size = 10;
  Harness h(server_options);
  h.server.add_collection(generate_collection("feed", "Feed", 30, kStart));
  h.server.inject({.kind = FaultKind::Forbidden, .skip = 1});
  h.start();
  auto options = h.options();
  options.auth = {.mode = AuthMode::Bearer, .user = {}, .header_name = {}, .token = make_token()};
  auto client = h.client(options);
  std::size_t delivered = 0;
  try {
    client->read_objects("feed", {}, [&](const Page& page) {
      delivered += page.objects.size();
      return true;
    });
    FAIL() << "expected TokenRejectedError";
  } catch (const TokenRejectedError& error) {
    EXPECT_EQ(error.http_status(), 403);
  }
  EXPECT_EQ(delivered, 10u);
}

TEST(TaxiiAuth, HtmlUnauthorizedPageWithoutATokenConfiguredSaysToConfigureOne) {
  TestServerOptions server_options;
  server_options.auth = AuthScheme::Basic;
  server_options.secret = kSecret;
  Harness h(server_options);
  h.start();
  auto client = h.client();
  try {
    client->collections();
    FAIL() << "expected ConfigurationError";
  } catch (const ConfigurationError& error) {
    std::string text = error.what();
    EXPECT_NE(text.find("401"), std::string::npos);
    EXPECT_NE(text.find("401 Unauthorized"), std::string::npos) << text;  // the HTML page's title
    EXPECT_NE(text.find("configure the token"), std::string::npos);
  }
}

TEST(TaxiiAuth, ExpiredTokenIsNeverSent) {
  TestServerOptions server_options;
  server_options.auth = AuthScheme::Basic;
  server_options.secret = kSecret;
  Harness h(server_options);
  h.start();
  auto options = h.options();
  options.auth = {.mode = AuthMode::Basic, .user = "taxii", .header_name = {},
                  .token = make_token(kSecret, std::chrono::sys_days{std::chrono::year{2026} / 3 / 1})};
  auto client = h.client(options);
  try {
    client->collections();
    FAIL() << "expected TokenError";
  } catch (const TokenError& error) {
    EXPECT_EQ(std::string(error.what()).find(kSecret), std::string::npos);
  }
  EXPECT_TRUE(h.server.requests().empty());
}

TEST(TaxiiAuth, TokenExpiringDuringBackoffIsNotSentOnTheRetry) {
  TestServerOptions server_options;
  server_options.auth = AuthScheme::Basic;
  server_options.secret = kSecret;
  Harness h(server_options);
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.server.inject({.kind = FaultKind::TooManyRequests, .retry_after_seconds = 7200});
  h.start();
  auto options = h.options();
  // Expires one hour after the clock's "now": the 2 h Retry-After wait crosses it.
  options.auth = {.mode = AuthMode::Basic, .user = "taxii", .header_name = {},
                  .token = make_token(kSecret, h.clock.now() + std::chrono::hours{1})};
  options.retry.max_retry_after = std::chrono::hours{3};
  auto client = h.client(options);
  EXPECT_THROW(h.read(*client, "feed"), TokenError);
  EXPECT_EQ(h.server.requests().size(), 1u);
}

}  // namespace
}  // namespace kfc::taxii::test
