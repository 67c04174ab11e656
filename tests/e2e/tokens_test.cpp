// Tokens at run time, through the real binary: expired, expiring, rejected, rotated.
#include <signal.h>

#include <fstream>

#include "e2e_fixture.h"

namespace kfc::e2e {
namespace {

std::string date_in_days(int days) {
  const auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) + std::chrono::days{days};
  const std::chrono::year_month_day ymd{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

TEST_F(EndToEnd, AnExpiredTokenIsNeverSentAndTheWorkSaysWhenItExpiredAndWhereToRenew) {
  serve(feed(5, days_ago(2)));
  EXPECT_EQ(run_once({{"KASPERSKY_API_TOKEN_EXPIRES_AT", date_in_days(-3)}}), 1);
  EXPECT_TRUE(taxii_->requests().empty()) << "an expired token was sent";
  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work && work->processed_message);
  EXPECT_TRUE(work->in_error);
  EXPECT_NE(work->processed_message->find("expired"), std::string::npos) << *work->processed_message;
  EXPECT_NE(work->processed_message->find(date_in_days(-3)), std::string::npos) << *work->processed_message;
  EXPECT_NE(work->processed_message->find("Request token"), std::string::npos) << *work->processed_message;
  EXPECT_NE(last_stderr_.find("expired"), std::string::npos);
  EXPECT_EQ(work->processed_message->find(kTaxiiToken), std::string::npos);
}

TEST_F(EndToEnd, AnExpiringTokenWarnsWithTheDaysLeftAndStillRuns) {
  const auto collections = feed(5, days_ago(2));
  serve(collections);
  EXPECT_EQ(run_once({{"KASPERSKY_API_TOKEN_EXPIRES_AT", date_in_days(7)}}), 0) << last_stderr_;
  EXPECT_NE(last_stderr_.find("expires in"), std::string::npos) << last_stderr_;
  EXPECT_NE(last_stderr_.find("days"), std::string::npos);
  EXPECT_EQ(take_delivered(), ids_of(collections));
}

TEST_F(EndToEnd, ARejectedTokenEndsTheRunWithoutRetriesAndMovesNoCursor) {
  serve(feed(5, days_ago(2)), {.secret = "the-server-knows-another-token"});
  EXPECT_EQ(run_once(), 1);
  std::size_t objects_requests = taxii_->requests_to("/objects/").size();
  EXPECT_LE(taxii_->requests().size(), 1u) << "401 must not be retried";
  EXPECT_EQ(objects_requests, 0u);
  const auto work = opencti_->work(opencti_->last_work_id());
  ASSERT_TRUE(work && work->processed_message);
  EXPECT_TRUE(work->in_error);
  EXPECT_NE(work->processed_message->find("revoked or expired"), std::string::npos) << *work->processed_message;
  EXPECT_FALSE(opencti_->stored_state().has_value() && opencti_->stored_state()->find("collections") != std::string::npos);
}

TEST_F(EndToEnd, ARotatedTokenFileIsPickedUpByTheNextRunWithoutRestart) {
  const auto collections = feed(5, days_ago(2));
  const std::string fresh = "E2E-ROTATED-TOKEN-Zp4s91";
  serve(collections, {.secret = fresh});
  const auto token_file = directory_ / "taxii-token";
  std::ofstream(token_file) << kTaxiiToken << "\n";  // the old token: rejected
  auto env = environment();
  env.erase("KASPERSKY_API_TOKEN");
  env["KASPERSKY_API_TOKEN_FILE"] = token_file.string();
  env["CONNECTOR_DURATION_PERIOD"] = "PT2S";
  ConnectorProcess process({"run"}, env, directory_, "rotated");
  ASSERT_TRUE(process.wait_for_log("revoked or expired", 30s)) << process.err();
  std::ofstream(token_file) << fresh << "\n";  // the user rotates the token
  ASSERT_TRUE(process.wait_for_log("Connector queued", 30s)) << process.err();
  process.signal(SIGTERM);
  EXPECT_EQ(process.wait(10s), 0);
  const auto works = opencti_->works();
  ASSERT_GE(works.size(), 2u);
  EXPECT_TRUE(works.front().in_error);
  EXPECT_EQ(take_delivered(), ids_of(collections));
  EXPECT_EQ(process.err().find(fresh), std::string::npos);
  EXPECT_EQ(process.err().find(kTaxiiToken), std::string::npos);
}

}  // namespace
}  // namespace kfc::e2e
