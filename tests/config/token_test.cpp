#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kfc/config/token.h"
#include "kfc/fixtures/manual_clock.h"

namespace kfc {
namespace {

using namespace std::chrono_literals;
using std::chrono::days;

constexpr const char* kRecognisable = "SECRET-tok-9f8e7d6c5b4a";
// 2026-01-01T00:00:00Z
const SystemTime kNow = SystemTime{} + std::chrono::seconds{1767225600};

TokenSpec spec_with(std::string value, std::optional<SystemTime> expires_at = std::nullopt) {
  TokenSpec spec;
  spec.key = "kaspersky.api_token";
  spec.env_name = "KASPERSKY_API_TOKEN";
  spec.server = "the Kaspersky TAXII server";
  spec.origin = TokenOrigin::Environment;
  spec.value = Secret{std::move(value)};
  spec.expires_at = expires_at;
  return spec;
}

class TempFile {
 public:
  TempFile() : path_(std::filesystem::temp_directory_path() / ("kfc-token-" + std::to_string(::getpid()) + "-" +
                                                              std::to_string(counter_++))) {}
  ~TempFile() { std::filesystem::remove(path_); }
  void write(const std::string& content) const { std::ofstream(path_, std::ios::trunc) << content; }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(Token, StatusWithoutExpiryIsUnknownAndSaysHowToTrackIt) {
  Token token{spec_with(kRecognisable)};
  const TokenStatus status = token.status(kNow, 30);
  EXPECT_EQ(status.state, TokenState::Unknown);
  EXPECT_FALSE(status.days_left);
  EXPECT_NE(status.message.find("kaspersky.api_token_expires_at"), std::string::npos);
  EXPECT_NE(status.message.find("kaspersky.api_token_issued_at"), std::string::npos);
}

TEST(Token, StatusFollowsTheWarningWindow) {
  Token valid{spec_with(kRecognisable, kNow + days{31})};
  EXPECT_EQ(valid.status(kNow, 30).state, TokenState::Valid);
  EXPECT_EQ(valid.status(kNow, 30).days_left, 31);
  EXPECT_NE(valid.status(kNow, 30).message.find("2026-02-01"), std::string::npos);

  Token expiring{spec_with(kRecognisable, kNow + days{30})};
  const TokenStatus status = expiring.status(kNow, 30);
  EXPECT_EQ(status.state, TokenState::Expiring);
  EXPECT_EQ(status.days_left, 30);
  EXPECT_TRUE(status.reminder_day);
  EXPECT_NE(status.message.find("expires in 30 days (2026-01-31)"), std::string::npos);
  EXPECT_NE(status.message.find("Request token"), std::string::npos);
  // A narrower window makes the same token valid.
  EXPECT_EQ(expiring.status(kNow, 10).state, TokenState::Valid);
}

TEST(Token, ExpiresTodayAndThenIsExpired) {
  Token token{spec_with(kRecognisable, kNow + 5h)};
  EXPECT_EQ(token.status(kNow, 30).state, TokenState::Expiring);
  EXPECT_EQ(token.status(kNow, 30).days_left, 0);
  EXPECT_NE(token.status(kNow, 30).message.find("expires today"), std::string::npos);

  const TokenStatus later = token.status(kNow + 5h, 30);
  EXPECT_EQ(later.state, TokenState::Expired);
  EXPECT_EQ(later.days_left, 0);
  EXPECT_NE(later.message.find("(today)"), std::string::npos);
  const TokenStatus much_later = token.status(kNow + days{3} + 6h, 30);
  EXPECT_EQ(much_later.state, TokenState::Expired);
  EXPECT_EQ(much_later.days_left, -3);
  EXPECT_NE(much_later.message.find("expired on 2026-01-01 (3 days ago)"), std::string::npos);
}

TEST(Token, IssuedAtGivesOneYearOfValidity) {
  TokenSpec spec = spec_with(kRecognisable);
  spec.issued_at = kNow - days{365 - 7};
  Token token{spec};
  ASSERT_TRUE(token.expires_at());
  EXPECT_EQ(*token.expires_at(), kNow + days{7});
  EXPECT_EQ(token.status(kNow, 30).days_left, 7);
  EXPECT_TRUE(token.status(kNow, 30).reminder_day);
}

TEST(Token, ReminderDaysAreWindowStartSevenAndOne) {
  for (long day : {30L, 7L, 1L}) EXPECT_TRUE(is_expiry_reminder_day(day, 30)) << day;
  for (long day : {31L, 29L, 8L, 6L, 2L, 0L, -1L}) EXPECT_FALSE(is_expiry_reminder_day(day, 30)) << day;
  EXPECT_TRUE(is_expiry_reminder_day(14, 14));
}

TEST(Token, ExpiredTokenIsNeverSent) {
  Token token{spec_with(kRecognisable, kNow + days{1})};
  ManualClock clock{kNow};
  EXPECT_EQ(token.secret_for_request(clock).reveal(), kRecognisable);
  clock.advance(days{1});
  try {
    token.secret_for_request(clock);
    FAIL() << "an expired token was handed out";
  } catch (const TokenError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("kaspersky.api_token expired on 2026-01-02"), std::string::npos) << text;
    EXPECT_NE(text.find("Kaspersky Threat Intelligence Portal (Request token page)"), std::string::npos);
    EXPECT_EQ(text.find(kRecognisable), std::string::npos);
  }
}

TEST(Token, EmptyOrPlaceholderTokenIsNeverSent) {
  ManualClock clock{kNow};
  EXPECT_THROW(Token{spec_with("")}.secret_for_request(clock), TokenError);
  EXPECT_THROW(Token{spec_with("ChangeMe")}.secret_for_request(clock), TokenError);
}

TEST(Token, SyntaxProblemsNameTheKeyAndSourceButNotTheValue) {
  EXPECT_TRUE(Token{spec_with(kRecognisable)}.problems().empty());

  auto single = [](std::string value) {
    auto problems = Token{spec_with(std::move(value))}.problems();
    EXPECT_EQ(problems.size(), 1u);
    return problems.empty() ? std::string{} : problems.front();
  };
  EXPECT_EQ(single(""), "kaspersky.api_token is empty — fix the environment variable KASPERSKY_API_TOKEN");
  EXPECT_EQ(single("changeME"),
            "kaspersky.api_token is the placeholder 'ChangeMe' — fix the environment variable KASPERSKY_API_TOKEN");
  const std::string spaced = single(std::string{kRecognisable} + " \n");
  EXPECT_NE(spaced.find("whitespace"), std::string::npos);
  EXPECT_EQ(spaced.find(kRecognisable), std::string::npos);
  const std::string control = single(std::string{"SECRET\x01tok-9f8e7d6c5b4a"});
  EXPECT_NE(control.find("control"), std::string::npos);
  const std::string short_one = single("SECRET-tok");
  EXPECT_NE(short_one.find("implausible length of 10"), std::string::npos);
  EXPECT_EQ(short_one.find("SECRET-tok"), std::string::npos);
  EXPECT_NE(single(std::string(5000, 'a')).find("implausible length"), std::string::npos);
}

TEST(Token, FileBackedTokenIsReadTrimmedAndReloaded) {
  TempFile file;
  file.write(std::string{kRecognisable} + "\n");
  TokenSpec spec = spec_with("");
  spec.origin = TokenOrigin::File;
  spec.file_path = file.path();
  Token token{spec};
  EXPECT_EQ(token.secret().reveal(), kRecognisable);
  EXPECT_FALSE(token.reload());

  file.write("ROTATED-tok-0011223344556677\n");
  EXPECT_TRUE(token.reload());
  EXPECT_EQ(token.secret().reveal(), "ROTATED-tok-0011223344556677");
}

TEST(Token, UnreadableFileNamesTheFileNotTheContent) {
  TempFile file;
  TokenSpec spec = spec_with("");
  spec.origin = TokenOrigin::File;
  spec.file_path = file.path();  // never written: does not exist
  try {
    Token token{spec};
    FAIL() << "missing file accepted";
  } catch (const TokenError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find(file.path()), std::string::npos);
    EXPECT_NE(text.find("kaspersky.api_token_file"), std::string::npos);
  }

