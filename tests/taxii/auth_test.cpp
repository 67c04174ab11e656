// Credentials: Basic (Kaspersky: user "taxii"), Bearer, API-key header, none; expired tokens are
// never sent; 401/403 say the token was rejected, in the token component's words, without the secret.
#include "harness.h"

namespace kfc::taxii::test {
namespace {

using testing::generate_collection;

// A server that asks for kSecret in the `scheme` form.
TestServerOptions guarded_by(AuthScheme scheme) {
  TestServerOptions options;
  options.auth = scheme;
  options.secret = kSecret;
  options.header_name = "X-API-Key";
  return options;
}

// The harness's client options with `token` sent in the `mode` form (Basic as user "taxii", the
// API-key header as X-API-Key).
ClientOptions with_token(const Harness& h, AuthMode mode, TokenPtr token = make_token()) {
  ClientOptions options = h.options();
  options.auth = {.mode = mode,
                  .user = mode == AuthMode::Basic ? "taxii" : "",
                  .header_name = mode == AuthMode::Header ? "X-API-Key" : "",
                  .token = std::move(token)};
  return options;
}

struct AuthCase {
  const char* name;
  AuthScheme server;
  AuthMode client;
};

class AuthModes : public ::testing::TestWithParam<AuthCase> {};

TEST_P(AuthModes, TokenIsAcceptedInTheConfiguredForm) {
  Harness h(guarded_by(GetParam().server));
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.start();
  auto client = h.client(with_token(h, GetParam().client, GetParam().client == AuthMode::None ? nullptr : make_token()));
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
  auto client = h.client(with_token(h, AuthMode::Basic, make_token("abc")));
  client->collections();
  EXPECT_EQ(h.server.requests().back().authorization, "Basic dGF4aWk6YWJj");  // taxii:abc
}

TEST(TaxiiAuth, RejectedTokenSaysRevokedOrExpiredWithoutTheSecretAndIsNotRetried) {
  TestServerOptions server_options = guarded_by(AuthScheme::Basic);
  server_options.secret = "another-token-entirely-0000";
  Harness h(server_options);
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.start();
  auto options = with_token(h, AuthMode::Basic);
  options.server_name = "the Kaspersky TAXII server";
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
  // Revoked after page 1: every later request, the collection list included, answers 403.
  TestServerOptions server_options = guarded_by(AuthScheme::Bearer);
  server_options.max_page_size = 10;
  Harness h(server_options);
  h.server.add_collection(generate_collection("feed", "Feed", 30, kStart));
  h.server.inject({.kind = FaultKind::Forbidden, .path_contains = "/api1/", .skip = 1, .times = -1});
  h.start();
  auto client = h.client(with_token(h, AuthMode::Bearer));
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
  // Page 2 refused, then the collection list asked once to tell token from collection; no retries.
  EXPECT_EQ(h.server.requests_to("/objects/").size(), 2u);
  EXPECT_EQ(h.server.requests_to("/api1/collections/").size(), 3u);  // 2 objects + 1 list
  EXPECT_EQ(h.clock.slept(), 0ms);
}

TEST(TaxiiAuth, TokenRotatedAwayInTheMiddleOfAReadIs401Rejected) {
  TestServerOptions server_options = guarded_by(AuthScheme::Basic);
  server_options.max_page_size = 10;
  Harness h(server_options);
  h.server.add_collection(generate_collection("feed", "Feed", 30, kStart));
  h.start();
  auto client = h.client(with_token(h, AuthMode::Basic));
  try {
    client->read_objects("feed", {}, [&](const Page&) {
      h.server.set_secret("a-new-token-the-client-does-not-have");
      return true;
    });
    FAIL() << "expected TokenRejectedError";
  } catch (const TokenRejectedError& error) {
    EXPECT_EQ(error.http_status(), 401);
    EXPECT_EQ(std::string(error.what()).find(kSecret), std::string::npos);
  }
  EXPECT_EQ(h.server.requests().size(), 2u);  // a 401 is never retried nor probed
}

// A 403 on one collection while the same token still reads the collection list is about that
// collection (a feed outside the subscription), not a rejected token: the other collections go on.
TEST(TaxiiAuth, ForbiddenCollectionWhileTheListIsServedIsThatCollectionsErrorNotARejectedToken) {
  Harness h(guarded_by(AuthScheme::Basic));
  auto other = generate_collection("other", "TAXII_Demo_Botnet_CnC_URL_Data_Feed", 4, kStart);
  h.server.add_collection(generate_collection("paid", "TAXII_APT_Hash_Data_Feed", 4, kStart));
  h.server.add_collection(other);
  h.server.inject({.kind = FaultKind::Forbidden, .path_contains = "/collections/paid/objects/", .times = -1});
  h.start();
  auto client = h.client(with_token(h, AuthMode::Basic));
  try {
    h.read(*client, "paid");
    FAIL() << "expected CollectionAccessDeniedError";
  } catch (const CollectionAccessDeniedError& error) {
    EXPECT_EQ(error.status(), 403);
    EXPECT_EQ(error.collection_id(), "paid");
    EXPECT_EQ(error.body().title, "Forbidden");
    const std::string text = error.what();
    EXPECT_NE(text.find("collection paid"), std::string::npos) << text;
    EXPECT_NE(text.find("lists it as readable"), std::string::npos) << text;
    EXPECT_NE(text.find("subscription"), std::string::npos) << text;
    EXPECT_NE(text.find("kaspersky.collections"), std::string::npos) << text;
    EXPECT_NE(text.find(h.server.api_root_url() + "collections/paid/objects/"), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecret), std::string::npos);
  } catch (const TokenError& error) {
    FAIL() << "a 403 on one collection is not a rejected token: " << error.what();
  }
  EXPECT_EQ(h.server.requests_to("/collections/paid/objects/").size(), 1u);  // not retried
  EXPECT_EQ(h.clock.slept(), 0ms);
  EXPECT_EQ(h.read(*client, "other").ids, h.expected_ids(other));
}

TEST(TaxiiAuth, UnreadableCollectionWithATokenIsAnAccessErrorThatSaysCanReadFalse) {
  Harness h(guarded_by(AuthScheme::Header));
  auto closed = generate_collection("closed", "Closed", 2, kStart);
  closed.can_read = false;
  h.server.add_collection(closed);
  h.start();
  auto client = h.client(with_token(h, AuthMode::Header));
  try {
    h.read(*client, "closed");
    FAIL() << "expected CollectionAccessDeniedError";
  } catch (const CollectionAccessDeniedError& error) {
    EXPECT_NE(std::string(error.what()).find("can_read: false"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("is not readable with these credentials"), std::string::npos)
        << error.what();  // the server's own explanation
  }
}

TEST(TaxiiAuth, HtmlUnauthorizedPageWithoutATokenConfiguredSaysToConfigureOne) {
  Harness h(guarded_by(AuthScheme::Basic));
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
  Harness h(guarded_by(AuthScheme::Basic));
  h.start();
  auto client =
      h.client(with_token(h, AuthMode::Basic, make_token(kSecret, std::chrono::sys_days{std::chrono::year{2026} / 3 / 1})));
  try {
    client->collections();
    FAIL() << "expected TokenError";
  } catch (const TokenError& error) {
    EXPECT_EQ(std::string(error.what()).find(kSecret), std::string::npos);
  }
  EXPECT_TRUE(h.server.requests().empty());
}

TEST(TaxiiAuth, TokenExpiringDuringBackoffIsNotSentOnTheRetry) {
  Harness h(guarded_by(AuthScheme::Basic));
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.server.inject({.kind = FaultKind::TooManyRequests, .retry_after_seconds = 7200});
  h.start();
  // Expires one hour after the clock's "now": the 2 h Retry-After wait crosses it.
  auto options = with_token(h, AuthMode::Basic, make_token(kSecret, h.clock.now() + std::chrono::hours{1}));
  options.retry.max_retry_after = std::chrono::hours{3};
  auto client = h.client(options);
  EXPECT_THROW(h.read(*client, "feed"), TokenError);
  EXPECT_EQ(h.server.requests().size(), 1u);
}

}  // namespace
}  // namespace kfc::taxii::test
