#include "kfc/runner/runner.h"

#include <malloc.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <stdexcept>

#include "kfc/batching/batcher.h"
#include "kfc/batching/stages.h"
#include "kfc/mapping/mapper.h"
#include "kfc/opencti/session.h"
#include "kfc/runner/checkpoints.h"
#include "kfc/runner/feed.h"
#include "kfc/runner/token_gate.h"
#include "kfc/sinks/sink.h"
#include "kfc/sinks/sink_metrics.h"
#include "kfc/taxii/client.h"

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;

constexpr auto kProgressEvery = 10s;

// The run cannot go on (delivery failed, a batch could not be built): nothing after it is committed.
class RunAborted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The OpenCTI work was deleted in the UI: stop, and keep nothing of this run.
class WorkCancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Generic mode sends a reference to an object outside the run as it came (README.md). It is counted
// with the bad input (one report, one metric) but is no repair: it is said apart, and not as a warning.
bool is_repair(const std::string& kind) { return kind != "external_reference_kept"; }

// "2 created_by_ref_dropped, 1 feed_object_repaired": the repairs, or the other kinds ("" when none).
std::string bad_input_text(const RunReport& report, bool repairs) {
  std::string text;
  for (const auto& [kind, count] : report.bad_input) {
    if (is_repair(kind) == repairs) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", count, kind);
  }
  return text;
}

// The work's final message ends with what each collection gave (read in full or not), and what was
// repaired or dropped on the way.
std::string per_collection(const RunReport& report) {
  std::string text;
  for (const auto& c : report.collections) {
    text += fmt::format("; {}: {} feed objects{}", c.id, c.feed_objects,
                        c.error ? " (stopped by an error)" : c.completed ? "" : " (not read to the end)");
  }
  if (const auto repairs = bad_input_text(report, true); !repairs.empty()) {
    text += "; repaired or dropped (see the log): " + repairs;
  }
  if (const auto kept = bad_input_text(report, false); !kept.empty()) text += "; sent as they came: " + kept;
  return text;
}

// A server's timestamp may name any year; the clock holds 1677 to 2262 only (nanoseconds in 64 bits).
// Clamped to 1970..2200 first: an earlier date reads from the beginning, a later one is capped at the
// run's start by the cursor rules anyway.
SystemTime to_system(taxii::Timestamp t) {
  constexpr auto kLatest = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::seconds{7258118400LL});
  const auto since_epoch = std::clamp(t.time_since_epoch(), std::chrono::microseconds{0}, kLatest);
  return SystemTime{std::chrono::duration_cast<SystemTime::duration>(since_epoch)};
}
taxii::Timestamp to_taxii(SystemTime t) { return std::chrono::floor<std::chrono::microseconds>(t); }

// create_only look-ups through the OpenCTI API (none in a dry run or without OpenCTI).
class PlatformIds final : public mapping::ExistingIds {
 public:
  explicit PlatformIds(opencti::OpenCtiSession& session) : session_(session) {}
  std::expected<std::unordered_set<std::string>, std::string> existing(std::span<const std::string> ids) override {
    try {
      return session_.api().existing_ids(std::vector<std::string>(ids.begin(), ids.end()));
    } catch (const std::exception& error) {
      return std::unexpected(std::string(error.what()));
    }
  }

 private:
  opencti::OpenCtiSession& session_;
};

}  // namespace

struct Runner::Impl {
  explicit Impl(RunnerParts p)
      : parts(p),
        settings(*p.settings),
        clock(*p.clock),
        stop(*p.stop),
        own_feed(p.feed ? nullptr : make_kaspersky_feed(settings, *p.taxii, clock)),
        feed(p.feed ? *p.feed : *own_feed),
        sink(*p.sink),
        store(*p.state),
        session(p.dry_run ? nullptr : p.session) {
    for (const auto& token : feed.source_tokens()) {
      token_gates.emplace_back(token, settings.tokens.expiry_warning_days, p.metrics, p.health);
    }
    if (session && settings.opencti.token) {
      opencti_token_gate.emplace(settings.opencti.token, settings.tokens.expiry_warning_days, p.metrics, p.health);
    }
    if (session && settings.connector.description_mode == DescriptionMode::CreateOnly) {
      existing_ids = std::make_unique<PlatformIds>(*session);
    }
  }

