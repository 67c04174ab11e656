#include "kfc/runner/process.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "kfc/opencti/session.h"
#include "kfc/runner/feed.h"
#include "kfc/runner/metrics.h"
#include "kfc/runner/runner.h"
#include "kfc/runner/scheduler.h"
#include "kfc/runner/state_stores.h"
#include "kfc/sinks/factory.h"
#include "kfc/stix/python_json.h"
#include "kfc/taxii/settings_client.h"

namespace kfc::runner {
namespace {

// Where the state lives for this output (see state_stores.h).
std::unique_ptr<StateStore> make_state_store(const Settings& settings, const ProcessOptions& options,
                                             opencti::OpenCtiSession* session) {
  if (options.dry_run) return std::make_unique<MemoryStateStore>(options.state.value_or(ConnectorState{}), false);
  if (session) {
    return std::make_unique<PlatformStateStore>(
        [session] { return session->state().value_or(""); },
        [session](const std::string& json) {
          session->set_state(json);
          session->force_ping();  // stored on the platform before the cursor counts as moved
        });
  }
  std::string path = settings.connector.state_file;
  if (path.empty() && settings.connector.output == OutputKind::Directory) {
    path = (std::filesystem::path(settings.connector.output_dir) / ".state.json").string();
  }
  if (path.empty()) {
    spdlog::warn("connector.state_file is not set: with output stdout every run starts from {}",
                 settings.taxii2.enabled() ? "taxii2.initial_history" : "kaspersky.initial_history");
    return std::make_unique<MemoryStateStore>(ConnectorState{}, true);
  }
  return std::make_unique<FileStateStore>(path);
}

void update_ping_info(opencti::OpenCtiSession* session, const Scheduler& scheduler, const Settings& settings,
                      bool run_once) {
  if (!session) return;
  session->info().update([&](opencti::ConnectorInfo& info) {
    info.run_and_terminate = run_once;
    info.queue_threshold = settings.connector.queue_threshold_mb;
    info.last_run = scheduler.last_run();
    info.next_run = scheduler.next_run();
  });
  if (!scheduler.next_run() || run_once) return;
  try {
    session->force_ping();  // the UI shows when the next run comes, not 40 s later
  } catch (const std::exception& error) {
    spdlog::warn("Ping to OpenCTI failed: {}", error.what());
  }
}

// /metrics and /healthz (connector.expose_metrics), or /healthz alone (connector.health_port); none in a
// dry run.
std::unique_ptr<MetricsServer> make_status_server(const Settings& settings, const ProcessOptions& options,
                                                  const Metrics& metrics, const health::Health& health) {
  const auto& connector = settings.connector;
  if (options.dry_run) return nullptr;
  if (connector.expose_metrics) {
    auto server = std::make_unique<MetricsServer>(&metrics, health, connector.metrics_address, connector.metrics_port);
    spdlog::info("Metrics on http://{}:{}/metrics, health on /healthz", connector.metrics_address, server->port());
    return server;
  }
  if (connector.health_port > 0) {
    auto server = std::make_unique<MetricsServer>(nullptr, health, connector.metrics_address, connector.health_port,
                                                  "connector.health_port");
    spdlog::info("Health on http://{}:{}/healthz", connector.metrics_address, server->port());
    return server;
  }
  return nullptr;
}

}  // namespace

int run_process(const Settings& settings, const ProcessOptions& options, Clock& clock, StopSignal& stop) {
  const auto stopping = [&stop] { return stop.requested(); };
  // TAXII backoff (Retry-After may ask for minutes) and page transfers end at once on a stop request.
  InterruptibleClock taxii_clock(clock, stopping);
  Metrics metrics(settings.connector.metrics_namespace, settings.connector.metrics_subsystem);
  health::Health health(clock, 3 * options.ping_interval, &metrics);
  metrics.set_state("idle");
  std::unique_ptr<MetricsServer> metrics_server;
  std::unique_ptr<opencti::OpenCtiSession> session;
  std::unique_ptr<taxii::Client> taxii;
  std::unique_ptr<Feed> feed;
  std::unique_ptr<sinks::Sink> sink;
  const bool run_once = options.once || options.dry_run || settings.connector.run_and_terminate;
  try {
    metrics_server = make_status_server(settings, options, metrics, health);
    if (settings.connector.output == OutputKind::OpenCti && !options.dry_run) {
      opencti::SessionOptions session_options;
      session_options.should_stop = stopping;
      session_options.ping_interval = options.ping_interval;
      session_options.on_ping = [&health, &metrics](const std::optional<std::string>& error) {
        health.platform_answered(error);
        metrics.add(Metric::PyctiPings);
        if (error) metrics.add(Metric::PyctiPingErrors);
      };
      health.expect_platform();
      session = opencti::OpenCtiSession::connect(settings, clock, session_options);
    }
    if (settings.taxii2.enabled()) {
      feed = make_generic_feed(settings, taxii_clock);
    } else {
      taxii = taxii::make_client(settings.kaspersky, taxii_clock, stopping);
      feed = make_kaspersky_feed(settings, *taxii, clock);
    }
    sinks::SinkEnvironment environment;
    environment.session = session.get();
    environment.clock = &clock;
    environment.out = options.out ? options.out : &std::cout;
    environment.dry_run = options.dry_run;
    environment.dry_run_lines = stix::write_dry_run_lines;
    environment.should_stop = stopping;
    sink = sinks::make_sink(settings, environment);
  } catch (const std::exception& error) {
    if (stop.requested()) {  // e.g. SIGTERM while OpenCTI was still unreachable: a stop, not a failure
      spdlog::info("Stopped by {} before the first run", stop.reason());
      return 0;
    }
    spdlog::critical("{}", error.what());
    return 2;
  }
  auto store = make_state_store(settings, options, session.get());
  // The taxii2 connector's own state key is "last_run": a state it left is continued, and one this
  // mode writes can be read by it.
  if (settings.taxii2.enabled()) store = std::make_unique<RunKeyStateStore>(std::move(store), "last_run");
  spdlog::info("Output: {}; state: {}", sink->describe(), store->describe());

  Runner runner({.settings = &settings, .clock = &clock, .stop = &stop, .feed = feed.get(), .sink = sink.get(),
                 .state = store.get(), .session = session.get(), .metrics = &metrics, .health = &health,
                 .dry_run = options.dry_run});
  Scheduler scheduler(clock, stop,
                      {.interval = settings.run_interval(),
                       .run_once = run_once,
                       .hold_recheck = std::min(settings.run_interval(), std::chrono::seconds{60})});
  bool was_buffering = false;
  // pycti's back-pressure: no new run while the platform's queue is over connector.queue_threshold.
  const auto hold = [&]() -> bool {
    if (!session) return false;
    bool buffering = false;
    double size_mb = 0;
    try {
      size_mb = session->api().queue_details(session->connector_id()).size_mb();
      buffering = size_mb >= settings.connector.queue_threshold_mb;
    } catch (const std::exception& error) {
      spdlog::warn("Cannot read the OpenCTI queue size: {}", error.what());
    }
    metrics.set(Metric::QueueBuffering, buffering ? 1 : 0);
    session->info().update([&](opencti::ConnectorInfo& info) {
      info.buffering = buffering;
      info.queue_messages_size = size_mb;
    });
    if (buffering != was_buffering) {
      was_buffering = buffering;
      try {
        session->force_ping();  // the UI shows "buffering" now
      } catch (const std::exception& error) {
        spdlog::warn("Ping to OpenCTI failed: {}", error.what());
      }
    }
    return buffering;
  };
  const RunOutcome outcome = scheduler.loop(
      [&] {
        const RunReport report = runner.run_once();
        if (options.print_summary) std::cerr << format_summary(report) << std::flush;
        return report.outcome;
      },
      hold, [&] { update_ping_info(session.get(), scheduler, settings, run_once); });
  metrics.set_state("stopped");
  if (session) {
    try {
      session->force_ping();  // the last state and run datetimes reach the platform before exit
    } catch (const std::exception& error) {
      spdlog::warn("Final ping to OpenCTI failed: {}", error.what());
    }
  }
  // A scheduled process stopped by a signal ends cleanly whatever its last run did (the failure was
  // logged and reported in its work); `run --once` says whether its run succeeded.
  if (!run_once && stop.requested()) return 0;
  return outcome == RunOutcome::Failed ? 1 : 0;
}

}  // namespace kfc::runner
