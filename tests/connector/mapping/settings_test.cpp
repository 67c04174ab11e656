// One test per setting that changes the output (connector/mapping/README.md): label formats, score modes,
// confidence, description modes, expand/create combinations, legacy ids.
#include <set>
#include <unordered_set>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/stix/ids.h"
#include "mapping_test_util.h"

namespace kfc::mapping {
namespace {

using namespace testing;

const char* kIp = R"({"type":"indicator","spec_version":"2.1","id":"indicator--11111111-1111-4111-8111-111111111111",
  "created":"2026-04-21T10:00:00.000Z","modified":"2026-04-21T10:00:00.000Z","name":"IP",
  "pattern":"[ipv4-addr:value = '1.2.3.4']","pattern_type":"stix","valid_from":"2026-04-21T10:00:00.000Z",
  "labels":["malicious-activity","keep-me"],"description":"ip_geo=ru;threat_score=60;actors=Lazarus"})";

rapidjson::Document batch_of(std::initializer_list<const char*> objects) {
  std::string text = "[";
  for (const char* o : objects) text += std::string(text.size() > 1 ? "," : "") + o;
  return parse(text + "]");
}

std::vector<std::string> strings(const rapidjson::Value& array) {
  std::vector<std::string> out;
  if (array.IsArray())
    for (const auto& e : array.GetArray()) out.push_back(e.IsString() ? e.GetString() : dump(e));
  return out;
}

const rapidjson::Value& first_of_type(const rapidjson::Value& out, const std::string& type) {
  for (const auto& o : out.GetArray())
    if (str(o, "type") == type) return o;
  static const rapidjson::Value null;
  ADD_FAILURE() << "no " << type << " in " << dump(out);
  return null;
}

struct MapperRun {
  ManualClock clock{fixed_time()};
  Mapper mapper;
  explicit MapperRun(MappingOptions o) : mapper(o, clock) {}
  rapidjson::Document go(std::initializer_list<const char*> objects,
                         const std::string& collection = "TAXII_Demo_IP_Reputation_Data_Feed") {
    auto in = batch_of(objects);
    return run(mapper, in, collection);
  }
};

TEST(CollectionStep, LabelFormatsOfTheReferenceTests) {
  struct Case { LabelFormat f; const char* in; std::vector<std::string> out; };
  const std::vector<Case> cases = {
      {LabelFormat::Legacy, R"(["malicious-activity","keep-me"])",
       {"malicious-activity:kaspersky", "keep-me", "demo_ip_reputation_data_feed"}},
      {LabelFormat::New, R"(["malicious-activity","keep-me"])",
       {"kaspersky:malicious-activity", "keep-me", "kaspersky:demo_ip_reputation_data_feed"}},
      {LabelFormat::Both, R"(["malicious-activity","kaspersky:malicious-activity","demo_ip_reputation_data_feed"])",
       {"malicious-activity:kaspersky", "kaspersky:malicious-activity", "demo_ip_reputation_data_feed",
        "kaspersky:demo_ip_reputation_data_feed"}},
      {LabelFormat::Legacy, R"(["a","a","b"])", {"a", "b", "demo_ip_reputation_data_feed"}},
  };
  for (const auto& c : cases) {
    MappingOptions o;
    o.label_format = c.f;
    ManualClock clock(fixed_time());
    Mapper m(o, clock);
    auto obj = parse(std::string(R"({"type":"indicator","labels":)") + c.in + "}");
    m.collect(obj, obj.GetAllocator(), "TAXII_Demo_IP_Reputation_Data_Feed");
    EXPECT_EQ(strings(obj["labels"]), c.out) << c.in;
  }
}

TEST(CollectionStep, LabelsAddedWhenAbsentAndPrefixRemovedOnlyAtStart) {
  Mapper m{MappingOptions{}};
  auto obj = parse(R"({"type":"observable","id":"x"})");
  m.collect(obj, obj.GetAllocator(), "My_TAXII_Feed");
  EXPECT_EQ(strings(obj["labels"]), std::vector<std::string>{"my_taxii_feed"});
  auto other = parse(R"({"type":"malware","labels":["malicious-activity"]})");
  m.collect(other, other.GetAllocator(), "TAXII_X");
  EXPECT_EQ(strings(other["labels"]), std::vector<std::string>{"malicious-activity"});  // untouched
}

