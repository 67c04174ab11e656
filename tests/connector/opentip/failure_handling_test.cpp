#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kfc/opentip/enrichment.h"
#include "kfc/opentip/errors.h"

namespace kfc::opentip {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const SystemTime kNow = std::chrono::sys_days{std::chrono::year{2026} / 3 / 10} + 9h;

template <typename Error, typename... Args>
FailureHandling classify_failure(Args&&... args) {
  try {
    throw Error(std::forward<Args>(args)...);
  } catch (...) {
    return handle_failure(std::current_exception(), kNow);
  }
}

TEST(HandleFailure, QuotaKeepsTheRequestUntilTheBlockEnds) {
  auto handling = classify_failure<QuotaExceededError>("OpenTIP quota exceeded", kNow + 2h);
  EXPECT_EQ(handling.disposition, Disposition::RequeueLater);
  EXPECT_EQ(handling.retry_not_before, kNow + 2h);
  EXPECT_THAT(handling.work_message, HasSubstr("quota"));
  EXPECT_THAT(handling.work_message, HasSubstr("kept on the queue"));
  EXPECT_FALSE(handling.spends_attempt);  // the quota is nobody's request's fault
}

TEST(HandleFailure, UnavailableAndKeyProblemsAreKeptToo) {
  auto unavailable = classify_failure<ServiceUnavailableError>("OpenTIP answered HTTP 503");
  EXPECT_EQ(unavailable.disposition, Disposition::RequeueLater);
  EXPECT_EQ(unavailable.retry_not_before, kNow + 5min);
  // OpenTIP may keep failing on this very request: the try counts towards max_delivery_attempts.
  EXPECT_TRUE(unavailable.spends_attempt);
  auto rejected = classify_failure<TokenRejectedError>("OpenTIP", "opentip.api_key", 401);
  EXPECT_EQ(rejected.disposition, Disposition::RequeueLater);
  EXPECT_THAT(rejected.work_message, HasSubstr("opentip.api_key"));
  EXPECT_FALSE(rejected.spends_attempt);
}

TEST(HandleFailure, StoppingPutsTheRequestBackWithoutAPause) {
  auto stopping = classify_failure<EnrichmentInterrupted>("the connector is stopping");
  EXPECT_EQ(stopping.disposition, Disposition::RequeueLater);
  EXPECT_EQ(stopping.retry_not_before, kNow);
  EXPECT_THAT(stopping.work_message, HasSubstr("kept on the queue"));
}

TEST(HandleFailure, RefusalsAndBadRequestsAreAckedInError) {
  auto refused = classify_failure<EnrichmentRefused>("Do not send any data, TLP of the observable is greater than MAX TLP");
  EXPECT_EQ(refused.disposition, Disposition::Ack);
  EXPECT_FALSE(refused.retry_not_before);
  EXPECT_THAT(refused.work_message, HasSubstr("MAX TLP"));
  EXPECT_EQ(classify_failure<BadRequestError>("HTTP 400").disposition, Disposition::Ack);
  EXPECT_EQ(classify_failure<std::runtime_error>("boom").disposition, Disposition::Ack);
}

}  // namespace
}  // namespace kfc::opentip
