// The publisher's bookkeeping without a broker: which messages go out again after a refusal, in
// which order, and when a ticket counts as confirmed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kfc/sinks/publish_ledger.h"

namespace kfc::sinks {
namespace {

// A bundle as the splitter orders it: (nb_deps, name) in ascending nb_deps.
std::vector<PublishLedger::NewMessage> bundle(std::initializer_list<std::pair<int, const char*>> messages) {
  std::vector<PublishLedger::NewMessage> out;
  for (const auto& [deps, name] : messages) out.push_back({deps, name});
  return out;
}

// Publishes everything that is waiting, tags from `first_tag`; returns the bodies in order.
std::vector<std::string> publish_all(PublishLedger& ledger, DeliveryTag& next_tag) {
  std::vector<std::string> sent;
  while (const std::string* body = ledger.next_body()) {
    sent.push_back(*body);
    ledger.published(next_tag++);
  }
  return sent;
}

TEST(PublishLedger, AllRanksGoOutBackToBackAndTicketsConfirmInOrder) {
  PublishLedger ledger;
  EXPECT_EQ(ledger.add_ticket(bundle({{1, "author"}, {2, "indicator"}, {3, "relationship"}})), 1u);
  EXPECT_EQ(ledger.add_ticket(bundle({{1, "author-2"}})), 2u);
  DeliveryTag tag = 1;
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"author", "indicator", "relationship", "author-2"}));
  EXPECT_EQ(ledger.in_flight(), 4u);
  ledger.ack(4, false);  // the second ticket first: not confirmed before the first
  EXPECT_EQ(ledger.confirmed_ticket(), 0u);
  ledger.ack(3, true);
  EXPECT_EQ(ledger.confirmed_ticket(), 2u);
  EXPECT_TRUE(ledger.idle());
  EXPECT_EQ(ledger.counts().confirmed, 4u);
  EXPECT_EQ(ledger.counts().republished, 0u);
}

TEST(PublishLedger, ANackRepublishesTheMessageAndEveryLaterHigherRankInOrder) {
  PublishLedger ledger;
  ledger.add_ticket(bundle({{1, "author"}, {2, "ind-a"}, {2, "ind-b"}, {3, "rel-a"}, {3, "rel-b"}}));
  ledger.add_ticket(bundle({{1, "next"}}));
  DeliveryTag tag = 1;
  publish_all(ledger, tag);
  // ind-a is refused after the relationships were already confirmed: they may depend on it.
  ledger.ack(1, false);
  ledger.ack(5, false);
  ledger.ack(4, false);
  ledger.nack(2, false);
  ledger.ack(3, false);  // ind-b: same rank as ind-a, independent of it
  ledger.ack(6, false);
  EXPECT_EQ(ledger.counts().nacked, 1u);
  EXPECT_EQ(ledger.counts().republished, 4u);  // ind-a, rel-a, rel-b, next
  EXPECT_EQ(ledger.confirmed_ticket(), 0u);
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"ind-a", "rel-a", "rel-b", "next"}));
  ledger.ack(10, true);
  EXPECT_EQ(ledger.confirmed_ticket(), 2u);
  EXPECT_TRUE(ledger.idle());
}

TEST(PublishLedger, ARefusalTakesPrecedenceOverNewMessagesAndStaleAcksAreIgnored) {
  PublishLedger ledger;
  ledger.add_ticket(bundle({{1, "a"}, {2, "b"}}));
  DeliveryTag tag = 1;
  publish_all(ledger, tag);                 // a=1, b=2
  ledger.nack(1, false);                    // a and b again
  ledger.add_ticket(bundle({{1, "c"}}));
  EXPECT_EQ(ledger.in_flight(), 0u);
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"a", "b", "c"}));  // 3, 4, 5
  ledger.ack(2, false);                     // b's first copy: stale, changes nothing
  EXPECT_EQ(ledger.counts().confirmed, 0u);
  EXPECT_EQ(ledger.in_flight(), 3u);
  ledger.ack(5, true);
  EXPECT_EQ(ledger.confirmed_ticket(), 2u);
  EXPECT_EQ(ledger.counts().confirmed, 3u);
}

TEST(PublishLedger, AReturnedMessageIsRefusedByItsAckMatchedByBody) {
  PublishLedger ledger;
  ledger.add_ticket(bundle({{1, "same"}, {1, "same"}, {2, "dep"}}));
  DeliveryTag tag = 1;
  publish_all(ledger, tag);
  ledger.returned("same");                  // the first of the two identical bodies (lowest tag)
  ledger.ack(3, true);
  EXPECT_EQ(ledger.counts().returned, 1u);
  EXPECT_EQ(ledger.counts().confirmed, 1u);  // tag 2 only: tag 1 was returned, dep depends on it
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"same", "dep"}));
}

TEST(PublishLedger, ALostConnectionRepublishesTheUnconfirmedAndWhatMayDependOnThem) {
  PublishLedger ledger;
  ledger.add_ticket(bundle({{1, "author"}, {2, "ind"}}));
  ledger.add_ticket(bundle({{1, "other"}}));
  DeliveryTag tag = 1;
  publish_all(ledger, tag);
  ledger.ack(2, false);  // ind confirmed, author not yet
  ledger.ack(3, false);
  ledger.connection_lost();
  EXPECT_EQ(ledger.in_flight(), 0u);
  tag = 1;  // a new connection numbers from 1
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"author", "ind", "other"}));
  ledger.ack(3, true);
  EXPECT_EQ(ledger.confirmed_ticket(), 2u);
}

