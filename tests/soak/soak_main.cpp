// kfc-soak: the connector under faults and over many runs, with the real RabbitMQ (see README.md).
//   kfc-soak faults [--kills 100 --broker-restarts 10 --outages 10 ...]
//   kfc-soak runs [--runs 2000]
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <random>

#include "fault_soak.h"
#include "kfc/fixtures/amqp_consumer.h"
#include "runs_soak.h"

namespace {

constexpr int kSkipped = 77;  // ctest's SKIP_RETURN_CODE: no broker outside CI mode

std::filesystem::path default_directory() {
  return std::filesystem::temp_directory_path() / ("kfc-soak-" + std::to_string(::getpid()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kfc-soak: the connector under faults and over many runs (real RabbitMQ, stand-in OpenCTI, TAXII test server)"};
  app.require_subcommand(1);
  std::string directory;
  app.fallthrough();
  app.add_option("--directory", directory, "working directory (default: $TMPDIR/kfc-soak-<pid>, removed when the soak passes)");

  kfc::soak::FaultSoakOptions faults;
  auto* fault_command = app.add_subcommand("faults", "SIGKILLs, broker restarts, GraphQL outages and failing pages; nothing may be lost");
  fault_command->add_option("--objects", faults.objects, "feed objects (over two collections)")->capture_default_str();
  fault_command->add_option("--page-size", faults.page_size, "TAXII page size")->capture_default_str();
  fault_command->add_option("--kills", faults.kills, "SIGKILLs of the connector")->capture_default_str();
  fault_command->add_option("--broker-restarts", faults.broker_restarts, "RabbitMQ restarts")->capture_default_str();
  fault_command->add_option("--outages", faults.outages, "GraphQL endpoint away and back")->capture_default_str();
  fault_command->add_option("--page-faults", faults.page_fault_bursts, "bursts of failing TAXII pages")->capture_default_str();
  long long page_delay_ms = faults.page_delay.count();
  fault_command->add_option("--page-delay-ms", page_delay_ms, "each TAXII page is answered after this")->capture_default_str();
  long long max_gap_ms = faults.max_gap.count();
  long long deadline_s = faults.deadline.count();
  fault_command->add_option("--max-gap-ms", max_gap_ms, "longest random pause between two faults")->capture_default_str();
  fault_command->add_option("--deadline", deadline_s, "seconds for the whole soak")->capture_default_str();
  fault_command->add_option("--seed", faults.seed, "random seed (0: a random one, printed)");

  kfc::soak::RunsSoakOptions runs;
  auto* runs_command = app.add_subcommand("runs", "scheduled runs 1 s apart on a growing feed; RSS, fds and threads must not grow");
  runs_command->add_option("--runs", runs.runs, "number of runs")->capture_default_str();
  runs_command->add_option("--samples", runs.samples, "run numbers to sample")->capture_default_str();
  runs_command->add_option("--initial-objects", runs.initial_objects, "feed objects at start")->capture_default_str();
  runs_command->add_option("--growth", runs.growth, "feed objects added before each run")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!kfc::fixtures::rabbitmq_reachable()) {
    std::cerr << "kfc-soak: RabbitMQ 127.0.0.1:5672 unreachable (tests/rabbitmq.sh start)\n";
    return kfc::fixtures::rabbitmq_required() ? 1 : kSkipped;
  }
  const std::filesystem::path work = directory.empty() ? default_directory() : std::filesystem::path(directory);
  int status = 1;
  try {
    if (*fault_command) {
      faults.max_gap = std::chrono::milliseconds(max_gap_ms);
      faults.page_delay = std::chrono::milliseconds(page_delay_ms);
      faults.deadline = std::chrono::seconds(deadline_s);
      if (faults.seed == 0) faults.seed = std::random_device{}();
      faults.directory = work;
      status = kfc::soak::run_fault_soak(faults);
    } else {
      runs.directory = work;
      status = kfc::soak::run_runs_soak(runs);
    }
  } catch (const std::exception& error) {
    std::cerr << "kfc-soak: " << error.what() << "\n";
    status = 1;
  }
  if (status == 0) std::filesystem::remove_all(work);
  else std::cerr << "kfc-soak: logs of every connector life kept in " << work.string() << "\n";
  return status;
}
