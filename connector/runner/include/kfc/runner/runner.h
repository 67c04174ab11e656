#pragma once
// One connector run (connector/runner/README.md, "A run"; at least once): check the token, load the state, open an
// OpenCTI work, read every selected collection from its cursor page by page, map, batch, hand the
// stages to the sink, move each collection's cursor only past what the sink confirmed, close the
// work with a summary. The process around it (schedule, signals, metrics, OpenCTI session) is
// run_process() in process.h.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kfc/config/settings.h"
#include "kfc/health/health.h"
#include "kfc/runner/metrics.h"
#include "kfc/runner/scheduler.h"
#include "kfc/runner/state_store.h"
#include "kfc/runner/stop.h"

namespace kfc::taxii {
class Client;
}
namespace kfc::sinks {
class Sink;
}
namespace kfc::opencti {
class OpenCtiSession;
}
namespace kfc::mapping {
class Mapper;
}

namespace kfc::runner {

struct CollectionReport {
  std::string id;
  std::string title;
  std::uint64_t feed_objects = 0;   // read from TAXII
  std::uint64_t pages = 0;
  bool completed = false;           // read to the end
  std::optional<std::string> error;
};

struct RunReport {
  RunOutcome outcome = RunOutcome::Failed;
  SystemTime started{};
  SystemTime ended{};
  std::optional<std::string> work_id;
  std::vector<CollectionReport> collections;
  std::uint64_t feed_objects = 0;        // read from TAXII
  std::uint64_t sent_objects = 0;        // STIX objects handed to the sink (the reference's `count`)
  std::uint64_t delivered_objects = 0;   // of those, confirmed by the sink
  std::map<std::string, std::uint64_t> objects_by_type;  // sent objects by STIX type
  std::vector<std::string> errors;       // what failed, worded for the user
  bool token_rejected = false;           // 401/403 or expired: the source stopped
  bool work_cancelled = false;           // the OpenCTI work was deleted during the run
};

// A few lines for people: collections, objects by type, errors.
std::string format_summary(const RunReport& report);

class Feed;

struct RunnerParts {
  const Settings* settings = nullptr;
  Clock* clock = nullptr;
  StopSignal* stop = nullptr;
  // What is read: `feed` (feed.h) when set, else Kaspersky's feeds through `taxii`.
  Feed* feed = nullptr;
  taxii::Client* taxii = nullptr;
  sinks::Sink* sink = nullptr;
  StateStore* state = nullptr;
  opencti::OpenCtiSession* session = nullptr;  // work tracking and reset detection (output opencti)
  Metrics* metrics = nullptr;                  // optional
  health::Health* health = nullptr;            // optional: runs and token expiry
  bool dry_run = false;                        // no work, no state written
};

class Runner {
 public:
  explicit Runner(RunnerParts parts);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // One run; never throws for run-time problems (they are in the report, the log and the work).
  RunReport run_once();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfc::runner
