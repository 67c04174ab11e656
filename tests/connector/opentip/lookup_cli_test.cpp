// `kaspersky-feeds-connector lookup` as an analyst runs it: the built binary, configured through
// the environment, against the stand-in OpenTIP server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "kfc/fixtures/opentip_server.h"

namespace {

using kfc::fixtures::OpenTipServer;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

constexpr const char* kApiKey = "CLI-OPENTIP-SECRET-5b8e2a91c4";

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

class LookupCli : public ::testing::Test {
 protected:
  void SetUp() override {
    work_dir_ = fs::temp_directory_path() / ("kfc-lookup-cli-" + std::to_string(::getpid()) + "-" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(work_dir_);
    fs::create_directories(work_dir_);
  }
  void TearDown() override { fs::remove_all(work_dir_); }

  // Runs the binary in an empty directory (no config.yml) with only the opentip.* environment.
  CliRun lookup(const std::string& args, const std::string& key = kApiKey, const std::string& url = "") {
    std::string command = "cd '" + work_dir_.string() + "' && env -i PATH=/usr/bin:/bin" +
                          " OPENTIP_URL='" + (url.empty() ? server_.base_url() : url) + "'" +
                          " OPENTIP_API_KEY='" + key + "' OPENTIP_ALLOW_INSECURE_HTTP=true" +
                          " OPENTIP_CACHE_DIR='" + (work_dir_ / "cache").string() + "' " +
                          KFC_CONNECTOR_BINARY + " lookup " + args + " 2>&1";
    CliRun run;
    FILE* pipe = popen(command.c_str(), "r");
    std::array<char, 4096> buffer{};
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) run.out.append(buffer.data(), n);
    int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

  OpenTipServer server_{kApiKey};
  fs::path work_dir_;
};

TEST_F(LookupCli, HashTableAndRedExitCode) {
  CliRun run = lookup(OpenTipServer::kRedSha256);
  EXPECT_EQ(run.exit_code, 13) << run.out;
  EXPECT_THAT(run.out, HasSubstr("Zone"));
  EXPECT_THAT(run.out, HasSubstr("Red"));
  EXPECT_THAT(run.out, HasSubstr("Malware"));
  EXPECT_THAT(run.out, HasSubstr("EICAR-Test-File"));
  EXPECT_THAT(run.out, HasSubstr("Detections (2)"));
  EXPECT_EQ(server_.requests().at(0).api_key, kApiKey);
}

TEST_F(LookupCli, IpDomainUrlAndTheirZones) {
  CliRun ip = lookup(OpenTipServer::kRedIp);
  EXPECT_EQ(ip.exit_code, 13) << ip.out;
  EXPECT_THAT(ip.out, HasSubstr("CATEGORY_BOTNET_CNC (Red)"));
  EXPECT_THAT(ip.out, HasSubstr("AS64500"));

  CliRun domain = lookup(OpenTipServer::kOrangeDomain);
  EXPECT_EQ(domain.exit_code, 12) << domain.out;
  EXPECT_THAT(domain.out, HasSubstr("CATEGORY_PHISHING (Orange)"));
  EXPECT_THAT(domain.out, HasSubstr("Internet Assigned Numbers Authority"));

  CliRun url = lookup(std::string("'") + OpenTipServer::kRedUrl + "'");
  EXPECT_EQ(url.exit_code, 13) << url.out;
  EXPECT_THAT(url.out, HasSubstr("phish.example.com"));

  CliRun green = lookup(OpenTipServer::kGreenDomain);
  EXPECT_EQ(green.exit_code, 0) << green.out;
  CliRun unknown = lookup("never-seen.example.org");
  EXPECT_EQ(unknown.exit_code, 10) << unknown.out;
  EXPECT_THAT(unknown.out, HasSubstr("no data"));
}

TEST_F(LookupCli, JsonIsTheRawAnswer) {
  CliRun run = lookup(std::string(OpenTipServer::kRedIp) + " --json");
  EXPECT_EQ(run.exit_code, 13) << run.out;
  EXPECT_THAT(run.out, HasSubstr("\"IpGeneralInfo\""));
  EXPECT_THAT(run.out, Not(HasSubstr("Zone            ")));
}

TEST_F(LookupCli, SecondLookupComesFromTheCacheDirectory) {
  EXPECT_EQ(lookup(OpenTipServer::kRedMd5).exit_code, 13);
  CliRun again = lookup(OpenTipServer::kRedMd5);
  EXPECT_EQ(again.exit_code, 13) << again.out;
  EXPECT_THAT(again.out, HasSubstr("cache"));
  EXPECT_EQ(server_.request_count(), 1);
}

TEST_F(LookupCli, InvalidValueSendsNothing) {
  CliRun run = lookup("'not a value'");
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_THAT(run.out, HasSubstr("cannot look up"));
  EXPECT_EQ(server_.request_count(), 0);
}

TEST_F(LookupCli, RejectedKeyIsExplainedWithoutTheKey) {
  CliRun run = lookup(OpenTipServer::kGreenIp, "WRONG-KEY-but-long-enough-1234");
  EXPECT_EQ(run.exit_code, 3) << run.out;
  EXPECT_THAT(run.out, HasSubstr("opentip.api_key"));
  EXPECT_THAT(run.out, Not(HasSubstr("WRONG-KEY-but-long-enough-1234")));
  EXPECT_THAT(run.out, Not(HasSubstr(kApiKey)));
}

TEST_F(LookupCli, QuotaExceededIsRememberedAcrossRuns) {
  server_.fail_next(403);
  CliRun first = lookup(OpenTipServer::kGreenIp);
  EXPECT_EQ(first.exit_code, 4) << first.out;
  EXPECT_THAT(first.out, HasSubstr("quota"));
  CliRun second = lookup(OpenTipServer::kRedIp);
  EXPECT_EQ(second.exit_code, 4) << second.out;
  EXPECT_EQ(server_.request_count(), 1);
}

TEST_F(LookupCli, PlainHttpRefusedUnlessAllowed) {
  std::string command = "cd '" + work_dir_.string() + "' && env -i PATH=/usr/bin:/bin OPENTIP_URL='" +
                        server_.base_url() + "' OPENTIP_API_KEY='" + kApiKey + "' " + KFC_CONNECTOR_BINARY +
                        " lookup 8.8.8.8 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer{};
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  int status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_THAT(out, HasSubstr("opentip.url"));
  EXPECT_EQ(server_.request_count(), 0);
}

// Shell scripts branch on the exit code: `lookup --help` must say what each one means.
TEST_F(LookupCli, HelpDocumentsEveryExitCode) {
  CliRun run = lookup("--help");
  EXPECT_EQ(run.exit_code, 0) << run.out;
  for (const char* meaning : {"0 Green", "10 Grey or no data", "11 Yellow", "12 Orange", "13 Red",
                              "2 invalid value or configuration", "3 opentip.api_key rejected or expired",
                              "4 quota exceeded", "5 OpenTIP unavailable", "1 other errors"}) {
    EXPECT_THAT(run.out, HasSubstr(meaning));
  }
  EXPECT_EQ(server_.request_count(), 0);
}

TEST_F(LookupCli, UnreachableServerIsUnavailable) {
  CliRun run = lookup(OpenTipServer::kGreenIp, kApiKey, "http://127.0.0.1:1/api/v1/");
  EXPECT_EQ(run.exit_code, 5) << run.out;
}

}  // namespace
