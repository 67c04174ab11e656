#pragma once
// The AMQP sink's options for the test broker (guest on 127.0.0.1:5672) and a push queue prepared by
// fixtures::AmqpTestBroker; shared by the sink suites and the run-loop test.
#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/sinks/amqp_sink.h"

namespace kfc::sinks::test_broker {

inline AmqpSinkOptions options_for(const fixtures::PushQueue& queue, const std::string& applicant_id) {
  AmqpSinkOptions options;
  options.connection.host = "127.0.0.1";
  options.connection.port = 5672;
  options.connection.vhost = "/";
  options.connection.user = "guest";
  options.connection.pass = Secret("guest");
  options.exchange = queue.exchange;
  options.routing_key = queue.routing_key;
  options.applicant_id = applicant_id;
  return options;
}

}  // namespace kfc::sinks::test_broker
