#pragma once
// The OpenCTI internal-enrichment core, free of any network: read an enrichment request (the JSON
// the platform puts on the connector's queue, as pycti's ListenQueue reads it), decide whether the
// observable may be enriched (scope, max TLP), and turn an OpenTIP result into the bundle pushed back.
#include <array>
#include <exception>
#include <expected>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/config/clock.h"
#include "kfc/config/settings.h"
#include "kfc/config/token.h"
#include "kfc/opencti/client.h"
#include "kfc/opentip/result.h"
#include "kfc/stix/bundle.h"

namespace kfc::opentip {

// opentip.zone_scores: "red:100,orange:80,yellow:60,grey:20,green:0" (gray accepted, any order,
// every zone required).
class ZoneScores {
 public:
  ZoneScores();  // the default mapping above
  // Throws std::invalid_argument naming opentip.zone_scores and the bad part.
  static ZoneScores parse(std::string_view spec);
  int score(Zone zone) const { return scores_[static_cast<std::size_t>(zone)]; }

 private:
  std::array<int, 5> scores_;
};

enum class Tlp { Clear, Green, Amber, AmberStrict, Red };
// "TLP:CLEAR" / "TLP:WHITE" / "TLP:GREEN" / "TLP:AMBER" / "TLP:AMBER+STRICT" / "TLP:RED", any case,
// with or without the "TLP:" prefix.
std::optional<Tlp> parse_tlp(std::string_view text);
std::string_view to_string(Tlp tlp);

struct EnrichmentOptions {
  ZoneScores scores;
  Tlp max_tlp = Tlp::Amber;
  std::vector<std::string> scope{"StixFile", "IPv4-Addr", "IPv6-Addr", "Domain-Name", "Url"};  // OpenCTI types
  std::string author_name = "Kaspersky OpenTIP";
};

// From opentip.zone_scores / max_tlp / enrichment_scope; throws std::invalid_argument naming the key.
EnrichmentOptions enrichment_options(const OpenTipSettings& settings);

// A request that cannot or must not be enriched; the work is marked in error with this message and
// the request is not retried (as pycti does).
class EnrichmentRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One message of the connector's listen queue: {"internal": {work_id, applicant_id, draft_id,
// playbook?}, "event": {entity_id, entity_type, event_type?, bundle? (playbooks)}}.
struct EnrichmentRequest {
  std::string work_id;
  std::string applicant_id;
  std::string draft_id;
  std::string entity_id;      // OpenCTI internal id or standard id
  std::string entity_type;    // OpenCTI type ("StixFile"...), may be empty
  std::string event_type;     // empty for manual / automatic enrichment
  bool from_playbook = false;
  rapidjson::Document playbook_objects;  // event.bundle.objects when from a playbook (else null)
  opencti::PlaybookStep playbook;        // internal.playbook and event.bundle (execution_start set on handling)
};

// Throws EnrichmentRefused for a body that is not such a message (saying what is missing).
EnrichmentRequest parse_enrichment_request(std::string_view body);

// The OpenCTI type name of a STIX observable type ("file" -> "StixFile"); "" when unknown.
std::string_view opencti_type_of(std::string_view stix_type);

// The entity's STIX object in `objects` (by "id" == stix_id); nullptr when absent.
const rapidjson::Value* find_object(const rapidjson::Value& objects, std::string_view stix_id);

// What OpenTIP should be asked for this observable: SHA-256 > SHA-1 > MD5 for files, `value` for
// addresses, domains and URLs. Refused (with the reason) for anything else.
std::string lookup_value(const rapidjson::Value& entity);

// The highest TLP among the entity's object_marking_refs, resolved through `objects` (and the
// standard STIX TLP marking ids); nullopt when the entity carries no TLP marking.
std::optional<Tlp> entity_tlp(const rapidjson::Value& objects, const rapidjson::Value& entity);

// Throws EnrichmentRefused when the entity type is outside opentip.enrichment_scope or its TLP is
// above opentip.max_tlp — checked before any OpenTIP request is spent.
void check_enrichable(const rapidjson::Value& objects, const rapidjson::Value& entity,
                      const EnrichmentOptions& options);

// The bundle pushed back: `objects` (the entity and what came with it) with the entity enriched —
// x_opencti_score from the zone, labels for the zone and categories, file hashes and size filled
// in, an external reference to the OpenTIP page — plus the author identity and a note holding the
// detections / general info / WHOIS essentials (with the entity's markings).
stix::Bundle build_enrichment_bundle(const rapidjson::Value& objects, std::string_view entity_stix_id,
                                     const LookupResult& result, const EnrichmentOptions& options, SystemTime now);

// The organisations the entity is shared with (the OpenCTI extension's granted_refs, or
// x_opencti_granted_refs): an enrichment result is shared with them too.
std::vector<std::string> granted_refs(const rapidjson::Value& entity);
// Adds `organizations` to every object of the bundle, as pycti does for enrichment results: in the
// OpenCTI extension's granted_refs when the object has that extension, else x_opencti_granted_refs.
void share_with(stix::Bundle& bundle, const std::vector<std::string>& organizations);

// Labels this enrichment gives: "opentip:red" for the zone, "phishing" for CATEGORY_PHISHING.
std::string zone_label(Zone zone);
std::string category_label(std::string_view category);

// The markdown content of the note (empty when the result has nothing worth a note).
std::string note_content(const LookupResult& result);

}  // namespace kfc::opentip

namespace kfc::opentip {

// What the queue consumer does with a request whose enrichment failed. pycti acks every message
// and marks the work in error; we do the same except where waiting would succeed — quota, an
// unavailable OpenTIP, a key to be replaced — so that such requests are not lost.
enum class Disposition { Ack, RequeueLater };
struct FailureHandling {
  Disposition disposition = Disposition::Ack;
  std::string work_message;              // toProcessed(message, inError: true)
  std::optional<SystemTime> retry_not_before;  // consumption pauses until then (RequeueLater)
};
// The connector was asked to stop while a request waited (rate limit, backoff, a push being retried):
// the request is abandoned there and goes back to the queue for the next start.
class EnrichmentInterrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Classifies the exception being handled (call from a catch block).
FailureHandling handle_failure(std::exception_ptr failure, SystemTime now);

}  // namespace kfc::opentip
