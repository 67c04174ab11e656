// Transient failures are retried page by page (never from page 1, never by replaying a one-shot
// `next`); bad pages and bad objects are errors or skips, never crashes or silent loss.
#include <gmock/gmock.h>

#include <algorithm>

#include "harness.h"
#include "kfc/testing/bad_feed_objects.h"

namespace kfc::taxii::test {
namespace {

using testing::generate_collection;

struct FaultCase {
  const char* name;
  Fault fault;
};

class TransientFault : public ::testing::TestWithParam<FaultCase> {};

// The 3rd objects request (page 3) fails once; the read completes with every object exactly once,
// page 1 and 2 are not requested again, and the retry resumes by timestamp without `next`.
TEST_P(TransientFault, OnlyTheFailingPageIsReadAgain) {
  Harness h({.max_page_size = 20});
  auto feed = generate_collection("feed", "Feed", 100, kStart, 6);  // groups straddle page ends
  h.server.add_collection(feed);
  Fault fault = GetParam().fault;
  fault.skip = 2;
  h.server.inject(fault);
  h.start();
  auto options = h.options();
  http::CurlOptions curl;
  curl.total_timeout = 1500ms;  // for the Slow case
  auto client = h.client(options, curl);

  auto got = h.read(*client, "feed");

  EXPECT_EQ(got.ids, h.expected_ids(feed)) << GetParam().name;
  EXPECT_EQ(got.summary.stats.retries, 1u);
  EXPECT_GT(h.clock.slept(), 0ms);
  auto requests = h.server.requests_to("/objects/");
  ASSERT_GE(requests.size(), 4u);
  EXPECT_FALSE(requests[0].has("next"));
  EXPECT_TRUE(requests[2].has("next"));
  // The retry: no `next` (a one-shot cursor has moved on), from just before page 2's last timestamp.
  EXPECT_FALSE(requests[3].has("next"));
  EXPECT_EQ(requests[3].param("added_after"), format_timestamp(kStart + 6s - 1us));
  // Never restarted from the first page.
  for (std::size_t i = 1; i < requests.size(); ++i) EXPECT_TRUE(requests[i].has("next") || requests[i].has("added_after"));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, TransientFault,
    ::testing::Values(FaultCase{"500", {.kind = FaultKind::Status, .status = 500}},
                      FaultCase{"502", {.kind = FaultKind::Status, .status = 502}},
                      FaultCase{"503", {.kind = FaultKind::Status, .status = 503}},
                      FaultCase{"504", {.kind = FaultKind::Status, .status = 504}},
                      FaultCase{"html502", {.kind = FaultKind::HtmlStatus, .status = 502}},
                      FaultCase{"drop", {.kind = FaultKind::DropMidBody}},
                      FaultCase{"truncated", {.kind = FaultKind::TruncatedJson}},
                      FaultCase{"nonjson", {.kind = FaultKind::NonJson}},
                      FaultCase{"html200", {.kind = FaultKind::HtmlOk}},
                      FaultCase{"notenvelope", {.kind = FaultKind::NotEnvelope}},
                      FaultCase{"slow", {.kind = FaultKind::Slow, .delay = 4000ms}},
                      FaultCase{"expired", {.kind = FaultKind::ExpireSessions}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TaxiiFaults, RetryAfterIsHonoured) {
  Harness h({.max_page_size = 10});
  auto feed = generate_collection("feed", "Feed", 30, kStart);
  h.server.add_collection(feed);
  h.server.inject({.kind = FaultKind::TooManyRequests, .skip = 1, .retry_after_seconds = 42});
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  EXPECT_EQ(h.clock.slept(), 42000ms);
}

TEST(TaxiiFaults, RetryAfterIsCappedByPolicy) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.server.inject({.kind = FaultKind::TooManyRequests, .retry_after_seconds = 86400});
  h.start();
  auto options = h.options();
  options.retry.max_retry_after = 120000ms;
  auto client = h.client(options);
  h.read(*client, "feed");
  EXPECT_EQ(h.clock.slept(), 120000ms);
}

TEST(TaxiiFaults, BackoffGrowsExponentiallyWithJitterAndGivesUpAfterMaxAttempts) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.server.inject({.kind = FaultKind::Status, .times = -1, .status = 503});
  h.start();
  auto options = h.options();
  options.retry.max_attempts = 4;
  options.retry.initial_backoff = 1000ms;
  options.retry.jitter = 0.5;
  auto client = h.client(options);
  try {
    h.read(*client, "feed");
    FAIL() << "expected UnavailableError";
  } catch (const UnavailableError& error) {
    EXPECT_EQ(error.attempts(), 4);
    EXPECT_NE(std::string(error.what()).find("/collections/feed/objects/"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("HTTP 503"), std::string::npos);
  }
  EXPECT_EQ(h.server.requests_to("/objects/").size(), 4u);
  // 1 s + 2 s + 4 s, each shortened by at most half.
  EXPECT_GE(h.clock.slept(), 3500ms);
  EXPECT_LE(h.clock.slept(), 7000ms);
}

TEST(TaxiiFaults, ConnectionRefusedIsRetriedThenReported) {
  Harness h;
  h.start();
  auto options = h.options();
  options.api_root = "http://127.0.0.1:1/api1/";  // nothing listens on port 1
  options.retry.max_attempts = 2;
  auto client = h.client(options);
  EXPECT_THROW(client->collections(), UnavailableError);
  EXPECT_GT(h.clock.slept(), 0ms);
}

TEST(TaxiiFaults, StuckMoreTrueEndsWithAnErrorNotALoop) {
  Harness h({.max_page_size = 10});
  h.server.add_collection(generate_collection("feed", "Feed", 30, kStart));
  h.server.inject({.kind = FaultKind::StuckMore, .times = -1});
  h.start();
  auto client = h.client();
  try {
    h.read(*client, "feed");
    FAIL() << "expected StuckServerError";
  } catch (const StuckServerError& error) {
    EXPECT_NE(std::string(error.what()).find("/collections/feed/objects/"), std::string::npos);
  }
  EXPECT_EQ(h.server.requests_to("/objects/").size(), 4u);  // page 1 + 3 pages with nothing new
}

TEST(TaxiiFaults, HugePageIsAnErrorNotAnOutOfMemory) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  h.server.inject({.kind = FaultKind::HugePage, .times = -1, .bytes = 8u << 20});
  h.start();
  http::CurlOptions curl;
  curl.max_response_bytes = 1u << 20;
  auto client = h.client(h.options(), curl);
  try {
    h.read(*client, "feed");
    FAIL() << "expected ResponseTooLargeError";
  } catch (const ResponseTooLargeError& error) {
    EXPECT_NE(std::string(error.what()).find("kaspersky.max_response_mb"), std::string::npos);
  }
  EXPECT_EQ(h.server.requests_to("/objects/").size(), 1u);  // not retried
}

TEST(TaxiiFaults, UnreadablePageThatNeverHealsNamesTheUrlButNoCredentials) {
  TestServerOptions options;
  options.auth = AuthScheme::Basic;
  options.secret = kSecret;
  Harness h(options);
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  h.server.inject({.kind = FaultKind::TruncatedJson, .times = -1});
  h.start();
  auto client_options = h.options();
  client_options.auth = {.mode = AuthMode::Basic, .user = "taxii", .header_name = {}, .token = make_token()};
  client_options.retry.max_attempts = 2;
  auto client = h.client(client_options);
  try {
    h.read(*client, "feed");
    FAIL() << "expected UnreadableResponseError";
  } catch (const UnreadableResponseError& error) {
    std::string text = error.what();
    EXPECT_NE(text.find(h.server.api_root_url() + "collections/feed/objects/"), std::string::npos) << text;
    EXPECT_NE(text.find("invalid JSON at byte"), std::string::npos) << text;
    EXPECT_NE(text.find("Content-Type: application/taxii+json"), std::string::npos) << text;
    EXPECT_NE(text.find("unreadably"), std::string::npos) << text;
    // It arrived: the advice for an unreachable server would send the user the wrong way.
    EXPECT_EQ(text.find("reachable, or raise"), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecret), std::string::npos);
    EXPECT_EQ(text.find("added_after"), std::string::npos);  // the query string is not shown
    EXPECT_EQ(error.attempts(), 2);
    ASSERT_TRUE(error.offset().has_value());
    EXPECT_GT(*error.offset(), 0u);
    EXPECT_EQ(error.content_type().rfind("application/taxii+json", 0), 0u);
  }
}

TEST(TaxiiFaults, NonJsonAnswersAreUnreadableNotUnavailable) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  h.server.inject({.kind = FaultKind::HtmlOk, .times = -1});
  h.start();
  auto options = h.options();
  options.retry.max_attempts = 2;
  auto client = h.client(options);
  try {
    h.read(*client, "feed");
    FAIL() << "expected UnreadableResponseError";
  } catch (const UnreadableResponseError& error) {
    EXPECT_NE(std::string(error.what()).find("text/html"), std::string::npos) << error.what();
    EXPECT_FALSE(error.offset().has_value());
  }
}