TEST(PublishLedger, AMatcherFindsTheReturnedMessageByItsStoredBodyAndPosition) {
  PublishLedger ledger;
  ledger.add_ticket(bundle({{1, "x"}, {2, "y"}}));
  ledger.add_ticket(bundle({{1, "z"}}));
  std::vector<std::size_t> positions;
  DeliveryTag tag = 1;
  while (ledger.next_body() != nullptr) {
    positions.push_back(ledger.next_position());
    ledger.published(tag++);
  }
  EXPECT_EQ(positions, (std::vector<std::size_t>{0, 1, 0}));  // each ticket counts from 0
  // The wire bytes are made from body and position: only "y" at position 1 matches.
  ledger.returned([](const std::string& body, std::size_t position) { return body + std::to_string(position) == "y1"; });
  ledger.ack(3, true);
  EXPECT_EQ(ledger.counts().returned, 1u);
  EXPECT_EQ(ledger.counts().confirmed, 1u);  // x only: y was returned and z may depend on it
  std::vector<std::pair<std::string, std::size_t>> again;
  while (const std::string* body = ledger.next_body()) {
    again.emplace_back(*body, ledger.next_position());
    ledger.published(tag++);
  }
  EXPECT_EQ(again, (std::vector<std::pair<std::string, std::size_t>>{{"y", 1}, {"z", 0}}));
}

TEST(PublishLedger, ABodyIsReleasedOnceItAndEverythingBeforeItIsConfirmed) {
  PublishLedger ledger;
  ledger.add_ticket(bundle({{1, "aa"}, {2, "bbb"}, {3, "cccc"}}));
  EXPECT_EQ(ledger.retained_bytes(), 9u);
  DeliveryTag tag = 1;
  publish_all(ledger, tag);
  ledger.ack(2, false);  // bbb: aa is not confirmed yet, a refusal of aa would need bbb again
  EXPECT_EQ(ledger.retained_bytes(), 9u);
  ledger.ack(1, false);  // aa and bbb can never go out again; the ticket is still open
  EXPECT_EQ(ledger.retained_bytes(), 4u);
  EXPECT_EQ(ledger.retained(), 3u);
  EXPECT_EQ(ledger.confirmed_ticket(), 0u);
  ledger.nack(3, false);  // cccc alone goes out again, with its body
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"cccc"}));
  ledger.ack(4, false);
  EXPECT_EQ(ledger.confirmed_ticket(), 1u);
  EXPECT_EQ(ledger.retained_bytes(), 0u);
  EXPECT_TRUE(ledger.idle());
}

// Confirms answered one by one out of order stay answered: a repeated ack, an ack of a tag never
// used, and a multiple ack over them change nothing twice; a return and a lost connection only
// concern the flights still unanswered.
TEST(PublishLedger, OutOfOrderAnswersAreCountedOnce) {
  PublishLedger ledger;
  ledger.add_ticket(bundle({{1, "a"}, {1, "b"}, {1, "c"}, {1, "d"}, {1, "e"}}));
  DeliveryTag tag = 1;
  publish_all(ledger, tag);
  ledger.ack(3, false);
  ledger.ack(3, false);   // again: already answered
  ledger.ack(42, false);  // never published
  EXPECT_EQ(ledger.counts().confirmed, 1u);
  EXPECT_EQ(ledger.in_flight(), 4u);
  ledger.ack(4, true);    // 1, 2 and 4; 3 was answered before
  EXPECT_EQ(ledger.counts().confirmed, 4u);
  EXPECT_EQ(ledger.in_flight(), 1u);
  ledger.returned("e");   // the one flight left
  ledger.ack(5, false);   // acked after its return: refused, goes out again
  EXPECT_EQ(ledger.counts().confirmed, 4u);
  EXPECT_EQ(ledger.counts().republished, 1u);
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"e"}));
  ledger.connection_lost();  // e (tag 6) is unanswered: queued again, nothing else
  EXPECT_EQ(ledger.counts().republished, 2u);
  tag = 1;
  EXPECT_EQ(publish_all(ledger, tag), (std::vector<std::string>{"e"}));
  ledger.ack(1, false);
  EXPECT_EQ(ledger.confirmed_ticket(), 1u);
  EXPECT_TRUE(ledger.idle());
}

TEST(PublishLedger, EmptyTicketsConfirmWithTheirPredecessors) {
  PublishLedger ledger;
  ledger.add_ticket({});
  EXPECT_EQ(ledger.confirmed_ticket(), 1u);
  ledger.add_ticket(bundle({{1, "x"}}));
  ledger.add_ticket({});
  EXPECT_EQ(ledger.confirmed_ticket(), 1u);
  DeliveryTag tag = 1;
  publish_all(ledger, tag);
  ledger.ack(1, false);
  EXPECT_EQ(ledger.confirmed_ticket(), 3u);
  EXPECT_EQ(ledger.retained(), 0u);
}

}  // namespace
}  // namespace kfc::sinks
