// Paging rules of TAXII 2.1 against the test server's real-server behaviours.
#include "harness.h"

namespace kfc::taxii::test {
namespace {

using testing::generate_collection;

TEST(TaxiiPaging, FollowsOneShotSessionNextWithOriginalFiltersAndLosesNothing) {
  Harness h({.max_page_size = 40});
  auto feed = generate_collection("feed", "TAXII_Demo_IP_Reputation_Data_Feed", 250, kStart, 7);  // groups straddle pages
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();

  ObjectFilter filter;
  filter.added_after = kStart - 1h;
  filter.limit = 40;
  filter.types = {"indicator"};
  auto got = h.read(*client, "feed", filter);

  EXPECT_EQ(got.ids, h.expected_ids(feed));
  EXPECT_TRUE(got.summary.completed);
  EXPECT_EQ(got.summary.stats.pages, 7u);
  EXPECT_EQ(got.summary.stats.duplicates, 0u);
  auto requests = h.server.requests_to("/objects/");
  ASSERT_EQ(requests.size(), 7u);
  const std::string session = requests[1].param("next");
  EXPECT_FALSE(session.empty());
  for (std::size_t i = 1; i < requests.size(); ++i) {
    // medallion keeps one id per session: progress is not judged by the token changing.
    EXPECT_EQ(requests[i].param("next"), session);
    EXPECT_EQ(requests[i].param("added_after"), requests[0].param("added_after"));
    EXPECT_EQ(requests[i].param("match[type]"), "indicator");
    EXPECT_EQ(requests[i].status, 200);
  }
  EXPECT_EQ(h.server.open_sessions(), 0u);
}

TEST(TaxiiPaging, SendsTaxii21AcceptOnEveryRequest) {
  Harness h;
  h.server.add_collection(generate_collection("feed", "Feed", 150, kStart));
  h.start();
  auto client = h.client();
  client->collections();
  h.read(*client, "feed");
  for (const auto& request : h.server.requests()) EXPECT_EQ(request.accept, "application/taxii+json;version=2.1");
}

TEST(TaxiiPaging, SilentlyCappedLimitStillReadsEverything) {
  Harness h({.default_page_size = 10, .max_page_size = 10});
  auto feed = generate_collection("feed", "Feed", 55, kStart);
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();
  ObjectFilter filter;
  filter.limit = 1000;  // the server answers 10 at a time without saying so
  auto got = h.read(*client, "feed", filter);
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  EXPECT_EQ(got.page_sizes, (std::vector<std::size_t>{10, 10, 10, 10, 10, 5}));
}

TEST(TaxiiPaging, KeysetNextIsFollowed) {
  Harness h({.max_page_size = 30, .next_style = NextStyle::Keyset});
  auto feed = generate_collection("feed", "Feed", 100, kStart, 4);
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  EXPECT_EQ(h.server.requests_to("/objects/").size(), 4u);
}

TEST(TaxiiPaging, MoreWithoutNextContinuesByTimestampWithoutSkippingTheBoundaryGroup) {
  // Groups of 5 objects share a date_added; pages of 8 cut through them. Resuming with
  // added_after = Date-Added-Last would skip the rest of each group.
  Harness h({.default_page_size = 8, .max_page_size = 8, .next_style = NextStyle::None});
  auto feed = generate_collection("feed", "Feed", 40, kStart, 5);
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));  // every object, once, in order
  EXPECT_GT(got.summary.stats.duplicates, 0u);  // the re-read boundary objects were dropped
  auto requests = h.server.requests_to("/objects/");
  ASSERT_GE(requests.size(), 2u);
  EXPECT_FALSE(requests[1].has("next"));
  // Just before the last page's Date-Added-Last (group 1 at kStart + 1 s).
  EXPECT_EQ(requests[1].param("added_after"), format_timestamp(kStart + 1s - 1us));
}

