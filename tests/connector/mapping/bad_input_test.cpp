// Bad feed input never aborts a batch (connector/mapping/README.md, "Bad input"): the object is mapped as far as
// possible or passed through, the problem is counted, and logged once per kind.
#include <memory>
#include <set>
#include <random>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/stix/ids.h"
#include "mapping_test_util.h"

namespace kfc::mapping {
namespace {

using namespace testing;

struct Outcome {
  rapidjson::Document out;
  MappingStats stats;
};

Outcome map_one(const std::string& object_json, MappingOptions o = {}) {
  ManualClock clock(fixed_time());
  Mapper m(o, clock);
  auto in = parse("[" + object_json + "]");
  Outcome r{run(m, in, "TAXII_F"), {}};
  r.stats = m.stats();
  return r;
}

const rapidjson::Value* of_type(const rapidjson::Value& out, const std::string& type) {
  for (const auto& o : out.GetArray())
    if (str(o, "type") == type) return &o;
  return nullptr;
}

TEST(BadInput, NonObjectsAreDroppedAndCounted) {
  ManualClock clock(fixed_time());
  Mapper m({}, clock);
  auto in = parse(R"([1, "x", null, [], {"type":"indicator","id":"indicator--a","description":"x=1"}])");
  const auto out = run(m, in, "F");
  EXPECT_EQ(out.Size(), 2u);
  EXPECT_EQ(m.stats().count(Problem::NotAnObject), 4u + 4u);  // collect() and transform() both see them
  rapidjson::Document not_array;
  not_array.SetObject();
  rapidjson::Document out2;
  m.transform(not_array, out2);
  EXPECT_EQ(out2.Size(), 1u);  // the author alone
}

TEST(BadInput, ObjectsWithoutTypeOrIdArePassedThrough) {
  const auto r = map_one(R"({"id":"x--1","a":1}, {"type":"note","content":"no id"}, {"type":"note","content":"no id"})");
  ASSERT_EQ(r.out.Size(), 4u);  // no de-duplication without an id
  EXPECT_EQ(r.stats.count(Problem::MissingType), 1u);
  EXPECT_EQ(r.stats.count(Problem::ObjectWithoutId), 2u);
}

TEST(BadInput, NullOrNumericDescriptionMapsWithoutContext) {
  for (const char* d : {"null", "5", "{}"}) {
    const auto r = map_one(std::string(R"({"type":"indicator","id":"indicator--a","name":"IP","pattern":"[ipv4-addr:value = '1.2.3.4']","description":)") + d + "}");
    EXPECT_EQ(r.stats.count(Problem::NonStringField), 2u) << d;  // context parsing, post-processing
    const auto* ind = of_type(r.out, "indicator");
    ASSERT_NE(ind, nullptr);
    EXPECT_EQ(str(*ind, "id"), "indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861");
    const auto* ip = of_type(r.out, "ipv4-addr");
    ASSERT_NE(ip, nullptr);
    EXPECT_FALSE(ip->HasMember("x_opencti_description"));
  }
}

TEST(BadInput, WrongLabelTypesAreKeptAndCounted) {
  ManualClock clock(fixed_time());
  Mapper m({}, clock);
  auto a = parse(R"({"type":"indicator","labels":[1,"x",1,{"k":"v"}]})");
  m.collect(a, a.GetAllocator(), "TAXII_F");
  EXPECT_EQ(dump(a["labels"]), R"([1,"x",{"k":"v"},"f"])");
  auto b = parse(R"({"type":"indicator","labels":"malicious-activity"})");
  m.collect(b, b.GetAllocator(), "TAXII_F");
  EXPECT_EQ(dump(b["labels"]), R"(["malicious-activity:kaspersky","f"])");
  auto c = parse(R"({"type":"indicator","labels":{"a":1},"valid_until":42})");
  m.collect(c, c.GetAllocator(), "TAXII_F");
  EXPECT_EQ(dump(c), R"({"type":"indicator","labels":["f"],"valid_until":42})");
  EXPECT_EQ(m.stats().count(Problem::NonStringLabel), 3u);
  EXPECT_EQ(m.stats().count(Problem::NonStringField), 3u);
}

TEST(BadInput, NonStringPatternKeepsTheFeedId) {
  const auto r = map_one(R"({"type":"indicator","id":"indicator--44444444-4444-4444-8444-444444444444","name":"IP","pattern":["x"],"description":"actors=A"})");
  const auto* ind = of_type(r.out, "indicator");
  EXPECT_EQ(str(*ind, "id"), "indicator--44444444-4444-4444-8444-444444444444");
  EXPECT_NE(of_type(r.out, "relationship"), nullptr);
  EXPECT_GE(r.stats.count(Problem::NonStringField), 1u);
}

TEST(BadInput, PatternWithoutQuotedValueGivesNullNameAndNoObservable) {
  for (const char* name : {"IP", "URL"}) {
    const auto r = map_one(std::string(R"({"type":"indicator","id":"indicator--a","name":")") + name +
                           R"(","pattern":"[url:value LIKE x]","description":"actors=A"})");
    const auto* ind = of_type(r.out, "indicator");
    ASSERT_NE(ind, nullptr);
    EXPECT_TRUE((*ind)["name"].IsNull());
    EXPECT_EQ(of_type(r.out, "url"), nullptr);
    EXPECT_NE(of_type(r.out, "threat-actor"), nullptr);  // the rest is still mapped
    EXPECT_EQ(r.stats.count(Problem::PatternWithoutQuote), 2u) << name;
  }
}

TEST(BadInput, UnknownOrWrongLengthHashes) {
  const std::string sha512(128, 'a');
  auto r = map_one(R"({"type":"indicator","id":"indicator--a","name":"Hash","pattern":"[file:hashes.'SHA-512' = ')" + sha512 + R"(']"})");
  EXPECT_EQ(of_type(r.out, "file"), nullptr);
  EXPECT_EQ(r.stats.count(Problem::UnknownHashPattern), 1u);
  EXPECT_NE(of_type(r.out, "indicator"), nullptr);
  // MD5 of 40 digits is dropped, the valid SHA-256 stays and names the file.
  const std::string md5_40(40, 'a'), sha256(64, 'b');
  r = map_one(R"({"type":"indicator","id":"indicator--a","name":"Hash","pattern":"[file:hashes.MD5 = ')" + md5_40 +
              R"(' OR file:hashes.'SHA-256' = ')" + sha256 + R"(']"})");
  const auto* file = of_type(r.out, "file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(dump((*file)["hashes"]), R"({"SHA-256":")" + sha256 + R"("})");
  EXPECT_EQ(str(*file, "id"), kfc::stix::file_id_from_one("SHA-256", sha256));
  EXPECT_EQ(r.stats.count(Problem::InvalidHashLength), 1u);
  // Exploit without MD5: no file, nothing counted as broken beyond "no MD5 group".
  r = map_one(R"({"type":"indicator","id":"indicator--a","name":"Exploit","pattern":"[file:hashes.'SHA-256' = ')" + sha256 + R"(']"})");
  EXPECT_EQ(of_type(r.out, "file"), nullptr);
}

TEST(BadInput, BadDetectionDateSkipsOnlyTheReport) {
  const auto r = map_one(R"({"type":"indicator","id":"indicator--a","name":"IP","pattern":"[ipv4-addr:value = '1.2.3.4']",
      "description":"publication_name=P;detection_date=2026-04-01;actors=A"})");
  EXPECT_EQ(of_type(r.out, "report"), nullptr);
  EXPECT_NE(of_type(r.out, "threat-actor"), nullptr);
  EXPECT_EQ(r.stats.count(Problem::BadPublishedDate), 1u);
}

TEST(BadInput, NonIntegerThreatScoreIsIgnored) {
  auto r = map_one(R"({"type":"indicator","id":"indicator--a","description":"threat_score=80.5;threat_score=abc;threat_score= 20 "})");
  const auto* ind = of_type(r.out, "indicator");
  EXPECT_EQ(dump((*ind)["labels"]), R"(["f","threat_score:kaspersky:low"])");  // " 20 " is a Python int
  EXPECT_EQ(r.stats.count(Problem::BadThreatScore), 2u);
  MappingOptions o;
  o.threat_score_from_description = true;
  r = map_one(R"({"type":"indicator","id":"indicator--a","description":"threat_score=1_0;threat_score=x"})", o);
  EXPECT_EQ((*of_type(r.out, "indicator"))["x_opencti_score"].GetInt(), 10);
}

// Context repeated from indicator to indicator (remembered by the mapping, memo.h) gives each the
// same objects, and each bad piece is counted every time it comes back.
TEST(BadInput, RepeatedContextGivesTheSameObjectsAndCountsEachBadPiece) {
  const std::string context = "threat=HEUR:Trojan.Win32.Agent.gen;industries=Finance, Other;actors=Lazarus;geo=de,xx";
  std::string objects;
  for (const char* id : {"indicator--00000000-0000-4000-8000-000000000001", "indicator--00000000-0000-4000-8000-000000000002",
                         "indicator--00000000-0000-4000-8000-000000000003"}) {
    objects += std::string(objects.empty() ? "" : ",") + R"({"type":"indicator","id":")" + id +
               R"(","description":")" + context + R"(;threat=a.b"})";
  }
  const auto r = map_one(objects);
  EXPECT_EQ(r.stats.count(Problem::BadThreatVerdict), 3u);
  EXPECT_EQ(r.stats.count(Problem::UnknownLocation), 3u);
  std::size_t relationships = 0;
  std::set<std::string> others;
  for (const auto& o : r.out.GetArray()) {
    if (str(o, "type") == "relationship") ++relationships;
    else if (str(o, "type") != "indicator") others.insert(str(o, "type") + " " + str(o, "name"));
  }
  // A later threat piece wins, and a.b is not a verdict: no malware. Per indicator: the actor, the
  // sector, Germany and its region.
  EXPECT_EQ(others, (std::set<std::string>{"identity Finance", "identity Kaspersky", "location Germany",
                                           "location Western Europe", "threat-actor Lazarus"}));
  EXPECT_EQ(relationships, 3u * 4u);
  const auto* sector = find_id(r.out, kfc::stix::identity_id("Finance", "class"));
  ASSERT_NE(sector, nullptr);
  const auto* actor = find_id(r.out, kfc::stix::threat_actor_id("Lazarus"));
  ASSERT_NE(actor, nullptr);
}

