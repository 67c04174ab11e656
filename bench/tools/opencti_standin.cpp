// kfc-bench-opencti: the stand-in OpenCTI platform of the tests (tests/fixtures/opencti_server) as a
// process for bench/run.sh: answers the connector's GraphQL calls on 127.0.0.1 and, as the platform
// does at registration, declares the push queue of --connector-id on the local RabbitMQ. Prints its
// port and the push queue's name, exchange and routing key (one per line); runs until SIGINT/SIGTERM,
// then prints how many addExpectations calls it answered. --answer-delay-ms N holds each
// addExpectations answer N ms, as a real platform takes tens of milliseconds per call (default 0).
#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>

#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/opencti_server.h"
#include "stop_signals.h"

int main(int argc, char** argv) {
  CLI::App app{"Stand-in OpenCTI platform for bench/run.sh"};
  std::string connector_id;
  app.add_option("--connector-id", connector_id)->required();
  int answer_delay_ms = 0;
  app.add_option("--answer-delay-ms", answer_delay_ms, "hold each addExpectations answer this long")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  const kfc::bench::StopSignals stop;
  try {
    kfc::fixtures::AmqpTestBroker broker;
    const auto queue = broker.prepare_push_queue(connector_id);
    kfc::fixtures::OpenCtiServer platform;
    platform.set_answer_delay("addExpectations", std::chrono::milliseconds(answer_delay_ms));
    std::cout << platform.port() << "\n" << queue.queue << "\n" << queue.exchange << "\n" << queue.routing_key << std::endl;
    stop.wait();
    std::cout << "addExpectations\t" << platform.count("addExpectations") << std::endl;
  } catch (const std::exception& error) {
    std::cerr << "kfc-bench-opencti: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
