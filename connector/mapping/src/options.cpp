#include <numeric>

#include "kfc/mapping/mapper.h"

namespace kfc::mapping {

MappingOptions MappingOptions::from(const Settings& settings) {
  MappingOptions o;
  o.confidence_level = settings.connector.confidence_level;
  o.threat_score = settings.connector.threat_score;
  o.threat_score_high = settings.connector.threat_score_high;
  o.threat_score_medium = settings.connector.threat_score_medium;
  o.threat_score_from_description = settings.connector.threat_score_from_description;
  o.label_format = settings.connector.label_format;
  o.description_mode = settings.connector.description_mode;
  o.expand_objects = settings.kaspersky.expand_objects;
  o.create_indicators = settings.kaspersky.create_indicators;
  o.create_observables = settings.kaspersky.create_observables;
  o.tlp_level = settings.kaspersky.tlp_level;
  return o;
}

std::string_view to_string(Problem problem) {
  switch (problem) {
    case Problem::NotAnObject: return "feed element is not a JSON object (dropped)";
    case Problem::MissingType: return "feed object without a string 'type' (passed through)";
    case Problem::ObjectWithoutId: return "feed object without a string 'id' (passed through)";
    case Problem::NonStringField: return "field has an unexpected JSON type (treated as absent)";
    case Problem::NonStringLabel: return "label is not a string (kept as is)";
    case Problem::PatternWithoutQuote: return "indicator pattern has no quoted value (no name/observable)";
    case Problem::UnknownHashPattern: return "hash pattern without MD5/SHA-1/SHA-256 value (no file observable)";
    case Problem::InvalidHashLength: return "hash value of the wrong length (hash dropped)";
    case Problem::BadPublishedDate: return "detection_date is not a STIX timestamp (report skipped)";
    case Problem::BadThreatScore: return "threat_score is not an integer (ignored)";
    case Problem::UnknownLocation: return "location code or name not in the datasheet (skipped)";
    case Problem::BadThreatVerdict: return "threat verdict is not behaviour.platform.family[.modification] (no malware)";
    case Problem::InvalidReference: return "indicator id is not a STIX id (not referenced)";
    case Problem::LookupFailed: return "create_only lookup failed (descriptions stripped)";
    case Problem::MissingId: return "create_only: object without id (description stripped)";
    case Problem::kCount: break;
  }
  return "unknown problem";
}

std::uint64_t MappingStats::total_problems() const {
  return std::accumulate(problems.begin(), problems.end(), std::uint64_t{0});
}

}  // namespace kfc::mapping
