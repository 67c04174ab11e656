// The enrichment core on its own: request messages shaped as the platform sends them (pycti's
// ListenQueue reads the same), STIX objects as pycti's export yields them, OpenTIP answers as the
// API sends them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kfc/opentip/enrichment.h"

namespace kfc::opentip {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using rapidjson::Document;
using rapidjson::Value;

constexpr const char* kFileId = "file--3d9f6a3c-1b5e-5c1e-9a0f-2f2e6f2b7a11";
constexpr const char* kIpId = "ipv4-addr--0e1c8d6d-1f4b-5a7e-8d1e-5b1f0c7d9e22";
constexpr const char* kAmber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
constexpr const char* kRed = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";
constexpr const char* kOctiExtension = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba";

const SystemTime kNow = std::chrono::sys_days{std::chrono::year{2026} / 3 / 10} + 9h;

Document parse(std::string_view json) {
  Document document;
  document.Parse(json.data(), json.size());
  EXPECT_FALSE(document.HasParseError()) << json;
  return document;
}

std::string file_objects(std::string marking = kAmber) {
  return std::string(R"([
    {"type": "marking-definition", "spec_version": "2.1", "id": ")") + marking + R"(",
     "definition_type": "TLP", "name": "TLP:X", "definition": {"tlp": "x"}},
    {"type": "file", "spec_version": "2.1", "id": ")" + kFileId + R"(",
     "hashes": {"MD5": "44d88612fea8a8f36de82e1278abb02f"},
     "object_marking_refs": [")" + marking + R"("],
     "labels": ["existing"],
     "x_opencti_score": 50,
     "extensions": {")" + kOctiExtension + R"(": {"extension_type": "property-extension", "score": 50}}}
  ])";
}

const char* const kEicarAnswer = R"({
  "Zone": "Red",
  "FileGeneralInfo": {"FileStatus": "Malware", "Md5": "44D88612FEA8A8F36DE82E1278ABB02F",
    "Sha1": "3395856CE81F2B7382DEE72602F798B642F14140",
    "Sha256": "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F",
    "Size": 68, "Type": "COM", "HitsCount": 100000, "FirstSeen": "2013-02-14T09:04:00Z"},
  "DetectionsInfo": [{"LastDetectDate": "2024-05-01T10:21:00Z", "Zone": "Red", "DetectionName": "EICAR-Test-File",
    "DetectionMethod": "Signature", "DescriptionUrl": "https://threats.kaspersky.com/en/threat/EICAR-Test-File/"}]
})";

const char* const kIpAnswer = R"({
  "Zone": "Orange",
  "IpGeneralInfo": {"Status": "Known", "CountryCode": "NL", "Ip": "203.0.113.66",
    "Categories": ["CATEGORY_BOTNET_CNC"], "CategoriesWithZone": [{"Name": "CATEGORY_BOTNET_CNC", "Zone": "Orange"}]},
  "IpWhoIs": {"Asn": [{"Number": 64500, "Description": ["EXAMPLE-AS"]}], "Net": {"Name": "TEST-NET-3"}}
})";

LookupResult result_for(std::string_view value, std::string_view answer) {
  return parse_lookup_result(*classify(value), answer);
}

const Value& object_of_type(const stix::Bundle& bundle, std::string_view type) {
  for (const auto& object : bundle.objects.GetArray()) {
    if (std::string_view(object["type"].GetString()) == type) return object;
  }
  static Value none;
  ADD_FAILURE() << "no " << type << " in the bundle";
  return none;
}

std::vector<std::string> strings(const Value& array) {
  std::vector<std::string> out;
  for (const auto& item : array.GetArray()) out.emplace_back(item.GetString());
  return out;
}

// ---- zone scores, TLP, options ----