  RunnerParts parts;
  const Settings& settings;
  Clock& clock;
  StopSignal& stop;
  std::unique_ptr<Feed> own_feed;  // Kaspersky's, when the parts name no feed
  Feed& feed;
  sinks::Sink& sink;
  StateStore& store;
  opencti::OpenCtiSession* session;
  std::vector<TokenGate> token_gates;       // the TAXII source's credentials gate it
  std::optional<TokenGate> opencti_token_gate;  // opencti.token: re-read (rotation), warnings, metric
  std::unique_ptr<mapping::ExistingIds> existing_ids;

  // --- per run ---------------------------------------------------------------------------------
  RunReport report;
  ConnectorState state;
  ConnectorState state_at_start;
  bool checkpointing = true;  // off after a reset from the UI during the run
  std::optional<std::string> work_id;
  std::unique_ptr<batching::Batcher> batcher;
  Checkpoints checkpoints;
  std::uint64_t objects_read = 0;       // feed objects pushed into the batcher
  std::uint64_t objects_batched = 0;    // feed objects in batches taken from it
  std::deque<std::pair<sinks::Ticket, std::uint64_t>> unconfirmed;  // ticket -> STIX objects
  SystemTime last_progress{};

  void metric_add(Metric m, double n, std::string_view label = {}) {
    if (!parts.metrics) return;
    parts.metrics->add(m, n, label);
    if (m == Metric::Errors) parts.metrics->add(Metric::PyctiErrors, n);
  }
  // The modules' own counts (TAXII client, mapping, sink), as metrics.
  void export_stats() {
    if (!parts.metrics) return;
    Metrics& m = *parts.metrics;
    const FeedStats stats = feed.stats();
    m.set(Metric::TaxiiRequests, static_cast<double>(stats.read.requests));
    m.set(Metric::TaxiiBytes, static_cast<double>(stats.read.bytes));
    m.set(Metric::TaxiiSkipped, static_cast<double>(stats.read.skipped));
    m.set(Metric::TaxiiDuplicates, static_cast<double>(stats.read.duplicates));
    for (const auto& [kind, count] : stats.problems) m.set(Metric::MappingProblems, static_cast<double>(count), kind);
    sinks::export_stats(sink.stats(), m);
  }
  // Something repaired or dropped instead of stopping the run (already logged where it happened).
  void bad_input(const std::string& kind, std::uint64_t n) {
    if (n == 0) return;
    report.bad_input[kind] += n;
    metric_add(Metric::BadInput, static_cast<double>(n), kind);
  }
  // Counts the error by kind (metrics: errors by kind) and ends the run: nothing after it is committed.
  [[noreturn]] void abort_run(std::string_view kind, const std::string& message) {
    metric_add(Metric::Errors, 1, kind);
    throw RunAborted(message);
  }

  // Runs `step`; a sink that cannot deliver or a batch that cannot be staged ends the whole run,
  // whichever collection or step it happened in.
  template <typename Step>
  void aborting_on_delivery_failure(Step&& step) {
    try {
      step();
    } catch (const sinks::DeliveryError& error) {
      abort_run("sink", std::string("delivery failed: ") + error.what());
    } catch (const batching::StagingError& error) {
      abort_run("mapping", std::string("a batch could not be staged: ") + error.what());
    }
  }

