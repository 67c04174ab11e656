#include "feed_generator.h"

#include <cstdio>

namespace kfc::bench {
namespace {

struct Collection {
  const char* title;
  int kind;  // FeedGenerator::Kind
};

constexpr Collection kCollections[] = {
    {"TAXII_Demo_IP_Reputation_Data_Feed", 0}, {"TAXII_Botnet_CnC_URL_Data_Feed", 1},
    {"TAXII_Malicious_URL_Data_Feed", 2},      {"TAXII_Malicious_Hash_Data_Feed", 3},
    {"TAXII_APT_Hash_Data_Feed", 4},           {"TAXII_Vulnerability_Data_Feed", 5},
};

const char* const kCountryCodes[] = {"de", "jp", "au", "ru", "kr", "us", "gb", "fr", "cn", "in", "br", "it",
                                     "es", "ca", "nl", "tr", "ir", "ua", "pl", "se", "sg", "vn", "id", "th",
                                     "my", "mx", "ar", "za", "eg", "sa"};
const char* const kCountryNames[] = {"Germany, Korea, Republic of", "Rwanda, Dominican Republic", "Sudan, South Sudan",
                                     "Macao, Hong Kong", "Niger", "Turkey"};
const char* const kActors[] = {"Lazarus", "APT38", "Sofacy", "Turla", "Equation", "DarkHotel", "Carbanak",
                               "BlueNoroff", "Andariel", "MuddyWater", "OceanLotus", "Gamaredon", "Kimsuky",
                               "ToddyCat", "HoneyMyte", "Cycldek", "ScarCruft", "Tropic Trooper"};
const char* const kIndustries[] = {"Finance", "Energy", "Government", "Telecommunications", "Healthcare",
                                   "Manufacturing", "Education", "Defense", "Retail", "Transportation", "Other"};
const char* const kVerdicts[] = {"HEUR:Trojan.Win32.Agent.gen",    "Trojan-Downloader.Win32.Agent.abcd",
                                 "HEUR:Backdoor.Linux.Mirai.b",    "Trojan.Win32.Generic",
                                 "not-a-virus:HEUR:AdWare.Win32.Agent.gen", "Trojan-Spy.AndroidOS.Agent.ax",
                                 "HEUR:Trojan-Ransom.Win32.Lockbit.gen", "Backdoor.Win64.Cobalt.n"};
const char* const kPublications[] = {"Operation Test",         "Lazarus targets defense industry",
                                     "New MuddyWater campaign", "Turla's new toolset",
                                     "ToddyCat: keep calm",     "APT trends report Q1",
                                     "BlueNoroff crypto heist", "Gamaredon in Ukraine"};
const char* const kCategories[] = {"bot", "cnc", "phishing", "malware", "spam", "scanner"};

}  // namespace

FeedGenerator::FeedGenerator(std::uint64_t seed) : random_(seed) {}

std::string FeedGenerator::hex(std::size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (auto& c : out) c = kHex[random_() % 16];
  return out;
}

std::string FeedGenerator::timestamp(int day_offset) {
  // Days within April 2026, with milliseconds, like the feed's STIX timestamps.
  char buffer[40];
  const int day = 1 + (day_offset % 28);
  std::snprintf(buffer, sizeof buffer, "2026-04-%02dT%02d:%02d:%02d.%03dZ", day, static_cast<int>(random_() % 24),
                static_cast<int>(random_() % 60), static_cast<int>(random_() % 60), static_cast<int>(random_() % 1000));
  return buffer;
}

std::string FeedGenerator::countries(std::size_t max_count) {
  if (random_() % 8 == 0) return pick(kCountryNames);  // the name path of the locations transform
  std::string out;
  const std::size_t count = 1 + random_() % max_count;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ',';
    out += pick(kCountryCodes);
  }
  return out;
}

