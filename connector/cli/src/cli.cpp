#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "kfc/cli/commands.h"

namespace kfc::cli {

int run_cli(int argc, char** argv) {
  CLI::App app{"Kaspersky Threat Data Feeds connector for OpenCTI"};
  CliContext context;
  app.add_option("-c,--config", context.config_path, "path of config.yml (default ./config.yml)");
  app.add_option("--log-format", context.log_format, "human or json")->check(CLI::IsMember({"human", "json"}));
  app.require_subcommand(0, 1);

  add_config_commands(app, context);
  add_taxii_commands(app, context);
  add_opentip_commands(app, context);
  add_run_commands(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    // Commands report their own errors; this is the last line of defence (no secret reaches here:
    // every secret type prints masked).
    spdlog::critical("{}", error.what());
    return 1;
  }
  if (app.get_subcommands().empty()) {
    if (!context.default_command) {
      std::fputs(app.help().c_str(), stdout);
      return 2;
    }
    return context.default_command();
  }
  return context.exit_code;
}

}  // namespace kfc::cli
