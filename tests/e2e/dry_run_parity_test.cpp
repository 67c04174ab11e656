// The binary's dry run prints what the Python connector's dry run prints (worked example A,
// tests/connector/mapping/data/example_a.json), byte for byte apart from the generated created/modified times.
#include <regex>

#include "e2e_fixture.h"

namespace kfc::e2e {
namespace {

constexpr const char* kExampleA =
    R"({"type": "indicator", "spec_version": "2.1", "id": "indicator--11111111-1111-4111-8111-111111111111", )"
    R"("created": "2026-04-21T10:00:00.000Z", "modified": "2026-04-21T10:00:00.000Z", "name": "IP", )"
    R"("pattern": "[ipv4-addr:value = '1.2.3.4']", "pattern_type": "stix", "valid_from": "2026-04-21T10:00:00.000Z", )"
    R"("valid_until": "2100-01-01T00:00:00.000Z", "labels": ["malicious-activity"], )"
    R"("description": "ip_geo=ru;users_geo=Germany, Korea, Republic of;threat_score=80;category=bot;date_added=2026-04-21T10:00:00.000Z", )"
    R"("x-kaspersky-internal": "drop-me"})";

// Generated objects carry the run's time: written "<now>" in the reference output.
std::string with_now(const std::string& line) {
  static const std::regex generated(R"re("(created|modified)": "(?!2026-04-21T10:00:00\.000Z)[^"]*")re");
  return std::regex_replace(line, generated, "\"$1\": \"<now>\"");
}

TEST_F(EndToEnd, DryRunOfExampleAIsTheReferenceOutput) {
  testing::FixtureCollection feed;
  feed.id = feed.title = "TAXII_Demo_IP_Reputation_Data_Feed";
  const auto date_added = taxii::parse_timestamp("2026-04-21T10:00:00.000000Z").value();
  feed.objects.push_back({date_added, "indicator--11111111-1111-4111-8111-111111111111", "indicator",
                          "2026-04-21T10:00:00.000Z", "2.1", kExampleA});
  serve({feed});
  auto env = environment();
  env.erase("OPENCTI_URL");
  env["KASPERSKY_INITIAL_HISTORY"] = "0";  // the example is older than any window
  ConnectorProcess process({"run", "--dry-run"}, env, directory_, "parity");
  ASSERT_EQ(process.wait(60s), 0) << process.err();

  std::istringstream expected(read_text(std::string(KFC_SOURCE_DIR) + "/tests/connector/batching/data/example_a.jsonl"));
  std::istringstream actual(process.out());
  std::string want, got;
  std::size_t lines = 0;
  while (std::getline(expected, want)) {
    ASSERT_TRUE(std::getline(actual, got)) << "missing line " << lines + 1 << ": " << want;
    EXPECT_EQ(with_now(got), want) << "line " << lines + 1;
    ++lines;
  }
  EXPECT_FALSE(std::getline(actual, got)) << "extra line: " << got;
  EXPECT_EQ(lines, 16u);
}

}  // namespace
}  // namespace kfc::e2e
