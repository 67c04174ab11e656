#pragma once
// The pass-through mapping of the generic TAXII mode: each STIX object goes to OpenCTI as the server
// gave it, with the settings of OpenCTI's taxii2 connector applied (same order, same meanings; the
// rules are in connector/generic/README.md). Objects this mapping adds (the author identity, notes
// keeping an indicator's original id) get the ids OpenCTI computes for them.
//
// One bad object never stops a run: a field of the wrong JSON type is left alone for that step,
// counted and logged once per kind.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/config/clock.h"
#include "kfc/config/regex.h"
#include "kfc/config/settings.h"

namespace kfc::generic {

// Every setting of taxii2.* that changes what is sent; a disabled setting is an empty optional.
struct PassThroughOptions {
  bool create_indicators = true;   // x_opencti_create_indicators on observables
  bool create_observables = true;  // x_opencti_create_observables on indicators
  std::optional<std::string> custom_label;
  std::optional<std::string> custom_property;        // its value becomes a label
  std::optional<std::string> multiple_pattern_name;  // force_pattern_as_name is on
  struct LabelScores {
    std::vector<std::string> high, medium, low;  // compared lower-cased
    int high_score = 80, medium_score = 60, low_score = 40, default_score = 50;
  };
  std::optional<LabelScores> scores;                 // determine_x_opencti_score_by_label
  bool indicators_as_detection = false;
  struct Author {
    std::string name, description, reliability;
  };
  std::optional<Author> author;
  std::vector<Regex> excluded_labels;                              // searched (re.search)
  std::vector<std::pair<std::string, std::string>> label_replacements;  // find, replace
  std::optional<std::vector<std::string>> ignored_pattern_types;
  std::optional<std::vector<std::string>> ignored_object_types;
  std::optional<std::vector<std::string>> ignored_patterns;        // substrings of a pattern
  std::optional<std::vector<std::string>> ignored_notes;           // substrings of a note's content
  std::optional<std::string> original_id_note_abstract;            // save_original_indicator_id_to_note
  std::optional<std::string> report_workflow_id;                   // change_report_status

  // Throws std::invalid_argument naming the key of a regular expression that does not compile.
  static PassThroughOptions from(const Taxii2Settings& settings);
};

// What the mapping dropped or could not apply, by kind.
enum class Skip : std::uint8_t {
  IgnoredPatternType,  // an indicator of an ignored (or no) pattern_type: dropped
  IgnoredObjectType,   // dropped
  IgnoredPattern,      // an indicator whose pattern holds an ignored text (or has no pattern): dropped
  IgnoredNote,         // a note whose content holds an ignored text (or has no content): dropped
  NotAnObject,         // a batch element that is not a JSON object: dropped
  BadField,            // pattern/labels/content of the wrong JSON type: that step left it alone
  RegexLimit,          // a label regular expression hit its match limit: the label was kept
  kCount
};

// "ignored_pattern_type", "bad_field", ... (metric labels).
std::string_view to_string(Skip kind);

struct PassThroughStats {
  std::uint64_t objects_in = 0;
  std::uint64_t objects_out = 0;  // added author copies and notes included
  std::array<std::uint64_t, static_cast<std::size_t>(Skip::kCount)> skips{};
  std::uint64_t count(Skip kind) const { return skips[static_cast<std::size_t>(kind)]; }
};

class PassThrough {
 public:
  // The author identity, when enabled, is built now (its created/modified are this moment).
  PassThrough(PassThroughOptions options, const Clock& clock);
  ~PassThrough();
  PassThrough(const PassThrough&) = delete;
  PassThrough& operator=(const PassThrough&) = delete;

  // As an object is read: a TAXII 2.0 indicator without pattern_type gets "stix" (2.1 requires it).
  void collect(rapidjson::Value& object, rapidjson::Document::AllocatorType& allocator, bool taxii20) const;

  // The feed objects (an array; moved from) become the objects to send, appended to `out` (an array
  // in `allocator`).
  void transform(rapidjson::Value& feed_objects, rapidjson::Value& out, rapidjson::Document::AllocatorType& allocator);

  const PassThroughStats& stats() const;
  // The author identity as sent (null when taxii2.create_author is off).
  const rapidjson::Value& author() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfc::generic
