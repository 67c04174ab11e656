// deploy/ stays consistent with the code: the compose service lists every environment variable the
// connector reads, the Dockerfile copies what exists (and the ignore file lets it in) and strips the
// binary the build produces, the image runs as the non-root user its file system defines with a
// HEALTHCHECK through the binary, the systemd unit starts the binary where the .deb installs it, as the
// user the package creates. deploy/docker/test-image.sh builds and runs the image itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

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

// The build context's files the Dockerfile copies (COPY without --from), each source of each line.
std::vector<std::string> context_copy_sources(const std::string& dockerfile) {
  std::vector<std::string> sources;
  std::istringstream lines(dockerfile);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> arguments;
    std::string word;
    words >> word;
    if (word != "COPY") continue;
    bool from_stage = false;
    while (words >> word) {
      if (word.starts_with("--from=")) from_stage = true;
      if (!word.starts_with("--")) arguments.push_back(word);
    }
    if (from_stage || arguments.size() < 2) continue;
    sources.insert(sources.end(), arguments.begin(), arguments.end() - 1);  // the last is the destination
  }
  return sources;
}

// The ignore file's patterns, comments and blank lines left out.
std::vector<std::string> ignore_patterns(const std::string& text) {
  std::vector<std::string> patterns;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') patterns.push_back(line);
  }
  return patterns;
}

TEST(DeployFiles, TheDockerfileCopiesWhatExistsAndStripsTheBinaryTheBuildMakes) {
  const auto dockerfile = read_text(kRoot / "deploy/docker/Dockerfile");
  ASSERT_FALSE(dockerfile.empty());
  const auto sources = context_copy_sources(dockerfile);
  EXPECT_GE(sources.size(), 1u);
  for (const auto& source : sources) {
    EXPECT_TRUE(std::filesystem::exists(kRoot / source)) << "COPY source missing: " << source;
  }
  // The build stage builds in /build: the binary is where CMake puts it in any build directory.
  const std::string binary = std::filesystem::path(KFC_CONNECTOR_BINARY).filename();
  const std::string folder = std::filesystem::path(KFC_CONNECTOR_BINARY).parent_path().filename();
  EXPECT_NE(dockerfile.find("strip /build/" + folder + "/" + binary), std::string::npos) << dockerfile;
  EXPECT_NE(dockerfile.find("COPY --from=build /build/" + folder + "/" + binary), std::string::npos);
  EXPECT_NE(dockerfile.find("WORKDIR /app"), std::string::npos) << "config at /app/config.yml, like the reference";
}

TEST(DeployFiles, TheBuildContextHoldsOnlyWhatTheDockerfileCopies) {
  // Everything is excluded first (build folders, .git, tests), then each copied source let back in:
  // a COPY of a path the ignore file keeps out fails the image build.
  const auto patterns = ignore_patterns(read_text(kRoot / "deploy/docker/Dockerfile.dockerignore"));
  ASSERT_FALSE(patterns.empty());
  EXPECT_EQ(patterns.front(), "*");
  const auto sources = context_copy_sources(read_text(kRoot / "deploy/docker/Dockerfile"));
  for (auto source : sources) {
    if (source.ends_with('/')) source.pop_back();
    EXPECT_NE(std::find(patterns.begin(), patterns.end(), "!" + source), patterns.end())
        << source << " is copied but not let in by deploy/docker/Dockerfile.dockerignore (add !" << source << ")";
  }
  for (const auto& pattern : patterns) {
    EXPECT_FALSE(pattern == "!.git" || pattern.starts_with("!build")) << pattern << " would send .git or a build folder";
  }
}

TEST(DeployFiles, TheImageRunsAsTheNonRootUserItsFileSystemDefines) {
  const auto dockerfile = read_text(kRoot / "deploy/docker/Dockerfile");
  const auto assemble = read_text(kRoot / "deploy/docker/assemble-rootfs.sh");
  ASSERT_FALSE(dockerfile.empty() || assemble.empty());
  std::smatch uid;
  ASSERT_TRUE(std::regex_search(assemble, uid, std::regex(R"(\nuid=(\d+)\n)"))) << "assemble-rootfs.sh sets uid=";
  EXPECT_NE(uid[1].str(), "0");
  // Numeric, so Kubernetes' runAsNonRoot can tell it is not root without reading /etc/passwd.
  EXPECT_NE(dockerfile.find("\nUSER " + uid[1].str() + ":" + uid[1].str() + "\n"), std::string::npos)
      << "USER must be the uid:gid assemble-rootfs.sh writes to /etc/passwd (" << uid[1] << ")";
  EXPECT_NE(dockerfile.find("--chown=" + uid[1].str() + ":" + uid[1].str() + " "), std::string::npos)
      << "the state directory must belong to the image's user";
}

TEST(DeployFiles, TheHealthcheckAsksTheEntrypointsHealthCommand) {
  const auto dockerfile = read_text(kRoot / "deploy/docker/Dockerfile");
  std::smatch entrypoint;
  ASSERT_TRUE(std::regex_search(dockerfile, entrypoint, std::regex(R"re(\nENTRYPOINT \["([^"]+)"\])re")));
  EXPECT_NE(dockerfile.find("CMD [\"" + entrypoint[1].str() + "\", \"health\"]"), std::string::npos)
      << "HEALTHCHECK must run " << entrypoint[1] << " health";
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
