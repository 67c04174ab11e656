#pragma once
// The Kaspersky feed mapping (connector/mapping/README.md): what the reference connector turns each
// TAXII feed object into. The batching engineer cuts the stream into source batches and calls, per
// batch: collect() on each object as it is read, transform() on the batch, then
// apply_description_policy(). Staging, sending and dry-run printing live elsewhere.
//
// Robustness (the reference aborts; here fixed): one bad object never aborts a run. It is mapped as far as
// possible (or passed through), the problem is counted in MappingStats and logged once per kind.
#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/config/clock.h"
#include "kfc/config/settings.h"

namespace kfc::mapping {

// Everything in Settings that changes the mapping's output.
struct MappingOptions {
  int confidence_level = 100;                 // connector.confidence_level
  int threat_score = 100;                     // connector.threat_score
  int threat_score_high = 75;                 // connector.threat_score_high
  int threat_score_medium = 50;               // connector.threat_score_medium
  bool threat_score_from_description = false; // connector.threat_score_from_description
  LabelFormat label_format = LabelFormat::Legacy;                  // connector.label_format
  DescriptionMode description_mode = DescriptionMode::Overwrite;   // connector.description_mode
  bool expand_objects = true;                 // kaspersky.expand_objects
  bool create_indicators = true;              // kaspersky.create_indicators
  bool create_observables = true;             // kaspersky.create_observables
  // pycti < 6.4 threat-actor ids ({"name"} only). Off = pycti >= 6.4 (the default target).
  bool legacy_threat_actor_ids = false;
  // kaspersky.tlp_level: none (no marking, the reference's output) or the TLP marking every created
  // object gets, the marking definition itself in every bundle.
  std::string tlp_level = "none";

  static MappingOptions from(const Settings& settings);
};

// Kinds of bad input the mapping survives (each counted, logged once per Mapper).
enum class Problem : std::uint8_t {
  NotAnObject,            // a batch element that is not a JSON object: dropped (cannot be STIX)
  MissingType,            // object without a string "type": passed through
  ObjectWithoutId,        // object without a string "id": passed through, never de-duplicated
  NonStringField,         // a field the mapping reads has the wrong JSON type: treated as absent
  NonStringLabel,         // a label that is not a string: kept, ignored for matching
  PatternWithoutQuote,    // indicator pattern without a quoted token: name null / no observable
  UnknownHashPattern,     // Hash/Exploit pattern without a recognised hash: no file observable
  InvalidHashLength,      // MD5/SHA-1/SHA-256 of the wrong length: that hash is dropped
  BadPublishedDate,       // detection_date not a STIX timestamp: report skipped
  BadThreatScore,         // threat_score not an integer: that piece ignored
  UnknownLocation,        // a geo token that matches no datasheet record
  BadThreatVerdict,       // threat verdict that does not split into 3 or 4 parts
  InvalidReference,       // an indicator id that is not type--uuid: no relationship/ref to it
  LookupFailed,           // create_only lookup failed: pending descriptions stripped
  MissingId,              // create_only: object without id, description stripped
  kCount
};
std::string_view to_string(Problem problem);

struct MappingStats {
  std::uint64_t source_objects = 0;      // objects given to transform()
  std::uint64_t indicators = 0;          // of which indicators
  std::uint64_t output_objects = 0;      // objects written by transform() (author copies included)
  std::uint64_t descriptions_stripped = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(Problem::kCount)> problems{};

  std::uint64_t count(Problem p) const { return problems[static_cast<std::size_t>(p)]; }
  std::uint64_t total_problems() const;
};

// create_only: the OpenCTI side answers which of the given ids already exist in the
// platform (matching an entity's id, standard_id or x_opencti_stix_ids). Called with at most 200
// ids at a time, in first-appearance order. An error string means "lookup failed" (all pending
// descriptions of the batch are then stripped and one warning is logged).
class ExistingIds {
 public:
  virtual ~ExistingIds() = default;
  virtual std::expected<std::unordered_set<std::string>, std::string> existing(
      std::span<const std::string> ids) = 0;
};

class Mapper {
 public:
  // The author identity is built here; its created/modified are clock.now() at this moment.
  // Side effect (once per process, glibc): mallopt keeps up to 64 MB of freed heap for reuse
  // instead of returning it to the kernel after every batch (an 8x speed-up of transform()).
  explicit Mapper(MappingOptions options, const Clock& clock = system_clock());
  ~Mapper();
  Mapper(const Mapper&) = delete;
  Mapper& operator=(const Mapper&) = delete;

  const MappingOptions& options() const;

  // The collection step, in place, as each object is read from a collection (labels, valid_until). Only objects
  // of type indicator (and the non-standard "observable") are touched.
  void collect(rapidjson::Value& feed_object, rapidjson::Document::AllocatorType& allocator,
               std::string_view collection_title);

  // Transform then post-process: one source batch (a JSON array of collected feed objects) becomes
  // one bundle's objects. `out` gets a fresh allocator (its previous content and memory are
  // released, so reusing one Document does not grow memory) and is reset to an array holding the author, the (normalised) feed
  // objects, the expansions and relationships, de-duplicated by id, post-processed. The source is
  // only read (objects are deep-copied into out's allocator). Works for any batch size (100 for
  // reference parity, 1 for clusters).
  void transform(const rapidjson::Value& source_batch, rapidjson::Document& out);
  // Same, but built in `allocator`, which is not reset: the caller keeps it alive as long as `out`
  // and releases it. Give it the Batcher's batch memory (`bundle_objects.GetAllocator()` in a
  // batching::TransformFn) and the Batcher moves the objects into the batch instead of copying them.
  void transform(const rapidjson::Value& source_batch, rapidjson::Value& out,
                 rapidjson::Document::AllocatorType& allocator);

  // The description policy on a transformed batch (before it is staged). `lookup` is used only in
  // create_only mode; with nullptr nothing can be known to exist, so descriptions are kept.
  // `objects` is the array transform() produced (a Document is a Value); keys are only removed.
  void apply_description_policy(rapidjson::Value& objects, ExistingIds* lookup);

  // create_only cache is per run: call at the start of each run.
  void begin_run();

  // The author identity, as put first in every bundle.
  const rapidjson::Value& author() const;
  static constexpr std::string_view kAuthorId = "identity--04d070e4-451d-54f4-a42e-c64431074504";

  const MappingStats& stats() const;

  // The TLP marking definition every created object references (kaspersky.tlp_level), or nullptr
  // for none. transform() puts it beside the author; senders add it to bundles that lack it.
  const rapidjson::Value* tlp_marking() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfc::mapping
