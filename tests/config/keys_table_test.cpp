// Every key of the reference connector (and of the OpenCTI conventions and this product) is accepted
// under its reference environment name, with the reference default.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "config_test_support.h"

namespace kfc {
namespace {

using namespace kfc::testing;

struct KeyRow {
  const char* key;
  const char* env;
  const char* reference_default;  // as describe_settings shows it; "" = not set
  const char* sample_value;       // a valid value to give through the file and the environment
};

// Written from issue #2, feed-mapping.md §2 and opencti-protocol.md §5 — not from the loader.
const KeyRow kRows[] = {
    {"opencti.url", "OPENCTI_URL", "", "https://opencti.example.org"},
    {"opencti.token", "OPENCTI_TOKEN", "", "opencti-token-0123456789abcdef"},
    {"opencti.ssl_verify", "OPENCTI_SSL_VERIFY", "true", "false"},
    {"opencti.custom_headers", "OPENCTI_CUSTOM_HEADERS", "", "X-A:1;X-B:2"},
    {"opencti.json_logging", "OPENCTI_JSON_LOGGING", "false", "true"},
    {"connector.id", "CONNECTOR_ID", "", "0c5a3cde-7b3f-4a1e-9f1e-1234567890ab"},
    {"connector.type", "CONNECTOR_TYPE", "EXTERNAL_IMPORT", "EXTERNAL_IMPORT"},
    {"connector.name", "CONNECTOR_NAME", "Kaspersky Feeds", "Feeds"},
    {"connector.scope", "CONNECTOR_SCOPE", "kaspersky", "kaspersky"},
    {"connector.confidence_level", "CONNECTOR_CONFIDENCE_LEVEL", "100", "80"},
    {"connector.threat_score", "CONNECTOR_THREAT_SCORE", "100", "90"},
    {"connector.threat_score_high", "CONNECTOR_THREAT_SCORE_HIGH", "75", "70"},
    {"connector.threat_score_medium", "CONNECTOR_THREAT_SCORE_MEDIUM", "50", "40"},
    {"connector.threat_score_from_description", "CONNECTOR_THREAT_SCORE_FROM_DESCRIPTION", "false", "true"},
    {"connector.label_format", "CONNECTOR_LABEL_FORMAT", "legacy", "both"},
    {"connector.description_mode", "CONNECTOR_DESCRIPTION_MODE", "overwrite", "create_only"},
    {"connector.log_level", "CONNECTOR_LOG_LEVEL", "info", "debug"},
    {"connector.log_format", "CONNECTOR_LOG_FORMAT", "auto", "json"},
    {"connector.update_existing_data", "CONNECTOR_UPDATE_EXISTING_DATA", "false", "true"},
    {"connector.run_and_terminate", "CONNECTOR_RUN_AND_TERMINATE", "false", "true"},
    {"connector.duration_period", "CONNECTOR_DURATION_PERIOD", "", "PT30M"},
    {"connector.queue_protocol", "CONNECTOR_QUEUE_PROTOCOL", "amqp", "api"},
    {"connector.queue_threshold", "CONNECTOR_QUEUE_THRESHOLD", "500", "100"},
    {"connector.expose_metrics", "CONNECTOR_EXPOSE_METRICS", "false", "true"},
    {"connector.metrics_port", "CONNECTOR_METRICS_PORT", "9095", "9100"},
    {"connector.metrics_address", "CONNECTOR_METRICS_ADDRESS", "127.0.0.1", "0.0.0.0"},
    {"connector.output", "CONNECTOR_OUTPUT", "opencti", "stdout"},
    {"connector.output_dir", "CONNECTOR_OUTPUT_DIR", "", "/tmp/bundles"},
    {"connector.state_file", "CONNECTOR_STATE_FILE", "", "/tmp/state.json"},
    {"kaspersky.api_root", "KASPERSKY_API_ROOT", "https://taxii.tip.kaspersky.com/v2", "https://taxii.example.org/v2"},
    {"kaspersky.api_token", "KASPERSKY_API_TOKEN", "", "taxii-token-0123456789abcdef"},
    {"kaspersky.connection_timeout", "KASPERSKY_CONNECTION_TIMEOUT", "60", "30"},
    {"kaspersky.ssl_verify", "KASPERSKY_SSL_VERIFY", "true", "false"},
    {"kaspersky.ca_file", "KASPERSKY_CA_FILE", "", "/dev/null"},
    {"kaspersky.allow_insecure_http", "KASPERSKY_ALLOW_INSECURE_HTTP", "false", "true"},
    {"kaspersky.initial_history", "KASPERSKY_INITIAL_HISTORY", "604800", "86400"},
    {"kaspersky.update_interval", "KASPERSKY_UPDATE_INTERVAL", "3600", "600"},
    {"kaspersky.expand_objects", "KASPERSKY_EXPAND_OBJECTS", "true", "false"},
    {"kaspersky.create_indicators", "KASPERSKY_CREATE_INDICATORS", "true", "true"},
    {"kaspersky.create_observables", "KASPERSKY_CREATE_OBSERVABLES", "true", "false"},
    {"kaspersky.collections", "KASPERSKY_COLLECTIONS", "TAXII_*_Data_Feed", "TAXII_Demo_IP_Reputation_Data_Feed"},
    {"kaspersky.page_limit", "KASPERSKY_PAGE_LIMIT", "0", "500"},
    {"kaspersky.max_attempts", "KASPERSKY_MAX_ATTEMPTS", "5", "3"},
    {"kaspersky.max_response_mb", "KASPERSKY_MAX_RESPONSE_MB", "256", "64"},
    {"mq.host", "MQ_HOST", "", "rabbitmq"},
    {"mq.port", "MQ_PORT", "", "5671"},
    {"mq.vhost", "MQ_VHOST", "", "/"},
    {"mq.use_ssl", "MQ_USE_SSL", "", "true"},
    {"mq.user", "MQ_USER", "", "opencti"},
    {"mq.pass", "MQ_PASS", "", "rabbit-password"},
    {"mq.use_ssl_ca", "MQ_USE_SSL_CA", "", "/dev/null"},
    {"mq.use_ssl_cert", "MQ_USE_SSL_CERT", "", "/dev/null"},
    {"mq.use_ssl_key", "MQ_USE_SSL_KEY", "", "/dev/null"},
    {"mq.use_ssl_passphrase", "MQ_USE_SSL_PASSPHRASE", "", "key-passphrase"},
    {"mq.use_ssl_reject_unauthorized", "MQ_USE_SSL_REJECT_UNAUTHORIZED", "true", "false"},
    {"opentip.url", "OPENTIP_URL", "https://opentip.kaspersky.com/api/v1/", "https://opentip.example.org/api/v1/"},
    {"opentip.api_key", "OPENTIP_API_KEY", "", "opentip-key-0123456789abcdef"},
    {"opentip.allow_insecure_http", "OPENTIP_ALLOW_INSECURE_HTTP", "false", "true"},
    {"opentip.max_requests_per_minute", "OPENTIP_MAX_REQUESTS_PER_MINUTE", "10", "5"},
    {"opentip.cache_ttl", "OPENTIP_CACHE_TTL", "86400", "3600"},
    {"opentip.cache_max_entries", "OPENTIP_CACHE_MAX_ENTRIES", "10000", "500"},
    {"opentip.cache_dir", "OPENTIP_CACHE_DIR", "", "/tmp/opentip"},
    {"opentip.quota_cooldown", "OPENTIP_QUOTA_COOLDOWN", "3600", "600"},
    {"opentip.max_tlp", "OPENTIP_MAX_TLP", "TLP:AMBER", "TLP:GREEN"},
    {"opentip.zone_scores", "OPENTIP_ZONE_SCORES", "red:100,orange:80,yellow:60,grey:20,green:0", "red:90,green:0"},
    {"opentip.enrichment_scope", "OPENTIP_ENRICHMENT_SCOPE", "StixFile,IPv4-Addr,IPv6-Addr,Domain-Name,Url", "Url"},
    {"tokens.expiry_warning_days", "TOKENS_EXPIRY_WARNING_DAYS", "30", "14"},
    // The token lifecycle keys of the three tokens.
    {"kaspersky.api_token_expires_at", "KASPERSKY_API_TOKEN_EXPIRES_AT", "", "2026-12-03"},
    {"kaspersky.api_token_issued_at", "KASPERSKY_API_TOKEN_ISSUED_AT", "", "2025-12-03"},
    {"opentip.api_key_expires_at", "OPENTIP_API_KEY_EXPIRES_AT", "", "2026-12-03T10:00:00Z"},
    {"opentip.api_key_issued_at", "OPENTIP_API_KEY_ISSUED_AT", "", "2025-12-03"},
    {"opencti.token_expires_at", "OPENCTI_TOKEN_EXPIRES_AT", "", "2026-12-03"},
    {"opencti.token_issued_at", "OPENCTI_TOKEN_ISSUED_AT", "", "2025-12-03"},
    {"kaspersky.api_token_file", "KASPERSKY_API_TOKEN_FILE", "", ""},
    {"opentip.api_key_file", "OPENTIP_API_KEY_FILE", "", ""},
    {"opencti.token_file", "OPENCTI_TOKEN_FILE", "", ""},
};

std::map<std::string, EffectiveSetting> described(const LoadResult& result) {
  std::map<std::string, EffectiveSetting> lines;
  for (const auto& line : describe_settings(result.settings)) lines[line.key] = line;
  return lines;
}

TEST(KeysTable, EveryKnownKeyIsInTheTableAndViceVersa) {
  std::set<std::string> table;
  for (const auto& row : kRows) table.insert(row.key);
  const std::set<std::string> known(known_keys().begin(), known_keys().end());
  EXPECT_EQ(table, known);
  for (const auto& row : kRows) EXPECT_EQ(env_name_for(row.key), row.env);
}

TEST(KeysTable, ReferenceDefaults) {
  const auto lines = described(load(""));
  for (const auto& row : kRows) {
    if (std::string(row.key) == "connector.id" || std::string(row.key).find("token") != std::string::npos ||
        std::string(row.key) == "opencti.url") {
      continue;  // given by valid_environment()
    }
    EXPECT_EQ(lines.at(row.key).value, row.reference_default) << row.key;
    EXPECT_EQ(lines.at(row.key).origin, "default") << row.key;
  }
}

// Keys valid only together with another one: the partner comes from the environment.
Environment with_partner(Environment env, const std::string& key) {
  if (key == "mq.use_ssl_cert") env["MQ_USE_SSL_KEY"] = "/dev/null";
  if (key == "mq.use_ssl_key") env["MQ_USE_SSL_CERT"] = "/dev/null";
  return env;
}

TEST(KeysTable, EveryKeyAcceptedFromEnvironmentAndFile) {
  for (const auto& row : kRows) {
    if (*row.sample_value == '\0') continue;  // *_file keys: covered by the token tests
    const std::string key = row.key;
    Environment env = with_partner(valid_environment(), key);
    env[row.env] = row.sample_value;
    const LoadResult from_env = load("", env);
    EXPECT_TRUE(from_env.ok()) << key << ": " << joined(from_env.errors);
    EXPECT_TRUE(from_env.warnings.empty()) << key << ": " << joined(from_env.warnings);
    EXPECT_EQ(origin(from_env, key), std::string("env ") + row.env);

    // The same key in the file (the environment variable removed when it is one valid_environment sets).
    Environment base = with_partner(valid_environment(), key);
    base.erase(row.env);
    const std::string section = key.substr(0, key.find('.'));
    const std::string name = key.substr(key.find('.') + 1);
    const LoadResult from_file = load(section + ":\n  " + name + ": '" + row.sample_value + "'\n", base);
    EXPECT_TRUE(from_file.ok()) << key << ": " << joined(from_file.errors);
    EXPECT_TRUE(from_file.warnings.empty()) << key << ": " << joined(from_file.warnings);
    EXPECT_EQ(origin(from_file, key), "config.yml") << key;
  }
}

TEST(KeysTable, ReferenceDefaultsAreAcceptedAsValues) {
  Environment env = valid_environment();
  for (const auto& row : kRows) {
    if (*row.reference_default != '\0') env[row.env] = row.reference_default;
  }
  const LoadResult result = load("", env);
  EXPECT_TRUE(result.ok()) << joined(result.errors);
  const auto lines = described(result);
  for (const auto& row : kRows) {
    if (*row.reference_default != '\0') {
      EXPECT_EQ(lines.at(row.key).value, row.reference_default) << row.key;
    }
  }
}

std::string read_sample() {
  std::ifstream in(std::string(KFC_SOURCE_DIR) + "/deploy/config.yml.sample");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SampleConfig, DocumentsEveryKeyAndItsEnvironmentName) {
  const std::string sample = read_sample();
  ASSERT_FALSE(sample.empty());
  // Track the section header each (possibly commented) "  key:" line sits under.
  std::set<std::string> documented;
  std::string section;
  std::istringstream lines(sample);
  const std::regex header(R"(^([a-z_]+):\s*(#.*)?$)");
  const std::regex entry(R"(^  (?:# )?([a-z_]+):.*)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_match(line, match, header)) {
      section = match[1];
    } else if (std::regex_match(line, match, entry)) {
      documented.insert(section + "." + match[1].str());
    }
  }
  for (const auto& key : known_keys()) {
    EXPECT_TRUE(documented.contains(key)) << key << " is not in deploy/config.yml.sample";
    EXPECT_NE(sample.find(env_name_for(key)), std::string::npos) << env_name_for(key) << " not documented";
  }
  for (const auto& key : documented) {
    EXPECT_NE(std::find(known_keys().begin(), known_keys().end(), key), known_keys().end()) << key << " is unknown";
  }
}

TEST(SampleConfig, LoadsWithOnlyItsPlaceholdersToFill) {
  LoadRequest request;
  request.yaml_text = read_sample();
  const LoadResult placeholders = load_settings(request);
  EXPECT_EQ(placeholders.errors.size(), 3u) << joined(placeholders.errors);
  for (const auto& error : placeholders.errors) EXPECT_NE(error.find("'ChangeMe'"), std::string::npos) << error;

  request.environment = valid_environment();
  const LoadResult filled = load_settings(request);
  EXPECT_TRUE(filled.ok()) << joined(filled.errors);
  EXPECT_EQ(filled.warnings.size(), 0u) << joined(filled.warnings);  // opencti.url is https in the environment
}

}  // namespace
}  // namespace kfc