// A lone surrogate escape and an invalid UTF-8 byte in two objects' descriptions: every object of
// the collection is delivered, the bad text as U+FFFD, and those two are counted as repaired.
TEST(TaxiiFaults, InvalidUnicodeInOneObjectIsRepairedThereOnly) {
  Harness h({.max_page_size = 4});
  auto feed = generate_collection("feed", "Feed", 10, kStart);
  testing::prepend_to_description(feed.objects[2], "lone \\ud800 surrogate;");
  testing::prepend_to_description(feed.objects[5], "bad \xff byte;");
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();
  std::vector<std::string> descriptions;
  auto summary = client->read_objects("feed", {}, [&](const Page& page) {
    for (const auto* object : page.objects) {
      std::string description = (*object)["description"].GetString();
      if (description.find("\xEF\xBF\xBD") != std::string::npos) descriptions.push_back(description.substr(0, description.find(';')));
    }
    return true;
  });
  EXPECT_EQ(summary.stats.objects, 10u);
  EXPECT_EQ(summary.stats.repaired, 2u);
  EXPECT_EQ(summary.stats.skipped, 0u);
  EXPECT_EQ(summary.stats.retries, 0u);
  EXPECT_THAT(descriptions, ::testing::UnorderedElementsAre("lone \xEF\xBF\xBD surrogate", "bad \xEF\xBF\xBD byte"));
}

