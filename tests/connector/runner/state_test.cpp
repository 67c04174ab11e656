#include "kfc/runner/state.h"

#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "kfc/runner/state_stores.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace kfc::runner {
namespace {

using namespace std::chrono_literals;

SystemTime at(std::string_view text) {
  auto t = parse_timestamp(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(SystemTime{});
}

TEST(State, EmptyForms) {
  for (std::string_view text : {"", "  ", "null", "{}"}) {
    auto state = parse_state(text);
    ASSERT_TRUE(state.has_value()) << text;
    EXPECT_TRUE(state->empty()) << text;
  }
}

TEST(State, ReadsThePythonConnectorsState) {
  for (std::string_view text : {R"({"last_added": 1732752000})", R"({"last_added": 1732752000.75})",
                                R"({"last_added": "1732752000"})"}) {
    auto state = parse_state(text);
    ASSERT_TRUE(state.has_value()) << text;
    EXPECT_EQ(state->last_added, 1732752000) << text;
    EXPECT_TRUE(state->cursors.empty());
  }
}

TEST(State, RoundTripsCursorsAndKeepsOtherKeys) {
  ConnectorState state;
  state.last_added = 1800000000;
  state.cursors["TAXII_Demo_IP_Reputation_Data_Feed"] = at("2027-01-15T08:00:00.123456Z");
  state.other_keys["someone_else"] = R"({"a":[1,2]})";
  const std::string json = to_json(state);
  EXPECT_NE(json.find(R"("last_added":1800000000)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("added_after":"2027-01-15T08:00:00.123456Z")"), std::string::npos) << json;
  auto back = parse_state(json);
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(*back, state);
}

// Found by the state_file fuzz target: a long number under another tool's key reads one ulp off
// (RapidJSON's fast reader), so each save may move it by an ulp. The key and its value stay; the
// connector's own fields are exact. (Full precision trips UBSan inside Debian's RapidJSON.)
TEST(State, ANumberUnderAnotherKeySurvivesASaveAndALoadToWithinAnUlp) {
  for (const char* json : {R"({"lacd": 4715121160151211601111.0, "last_added": 1800000000})",
                           R"({"x": 0.30000000000000004441, "last_added": 1800000000})"}) {
    const auto first = parse_state(json);
    ASSERT_TRUE(first.has_value()) << json;
    const auto again = parse_state(to_json(*first));
    ASSERT_TRUE(again.has_value()) << json;
    EXPECT_EQ(again->last_added, 1800000000);
    ASSERT_EQ(again->other_keys.size(), 1u) << json;
    const auto& [key, value] = *again->other_keys.begin();
    rapidjson::Document original, saved;
    original.Parse(json);
    saved.Parse(value.c_str());
    const double expected = original[key.c_str()].GetDouble(), got = saved.GetDouble();
    EXPECT_NEAR(got, expected, std::abs(expected) * 1e-15) << json << " saved as " << value;
  }
}

// Found by the state_file fuzz target: a cursor finer than the microsecond was saved truncated and
// read back as another time. It is floored when read (earlier: re-read, never skipped).
TEST(State, ACursorFinerThanAMicrosecondIsFlooredWhenRead) {
  const auto state = parse_state(R"({"collections": {"c": {"added_after": "2026-04-01T08:00:00.4800009Z"}}})");
  ASSERT_TRUE(state.has_value()) << state.error();
  EXPECT_EQ(state->cursors.at("c"), at("2026-04-01T08:00:00.480000Z"));
  const auto again = parse_state(to_json(*state));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *state);
}

// Found by the state_file fuzz target: a number the reader takes as infinite cannot be written as
// JSON; another tool's key holding one was lost on the next save. It is kept, as null.
// Found by the state_file fuzz target: the reader rounded this number to infinity, which no JSON
// writer can write back; the reader now turns it into null, and the key is kept.
TEST(State, AnotherKeyHoldingANumberBeyondADoubleIsKeptWithNullInItsPlace) {
  const auto state = parse_state(R"({"other": [1, 292222222222222666666666666666666666666666666666666666666666666666666666666666666666666666666666666220e222], "last_added": 1800000000})");
  ASSERT_TRUE(state.has_value()) << state.error();
  const auto again = parse_state(to_json(*state));
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(again->other_keys.contains("other")) << to_json(*state);
  EXPECT_EQ(again->other_keys.at("other"), "[1,null]");
  EXPECT_EQ(again->last_added, 1800000000);
}

// Found by the state_file fuzz target: a name holding U+0000 was written cut short at it, so another
// tool's key or a collection's cursor came back under another name.
TEST(State, NamesHoldingANulCharacterAreWrittenWhole) {
  const auto state = parse_state(R"({"other\u0000tool": 1, "collections": {"c\u0000d": {"added_after": "2026-01-02T03:04:05.000000Z"}}})");
  ASSERT_TRUE(state.has_value()) << state.error();
  const auto again = parse_state(to_json(*state));
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(again->other_keys, state->other_keys);
  EXPECT_TRUE(again->other_keys.contains(std::string("other\0tool", 10)));
  EXPECT_EQ(again->cursors, state->cursors);
  EXPECT_TRUE(again->cursors.contains(std::string("c\0d", 3)));
}

TEST(State, BadInputIsAnErrorThatSaysWhatIsWrong) {
  struct Case { std::string json; std::string_view expected; };
  for (const auto& [json, expected] : std::initializer_list<Case>{
           {"{not json", "not valid JSON"},
           {std::string(1'000'000, '[') + std::string(1'000'000, ']'), "nested deeper than 64 levels"},
           {"[1]", "not a JSON object"},
           {R"({"last_added": "yesterday"})", "'last_added' is not a number: 'yesterday'"},
           {R"({"last_added": -5})", "out of range"},
           // Found by the state_file fuzz target: years the clock cannot hold overflowed its conversion.
           {R"({"last_added": 253402300799})", "out of range"},
           {R"({"collections": {"c1": {"added_after": "1013-04-01T08:00:00.000000Z"}}})", "invalid 'added_after'"},
           {R"({"collections": {"c1": {"added_after": "9999-12-31T23:59:59.999999Z"}}})", "invalid 'added_after'"},
           {R"({"last_added": true})", "'last_added' is not a number"},
           {R"({"collections": []})", "'collections' is not an object"},
           {R"({"collections": {"c1": {}}})", "collection 'c1' has no 'added_after'"},
           {R"({"collections": {"c1": {"added_after": "2027-13-01T00:00:00Z"}}})", "invalid 'added_after'"},
       }) {
    auto state = parse_state(json);
    ASSERT_FALSE(state.has_value()) << json;
    EXPECT_NE(state.error().find(expected), std::string::npos) << state.error();
  }
}

TEST(State, WindowStartPrefersTheCursorThenLastAddedThenInitialHistory) {
  const SystemTime now = at("2027-02-01T12:00:00.5Z");
  ConnectorState state;
  EXPECT_EQ(window_start(state, "c1", now, 604800s), now - 604800s);
  EXPECT_FALSE(window_start(state, "c1", now, 0s).has_value());  // reference: 0 = no filter
  state.last_added = 1800000000;
  EXPECT_EQ(window_start(state, "c1", now, 604800s), SystemTime{1800000000s});
  state.cursors["c1"] = at("2027-01-31T00:00:00.000001Z");
  EXPECT_EQ(window_start(state, "c1", now, 604800s), at("2027-01-31T00:00:00.000001Z"));
  EXPECT_EQ(window_start(state, "c2", now, 604800s), SystemTime{1800000000s});  // new collection
}

TEST(State, CursorNeverPassesTheRunStart) {
  const SystemTime run_start = at("2027-02-01T12:00:00Z");
  EXPECT_EQ(advance_cursor(at("2027-02-01T11:00:00Z"), run_start), at("2027-02-01T11:00:00Z"));
  EXPECT_EQ(advance_cursor(at("2099-01-01T00:00:00Z"), run_start), run_start);
}

TEST(State, CompleteRunStoresTheFlooredRunStart) {
  ConnectorState state;
  complete_run(state, at("2027-02-01T12:00:00.999Z"));
  EXPECT_EQ(state.last_added, 1801483200);
}

TEST(Timestamps, FormatsLikeTheReference) {
  const SystemTime t = at("2027-02-01T12:00:00.120000Z");
  EXPECT_EQ(format_timestamp(t), "2027-02-01T12:00:00.120000Z");
  EXPECT_EQ(format_added_after(t), "2027-02-01T12:00:00.12Z");
  EXPECT_EQ(format_added_after(at("2027-02-01T12:00:00Z")), "2027-02-01T12:00:00Z");
  EXPECT_EQ(format_seconds(t), "2027-02-01T12:00:00Z");
  EXPECT_EQ(format_timestamp(at("1999-12-31T23:59:59.123456789Z")), "1999-12-31T23:59:59.123456Z");
  for (std::string_view bad : {"", "2027-02-01", "2027-02-01T12:00:00", "2027-02-30T12:00:00Z",
                               "2027-02-01T25:00:00Z", "2027-02-01T12:00:00.Z", "2027-02-01T12:00:00.1x2Z"}) {
    EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
  }
}

class FileStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory = std::filesystem::temp_directory_path() / ("kfc-state-" + std::to_string(::getpid()) + "-" +
                                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory);
  }
  void TearDown() override { std::filesystem::remove_all(directory); }
  std::filesystem::path directory;
};