TEST(TaxiiPaging, ResumeInsideATimestampGroupSpanningPagesDeliversNothingTwice) {
  // Two groups of 30 objects sharing one date_added, pages of 10. Page 6 (the third page of the
  // second group) is lost: the client resumes from just before the group's timestamp and re-reads
  // its first 20 objects, which were delivered two pages ago and one page ago.
  Harness h({.max_page_size = 10});
  auto feed = generate_collection("feed", "Feed", 60, kStart, 30);
  h.server.add_collection(feed);
  h.server.inject({.kind = FaultKind::DropMidBody, .skip = 5});
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));  // every object once, in order
  EXPECT_EQ(got.summary.stats.duplicates, 20u);
  EXPECT_EQ(got.summary.stats.retries, 1u);
  auto requests = h.server.requests_to("/objects/");
  ASSERT_GE(requests.size(), 7u);
  EXPECT_FALSE(requests[6].has("next"));
  EXPECT_EQ(requests[6].param("added_after"), format_timestamp(kStart + 1s - 1us));
  EXPECT_EQ(got.summary.resume_after, kStart + 1s);
}

TEST(TaxiiPaging, RememberedBoundaryIdsAreBounded) {
  // Same loss as above, with room for 15 ids: the re-read delivers 5 objects twice (never loses one).
  Harness h({.max_page_size = 10});
  auto feed = generate_collection("feed", "Feed", 60, kStart, 30);
  h.server.add_collection(feed);
  h.server.inject({.kind = FaultKind::DropMidBody, .skip = 5});
  h.start();
  auto options = h.options();
  options.max_boundary_ids = 15;
  auto client = h.client(options);
  auto got = h.read(*client, "feed");
  auto expected = h.expected_ids(feed);
  EXPECT_EQ(got.unique(), std::set<std::string>(expected.begin(), expected.end()));
  EXPECT_EQ(got.ids.size(), 65u);
  EXPECT_EQ(got.summary.stats.duplicates, 15u);
}

TEST(TaxiiPaging, TimestampGroupLargerThanAPageWithoutNextIsReportedAsStuck) {
  Harness h({.default_page_size = 5, .max_page_size = 5, .next_style = NextStyle::None});
  h.server.add_collection(generate_collection("feed", "Feed", 12, kStart, 12));  // one group of 12
  h.start();
  auto client = h.client();
  EXPECT_THROW(h.read(*client, "feed"), StuckServerError);
  EXPECT_LE(h.server.requests_to("/objects/").size(), 5u);
}

TEST(TaxiiPaging, EmptyEnvelopeMeansNoObjects) {
  Harness h({.empty_answer = EmptyAnswer::EmptyEnvelope});
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  h.start();
  auto client = h.client();
  ObjectFilter filter;
  filter.added_after = kStart + 1h;  // nothing that late
  auto got = h.read(*client, "feed", filter);
  EXPECT_TRUE(got.ids.empty());
  EXPECT_TRUE(got.summary.completed);
  EXPECT_EQ(h.server.requests_to("/objects/").front().status, 200);
  // Without timestamps the checkpoint stays where it was.
  EXPECT_EQ(got.summary.resume_after, filter.added_after);
}

TEST(TaxiiPaging, KasperskyNotFoundOnAnEmptyWindowMeansZeroObjects) {
  Harness h({.empty_answer = EmptyAnswer::NotFound});
  h.server.add_collection(generate_collection("feed", "Feed", 5, kStart));
  h.start();
  auto client = h.client();
  ObjectFilter filter;
  filter.added_after = kStart + 1h;
  auto got = h.read(*client, "feed", filter);
  EXPECT_TRUE(got.ids.empty());
  EXPECT_TRUE(got.summary.completed);
  EXPECT_EQ(h.server.requests_to("/objects/").front().status, 404);
  EXPECT_EQ(got.summary.stats.retries, 0u);
}

