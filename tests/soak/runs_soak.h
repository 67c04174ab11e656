#pragma once
// The long-life soak: the scheduled connector (connector.duration_period PT1S) for `runs` runs
// against a feed that grows a little before each run. Its peak and current RSS, open file
// descriptors and threads are sampled between runs at the `samples` run numbers; after the warm-up
// they must not grow. Every feed object, the grown ones included, must be delivered.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <vector>

namespace kfc::soak {

struct RunsSoakOptions {
  int runs = 2000;
  std::vector<int> samples{1, 100, 1000, 2000};  // run numbers to sample (those beyond `runs` are skipped)
  std::size_t initial_objects = 1000;            // the feed at start, over two collections
  std::size_t growth = 6;                        // feed objects added before each run
  std::filesystem::path directory;
};

// Prints the figures per sampled run; returns 0 when nothing was lost and nothing grew, 1 otherwise.
int run_runs_soak(const RunsSoakOptions& options);

}  // namespace kfc::soak