std::string FeedGenerator::description(Kind kind) {
  const std::string date_added = "date_added=" + timestamp(static_cast<int>(generated_ % 28));
  const std::string score = "threat_score=" + std::to_string(20 + random_() % 81);
  switch (kind) {
    case Kind::Ip:
      return "ip_geo=" + std::string(pick(kCountryCodes)) + ";users_geo=" + countries(4) + ";" + score +
             ";category=" + pick(kCategories) + ";first_seen=" + timestamp(3) + ";popularity=" +
             std::to_string(1 + random_() % 5) + ";" + date_added;
    case Kind::Url:
    case Kind::Domain:
      return "threat=" + std::string(pick(kVerdicts)) + ";" + score + ";users_geo=" + countries(3) +
             ";category=" + pick(kCategories) + ";" + date_added;
    case Kind::Hash:
      return "threat=" + std::string(pick(kVerdicts)) + ";" + score + ";geo=" + countries(3) + ";" + date_added;
    case Kind::AptHash: {
      const std::size_t publication = random_() % (sizeof kPublications / sizeof *kPublications);
      return "detection_date=" + timestamp(5) + ";publication_name=" + kPublications[publication] +
             ";api_publication_id=pub-" + std::to_string(publication) + ";actors=" + pick(kActors) + ", " +
             pick(kActors) + " ,;geo=" + countries(5) + ";industries=" + pick(kIndustries) + ", " +
             pick(kIndustries) + ";industry=" + pick(kIndustries) + ";threat=" + pick(kVerdicts) + ";" + score +
             ";" + date_added;
    }
    case Kind::Exploit:
      return "threat=" + std::string(pick(kVerdicts)) + ";" + score + ";users_geo=" + countries(2) + ";" + date_added;
  }
  return date_added;
}

// The indicator's name as the feed gives it: the kind of the collection, not of the pattern.
const char* FeedGenerator::indicator_name(Kind kind) {
  switch (kind) {
    case Kind::Ip: return "IP";
    case Kind::Url:
    case Kind::Domain: return "URL";
    case Kind::Hash:
    case Kind::AptHash: return "Hash";
    case Kind::Exploit: return "Exploit";
  }
  return "";
}

std::string FeedGenerator::indicator_pattern(Kind kind, std::uint64_t n) {
  switch (kind) {
    case Kind::Ip:
      return "[ipv4-addr:value = '" + std::to_string(1 + random_() % 223) + "." + std::to_string(random_() % 256) +
             "." + std::to_string(random_() % 256) + "." + std::to_string(random_() % 256) + "']";
    case Kind::Url:
      return random_() % 10 == 0
                 ? "[url:value LIKE 'http://%.evil_site" + std::to_string(n) + ".example/%']"
                 : "[url:value = 'http://c2-" + std::to_string(n) + ".evil.example/gate.php?id=" + hex(8) + "']";
    case Kind::Domain:
      return "[domain-name:value = 'evil-" + std::to_string(n) + ".example']";
    case Kind::Hash:
      return "[file:hashes.'MD5' = '" + hex(32) + "' OR file:hashes.'SHA-1' = '" + hex(40) +
             "' OR file:hashes.'SHA-256' = '" + hex(64) + "']";
    case Kind::AptHash:
      return "[file:hashes.MD5 = '" + hex(32) + "']";
    case Kind::Exploit:
      return "[file:hashes.'MD5' = '" + hex(32) + "' OR file:hashes.'SHA-256' = '" + hex(64) +
             "'] OR [file:hashes.'MD5' = '" + hex(32) + "']";
  }
  return "";
}

void FeedGenerator::append_object(Kind kind, std::string& out) {
  const std::uint64_t n = generated_++;
  const std::string name = indicator_name(kind);
  const std::string pattern = indicator_pattern(kind, n);
  const std::string created = timestamp(static_cast<int>(n % 28));
  const std::string uuid = hex(8) + "-" + hex(4) + "-4" + hex(3) + "-8" + hex(3) + "-" + hex(12);
  out += R"({"type": "indicator", "spec_version": "2.1", "id": "indicator--)" + uuid + R"(", "created": ")" + created +
         R"(", "modified": ")" + created + R"(", "name": ")" + name + R"(", "pattern": ")" + pattern +
         R"(", "pattern_type": "stix", "valid_from": ")" + created + R"(", "valid_until": "2100-01-01T00:00:00.000Z",)" +
         R"( "labels": ["malicious-activity"], "description": ")" + description(kind) + R"("})";
}

std::string FeedGenerator::next_page(std::size_t count, bool more, std::string& collection_title) {
  const Collection& collection = kCollections[page_number_++ % (sizeof kCollections / sizeof *kCollections)];
  collection_title = collection.title;
  std::string page = more ? R"({"more": true, "next": "p)" + std::to_string(page_number_) + R"(", "objects": [)"
                          : R"({"more": false, "objects": [)";
  page.reserve(count * 900);
  for (std::size_t i = 0; i < count; ++i) {
    if (i) page += ", ";
    append_object(static_cast<Kind>(collection.kind), page);
  }
  page += "]}";
  return page;
}

}  // namespace kfc::bench