  RunReport run();
  bool prepare();
  void open_work();
  void close_work(const std::string& message, bool in_error);
  std::vector<FeedCollection> selected_collections();
  void read_collection(const FeedCollection& collection);
  bool on_page(const FeedCollection& collection, CollectionReport& progress, const taxii::Page& page);
  void drain();
  void send(batching::Batch batch);
  void commit();
  // Mid-run checkpoints tolerate a failed save (the next one retries; nothing is lost, at worst
  // re-read); the final save of a run must land.
  void save_state(bool final = false);
  bool work_alive();
  void finish_delivery();
  void conclude();
};

Runner::Runner(RunnerParts parts) : impl_(std::make_unique<Impl>(parts)) {}
Runner::~Runner() = default;

RunReport Runner::run_once() { return impl_->run(); }

RunReport Runner::Impl::run() {
  report = RunReport{};
  report.started = clock.now();
  if (parts.health) parts.health->run_started();
  if (parts.metrics) parts.metrics->set_state("running");
  checkpoints = Checkpoints{};
  objects_read = objects_batched = 0;
  unconfirmed.clear();
  checkpointing = true;
  work_id.reset();
  last_progress = report.started;
  feed.begin_run();
  batcher = std::make_unique<batching::Batcher>(
      [this](rapidjson::Document& feed_objects, rapidjson::Document& out) { feed.transform(feed_objects, out); },
      // A dry run cuts batches like the reference (100 feed objects each) so its lines can be diffed
      // with the Python connector's dry run; real runs send bundles bounded to 1000 objects.
      batching::BatcherOptions{.sizing = parts.dry_run ? batching::BundleSizing::SourceBatches
                                                       : batching::BundleSizing::ClusterCap,
                               .unresolved_references = feed.keeps_unresolved_references()
                                                            ? batching::UnresolvedReferences::Keep
                                                            : batching::UnresolvedReferences::Drop},
      [this](rapidjson::Document& objects) { feed.before_staging(objects, existing_ids.get()); });

  if (prepare()) {
    try {
      sink.begin_run({.work_id = work_id, .update = settings.connector.update_existing_data});
      for (const auto& collection : selected_collections()) {
        if (stop.requested() || report.token_rejected || report.work_cancelled) break;
        read_collection(collection);
      }
      if (!report.work_cancelled) finish_delivery();
    } catch (const WorkCancelled& cancelled) {
      report.work_cancelled = true;
    } catch (const RunAborted& error) {
      report.errors.push_back(error.what());
      checkpoints.drop_unconfirmed();
    } catch (const std::exception& error) {  // collections listing, unexpected failures
      report.errors.push_back(error.what());
    }
    try {
      sink.end_run();
    } catch (const std::exception& error) {
      spdlog::warn("Closing the output failed: {}", error.what());
    }
  }
  conclude();
  return report;
}

// Token and state; false when the run cannot start (reported and the work closed in error).
bool Runner::Impl::prepare() {
  TokenVerdict verdict;
  for (auto& gate : token_gates) {
    const TokenVerdict checked = gate.check(report.started);
    if (verdict.usable && !checked.usable) verdict = checked;
  }
  if (opencti_token_gate) {
    // The platform itself rejects a bad OpenCTI token; here it is only re-read and watched.
    const TokenVerdict platform = opencti_token_gate->check(report.started);
    if (!platform.usable) spdlog::error("{}", platform.error);
  }
  if (session) {
    // Ping first: a "Reset state" pressed in the UI since the last ping shows up now, not 40 s later.
    try {
      session->force_ping();
    } catch (const std::exception& error) {
      spdlog::warn("Ping to OpenCTI failed: {}", error.what());
    }
  }
  auto loaded = store.load();
  if (loaded) {
    state = *loaded;
    if (session && session->take_reset()) {
      spdlog::info("Connector state was reset in OpenCTI: reading again from {}", feed.initial_history_key());
      state = ConnectorState{};
    }
  }
  state_at_start = state;
  if (!parts.dry_run) open_work();
  if (!verdict.usable) {
    report.token_rejected = true;
    report.errors.push_back(verdict.error);
    metric_add(Metric::Errors, 1, "token_expired");
    return false;
  }
  if (!loaded) {
    report.errors.push_back(loaded.error());
    metric_add(Metric::Errors, 1, "state");
    return false;
  }
  return true;
}