TEST(ZoneScores, DefaultMappingAndParsing) {
  ZoneScores defaults;
  EXPECT_EQ(defaults.score(Zone::Red), 100);
  EXPECT_EQ(defaults.score(Zone::Orange), 80);
  EXPECT_EQ(defaults.score(Zone::Yellow), 60);
  EXPECT_EQ(defaults.score(Zone::Grey), 20);
  EXPECT_EQ(defaults.score(Zone::Green), 0);
  ZoneScores custom = ZoneScores::parse(" green:5, gray:30,RED:90,orange:70,yellow:50 ");
  EXPECT_EQ(custom.score(Zone::Red), 90);
  EXPECT_EQ(custom.score(Zone::Grey), 30);
  EXPECT_EQ(custom.score(Zone::Green), 5);
}

TEST(ZoneScores, BadSpecsNameTheKey) {
  for (std::string_view bad : {"red:100", "red:101,orange:80,yellow:60,grey:20,green:0",
                               "purple:1,red:100,orange:80,yellow:60,grey:20,green:0",
                               "red:x,orange:80,yellow:60,grey:20,green:0", "red,orange:80,yellow:60,grey:20,green:0", ""}) {
    try {
      ZoneScores::parse(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::invalid_argument& error) {
      EXPECT_THAT(error.what(), HasSubstr("opentip.zone_scores"));
    }
  }
}

TEST(Tlp, ParsesEveryNameAndOrders) {
  EXPECT_EQ(parse_tlp("TLP:WHITE"), Tlp::Clear);
  EXPECT_EQ(parse_tlp("tlp:clear"), Tlp::Clear);
  EXPECT_EQ(parse_tlp("amber+strict"), Tlp::AmberStrict);
  EXPECT_EQ(parse_tlp("TLP:RED"), Tlp::Red);
  EXPECT_FALSE(parse_tlp("TLP:PURPLE"));
  EXPECT_LT(Tlp::Amber, Tlp::AmberStrict);
}

TEST(EnrichmentOptionsTest, FromSettingsAndBadValues) {
  OpenTipSettings settings;
  EnrichmentOptions options = enrichment_options(settings);
  EXPECT_EQ(options.max_tlp, Tlp::Amber);
  EXPECT_THAT(options.scope, ElementsAre("StixFile", "IPv4-Addr", "IPv6-Addr", "Domain-Name", "Url"));
  settings.enrichment_scope = "stixfile, Url";
  EXPECT_THAT(enrichment_options(settings).scope, ElementsAre("StixFile", "Url"));
  settings.enrichment_scope = "StixFile,Email-Addr";
  EXPECT_THROW(
      try { enrichment_options(settings); } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("opentip.enrichment_scope"));
        throw;
      },
      std::invalid_argument);
  settings.enrichment_scope = "StixFile";
  settings.max_tlp = "TLP:BLUE";
  EXPECT_THROW(
      try { enrichment_options(settings); } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("opentip.max_tlp"));
        throw;
      },
      std::invalid_argument);
}

// ---- the request message ----

TEST(EnrichmentRequestTest, ReadsWhatThePlatformSends) {
  EnrichmentRequest request = parse_enrichment_request(R"({
    "internal": {"work_id": "work_123", "applicant_id": "user-9", "draft_id": ""},
    "event": {"entity_id": "a1b2c3", "entity_type": "StixFile", "event_type": "INTERNAL_ENRICHMENT"}})");
  EXPECT_EQ(request.work_id, "work_123");
  EXPECT_EQ(request.applicant_id, "user-9");
  EXPECT_EQ(request.entity_id, "a1b2c3");
  EXPECT_EQ(request.entity_type, "StixFile");
  EXPECT_FALSE(request.from_playbook);
}

TEST(EnrichmentRequestTest, PlaybookRequestCarriesItsBundle) {
  EnrichmentRequest request = parse_enrichment_request(std::string(R"({
    "internal": {"work_id": null, "applicant_id": null, "playbook": {"playbook_id": "p", "step_id": "s"}},
    "event": {"entity_id": ")") + kFileId + R"(", "bundle": {"type": "bundle", "objects": )" + file_objects() + "}}}");
  EXPECT_TRUE(request.from_playbook);
  EXPECT_TRUE(request.work_id.empty());
  ASSERT_TRUE(request.playbook_objects.IsArray());
  EXPECT_EQ(request.playbook_objects.Size(), 2u);
}

