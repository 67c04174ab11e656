#include "harness.h"

#include <rapidjson/document.h>
#include <signal.h>
#include <spdlog/fmt/fmt.h>

#include <fstream>
#include <sstream>

#include "kfc/fixtures/wait_until.h"
#include "kfc/runner/state.h"

namespace kfc::soak {

std::string collection_id(std::size_t number) { return fmt::format("TAXII_Soak{}_Data_Feed", number + 1); }

testing::FixtureObject make_feed_object(std::size_t collection, std::size_t index, taxii::Timestamp date_added) {
  static const char* const kCountries[] = {"de", "jp", "br", "us", "kz", "fr"};
  static const char* const kThreats[] = {"Trojan-PSW.Win32.Stealer.gen", "HEUR:Backdoor.Win32.Agent.gen",
                                         "Trojan.Win32.Generic", "Backdoor.Linux.Mirai.b"};
  const auto id = fmt::format("indicator--{:08x}-5a0c-4000-8000-{:012x}", 0x50a40000u + collection, index);
  const auto when = taxii::format_timestamp(date_added);
  const auto stix_when = when.substr(0, 23) + "Z";
  const char* country = kCountries[index % std::size(kCountries)];
  const char* threat = kThreats[index % std::size(kThreats)];
  std::string name, pattern, description;
  if (collection % 2 == 0) {  // IP reputation: indicator, IPv4 observable, location
    name = "IP";
    pattern = fmt::format("[ipv4-addr:value = '10.{}.{}.{}']", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff);
    description = fmt::format("ip_geo={};users_geo={};threat_score={};category=bot;first_seen={}", country,
                              kCountries[(index + 1) % std::size(kCountries)], 30 + index % 70, stix_when);
  } else if (index % 2 == 0) {  // botnet URLs: indicator, URL observable, malware
    name = "URL";
    pattern = fmt::format("[url:value = 'http://cnc{}.c{}.soak.example/panel/gate.php']", index, collection);
    description = fmt::format("threat={};threat_score={};popularity=2;users_geo={}", threat, 50 + index % 50, country);
  } else {  // malicious hashes: indicator, file observable, malware
    name = "Hash";
    pattern = fmt::format("[file:hashes.MD5 = '{:016x}{:016x}']", 0x5a0c0000u + collection, index);
    description = fmt::format("threat={};threat_score={};file_size={};file_type=PE;users_geo={}", threat,
                              60 + index % 40, 1000 + index, country);
  }
  auto json = fmt::format(
      R"({{"type":"indicator","spec_version":"2.1","id":"{}","created":"{}","modified":"{}","name":"{}",)"
      R"("pattern":"{}","pattern_type":"stix","valid_from":"{}","labels":["malicious-activity"],)"
      R"("description":"{};date_added={}"}})",
      id, stix_when, stix_when, name, pattern, stix_when, description, stix_when);
  return testing::FixtureObject{date_added, id, "indicator", stix_when, "2.1", std::move(json)};
}

std::vector<testing::FixtureCollection> make_feed(std::size_t collections, std::size_t per_collection,
                                                  taxii::Timestamp start, std::size_t first_index) {
  std::vector<testing::FixtureCollection> feed;
  for (std::size_t c = 0; c < collections; ++c) {
    testing::FixtureCollection collection;
    collection.id = collection.title = collection_id(c);
    collection.objects.reserve(per_collection);
    for (std::size_t i = first_index; i < first_index + per_collection; ++i) {
      const auto date_added = start + std::chrono::seconds{static_cast<long long>((i - first_index) / 3)};
      collection.objects.push_back(make_feed_object(c, i, date_added));
    }
    feed.push_back(std::move(collection));
  }
  return feed;
}

void FeedIndex::add(const std::vector<testing::FixtureCollection>& collections) {
  for (const auto& c : collections) {
    for (const auto& o : c.objects) objects[o.id] = {c.id, o.date_added};
  }
}

// ---------------------------------------------------------------------------------------------

DeliveryTally::DeliveryTally(fixtures::PushQueue queue) : queue_(std::move(queue)) {
  thread_ = std::thread([this] { consume(); });
}

DeliveryTally::~DeliveryTally() {
  stopping_ = true;
  thread_.join();
}

void DeliveryTally::consume() {
  std::unique_ptr<fixtures::AmqpTestBroker> broker;
  while (!stopping_) {
    try {
      if (!broker) broker = std::make_unique<fixtures::AmqpTestBroker>();
      for (const auto& message : broker->take(queue_.queue, 1000, 100ms)) count(message);
    } catch (const std::exception&) {
      broker.reset();  // the broker is restarting: connect again
      std::this_thread::sleep_for(200ms);
    }
  }
}

void DeliveryTally::count(const fixtures::WorkerMessage& message) {
  std::lock_guard lock(mutex_);
  ++messages_;
  last_arrival_ = Steady::now();
  const auto& bundle = message.bundle;
  if (!bundle.IsObject() || !bundle.HasMember("objects") || !bundle["objects"].IsArray()) return;
  for (const auto& object : bundle["objects"].GetArray()) {
    if (!object.IsObject() || !object.HasMember("id") || !object["id"].IsString()) continue;
    objects_.insert(object["id"].GetString());
    if (std::string_view(object["type"].GetString()) != "indicator" || !object.HasMember("x_opencti_stix_ids")) continue;
    for (const auto& feed_id : object["x_opencti_stix_ids"].GetArray()) {
      auto& copies = feed_copies_[feed_id.GetString()];
      // A message the broker hands out again (our own consumer's ack lost in a broker restart) is
      // not the connector's duplicate.
      if (copies > 0 && !message.redelivered) ++feed_duplicates_;
      ++copies;
    }
  }
}

void DeliveryTally::wait_quiet(std::chrono::milliseconds quiet, std::chrono::milliseconds deadline) const {
  fixtures::wait_until(
      [&] {
        std::lock_guard lock(mutex_);
        return Steady::now() - last_arrival_ >= quiet;
      },
      deadline, 20ms);
}

std::size_t DeliveryTally::distinct_objects() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

std::uint64_t DeliveryTally::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::uint64_t DeliveryTally::feed_duplicates() const {
  std::lock_guard lock(mutex_);
  return feed_duplicates_;
}

std::size_t DeliveryTally::feed_objects_delivered() const {
  std::lock_guard lock(mutex_);
  return feed_copies_.size();
}

std::vector<std::string> DeliveryTally::missing(const std::set<std::string>& ids) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& id : ids) {
    if (!objects_.contains(id)) out.push_back(id);
  }
  return out;
}

