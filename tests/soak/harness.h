#pragma once
// What both soak scenarios stand on: a Kaspersky-like feed on the TAXII test server, the stand-in
// OpenCTI, the real RabbitMQ with a consumer taking messages as OpenCTI's workers do, the connector
// binary as a supervised process, and its resource figures from /proc.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connector_process.h"
#include "kfc/config/clock.h"
#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/testing/taxii_test_server.h"
#include "stand_ins.h"

namespace kfc::soak {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

inline constexpr char kTaxiiToken[] = "SOAK-TAXII-SECRET-5Vq8xP3n";

// A Kaspersky-shaped indicator: in even collections IP reputation (with countries), in odd ones
// botnet URLs and malicious hashes (with threat names): each implies several STIX objects, some
// shared with others (countries, malware). Its id and value are distinct per (collection, index).
testing::FixtureObject make_feed_object(std::size_t collection, std::size_t index, taxii::Timestamp date_added);
// `per_collection` such objects in each of `collections` collections, indices from `first_index`,
// date_added in groups of three one second apart from `start` (page boundaries fall inside groups).
std::vector<testing::FixtureCollection> make_feed(std::size_t collections, std::size_t per_collection,
                                                  taxii::Timestamp start, std::size_t first_index = 0);
std::string collection_id(std::size_t number);

// Every feed object: its collection and date_added, by feed id.
struct FeedIndex {
  struct Entry {
    std::string collection;
    taxii::Timestamp date_added;
  };
  std::unordered_map<std::string, Entry> objects;
  void add(const std::vector<testing::FixtureCollection>& collections);
};

// The messages on the push queue, taken continuously by a background consumer (as OpenCTI's
// workers do), reconnecting across broker restarts. Counts what a deployment cares about.
class DeliveryTally {
 public:
  explicit DeliveryTally(fixtures::PushQueue queue);
  ~DeliveryTally();
  DeliveryTally(const DeliveryTally&) = delete;
  DeliveryTally& operator=(const DeliveryTally&) = delete;

  // Blocks until nothing arrived for `quiet` (bounded by `deadline`).
  void wait_quiet(std::chrono::milliseconds quiet, std::chrono::milliseconds deadline = 60s) const;

  std::size_t distinct_objects() const;
  std::uint64_t messages() const;
  // Feed objects (indicators, by the feed id in x_opencti_stix_ids) delivered more than once: the
  // extra copies. Messages the broker handed to the consumer again (redelivered) do not count.
  std::uint64_t feed_duplicates() const;
  std::size_t feed_objects_delivered() const;
  // Of `ids`, those never delivered.
  std::vector<std::string> missing(const std::set<std::string>& ids) const;
  std::vector<std::string> missing_feed_objects(const FeedIndex& feed) const;
  // Feed objects delivered at least once whose date_added is after their collection's cursor:
  // the pages a restart from these cursors reads again (the duplicates it may cause).
  std::size_t delivered_beyond(const std::map<std::string, SystemTime>& cursors, const FeedIndex& feed) const;

 private:
  void consume();
  void count(const fixtures::WorkerMessage& message);

  fixtures::PushQueue queue_;
  mutable std::mutex mutex_;
  std::set<std::string> objects_;
  std::unordered_map<std::string, std::uint32_t> feed_copies_;
  std::uint64_t messages_ = 0;
  std::uint64_t feed_duplicates_ = 0;
  Steady::time_point last_arrival_ = Steady::now();
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The connector binary, restarted after each death as a supervisor (systemd, Kubernetes) would.
class Supervisor {
 public:
  Supervisor(std::vector<std::string> args, std::map<std::string, std::string> env, std::filesystem::path directory);
  void start();
  void kill();                                   // SIGKILL, reaped
  std::optional<int> terminate(std::chrono::milliseconds timeout);  // SIGTERM: the exit status
  bool running();
  pid_t pid() const;
  std::string log() const;                       // stderr of the current life
  int lives() const { return lives_; }

 private:
  std::vector<std::string> args_;
  std::map<std::string, std::string> env_;
  std::filesystem::path directory_;
  std::unique_ptr<e2e::ConnectorProcess> process_;
  int lives_ = 0;
};

// One process's resources as the kernel counts them.
struct ProcessFigures {
  std::uint64_t rss_kib = 0;       // VmRSS
  std::uint64_t peak_rss_kib = 0;  // VmHWM
  std::size_t fds = 0;             // entries of /proc/<pid>/fd
  std::size_t threads = 0;
};
std::optional<ProcessFigures> figures_of(pid_t pid);

// The pieces every scenario sets up: servers, queue, environment of the connector.
class Stage : private e2e::StandIns {
 public:
  Stage(std::filesystem::path directory, const std::vector<testing::FixtureCollection>& feed,
        std::size_t page_size);
  ~Stage();

  testing::TaxiiTestServer& taxii() { return *taxii_; }
  fixtures::OpenCtiServer& opencti() { return *opencti_; }
  const fixtures::PushQueue& queue() const { return queue_; }
  const std::filesystem::path& directory() const { return directory_; }
  // The connector's environment (scheduled every `interval`).
  std::map<std::string, std::string> environment(const std::string& interval) const;
  // The collections' cursors as stored on the stand-in platform (empty when none).
  std::map<std::string, SystemTime> stored_cursors() const;
  // Every STIX object id the feed implies: the connector's own dry run over the same server.
  std::set<std::string> implied_object_ids();
};

// Broker outages for the scenarios: the RabbitMQ application of this network namespace's node.
bool stop_broker();
bool start_broker();

}  // namespace kfc::soak