TEST(BadInput, UnknownLocationsAreSkipped) {
  const auto r = map_one(R"({"type":"indicator","id":"indicator--a","description":"geo=xx,zz;users_geo=Atlantis;ip_geo=de"})");
  std::size_t locations = 0;
  for (const auto& o : r.out.GetArray()) locations += str(o, "type") == "location";
  EXPECT_EQ(locations, 2u);  // DE and Western Europe
  EXPECT_EQ(r.stats.count(Problem::UnknownLocation), 2u);
}

TEST(BadInput, EmptyAndMalformedContextItems) {
  const auto r = map_one(R"({"type":"indicator","id":"indicator--a","description":";;=;==;actors=;actors= , ,;industries=,other,OTHER;geo=;threat=a.b;threat=:::;publication_name"})");
  EXPECT_EQ(r.out.Size(), 2u);  // author + indicator
  EXPECT_EQ(r.stats.count(Problem::BadThreatVerdict), 1u);
}

TEST(BadInput, AbsurdlyLongDescriptionIsMappedWhole) {
  std::string description = "actors=A;geo=de;";
  description.append(2u << 20, 'x');
  description += ";threat_score=10";
  const auto r = map_one(R"({"type":"indicator","id":"indicator--a","name":"IP","pattern":"[ipv4-addr:value = '1.2.3.4']","description":")" +
                         description + R"("})");
  const auto* rel = of_type(r.out, "relationship");
  ASSERT_NE(rel, nullptr);
  EXPECT_EQ(str(*rel, "description").size(), description.size());
  EXPECT_EQ(r.stats.total_problems(), 0u);
}

TEST(BadInput, InvalidIndicatorIdIsNeverReferenced) {
  const auto r = map_one(R"({"type":"indicator","id":"not-an-id","description":"actors=A;publication_name=P"})");
  EXPECT_EQ(of_type(r.out, "relationship"), nullptr);
  const auto* report = of_type(r.out, "report");
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(dump((*report)["object_refs"]), R"(["threat-actor--)" + kfc::stix::threat_actor_id("A").substr(14) + R"("])");
  EXPECT_EQ(r.stats.count(Problem::InvalidReference), 1u);
}

TEST(BadInput, EachKindIsLoggedOnce) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  {
    ManualClock clock(fixed_time());
    Mapper m({}, clock);
    auto in = parse(R"([{"type":"indicator","id":"indicator--a","description":"geo=xx"},
                        {"type":"indicator","id":"indicator--b","description":"geo=yy"},
                        {"type":"indicator","id":"indicator--c","description":"geo=zz"}])");
    run(m, in, "F");
    EXPECT_EQ(m.stats().count(Problem::UnknownLocation), 3u);
  }
  spdlog::set_default_logger(previous);
  const auto lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("indicator--a"), std::string::npos);
}

}  // namespace
}  // namespace kfc::mapping
