#pragma once
// The command line `kaspersky-feeds-connector [--config PATH] <command>`. Each module registers its
// own subcommands; main only wires them together.
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace kfc::cli {

struct CliContext {
  std::string config_path;   // --config (empty: ./config.yml if present, else environment only)
  std::string log_format;    // --log-format human|json (empty: OPENCTI_JSON_LOGGING / terminal)
  int exit_code = 0;         // set by the command that ran
  // What runs when no command is named (the connector's `run`); set by add_run_commands.
  std::function<int()> default_command;
};

// check, tokens, version (configuration and token component)
void add_config_commands(CLI::App& app, CliContext& context);
// collections (TAXII client)
void add_taxii_commands(CLI::App& app, CliContext& context);
// lookup, enrich (OpenTIP)
void add_opentip_commands(CLI::App& app, CliContext& context);
// The OpenCTI internal enrichment connector (OpenTIP lookups), until should_stop() says so; also
// what `run` becomes when connector.type is INTERNAL_ENRICHMENT.
int run_enrich_command(const CliContext& context, const std::function<bool()>& should_stop);
// run (default command), the scheduled connector process
void add_run_commands(CLI::App& app, CliContext& context);

// Builds the whole command line and runs it; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace kfc::cli
