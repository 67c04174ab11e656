#pragma once
// The set-up both AMQP sink suites share (the everyday one and the broker-restart one, which is its
// own executable so ctest can run it alone): a fresh push queue on the test broker, the sink's options
// for it, and the checks the suites make of what arrived.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/tcp_proxy.h"
#include "kfc/sinks/amqp_sink.h"
#include "local_broker.h"
#include "stage_bundles.h"

namespace kfc::sinks {

class AmqpSinkFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ();
    broker = std::make_unique<fixtures::AmqpTestBroker>();
    connector_id = test_bundles::random_id();
    queue = broker->prepare_push_queue(connector_id);
  }

  AmqpSinkOptions options() const {
    AmqpSinkOptions options = test_broker::options_for(queue, test_bundles::kApplicant);
    options.window = 50;
    return options;
  }

  // A routing key on the fixture's exchange that no queue is bound to (yet): the broker returns
  // what is published with it as unroutable.
  fixtures::PushQueue unbound_queue() const {
    return {queue.exchange, "push_routing_" + test_bundles::random_id(), ""};
  }

  std::unique_ptr<fixtures::AmqpTestBroker> broker;
  std::string connector_id;
  fixtures::PushQueue queue;
  ManualClock clock{std::chrono::system_clock::now()};
};

// A sink on the real clock whose connection runs through a proxy the test cuts or holds.
struct ProxiedSink {
  ProxiedSink(AmqpSinkOptions options, std::chrono::milliseconds reconnect_initial) {
    options.connection.port = network.port();
    options.reconnect_initial = reconnect_initial;
    sink = make_amqp_sink(std::move(options), {}, real_clock);
  }
  SystemClock real_clock;
  fixtures::TcpProxy network{5672};
  std::unique_ptr<Sink> sink;
};

// Sends `bundle` and flushes, expecting the sink to give up: the DeliveryError's text, or a failure.
inline std::string delivery_error(Sink& sink, const stix::Bundle& bundle) {
  try {
    sink.send(bundle);
    sink.flush();
  } catch (const DeliveryError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected DeliveryError";
  return {};
}

// The object ids of `messages`, each message checked as OpenCTI's worker would take it.
inline std::set<std::string> received_ids(const std::vector<fixtures::WorkerMessage>& messages,
                                          const std::optional<std::string>& work_id) {
  std::set<std::string> ids;
  for (const auto& message : messages) {
    EXPECT_EQ(message.problems({.applicant_id = test_bundles::kApplicant, .work_id = work_id, .one_object_per_message = true}),
              std::vector<std::string>{});
    ids.insert(message.object_ids().at(0));
  }
  return ids;
}

}  // namespace kfc::sinks
