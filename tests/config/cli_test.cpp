// Runs the built kaspersky-feeds-connector binary: check, tokens, version, with a clean environment.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config_test_support.h"

namespace kfc {
namespace {

using namespace kfc::testing;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string quoted(const std::string& text) {
  std::string result = "'";
  for (char c : text) result += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return result + "'";
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kfc-cli-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
    return (dir_ / name).string();
  }

  // Runs the binary in the scratch directory with exactly `env` as its environment.
  Outcome run(const std::string& args, const Environment& env) {
    std::string command = "cd " + quoted(dir_.string()) + " && env -i";
    for (const auto& [name, value] : env) command += " " + name + "=" + quoted(value);
    command += " " + quoted(KFC_CONNECTOR_BINARY) + " " + args + " >" + quoted((dir_ / "out").string()) + " 2>" +
               quoted((dir_ / "err").string());
    const int status = std::system(command.c_str());
    Outcome result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = slurp(dir_ / "out");
    result.err = slurp(dir_ / "err");
    return result;
  }

  std::filesystem::path dir_;
};

TEST_F(CliTest, CheckOnAValidConfigurationExitsZeroAndShowsMaskedSettings) {
  const std::string config = write("config.yml", "connector:\n  name: My Feeds\n");
  const Environment env = valid_environment_with({{"KASPERSKY_API_TOKEN_EXPIRES_AT", "2100-01-01"}});
  const Outcome run_result = run("--config " + quoted(config) + " check", env);
  EXPECT_EQ(run_result.exit_code, 0) << run_result.out << run_result.err;
  EXPECT_NE(run_result.out.find("Configuration is valid"), std::string::npos) << run_result.out;
  EXPECT_NE(run_result.out.find("kaspersky.api_token"), std::string::npos);
  EXPECT_NE(run_result.out.find("****5b4a"), std::string::npos);
  EXPECT_NE(run_result.out.find("[env KASPERSKY_API_TOKEN]"), std::string::npos);
  EXPECT_NE(run_result.out.find("My Feeds"), std::string::npos);
  EXPECT_NE(run_result.out.find("[" + config + "]"), std::string::npos);
  EXPECT_NE(run_result.out.find("valid"), std::string::npos);
  EXPECT_EQ(run_result.out.find(kSecret), std::string::npos);
  EXPECT_EQ(run_result.err.find(kSecret), std::string::npos);
}

TEST_F(CliTest, CheckUsesConfigYmlInTheWorkingDirectory) {
  write("config.yml", "connector:\n  name: Found In Cwd\n");
  const Outcome result = run("check", valid_environment());
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Configuration file: config.yml"), std::string::npos);
  EXPECT_NE(result.out.find("Found In Cwd"), std::string::npos);
}

TEST_F(CliTest, CheckOnABrokenConfigurationListsEveryProblemWithoutTheSecret) {
  const std::string config = write("broken.yml",
                                   "opencti:\n  token: '" + std::string(kSecret) + " '\nconnector:\n  id: ChangeMe\n"
                                   "  label_format: fancy\nkaspersky:\n  api_root: http://taxii.local/v2\n"
                                   "  api_token: '" + std::string(kSecret) + "\t'\n  expand_objects: false\n"
                                   "  create_indicators: nope\n  colections: [x]\n");
  Environment env{{"OPENCTI_URL", "https://opencti.example.org"}, {"KASPERSKY_CONNECTION_TIMEOUT", "0"},
                  {"MQ_PASS", kSecret}};
  const Outcome result = run("--config " + quoted(config) + " check", env);
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  for (const char* expected :
       {"config error: connector.id is the placeholder 'ChangeMe'", "'connector.label_format' contains invalid value",
        "Insecure HTTP connection", "kaspersky.api_token contains whitespace", "opencti.token contains whitespace",
        "'kaspersky.create_indicators' contains invalid boolean value: 'nope'",
        "kaspersky.connection_timeout is 0, outside the allowed range", "env KASPERSKY_CONNECTION_TIMEOUT",
        "did you mean 'kaspersky.collections'?"}) {
    EXPECT_NE(result.err.find(expected), std::string::npos) << expected << "\n" << result.err;
  }
  EXPECT_NE(result.out.find("Configuration is INVALID"), std::string::npos);
  EXPECT_EQ(result.out.find(kSecret), std::string::npos) << result.out;
  EXPECT_EQ(result.err.find(kSecret), std::string::npos) << result.err;
}

TEST_F(CliTest, CheckWithAnExpiredTokenExitsTwoAndSaysWhereToRenew) {
  const Environment env = valid_environment_with({{"KASPERSKY_API_TOKEN_EXPIRES_AT", "2020-01-01"}});
  const Outcome result = run("check", env);
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;
  EXPECT_NE(result.out.find("expired"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("kaspersky.api_token expired on 2020-01-01"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("Request token page"), std::string::npos);
  EXPECT_EQ(result.out.find(kSecret), std::string::npos);
  EXPECT_EQ(result.err.find(kSecret), std::string::npos);
}

TEST_F(CliTest, TokensShowsOnlyTokenStates) {
  const std::string token_file = write("opentip_key", "opentip-key-0123456789abcdef\n");
  Environment env = valid_environment_with({
      {"OPENTIP_API_KEY_FILE", token_file},
      {"OPENTIP_API_KEY_ISSUED_AT", "2020-01-01"},
      {"KASPERSKY_API_TOKEN_EXPIRES_AT", "2100-01-01T00:00:00Z"},
  });
  const Outcome result = run("tokens", env);
  EXPECT_EQ(result.exit_code, 2) << result.out << result.err;  // the OpenTIP key expired in 2020
  EXPECT_NE(result.out.find("Tokens:"), std::string::npos);
  EXPECT_EQ(result.out.find("Effective settings"), std::string::npos);
  EXPECT_NE(result.out.find("opentip.api_key        expired"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("from file " + token_file), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("kaspersky.api_token    valid"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("opencti.token          unknown"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find(kSecret), std::string::npos);

  env.erase("OPENTIP_API_KEY_ISSUED_AT");
  EXPECT_EQ(run("tokens", env).exit_code, 0);
}

TEST_F(CliTest, JsonLogFormatKeepsStdoutForTheReport) {
  const Environment env = valid_environment_with({{"OPENCTI_JSON_LOGGING", "true"}});
  const Outcome result = run("--log-format json check", env);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Configuration is valid"), std::string::npos);
}

TEST_F(CliTest, VersionAndHelp) {
  const Outcome version = run("version", {});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("kaspersky-feeds-connector 0."), std::string::npos) << version.out;
  const Outcome help = run("check --help", {});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Validate the configuration"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace kfc