void Runner::Impl::open_work() {
  if (!session) return;
  std::string name = feed.work_name() + " run @ " + format_seconds(report.started);
  if (state.last_added) name += " (added_after=" + format_seconds(SystemTime{std::chrono::seconds{*state.last_added}}) + ")";
  try {
    work_id = session->api().add_work(session->connector_id(), name);
    report.work_id = work_id;
  } catch (const std::exception& error) {
    spdlog::warn("Unable to initiate OpenCTI work tracking: {}", error.what());
    return;
  }
  try {
    session->api().to_received(*work_id, "Connector started the synchronization run");
  } catch (const std::exception& error) {
    spdlog::warn("Unable to mark OpenCTI work as received: {}", error.what());
  }
}

void Runner::Impl::close_work(const std::string& message, bool in_error) {
  if (!session || !work_id) return;
  try {
    session->api().to_processed(*work_id, message, in_error);
  } catch (const std::exception& error) {
    spdlog::warn("Unable to close OpenCTI work {}: {}", *work_id, error.what());
  }
}

std::vector<FeedCollection> Runner::Impl::selected_collections() {
  std::vector<std::string> errors;
  std::vector<FeedCollection> selected;
  try {
    selected = feed.collections(errors);
  } catch (const TokenError& error) {  // rejected (401/403) or expired: the source stops
    report.token_rejected = true;
    report.errors.push_back(error.what());
    metric_add(Metric::Errors, 1, "token_rejected");
    return {};
  } catch (const Interrupted&) {
    return {};  // a stop request: conclude() reports the run as interrupted
  } catch (const std::exception& error) {
    report.errors.push_back(error.what());
    metric_add(Metric::Errors, 1, "taxii");
    return {};
  }
  for (auto& error : errors) {  // one API root failed, the others are read
    spdlog::error("{}", error);
    report.errors.push_back(std::move(error));
    metric_add(Metric::Errors, 1, "taxii");
  }
  return selected;
}

void Runner::Impl::read_collection(const FeedCollection& source) {
  const taxii::Collection& collection = source.collection;
  taxii::Client& taxii = *source.client;
  auto& progress = report.collections.emplace_back();
  progress.id = source.label;
  progress.title = collection.title;
  taxii::ObjectFilter filter;
  const auto start = window_start(state, source.cursor_key, report.started, feed.initial_history());
  if (start) filter.added_after = to_taxii(*start);
  spdlog::info("Reading collection {} [{}]{}", source.label, collection.title,
               start ? " added after " + format_added_after(*start) : std::string(" (whole history)"));
  const auto retries_before = taxii.stats().retries;
  try {
    aborting_on_delivery_failure([&] {
      const auto summary = taxii.read_objects(collection.id, filter, [&](const taxii::Page& page) {
        return on_page(source, progress, page);
      });
      progress.completed = summary.completed;
      // A collection with nothing new keeps its window where it was (feeds add backdated objects).
      if (start && !state.cursors.contains(source.cursor_key) && checkpointing) {
        state.cursors[source.cursor_key] = advance_cursor(*start, report.started);
      }
    });
  } catch (const TokenError& error) {
    report.token_rejected = true;
    progress.error = error.what();
    report.errors.push_back(error.what());
    metric_add(Metric::Errors, 1, "token_rejected");
  } catch (const taxii::UnreadableResponseError& error) {
    // The collection stops before the page: its cursor stays where the confirmed pages left it.
    progress.error = error.what();
    report.errors.push_back(fmt::format("collection {}: {}", source.label, error.what()));
    metric_add(Metric::Errors, 1, "unreadable_page");
  } catch (const RunAborted&) {
    throw;
  } catch (const WorkCancelled&) {
    throw;
  } catch (const Interrupted&) {
    // A stop request cut a TAXII wait or transfer short: not a TAXII failure; conclude() reports
    // the run as interrupted and the collection as not read to the end.
  } catch (const std::exception& error) {  // TAXII failures: this collection only
    progress.error = error.what();
    report.errors.push_back(fmt::format("collection {}: {}", source.label, error.what()));
    metric_add(Metric::Errors, 1, "taxii");
  }
  metric_add(Metric::Retries, static_cast<double>(taxii.stats().retries - retries_before));
  spdlog::info("Collection {} [{}] size: {} objects ({} pages)", source.label, collection.title,
               progress.feed_objects, progress.pages);
}

