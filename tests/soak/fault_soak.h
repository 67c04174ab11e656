#pragma once
// The fault soak: the scheduled connector against a feed of `objects` indicators while, at random
// instants, it is killed with SIGKILL (and restarted, as a supervisor would), the broker restarts,
// the GraphQL endpoint goes away and comes back, and the TAXII server fails pages. In the end every
// STIX object the feed implies must have been delivered at least once (lost = 0), and duplicates
// stay within what the interruptions can explain: per kill, the feed objects delivered beyond the
// stored cursors (the unconfirmed pages, read again after the restart); per other fault, those
// plus what one connector life can hold unconfirmed.
#include <chrono>
#include <cstdint>
#include <filesystem>

namespace kfc::soak {

struct FaultSoakOptions {
  std::size_t objects = 20000;  // feed objects, over two collections
  std::size_t page_size = 100;
  std::chrono::milliseconds page_delay{100};  // each TAXII page answered after this: faults meet a busy connector
  int kills = 20;
  int broker_restarts = 3;
  int outages = 3;              // GraphQL endpoint away and back
  int page_fault_bursts = 6;    // TAXII pages failed (5xx, cut bodies, truncated JSON, 429, slow)
  std::chrono::milliseconds max_gap{2000};  // between two faults: a random instant up to this
  std::chrono::seconds deadline{330};       // the whole soak, convergence included
  std::uint64_t seed = 0;                   // 0: random (printed, to replay a run)
  std::filesystem::path directory;
};

// Prints the figures; returns 0 when nothing was lost and the figures hold, 1 otherwise.
int run_fault_soak(const FaultSoakOptions& options);

}  // namespace kfc::soak
