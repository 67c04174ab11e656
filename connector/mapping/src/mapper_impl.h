#pragma once
// The mapping's implementation class, shared by the files that implement its sections (each rule is
// described in connector/mapping/README.md, which names the file that implements it). Objects are
// built straight into the output document's allocator; the only per-batch state is the id index of
// the bundle and the batch's reports.
#include <array>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "json_util.h"
#include "kfc/mapping/mapper.h"
#include "kfc/stix/id_index.h"
#include "locations.h"
#include "memo.h"

namespace kfc::mapping {

using json::Allocator;
using json::Value;

inline constexpr std::string_view kAuthorId = Mapper::kAuthorId;

// What an object of the bundle being built is; decides its relationships and report references.
enum class Kind { Indicator, ThreatActor, Sector, Location, Malware, Report, File, DomainName, Url, Ipv4, Other };

inline bool is_observable(Kind k) {
  return k == Kind::File || k == Kind::DomainName || k == Kind::Url || k == Kind::Ipv4;
}

inline std::string_view kind_type(Kind k) {
  switch (k) {
    case Kind::Indicator: return "indicator";
    case Kind::ThreatActor: return "threat-actor";
    case Kind::File: return "file";
    case Kind::DomainName: return "domain-name";
    case Kind::Url: return "url";
    case Kind::Ipv4: return "ipv4-addr";
    default: return "";
  }
}

// The description context (key=value;…), reduced to the keys the transforms read.
struct Context {
  std::optional<std::string_view> actors, industries, industry, geo, users_geo, ip_geo, threat,
      publication_name, api_publication_id, detection_date;

  static Context parse(std::string_view description);

 private:
  std::optional<std::string_view>* slot(std::string_view key);
};

struct Mapper::Impl {
  MappingOptions opt;
  const Clock& clock;
  const LocationRegistry& locations = LocationRegistry::instance();
  rapidjson::Document author;
  rapidjson::Document tlp_marking;  // kaspersky.tlp_level; null when none
  std::vector<std::string> malicious_variants;
  std::array<std::vector<std::string>, 3> level_labels;  // high, medium, low
  std::string feed_title;                                // collect(): cache of the last title
  std::vector<std::string> feed_variants;
  // What the context expansions derive from feed text, remembered (memo.h).
  struct Malware {
    std::string name, description, id;
  };
  struct Verdict {
    bool bad = false;               // not 3 or 4 dotted parts: Problem::BadThreatVerdict
    std::vector<Malware> malwares;  // the variant (four parts), then the family
  };
  Memo<LocationRegistry::Decoded> decoded_locations;  // location text -> countries
  Memo<Verdict> verdicts;                             // threat -> malware
  Memo<std::string> actor_ids;                        // stripped actor name -> threat-actor id
  Memo<std::optional<std::string>> sector_ids;        // stripped industry -> identity id; none for Other
  std::unordered_set<std::string> known_existing, known_new;  // create_only, per run
  MappingStats stats;
  std::array<bool, static_cast<std::size_t>(Problem::kCount)> logged{};

  // ---- mapper.cpp: the pipeline of one source batch and what every section shares
  Impl(MappingOptions o, const Clock& c);
  std::vector<std::string> variants(std::string legacy, std::string modern) const;
  void problem(Problem p, std::string_view where);

  // ---- author.cpp
  void build_author();

  // ---- collect.cpp: the collection step
  void collect(Value& obj, Allocator& a, std::string_view title);

  // ---- the bundle being built
  struct ReportState {
    std::string id, name, published, pid;
    bool has_pid = false;
    std::vector<std::string> refs;
    std::vector<std::string_view> types{"indicator"};
    std::size_t position = 0;
    bool placed = false;
  };

  struct Item {
    Kind kind;
    std::string id;
    Value value;              // null for reports (kept in ReportState)
    std::size_t report = 0;   // index into Batch::reports for Kind::Report
  };

  // A deque: transforms append while others hold references to earlier items (the indicator).
  using Items = std::deque<Item>;

  struct Batch {
    Value& out;
    Allocator& a;
    Value now;  // the created/modified time, in `a`: every object shares its text (json::share_value)
    stix::IdIndex index;  // id -> position in out
    std::vector<ReportState> reports;
    std::unordered_map<std::string, std::size_t> report_by_id;