bool Runner::Impl::on_page(const FeedCollection& source, CollectionReport& progress, const taxii::Page& page) {
  // The previous page's text, its parsed objects and the messages sent since left free blocks all over
  // the heap; glibc only gives back the top of it. Returning the free pages here (about a page of
  // feed objects' worth, once per page: negligible time) keeps the peak RSS down by the same.
  malloc_trim(0);
  for (const rapidjson::Value* object : page.objects) {
    rapidjson::Document copy;
    copy.CopyFrom(*object, copy.GetAllocator());
    feed.collect(copy, copy.GetAllocator(), source);
    batcher->push(copy);
    ++objects_read;
    drain();
  }
  checkpoints.page_read(source.cursor_key, objects_read,
                        page.resume_after ? std::optional<SystemTime>(to_system(*page.resume_after)) : std::nullopt);
  bad_input("feed_object_skipped", page.skipped);
  bad_input("feed_object_repaired", page.repaired);
  progress.pages += 1;
  progress.feed_objects += page.objects.size();
  report.feed_objects += page.objects.size();
  metric_add(Metric::Pages, 1, source.label);
  metric_add(Metric::ObjectsFetched, static_cast<double>(page.objects.size()), source.label);
  commit();
  export_stats();
  const auto now = clock.now();
  if (now - last_progress >= kProgressEvery) {
    const double seconds = std::chrono::duration<double>(now - report.started).count();
    spdlog::info("Collection {}: {} pages, {} objects so far ({:.0f} objects/s in this run)", source.label,
                 progress.pages, progress.feed_objects, seconds > 0 ? report.feed_objects / seconds : 0.0);
    last_progress = now;
  }
  return !stop.requested();
}

// Sends every batch the batcher has closed.
void Runner::Impl::drain() {
  while (batcher->has_ready()) {
    if (!work_alive()) {
      spdlog::warn("OpenCTI work {} is no longer active. Stopping current run.", *work_id);
      throw WorkCancelled("work deleted");
    }
    send(batcher->take());
  }
}

namespace {

// kaspersky.tlp_level: every bundle carries the marking definition its objects reference (the
// batch's first stage has it from the mapping; later stages get a copy).
void with_marking(stix::Bundle& stage, const rapidjson::Value* marking) {
  if (marking == nullptr || stage.size() == 0) return;
  const auto& id = (*marking)["id"];
  for (const auto& object : stage.objects.GetArray()) {
    if (object.IsObject() && object.HasMember("id") && object["id"] == id) return;
  }
  stage.objects.PushBack(rapidjson::Value(*marking, stage.objects.GetAllocator()), stage.objects.GetAllocator());
  // In front: it depends on nothing, and readers meet it before the objects referencing it.
  for (rapidjson::SizeType i = stage.objects.Size() - 1; i > 0; --i) stage.objects[i].Swap(stage.objects[i - 1]);
}

}  // namespace

