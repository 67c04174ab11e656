#include "kfc/opentip/enrichment_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kfc/config/values.h"

#include "kfc/opencti/graphql.h"
#include "kfc/sinks/sink_metrics.h"
#include "kfc/sinks/splitter.h"

namespace kfc::opentip {
namespace {

using rapidjson::Value;

// Only the fields the enrichment needs: the STIX export of the observable and what its markings are.
constexpr std::string_view kReadObservable = R"(query StixCyberObservable($id: String!) {
    stixCyberObservable(id: $id) {
        id
        standard_id
        entity_type
        objectMarking { id standard_id definition_type definition x_opencti_order }
        toStix
    }
})";

// How long to wait before taking requests again when OpenCTI or RabbitMQ could not take our part.
constexpr auto kPlatformPause = std::chrono::seconds(30);

std::string string_member(const Value& object, const char* name) {
  if (!object.IsObject()) return {};
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

Value text(std::string_view value, rapidjson::Document::AllocatorType& allocator) {
  return Value(value.data(), static_cast<rapidjson::SizeType>(value.size()), allocator);
}

// A marking as a STIX marking-definition, enough for entity_tlp() to rank it.
Value marking_object(const Value& marking, rapidjson::Document::AllocatorType& allocator) {
  Value object(rapidjson::kObjectType);
  object.AddMember("type", "marking-definition", allocator);
  object.AddMember("spec_version", "2.1", allocator);
  object.AddMember("id", text(string_member(marking, "standard_id"), allocator), allocator);
  object.AddMember("definition_type", text(string_member(marking, "definition_type"), allocator), allocator);
  object.AddMember("name", text(string_member(marking, "definition"), allocator), allocator);
  return object;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The request names the entity's OpenCTI type: refuse out-of-scope types before any call is spent.
void check_requested_type(const EnrichmentRequest& request, const EnrichmentOptions& options) {
  if (request.entity_type.empty()) return;
  bool in_scope = std::ranges::any_of(options.scope, [&](const std::string& t) { return lower(t) == lower(request.entity_type); });
  if (!in_scope) {
    throw EnrichmentRefused("Failed to process observable, " + request.entity_type + " is not in opentip.enrichment_scope");
  }
}

std::string summary_of(const LookupResult& result, const EnrichmentOptions& options) {
  if (!result.found) return "Kaspersky OpenTIP has no data on " + result.query.value + "; nothing to add";
  std::string text = "Kaspersky OpenTIP: " + result.query.value;
  if (result.zone) {
    text += " is in zone " + std::string(to_string(*result.zone)) + " (score " +
            std::to_string(options.scores.score(*result.zone)) + ")";
  }
  return text + (result.from_cache ? "; answered from the cache" : "");
}

RequestOutcome requeue(std::string message, SystemTime until) {
  return {Disposition::RequeueLater, true, std::move(message), until};
}

}  // namespace

EntityObjects read_entity_objects(opencti::OpenCtiClient& api, const std::string& entity_id) {
  rapidjson::Document variables(rapidjson::kObjectType);
  variables.AddMember("id", text(entity_id, variables.GetAllocator()), variables.GetAllocator());
  rapidjson::Document data = api.graphql().call(kReadObservable, variables);
  auto found = data.FindMember("stixCyberObservable");
  if (found == data.MemberEnd() || !found->value.IsObject()) {
    throw EnrichmentRefused("Unable to read/access to the entity " + entity_id +
                            ", please check that the connector permission");
  }
  const Value& observable = found->value;
  EntityObjects out;
  out.objects.SetArray();
  auto& allocator = out.objects.GetAllocator();
  rapidjson::Document stix(&allocator);
  const std::string exported = string_member(observable, "toStix");
  stix.Parse(exported.c_str(), exported.size());
  if (stix.HasParseError() || !stix.IsObject() || string_member(stix, "id").empty()) {
    throw EnrichmentRefused("OpenCTI exported the entity " + entity_id + " as something other than a STIX object");
  }
  out.stix_id = string_member(stix, "id");
  out.objects.PushBack(Value(stix, allocator), allocator);
  auto markings = observable.FindMember("objectMarking");
  if (markings != observable.MemberEnd() && markings->value.IsArray()) {
    for (const auto& marking : markings->value.GetArray()) {
      if (!string_member(marking, "standard_id").empty()) out.objects.PushBack(marking_object(marking, allocator), allocator);
    }
  }
  return out;
}

EnrichmentWorker::EnrichmentWorker(opencti::OpenCtiClient& api, std::string connector_id, Client& opentip,
                                   SinkFactory sinks, EnrichmentOptions options, Clock& clock, WorkerContext context)
    : api_(api),
      connector_id_(std::move(connector_id)),
      opentip_(opentip),
      sinks_(std::move(sinks)),
      options_(std::move(options)),
      clock_(clock),
      context_(context) {}

RequestOutcome EnrichmentWorker::handle(std::string_view message_body) {
  EnrichmentRequest request;
  found_ = false;
  try {
    request = parse_enrichment_request(message_body);
  } catch (const EnrichmentRefused& error) {
    spdlog::error("Enrichment request refused: {}", error.what());
    RequestOutcome outcome{Disposition::Ack, true, error.what(), std::nullopt};
    count(outcome);
    return outcome;
  }
  // pycti's opencti-draft-id: what the request reads and writes stays in the draft it came from.
  api_.graphql().set_draft_id(request.draft_id);
  RequestOutcome outcome = handle_request(request);
  api_.graphql().set_draft_id({});
  count(outcome);
  return outcome;
}

RequestOutcome EnrichmentWorker::handle_request(const EnrichmentRequest& request) {
  std::string work_id = request.work_id;
  try {
    // pycti reports on the work the platform created with the request; one arriving without a work
    // (an older platform, a hand-made message) gets its own, so every request shows in the UI.
    if (work_id.empty()) work_id = api_.add_work(connector_id_, "Kaspersky OpenTIP enrichment of " + request.entity_id);
    api_.to_received(work_id, "Connector ready to process the operation");
    std::string summary = enrich(request, work_id);
    spdlog::info("Enrichment of {} done (work {}): {}", request.entity_id, work_id, summary);
    close_work(work_id, summary, false);
    return {Disposition::Ack, false, summary, std::nullopt};
  } catch (const opencti::OpenCtiUnavailableError& error) {
    std::string message = std::string(error.what()) + " — the request is kept on the queue and retried";
    spdlog::warn("Enrichment of {} postponed: {}", request.entity_id, message);
    if (!work_id.empty()) close_work(work_id, message, true);
    return requeue(message, clock_.now() + kPlatformPause);
  } catch (const sinks::DeliveryError& error) {
    std::string message = std::string(error.what()) + " — the result was not confirmed; the request is kept on the queue";
    spdlog::warn("Enrichment of {} postponed: {}", request.entity_id, message);
    close_work(work_id, message, true);
    return requeue(message, clock_.now() + kPlatformPause);
  } catch (...) {
    FailureHandling failure = handle_failure(std::current_exception(), clock_.now());
    if (failure.disposition == Disposition::RequeueLater) {
      spdlog::warn("Enrichment of {} postponed: {}", request.entity_id, failure.work_message);
    } else {
      spdlog::error("Enrichment of {} failed: {}", request.entity_id, failure.work_message);
    }
    if (!work_id.empty()) close_work(work_id, failure.work_message, true);
    return {failure.disposition, true, failure.work_message, failure.retry_not_before};
  }
}

// The OpenTIP key before each request: a file-backed key is read again (rotation without restart),
// an expired one is never sent (the request waits on the queue like any key problem), and the days
// left reach the metrics and the warnings.
void EnrichmentWorker::check_key() {
  if (context_.key_gate == nullptr) return;
  const health::TokenVerdict verdict = context_.key_gate->check(clock_.now());
  if (!verdict.usable) throw TokenError(verdict.error);
}

std::string EnrichmentWorker::enrich(const EnrichmentRequest& request, const std::string& work_id) {
  if (request.from_playbook) {
    if (!context_.playbook_compatible) {
      throw EnrichmentRefused("playbook enrichment is off (connector.playbook_compatible is false); use it from the "
                              "observable's enrichment menu or automatic enrichment");
    }
    return enrich_for_playbook(request);
  }
  check_requested_type(request, options_);
  EntityObjects entity = read_entity_objects(api_, request.entity_id);
  const Value* stix = find_object(entity.objects, entity.stix_id);
  check_enrichable(entity.objects, *stix, options_);
  check_key();
  LookupResult result = opentip_.lookup(lookup_value(*stix));
  found_ = result.found;
  if (result.found) {
    // Only the entity goes back (its markings already exist on the platform).
    rapidjson::Document to_enrich(rapidjson::kArrayType);
    to_enrich.PushBack(Value(*stix, to_enrich.GetAllocator()), to_enrich.GetAllocator());
    push(build_enrichment_bundle(to_enrich, entity.stix_id, result, options_, clock_.now()), request, work_id,
         granted_refs(*stix));
  }
  return summary_of(result, options_);
}

// A playbook step: the entity and its context are the objects the playbook carries; the whole
// bundle goes back to the playbook (enriched, or unchanged when OpenTIP has nothing or the entity may
// not be looked up), so the playbook's next steps always get it.
std::string EnrichmentWorker::enrich_for_playbook(const EnrichmentRequest& request) {
  opencti::PlaybookStep step = request.playbook;
  step.execution_start = format_timestamp(clock_.now());
  const Value* stix = find_object(request.playbook_objects, request.entity_id);
  if (stix == nullptr) {
    throw EnrichmentRefused("the playbook bundle does not hold the entity " + request.entity_id);
  }
  std::string summary;
  stix::Bundle bundle;
  try {
    check_enrichable(request.playbook_objects, *stix, options_);
    check_key();
    LookupResult result = opentip_.lookup(lookup_value(*stix));
    found_ = result.found;
    bundle = build_enrichment_bundle(request.playbook_objects, request.entity_id, result, options_, clock_.now());
    summary = summary_of(result, options_);
  } catch (const EnrichmentRefused& refused) {
    bundle.id = "bundle--" + request.entity_id.substr(request.entity_id.find("--") + 2);
    bundle.objects.CopyFrom(request.playbook_objects, bundle.objects.GetAllocator());
    summary = std::string(refused.what()) + "; the playbook bundle goes on unchanged";
  }
  share_with(bundle, granted_refs(*find_object(request.playbook_objects, request.entity_id)));
  api_.playbook_step_execution(step, sinks::whole_bundle_json(bundle));
  return summary + " (playbook step " + step.step_id + ")";
}

void EnrichmentWorker::push(stix::Bundle bundle, const EnrichmentRequest& request, const std::string& work_id,
                            const std::vector<std::string>& organizations) {
  // The result is shared with the organisations the entity is shared with (as pycti does).
  share_with(bundle, organizations);
  std::unique_ptr<sinks::Sink> sink = sinks_(request.applicant_id, request.draft_id);
  sink->begin_run({.work_id = work_id, .update = false});
  try {
    sink->send(bundle);
    sink->end_run();  // flushes: returns only once the broker (or the platform) confirmed every message
  } catch (...) {
    sink_totals_ += sink->stats();
    throw;
  }
  sink_totals_ += sink->stats();
}

void EnrichmentWorker::count(const RequestOutcome& outcome) {
  if (context_.metrics == nullptr) return;
  health::Metrics& metrics = *context_.metrics;
  std::string_view kind = outcome.disposition == Disposition::RequeueLater ? "requeued"
                          : outcome.in_error                                ? "refused"
                          : found_                                          ? "enriched"
                                                                            : "no_data";
  metrics.add(health::Metric::EnrichmentRequests, 1, kind);
  if (outcome.in_error) metrics.add(health::Metric::PyctiErrors);
  metrics.set(health::Metric::OpentipRequests, opentip_.requests_sent());
  const auto blocked = opentip_.blocked_until();
  const bool is_blocked = blocked && clock_.now() < *blocked;
  metrics.set(health::Metric::OpentipQuotaBlocked, is_blocked ? 1 : 0);
  metrics.set(health::Metric::OpentipQuotaResumes,
              is_blocked ? std::chrono::duration<double>(blocked->time_since_epoch()).count() : 0);
  sinks::export_stats(sink_totals_, metrics);
}

void EnrichmentWorker::close_work(const std::string& work_id, const std::string& message, bool in_error) {
  try {
    api_.to_processed(work_id, message, in_error);
  } catch (const std::exception& error) {
    // As pycti: a work that cannot be updated (deleted in the UI, OpenCTI down) does not stop the request.
    spdlog::error("Failing reporting the processing of work {}: {}", work_id, error.what());
  }
}

}  // namespace kfc::opentip
