// The AMQP sink over amqps against the real broker's TLS listener (tests/rabbitmq.sh gives it a CA
// and server certificate of its own): mq.use_ssl_ca as a file and as PEM text, a client certificate
// (files, and PEM text with an encrypted key), and every way verification can fail — each a clear
// error naming the option, with nothing delivered and no fallback to plaintext.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/test_ca.h"
#include "kfc/sinks/amqp_sink.h"
#include "kfc/sinks/amqp_tls.h"
#include "stage_bundles.h"

namespace kfc::sinks {
namespace {

namespace fs = std::filesystem;
using test_bundles::ids_of;
using test_bundles::kApplicant;
using test_bundles::random_id;
using test_bundles::stage;

class AmqpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ_TLS();
    tls_ = fs::path(fixtures::rabbitmq_tls_dir());
    pem_ = fixtures::rabbitmq_tls_material();
    broker_ = std::make_unique<fixtures::AmqpTestBroker>();
    queue_ = broker_->prepare_push_queue(random_id());
  }

  AmqpSinkOptions options() const {
    AmqpSinkOptions options;
    options.connection.host = "localhost";  // the name the broker's certificate carries
    options.connection.port = fixtures::kRabbitmqTlsPort;
    options.connection.use_ssl = true;
    options.connection.user = "guest";
    options.connection.pass = Secret("guest");
    options.exchange = queue_.exchange;
    options.routing_key = queue_.routing_key;
    options.applicant_id = kApplicant;
    options.max_reconnect_attempts = 3;
    options.reconnect_initial = std::chrono::milliseconds(10);
    return options;
  }

  // Publishes one stage; returns the ids the worker side received.
  std::set<std::string> deliver(const AmqpSinkOptions& options, const std::string& tag) {
    auto sink = make_amqp_sink(options, {}, clock_);
    sink->begin_run({});
    sink->send(stage(2, tag));
    sink->end_run();
    EXPECT_EQ(sink->confirmed(), 1u);
    std::set<std::string> ids;
    for (const auto& message : broker_->take(queue_.queue, 5)) ids.insert(message.object_ids().at(0));
    return ids;
  }

  // The DeliveryError a sink with these options ends with; nothing may have reached the queue.
  std::string refusal(const AmqpSinkOptions& options) {
    auto sink = make_amqp_sink(options, {}, clock_);
    sink->begin_run({});
    std::string text;
    try {
      sink->send(stage(1, "refused"));
      sink->flush();
      ADD_FAILURE() << "delivered over a connection that should have been refused";
    } catch (const DeliveryError& error) {
      text = error.what();
    }
    EXPECT_EQ(broker_->depth(queue_.queue), 0u);
    return text;
  }

  fs::path tls_;                     // the material as files
  fixtures::RabbitmqTlsMaterial pem_;  // and as PEM text
  std::unique_ptr<fixtures::AmqpTestBroker> broker_;
  fixtures::PushQueue queue_;
  ManualClock clock_{std::chrono::system_clock::now()};
};

TEST_F(AmqpTlsTest, PublishesWithTheCaAsAFile) {
  auto opts = options();
  opts.connection.ssl_ca = (tls_ / "ca.pem").string();
  EXPECT_EQ(deliver(opts, "ca-file"), ids_of(stage(2, "ca-file")));
}

TEST_F(AmqpTlsTest, PublishesWithTheCaAsPemText) {
  auto opts = options();
  opts.connection.ssl_ca = pem_.ca_pem;
  ASSERT_TRUE(opts.connection.ssl_ca.starts_with("-----BEGIN"));
  EXPECT_EQ(deliver(opts, "ca-text"), ids_of(stage(2, "ca-text")));
}

// The broker verifies a client certificate when one is presented; it shows its subject per connection.
TEST_F(AmqpTlsTest, PresentsAClientCertificateGivenAsFilesOrAsPemTextWithAnEncryptedKey) {
  for (const bool as_text : {false, true}) {
    auto opts = options();
    opts.connection.ssl_ca = (tls_ / "ca.pem").string();
    if (as_text) {
      opts.connection.ssl_cert = pem_.client_certificate_pem;
      opts.connection.ssl_key = pem_.client_encrypted_key_pem;
      opts.connection.ssl_passphrase = Secret(pem_.passphrase);
    } else {
      opts.connection.ssl_cert = (tls_ / "client.pem").string();
      opts.connection.ssl_key = (tls_ / "client.key").string();
    }
    auto sink = make_amqp_sink(opts, {}, clock_);
    sink->begin_run({});
    sink->send(stage(1, as_text ? "client-text" : "client-file"));
    sink->flush();  // connected and confirmed; the connection stays open until end_run
    const std::string connections = fixtures::rabbitmqctl_output("list_connections peer_cert_subject");
    EXPECT_NE(connections.find("CN=kfc-test-client"), std::string::npos)
        << (as_text ? "PEM text" : "files") << ": no connection presented the client certificate:\n" << connections;
    sink->end_run();
    EXPECT_EQ(broker_->take(queue_.queue, 3).size(), 3u);
  }
}