// One object nested a million levels deep: that object is skipped with a clear reason, the objects
// after it on the same page are delivered.
TEST(TaxiiFaults, AMillionNestedArraysInOneObjectSkipsThatObjectOnly) {
  Harness h;
  auto feed = generate_collection("feed", "Feed", 6, kStart);
  auto& deep = feed.objects[1].json;
  deep.insert(deep.rfind('}'), R"(,"x_deep":)" + std::string(1'000'000, '[') + std::string(1'000'000, ']'));
  const std::string deep_id = feed.objects[1].id;
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed");
  auto expected = h.expected_ids(feed);
  expected.erase(std::remove(expected.begin(), expected.end(), deep_id), expected.end());
  EXPECT_EQ(got.ids, expected);
  EXPECT_EQ(got.summary.stats.skipped, 1u);
  EXPECT_EQ(got.summary.stats.retries, 0u);
}

// 10^30 seconds overflows any integer a naive parser multiplies it in: it is clamped (and then
// capped by the policy), never undefined behaviour (the sanitizer build aborts on that).
TEST(TaxiiFaults, HugeRetryAfterIsClampedToThePolicy) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 3, kStart));
  h.server.inject({.kind = FaultKind::TooManyRequests, .retry_after = "1000000000000000000000000000000"});
  h.start();
  auto options = h.options();
  options.retry.max_retry_after = 90000ms;
  auto client = h.client(options);
  h.read(*client, "feed");
  EXPECT_EQ(h.clock.slept(), 90000ms);
}

TEST(TaxiiFaults, BadObjectsAreSkippedCountedAndTheRestDelivered) {
  Harness h({.max_page_size = 10});
  auto feed = generate_collection("feed", "Feed", 25, kStart);
  h.server.add_collection(feed);
  h.server.inject({.kind = FaultKind::BadObjects, .skip = 1});
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  // A string, an object without id, one without type, one nested 100000 deep.
  EXPECT_EQ(got.summary.stats.skipped, 4u);
  EXPECT_EQ(got.summary.stats.retries, 0u);
}

TEST(TaxiiFaults, DeeplyNestedPageCannotCrashTheParser) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  h.server.inject({.kind = FaultKind::DeepNesting, .times = -1, .bytes = 1u << 20});
  h.start();
  auto options = h.options();
  options.retry.max_attempts = 2;
  auto client = h.client(options);
  try {
    h.read(*client, "feed");  // not an envelope, after retrying
    FAIL() << "expected UnreadableResponseError";
  } catch (const UnreadableResponseError& error) {
    EXPECT_NE(std::string(error.what()).find("nested deeper than 64 levels"), std::string::npos) << error.what();
  }
}

TEST(TaxiiFaults, ProtocolErrorsCarryTheServersExplanationAndAreNotRetried) {
  for (int status : {400, 406, 415, 422}) {
    Harness h;
    h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
    h.server.inject({.kind = FaultKind::Status, .status = status});
    h.start();
    auto client = h.client();
    try {
      h.read(*client, "feed");
      FAIL() << "expected ProtocolError for " << status;
    } catch (const ProtocolError& error) {
      EXPECT_EQ(error.status(), status);
      EXPECT_EQ(error.body().title, "Injected failure");
      EXPECT_EQ(error.body().description, "the test server was told to fail");
      EXPECT_NE(std::string(error.what()).find("Injected failure"), std::string::npos);
    }
    EXPECT_EQ(h.server.requests_to("/objects/").size(), 1u);
  }
}

TEST(TaxiiFaults, MalformedAddedAfterAnswer500IsNotMistakenForData) {
  // medallion answers a malformed added_after with 500; our client never sends one, but a 500 must
  // end in an error after the attempts, not in an empty "success".
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  h.server.inject({.kind = FaultKind::Status, .times = -1, .status = 500});
  h.start();
  auto options = h.options();
  options.retry.max_attempts = 2;
  auto client = h.client(options);
  EXPECT_THROW(h.read(*client, "feed"), UnavailableError);
}

}  // namespace
}  // namespace kfc::taxii::test
