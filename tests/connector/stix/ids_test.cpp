// Every vector of data/id-vectors.json, through both the uuid5 of the canonical
// text and the per-type id function from the raw inputs.
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "kfc/stix/ids.h"

namespace kfc::stix {
namespace {

rapidjson::Document load_vectors() {
  std::ifstream in(std::string(KFC_STIX_TEST_DATA) + "/id-vectors.json");
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  return doc;
}

std::string str(const rapidjson::Value& v, const char* key) {
  return std::string(v[key].GetString(), v[key].GetStringLength());
}

std::string id_from_inputs(const std::string& kind, const rapidjson::Value& in) {
  if (kind == "identity") return identity_id(str(in, "name"), str(in, "identity_class"));
  if (kind == "threat-actor") return threat_actor_id(str(in, "name"));
  if (kind == "threat-actor-legacy") return threat_actor_id(str(in, "name"), /*legacy=*/true);
  if (kind == "malware") return malware_id(str(in, "name"));
  if (kind == "location") return location_id(str(in, "name"), str(in, "x_opencti_location_type"));
  if (kind == "report") return report_id(str(in, "name"), str(in, "published"));
  if (kind == "indicator") return indicator_id(str(in, "pattern"));
  if (kind == "indicator-legacy") return indicator_id(str(in, "pattern"), /*legacy=*/true);
  if (kind == "relationship")
    return relationship_id(str(in, "relationship_type"), str(in, "source_ref"), str(in, "target_ref"));
  if (kind == "ipv4-addr" || kind == "domain-name" || kind == "url")
    return value_sco_id(kind, str(in, "value"));
  if (kind == "file") {
    const auto& h = in["hashes"];
    std::vector<std::pair<std::string, std::string>> hashes;
    for (auto m = h.MemberBegin(); m != h.MemberEnd(); ++m)
      hashes.emplace_back(m->name.GetString(), m->value.GetString());
    // file_id takes an initializer_list; rebuild one per size (the vectors have 1 to 3 hashes).
    switch (hashes.size()) {
      case 1: return file_id({{hashes[0].first, hashes[0].second}});
      case 2: return file_id({{hashes[0].first, hashes[0].second}, {hashes[1].first, hashes[1].second}});
      case 3:
        return file_id({{hashes[0].first, hashes[0].second},
                        {hashes[1].first, hashes[1].second},
                        {hashes[2].first, hashes[2].second}});
    }
  }
  ADD_FAILURE() << "unknown vector kind " << kind;
  return {};
}

TEST(IdVectors, AllFortyFourVectorsMatch) {
  const auto doc = load_vectors();
  ASSERT_TRUE(doc.IsArray()) << "data/id-vectors.json missing or not an array";
  ASSERT_EQ(doc.Size(), 44u);
  std::set<std::string> kinds;
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    const auto& v = doc[i];
    const std::string kind = str(v, "kind");
    const std::string expected = str(v, "id");
    kinds.insert(kind);
    const std::string type = std::string(id_type(expected));
    EXPECT_EQ(deterministic_id(type, str(v, "canonical")), expected) << "vector #" << i + 1;
    EXPECT_EQ(id_from_inputs(kind, v["inputs"]), expected) << "vector #" << i + 1 << " kind " << kind;
    EXPECT_TRUE(is_valid_id(expected));
  }
  EXPECT_EQ(kinds.size(), 13u);
}

TEST(CanonicalJson, SortsKeysAndEscapesLikeStix2) {
  EXPECT_EQ(canonical_json({{"name", "x"}, {"identity_class", "class"}}),
            R"({"identity_class":"class","name":"x"})");
  EXPECT_EQ(canonical_json({{"v", std::string_view("a\"b\\c\b\f\n\r\t\x01\x1f\x7f/\xc3\xa9", 16)}}),
            "{\"v\":\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/\xc3\xa9\"}");
}

TEST(Uuid, Version4IsRandomAndWellFormed) {
  const std::string a = bundle_id(), b = bundle_id();
  EXPECT_NE(a, b);
  EXPECT_TRUE(is_valid_id(a));
  EXPECT_EQ(a.substr(0, 8), "bundle--");
  EXPECT_EQ(a[8 + 14], '4');  // version nibble
  EXPECT_NE(std::string("89ab").find(a[8 + 19]), std::string::npos);  // RFC 4122 variant
}

TEST(Uuid, Version5OfNamespaceExample) {
  // stix2 docs: the example.com domain-name id (vector #43), computed from the plain text.
  EXPECT_EQ(uuid5(R"({"value":"example.com"})"), "bedb4899-d24b-5401-bc86-8f6b4cc18ec7");
}

TEST(IdValidation, AcceptsOnlyTypeDashDashUuid) {
  EXPECT_TRUE(is_valid_id("indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861"));
  EXPECT_TRUE(is_valid_id("x-custom--274128A4-2AD4-50B5-AE7B-B0DEA1FA9861"));
  EXPECT_FALSE(is_valid_id("indicator-274128a4-2ad4-50b5-ae7b-b0dea1fa9861"));
  EXPECT_FALSE(is_valid_id("--274128a4-2ad4-50b5-ae7b-b0dea1fa9861"));
  EXPECT_FALSE(is_valid_id("Indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861"));
  EXPECT_FALSE(is_valid_id("indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa986"));
  EXPECT_FALSE(is_valid_id("indicator--274128a4x2ad4-50b5-ae7b-b0dea1fa9861"));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_EQ(id_type("malware--x"), "malware");
  EXPECT_EQ(id_type("nodash"), "");
}

TEST(FileId, PrefersMd5ThenSha1ThenSha256ThenFirst) {
  EXPECT_EQ(file_id({{"SHA-256", "a"}, {"MD5", "b"}}), file_id_from_one("MD5", "b"));
  EXPECT_EQ(file_id({{"SHA-256", "a"}, {"SHA-1", "c"}}), file_id_from_one("SHA-1", "c"));
  EXPECT_EQ(file_id({{"SHA3-256", "a"}, {"SHA-512", "d"}}), file_id_from_one("SHA-512", "d"));
  EXPECT_EQ(file_id({{"SHA3-256", "a"}, {"X", "d"}}), file_id_from_one("SHA3-256", "a"));
  EXPECT_THROW(file_id({}), std::invalid_argument);
}

}  // namespace
}  // namespace kfc::stix