TEST(CollectionStep, ValidUntil2100IsRemovedOthersKept) {
  Mapper m{MappingOptions{}};
  auto a = parse(R"({"type":"indicator","valid_until":"2100-01-01T00:00:00.000Z","z":1})");
  m.collect(a, a.GetAllocator(), "TAXII_F");
  EXPECT_FALSE(a.HasMember("valid_until"));
  EXPECT_EQ(dump(a), R"({"type":"indicator","z":1,"labels":["f"]})");  // order of other keys kept
  auto b = parse(R"({"type":"indicator","valid_until":"2027-01-01T00:00:00.000Z"})");
  m.collect(b, b.GetAllocator(), "TAXII_F");
  EXPECT_EQ(str(b, "valid_until"), "2027-01-01T00:00:00.000Z");
}

TEST(ScoreAndLabels, DefaultModeScoreIsConfiguredLabelFollowsDescription) {
  MapperRun r{MappingOptions{}};
  const auto out = r.go({kIp});
  const auto& ind = first_of_type(out, "indicator");
  EXPECT_EQ(ind["x_opencti_score"].GetInt(), 100);
  EXPECT_EQ(strings(ind["labels"]).back(), "threat_score:kaspersky:medium");
  EXPECT_EQ(ind["confidence"].GetInt(), 100);
  // Author and malware-free locations: author gets the default level, locations nothing.
  EXPECT_EQ(strings(out[0]["labels"]), std::vector<std::string>{"threat_score:kaspersky:high"});
  EXPECT_FALSE(first_of_type(out, "location").HasMember("labels") &&
               strings(first_of_type(out, "location")["labels"]).back().starts_with("threat_score"));
}

TEST(ScoreAndLabels, ThresholdsAndFormatsChangeTheLevel) {
  MappingOptions o;
  o.threat_score = 30;
  o.threat_score_high = 90;
  o.threat_score_medium = 20;
  o.label_format = LabelFormat::Both;
  MapperRun r{o};
  const auto out = r.go({kIp});
  const auto& ind = first_of_type(out, "indicator");
  EXPECT_EQ(ind["x_opencti_score"].GetInt(), 30);
  const auto labels = strings(ind["labels"]);
  EXPECT_EQ(std::vector<std::string>(labels.end() - 2, labels.end()),
            (std::vector<std::string>{"threat_score:kaspersky:medium", "kaspersky:threat_score:medium"}));
  EXPECT_EQ(strings(out[0]["labels"]),
            (std::vector<std::string>{"threat_score:kaspersky:medium", "kaspersky:threat_score:medium"}));
}

TEST(ScoreAndLabels, ReferenceTestCasesOfSection62) {
  {  // from_description=true, format new: score from description, no labels
    MappingOptions o;
    o.threat_score_from_description = true;
    o.label_format = LabelFormat::New;
    MapperRun r{o};
    const auto out = r.go({R"({"type":"indicator","id":"indicator--a","labels":[],"description":"x=1;threat_score=74"})"});
    const auto& ind = first_of_type(out, "indicator");
    EXPECT_EQ(ind["x_opencti_score"].GetInt(), 74);
    EXPECT_EQ(strings(ind["labels"]), std::vector<std::string>{"kaspersky:demo_ip_reputation_data_feed"});
    EXPECT_FALSE(out[0].HasMember("labels"));  // author: no threat_score in description, no labels
  }
  {  // format new, no threat_score in description
    MappingOptions o;
    o.label_format = LabelFormat::New;
    MapperRun r{o};
    const auto out = r.go({R"({"type":"indicator","id":"indicator--a","description":"x=1"})"}, "X");
    EXPECT_EQ(strings(first_of_type(out, "indicator")["labels"]),
              (std::vector<std::string>{"kaspersky:x", "kaspersky:threat_score:high"}));
  }
  {  // format both, pass-through url with x_opencti_description
    MappingOptions o;
    o.label_format = LabelFormat::Both;
    MapperRun r{o};
    const auto out = r.go({R"({"type":"url","id":"url--6469e3a9-b053-5e34-a025-9396ae051d26","value":"x",
        "x_opencti_description":"a=b;threat_score=60","x_opencti_labels":["feed-label"]})"});
    const auto& url = first_of_type(out, "url");
    EXPECT_EQ(strings(url["x_opencti_labels"]),
              (std::vector<std::string>{"feed-label", "threat_score:kaspersky:medium", "kaspersky:threat_score:medium"}));
    EXPECT_EQ(url["x_opencti_score"].GetInt(), 100);
    EXPECT_FALSE(url.HasMember("confidence"));
  }
}