    // add(): new ids are appended, known ids replaced in place. Returns the position.
    std::size_t add(Value&& v, std::string_view id) {
      const auto [stored, inserted] = index.try_emplace(id, out.Size());
      const std::size_t position = stored;
      if (inserted)
        out.PushBack(v, a);
      else
        out[static_cast<rapidjson::SizeType>(position)] = v;
      return position;
    }
    void add_without_id(Value&& v) { out.PushBack(v, a); }
  };

  // type, spec_version, id, created_by_ref (the author), created, modified: the start of every SDO.
  Value sdo_header(Batch& b, std::string_view type, Value id);
  Value sdo_header(Batch& b, std::string_view type, const std::string& id);

  // ---- one source batch (mapper.cpp)
  void transform(const Value& source_batch, rapidjson::Document& out);
  void transform(const Value& source_batch, Value& out, Allocator& allocator);

  // ---- indicators.cpp: indicator handling
  void transform_indicator(Batch& b, const Value& source);
  void normalise_id(Value& ind, Allocator& a, std::string_view where);
  void finish(Value& o, Allocator& a, bool indicator);
  void add_feed_object(Batch& b, Value&& o, bool indicator);

  // ---- context expansion, one file each
  void actors(Batch& b, const Context& ctx, Items& objs);                               // expand_actors.cpp
  void industries(Batch& b, const Context& ctx, Items& objs);                           // expand_sectors.cpp
  const LocationRegistry::Decoded& decode(std::string_view value);                      // expand_locations.cpp
  void locations_of(Batch& b, const Context& ctx, std::string_view where, Items& objs);  // expand_locations.cpp
  void malwares(Batch& b, const Context& ctx, std::string_view where, Items& objs);     // expand_malware.cpp
  static Verdict read_verdict(std::string_view threat);                                 // expand_malware.cpp

  // expand_reports.cpp
  void reports(Batch& b, const Context& ctx, std::string_view where, Items& objs);
  void fill_reports(Batch& b, const Items& objs, std::size_t first);
  Value report_object(Batch& b, const ReportState& r);

  // expand_observables.cpp
  using Hashes = std::vector<std::pair<std::string_view, std::string_view>>;
  void observables(Batch& b, const Value& ind, std::string_view where, Items& objs);
  Value observable(Batch& b, Kind kind, std::string_view id);
  void observable_tail(Batch& b, Value& o, const Value& ind);
  bool validate(Hashes& h, std::string_view where);
  void file_observable(Batch& b, Hashes& h, const Value& ind, Items& objs);
  static void put_hash(Hashes& h, std::string_view alg, std::string_view value);

  // ---- relationships.cpp
  // What a relationship copies from its source, looked up once per source.
  struct RelationshipSource {
    const Item& item;
    const Value* description;  // null: absent
    const Value* labels;       // null: absent, not an array or empty
    explicit RelationshipSource(const Item& source);
  };
  std::pair<std::string, Value> relationship(Batch& b, std::string_view type, const RelationshipSource& source,
                                             const Item& target);
  void relationships(Batch& b, const Items& objs, std::size_t first,
                     std::vector<std::pair<std::string, Value>>& rels, std::string_view where);

  // ---- scores.cpp: confidence, score and labels of every object
  // What the threat_score pieces of a description say, in order (nullopt: not an integer). The
  // relationships and observables of an indicator share its description text (one pooled string),
  // so the last result is kept: within one transform() pooled text is never freed or changed, so
  // the same address and length mean the same text. Short strings live inside their Value and
  // are not memoised.
  struct ScorePieces {
    const char* text = nullptr;
    std::size_t size = 0;
    bool has_score = false;
    std::vector<std::optional<long long>> scores;
  };
  ScorePieces score_memo;
  static constexpr std::size_t kMemoMinLength = 32;  // > RapidJSON's inline string capacity

  int level_index(long long score) const;
  const ScorePieces& score_pieces(std::string_view text);
  void post_process(Value& o, Allocator& a);

  // ---- description_policy.cpp
  static bool has_description(const Value& o);
  void strip(Value& o);
  void apply_description_policy(Value& objects, ExistingIds* lookup);
};

}  // namespace kfc::mapping