TEST(TaxiiPaging, ResumePointsLetALaterReadContinueWithoutLoss) {
  Harness h({.max_page_size = 25});
  auto feed = generate_collection("feed", "Feed", 100, kStart, 10);  // page ends cut groups
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();

  auto first = h.read(*client, "feed", {}, /*stop_after=*/2);
  EXPECT_FALSE(first.summary.completed);
  ASSERT_EQ(first.ids.size(), 50u);
  ASSERT_TRUE(first.summary.resume_after);
  // Page 2 ended inside the group at kStart + 4 s: resume from just before it.
  EXPECT_EQ(*first.summary.resume_after, kStart + 4s - 1us);

  ObjectFilter resume;
  resume.added_after = first.summary.resume_after;
  auto second = h.read(*client, "feed", resume);
  EXPECT_TRUE(second.summary.completed);

  std::set<std::string> all = first.unique();
  all.insert(second.ids.begin(), second.ids.end());
  auto expected = h.expected_ids(feed);
  EXPECT_EQ(all, std::set<std::string>(expected.begin(), expected.end()));
  // Only the straddling group is delivered twice.
  EXPECT_EQ(first.ids.size() + second.ids.size(), 100u + 10u);
  // The final page's checkpoint is its last timestamp: nothing is re-read next time.
  EXPECT_EQ(*second.summary.resume_after, kStart + 9s);
}

TEST(TaxiiPaging, CallbackCanStopTheReadAndExceptionsPropagate) {
  Harness h({.max_page_size = 10});
  h.server.add_collection(generate_collection("feed", "Feed", 50, kStart));
  h.start();
  auto client = h.client();
  auto got = h.read(*client, "feed", {}, 1);
  EXPECT_EQ(got.ids.size(), 10u);
  EXPECT_FALSE(got.summary.completed);
  EXPECT_EQ(h.server.requests_to("/objects/").size(), 1u);

  EXPECT_THROW(client->read_objects("feed", {}, [](const Page&) -> bool { throw std::logic_error("sink down"); }),
               std::logic_error);
}

TEST(TaxiiPaging, MatchFiltersAreSentAndApplied) {
  Harness h;
  auto feed = generate_collection("feed", "Feed", 20, kStart);
  h.server.add_collection(feed);
  h.start();
  auto client = h.client();
  ObjectFilter filter;
  filter.ids = {feed.objects[3].id, feed.objects[7].id};
  filter.versions = {"all"};
  filter.spec_versions = {"2.1"};
  auto got = h.read(*client, "feed", filter);
  EXPECT_EQ(got.ids, (std::vector<std::string>{feed.objects[3].id, feed.objects[7].id}));
  auto request = h.server.requests_to("/objects/").front();
  EXPECT_EQ(request.param("match[id]"), feed.objects[3].id + "," + feed.objects[7].id);
  EXPECT_EQ(request.param("match[version]"), "all");
  EXPECT_EQ(request.param("match[spec_version]"), "2.1");
}

TEST(TaxiiPaging, StatisticsAccumulateOnTheClient) {
  Harness h({.max_page_size = 10});
  h.server.add_collection(generate_collection("a", "A", 15, kStart));
  h.server.add_collection(generate_collection("b", "B", 7, kStart));
  h.start();
  auto client = h.client();
  h.read(*client, "a");
  h.read(*client, "b");
  EXPECT_EQ(client->stats().objects, 22u);
  EXPECT_EQ(client->stats().pages, 3u);
  EXPECT_EQ(client->stats().requests, 3u);
  EXPECT_GT(client->stats().bytes, 0u);
}

TEST(TaxiiPaging, NextSessionsOfOneCollectionNeverLeakIntoAnother) {
  Harness h({.max_page_size = 10});
  auto a = generate_collection("a", "A", 25, kStart);
  auto b = generate_collection("b", "B", 25, kStart);
  h.server.add_collection(a);
  h.server.add_collection(b);
  h.start();
  auto client = h.client();
  h.read(*client, "a", {}, 1);  // stopped mid-session
  auto got = h.read(*client, "b");
  EXPECT_EQ(got.ids, h.expected_ids(b));
  EXPECT_FALSE(h.server.requests_to("/collections/b/objects/").front().has("next"));
}

}  // namespace
}  // namespace kfc::taxii::test
