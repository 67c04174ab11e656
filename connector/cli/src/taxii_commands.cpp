// `collections`: what the configured TAXII token reaches, and what kaspersky.collections selects
// (taxii2.collections in the generic TAXII mode: every API root of the discovery URL).
#include <algorithm>
#include <cstdio>
#include <exception>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "kfc/cli/commands.h"
#include "kfc/config/loader.h"
#include "kfc/config/logging.h"
#include "kfc/generic/server.h"
#include "kfc/taxii/selection.h"
#include "kfc/taxii/settings_client.h"

namespace kfc::cli {
namespace {

constexpr int kExitConfig = 2;
constexpr int kExitServer = 1;

// Only the TAXII source's settings matter here: the command must work before OpenCTI is configured.
bool report_source_problems(const LoadResult& result) {
  const std::string section = result.settings.taxii2.enabled() ? "taxii2." : "kaspersky.";
  bool blocking = false;
  for (const auto& error : result.errors) {
    if (error.find(section) == std::string::npos) continue;
    fmt::print(stderr, "config error: {}\n", error);
    blocking = true;
  }
  return blocking;
}

void print_collections(const std::vector<taxii::Collection>& collections, const std::vector<std::string>& patterns) {
  std::size_t id_width = 2;
  std::size_t title_width = 5;
  for (const auto& c : collections) {
    id_width = std::max(id_width, c.id.size());
    title_width = std::max(title_width, c.title.size());
  }
  fmt::print("{:<{}}  {:<{}}  {:<8}  {}\n", "ID", id_width, "TITLE", title_width, "READABLE", "SELECTED");
  std::size_t selected = 0;
  for (const auto& c : collections) {
    const bool chosen = taxii::is_selected(patterns, c);
    // A selected but unreadable collection is skipped at run time: say so here.
    const char* mark = chosen ? (c.can_read ? "yes" : "yes (not readable: skipped)") : "no";
    if (chosen && c.can_read) ++selected;
    fmt::print("{:<{}}  {:<{}}  {:<8}  {}\n", c.id, id_width, c.title, title_width, c.can_read ? "yes" : "no", mark);
  }
  std::string pattern_text;
  for (const auto& p : patterns) pattern_text += (pattern_text.empty() ? "" : ", ") + p;
  fmt::print("{} collection(s); {} selected and readable with kaspersky.collections = {}\n", collections.size(),
             selected, pattern_text.empty() ? "(all)" : pattern_text);
}

void print_generic_collections(const std::vector<generic::TaxiiServer::Listed>& listed,
                               const std::vector<std::string>& entries) {
  std::size_t name_width = 14;
  std::size_t title_width = 5;
  for (const auto& c : listed) {
    name_width = std::max(name_width, c.api_root_name.size() + 1 + c.collection.id.size());
    title_width = std::max(title_width, c.collection.title.size());
  }
  fmt::print("{:<{}}  {:<{}}  {:<7}  {:<8}  {}\n", "API_ROOT.ID", name_width, "TITLE", title_width, "VERSION", "READABLE",
             "SELECTED");
  std::size_t selected = 0;
  for (const auto& c : listed) {
    if (c.selected) ++selected;
    const char* mark = c.selected ? "yes" : c.matched ? "yes (not readable: skipped)" : "no";
    fmt::print("{:<{}}  {:<{}}  {:<7}  {:<8}  {}\n", c.api_root_name + "." + c.collection.id, name_width,
               c.collection.title, title_width, c.version == taxii::TaxiiVersion::V20 ? "2.0" : "2.1",
               c.collection.can_read ? "yes" : "no", mark);
  }
  fmt::print("{} collection(s); {} selected and readable with taxii2.collections = {}\n", listed.size(), selected,
             fmt::format("{}", fmt::join(entries, ", ")));
}

int run_collections(const CliContext& context) {
  const LoadResult result = load_settings(LoadRequest::from_process(context.config_path));
  setup_logging(result.settings.connector.log_level, resolve_log_format(context.log_format, result.settings));
  if (report_source_problems(result)) return kExitConfig;
  const auto& kaspersky = result.settings.kaspersky;
  try {
    if (result.settings.taxii2.enabled()) {
      generic::TaxiiServer server(result.settings.taxii2, system_clock());
      print_generic_collections(server.list_all(), result.settings.taxii2.collections);
      return 0;
    }
    auto client = taxii::make_client(kaspersky, system_clock());
    client->api_root();
    print_collections(client->collections(), kaspersky.collections);
    return 0;
  } catch (const taxii::ConfigurationError& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return kExitConfig;
  } catch (const TokenError& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return kExitConfig;
  } catch (const std::exception& error) {
    fmt::print(stderr, "error: {}\n", error.what());
    return kExitServer;
  }
}

}  // namespace

void add_taxii_commands(CLI::App& app, CliContext& context) {
  auto* collections = app.add_subcommand(
      "collections", "List the TAXII API root's collections (id, title, readable) and whether "
                     "kaspersky.collections selects them (taxii2.collections: every API root of "
                     "taxii2.discovery_url), so you can see what your credentials reach.");
  collections->callback([&context] { context.exit_code = run_collections(context); });
}

}  // namespace kfc::cli