void Runner::Impl::send(batching::Batch batch) {
  for (const auto& [kind, count] : batch.references.by_kind()) bad_input(kind, count);
  for (auto& stage : batch.stages) with_marking(stage, feed.stage_marking());
  // One hand-over per batch: the sink announces the batch's expectations once and publishes its
  // stages back to back while this thread maps the next batch.
  const std::optional<sinks::Ticket> last = sink.send_all(batch.stages);
  std::uint64_t objects = 0;
  for (const auto& stage : batch.stages) {
    objects += stage.size();
    for (const auto& object : stage.objects.GetArray()) {
      if (object.IsObject() && object.HasMember("type") && object["type"].IsString()) {
        report.objects_by_type[object["type"].GetString()] += 1;
      }
    }
  }
  objects_batched += batch.feed_objects;
  report.sent_objects += objects;
  metric_add(Metric::ObjectsMapped, static_cast<double>(objects));
  if (last) unconfirmed.emplace_back(*last, objects);
  checkpoints.batch_sent(objects_batched, last);
}

// Moves the cursors past whatever the sink has confirmed so far (does not wait).
void Runner::Impl::commit() {
  const sinks::Ticket confirmed = sink.confirmed();
  while (!unconfirmed.empty() && unconfirmed.front().first <= confirmed) {
    report.delivered_objects += unconfirmed.front().second;
    metric_add(Metric::ObjectsDelivered, static_cast<double>(unconfirmed.front().second));
    unconfirmed.pop_front();
  }
  const auto movable = checkpoints.confirm(confirmed);
  if (movable.empty() || !checkpointing) return;
  for (const auto& [collection, resume_after] : movable) {
    state.cursors[collection] = advance_cursor(resume_after, report.started);
  }
  save_state();
}

void Runner::Impl::save_state(bool final) {
  if (parts.dry_run || !checkpointing) return;
  if (session && session->take_reset()) {
    // The user asked to read everything again: this run must not write cursors over that.
    spdlog::info("Connector state was reset in OpenCTI during the run: this run stops saving its progress");
    checkpointing = false;
    state = ConnectorState{};
    return;
  }
  try {
    store.save(state);
  } catch (const std::exception& error) {
    const auto message = fmt::format("cannot save the connector state ({}): {}", store.describe(), error.what());
    if (final) throw RunAborted(message);
    metric_add(Metric::Errors, 1, "state");
    spdlog::warn("{} — the next checkpoint tries again", message);
  }
}

bool Runner::Impl::work_alive() {
  if (!session || !work_id) return true;
  try {
    return session->api().is_work_alive(*work_id);
  } catch (const std::exception&) {
    return true;  // as the reference: an unanswered liveness check counts as alive
  }
}

// Closes the open batch, sends it, waits for the sink's confirmation, commits.
void Runner::Impl::finish_delivery() {
  aborting_on_delivery_failure([&] {
    batcher->finish();
    drain();
    sink.flush();
  });
  commit();
}