TEST_F(FileStateStoreTest, MissingFileIsTheEmptyStateAndSaveCreatesIt) {
  FileStateStore store(directory / "sub" / "state.json");
  auto loaded = store.load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->empty());
  ConnectorState state;
  state.last_added = 42;
  state.cursors["c"] = SystemTime{1000s};
  store.save(state);
  EXPECT_FALSE(std::filesystem::exists(directory / "sub" / "state.json.tmp"));
  auto again = FileStateStore(directory / "sub" / "state.json").load();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, state);
  EXPECT_EQ(std::filesystem::status(directory / "sub" / "state.json").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
}

TEST_F(FileStateStoreTest, ACorruptFileIsAnErrorNamingTheFileAndTheKey) {
  std::filesystem::create_directories(directory);
  std::ofstream(directory / "state.json") << "{\"last_added\": ";
  auto loaded = FileStateStore(directory / "state.json").load();
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().find("state.json"), std::string::npos) << loaded.error();
  EXPECT_NE(loaded.error().find("connector.state_file"), std::string::npos) << loaded.error();
}

TEST_F(FileStateStoreTest, AnUnwritableLocationThrows) {
  std::filesystem::create_directories(directory);
  std::ofstream(directory / "not-a-dir") << "x";
  FileStateStore store(directory / "not-a-dir" / "state.json");
  EXPECT_ANY_THROW(store.save(ConnectorState{}));
}