TEST(ScoreAndLabels, FromDescriptionReachesRelationshipsAndObservables) {
  MappingOptions o;
  o.threat_score_from_description = true;
  MapperRun r{o};
  const auto out = r.go({kIp});
  for (const auto& obj : out.GetArray()) {
    const std::string type = str(obj, "type");
    if (type == "relationship" || type == "indicator" || type == "ipv4-addr") {
      EXPECT_EQ(obj["x_opencti_score"].GetInt(), 60) << dump(obj);
    }
    if (type == "location" || type == "threat-actor") {
      EXPECT_FALSE(obj.HasMember("x_opencti_score"));
    }
  }
}

TEST(ScoreAndLabels, SubstringWithoutExactKeyAddsNoLabel) {
  MapperRun r{MappingOptions{}};
  const auto out = r.go({R"({"type":"indicator","id":"indicator--a","description":"x_threat_score=5"})"}, "F");
  EXPECT_EQ(strings(first_of_type(out, "indicator")["labels"]), std::vector<std::string>{"f"});
}

TEST(ScoreAndLabels, IndicatorWithoutDescriptionGetsOnlyTheScore) {
  MapperRun r{MappingOptions{}};
  const auto out = r.go({R"({"type":"indicator","id":"indicator--a","name":"IP","pattern":"[ipv4-addr:value = '5.6.7.8']"})"}, "F");
  const auto& ind = first_of_type(out, "indicator");
  EXPECT_EQ(strings(ind["labels"]), std::vector<std::string>{"f"});
  EXPECT_EQ(ind["x_opencti_score"].GetInt(), 100);
  EXPECT_FALSE(ind.HasMember("description"));
}

// Confidence, score and labels are set where the object has them, wherever they stand (the first of
// a repeated name), and appended in that order when it has not; x_opencti_description leads to
// x_opencti_labels only without a description.
TEST(ScoreAndLabels, MembersInAnyOrderAreReplacedInPlaceOrAppended) {
  MappingOptions o;
  o.confidence_level = 42;
  MapperRun r{o};
  const auto out = r.go({
      R"({"labels":["x"],"confidence":1,"description":"threat_score=10","type":"malware","id":"malware--m",)"
      R"("labels":["second"],"x_opencti_score":5})",
      R"({"x_opencti_description":"threat_score=80","type":"url","id":"url--u","value":"http://a.example/"})",
      R"({"type":"url","id":"url--v","x_opencti_labels":"one","description":"d","x_opencti_description":"x"})"});
  const auto* malware = find_id(out, "malware--m");
  ASSERT_NE(malware, nullptr);
  EXPECT_EQ(dump(*malware),
            R"({"labels":["x","threat_score:kaspersky:low"],"confidence":42,"description":"threat_score=10",)"
            R"("type":"malware","id":"malware--m","labels":["second"],"x_opencti_score":5})");
  const auto* url = find_id(out, "url--u");
  ASSERT_NE(url, nullptr);
  EXPECT_EQ(dump(*url), R"({"x_opencti_description":"threat_score=80","type":"url","id":"url--u",)"
                        R"("value":"http://a.example/","x_opencti_score":100,)"
                        R"("x_opencti_labels":["threat_score:kaspersky:high"]})");
  const auto* other = find_id(out, "url--v");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(dump(*other), R"({"type":"url","id":"url--v","x_opencti_labels":"one","description":"d",)"
                          R"("x_opencti_description":"x","x_opencti_score":100,)"
                          R"("labels":["threat_score:kaspersky:high"]})");
}