void Runner::Impl::conclude() {
  report.ended = clock.now();
  if (const auto repairs = bad_input_text(report, true); !repairs.empty()) {
    spdlog::warn("This run repaired or dropped instead of stopping: {}", repairs);
  }
  if (const auto kept = bad_input_text(report, false); !kept.empty()) {
    spdlog::info("This run sent references to objects outside it as they came, for OpenCTI to resolve: {}", kept);
  }
  const bool interrupted = stop.requested();
  if (report.work_cancelled) {
    // Workers drop messages of a deleted work: nothing this run delivered can count as imported.
    report.outcome = RunOutcome::Failed;
    report.errors.push_back("the OpenCTI work of this run was deleted; its objects will be read again next run");
    if (!parts.dry_run && checkpointing && !(state_at_start == state)) {
      try {
        store.save(state_at_start);
      } catch (const std::exception& error) {
        spdlog::error("Cannot restore the connector state ({}): {}", store.describe(), error.what());
      }
    }
    spdlog::warn("Connector run cancelled after queueing {} objects", report.sent_objects);
  } else if (interrupted) {
    report.outcome = RunOutcome::Interrupted;
    const std::string message = fmt::format("Connector run interrupted by {} after queueing {} objects",
                                            stop.reason(), report.delivered_objects) +
                                per_collection(report);
    close_work(message, true);
    spdlog::info("{}", message);
  } else if (!report.errors.empty()) {
    report.outcome = RunOutcome::Failed;
    std::string message = "Connector run failed: " + report.errors.front();
    for (std::size_t i = 1; i < report.errors.size(); ++i) message += "; " + report.errors[i];
    message += per_collection(report);
    close_work(message, true);
    spdlog::error("Error occurred during connector execution: {}", message);
  } else {
    report.outcome = RunOutcome::Succeeded;
    if (parts.dry_run) {
      spdlog::info("Connector sent {} objects (dry run executed)", report.sent_objects);
    } else {
      if (checkpointing) {
        complete_run(state, report.started);
        try {
          save_state(true);
        } catch (const RunAborted& error) {
          report.outcome = RunOutcome::Failed;
          report.errors.push_back(error.what());
        }
      }
      std::string message = fmt::format("Connector queued {} objects for import", report.sent_objects);
      message += per_collection(report);
      close_work(message, report.outcome != RunOutcome::Succeeded);
      spdlog::info("{}", message);
    }
  }
  const auto seconds = std::chrono::duration<double>(report.ended - report.started).count();
  if (parts.health) {
    // A run stopped by a signal did not fail: the process is ending.
    parts.health->run_finished(report.outcome != RunOutcome::Failed,
                               report.errors.empty() ? std::string() : report.errors.front());
  }
  export_stats();
  if (parts.metrics) {
    parts.metrics->add(Metric::PyctiRuns);
    parts.metrics->set_state("idle");
    parts.metrics->set(Metric::RunDuration, seconds);
    parts.metrics->add(Metric::Runs, 1,
                       report.outcome == RunOutcome::Succeeded ? "succeeded"
                       : report.outcome == RunOutcome::Interrupted ? "interrupted" : "failed");
    if (report.outcome == RunOutcome::Succeeded) {
      parts.metrics->set(Metric::LastSuccess,
                         std::chrono::duration<double>(report.ended.time_since_epoch()).count());
    } else if (!report.errors.empty() && !report.token_rejected) {
      parts.metrics->add(Metric::Errors, 1, "run");
    }
  }
}

std::string format_summary(const RunReport& report) {
  std::string text;
  const char* outcome = report.outcome == RunOutcome::Succeeded ? "succeeded"
                        : report.outcome == RunOutcome::Interrupted ? "interrupted" : "failed";
  text += fmt::format("Run {}: {} feed objects read, {} STIX objects sent, {} confirmed\n", outcome,
                      report.feed_objects, report.sent_objects, report.delivered_objects);
  text += "Collections:\n";
  for (const auto& c : report.collections) {
    text += fmt::format("  {:<42} {:>6} objects {:>4} pages{}\n", c.id, c.feed_objects, c.pages,
                        c.error ? " — error: " + *c.error : std::string());
  }
  text += "Objects sent, by type (each bundle carries its own copy of shared objects such as the author):\n";
  for (const auto& [type, count] : report.objects_by_type) text += fmt::format("  {:<16} {:>7}\n", type, count);
  for (const bool repairs : {true, false}) {
    if (bad_input_text(report, repairs).empty()) continue;
    text += repairs ? "Repaired or dropped instead of stopping the run (each logged once):\n"
                    : "Sent as they came, for OpenCTI to resolve:\n";
    for (const auto& [kind, count] : report.bad_input) {
      if (is_repair(kind) == repairs) text += fmt::format("  {:<38} {:>7}\n", kind, count);
    }
  }
  for (const auto& error : report.errors) text += "Error: " + error + "\n";
  return text;
}

}  // namespace kfc::runner
