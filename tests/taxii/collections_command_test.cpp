// `kaspersky-feeds-connector collections` against the test server serving the demo feed.
#include <cstdlib>

#include "harness.h"
#include "kfc/cli/commands.h"

namespace kfc::taxii::test {
namespace {

class CollectionsCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    TestServerOptions options;
    options.api_root = "v2";
    options.auth = AuthScheme::Basic;
    options.secret = kSecret;
    server_ = std::make_unique<TaxiiTestServer>(options);
    server_->load_directory(KFC_SOURCE_DIR "/tests/fixtures/taxii_server/data/demo");
    server_->start();
    ::setenv("KASPERSKY_API_ROOT", (server_->base_url() + "/v2").c_str(), 1);
    ::setenv("KASPERSKY_ALLOW_INSECURE_HTTP", "true", 1);
    ::setenv("KASPERSKY_COLLECTIONS", "TAXII_Demo_*", 1);
  }
  void TearDown() override {
    for (const char* name : {"KASPERSKY_API_ROOT", "KASPERSKY_ALLOW_INSECURE_HTTP", "KASPERSKY_COLLECTIONS",
                             "KASPERSKY_API_TOKEN"}) {
      ::unsetenv(name);
    }
  }

  int run(std::string& out, std::string& err) {
    const char* argv[] = {"kaspersky-feeds-connector", "--config", "/nonexistent-kfc-test/config.yml", "collections"};
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int code = cli::run_cli(4, const_cast<char**>(argv));
    std::fflush(stdout);
    std::fflush(stderr);
    out = ::testing::internal::GetCapturedStdout();
    err = ::testing::internal::GetCapturedStderr();
    return code;
  }

  std::unique_ptr<TaxiiTestServer> server_;
};

TEST_F(CollectionsCommand, ListsIdTitleReadableAndSelection) {
  ::setenv("KASPERSKY_API_TOKEN", kSecret, 1);
  std::string out, err;
  int code = run(out, err);
  ASSERT_EQ(code, 0) << out << err;
  EXPECT_NE(out.find("3b6e1f0a-0f44-4a55-9d2e-5d2b3e6f0001  TAXII_Demo_IP_Reputation_Data_Feed   yes       yes"),
            std::string::npos) << out;
  EXPECT_NE(out.find("TAXII_APT_Hash_Data_Feed             no        no"), std::string::npos) << out;
  EXPECT_NE(out.find("4 collection(s); 3 selected and readable with kaspersky.collections = TAXII_Demo_*"),
            std::string::npos) << out;
  EXPECT_EQ((out + err).find(kSecret), std::string::npos);
}

TEST_F(CollectionsCommand, RejectedTokenIsReportedWithoutTheSecret) {
  ::setenv("KASPERSKY_API_TOKEN", "WRONG-token-value-987654321", 1);
  std::string out, err;
  EXPECT_EQ(run(out, err), 2);
  EXPECT_NE(err.find("token rejected"), std::string::npos) << err;
  EXPECT_EQ((out + err).find("WRONG-token-value-987654321"), std::string::npos);
}

}  // namespace
}  // namespace kfc::taxii::test
