#include "kfc/runner/token_gate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;
using Days = std::chrono::days;

const SystemTime kNow = SystemTime{std::chrono::seconds{1'800'000'000}};
constexpr std::string_view kSecret = "RECOGNISABLE-SECRET-4f9a2c";

TokenPtr inline_token(std::optional<SystemTime> expires_at, std::string value = std::string(kSecret)) {
  TokenSpec spec;
  spec.key = "kaspersky.api_token";
  spec.env_name = "KASPERSKY_API_TOKEN";
  spec.server = "the Kaspersky TAXII server";
  spec.origin = TokenOrigin::Inline;
  spec.value = Secret(std::move(value));
  spec.expires_at = expires_at;
  return std::make_shared<Token>(spec);
}

TEST(TokenGate, AValidTokenPassesAndReportsDaysLeft) {
  Metrics metrics;
  TokenGate gate(inline_token(kNow + Days{200}), 30, &metrics);
  const auto verdict = gate.check(kNow);
  EXPECT_TRUE(verdict.usable);
  EXPECT_FALSE(verdict.warning);
  EXPECT_EQ(verdict.days_left, 200);
  EXPECT_EQ(metrics.value(Metric::TokenDaysLeft, "kaspersky.api_token"), 200);
}

TEST(TokenGate, AnExpiredTokenStopsTheSourceSayingWhenAndWhereToRenew) {
  Metrics metrics;
  TokenGate gate(inline_token(kNow - Days{3}), 30, &metrics);
  const auto verdict = gate.check(kNow);
  EXPECT_FALSE(verdict.usable);
  EXPECT_NE(verdict.error.find("kaspersky.api_token"), std::string::npos) << verdict.error;
  EXPECT_NE(verdict.error.find("expired"), std::string::npos) << verdict.error;
  EXPECT_NE(verdict.error.find("Request token"), std::string::npos) << verdict.error;
  EXPECT_EQ(verdict.error.find(kSecret), std::string::npos);
  EXPECT_EQ(metrics.value(Metric::TokenDaysLeft, "kaspersky.api_token"), -3);
}

TEST(TokenGate, AnExpiringTokenWarnsEveryRunAndRemindsAtTheThresholds) {
  TokenGate gate(inline_token(kNow + Days{20}), 30);
  SystemTime now = kNow;
  auto reminded = [&] {
    const auto verdict = gate.check(now);
    EXPECT_TRUE(verdict.usable);
    EXPECT_TRUE(verdict.warning.has_value());  // every run inside the window warns
    return verdict.reminder;
  };
  EXPECT_TRUE(reminded());    // first check in the window: 20 days left
  EXPECT_FALSE(reminded());   // the next hourly run: a warning, not a reminder
  now += Days{12};            // 8 days left: still inside the 30-day reminder
  EXPECT_FALSE(reminded());
  now += Days{1};             // 7 days left
  EXPECT_TRUE(reminded());
  now += Days{3};
  EXPECT_FALSE(reminded());
  now += Days{3};             // 1 day left
  const auto last = gate.check(now);
  EXPECT_TRUE(last.reminder);
  ASSERT_TRUE(last.warning);
  EXPECT_NE(last.warning->find("1 day"), std::string::npos) << *last.warning;
  EXPECT_EQ(last.warning->find(kSecret), std::string::npos);
}

TEST(TokenGate, ATokenWithoutExpiryDateGetsAOneTimeNotice) {
  TokenGate gate(inline_token(std::nullopt), 30);
  const auto first = gate.check(kNow);
  EXPECT_TRUE(first.usable);
  ASSERT_TRUE(first.notice);
  EXPECT_NE(first.notice->find("kaspersky.api_token has no expiry date: expiry cannot be tracked"), std::string::npos)
      << *first.notice;
  EXPECT_NE(first.notice->find("kaspersky.api_token_expires_at"), std::string::npos) << *first.notice;
  EXPECT_EQ(first.notice->find(kSecret), std::string::npos);
  EXPECT_FALSE(gate.check(kNow + Days{1}).notice);  // once per process
}

TEST(TokenGate, APlaceholderTokenIsNotUsable) {
  TokenGate gate(inline_token(std::nullopt, "ChangeMe"), 30);
  const auto verdict = gate.check(kNow);
  EXPECT_FALSE(verdict.usable);
  EXPECT_NE(verdict.error.find("kaspersky.api_token"), std::string::npos) << verdict.error;
}

TEST(TokenGate, AFileBackedTokenIsReReadBeforeEachCheck) {
  const auto path = std::filesystem::temp_directory_path() / ("kfc-token-" + std::to_string(::getpid()));
  std::ofstream(path) << "FIRST-TOKEN-VALUE-1234567890\n";
  TokenSpec spec;
  spec.key = "kaspersky.api_token";
  spec.origin = TokenOrigin::File;
  spec.file_path = path.string();
  spec.value = Secret("FIRST-TOKEN-VALUE-1234567890");
  auto token = std::make_shared<Token>(spec);
  TokenGate gate(token, 30);
  EXPECT_TRUE(gate.check(kNow).usable);
  std::ofstream(path) << "SECOND-TOKEN-VALUE-0987654321\n";
  EXPECT_TRUE(gate.check(kNow).usable);
  EXPECT_EQ(token->secret().reveal(), "SECOND-TOKEN-VALUE-0987654321");
  std::filesystem::remove(path);
  const auto verdict = gate.check(kNow);
  EXPECT_FALSE(verdict.usable);
  EXPECT_NE(verdict.error.find(path.string()), std::string::npos) << verdict.error;
  EXPECT_EQ(verdict.error.find("SECOND-TOKEN"), std::string::npos);
}

}  // namespace
}  // namespace kfc::runner
