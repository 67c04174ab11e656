// deploy/ stays consistent with the code: the compose service lists every environment variable the
// connector reads, the Dockerfile copies what exists and strips the binary the build produces, the
// systemd unit starts the binary where the .deb installs it, as the user the package creates.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "connector_process.h"
#include "kfc/config/loader.h"

namespace kfc::e2e {
namespace {

const std::filesystem::path kRoot{KFC_SOURCE_DIR};

TEST(DeployFiles, TheComposeServiceListsEveryEnvironmentVariable) {
  const auto compose = read_text(kRoot / "deploy/docker/docker-compose.yml");
  ASSERT_FALSE(compose.empty());
  for (const auto& key : known_keys()) {
    EXPECT_NE(compose.find(env_name_for(key) + "="), std::string::npos)
        << env_name_for(key) << " (" << key << ") is missing from deploy/docker/docker-compose.yml";
  }
}

TEST(DeployFiles, TheDockerfileCopiesWhatExistsAndStripsTheBinaryTheBuildMakes) {
  const auto dockerfile = read_text(kRoot / "deploy/docker/Dockerfile");
  ASSERT_FALSE(dockerfile.empty());
  const std::regex copy(R"(^COPY\s+(--from=\S+\s+)?(\S+)\s+\S+\s*$)");
  std::size_t copies = 0;
  std::istringstream lines(dockerfile);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (!std::regex_match(line, match, copy) || match[1].matched) continue;
    ++copies;
    EXPECT_TRUE(std::filesystem::exists(kRoot / match[2].str())) << "COPY source missing: " << line;
  }
  EXPECT_GE(copies, 1u);
  // The build stage builds in /build: the binary is where CMake puts it in any build directory.
  const std::string binary = std::filesystem::path(KFC_CONNECTOR_BINARY).filename();
  const std::string folder = std::filesystem::path(KFC_CONNECTOR_BINARY).parent_path().filename();
  EXPECT_NE(dockerfile.find("strip /build/" + folder + "/" + binary), std::string::npos) << dockerfile;
  EXPECT_NE(dockerfile.find("COPY --from=build /build/" + folder + "/" + binary), std::string::npos);
  EXPECT_NE(dockerfile.find("USER connector"), std::string::npos) << "the image must not run as root";
  EXPECT_NE(dockerfile.find("WORKDIR /app"), std::string::npos) << "config at /app/config.yml, like the reference";
}

TEST(DeployFiles, TheSystemdUnitRunsTheInstalledBinaryAsThePackagesUser) {
  const auto unit = read_text(kRoot / "deploy/systemd/kaspersky-feeds-connector.service");
  const auto packaging = read_text(kRoot / "deploy/packaging.cmake");
  const auto postinst = read_text(kRoot / "deploy/debian/postinst");
  ASSERT_FALSE(unit.empty() || packaging.empty() || postinst.empty());
  EXPECT_NE(packaging.find(R"(CPACK_PACKAGING_INSTALL_PREFIX "/usr")"), std::string::npos);
  EXPECT_NE(unit.find("ExecStart=/usr/bin/kaspersky-feeds-connector "), std::string::npos) << unit;
  std::smatch user;
  ASSERT_TRUE(std::regex_search(unit, user, std::regex(R"(\nUser=(\S+))")));
  EXPECT_NE(postinst.find("adduser --system --group --home /var/lib/kaspersky-feeds-connector --no-create-home " +
                          user[1].str()),
            std::string::npos)
      << "the package must create the unit's user " << user[1];
  EXPECT_NE(unit.find("ReadWritePaths=/var/lib/kaspersky-feeds-connector"), std::string::npos);
  EXPECT_NE(unit.find("--config /etc/kaspersky-feeds-connector/config.yml"), std::string::npos);
  EXPECT_NE(postinst.find("/etc/kaspersky-feeds-connector/config.yml"), std::string::npos);
}

}  // namespace
}  // namespace kfc::e2e
