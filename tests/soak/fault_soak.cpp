#include "fault_soak.h"

#include <signal.h>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "harness.h"
#include "kfc/fixtures/wait_until.h"

namespace kfc::soak {
namespace {

enum class Fault { Kill, BrokerRestart, Outage, PageFailures };

struct Figures {
  int kills = 0;
  int broker_restarts = 0;
  int outages = 0;
  int page_fault_bursts = 0;
  int unexpected_exits = 0;           // the scheduled process ended by itself
  std::size_t duplicate_bound = 0;
  std::size_t largest_unconfirmed = 0;  // feed objects beyond the cursors at a kill, at most (reported)
};

class FaultSoak {
 public:
  explicit FaultSoak(const FaultSoakOptions& options)
      : options_(options),
        random_(options.seed),
        feed_(make_feed(2, options.objects / 2, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) -
                                                    std::chrono::days{2})),
        stage_(options.directory, feed_, options.page_size) {
    index_.add(feed_);
  }

  int run();

 private:
  using ms = std::chrono::milliseconds;

  ms random_between(ms low, ms high) { return ms(std::uniform_int_distribution<long long>(low.count(), high.count())(random_)); }
  void pause(ms duration) { std::this_thread::sleep_for(duration); }  // a fault's random length, by design
  double elapsed() const { return std::chrono::duration<double>(Steady::now() - started_).count(); }
  std::vector<Fault> shuffled_faults();
  void apply(Fault fault);
  void kill_and_restart();
  void restart_broker();
  void take_graphql_away();
  void fail_pages();
  // Feed objects a restart from the stored cursors would read again, the connector frozen (SIGSTOP)
  // and the queue drained so that the count is exact.
  std::size_t unconfirmed_now(bool frozen_already);
  // A fault other than a kill may end the run later (or has): what is unconfirmed now, and what the
  // pipeline may still take before that happens, may be read again.
  void add_fault_to_bound() { figures_.duplicate_bound += unconfirmed_now(false) + pipeline_capacity_; }
  void progress(const std::string& what);
  int report(std::optional<int> final_status, bool converged);

