#pragma once
// Loads Settings from defaults < config.yml < environment, the way Kaspersky's Python connector and
// pycti do (same keys, same env names), and validates everything at once.
//
//   auto request = kfc::LoadRequest::from_process(context.config_path);
//   kfc::Settings settings = kfc::load_settings_or_throw(request);  // ConfigError lists every problem
//
// Env name of a key: upper-cased "<section>_<key>" (kaspersky.api_token -> KASPERSKY_API_TOKEN,
// mq.use_ssl_ca -> MQ_USE_SSL_CA). An empty environment value falls back to the file / default.
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kfc/config/settings.h"

namespace kfc {

using Environment = std::map<std::string, std::string, std::less<>>;

// The real process environment (environ).
Environment process_environment();

struct LoadRequest {
  // --config; empty: ./config.yml when it exists, else the environment alone.
  std::string config_path;
  // When set, used as the file's content instead of reading config_path (tests); config_path then
  // only names it in messages (default "config.yml").
  std::optional<std::string> yaml_text;
  Environment environment;

  static LoadRequest from_process(std::string cli_config_path);
};

struct LoadResult {
  Settings settings;                  // every field filled (defaults where nothing was given)
  std::vector<std::string> errors;    // each names the key and where its value came from
  std::vector<std::string> warnings;  // unknown keys (with "did you mean"), plain-http OpenCTI, ...
  std::vector<std::string> notices;   // pycti settings this connector does not use, one line each
  std::string config_file;            // the file actually read ("" when none)
  bool ok() const { return errors.empty(); }
};

// Never throws for configuration problems: they are all in the result. Tokens in the settings are
// never null (origin Unset when not configured).
LoadResult load_settings(const LoadRequest& request);

class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

// load_settings, logging each warning with spdlog; throws ConfigError carrying every error.
Settings load_settings_or_throw(const LoadRequest& request);

// The file load_settings reads for --config `cli_path` ("" when none).
std::string resolve_config_path(std::string_view cli_path);

// Every key this connector knows, dotted ("kaspersky.api_token"), in documentation order.
const std::vector<std::string>& known_keys();
std::string env_name_for(std::string_view key);

// What the generated documentation (deploy/opencti: the catalogue's JSON Schema and config doc) says
// about each key, from the same table the loader reads values with.
enum class KeyUse { None, Feed, Enrichment, Both };  // which connector type uses (or requires) a key
struct KeyDoc {
  std::string key;
  std::string env_name;
  std::string description;
  std::string type = "string";        // JSON Schema type: string, boolean, integer, number, array (of
                                      // strings), or two of them as "boolean|string"
  std::string format;                 // JSON Schema format (uri, duration, uuid), "" when none
  std::vector<std::string> choices;   // the accepted values, when they are a closed list
  std::string default_value;          // as `check` shows it; "" when there is none
  std::optional<long long> minimum;
  std::optional<long long> maximum;
  bool secret = false;                // printed masked; writeOnly in the schema
  KeyUse use = KeyUse::Both;
  KeyUse required = KeyUse::None;
  std::string alternative;            // a key that may be given instead of a required one (token files)
};
// Every key, in the order of known_keys().
std::vector<KeyDoc> key_docs();

// One line of `check` output: the effective value (secrets masked, URLs without credentials).
struct EffectiveSetting {
  std::string key;
  std::string value;
  std::string origin;  // "default", the config file's path, or "env NAME"
};
std::vector<EffectiveSetting> describe_settings(const Settings& settings);

// The state of each token the settings hold (kaspersky.api_token, opentip.api_key, opencti.token, and
// in the generic TAXII mode the taxii2 secret its authentication sends).
struct TokenReport {
  std::string key;
  bool configured = false;
  std::string source;  // "env KASPERSKY_API_TOKEN", "file /run/secrets/x", "config.yml", "not set"
  TokenStatus status;
};
std::vector<TokenReport> token_reports(const Settings& settings, SystemTime now);

}  // namespace kfc
