// The enrichment connector's listen queue over amqps, with the same TLS rules as the publishing sink
// (CA and client certificate as PEM text loaded from memory; an untrusted broker refused).
#include <gtest/gtest.h>

#include <random>

#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/test_ca.h"
#include "kfc/opentip/listen_queue.h"

namespace kfc::opentip {
namespace {

class ListenQueueTls : public ::testing::Test {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ_TLS();
    broker_ = std::make_unique<fixtures::AmqpTestBroker>();
    listen_ = broker_->prepare_listen_queue("kfc-tls-" + std::to_string(std::random_device{}()));
    mq_.host = "localhost";
    mq_.port = fixtures::kRabbitmqTlsPort;
    mq_.use_ssl = true;
    mq_.user = "guest";
    mq_.pass = Secret("guest");
    const auto pem = fixtures::rabbitmq_tls_material();
    mq_.ssl_ca = pem.ca_pem;
    mq_.ssl_cert = pem.client_certificate_pem;
    mq_.ssl_key = pem.client_key_pem;
  }

  std::unique_ptr<fixtures::AmqpTestBroker> broker_;
  fixtures::PushQueue listen_;
  opencti::MqConnection mq_;
};

TEST_F(ListenQueueTls, ConsumesARequestOverTls) {
  ListenQueue queue(mq_, listen_.queue);
  broker_->publish(listen_, R"({"entity_id":"x"})");
  std::optional<Delivery> request;
  for (int i = 0; i < 30 && !request; ++i) request = queue.next(std::chrono::seconds(1));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->body, R"({"entity_id":"x"})");
  queue.ack(request->delivery_tag);
}

TEST_F(ListenQueueTls, AnUntrustedBrokerIsRefusedWithTheOptionToFix) {
  mq_.ssl_ca = fixtures::TestCa("another CA").certificate_pem();
  try {
    ListenQueue queue(mq_, listen_.queue);
    FAIL() << "connected to a broker whose certificate is not trusted";
  } catch (const ListenQueueError& error) {
    EXPECT_NE(std::string(error.what()).find("mq.use_ssl_ca (MQ_USE_SSL_CA)"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace kfc::opentip