TEST(Confidence, OverwritesFeedValueOnListedTypesOnly) {
  MappingOptions o;
  o.confidence_level = 42;
  MapperRun r{o};
  auto in = batch_of({R"({"type":"indicator","id":"indicator--a","confidence":7,"name":"Hash",
      "pattern":"[file:hashes.MD5 = '0123456789abcdef0123456789abcdef']",
      "description":"actors=X;threat=HEUR:Trojan.Win32.Agent;geo=de;industry=Energy;publication_name=P"})",
                      R"({"type":"campaign","id":"campaign--5d5b2a4e-0a9b-4a44-a0ea-000000000001"})"});
  const auto out = run(r.mapper, in, "F");
  std::set<std::string> with, without;
  for (const auto& obj : out.GetArray()) {
    const std::string type = str(obj, "type");
    if (obj.HasMember("confidence")) {
      EXPECT_EQ(obj["confidence"].GetInt(), 42) << type;
      with.insert(type);
    } else {
      without.insert(type);
    }
  }
  EXPECT_EQ(with, (std::set<std::string>{"indicator", "threat-actor", "malware", "report", "relationship", "campaign"}));
  EXPECT_EQ(without, (std::set<std::string>{"identity", "location", "file"}));
}

TEST(Modes, ExpandOffGivesTheNamedIndicatorOnly) {
  MappingOptions o;
  o.expand_objects = false;
  MapperRun r{o};
  const auto out = r.go({kIp});
  ASSERT_EQ(out.Size(), 2u);
  EXPECT_EQ(str(out[1], "id"), "indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861");
  EXPECT_EQ(str(out[1], "name"), "1.2.3.4");
  EXPECT_EQ(str(out[1], "x_opencti_main_observable_type"), "IPv4-Addr");
  EXPECT_EQ(str(out[1], "created_by_ref"), std::string(Mapper::kAuthorId));
}

TEST(Modes, ObservablesOnlyWithUnsupportedTypeYieldsTheAuthorAlone) {
  MappingOptions o;
  o.create_indicators = false;
  MapperRun r{o};
  const auto out = r.go({R"({"type":"indicator","id":"indicator--a","name":"Mutex","pattern":"[mutex:name = 'm']"})"});
  ASSERT_EQ(out.Size(), 1u);
  EXPECT_EQ(str(out[0], "id"), std::string(Mapper::kAuthorId));
}

TEST(Modes, LegacyThreatActorIds) {
  MappingOptions o;
  o.legacy_threat_actor_ids = true;
  MapperRun r{o};
  const auto out = r.go({kIp});
  EXPECT_EQ(str(first_of_type(out, "threat-actor"), "id"), "threat-actor--d763a010-75cb-592e-821b-e66f16a68b3b");
}

TEST(Options, BuiltFromSettings) {
  Settings s;
  s.connector.confidence_level = 55;
  s.connector.threat_score = 10;
  s.connector.threat_score_high = 80;
  s.connector.threat_score_medium = 40;
  s.connector.threat_score_from_description = true;
  s.connector.label_format = LabelFormat::Both;
  s.connector.description_mode = DescriptionMode::CreateOnly;
  s.kaspersky.expand_objects = false;
  s.kaspersky.create_indicators = true;
  s.kaspersky.create_observables = false;
  const auto o = MappingOptions::from(s);
  EXPECT_EQ(o.confidence_level, 55);
  EXPECT_EQ(o.threat_score, 10);
  EXPECT_EQ(o.threat_score_high, 80);
  EXPECT_EQ(o.threat_score_medium, 40);
  EXPECT_TRUE(o.threat_score_from_description);
  EXPECT_EQ(o.label_format, LabelFormat::Both);
  EXPECT_EQ(o.description_mode, DescriptionMode::CreateOnly);
  EXPECT_FALSE(o.expand_objects);
  EXPECT_FALSE(o.create_observables);
}

