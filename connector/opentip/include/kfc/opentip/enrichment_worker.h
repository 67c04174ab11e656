#pragma once
// One enrichment request, end to end, as pycti's ListenQueue._data_handler runs it: parse the
// message, report the work as received, read the entity from OpenCTI, check scope and TLP, look it
// up in OpenTIP, push the enriched bundle (confirmed), mark the work processed. The verdict says
// whether the caller may ack the message or must put it back (quota, outage: nothing is lost).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "kfc/config/clock.h"
#include "kfc/health/metrics.h"
#include "kfc/health/token_gate.h"
#include "kfc/opencti/client.h"
#include "kfc/opentip/client.h"
#include "kfc/opentip/enrichment.h"
#include "kfc/sinks/sink.h"

namespace kfc::opentip {

struct RequestOutcome {
  Disposition disposition = Disposition::Ack;   // Ack, or RequeueLater
  bool in_error = false;
  std::string work_message;                      // what the work was closed with
  std::optional<SystemTime> pause_until;         // RequeueLater: take no request before then
};

// A sink for one request's bundle. Built per request: the messages carry the requester as
// applicant_id (the platform imports the result on behalf of the user who asked) and the draft the
// request came from (empty: none).
using SinkFactory =
    std::function<std::unique_ptr<sinks::Sink>(const std::string& applicant_id, const std::string& draft_id)>;

// What the worker reports to and asks besides OpenCTI and OpenTIP (all optional).
struct WorkerContext {
  health::TokenGate* key_gate = nullptr;  // opentip.api_key: re-read and expiry-checked before each request
  health::Metrics* metrics = nullptr;     // requests by outcome, OpenTIP requests and quota, sink counts
  bool playbook_compatible = false;       // connector.playbook_compatible: playbook requests are served
};

// The entity as OpenCTI exports it: `objects` holds the STIX object and its marking definitions.
struct EntityObjects {
  rapidjson::Document objects;  // array
  std::string stix_id;          // the entity's standard id
};

// stixCyberObservable(id) { standard_id objectMarking {...} toStix } — what pycti's
// stix_cyber_observable.read + export yield for enrichment. Throws EnrichmentRefused when OpenCTI
// has no such observable (or the connector's user may not see it).
EntityObjects read_entity_objects(opencti::OpenCtiClient& api, const std::string& entity_id);

class EnrichmentWorker {
 public:
  EnrichmentWorker(opencti::OpenCtiClient& api, std::string connector_id, Client& opentip, SinkFactory sinks,
                   EnrichmentOptions options, Clock& clock, WorkerContext context = {});

  // Never throws: every failure becomes an outcome (and, when there is a work, its error message).
  RequestOutcome handle(std::string_view message_body);

 private:
  RequestOutcome handle_request(const EnrichmentRequest& request);
  std::string enrich(const EnrichmentRequest& request, const std::string& work_id);
  std::string enrich_for_playbook(const EnrichmentRequest& request);
  void check_key();
  void push(stix::Bundle bundle, const EnrichmentRequest& request, const std::string& work_id,
            const std::vector<std::string>& organizations);
  void close_work(const std::string& work_id, const std::string& message, bool in_error);
  void count(const RequestOutcome& outcome);

  opencti::OpenCtiClient& api_;
  std::string connector_id_;
  Client& opentip_;
  SinkFactory sinks_;
  EnrichmentOptions options_;
  Clock& clock_;
  WorkerContext context_;
  bool found_ = false;              // the request in progress: OpenTIP knew the value
  sinks::SinkStats sink_totals_;    // every request's sink, for the metrics
};

}  // namespace kfc::opentip
