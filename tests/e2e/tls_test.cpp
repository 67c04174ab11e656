// TLS everywhere, with the built binary: the stand-in OpenCTI over https with a CA of its own
// (OPENCTI_SSL_VERIFY=<CA bundle path>, as pycti takes it) and the real broker over amqps with the
// CA, the client certificate and an encrypted client key all given as PEM text in the environment.
// The key text never reaches the disk — not on a clean exit, not under kill -9.
#include <signal.h>

#include "e2e_fixture.h"
#include "kfc/fixtures/test_ca.h"

namespace kfc::e2e {
namespace {

namespace fs = std::filesystem;

class TlsEverywhere : public EndToEnd {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ_TLS();
    EndToEnd::SetUp();
    const auto leaf = ca_.issue("127.0.0.1", {"IP:127.0.0.1"});
    fixtures::OpenCtiServerOptions options;
    options.tls_certificate_file = fixtures::write_private_file(directory_ / "opencti.pem", leaf.certificate_pem);
    options.tls_key_file = fixtures::write_private_file(directory_ / "opencti.key", leaf.key_pem);
    options.mq_host = "localhost";
    options.mq_port = fixtures::kRabbitmqTlsPort;
    options.mq_use_ssl = true;  // the platform advertises amqps
    opencti_ = std::make_unique<fixtures::OpenCtiServer>(options);
    ca_file_ = fixtures::write_private_file(directory_ / "opencti-ca.pem", ca_.certificate_pem());
    tmpdir_ = directory_ / "tmp";
    fs::create_directories(tmpdir_);
    const auto pem = fixtures::rabbitmq_tls_material();
    key_pem_ = pem.client_encrypted_key_pem;
    passphrase_ = pem.passphrase;
    tls_environment_ = {{"OPENCTI_SSL_VERIFY", ca_file_},
                        {"MQ_USE_SSL_CA", pem.ca_pem},
                        {"MQ_USE_SSL_CERT", pem.client_certificate_pem},
                        {"MQ_USE_SSL_KEY", key_pem_},
                        {"MQ_USE_SSL_PASSPHRASE", passphrase_},
                        {"TMPDIR", tmpdir_.string()}};
  }

  void expect_no_secret_in(const std::string& output) {
    EXPECT_EQ(output.find("PRIVATE KEY"), std::string::npos) << "key material in the output";
    EXPECT_EQ(output.find(passphrase_), std::string::npos) << "the passphrase in the output";
    EXPECT_EQ(output.find(opencti_->options().token), std::string::npos);
  }

  fixtures::TestCa ca_{"kfc e2e OpenCTI CA"};
  std::string ca_file_;
  fs::path tmpdir_;
  std::string key_pem_;
  std::string passphrase_;
  std::map<std::string, std::string> tls_environment_;
};

TEST_F(TlsEverywhere, ARunOverHttpsAndAmqpsDeliversEverythingAndWritesNoKeyToDisk) {
  const auto collections = feed(20, days_ago(2));
  serve(collections);
  EXPECT_EQ(run_once(tls_environment_), 0) << last_stderr_;
  EXPECT_EQ(take_delivered(), ids_of(collections));
  EXPECT_GE(opencti_->count("registerConnector"), 1u);
  EXPECT_TRUE(fs::is_empty(tmpdir_)) << "the connector wrote to TMPDIR";
  expect_no_secret_in(last_stderr_);
  EXPECT_EQ(last_stderr_.find("without TLS"), std::string::npos) << last_stderr_;
}

TEST_F(TlsEverywhere, KilledMidRunLeavesNoKeyFileBehind) {
  const auto collections = feed(600, days_ago(2));  // 120 slow pages of 10: seconds after the first bundle
  testing::TestServerOptions small_pages;
  small_pages.default_page_size = 10;
  small_pages.max_page_size = 10;
  auto& server = serve(collections, small_pages);
  server.inject({.kind = testing::FaultKind::Slow, .path_contains = "/objects/", .times = -1, .delay = 50ms});
  auto process = start({"run", "--once"}, tls_environment_, "tls-killed");
  ASSERT_TRUE(process->wait_for_log("Output: RabbitMQ amqps://localhost:5671", 30s)) << process->err();
  ASSERT_TRUE(wait_until([&] { return messages_ > 0 || !take_delivered(20ms).empty(); }, 30s)) << process->err();
  ASSERT_FALSE(process->wait(0ms).has_value()) << "the run ended before the kill";
  process->signal(SIGKILL);
  EXPECT_EQ(process->wait(10s), 128 + SIGKILL);
  EXPECT_TRUE(fs::is_empty(tmpdir_)) << "a file was left in TMPDIR";
  expect_no_secret_in(process->err());
}

TEST_F(TlsEverywhere, ABrokerCertificateNotSignedByTheGivenCaFailsTheRunClearly) {
  serve(feed(5, days_ago(2)));
  auto environment = tls_environment_;
  environment["MQ_USE_SSL_CA"] = fixtures::TestCa("not the broker's CA").certificate_pem();
  EXPECT_EQ(run_once(environment), 1) << last_stderr_;
  EXPECT_NE(last_stderr_.find("is not trusted"), std::string::npos) << last_stderr_;
  EXPECT_NE(last_stderr_.find("mq.use_ssl_ca (MQ_USE_SSL_CA)"), std::string::npos) << last_stderr_;
  EXPECT_TRUE(take_delivered().empty()) << "delivered despite an untrusted broker";
  expect_no_secret_in(last_stderr_);
}

TEST_F(TlsEverywhere, AnOpenCtiCertificateTheBundleDoesNotTrustIsNamedWithTheOption) {
  serve(feed(5, days_ago(2)));
  auto environment = tls_environment_;
  environment["OPENCTI_SSL_VERIFY"] = "true";  // the system store does not know the test CA
  EXPECT_EQ(run_once(environment), 2) << last_stderr_;
  EXPECT_NE(last_stderr_.find("TLS verification of OpenCTI at " + opencti_->url() + "/graphql failed"),
            std::string::npos)
      << last_stderr_;
  EXPECT_NE(last_stderr_.find("opencti.ssl_verify (OPENCTI_SSL_VERIFY)"), std::string::npos) << last_stderr_;
}

}  // namespace
}  // namespace kfc::e2e