TEST_F(AmqpTlsTest, ACaThatDidNotSignTheBrokersCertificateIsAClearErrorNotAFallback) {
  fixtures::TestCa other("not the broker's CA");
  auto opts = options();
  opts.connection.ssl_ca = other.certificate_pem();
  const std::string text = refusal(opts);
  EXPECT_NE(text.find("amqps://localhost:5671"), std::string::npos) << text;
  EXPECT_NE(text.find("is not trusted"), std::string::npos) << text;
  EXPECT_NE(text.find("mq.use_ssl_ca (MQ_USE_SSL_CA)"), std::string::npos) << text;
  EXPECT_NE(text.find("never falls back to plaintext"), std::string::npos) << text;
  EXPECT_EQ(text.find("-----BEGIN"), std::string::npos) << "PEM text in an error";
}

TEST_F(AmqpTlsTest, WithoutACaTheSystemStoreDoesNotTrustATestCa) {
  EXPECT_NE(refusal(options()).find("is not trusted"), std::string::npos);
}

// rabbitmq-c checks the host against the certificate's DNS names only.
TEST_F(AmqpTlsTest, AHostTheCertificateDoesNotNameIsRefused) {
  auto opts = options();
  opts.connection.host = "127.0.0.1";
  opts.connection.ssl_ca = (tls_ / "ca.pem").string();
  const std::string text = refusal(opts);
  EXPECT_NE(text.find("does not name the host 127.0.0.1"), std::string::npos) << text;
}

TEST_F(AmqpTlsTest, VerificationCanBeTurnedOffExplicitly) {
  auto opts = options();
  opts.connection.ssl_reject_unauthorized = false;
  EXPECT_EQ(deliver(opts, "unverified"), ids_of(stage(2, "unverified")));
}

TEST_F(AmqpTlsTest, AWrongPassphraseNamesTheOptionsAndNoSecret) {
  auto opts = options();
  opts.connection.ssl_ca = (tls_ / "ca.pem").string();
  opts.connection.ssl_cert = pem_.client_certificate_pem;
  opts.connection.ssl_key = pem_.client_encrypted_key_pem;
  opts.connection.ssl_passphrase = Secret("WRONG-passphrase-SECRET-81");
  const std::string text = refusal(opts);
  EXPECT_NE(text.find("mq.use_ssl_key (the PEM text) cannot be read as a private key"), std::string::npos) << text;
  EXPECT_NE(text.find("mq.use_ssl_passphrase"), std::string::npos) << text;
  EXPECT_EQ(text.find("WRONG-passphrase-SECRET-81"), std::string::npos);
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
}

// A key given as PEM text is loaded from memory: connecting writes nothing to the temporary directory.
TEST_F(AmqpTlsTest, APemKeyGivenAsTextNeverReachesTheDisk) {
  const fs::path scratch = fs::temp_directory_path() / ("kfc-tls-tmpdir-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  const char* previous = std::getenv("TMPDIR");
  const std::string saved = previous ? previous : "";
  ::setenv("TMPDIR", scratch.c_str(), 1);
  auto opts = options();
  opts.connection.ssl_ca = pem_.ca_pem;
  opts.connection.ssl_cert = pem_.client_certificate_pem;
  opts.connection.ssl_key = pem_.client_key_pem;
  const auto ids = deliver(opts, "no-disk");
  if (previous) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  EXPECT_EQ(ids, ids_of(stage(2, "no-disk")));
  EXPECT_TRUE(fs::is_empty(scratch)) << "something was written to TMPDIR while connecting";
  fs::remove_all(scratch);
}

// Plaintext is worth a warning where it crosses a network, once per broker, not on every reconnect.
TEST(AmqpPlaintext, WarnsOncePerBrokerBeyondLoopback) {
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs)));
  opencti::MqConnection mq;
  mq.port = 5672;
  for (const char* host : {"127.0.0.1", "localhost", "::1"}) {
    mq.host = host;
    warn_if_amqp_plaintext(mq);
  }
  mq.host = "rabbitmq.example.org";
  mq.use_ssl = true;
  warn_if_amqp_plaintext(mq);
  EXPECT_EQ(logs.str(), "") << "warned about loopback or TLS";
  mq.use_ssl = false;
  warn_if_amqp_plaintext(mq);
  warn_if_amqp_plaintext(mq);
  spdlog::set_default_logger(previous);
  const std::string text = logs.str();
  EXPECT_NE(text.find("RabbitMQ at rabbitmq.example.org:5672 is used without TLS"), std::string::npos) << text;
  EXPECT_NE(text.find("mq.use_ssl (MQ_USE_SSL)"), std::string::npos) << text;
  EXPECT_EQ(text.find("without TLS"), text.rfind("without TLS")) << "warned twice:\n" << text;
}

}  // namespace
}  // namespace kfc::sinks