TEST(Batch, DuplicateIndicatorsKeepFirstPositionLastContent) {
  MapperRun r{MappingOptions{}};
  const auto out = r.go({R"({"type":"indicator","id":"indicator--11111111-1111-4111-8111-111111111111","name":"IP","pattern":"[ipv4-addr:value = '1.2.3.4']","description":"a=1"})",
                         R"({"type":"malware","id":"malware--5d5b2a4e-0a9b-4a44-a0ea-000000000001","x-kaspersky-note":"x"})",
                         R"({"type":"indicator","id":"indicator--22222222-2222-4222-8222-222222222222","name":"IP","pattern":"[ipv4-addr:value = '1.2.3.4']","description":"a=2"})"});
  ASSERT_GE(out.Size(), 4u);
  EXPECT_EQ(str(out[1], "id"), "indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861");
  EXPECT_EQ(str(out[1], "description"), "a=2");
  EXPECT_EQ(strings(out[1]["x_opencti_stix_ids"]),
            std::vector<std::string>{"indicator--22222222-2222-4222-8222-222222222222"});
  // [author, indicator, ipv4-addr, based-on, malware]: the second indicator added nothing new
  ASSERT_EQ(out.Size(), 5u);
  EXPECT_EQ(str(out[4], "type"), "malware");
  EXPECT_FALSE(out[4].HasMember("x-kaspersky-note"));  // finishing applies to pass-through objects
  EXPECT_EQ(out[4]["confidence"].GetInt(), 100);
  EXPECT_EQ(str(out[3], "description"), "a=2");  // the relationship was replaced by the later one
}

TEST(Batch, StandardIdNeedsNoAlias) {
  MapperRun r{MappingOptions{}};
  const auto out = r.go({R"({"type":"indicator","id":"indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861","name":"IP","pattern":" [ipv4-addr:value = '1.2.3.4'] "})"});
  EXPECT_FALSE(out[1].HasMember("x_opencti_stix_ids"));
}

TEST(Batch, BatchesOfOneGiveTheSameObjects) {
  const char* second = R"({"type":"indicator","id":"indicator--x2","name":"URL","pattern":"[url:value = 'http://a.example/']","description":"geo=ru,de;threat=HEUR:Trojan.Win32.Agent.gen"})";
  MapperRun big{MappingOptions{}};
  const auto whole = big.go({kIp, second});
  std::set<std::string> ids_whole, ids_single;
  for (const auto& o : whole.GetArray()) ids_whole.insert(str(o, "id"));
  MapperRun small{MappingOptions{}};
  for (const char* one : {kIp, second}) {
    const auto out = small.go({one});
    for (const auto& o : out.GetArray()) ids_single.insert(str(o, "id"));
  }
  EXPECT_EQ(ids_whole, ids_single);
  EXPECT_EQ(small.mapper.stats().source_objects, 2u);
}

// The OpenCTI side of create_only, backed by a set (the real one queries GraphQL elsewhere).
class SetOfExistingIds final : public ExistingIds {
 public:
  std::unordered_set<std::string> known;
  std::vector<std::size_t> calls;
  bool fail = false;
  std::expected<std::unordered_set<std::string>, std::string> existing(std::span<const std::string> ids) override {
    calls.push_back(ids.size());
    if (fail) return std::unexpected("connection refused");
    std::unordered_set<std::string> out;
    for (const auto& id : ids)
      if (known.contains(id)) out.insert(id);
    return out;
  }
};

std::size_t count_descriptions(const rapidjson::Value& out) {
  std::size_t n = 0;
  for (const auto& o : out.GetArray()) n += o.HasMember("description") || o.HasMember("x_opencti_description");
  return n;
}

