// TAXII 2.0: /taxii/ discovery, 2.0 media types, bundles, Range paging (206, Content-Range, 416).
#include "harness.h"

namespace kfc::taxii::test {
namespace {

using testing::generate_collection;

TestServerOptions v20(std::size_t max_page_size = 100) {
  TestServerOptions options;
  options.protocol = testing::Protocol::V20;
  options.max_page_size = max_page_size;
  return options;
}

TEST(Taxii20, IsDetectedFromTheApiRootAndPagesWithRange) {
  Harness h(v20());
  auto feed = generate_collection("feed", "Feed", 45, kStart, 4);
  h.server.add_collection(feed);
  h.start();
  auto options = h.options();
  options.version = TaxiiVersion::Auto;
  options.page_limit = 10;
  auto client = h.client(options);

  auto collections = client->collections();
  EXPECT_EQ(client->version(), TaxiiVersion::V20);
  ASSERT_EQ(collections.size(), 1u);
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  EXPECT_EQ(got.page_sizes, (std::vector<std::size_t>{10, 10, 10, 10, 5}));

  auto requests = h.server.requests_to("/objects/");
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].range, "items=0-9");
  EXPECT_EQ(requests[4].range, "items=40-49");
  EXPECT_EQ(requests[0].accept, "application/vnd.oasis.stix+json; version=2.0");
  for (const auto& request : requests) EXPECT_EQ(request.status, 206);
}

TEST(Taxii20, ServerCappedRangesAreFollowedByContentRange) {
  Harness h(v20(/*max_page_size=*/7));
  auto feed = generate_collection("feed", "Feed", 20, kStart);
  h.server.add_collection(feed);
  h.start();
  auto options = h.options();
  options.version = TaxiiVersion::V20;
  options.page_limit = 50;
  auto client = h.client(options);
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  auto requests = h.server.requests_to("/objects/");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].range, "items=7-56");
}

TEST(Taxii20, EmptyAndPastTheEndAnswersEndTheRead) {
  Harness h(v20());
  h.server.add_collection(generate_collection("feed", "Feed", 10, kStart));
  h.start();
  auto options = h.options();
  options.version = TaxiiVersion::V20;
  options.page_limit = 10;  // exactly one full page: total says there is no more
  auto client = h.client(options);
  EXPECT_EQ(h.read(*client, "feed").ids.size(), 10u);
  EXPECT_EQ(h.server.requests_to("/objects/").size(), 1u);

  ObjectFilter late;
  late.added_after = kStart + 1h;
  EXPECT_TRUE(h.read(*client, "feed", late).ids.empty());
}

TEST(Taxii20, FailedRangeIsAskedAgainAndDiscoveryIsAtTaxii) {
  Harness h(v20());
  auto feed = generate_collection("feed", "Feed", 30, kStart);
  h.server.add_collection(feed);
  h.server.inject({.kind = FaultKind::DropMidBody, .skip = 1});
  h.start();
  auto options = h.options();
  options.version = TaxiiVersion::V20;
  options.page_limit = 10;
  auto client = h.client(options);
  EXPECT_EQ(client->discover().api_roots.front(), h.server.api_root_url());
  EXPECT_EQ(h.server.requests().front().path, "/taxii/");
  auto got = h.read(*client, "feed");
  EXPECT_EQ(got.ids, h.expected_ids(feed));
  auto requests = h.server.requests_to("/objects/");
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[1].range, "items=10-19");
  EXPECT_EQ(requests[2].range, "items=10-19");
}

TEST(Taxii20, ForcedV21AgainstA20ServerIsRefused) {
  Harness h(v20());
  h.start();
  auto client = h.client();  // V21
  EXPECT_THROW(client->api_root(), ProtocolError);  // 406 for the 2.1 media type
}

}  // namespace
}  // namespace kfc::taxii::test