// A message nested a million levels deep is refused with the reason, like any unreadable request
// (the recursive parser it used to meet overflowed the stack).
TEST(EnrichmentRequestTest, AMillionNestedArraysIsRefusedNotACrash) {
  try {
    parse_enrichment_request(std::string(1'000'000, '[') + std::string(1'000'000, ']'));
    FAIL() << "expected EnrichmentRefused";
  } catch (const EnrichmentRefused& refused) {
    EXPECT_NE(std::string(refused.what()).find("nested deeper than 64 levels"), std::string::npos) << refused.what();
  }
  // Deep inside a playbook bundle too: the copy of the bundle would recurse as deep.
  const std::string deep_bundle = R"({"internal":{"playbook":{}},"event":{"entity_id":"x","bundle":{"objects":[)" +
                                  std::string(100'000, '[') + std::string(100'000, ']') + "]}}}";
  EXPECT_THROW(parse_enrichment_request(deep_bundle), EnrichmentRefused);
}

TEST(EnrichmentRequestTest, BadMessagesAreRefusedWithAReason) {
  EXPECT_THROW(parse_enrichment_request("not json"), EnrichmentRefused);
  EXPECT_THROW(parse_enrichment_request("[1,2]"), EnrichmentRefused);
  EXPECT_THROW(parse_enrichment_request(R"({"event": {"entity_id": "x"}})"), EnrichmentRefused);
  try {
    parse_enrichment_request(R"({"internal": {"work_id": "w"}, "event": {"entity_type": "Url"}})");
    FAIL();
  } catch (const EnrichmentRefused& error) {
    EXPECT_THAT(error.what(), HasSubstr("specific id"));
  }
  EXPECT_THROW(parse_enrichment_request(R"({"internal": {"playbook": {}}, "event": {"entity_id": "x"}})"),
               EnrichmentRefused);
}

// ---- what to look up, scope and TLP ----

TEST(LookupValue, PrefersTheStrongestHashAndReadsValues) {
  EXPECT_EQ(lookup_value(parse(R"({"type": "file", "hashes": {"MD5": "m", "SHA-1": "s1", "SHA-256": "s256"}})")), "s256");
  EXPECT_EQ(lookup_value(parse(R"({"type": "file", "hashes": {"MD5": "m", "SHA-1": "s1"}})")), "s1");
  EXPECT_EQ(lookup_value(parse(R"({"type": "domain-name", "value": "example.com"})")), "example.com");
  EXPECT_THROW(lookup_value(parse(R"({"type": "file", "name": "a.exe"})")), EnrichmentRefused);
  EXPECT_THROW(lookup_value(parse(R"({"type": "email-addr", "value": "a@b.c"})")), EnrichmentRefused);
  EXPECT_THROW(lookup_value(parse(R"({"type": "url"})")), EnrichmentRefused);
}

TEST(CheckEnrichable, ScopeAndMaxTlp) {
  EnrichmentOptions options;
  Document amber = parse(file_objects(kAmber));
  EXPECT_EQ(entity_tlp(amber, *find_object(amber, kFileId)), Tlp::Amber);
  EXPECT_NO_THROW(check_enrichable(amber, *find_object(amber, kFileId), options));

  Document red = parse(file_objects(kRed));
  try {
    check_enrichable(red, *find_object(red, kFileId), options);
    FAIL() << "TLP:RED enriched under max TLP:AMBER";
  } catch (const EnrichmentRefused& error) {
    EXPECT_THAT(error.what(), HasSubstr("TLP:RED"));
    EXPECT_THAT(error.what(), HasSubstr("opentip.max_tlp"));
  }
  options.max_tlp = Tlp::Red;
  EXPECT_NO_THROW(check_enrichable(red, *find_object(red, kFileId), options));

  options.scope = {"Url"};
  EXPECT_THROW(check_enrichable(amber, *find_object(amber, kFileId), options), EnrichmentRefused);
}

TEST(CheckEnrichable, TlpFromANamedMarkingNotAmongTheStandardIds) {
  Document objects = parse(R"([
    {"type": "marking-definition", "id": "marking-definition--aaaaaaaa-0000-4000-8000-000000000001",
     "definition_type": "TLP", "name": "TLP:AMBER+STRICT"},
    {"type": "url", "id": "url--1", "value": "http://x.example/", "object_marking_refs":
      ["marking-definition--aaaaaaaa-0000-4000-8000-000000000001", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}])");
  EXPECT_EQ(entity_tlp(objects, *find_object(objects, "url--1")), Tlp::AmberStrict);
  EXPECT_THROW(check_enrichable(objects, *find_object(objects, "url--1"), EnrichmentOptions{}), EnrichmentRefused);
}

// ---- the bundle ----

TEST(BuildBundle, FileGetsScoreLabelsHashesSizeReferenceAndDetectionNote) {
  Document objects = parse(file_objects());
  stix::Bundle bundle = build_enrichment_bundle(objects, kFileId, result_for("44d88612fea8a8f36de82e1278abb02f", kEicarAnswer),
                                                EnrichmentOptions{}, kNow);
  EXPECT_THAT(bundle.id, HasSubstr("bundle--"));
  ASSERT_EQ(bundle.size(), 4u);  // marking, file, author, note

  const Value& file = object_of_type(bundle, "file");
  EXPECT_EQ(file["x_opencti_score"].GetInt(), 100);
  EXPECT_EQ(file["extensions"][kOctiExtension]["score"].GetInt(), 100);
  EXPECT_THAT(strings(file["labels"]), ElementsAre("existing", "opentip:red"));
  EXPECT_STREQ(file["hashes"]["MD5"].GetString(), "44d88612fea8a8f36de82e1278abb02f");
  EXPECT_STREQ(file["hashes"]["SHA-1"].GetString(), "3395856ce81f2b7382dee72602f798b642f14140");
  EXPECT_STREQ(file["hashes"]["SHA-256"].GetString(), "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
  EXPECT_EQ(file["size"].GetUint64(), 68u);
  ASSERT_EQ(file["external_references"].Size(), 1u);
  EXPECT_STREQ(file["external_references"][0]["source_name"].GetString(), "Kaspersky OpenTIP");
  EXPECT_STREQ(file["external_references"][0]["url"].GetString(),
               "https://opentip.kaspersky.com/44d88612fea8a8f36de82e1278abb02f/");

  const Value& author = object_of_type(bundle, "identity");
  EXPECT_STREQ(author["name"].GetString(), "Kaspersky OpenTIP");
  EXPECT_STREQ(author["identity_class"].GetString(), "organization");

  const Value& note = object_of_type(bundle, "note");
  EXPECT_STREQ(note["object_refs"][0].GetString(), kFileId);
  EXPECT_STREQ(note["created_by_ref"].GetString(), author["id"].GetString());
  EXPECT_THAT(strings(note["object_marking_refs"]), ElementsAre(kAmber));
  std::string content = note["content"].GetString();
  EXPECT_THAT(content, HasSubstr("[EICAR-Test-File](https://threats.kaspersky.com/en/threat/EICAR-Test-File/)"));
  EXPECT_THAT(content, HasSubstr("| Signature |"));
  EXPECT_THAT(content, HasSubstr("Status: Malware"));
  EXPECT_STREQ(note["created"].GetString(), "2026-03-10T09:00:00.000Z");
}

TEST(BuildBundle, ExistingHashesAndSizeAreNotOverwritten) {
  Document objects = parse(R"([{"type": "file", "id": "file--x", "hashes": {"MD5": "AAAA", "SHA-256": "keep"}, "size": 5}])");
  stix::Bundle bundle = build_enrichment_bundle(objects, "file--x", result_for("44d88612fea8a8f36de82e1278abb02f", kEicarAnswer),
                                                EnrichmentOptions{}, kNow);
  const Value& file = object_of_type(bundle, "file");
  EXPECT_STREQ(file["hashes"]["MD5"].GetString(), "AAAA");
  EXPECT_STREQ(file["hashes"]["SHA-256"].GetString(), "keep");
  EXPECT_STREQ(file["hashes"]["SHA-1"].GetString(), "3395856ce81f2b7382dee72602f798b642f14140");
  EXPECT_EQ(file["size"].GetInt(), 5);
}

TEST(BuildBundle, IpGetsConfiguredScoreCategoryLabelsAndWhoisNote) {
  Document objects = parse(std::string(R"([{"type": "ipv4-addr", "spec_version": "2.1", "id": ")") + kIpId +
                           R"(", "value": "203.0.113.66"}])");
  EnrichmentOptions options;
  options.scores = ZoneScores::parse("red:99,orange:77,yellow:55,grey:11,green:1");
  stix::Bundle bundle = build_enrichment_bundle(objects, kIpId, result_for("203.0.113.66", kIpAnswer), options, kNow);
  const Value& ip = object_of_type(bundle, "ipv4-addr");
  EXPECT_EQ(ip["x_opencti_score"].GetInt(), 77);
  EXPECT_THAT(strings(ip["labels"]), ElementsAre("opentip:orange", "botnet-cnc"));
  EXPECT_FALSE(ip.HasMember("hashes"));
  std::string content = object_of_type(bundle, "note")["content"].GetString();
  EXPECT_THAT(content, HasSubstr("AS64500 EXAMPLE-AS"));
  EXPECT_THAT(content, HasSubstr("CATEGORY_BOTNET_CNC (Orange)"));
  EXPECT_THAT(content, HasSubstr("Country: NL"));
}