TEST(DescriptionPolicy, OverwriteKeepsSkipStripsEverything) {
  MappingOptions o;
  MapperRun keep{o};
  auto out = keep.go({kIp});
  const auto before = count_descriptions(out);
  EXPECT_GT(before, 3u);
  keep.mapper.apply_description_policy(out, nullptr);
  EXPECT_EQ(count_descriptions(out), before);
  o.description_mode = DescriptionMode::Skip;
  MapperRun skip{o};
  auto out2 = skip.go({kIp});
  skip.mapper.apply_description_policy(out2, nullptr);
  EXPECT_EQ(count_descriptions(out2), 0u);
  EXPECT_EQ(skip.mapper.stats().descriptions_stripped, before);
}

TEST(DescriptionPolicy, CreateOnlyStripsExistingKeepsNewAndCachesPerRun) {
  MappingOptions o;
  o.description_mode = DescriptionMode::CreateOnly;
  MapperRun r{o};
  SetOfExistingIds lookup;
  lookup.known.insert(std::string(Mapper::kAuthorId));
  lookup.known.insert("indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861");
  auto out = r.go({kIp});
  r.mapper.apply_description_policy(out, &lookup);
  EXPECT_FALSE(out[0].HasMember("description"));                                     // author exists
  EXPECT_FALSE(find_id(out, "indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861")->HasMember("description"));
  EXPECT_TRUE(first_of_type(out, "relationship").HasMember("description"));          // new
  EXPECT_TRUE(first_of_type(out, "ipv4-addr").HasMember("x_opencti_description"));
  ASSERT_EQ(lookup.calls.size(), 1u);
  // Same run: everything is cached, no new lookup; a new run asks again.
  auto again = r.go({kIp});
  r.mapper.apply_description_policy(again, &lookup);
  EXPECT_EQ(lookup.calls.size(), 1u);
  EXPECT_FALSE(again[0].HasMember("description"));
  r.mapper.begin_run();
  auto third = r.go({kIp});
  r.mapper.apply_description_policy(third, &lookup);
  EXPECT_EQ(lookup.calls.size(), 2u);
}

TEST(DescriptionPolicy, CreateOnlyLooksUpInChunksOf200) {
  MappingOptions o;
  o.description_mode = DescriptionMode::CreateOnly;
  Mapper m(o);
  rapidjson::Document objects = parse("[]");
  auto& a = objects.GetAllocator();
  for (int i = 0; i < 450; ++i) {
    rapidjson::Value obj(rapidjson::kObjectType);
    obj.AddMember("type", "malware", a);
    obj.AddMember("id", rapidjson::Value(kfc::stix::malware_id("m" + std::to_string(i)).c_str(), a), a);
    obj.AddMember("description", "d", a);
    objects.PushBack(obj, a);
  }
  SetOfExistingIds lookup;
  m.apply_description_policy(objects, &lookup);
  EXPECT_EQ(lookup.calls, (std::vector<std::size_t>{200, 200, 50}));
  EXPECT_EQ(count_descriptions(objects), 450u);
}

TEST(DescriptionPolicy, CreateOnlyLookupFailureStripsAllPendingAndMissingIds) {
  MappingOptions o;
  o.description_mode = DescriptionMode::CreateOnly;
  MapperRun r{o};
  SetOfExistingIds lookup;
  lookup.fail = true;
  auto out = r.go({kIp});
  rapidjson::Value no_id(rapidjson::kObjectType);
  no_id.AddMember("type", "note", out.GetAllocator());
  no_id.AddMember("description", "x", out.GetAllocator());
  out.PushBack(no_id, out.GetAllocator());
  r.mapper.apply_description_policy(out, &lookup);
  EXPECT_EQ(count_descriptions(out), 0u);
  EXPECT_EQ(r.mapper.stats().count(Problem::LookupFailed), 1u);
  EXPECT_EQ(r.mapper.stats().count(Problem::MissingId), 1u);
}

TEST(DescriptionPolicy, CreateOnlyWithoutLookupKeepsDescriptions) {
  MappingOptions o;
  o.description_mode = DescriptionMode::CreateOnly;
  MapperRun r{o};
  auto out = r.go({kIp});
  const auto before = count_descriptions(out);
  r.mapper.apply_description_policy(out, nullptr);
  EXPECT_EQ(count_descriptions(out), before);
}

}  // namespace
}  // namespace kfc::mapping
