#pragma once
// Builds the sink the settings ask for: connector.output (opencti | directory | stdout) and, for
// opencti, connector.queue_protocol (amqp | api). `session` is required for output opencti.
#include <functional>
#include <memory>
#include <ostream>

#include "kfc/config/settings.h"
#include "kfc/opencti/session.h"
#include "kfc/sinks/amqp_sink.h"
#include "kfc/sinks/other_sinks.h"

namespace kfc::sinks {

struct SinkEnvironment {
  opencti::OpenCtiSession* session = nullptr;  // output opencti
  Clock* clock = nullptr;                      // default: system clock
  std::ostream* out = nullptr;                 // stdout sink (default std::cout)
  bool dry_run = false;                        // forces the stdout sink
  LineWriter dry_run_lines = write_compact_lines;
  AmqpMessageMode amqp_mode = AmqpMessageMode::PerObject;
  std::function<bool()> should_stop;           // the process is stopping: the AMQP sink stops retrying
};

// Throws std::invalid_argument naming the setting when the combination cannot work (e.g. output
// directory without connector.output_dir, output opencti without a session).
std::unique_ptr<Sink> make_sink(const Settings& settings, const SinkEnvironment& environment);

// The AMQP options a registration implies (for tests and the factory).
AmqpSinkOptions amqp_options_from(const opencti::Registration& registration);

}  // namespace kfc::sinks
