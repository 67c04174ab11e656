#include <gtest/gtest.h>

#include <sstream>

#include "kfc/config/token.h"

namespace kfc {
namespace {

constexpr const char* kRecognisable = "SECRET-tok-9f8e7d6c5b4a";

TEST(Secret, PrintsOnlyMaskAndLastFourCharacters) {
  Secret secret{kRecognisable};
  EXPECT_EQ(secret.masked(), "****5b4a");
  std::ostringstream stream;
  stream << secret;
  EXPECT_EQ(stream.str(), "****5b4a");
  EXPECT_EQ(fmt::format("token={}", secret), "token=****5b4a");
  EXPECT_EQ(secret.reveal(), kRecognisable);
}

TEST(Secret, ShortValuesRevealNothing) {
  EXPECT_EQ(Secret{"abc12345"}.masked(), "****");
  EXPECT_EQ(Secret{}.masked(), "****");
  EXPECT_TRUE(Secret{}.empty());
}

}  // namespace
}  // namespace kfc
