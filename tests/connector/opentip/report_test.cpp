#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kfc/opentip/report.h"

namespace kfc::opentip {
namespace {

using ::testing::HasSubstr;

LookupResult with_zone(const char* zone) {
  return parse_lookup_result(*classify("203.0.113.66"), std::string(R"({"Zone": ")") + zone + R"("})");
}

TEST(ExitCode, ByZoneWorseIsHigher) {
  EXPECT_EQ(exit_code_for(with_zone("Green")), 0);
  EXPECT_EQ(exit_code_for(with_zone("Grey")), 10);
  EXPECT_EQ(exit_code_for(with_zone("Yellow")), 11);
  EXPECT_EQ(exit_code_for(with_zone("Orange")), 12);
  EXPECT_EQ(exit_code_for(with_zone("Red")), 13);
  EXPECT_EQ(exit_code_for(no_data_result(*classify("example.com"))), 10);
}

TEST(FormatTable, FileWithDetections) {
  LookupResult result = parse_lookup_result(*classify("44d88612fea8a8f36de82e1278abb02f"), R"({
    "Zone": "Red", "FileGeneralInfo": {"FileStatus": "Malware", "Size": 68, "Type": "COM"},
    "DetectionsInfo": [{"LastDetectDate": "2024-05-01T10:21:00Z", "DetectionName": "EICAR-Test-File",
                        "DetectionMethod": "Signature", "Zone": "Red"}]})");
  std::string table = format_table(result);
  EXPECT_THAT(table, HasSubstr("Zone          Red\n"));
  EXPECT_THAT(table, HasSubstr("Status        Malware\n"));
  EXPECT_THAT(table, HasSubstr("Size          68\n"));
  EXPECT_THAT(table, HasSubstr("Detections (1):"));
  EXPECT_THAT(table, HasSubstr("EICAR-Test-File"));
  EXPECT_THAT(table, HasSubstr("https://opentip.kaspersky.com/44d88612fea8a8f36de82e1278abb02f/"));
}

TEST(FormatTable, NoDataSaysSo) {
  EXPECT_THAT(format_table(no_data_result(*classify("example.com"))), HasSubstr("no data"));
}

}  // namespace
}  // namespace kfc::opentip
