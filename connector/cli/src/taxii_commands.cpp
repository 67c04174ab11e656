#include "kfc/cli/commands.h"

namespace kfc::cli {

// Placeholder until the module's commands land; registers nothing.
void add_taxii_commands(CLI::App&, CliContext&) {}

}  // namespace kfc::cli
