#include "runs_soak.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "harness.h"
#include "kfc/fixtures/wait_until.h"

namespace kfc::soak {
namespace {

struct Sample {
  int run = 0;
  ProcessFigures figures;
};

// New objects for run `run`, dated now (after every cursor), distinct in every collection.
std::vector<std::vector<testing::FixtureObject>> grown_objects(std::size_t per_collection, std::size_t first_index) {
  const auto now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  std::vector<std::vector<testing::FixtureObject>> objects(2);
  for (std::size_t c = 0; c < 2; ++c) {
    for (std::size_t i = 0; i < per_collection; ++i) {
      const auto index = first_index + i;
      objects[c].push_back(make_feed_object(c, index, now + std::chrono::microseconds{i}));
    }
  }
  return objects;
}

// The figures of the sleeping process. toProcessed reaches the stand-in OpenCTI a moment before the
// connector has closed the run's connections, so one reading can still count their descriptors (and,
// under load, see the run end later than that). The least of readings over 400 ms (the process
// sleeps about a second between runs) is what it keeps: a leaked descriptor or thread never goes away.
std::optional<ProcessFigures> settled_figures_of(pid_t pid) {
  auto settled = figures_of(pid);
  for (int reading = 0; settled && reading < 20; ++reading) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = figures_of(pid);
    if (!now) return now;
    settled->rss_kib = std::min(settled->rss_kib, now->rss_kib);
    settled->peak_rss_kib = now->peak_rss_kib;
    settled->fds = std::min(settled->fds, now->fds);
    settled->threads = std::min(settled->threads, now->threads);
  }
  return settled;
}

// Growth after the warm-up: the sample at the first run number >= 100 (or the second sample) against the last.
bool grew(const std::vector<Sample>& samples) {
  if (samples.size() < 3) return false;
  const auto& base = samples[1].figures;
  const auto& last = samples.back().figures;
#ifdef KFC_SOAK_RSS_UNRELIABLE  // a sanitizer build (CMakeLists.txt): RSS says nothing there
  const bool rss_grew = false;
#else
  const auto allowance = [](std::uint64_t kib) { return kib + kib / 20 + 1024; };  // 5 % + 1 MiB of noise
  const bool rss_grew = last.peak_rss_kib > allowance(base.peak_rss_kib) || last.rss_kib > allowance(base.rss_kib);
#endif
  return rss_grew || last.fds > base.fds + 1 || last.threads > base.threads;
}

}  // namespace

int run_runs_soak(const RunsSoakOptions& options) {
  const auto start = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - std::chrono::days{1};
  const std::size_t initial_per_collection = options.initial_objects / 2;
  auto feed = make_feed(2, initial_per_collection, start);
  FeedIndex index;
  index.add(feed);
  Stage stage(options.directory, feed, 100);
  DeliveryTally tally(stage.queue());
  Supervisor connector({"run"}, stage.environment("PT1S"), options.directory);
  std::cout << fmt::format("soak runs: {} scheduled runs 1 s apart, feed of {} growing by {} before each run\n",
                           options.runs, options.initial_objects, options.growth)
            << std::flush;
  const auto started = Steady::now();
  connector.start();

  std::vector<Sample> samples;
  std::size_t next_index = initial_per_collection;
  int failed_runs = 0;
  for (int run = 1; run <= options.runs; ++run) {
    // A run is over when its work is closed (toProcessed); the process then sleeps until the next.
    if (!fixtures::wait_until([&] { return stage.opencti().count("toProcessed") >= static_cast<std::size_t>(run); },
                              std::chrono::minutes(2), std::chrono::milliseconds(20))) {
      std::cout << fmt::format("FAILED: run {} did not finish within 2 minutes:\n{}", run, connector.log());
      return 1;
    }
    const auto work = stage.opencti().work(stage.opencti().last_work_id());
    if (work && work->in_error) ++failed_runs;
    if (std::find(options.samples.begin(), options.samples.end(), run) != options.samples.end()) {
      const auto figures = settled_figures_of(connector.pid());
      if (!figures) {
        std::cout << "FAILED: the connector is gone:\n" << connector.log();
        return 1;
      }
      samples.push_back({run, *figures});
      std::cout << fmt::format("[{:7.0f} s] run {:5}: RSS {:6} KiB, peak RSS {:6} KiB, {:3} fds, {:2} threads\n",
                               std::chrono::duration<double>(Steady::now() - started).count(), run, figures->rss_kib,
                               figures->peak_rss_kib, figures->fds, figures->threads)
                << std::flush;
    }
    if (run == options.runs) break;
    const auto grown = grown_objects(options.growth / 2, next_index);
    next_index += options.growth / 2;
    for (std::size_t c = 0; c < grown.size(); ++c) {
      for (const auto& object : grown[c]) index.objects[object.id] = {collection_id(c), object.date_added};
      stage.taxii().append_objects(collection_id(c), grown[c]);
    }
  }
  const bool delivered = fixtures::wait_until([&] { return tally.missing_feed_objects(index).empty(); }, std::chrono::minutes(2));
  const auto status = connector.terminate(std::chrono::seconds(30));
  const auto lost = tally.missing_feed_objects(index).size();
  std::cout << fmt::format(
      "\nsoak runs result after {:.0f} s: {} runs ({} failed), {} feed objects, {} delivered, {} duplicates, lost {}; "
      "final SIGTERM {}\n",
      std::chrono::duration<double>(Steady::now() - started).count(), options.runs, failed_runs, index.objects.size(),
      tally.feed_objects_delivered(), tally.feed_duplicates(), lost, status ? std::to_string(*status) : "no exit");
  bool ok = delivered && lost == 0 && failed_runs == 0 && status == 0;
  if (grew(samples)) {
    std::cout << "FAILED: RSS, file descriptors or threads grew after the warm-up\n";
    ok = false;
  }
  std::cout << (ok ? "soak runs: PASSED\n" : "soak runs: FAILED\n") << std::flush;
  return ok ? 0 : 1;
}

}  // namespace kfc::soak
