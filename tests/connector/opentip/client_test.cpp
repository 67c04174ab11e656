// The OpenTIP client against the stand-in OpenTIP server on loopback, through the real libcurl
// transport; time is a ManualClock so retries, cool-downs and the rate limit cost no real time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/opentip_server.h"
#include "kfc/fixtures/tokens.h"
#include "kfc/opentip/client.h"

namespace kfc::opentip {
namespace {

using fixtures::OpenTipServer;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kApiKey = "OPENTIP-SECRET-KEY-7f3a9c1d2e";

TokenPtr make_key(std::string value, std::optional<SystemTime> expires_at = std::nullopt) {
  return fixtures::inline_token("opentip.api_key", "OPENTIP_API_KEY", std::string(OpenTipSettings::kServerName),
                                std::move(value), expires_at);
}

class ClientTest : public ::testing::Test {
 protected:
  ClientOptions options(int per_minute = 0) {
    ClientOptions o;
    o.base_url = server_.base_url();
    o.api_key = key_;
    o.max_requests_per_minute = per_minute;
    return o;
  }
  Client make_client(ClientOptions o, ResultCache* cache = nullptr) { return Client(std::move(o), *transport_, clock_, cache); }

  // What a lookup throws when OpenTIP answers it with 403 (quota or request limit exhausted).
  QuotaExceededError quota_exceeded(Client& client) {
    server_.fail_next(403);
    try {
      client.lookup(OpenTipServer::kGreenIp);
    } catch (const QuotaExceededError& error) {
      return error;
    }
    ADD_FAILURE() << "expected QuotaExceededError";
    return QuotaExceededError("no error", SystemTime{});
  }

  // The red IP looked up once OpenTIP answered `status` with this Retry-After: the client must get
  // there on its second request; returns what it waited on the clock in between.
  Duration wait_before_the_retry(int status, const std::string& retry_after) {
    Client client = make_client(options());
    server_.fail_next_with_retry_after(status, 1, retry_after);
    EXPECT_EQ(client.lookup(OpenTipServer::kRedIp).zone, Zone::Red);
    EXPECT_EQ(server_.request_count(), 2);
    return clock_.slept();
  }