TEST(PlatformStateStore, AnEmptyPlatformStateIsAReset) {
  std::string platform = R"({"last_added": 5})";
  std::string written;
  PlatformStateStore store([&] { return platform; }, [&](const std::string& s) { written = s; });
  EXPECT_EQ(store.load()->last_added, 5);
  platform = "";
  EXPECT_TRUE(store.load()->empty());
  platform = "garbage";
  ASSERT_FALSE(store.load().has_value());
  EXPECT_NE(store.load().error().find("Reset state"), std::string::npos);
  ConnectorState state;
  state.last_added = 7;
  store.save(state);
  EXPECT_EQ(written, R"({"last_added":7})");
}

TEST(StateArgument, AcceptsJsonOrAFile) {
  EXPECT_EQ(state_from_argument(R"({"last_added": 9})")->last_added, 9);
  const auto path = std::filesystem::temp_directory_path() / ("kfc-state-arg-" + std::to_string(::getpid()));
  std::ofstream(path) << R"({"last_added": 11})";
  EXPECT_EQ(state_from_argument(path.string())->last_added, 11);
  std::filesystem::remove(path);
  auto missing = state_from_argument("/nonexistent/state.json");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find("--state"), std::string::npos);
  EXPECT_FALSE(state_from_argument("{bad").has_value());
}

}  // namespace
}  // namespace kfc::runner
