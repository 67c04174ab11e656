// The reference connector's worked examples as fixtures (data/example_*.json): input feed objects, settings,
// and the expected bundle objects, compared object by object (generated timestamps must be the
// fixed clock's time).
#include <string>

#include "kfc/fixtures/manual_clock.h"
#include "kfc/stix/ids.h"
#include "mapping_test_util.h"

namespace kfc::mapping {
namespace {

using namespace testing;

MappingOptions options_from(const rapidjson::Value& settings) {
  MappingOptions o;
  for (auto m = settings.MemberBegin(); m != settings.MemberEnd(); ++m) {
    const std::string key = m->name.GetString();
    if (key == "create_indicators") o.create_indicators = m->value.GetBool();
    else if (key == "create_observables") o.create_observables = m->value.GetBool();
    else if (key == "expand_objects") o.expand_objects = m->value.GetBool();
    else ADD_FAILURE() << "unknown fixture setting " << key;
  }
  return o;
}

void expect_full_equal(const rapidjson::Value& expected, const rapidjson::Value& actual, const std::string& where) {
  ASSERT_TRUE(actual.IsObject()) << where;
  std::vector<std::string> expected_keys, actual_keys;
  for (auto m = expected.MemberBegin(); m != expected.MemberEnd(); ++m) expected_keys.push_back(m->name.GetString());
  for (auto m = actual.MemberBegin(); m != actual.MemberEnd(); ++m) actual_keys.push_back(m->name.GetString());
  EXPECT_EQ(actual_keys, expected_keys) << where << ": key order (Appendix C)";
  for (auto m = expected.MemberBegin(); m != expected.MemberEnd(); ++m) {
    const std::string key = m->name.GetString();
    if (!actual.HasMember(key.c_str())) continue;
    if (m->value.IsString() && std::string(m->value.GetString()) == "<now>") {
      EXPECT_EQ(str(actual, key.c_str()), kNow) << where << " " << key;
      continue;
    }
    EXPECT_EQ(dump(actual[key.c_str()]), dump(m->value)) << where << " " << key;
  }
}

void expect_listed_fields(const rapidjson::Value& expected, const rapidjson::Value& actual, const std::string& where) {
  for (auto m = expected.MemberBegin(); m != expected.MemberEnd(); ++m) {
    const std::string key = m->name.GetString();
    if (key == "_source_type") {
      EXPECT_EQ(std::string(kfc::stix::id_type(str(actual, "source_ref"))), m->value.GetString()) << where;
      continue;
    }
    ASSERT_TRUE(actual.HasMember(key.c_str())) << where << ": missing " << key << " in " << dump(actual);
    EXPECT_EQ(dump(actual[key.c_str()]), dump(m->value)) << where << " " << key;
  }
  // Every generated SDO/SRO carries the fixed build time.
  if (actual.HasMember("created") && str(actual, "type") != "indicator") {
    EXPECT_EQ(str(actual, "created"), kNow) << where;
    EXPECT_EQ(str(actual, "modified"), kNow) << where;
  }
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, BundleMatchesTheSpecExample) {
  auto fixture = load_fixture(GetParam() + ".json");
  ManualClock clock(fixed_time());
  Mapper mapper(options_from(fixture["settings"]), clock);
  rapidjson::Document input;
  input.CopyFrom(fixture["input"], input.GetAllocator());
  const auto out = run(mapper, input, fixture["collection"].GetString());
  const auto& expected = fixture["expected"];
  ASSERT_EQ(out.Size(), expected.Size()) << dump(out);
  const bool full = std::string(fixture["compare"].GetString()) == "full";
  for (rapidjson::SizeType i = 0; i < expected.Size(); ++i) {
    const std::string where = GetParam() + " object #" + std::to_string(i + 1) + " " + str(expected[i], "id");
    EXPECT_EQ(str(out[i], "id"), str(expected[i], "id")) << where;
    EXPECT_EQ(str(out[i], "type"), str(expected[i], "type")) << where;
    if (full)
      expect_full_equal(expected[i], out[i], where);
    else
      expect_listed_fields(expected[i], out[i], where);
    EXPECT_TRUE(kfc::stix::is_valid_id(str(out[i], "id"))) << where;
  }
  EXPECT_EQ(mapper.stats().total_problems(), 0u);
}

INSTANTIATE_TEST_SUITE_P(SpecExamples, Golden,
                         ::testing::Values("example_a", "example_b_default", "example_b_observables_only",
                                           "example_b_no_observables", "example_c", "example_d"));

}  // namespace
}  // namespace kfc::mapping
