#include "kfc/sinks/factory.h"

#include <iostream>
#include <memory>
#include <stdexcept>

namespace kfc::sinks {
AmqpSinkOptions amqp_options_from(const opencti::Registration& registration) {
  AmqpSinkOptions options;
  options.connection = registration.mq;
  options.exchange = registration.push_exchange;
  options.routing_key = registration.push_routing;
  options.applicant_id = registration.connector_user_id;
  return options;
}

namespace {

// OpenCTI over RabbitMQ, or over GraphQL with connector.queue_protocol api.
std::unique_ptr<Sink> make_opencti_sink(const Settings& settings, const SinkEnvironment& environment, Clock& clock) {
  opencti::OpenCtiSession* session = environment.session;
  if (session == nullptr) throw std::invalid_argument("connector.output 'opencti' needs a registered OpenCTI session");
  if (settings.connector.queue_protocol == QueueProtocol::Api) {
    return make_graphql_sink(session->api(), session->connector_id());
  }
  AmqpSinkOptions options = amqp_options_from(session->registration());
  options.mode = environment.amqp_mode;
  options.should_stop = environment.should_stop;
  // The sink announces on its own thread: it gets its own client (session->api() is the run loop's).
  std::shared_ptr<opencti::OpenCtiClient> announcer = session->new_client();
  return make_amqp_sink(
      std::move(options),
      [announcer](const std::string& work_id, int n) { announcer->add_expectations(work_id, n); }, clock);
}

}  // namespace

std::unique_ptr<Sink> make_sink(const Settings& settings, const SinkEnvironment& environment) {
  Clock& clock = environment.clock ? *environment.clock : system_clock();
  if (environment.dry_run || settings.connector.output == OutputKind::Stdout) {
    return make_stdout_sink(environment.out ? *environment.out : std::cout, environment.dry_run_lines);
  }
  if (settings.connector.output == OutputKind::Directory) {
    if (settings.connector.output_dir.empty()) {
      throw std::invalid_argument("connector.output is 'directory' but connector.output_dir is not set");
    }
    return make_directory_sink(settings.connector.output_dir, clock, settings.connector.directory_retention_days);
  }
  std::unique_ptr<Sink> sink = make_opencti_sink(settings, environment, clock);
  if (settings.connector.mirror_dir.empty()) return sink;
  return make_mirror_sink(std::move(sink), make_directory_sink(settings.connector.mirror_dir, clock,
                                                               settings.connector.directory_retention_days));
}

}  // namespace kfc::sinks