  OpenTipServer server_{kApiKey};
  ManualClock clock_{std::chrono::sys_days{std::chrono::year{2026} / 3 / 10} + 9h};
  TokenPtr key_ = make_key(kApiKey, std::chrono::sys_days{std::chrono::year{2026} / 12 / 31});
  std::unique_ptr<http::Transport> transport_ = http::make_curl_transport({});
};

TEST_F(ClientTest, HashLookupIsTypedAndSendsTheKeyHeader) {
  Client client = make_client(options());
  LookupResult result = client.lookup(OpenTipServer::kRedMd5);
  EXPECT_TRUE(result.found);
  EXPECT_EQ(result.zone, Zone::Red);
  ASSERT_TRUE(result.file);
  EXPECT_EQ(result.file->status, "Malware");
  EXPECT_EQ(result.file->sha256, "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F");
  EXPECT_EQ(result.file->size, 68u);
  EXPECT_EQ(result.file->hits_count, 100000u);
  ASSERT_EQ(result.detections.size(), 2u);
  EXPECT_EQ(result.detections[0].name, "EICAR-Test-File");
  EXPECT_EQ(result.detections[0].method, "Signature");
  EXPECT_EQ(result.detections[0].zone, Zone::Red);
  EXPECT_EQ(result.detections[0].description_url, "https://threats.kaspersky.com/en/threat/EICAR-Test-File/");
  EXPECT_THAT(result.raw_json, HasSubstr("FileGeneralInfo"));

  auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/api/v1/search/hash");
  EXPECT_EQ(requests[0].request, OpenTipServer::kRedMd5);
  EXPECT_EQ(requests[0].api_key, kApiKey);
}

// An answer nested a million levels deep fails that lookup with the reason; the next one works.
TEST_F(ClientTest, AMillionNestedArraysInAnAnswerFailsThatLookupOnly) {
  server_.set_answer("ip", OpenTipServer::kRedIp, std::string(1'000'000, '[') + std::string(1'000'000, ']'));
  Client client = make_client(options());
  try {
    client.lookup(OpenTipServer::kRedIp);
    FAIL() << "expected ResponseFormatError";
  } catch (const ResponseFormatError& error) {
    EXPECT_THAT(std::string(error.what()), HasSubstr("nested deeper than 64 levels"));
  }
  EXPECT_EQ(client.lookup(OpenTipServer::kRedMd5).zone, Zone::Red);
}

TEST_F(ClientTest, IpLookupHasCategoriesAndWhois) {
  Client client = make_client(options());
  LookupResult result = client.lookup(OpenTipServer::kRedIp);
  EXPECT_EQ(result.query.kind, ValueKind::Ipv4);
  EXPECT_EQ(result.zone, Zone::Red);
  EXPECT_THAT(result.categories, ::testing::ElementsAre("CATEGORY_MALWARE", "CATEGORY_BOTNET_CNC"));
  ASSERT_EQ(result.categories_with_zone.size(), 2u);
  EXPECT_EQ(result.categories_with_zone[1].zone, Zone::Red);
  ASSERT_TRUE(result.network);
  EXPECT_EQ(result.network->country_code, "NL");
  EXPECT_EQ(result.network->hits_count, 1000u);
  ASSERT_TRUE(result.whois);
  EXPECT_THAT(result.whois->asns, ::testing::ElementsAre("AS64500 EXAMPLE-TRANSIT-AS Example Transit B.V."));
  EXPECT_EQ(result.whois->net_name, "TEST-NET-3");
  EXPECT_EQ(result.whois->net_range, "203.0.113.0 - 203.0.113.255");
}

TEST_F(ClientTest, UnknownIpIsGreyAndIpv6IsSentCanonical) {
  Client client = make_client(options());
  LookupResult result = client.lookup("2001:DB8:0::1");
  EXPECT_TRUE(result.found);
  EXPECT_EQ(result.zone, Zone::Grey);
  EXPECT_EQ(server_.requests().back().request, "2001:db8::1");
  EXPECT_EQ(server_.requests().back().path, "/api/v1/search/ip");
}

TEST_F(ClientTest, DomainLookupHasOrangeZoneAndRegistrar) {
  Client client = make_client(options());
  LookupResult result = client.lookup("Phish.Example.com");
  EXPECT_EQ(result.zone, Zone::Orange);
  EXPECT_THAT(result.categories, ::testing::ElementsAre("CATEGORY_PHISHING"));
  ASSERT_TRUE(result.network);
  EXPECT_EQ(result.network->domain, "phish.example.com");
  EXPECT_EQ(result.network->urls_count, 12u);
  ASSERT_TRUE(result.whois);
  EXPECT_EQ(result.whois->registrar, "RESERVED-Internet Assigned Numbers Authority");
  EXPECT_EQ(result.whois->registrant_organization, "Internet Assigned Numbers Authority");
  EXPECT_THAT(result.whois->name_servers, ::testing::ElementsAre("a.iana-servers.net", "b.iana-servers.net"));
  EXPECT_EQ(result.portal_url(), "https://opentip.kaspersky.com/phish.example.com/");
}

TEST_F(ClientTest, UrlLookupIsSentEncoded) {
  Client client = make_client(options());
  LookupResult result = client.lookup(OpenTipServer::kRedUrl);
  EXPECT_EQ(result.zone, Zone::Red);
  ASSERT_TRUE(result.network);
  EXPECT_EQ(result.network->host, "phish.example.com");
  EXPECT_EQ(server_.requests().back().request, OpenTipServer::kRedUrl);
  EXPECT_THAT(client.endpoint_url(result.query), HasSubstr("search/url?request=http%3A%2F%2Fphish.example.com"));
}

TEST_F(ClientTest, NotFoundAndUnknownHashAreNoData) {
  Client client = make_client(options());
  LookupResult domain = client.lookup("never-seen.example.org");
  EXPECT_FALSE(domain.found);
  EXPECT_FALSE(domain.zone);
  LookupResult hash = client.lookup("00000000000000000000000000000000");
  EXPECT_FALSE(hash.found);
  EXPECT_EQ(server_.request_count(), 2);
}

TEST_F(ClientTest, InvalidValueSpendsNoRequest) {
  Client client = make_client(options());
  EXPECT_THROW(client.lookup("not a value at all"), InvalidValueError);
  EXPECT_EQ(server_.request_count(), 0);
}

TEST_F(ClientTest, BadRequestOnNonHashIsAnError) {
  Client client = make_client(options());
  server_.fail_next(400);
  try {
    client.lookup("kaspersky.com");
    FAIL() << "expected BadRequestError";
  } catch (const BadRequestError& error) {
    EXPECT_THAT(error.what(), HasSubstr("HTTP 400"));
    EXPECT_THAT(error.what(), HasSubstr("kaspersky.com"));
  }
}

TEST_F(ClientTest, RejectedKeyIsTheTokenComponentsErrorWithoutTheSecretAndNoRetry) {
  server_.set_api_key("a-different-key-0000");
  Client client = make_client(options());
  try {
    client.lookup(OpenTipServer::kGreenIp);
    FAIL() << "expected TokenRejectedError";
  } catch (const TokenRejectedError& error) {
    EXPECT_EQ(error.http_status(), 401);
    EXPECT_THAT(error.what(), HasSubstr("opentip.api_key"));
    EXPECT_THAT(error.what(), Not(HasSubstr(kApiKey)));
  }
  EXPECT_EQ(server_.request_count(), 1);
}

TEST_F(ClientTest, ExpiredKeyIsNeverSent) {
  key_ = make_key(kApiKey, std::chrono::sys_days{std::chrono::year{2026} / 1 / 1});
  Client client = make_client(options());
  try {
    client.lookup(OpenTipServer::kGreenIp);
    FAIL() << "expected TokenError";
  } catch (const TokenError& error) {
    EXPECT_THAT(error.what(), Not(HasSubstr(kApiKey)));
  }
  EXPECT_EQ(server_.request_count(), 0);
}

TEST_F(ClientTest, QuotaExceededStopsRequestsUntilTheCooldownEnds) {
  ClientOptions o = options();
  o.quota_cooldown = 2h;
  Client client = make_client(o);
  const QuotaExceededError error = quota_exceeded(client);
  EXPECT_EQ(error.until(), clock_.now() + 2h);
  EXPECT_THAT(error.what(), HasSubstr("quota"));
  EXPECT_THAT(error.what(), HasSubstr("2026-03-10T11:00:00Z"));
  clock_.advance(1h);
  EXPECT_THROW(client.lookup(OpenTipServer::kRedIp), QuotaExceededError);
  EXPECT_EQ(server_.request_count(), 1);  // the blocked lookup sent nothing
  clock_.advance(1h);
  EXPECT_EQ(client.lookup(OpenTipServer::kRedIp).zone, Zone::Red);
  EXPECT_EQ(server_.request_count(), 2);
}

TEST_F(ClientTest, ZeroCooldownBlocksUntilNextUtcMidnight) {
  ClientOptions o = options();
  o.quota_cooldown = 0s;
  Client client = make_client(o);
  EXPECT_EQ(quota_exceeded(client).until(), std::chrono::sys_days{std::chrono::year{2026} / 3 / 11});
}

TEST_F(ClientTest, QuotaBlockIsSharedThroughTheCache) {
  MemoryCache cache(1h);
  server_.fail_next(403);
  {
    Client first = make_client(options(), &cache);
    EXPECT_THROW(first.lookup(OpenTipServer::kGreenIp), QuotaExceededError);
  }
  Client second = make_client(options(), &cache);
  EXPECT_THROW(second.lookup(OpenTipServer::kRedIp), QuotaExceededError);
  EXPECT_EQ(server_.request_count(), 1);
}

TEST_F(ClientTest, TooManyRequestsHonoursRetryAfter) {
  Client client = make_client(options());
  server_.fail_next(429, 2, 7);
  EXPECT_EQ(client.lookup(OpenTipServer::kRedIp).zone, Zone::Red);
  EXPECT_EQ(server_.request_count(), 3);
  EXPECT_EQ(clock_.slept(), 14s);
}

// RFC 9110 allows Retry-After as an HTTP date; the wait is measured on the client's clock (09:00:00).
TEST_F(ClientTest, RetryAfterAsAnHttpDateWaitsUntilThatTime) {
  EXPECT_EQ(wait_before_the_retry(429, "Tue, 10 Mar 2026 09:00:30 GMT"), 30s);
}

TEST_F(ClientTest, RetryAfterDateInThePastRetriesAtOnce) {
  EXPECT_EQ(wait_before_the_retry(503, "Mon, 09 Mar 2026 23:59:59 GMT"), 0s);
}

TEST_F(ClientTest, RetryAfterDateBeyondTheLimitGivesUpAtOnce) {
  Client client = make_client(options());
  server_.fail_next_with_retry_after(429, 1, "Wed, 11 Mar 2026 09:00:00 GMT");
  try {
    client.lookup(OpenTipServer::kRedIp);
    FAIL() << "expected ServiceUnavailableError";
  } catch (const ServiceUnavailableError& error) {
    EXPECT_THAT(error.what(), HasSubstr("retry after 86400 s"));
  }
  EXPECT_EQ(server_.request_count(), 1);
  EXPECT_EQ(clock_.slept(), 0s);
}

TEST_F(ClientTest, MalformedRetryAfterFallsBackToOurBackoff) {
  EXPECT_EQ(wait_before_the_retry(429, "soon-ish"), 2s);  // ClientOptions::retry.initial_backoff
}

TEST_F(ClientTest, ServerErrorsBackOffExponentiallyThenGiveUp) {
  ClientOptions o = options();
  o.retry.max_attempts = 4;
  Client client = make_client(o);
  server_.fail_next(503, 10);
  try {
    client.lookup(OpenTipServer::kRedIp);
    FAIL() << "expected ServiceUnavailableError";
  } catch (const ServiceUnavailableError& error) {
    EXPECT_THAT(error.what(), HasSubstr("4 attempts"));
    EXPECT_THAT(error.what(), HasSubstr("HTTP 503"));
  }
  EXPECT_EQ(server_.request_count(), 4);
  EXPECT_EQ(clock_.slept(), 2s + 4s + 8s);
}

TEST_F(ClientTest, RetryAfterBeyondTheLimitGivesUpAtOnce) {
  Client client = make_client(options());
  server_.fail_next(429, 1, 3600);
  EXPECT_THROW(client.lookup(OpenTipServer::kRedIp), ServiceUnavailableError);
  EXPECT_EQ(server_.request_count(), 1);
  EXPECT_EQ(clock_.slept(), 0s);
}

TEST_F(ClientTest, UnreachableServerIsRetriedThenReported) {
  ClientOptions o = options();
  o.base_url = "http://127.0.0.1:1/api/v1/";
  o.retry.max_attempts = 2;
  Client client = make_client(o);
  EXPECT_THROW(client.lookup(OpenTipServer::kRedIp), ServiceUnavailableError);
  EXPECT_EQ(clock_.slept(), 2s);
}

TEST_F(ClientTest, CacheAnswersRepeatsUntilTheTtlEnds) {
  MemoryCache cache(1h);
  Client client = make_client(options(), &cache);
  EXPECT_FALSE(client.lookup(OpenTipServer::kRedSha256).from_cache);
  LookupResult again = client.lookup(OpenTipServer::kRedSha256);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.zone, Zone::Red);
  EXPECT_EQ(again.detections.size(), 2u);
  EXPECT_FALSE(client.lookup("never-seen.example.org").found);
  EXPECT_FALSE(client.lookup("NEVER-seen.example.org").found);  // no data is cached too, under the normalised key
  EXPECT_EQ(server_.request_count(), 2);
  clock_.advance(1h);
  EXPECT_FALSE(client.lookup(OpenTipServer::kRedSha256).from_cache);
  EXPECT_EQ(server_.request_count(), 3);
}

TEST_F(ClientTest, ErrorsAreNotCached) {
  MemoryCache cache(1h);
  Client client = make_client(options(), &cache);
  server_.fail_next(400);
  EXPECT_THROW(client.lookup("kaspersky.com"), BadRequestError);
  EXPECT_EQ(client.lookup("kaspersky.com").zone, Zone::Green);
  EXPECT_EQ(server_.request_count(), 2);
}

TEST_F(ClientTest, RateLimitWaitsOnTheClock) {
  Client client = make_client(options(2));
  client.lookup(OpenTipServer::kRedIp);
  client.lookup(OpenTipServer::kGreenIp);
  EXPECT_EQ(clock_.slept(), 0s);
  client.lookup(OpenTipServer::kRedMd5);
  EXPECT_EQ(clock_.slept(), 60s);
  EXPECT_EQ(server_.request_count(), 3);
}

TEST_F(ClientTest, MalformedAnswerIsAFormatError) {
  server_.set_answer("domain", "broken.example", "<html>maintenance</html>");
  Client client = make_client(options());
  EXPECT_THROW(client.lookup("broken.example"), ResponseFormatError);
}

TEST(ClientOptionsTest, HttpsRequiredUnlessAllowed) {
  OpenTipSettings settings;
  settings.api_key = make_key(kApiKey);
  settings.url = "http://127.0.0.1:9/api/v1";
  try {
    client_options(settings);
    FAIL() << "plain http accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), HasSubstr("opentip.url"));
    EXPECT_THAT(error.what(), HasSubstr("opentip.allow_insecure_http"));
  }
  settings.allow_insecure_http = true;
  EXPECT_EQ(client_options(settings).base_url, "http://127.0.0.1:9/api/v1/");
  settings.url = "ftp://opentip.example/";
  EXPECT_THROW(client_options(settings), std::invalid_argument);
}

TEST(ClientOptionsTest, MissingKeyNamesWhereToGetOne) {
  OpenTipSettings settings;
  try {
    client_options(settings);
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), HasSubstr("opentip.api_key"));
    EXPECT_THAT(error.what(), HasSubstr("Request token"));
  }
}

}  // namespace
}  // namespace kfc::opentip
