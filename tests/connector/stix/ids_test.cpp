// Every vector of data/id-vectors.json, through both the uuid5 of the canonical
// text and the per-type id function from the raw inputs.
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
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

// Strings without an escape are copied in one piece after a test of whole 16-byte steps (the
// last one overlapping): an escape at any position of any length up to three steps is still found.
TEST(CanonicalJson, FindsAnEscapeAtEveryPosition) {
  for (std::size_t length = 1; length <= 48; ++length) {
    const std::string plain(length, 'a');
    std::string out;
    append_canonical_string(plain, out);
    EXPECT_EQ(out, '"' + plain + '"');
    for (std::size_t at = 0; at < length; ++at) {
      for (const char c : {'"', '\\', '\n'}) {
        std::string text = plain;
        text[at] = c;
        const std::string escaped = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : "\\n";
        out.clear();
        append_canonical_string(text, out);
        EXPECT_EQ(out, '"' + plain.substr(0, at) + escaped + plain.substr(at + 1) + '"')
            << "length " << length << ", escape at " << at;
      }
    }
  }
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

// uuid5 by a one-shot SHA-1 of the whole input, nothing remembered between calls.
std::string fresh_uuid5(std::string_view text) {
  std::string input;
  for (std::size_t i = 0; i < kNamespace.size(); ++i) {
    if (kNamespace[i] == '-') continue;
    input.push_back(static_cast<char>(std::stoi(std::string(kNamespace.substr(i, 2)), nullptr, 16)));
    ++i;
  }
  input.append(text);
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(input.data(), input.size(), d, &length, EVP_sha1(), nullptr), 1);
  d[6] = static_cast<unsigned char>((d[6] & 0x0F) | 0x50);
  d[8] = static_cast<unsigned char>((d[8] & 0x3F) | 0x80);
  char text_uuid[37];
  std::snprintf(text_uuid, sizeof text_uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0],
                d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
  return text_uuid;
}

// The hashing keeps the state after the first one or two 64-byte blocks of recent inputs (the
// namespace's 16 bytes, then 48 and 64 bytes of text) and starts from it when an input begins the
// same way (connector/stix/README.md, "How ids are hashed"). Inputs that share one block, two blocks, everything
// but the last byte, or end right at a block boundary, in orders that reuse, miss and evict the
// remembered states, must all give what a fresh hash gives.
TEST(Uuid, Version5ReusingHashedPrefixesMatchesAFreshHash) {
  const std::string base = std::string(48, 'a') + std::string(64, 'b') + std::string(100, 'c');
  std::vector<std::string> texts;
  for (const std::size_t length : {0, 1, 47, 48, 49, 111, 112, 113, 175, 176, 212})
    texts.push_back(base.substr(0, length));
  for (const std::size_t at : {0, 47, 48, 111, 112, 150, 211}) {
    std::string changed = base;
    changed[at] = 'x';
    texts.push_back(changed);
  }
  for (int i = 0; i < 20; ++i)  // more distinct first blocks than the states remembered
    texts.push_back(std::to_string(i) + base.substr(0, 120 + i));
  // The shapes of real ids: one indicator's relationships share their first 127 bytes.
  for (const char* type : {"related-to", "indicates", "based-on"})
    for (const char* target : {"location--1", "location--2", "malware--1", "identity--1"})
      texts.push_back(canonical_json({{"relationship_type", type},
                                      {"source_ref", "indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861"},
                                      {"target_ref", target}}));
  std::vector<std::string> expected;
  for (const auto& t : texts) expected.push_back(fresh_uuid5(t));
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < texts.size(); ++i) {
      // forwards, backwards, then each twice in a row
      const std::size_t k = round == 1 ? texts.size() - 1 - i : i;
      EXPECT_EQ(uuid5(texts[k]), expected[k]) << "text #" << k << " round " << round;
      if (round == 2) {
        EXPECT_EQ(uuid5(texts[k]), expected[k]) << "text #" << k << " again";
      }
    }
  }
  // The vector of the stix2 documentation still holds after all that.
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

// Every byte in a type and in a uuid position: only [a-z0-9-] and hex digits (either case) pass.
TEST(IdValidation, EveryByteInTheTypeAndTheUuid) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool type_char = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    std::string in_type = "ab--274128a4-2ad4-50b5-ae7b-b0dea1fa9861";
    in_type[1] = c;
    std::string in_uuid = "ab--274128a4-2ad4-50b5-ae7b-b0dea1fa9861";
    in_uuid[4 + 35] = c;
    EXPECT_EQ(is_valid_id(in_type), type_char) << "byte " << b << " in the type";  // "a---" splits elsewhere
    EXPECT_EQ(is_valid_id(in_uuid), hex) << "byte " << b << " in the uuid";
  }
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
