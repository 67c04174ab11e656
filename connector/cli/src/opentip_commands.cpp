// lookup, enrich: the OpenTIP API token at work, from a shell or as an OpenCTI enrichment connector.
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>

#include "kfc/cli/commands.h"
#include "kfc/config/loader.h"
#include "kfc/config/logging.h"
#include "kfc/opentip/client.h"
#include "kfc/opentip/enrichment_connector.h"
#include "kfc/opentip/report.h"

namespace kfc::cli {
namespace {

namespace ex = opentip::exit_code;

struct LookupArgs {
  std::string value;
  bool json = false;
};

// `lookup` needs only the opentip.* keys: problems elsewhere (no connector.id, no TAXII token) must
// not stop an analyst from looking a value up.
std::optional<Settings> load_opentip_settings(const CliContext& context) {
  LoadResult result = load_settings(LoadRequest::from_process(context.config_path));
  bool ok = true;
  for (const auto& error : result.errors) {
    if (error.find("opentip.") == std::string::npos) continue;
    fmt::print(stderr, "config error: {}\n", error);
    ok = false;
  }
  if (!ok) return std::nullopt;
  return result.settings;
}

int run_lookup(const CliContext& context, const LookupArgs& args) {
  auto query = opentip::classify(args.value);
  if (!query) {
    fmt::print(stderr, "error: cannot look up: {}\n", query.error());
    return ex::kInvalid;
  }
  auto settings = load_opentip_settings(context);
  if (!settings) return ex::kInvalid;
  try {
    opentip::ClientOptions options = opentip::client_options(settings->opentip);
    // Someone is waiting at a shell: one quick retry, then say so (the enrichment mode is patient).
    options.retry.max_attempts = 2;
    options.retry.initial_backoff = std::chrono::seconds(1);
    auto cache = opentip::make_cache(settings->opentip.cache_dir, settings->opentip.cache_ttl,
                                     settings->opentip.cache_max_entries);
    auto transport = http::make_curl_transport({});
    opentip::Client client(options, *transport, system_clock(), cache.get());
    opentip::LookupResult result = client.lookup(*query);
    if (args.json) {
      std::fputs(result.found ? result.raw_json.c_str() : "{}", stdout);
      std::fputs("\n", stdout);
    } else {
      std::fputs(opentip::format_table(result).c_str(), stdout);
    }
    return opentip::exit_code_for(result);
  } catch (const std::invalid_argument& error) {
    fmt::print(stderr, "{}\n", error.what());
    return ex::kInvalid;
  } catch (const TokenError& error) {  // 401 (TokenRejectedError) or an expired key never sent
    fmt::print(stderr, "error: {}\n", error.what());
    return ex::kTokenProblem;
  } catch (const opentip::QuotaExceededError& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return ex::kQuota;
  } catch (const opentip::ServiceUnavailableError& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return ex::kUnavailable;
  } catch (const std::exception& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return ex::kError;
  }
}

std::atomic<bool> g_stop_requested{false};

extern "C" void request_stop(int) { g_stop_requested.store(true); }

// `enrich` needs OpenCTI, the connector identity and OpenTIP; the TAXII side (kaspersky.*) may be
// left unconfigured by a deployment that only enriches.
bool enrichment_blocked_by(const std::string& error) {
  return error.find("kaspersky.") == std::string::npos;
}

}  // namespace

int run_enrich_command(const CliContext& context, const std::function<bool()>& should_stop) {
  LoadResult result = load_settings(LoadRequest::from_process(context.config_path));
  setup_logging(result.settings.connector.log_level, resolve_log_format(context.log_format, result.settings));
  for (const auto& notice : result.notices) spdlog::info("{}", notice);
  for (const auto& warning : result.warnings) spdlog::warn("{}", warning);
  bool ok = true;
  for (const auto& error : result.errors) {
    if (!enrichment_blocked_by(error)) continue;
    spdlog::error("config error: {}", error);
    ok = false;
  }
  if (!ok) return ex::kInvalid;
  opentip::EnrichmentEnvironment environment;
  environment.should_stop = should_stop;
  return opentip::run_enrichment(result.settings, std::move(environment));
}

namespace {

int run_enrich(const CliContext& context) {
  g_stop_requested.store(false);
  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  return run_enrich_command(context, [] { return g_stop_requested.load(); });
}

}  // namespace

void add_opentip_commands(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<LookupArgs>();
  CLI::App* lookup = app.add_subcommand(
      "lookup", "look a hash, IP address, domain or URL up in the Kaspersky Threat Intelligence Portal (OpenTIP)");
  lookup->add_option("value", args->value, "MD5/SHA1/SHA256, IPv4/IPv6 address, domain name or URL")->required();
  lookup->add_flag("--json", args->json, "print OpenTIP's raw JSON answer instead of the table");
  lookup->footer(
      "Exit code: 0 Green, 10 Grey or no data, 11 Yellow, 12 Orange, 13 Red; 2 invalid value or configuration, "
      "3 opentip.api_key rejected or expired, 4 quota exceeded, 5 OpenTIP unavailable, 1 other errors.");
  lookup->callback([&context, args] { context.exit_code = run_lookup(context, *args); });

  CLI::App* enrich = app.add_subcommand(
      "enrich",
      "run as an OpenCTI internal enrichment connector: look observables up in OpenTIP when OpenCTI asks "
      "(scope opentip.enrichment_scope, max TLP opentip.max_tlp)");
  enrich->footer(
      "Registers as not playbook compatible: use it from an observable's enrichment menu or automatic enrichment; "
      "playbook requests are refused. Stops on SIGTERM/SIGINT (a request in progress goes back to the queue). "
      "Exit code: 0 stopped, 2 configuration error, 3 token rejected, 1 other errors.");
  enrich->callback([&context] { context.exit_code = run_enrich(context); });
}

}  // namespace kfc::cli
