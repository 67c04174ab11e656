#include <gtest/gtest.h>

#include <rapidjson/document.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "config_test_support.h"
#include "kfc/config/logging.h"

namespace kfc {
namespace {

TEST(JsonLogging, OneJsonObjectPerLineWithTimestampLevelNameMessage) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(make_json_formatter());
  spdlog::logger logger("taxii", sink);
  logger.warn("page \"{}\" failed:\n{}\t{}", "abc", "line two", Secret{testing::kSecret});
  logger.info("second");

  std::istringstream lines(out.str());
  std::string first, second, extra;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  EXPECT_FALSE(std::getline(lines, extra));
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(first.c_str()).HasParseError()) << first;
  EXPECT_STREQ(doc["level"].GetString(), "warning");
  EXPECT_STREQ(doc["name"].GetString(), "taxii");
  EXPECT_STREQ(doc["message"].GetString(), "page \"abc\" failed:\nline two\t****5b4a");
  const std::string timestamp = doc["timestamp"].GetString();
  EXPECT_EQ(timestamp.size(), std::string("2026-01-01T00:00:00.000Z").size()) << timestamp;
  EXPECT_EQ(timestamp.back(), 'Z');
  EXPECT_EQ(out.str().find(testing::kSecret), std::string::npos);
  ASSERT_FALSE(doc.Parse(second.c_str()).HasParseError()) << second;
  EXPECT_STREQ(doc["level"].GetString(), "info");
}

TEST(JsonLogging, FormatChoice) {
  Settings settings;
  EXPECT_EQ(resolve_log_format("", settings), LogFormat::Human);
  settings.opencti.json_logging = true;  // OPENCTI_JSON_LOGGING
  EXPECT_EQ(resolve_log_format("", settings), LogFormat::Json);
  EXPECT_EQ(resolve_log_format("human", settings), LogFormat::Human);
  settings.opencti.json_logging = false;
  EXPECT_EQ(resolve_log_format("json", settings), LogFormat::Json);
  settings.connector.log_format = LogFormat::Json;
  EXPECT_EQ(resolve_log_format("", settings), LogFormat::Json);
}

TEST(JsonLogging, SetupInstallsDefaultLoggerWithLevel) {
  setup_logging("warning", LogFormat::Json);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  auto named = named_logger("opentip");
  EXPECT_EQ(named->name(), "opentip");
  EXPECT_EQ(named->level(), spdlog::level::warn);
  setup_logging("debug", LogFormat::Human);
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  setup_logging("nonsense", LogFormat::Human);  // never silences logs
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

}  // namespace
}  // namespace kfc
