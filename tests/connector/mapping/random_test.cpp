// Randomised feed objects (fixed seed): whatever the context, the mapper does not crash, every id
// is a valid STIX id, and every reference resolves inside its own bundle (what staging needs).
#include <random>
#include <unordered_set>

#include "kfc/stix/ids.h"
#include "mapping_test_util.h"

namespace kfc::mapping {
namespace {

using namespace testing;

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  std::string pick(std::initializer_list<const char*> options) {
    std::uniform_int_distribution<std::size_t> d(0, options.size() - 1);
    return *(options.begin() + d(rng_));
  }
  int number(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string value() {
    switch (number(0, 6)) {
      case 0: return "";
      case 1: return pick({"jp,au", "Germany, Korea, Republic of", "xx", " ru ", "Côte d'Ivoire", "Σ,ΟΔΟΣ"});
      case 2: return pick({"HEUR:Trojan.Win32.Agent.gen", "a:b:c:d", "Trojan..x", "....", "::"});
      case 3: return pick({"Lazarus, APT38 ,", " , ", "İstanbul Group", "\u00a0x\u3000"});
      case 4: return pick({"2026-04-01T00:00:00.000Z", "bad", "2026-4-1T1:2:3Z", "9999-12-31T23:59:59.999999Z"});
      case 5: return std::to_string(number(-1000, 1000));
      default: {
        std::string s;
        for (int i = number(0, 12); i > 0; --i) s.push_back(static_cast<char>(number(32, 126)));
        for (char& c : s)
          if (c == ';' || c == '"' || c == '\\') c = 'q';
        return s;
      }
    }
  }

  std::string description() {
    std::string d;
    for (int i = number(0, 8); i > 0; --i) {
      if (!d.empty()) d += ";";
      d += pick({"actors", "industries", "industry", "geo", "users_geo", "ip_geo", "threat", "publication_name",
                 "api_publication_id", "detection_date", "threat_score", "date_added", "junk", ""});
      if (number(0, 9) > 0) d += "=" + value();
    }
    return d;
  }

  std::string pattern() {
    const std::string md5(32, "0123456789abcdef"[number(0, 15)]);
    return pick({"[ipv4-addr:value = '", "[domain-name:value = '", "[url:value LIKE '", "[file:hashes.MD5 = '",
                 "[file:hashes.'SHA-256' = '", "[mutex:name = '", "garbage '"}) +
           (number(0, 1) ? md5 : value()) +
           (number(0, 3) ? pick({"']", "'", ""}) : "' OR file:hashes.MD5 = '" + md5.substr(0, 3) + "']");
  }

  std::string indicator(int n) {
    rapidjson::Document o;
    o.SetObject();
    auto& a = o.GetAllocator();
    auto put = [&](const char* k, const std::string& v) { o.AddMember(rapidjson::StringRef(k), rapidjson::Value(v.c_str(), a), a); };
    put("type", "indicator");
    if (number(0, 20) > 0) put("id", number(0, 3) ? "indicator--" + kfc::stix::uuid4() : "id-" + std::to_string(n));
    put("name", pick({"IP", "URL", "Hash", "Exploit", "Other"}));
    if (number(0, 20) > 0) put("pattern", pattern());
    if (number(0, 10) > 0) put("description", description());
    if (number(0, 3) == 0) o.AddMember("labels", rapidjson::Value(rapidjson::kArrayType).PushBack("malicious-activity", a), a);
    return dump(o);
  }

 private:
  std::mt19937 rng_;
};

void check_bundle(const rapidjson::Value& out) {
  std::unordered_set<std::string> ids;
  for (const auto& o : out.GetArray())
    if (o.HasMember("id") && o["id"].IsString()) ids.insert(o["id"].GetString());
  for (const auto& o : out.GetArray()) {
    const std::string id = str(o, "id");
    const std::string type = str(o, "type");
    if (type != "indicator") {
      ASSERT_TRUE(kfc::stix::is_valid_id(id)) << dump(o);
    }
    for (const char* ref : {"created_by_ref", "x_opencti_created_by_ref", "source_ref", "target_ref"}) {
      if (!o.HasMember(ref)) continue;
      ASSERT_TRUE(kfc::stix::is_valid_id(str(o, ref))) << ref << " in " << dump(o);
      ASSERT_TRUE(ids.contains(str(o, ref))) << ref << " unresolved in " << dump(o);
    }
    if (o.HasMember("object_refs"))
      for (const auto& ref : o["object_refs"].GetArray()) {
        ASSERT_TRUE(kfc::stix::is_valid_id(ref.GetString())) << dump(o);
        ASSERT_TRUE(ids.contains(ref.GetString())) << dump(o);
      }
  }
}

TEST(Randomised, ThousandsOfGeneratedIndicatorsMapSafely) {
  Generator gen(20260421);
  for (const auto& [indicators, observables] : {std::pair{true, true}, {false, true}, {true, false}}) {
    MappingOptions o;
    o.create_indicators = indicators;
    o.create_observables = observables;
    Mapper mapper(o);
    for (int batch = 0; batch < 20; ++batch) {
      std::string text = "[";
      const int size = batch % 2 ? 1 : 100;  // reference batches and clusters of one
      for (int i = 0; i < size; ++i) text += (i ? "," : "") + gen.indicator(i);
      auto in = parse(text + "]");
      const auto out = run(mapper, in, "TAXII_Random_Data_Feed");
      check_bundle(out);
      if (HasFatalFailure()) return;
    }
    EXPECT_EQ(mapper.stats().source_objects, 10u * 100u + 10u);
  }
}

}  // namespace
}  // namespace kfc::mapping