  file.write(kRecognisable);
  Token token{spec};
  std::filesystem::remove(file.path());
  try {
    token.reload();
    FAIL() << "reload of a deleted file succeeded";
  } catch (const TokenError& error) {
    EXPECT_EQ(std::string{error.what()}.find(kRecognisable), std::string::npos);
  }
  EXPECT_EQ(token.secret().reveal(), kRecognisable);  // the last good value stays
}

TEST(Token, InlineTokensDoNotReload) {
  auto token = Token::from_value("opentip.api_key", kRecognisable, "OpenTIP", kNow + days{100});
  EXPECT_EQ(token->origin(), TokenOrigin::Inline);
  EXPECT_FALSE(token->reload());
  EXPECT_EQ(token->status(kNow, 30).state, TokenState::Valid);
}

TEST(TokenRejected, OneWordingForEveryClient) {
  const std::string text = token_rejected_message("the Kaspersky TAXII server", "kaspersky.api_token", 401);
  EXPECT_TRUE(text.starts_with("token rejected by the Kaspersky TAXII server: revoked or expired — request a new "
                               "one on the Kaspersky Threat Intelligence Portal (Request token page)"))
      << text;
  EXPECT_NE(text.find("kaspersky.api_token"), std::string::npos);
  EXPECT_NE(text.find("401"), std::string::npos);

  TokenRejectedError error{"OpenTIP", "opentip.api_key", 403};
  EXPECT_EQ(error.http_status(), 403);
  EXPECT_EQ(std::string{error.what()}, token_rejected_message("OpenTIP", "opentip.api_key", 403));
  const TokenError& base = error;  // clients may catch the base class
  EXPECT_NE(std::string{base.what()}.find("token rejected by OpenTIP"), std::string::npos);

  const std::string opencti = token_rejected_message("OpenCTI", "opencti.token", 401);
  EXPECT_NE(opencti.find("token rejected by OpenCTI: revoked or expired"), std::string::npos);
  EXPECT_NE(opencti.find("OpenCTI"), std::string::npos);
}

TEST(TokenNames, StatesAndOriginsPrint) {
  EXPECT_EQ(to_string(TokenState::Valid), "valid");
  EXPECT_EQ(to_string(TokenState::Expiring), "expiring");
  EXPECT_EQ(to_string(TokenState::Expired), "expired");
  EXPECT_EQ(to_string(TokenState::Unknown), "unknown");
  EXPECT_EQ(to_string(TokenOrigin::File), "file");
  EXPECT_EQ(to_string(TokenOrigin::Environment), "environment");
  EXPECT_EQ(to_string(TokenOrigin::Inline), "config.yml");
  EXPECT_EQ(to_string(TokenOrigin::Unset), "unset");
}

}  // namespace
}  // namespace kfc
