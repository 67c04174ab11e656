// OpenCTI over https with a CA of its own: opencti.ssl_verify as a CA bundle path (as pycti allows),
// and a verification failure that names the URL and the option instead of retrying forever.
#include <gtest/gtest.h>
#include <unistd.h>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/fixtures/test_ca.h"
#include "kfc/opencti/session.h"

namespace kfc::opencti {
namespace {

constexpr char kToken[] = "opencti-SECRET-token-tls-0042";

class OpenCtiTls : public ::testing::Test {
 protected:
  OpenCtiTls() {
    directory_ = std::filesystem::temp_directory_path() / ("kfc-opencti-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(directory_);
    const auto leaf = ca_.issue("127.0.0.1", {"IP:127.0.0.1", "DNS:localhost"});
    fixtures::OpenCtiServerOptions options;
    options.token = kToken;
    options.tls_certificate_file = fixtures::write_private_file(directory_ / "server.pem", leaf.certificate_pem);
    options.tls_key_file = fixtures::write_private_file(directory_ / "server.key", leaf.key_pem);
    server_ = std::make_unique<fixtures::OpenCtiServer>(options);

    TokenSpec spec;
    spec.key = "opencti.token";
    spec.origin = TokenOrigin::Inline;
    spec.value = Secret(kToken);
    settings_.opencti.url = server_->url();
    settings_.opencti.token = std::make_shared<Token>(spec);
    settings_.connector.id = "0b8a2f7e-3333-4ccc-9ddd-0123456789ab";
  }
  ~OpenCtiTls() override { std::filesystem::remove_all(directory_); }

  std::unique_ptr<OpenCtiSession> connect() {
    SessionOptions options;
    options.start_ping_thread = false;
    options.retry.max_attempts = 3;
    return OpenCtiSession::connect(settings_, clock_, options);
  }

  std::filesystem::path directory_;
  fixtures::TestCa ca_{"kfc test OpenCTI CA"};
  std::unique_ptr<fixtures::OpenCtiServer> server_;
  Settings settings_;
  ManualClock clock_{std::chrono::system_clock::now()};
};

TEST_F(OpenCtiTls, TheUrlIsHttps) { EXPECT_TRUE(server_->url().starts_with("https://127.0.0.1:")) << server_->url(); }

TEST_F(OpenCtiTls, RegistersWhenSslVerifyNamesThePlatformsCaBundle) {
  settings_.opencti.ssl_ca_file = fixtures::write_private_file(directory_ / "ca.pem", ca_.certificate_pem());
  auto session = connect();
  EXPECT_EQ(session->connector_id(), settings_.connector.id);
  EXPECT_EQ(server_->count("registerConnector"), 1u);
  session->force_ping();  // later calls (their own transports) verify with the same bundle
  EXPECT_EQ(server_->count("pingConnector"), 1u);
}

TEST_F(OpenCtiTls, AnUntrustedCertificateIsAClearErrorNamingTheUrlAndTheOption) {
  // The system's CA store does not know the test CA: verification fails, and is not retried.
  try {
    connect();
    FAIL() << "an untrusted certificate was accepted";
  } catch (const OpenCtiUnavailableError& error) {
    FAIL() << "a TLS failure was taken for an outage (retried): " << error.what();
  } catch (const OpenCtiError& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find(server_->url() + "/graphql"), std::string::npos) << text;
    EXPECT_NE(text.find("opencti.ssl_verify"), std::string::npos) << text;
    EXPECT_NE(text.find("OPENCTI_SSL_VERIFY"), std::string::npos) << text;
    EXPECT_EQ(text.find(kToken), std::string::npos);
  }
  EXPECT_EQ(clock_.slept(), std::chrono::milliseconds(0)) << "a certificate problem was retried with backoff";
  EXPECT_EQ(server_->calls().size(), 0u);  // nothing, the token least of all, went over the untrusted connection
}

TEST_F(OpenCtiTls, ACaBundleOfAnotherAuthorityIsRefusedToo) {
  fixtures::TestCa other("another CA");
  settings_.opencti.ssl_ca_file = fixtures::write_private_file(directory_ / "other-ca.pem", other.certificate_pem());
  EXPECT_THROW(connect(), OpenCtiError);
  EXPECT_EQ(server_->calls().size(), 0u);
}

TEST_F(OpenCtiTls, VerificationOffConnectsToAnyCertificate) {
  settings_.opencti.ssl_verify = false;
  EXPECT_EQ(connect()->connector_id(), settings_.connector.id);
}

}  // namespace
}  // namespace kfc::opencti
