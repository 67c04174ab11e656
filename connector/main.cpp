#include "kfc/cli/commands.h"

int main(int argc, char** argv) { return kfc::cli::run_cli(argc, argv); }
