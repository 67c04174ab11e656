// check, tokens, version: what a user runs first, before any network traffic.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/fmt/ranges.h>

#include <spdlog/fmt/fmt.h>

#include "kfc/cli/commands.h"
#include "kfc/config/catalogue.h"
#include "kfc/config/loader.h"
#include "kfc/config/logging.h"
#include "kfc/config/version.h"

namespace kfc::cli {
namespace {

constexpr int kExitInvalid = 2;

void print_problems(const LoadResult& result) {
  for (const auto& warning : result.warnings) fmt::print(stderr, "config warning: {}\n", warning);
  for (const auto& error : result.errors) fmt::print(stderr, "config error: {}\n", error);
}

std::string days_text(const TokenStatus& status) {
  if (!status.days_left) return "-";
  if (status.state == TokenState::Expired) return fmt::format("{} days ago", -*status.days_left);
  return fmt::format("{} day{} left", *status.days_left, *status.days_left == 1 ? "" : "s");
}

// Prints each token's state; returns how many configured tokens are expired.
int print_tokens(const Settings& settings) {
  int expired = 0;
  fmt::print("Tokens:\n");
  for (const auto& report : token_reports(settings, system_clock().now())) {
    if (!report.configured) {
      fmt::print("  {:<22} not set\n", report.key);
      continue;
    }
    if (report.status.state == TokenState::Expired) ++expired;
    fmt::print("  {:<22} {:<9} {:<15} from {}\n", report.key, to_string(report.status.state), days_text(report.status),
               report.source);
    fmt::print("  {:<22} {}\n", "", report.status.message);
  }
  return expired;
}

void print_settings(const LoadResult& result) {
  fmt::print("Configuration file: {}\n", result.config_file.empty() ? "(none: environment only)" : result.config_file);
  const auto lines = describe_settings(result.settings);
  std::size_t width = 0;
  for (const auto& line : lines) width = std::max(width, line.key.size());
  fmt::print("Effective settings (secrets masked):\n");
  for (const auto& line : lines) {
    fmt::print("  {:<{}} = {:<40} [{}]\n", line.key, width, line.value.empty() ? "(not set)" : line.value, line.origin);
  }
}

LoadResult load(const CliContext& context) {
  LoadResult result = load_settings(LoadRequest::from_process(context.config_path));
  setup_logging(result.settings.connector.log_level, resolve_log_format(context.log_format, result.settings));
  return result;
}

int run_check(const CliContext& context) {
  const LoadResult result = load(context);
  print_settings(result);
  const int expired = print_tokens(result.settings);
  print_problems(result);
  if (result.ok() && expired == 0) {
    fmt::print("Configuration is valid{}.\n",
               result.warnings.empty() ? "" : fmt::format(" ({} warning(s) on stderr)", result.warnings.size()));
    return 0;
  }
  std::vector<std::string> reasons;
  if (!result.ok()) reasons.push_back(fmt::format("{} error(s), listed on stderr", result.errors.size()));
  if (expired) reasons.push_back(fmt::format("{} expired token(s), see Tokens", expired));
  fmt::print("Configuration is INVALID: {}.\n", fmt::join(reasons, "; "));
  return kExitInvalid;
}

int run_tokens(const CliContext& context) {
  const LoadResult result = load(context);
  const int expired = print_tokens(result.settings);
  if (!result.ok()) {
    fmt::print(stderr, "config: {} configuration problem(s); run `check` for details\n", result.errors.size());
  }
  return expired ? kExitInvalid : 0;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The catalogue metadata (config/catalogue.h): written under `write_dir`, or compared with what is
// under `check_dir` (exit 1 naming each file that differs and the command that regenerates them).
int run_metadata(const std::string& write_dir, const std::string& check_dir) {
  int drifted = 0;
  for (const auto& file : catalogue::metadata_files()) {
    if (!write_dir.empty()) {
      const std::filesystem::path path = std::filesystem::path(write_dir) / file.path;
      std::filesystem::create_directories(path.parent_path());
      std::ofstream(path, std::ios::binary | std::ios::trunc) << file.content;
      fmt::print("wrote {}\n", path.string());
    } else if (!check_dir.empty()) {
      const std::filesystem::path path = std::filesystem::path(check_dir) / file.path;
      if (read_file(path) != file.content) {
        fmt::print(stderr, "{} differs from what the key table generates\n", path.string());
        ++drifted;
      }
    } else {
      fmt::print("==> {} <==\n{}\n", file.path, file.content);
    }
  }
  if (drifted > 0) {
    fmt::print(stderr, "{} catalogue file(s) out of date: regenerate them with `cmake --build <build dir> --target "
                       "metadata` (or `kaspersky-feeds-connector metadata --write deploy/opencti`) and commit\n",
               drifted);
    return 1;
  }
  return 0;
}

}  // namespace

void add_config_commands(CLI::App& app, CliContext& context) {
  auto* check = app.add_subcommand(
      "check", "Validate the configuration without network access; print effective settings (secrets masked), "
               "where each came from, and each token's state. Exit 0 when valid, 2 when not.");
  check->callback([&context] { context.exit_code = run_check(context); });

  auto* tokens = app.add_subcommand(
      "tokens", "Show each token's state (valid, expiring, expired, unknown) and days left. Exit 2 when one "
                "configured token is expired.");
  tokens->callback([&context] { context.exit_code = run_tokens(context); });

  auto metadata_write = std::make_shared<std::string>();
  auto metadata_check = std::make_shared<std::string>();
  auto* metadata = app.add_subcommand(
      "metadata", "Print the OpenCTI catalogue metadata (manifest, config JSON Schema, config doc) generated from "
                  "the configuration keys; --write DIR writes them, --check DIR exits 1 when the files there differ.");
  metadata->add_option("--write", *metadata_write, "write the files under DIR (e.g. deploy/opencti)");
  metadata->add_option("--check", *metadata_check, "compare with the files under DIR");
  metadata->callback([&context, metadata_write, metadata_check] {
    context.exit_code = run_metadata(*metadata_write, *metadata_check);
  });

  auto* version_command = app.add_subcommand("version", "Print the connector's version.");
  version_command->callback([&context] {
    fmt::print("kaspersky-feeds-connector {} (configuration-compatible with {})\n", version(), kReferenceConnector);
    context.exit_code = 0;
  });
}

}  // namespace kfc::cli
