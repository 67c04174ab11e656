// run (the default command): the scheduled connector process.
//   kaspersky-feeds-connector [--config PATH] [run [--once] [--dry-run [--state JSON|FILE]]]
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <httplib.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "kfc/cli/commands.h"
#include "kfc/config/loader.h"
#include "kfc/config/logging.h"
#include "kfc/runner/process.h"
#include "kfc/runner/signals.h"
#include "kfc/runner/state_stores.h"

namespace kfc::cli {
namespace {

constexpr int kExitInvalid = 2;

struct RunFlags {
  bool once = false;
  bool dry_run = false;
  bool summary = false;
  std::string state;
};

// A dry run writes to stdout and needs no OpenCTI: its settings must validate without one.
LoadResult load_for(const CliContext& context, const RunFlags& flags) {
  LoadRequest request = LoadRequest::from_process(context.config_path);
  if (!flags.dry_run) return load_settings(request);
  request.environment["CONNECTOR_OUTPUT"] = "stdout";
  LoadResult result = load_settings(request);
  const bool id_missing = std::any_of(result.errors.begin(), result.errors.end(), [](const std::string& error) {
    return error.starts_with("connector.id is missing");
  });
  if (id_missing) {  // registration is what needs an id; a dry run does not register
    request.environment["CONNECTOR_ID"] = "00000000-0000-4000-8000-000000000000";
    result = load_settings(request);
  }
  return result;
}

int run_connector(const CliContext& context, const RunFlags& flags) {
  // Before any thread exists, so every thread inherits the blocked signals (see signals.h).
  runner::StopSignal stop;
  runner::SignalWatcher signals(stop);

  const LoadResult loaded = load_for(context, flags);
  if (loaded.settings.connector.type == "INTERNAL_ENRICHMENT" && !flags.dry_run) {
    // Deployed as the OpenTIP enrichment connector: the same process, the other job.
    return run_enrich_command(context, [&stop] { return stop.requested(); });
  }
  setup_logging(loaded.settings.connector.log_level, resolve_log_format(context.log_format, loaded.settings));
  for (const auto& notice : loaded.notices) spdlog::info("config: {}", notice);
  for (const auto& warning : loaded.warnings) spdlog::warn("config warning: {}", warning);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) spdlog::error("config error: {}", error);
    return kExitInvalid;
  }
  runner::ProcessOptions options;
  options.once = flags.once;
  options.dry_run = flags.dry_run;
  options.print_summary = flags.summary;
  if (!flags.state.empty()) {
    if (!flags.dry_run) {
      spdlog::error("--state only applies to --dry-run (a real run reads the stored state)");
      return kExitInvalid;
    }
    auto state = runner::state_from_argument(flags.state);
    if (!state) {
      spdlog::error("{}", state.error());
      return kExitInvalid;
    }
    options.state = std::move(*state);
  }
  return runner::run_process(loaded.settings, options, system_clock(), stop);
}

// Asks the running connector's /healthz (the container HEALTHCHECK calls this; no curl needed):
// exit 0 when it answers 200, 1 otherwise (unhealthy, or nothing listening).
int run_health(const CliContext& context) {
  const LoadResult loaded = load_settings(LoadRequest::from_process(context.config_path));
  const auto& connector = loaded.settings.connector;
  const int port = connector.expose_metrics ? connector.metrics_port : connector.health_port;
  if (port <= 0) {
    std::fputs("health: no health endpoint is configured — set connector.health_port (CONNECTOR_HEALTH_PORT) or "
               "connector.expose_metrics\n", stderr);
    return 1;
  }
  // A wildcard listen address is reached on loopback.
  std::string host = connector.metrics_address;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  httplib::Client client(host, port);
  client.set_connection_timeout(std::chrono::seconds(3));
  client.set_read_timeout(std::chrono::seconds(5));
  const auto response = client.Get("/healthz");
  if (!response) {
    std::fprintf(stderr, "health: nothing answers on http://%s:%d/healthz (%s)\n", host.c_str(), port,
                 httplib::to_string(response.error()).c_str());
    return 1;
  }
  std::fputs(response->body.c_str(), stdout);
  return response->status == 200 ? 0 : 1;
}

}  // namespace

void add_run_commands(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<RunFlags>();
  auto* run = app.add_subcommand("run", "run the connector: now, then every connector.duration_period / "
                                        "kaspersky.update_interval (the default command)");
  run->footer("Exit status: 0 success or stopped by SIGTERM/SIGINT, 1 the (last) run failed, 2 cannot start "
              "(configuration, OpenCTI unreachable), 75 a stop that took longer than 4.5 s was forced "
              "(nothing lost), 128+N a second signal N.");
  run->add_flag("--once", flags->once, "one run, then exit (status 0 on success); same as connector.run_and_terminate");
  run->add_flag("-d,--dry-run", flags->dry_run,
                "one run printing the objects to stdout, one per line; no OpenCTI, no state written");
  run->add_option("--state", flags->state,
                  "dry run: start from this state (JSON like {\"last_added\": 1732752000}, or a file holding it)");
  run->add_flag("--summary", flags->summary, "print a summary of each run (collections, objects by type) on stderr");
  run->callback([&context, flags] { context.exit_code = run_connector(context, *flags); });
  context.default_command = [&context, flags] { return run_connector(context, *flags); };

  auto* health = app.add_subcommand("health", "ask the running connector's /healthz (connector.health_port, or the "
                                              "metrics port): exit 0 when healthy, 1 when not or unreachable");
  health->callback([&context] { context.exit_code = run_health(context); });
}

}  // namespace kfc::cli
