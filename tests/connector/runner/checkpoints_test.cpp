#include "kfc/runner/checkpoints.h"

#include <gtest/gtest.h>

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;

const SystemTime T0 = SystemTime{std::chrono::seconds{1'800'000'000}};

TEST(Checkpoints, APageMovesOnlyOnceAllItsObjectsAreInConfirmedBatches) {
  Checkpoints checkpoints;
  checkpoints.page_read("c1", 100, T0 + 1s);   // objects 1..100
  checkpoints.page_read("c1", 200, T0 + 2s);   // objects 101..200
  checkpoints.batch_sent(150, 1);              // a batch of objects 1..150, ticket 1
  EXPECT_TRUE(checkpoints.confirm(0).empty()); // nothing confirmed yet
  auto moved = checkpoints.confirm(1);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved.at("c1"), T0 + 1s);          // page 2 is only half confirmed
  EXPECT_EQ(checkpoints.confirmed_objects(), 150u);
  checkpoints.batch_sent(200, 2);
  EXPECT_TRUE(checkpoints.confirm(1).empty());
  EXPECT_EQ(checkpoints.confirm(2).at("c1"), T0 + 2s);
}

TEST(Checkpoints, BatchesSpanningCollectionsMoveEachCollection) {
  Checkpoints checkpoints;
  checkpoints.page_read("c1", 30, T0 + 1s);
  checkpoints.page_read("c2", 50, T0 + 5s);
  checkpoints.page_read("c2", 80, T0 + 6s);
  checkpoints.batch_sent(40, 3);
  checkpoints.batch_sent(80, 5);
  auto moved = checkpoints.confirm(5);  // confirmations arrive together
  EXPECT_EQ(moved.at("c1"), T0 + 1s);
  EXPECT_EQ(moved.at("c2"), T0 + 6s);   // the latest of c2
}

TEST(Checkpoints, APageWithoutResumePointKeepsThePreviousCursor) {
  Checkpoints checkpoints;
  checkpoints.page_read("c1", 10, std::nullopt);
  checkpoints.batch_sent(10, 1);
  EXPECT_TRUE(checkpoints.confirm(1).empty());
  EXPECT_EQ(checkpoints.confirmed_objects(), 10u);
}

TEST(Checkpoints, AnEmptyBatchRidesOnThePreviousTicket) {
  Checkpoints checkpoints;
  checkpoints.page_read("c1", 10, T0);
  checkpoints.page_read("c1", 20, T0 + 1s);
  checkpoints.batch_sent(10, 7);
  checkpoints.batch_sent(20, std::nullopt);  // mapped to nothing: no bundle
  EXPECT_TRUE(checkpoints.confirm(6).empty());
  EXPECT_EQ(checkpoints.confirm(7).at("c1"), T0 + 1s);
}

TEST(Checkpoints, EmptyBatchesBeforeAnyTicketAreConfirmedAtOnce) {
  Checkpoints checkpoints;
  checkpoints.page_read("c1", 5, T0);
  checkpoints.batch_sent(5, std::nullopt);
  EXPECT_EQ(checkpoints.confirm(0).at("c1"), T0);
}

TEST(Checkpoints, NothingUnconfirmedSurvivesADeliveryError) {
  Checkpoints checkpoints;
  checkpoints.page_read("c1", 10, T0);
  checkpoints.batch_sent(10, 1);
  checkpoints.drop_unconfirmed();
  EXPECT_TRUE(checkpoints.confirm(1).empty());
  EXPECT_EQ(checkpoints.confirmed_objects(), 0u);
}

}  // namespace
}  // namespace kfc::runner