std::vector<std::string> DeliveryTally::missing_feed_objects(const FeedIndex& feed) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, entry] : feed.objects) {
    if (!feed_copies_.contains(id)) out.push_back(id);
  }
  return out;
}

std::size_t DeliveryTally::delivered_beyond(const std::map<std::string, SystemTime>& cursors, const FeedIndex& feed) const {
  std::lock_guard lock(mutex_);
  std::size_t beyond = 0;
  for (const auto& [id, copies] : feed_copies_) {
    const auto entry = feed.objects.find(id);
    if (entry == feed.objects.end()) continue;
    const auto cursor = cursors.find(entry->second.collection);
    // No cursor yet: a restart reads the collection from the start of its window.
    if (cursor == cursors.end() || SystemTime{std::chrono::duration_cast<SystemTime::duration>(
                                       entry->second.date_added.time_since_epoch())} > cursor->second) {
      ++beyond;
    }
  }
  return beyond;
}

// ---------------------------------------------------------------------------------------------

Supervisor::Supervisor(std::vector<std::string> args, std::map<std::string, std::string> env,
                       std::filesystem::path directory)
    : args_(std::move(args)), env_(std::move(env)), directory_(std::move(directory)) {}

void Supervisor::start() {
  process_.reset();
  ++lives_;
  process_ = std::make_unique<e2e::ConnectorProcess>(args_, env_, directory_, fmt::format("life-{}", lives_));
}

void Supervisor::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait(30s);
}

std::optional<int> Supervisor::terminate(std::chrono::milliseconds timeout) {
  if (!process_) return std::nullopt;
  process_->signal(SIGTERM);
  return process_->wait(timeout);
}

bool Supervisor::running() { return process_ && !process_->wait(0ms).has_value(); }

pid_t Supervisor::pid() const { return process_ ? process_->pid() : -1; }

std::string Supervisor::log() const { return process_ ? process_->err() : std::string(); }

std::optional<ProcessFigures> figures_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  ProcessFigures figures;
  for (std::string line; std::getline(status, line);) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (name == "VmRSS:") fields >> figures.rss_kib;
    if (name == "VmHWM:") fields >> figures.peak_rss_kib;
    if (name == "Threads:") fields >> figures.threads;
  }
  std::error_code error;
  for (std::filesystem::directory_iterator fd("/proc/" + std::to_string(pid) + "/fd", error), end; !error && fd != end;
       fd.increment(error)) {
    ++figures.fds;
  }
  return figures;
}

// ---------------------------------------------------------------------------------------------

Stage::Stage(std::filesystem::path directory, const std::vector<testing::FixtureCollection>& feed,
             std::size_t page_size) {
  set_up(std::move(directory));
  testing::TestServerOptions options;
  options.default_page_size = options.max_page_size = page_size;
  serve(feed, options, kTaxiiToken);
}

Stage::~Stage() = default;

std::map<std::string, std::string> Stage::environment(const std::string& interval) const {
  auto env = StandIns::environment(kTaxiiToken, 5);
  env["CONNECTOR_DURATION_PERIOD"] = interval;
  return env;
}

std::map<std::string, SystemTime> Stage::stored_cursors() const {
  const auto text = opencti_->stored_state();
  if (!text) return {};
  const auto state = runner::parse_state(*text);
  return state ? state->cursors : std::map<std::string, SystemTime>{};
}

std::set<std::string> Stage::implied_object_ids() {
  auto env = environment("PT1H");
  env.erase("OPENCTI_URL");
  env.erase("OPENCTI_TOKEN");
  env["CONNECTOR_LOG_LEVEL"] = "warn";
  e2e::ConnectorProcess dry({"run", "--dry-run"}, env, directory_, "dry-run");
  const auto status = dry.wait(std::chrono::minutes(10));
  if (status != 0) throw std::runtime_error("the dry run that lists the implied objects failed: " + dry.err());
  std::set<std::string> ids;
  std::ifstream lines(directory_ / "dry-run.stdout");
  for (std::string line; std::getline(lines, line);) {
    rapidjson::Document object;
    object.Parse(line.c_str(), line.size());
    if (!object.HasParseError() && object.IsObject() && object.HasMember("id") && object["id"].IsString()) {
      ids.insert(object["id"].GetString());
    }
  }
  return ids;  // dry-run.stdout stays with the logs (removed with the directory when the soak passes)
}

bool stop_broker() { return fixtures::rabbitmqctl("stop_app") == 0; }

bool start_broker() { return fixtures::rabbitmqctl("start_app") == 0 && fixtures::wait_for_rabbitmq(120s); }

}  // namespace kfc::soak
