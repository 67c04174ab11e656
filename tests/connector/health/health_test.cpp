// The health verdict: what makes /healthz answer 503, and what brings it back to 200.
#include "kfc/fixtures/manual_clock.h"
#include "kfc/health/health.h"

#include <gtest/gtest.h>

#include "kfc/config/token.h"
#include "kfc/health/metrics.h"
#include "kfc/health/token_gate.h"

namespace kfc::health {
namespace {

using namespace std::chrono_literals;

const SystemTime kStart{std::chrono::seconds{1800000000}};

bool says(const Verdict& verdict, const std::string& part) {
  for (const auto& reason : verdict.reasons) {
    if (reason.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(Health, HealthyBeforeAnythingHappened) {
  ManualClock clock(kStart);
  Health health(clock);
  const Verdict verdict = health.verdict();
  EXPECT_TRUE(verdict.healthy);
  EXPECT_NE(verdict.json.find(R"("status":"ok")"), std::string::npos) << verdict.json;
}

TEST(Health, AFailedRunIsUnhealthyUntilARunSucceeds) {
  ManualClock clock(kStart);
  Health health(clock);
  health.run_started();
  health.run_finished(false, "TAXII server unreachable");
  Verdict verdict = health.verdict();
  EXPECT_FALSE(verdict.healthy);
  EXPECT_TRUE(says(verdict, "the last run failed: TAXII server unreachable")) << verdict.json;
  health.run_started();
  EXPECT_TRUE(health.verdict().healthy) << "a run in progress is healthy";
  health.run_finished(true);
  verdict = health.verdict();
  EXPECT_TRUE(verdict.healthy) << verdict.json;
  EXPECT_NE(verdict.json.find(R"("runs_succeeded":1,"runs_failed":1)"), std::string::npos) << verdict.json;
}

TEST(Health, PlatformSilenceBeyondThreePingIntervalsIsUnhealthy) {
  ManualClock clock(kStart);
  Metrics metrics;
  Health health(clock, 120s, &metrics);
  health.platform_answered();
  clock.advance(119s);
  EXPECT_TRUE(health.verdict().healthy);
  health.platform_answered(std::string("OpenCTI unreachable: connection refused"));
  clock.advance(2s);
  const Verdict verdict = health.verdict();
  EXPECT_FALSE(verdict.healthy);
  EXPECT_TRUE(says(verdict, "OpenCTI has not answered for 121 s (last error: OpenCTI unreachable")) << verdict.json;
  EXPECT_EQ(metrics.value(Metric::Healthy), 0);
  health.platform_answered();
  EXPECT_TRUE(health.verdict().healthy);
  EXPECT_EQ(metrics.value(Metric::Healthy), 1);
  EXPECT_EQ(metrics.value(Metric::PlatformLastAnswer), 1800000121);
}

TEST(Health, APlatformThatNeverAnsweredIsUnhealthyAfterTheSilenceWindow) {
  ManualClock clock(kStart);
  Health health(clock, 120s);
  health.expect_platform();
  clock.advance(100s);
  EXPECT_TRUE(health.verdict().healthy) << "registration may take a while";
  health.platform_answered(std::string("connection refused"));
  clock.advance(30s);
  const Verdict verdict = health.verdict();
  EXPECT_FALSE(verdict.healthy);
  EXPECT_TRUE(says(verdict, "OpenCTI has not answered since the start, 130 s (last error: connection refused)"))
      << verdict.json;
}

TEST(Health, AnExpiredTokenIsUnhealthyUntilReplaced) {
  ManualClock clock(kStart);
  Health health(clock);
  auto token = Token::from_value("kaspersky.api_token", "taxii-token-0123456789abcdef", "the TAXII server",
                                 kStart + std::chrono::hours(24));
  TokenGate gate(token, 30, nullptr, &health);
  EXPECT_TRUE(gate.check(clock.now()).usable);
  EXPECT_TRUE(health.verdict().healthy);
  clock.advance(std::chrono::hours(25));
  EXPECT_FALSE(gate.check(clock.now()).usable);
  const Verdict verdict = health.verdict();
  EXPECT_FALSE(verdict.healthy);
  EXPECT_TRUE(says(verdict, "kaspersky.api_token")) << verdict.json;
  EXPECT_EQ(verdict.json.find("taxii-token-0123456789abcdef"), std::string::npos) << "secret in the health body";
}

}  // namespace
}  // namespace kfc::health