TEST(BuildBundle, NoDataSendsTheEntityBackUnchanged) {
  Document objects = parse(file_objects());
  stix::Bundle bundle = build_enrichment_bundle(objects, kFileId, no_data_result(*classify("00000000000000000000000000000000")),
                                                EnrichmentOptions{}, kNow);
  ASSERT_EQ(bundle.size(), 2u);
  const Value& file = object_of_type(bundle, "file");
  EXPECT_EQ(file["x_opencti_score"].GetInt(), 50);
  EXPECT_FALSE(file.HasMember("external_references"));
}

TEST(BuildBundle, ReEnrichmentIsIdempotent) {
  Document objects = parse(file_objects());
  LookupResult result = result_for("44d88612fea8a8f36de82e1278abb02f", kEicarAnswer);
  stix::Bundle first = build_enrichment_bundle(objects, kFileId, result, EnrichmentOptions{}, kNow);
  stix::Bundle second = build_enrichment_bundle(first.objects, kFileId, result, EnrichmentOptions{}, kNow + 1h);
  const Value& file = object_of_type(second, "file");
  EXPECT_THAT(strings(file["labels"]), ElementsAre("existing", "opentip:red"));
  EXPECT_EQ(file["external_references"].Size(), 1u);
  EXPECT_STREQ(object_of_type(first, "note")["id"].GetString(), object_of_type(second, "note")["id"].GetString());
  int identities = 0;
  for (const auto& object : second.objects.GetArray()) identities += std::string_view(object["type"].GetString()) == "identity";
  EXPECT_EQ(identities, 1);
}

TEST(BuildBundle, EntityMissingFromObjectsIsRefused) {
  Document objects = parse(file_objects());
  EXPECT_THROW(build_enrichment_bundle(objects, "file--absent", result_for("44d88612fea8a8f36de82e1278abb02f", kEicarAnswer),
                                       EnrichmentOptions{}, kNow),
               EnrichmentRefused);
}

TEST(Labels, ZoneAndCategoryNames) {
  EXPECT_EQ(zone_label(Zone::Grey), "opentip:grey");
  EXPECT_EQ(category_label("CATEGORY_PHISHING"), "phishing");
  EXPECT_EQ(category_label("CATEGORY_BOTNET_CNC"), "botnet-cnc");
}

}  // namespace
}  // namespace kfc::opentip