  FaultSoakOptions options_;
  std::mt19937_64 random_;
  std::vector<testing::FixtureCollection> feed_;
  FeedIndex index_;
  Stage stage_;
  std::set<std::string> implied_;
  std::unique_ptr<DeliveryTally> tally_;
  std::unique_ptr<Supervisor> connector_;
  Figures figures_;
  std::size_t pipeline_capacity_ = 0;  // what one connector life holds unconfirmed at most (feed objects)
  Steady::time_point started_ = Steady::now();
};

std::vector<Fault> FaultSoak::shuffled_faults() {
  std::vector<Fault> faults;
  faults.insert(faults.end(), options_.kills, Fault::Kill);
  faults.insert(faults.end(), options_.broker_restarts, Fault::BrokerRestart);
  faults.insert(faults.end(), options_.outages, Fault::Outage);
  faults.insert(faults.end(), options_.page_fault_bursts, Fault::PageFailures);
  std::shuffle(faults.begin(), faults.end(), random_);
  return faults;
}

int FaultSoak::run() {
  std::cout << fmt::format("soak: seed {}; feed of {} indicators in 2 collections, pages of {} answered after {} ms; "
                           "directory {}\n",
                           options_.seed, index_.objects.size(), options_.page_size, options_.page_delay.count(),
                           options_.directory.string())
            << std::flush;
  implied_ = stage_.implied_object_ids();
  // What one life holds unconfirmed at most: the sink's window (1000 messages) and the open batch
  // (1000 objects) in feed objects, plus two pages (cursors move page by page).
  const std::size_t per_feed_object = std::max<std::size_t>(1, implied_.size() / index_.objects.size());
  pipeline_capacity_ = 2000 / per_feed_object + 2 * options_.page_size;
  std::cout << fmt::format("soak: the feed implies {} STIX objects (dry run); a life holds at most {} feed objects "
                           "unconfirmed\n",
                           implied_.size(), pipeline_capacity_)
            << std::flush;
  stage_.taxii().set_objects_delay(options_.page_delay);
  started_ = Steady::now();
  tally_ = std::make_unique<DeliveryTally>(stage_.queue());
  connector_ = std::make_unique<Supervisor>(std::vector<std::string>{"run"}, stage_.environment("PT1S"), options_.directory);
  connector_->start();

  for (const Fault fault : shuffled_faults()) {
    pause(random_between(ms(0), options_.max_gap));
    if (!connector_->running()) {  // a scheduled process never ends by itself
      ++figures_.unexpected_exits;
      std::cout << "soak: the connector exited by itself:\n" << connector_->log() << std::flush;
      connector_->start();
    }
    apply(fault);
  }
  stage_.taxii().clear_faults();
  progress("all faults done; waiting for the feed to be delivered");

  const auto left = options_.deadline - std::chrono::duration_cast<std::chrono::seconds>(Steady::now() - started_);
  const bool converged = fixtures::wait_until(
      [&] { return tally_->missing(implied_).empty() && tally_->missing_feed_objects(index_).empty(); },
      std::max<ms>(std::chrono::duration_cast<ms>(left), ms(1000)), ms(500));
  const auto status = connector_->terminate(30s);
  tally_->wait_quiet(1s);
  return report(status, converged);
}

void FaultSoak::apply(Fault fault) {
  switch (fault) {
    case Fault::Kill:
      return kill_and_restart();
    case Fault::BrokerRestart:
      return restart_broker();
    case Fault::Outage:
      return take_graphql_away();
    case Fault::PageFailures:
      return fail_pages();
  }
}

void FaultSoak::kill_and_restart() {
  connector_->kill();
  ++figures_.kills;
  const std::size_t unconfirmed = unconfirmed_now(true);
  figures_.duplicate_bound += unconfirmed;
  figures_.largest_unconfirmed = std::max(figures_.largest_unconfirmed, unconfirmed);
  connector_->start();
  progress(fmt::format("kill {} ({} feed objects beyond the stored cursors)", figures_.kills, unconfirmed));
}

void FaultSoak::restart_broker() {
  if (!stop_broker()) throw std::runtime_error("rabbitmqctl stop_app failed");
  struct StartAgain {  // whatever happens to this soak, the broker is not left stopped
    bool started = false;
    ~StartAgain() {
      if (!started) start_broker();
    }
  } start_again;
  pause(random_between(ms(1000), ms(4000)));
  start_again.started = start_broker();
  if (!start_again.started) throw std::runtime_error("the broker did not come back");
  ++figures_.broker_restarts;
  add_fault_to_bound();  // its unconfirmed messages are published again; a run given up reads them again
  progress(fmt::format("broker restart {}", figures_.broker_restarts));
}

void FaultSoak::take_graphql_away() {
  stage_.opencti().take_down();
  pause(random_between(ms(1000), ms(5000)));
  stage_.opencti().bring_back();
  ++figures_.outages;
  add_fault_to_bound();  // a run that ended while its state could not be saved reads again from the last saved cursors
  progress(fmt::format("GraphQL outage {}", figures_.outages));
}

void FaultSoak::fail_pages() {
  static const testing::Fault kinds[] = {
      {.kind = testing::FaultKind::Status, .status = 503},
      {.kind = testing::FaultKind::HtmlStatus, .status = 502},
      {.kind = testing::FaultKind::DropMidBody},
      {.kind = testing::FaultKind::TruncatedJson},
      {.kind = testing::FaultKind::TooManyRequests, .retry_after_seconds = 1},
      {.kind = testing::FaultKind::Slow, .delay = std::chrono::seconds(2)},
  };
  testing::Fault fault = kinds[std::uniform_int_distribution<std::size_t>(0, std::size(kinds) - 1)(random_)];
  // Mostly fewer failures than kaspersky.max_attempts (5): retried; now and then more: the run fails.
  fault.times = std::uniform_int_distribution<int>(1, 7)(random_);
  stage_.taxii().inject(fault);
  ++figures_.page_fault_bursts;
  add_fault_to_bound();  // a run that fails on them reads its unconfirmed pages again
  progress(fmt::format("page failures {} ({} pages)", figures_.page_fault_bursts, fault.times));
}

std::size_t FaultSoak::unconfirmed_now(bool stopped_already) {
  const bool freeze = !stopped_already && connector_->running();
  if (freeze) ::kill(connector_->pid(), SIGSTOP);
  tally_->wait_quiet(500ms);
  const std::size_t beyond = tally_->delivered_beyond(stage_.stored_cursors(), index_);
  if (freeze) ::kill(connector_->pid(), SIGCONT);
  return beyond;
}

void FaultSoak::progress(const std::string& what) {
  std::cout << fmt::format("[{:6.1f} s] {}: {} of {} implied objects delivered, {} messages\n", elapsed(), what,
                           implied_.size() - tally_->missing(implied_).size(), implied_.size(), tally_->messages())
            << std::flush;
}

int FaultSoak::report(std::optional<int> final_status, bool converged) {
  const auto lost_objects = tally_->missing(implied_);
  const auto lost_feed = tally_->missing_feed_objects(index_);
  const std::uint64_t duplicates = tally_->feed_duplicates();
  std::cout << fmt::format(
      "\nsoak result after {:.0f} s (seed {}):\n"
      "  kills              {}\n"
      "  broker restarts    {}\n"
      "  GraphQL outages    {}\n"
      "  page-failure bursts {}\n"
      "  delivered          {} distinct STIX objects of {} implied; {} of {} feed objects; {} messages\n"
      "  duplicates         {} feed objects delivered again (bound {}: the unconfirmed at each kill; at each other\n"
      "                     fault the unconfirmed then and {} more)\n"
      "  unconfirmed        at most {} feed objects at a kill\n"
      "  lost               {} STIX objects, {} feed objects\n"
      "  final SIGTERM      {}\n",
      elapsed(), options_.seed, figures_.kills, figures_.broker_restarts, figures_.outages, figures_.page_fault_bursts,
      tally_->distinct_objects(), implied_.size(), tally_->feed_objects_delivered(), index_.objects.size(),
      tally_->messages(), duplicates, figures_.duplicate_bound, pipeline_capacity_, figures_.largest_unconfirmed,
      lost_objects.size(), lost_feed.size(),
      final_status ? fmt::format("exit status {}", *final_status) : std::string("did not exit"));
  bool ok = true;
  auto fail = [&](const std::string& why) {
    std::cout << "FAILED: " << why << "\n";
    ok = false;
  };
  if (!lost_objects.empty() || !lost_feed.empty()) {
    std::ofstream list(options_.directory / "lost.txt");
    for (const auto& id : lost_objects) list << id << "\n";
    for (const auto& id : lost_feed) list << id << " (feed object)\n";
    fail(fmt::format("lost objects: their ids are in {}", (options_.directory / "lost.txt").string()));
  }
  if (!converged) fail("the feed was not delivered within the deadline");
  if (duplicates > figures_.duplicate_bound) fail("more duplicates than the interruptions explain");
  if (figures_.unexpected_exits > 0) fail(fmt::format("the connector exited by itself {} times", figures_.unexpected_exits));
  if (final_status != 0) fail("the final SIGTERM did not end the connector with status 0:\n" + connector_->log());
  if (figures_.kills < options_.kills) fail("fewer kills than asked");
  std::cout << (ok ? "soak: PASSED\n" : "soak: FAILED\n") << std::flush;
  return ok ? 0 : 1;
}

}  // namespace

int run_fault_soak(const FaultSoakOptions& options) {
  FaultSoak soak(options);
  return soak.run();
}

}  // namespace kfc::soak
