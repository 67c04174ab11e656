#pragma once
// Helpers shared by the configuration tests: a minimal valid environment and one-call loading.
#include <string>

#include "kfc/config/loader.h"

namespace kfc::testing {

// A recognisable secret: no output may ever contain it.
inline constexpr const char* kSecret = "SECRET-tok-9f8e7d6c5b4a";
inline constexpr const char* kConnectorId = "0c5a3cde-7b3f-4a1e-9f1e-1234567890ab";

// The least a valid configuration needs (output opencti).
inline Environment valid_environment() {
  return {{"CONNECTOR_ID", kConnectorId},
          {"KASPERSKY_API_TOKEN", kSecret},
          {"OPENCTI_URL", "https://opencti.example.org"},
          {"OPENCTI_TOKEN", "opencti-token-0123456789abcdef"}};
}

// valid_environment() with `changes` set over it.
inline Environment valid_environment_with(const Environment& changes) {
  Environment environment = valid_environment();
  for (const auto& [name, value] : changes) environment[name] = value;
  return environment;
}

// valid_environment() with the Kaspersky token read from a file (`path`) instead of the environment.
inline Environment environment_with_token_file(const std::string& path) {
  Environment environment = valid_environment_with({{"KASPERSKY_API_TOKEN_FILE", path}});
  environment.erase("KASPERSKY_API_TOKEN");
  return environment;
}

inline LoadResult load(const std::string& yaml, Environment environment = valid_environment()) {
  LoadRequest request;
  request.yaml_text = yaml;
  request.environment = std::move(environment);
  return load_settings(request);
}

inline bool mentions(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& line : lines) {
    if (line.find(part) != std::string::npos) return true;
  }
  return false;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& line : lines) all += line + "\n";
  return all;
}

inline std::string origin(const LoadResult& result, const std::string& key) {
  auto it = result.settings.origins.find(key);
  return it == result.settings.origins.end() ? "" : it->second;
}

}  // namespace kfc::testing
