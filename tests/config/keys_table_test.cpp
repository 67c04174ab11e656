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

// Written from issue #2 and the reference connector's documentation — not from the loader.
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
    {"connector.metrics_namespace", "CONNECTOR_METRICS_NAMESPACE", "", "opencti"},
    {"connector.metrics_subsystem", "CONNECTOR_METRICS_SUBSYSTEM", "", "kaspersky"},
    {"connector.health_port", "CONNECTOR_HEALTH_PORT", "0", "9096"},
    {"connector.send_to_queue", "CONNECTOR_SEND_TO_QUEUE", "true", "true"},
    {"connector.send_to_directory", "CONNECTOR_SEND_TO_DIRECTORY", "false", "false"},
    {"connector.send_to_directory_path", "CONNECTOR_SEND_TO_DIRECTORY_PATH", "", "/tmp/bundles"},
    {"connector.send_to_directory_retention", "CONNECTOR_SEND_TO_DIRECTORY_RETENTION", "7", "3"},
    {"connector.auto", "CONNECTOR_AUTO", "false", "true"},
    {"connector.playbook_compatible", "CONNECTOR_PLAYBOOK_COMPATIBLE", "false", "true"},
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
    {"kaspersky.tlp_level", "KASPERSKY_TLP_LEVEL", "none", "amber+strict"},
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
    {"opentip.max_delivery_attempts", "OPENTIP_MAX_DELIVERY_ATTEMPTS", "3", "5"},
    {"tokens.expiry_warning_days", "TOKENS_EXPIRY_WARNING_DAYS", "30", "14"},
    // The token lifecycle keys of the three tokens.
    {"kaspersky.api_token_expires_at", "KASPERSKY_API_TOKEN_EXPIRES_AT", "", "2026-12-03"},
    {"kaspersky.api_token_issued_at", "KASPERSKY_API_TOKEN_ISSUED_AT", "", "2025-12-03"},
    {"opentip.api_key_expires_at", "OPENTIP_API_KEY_EXPIRES_AT", "", "2026-12-03T10:00:00Z"},
    {"opentip.api_key_issued_at", "OPENTIP_API_KEY_ISSUED_AT", "", "2025-12-03"},
    {"opencti.token_expires_at", "OPENCTI_TOKEN_EXPIRES_AT", "", "2026-12-03"},
    {"opencti.token_issued_at", "OPENCTI_TOKEN_ISSUED_AT", "", "2025-12-03"},
    // The generic TAXII mode: the keys of OpenCTI's taxii2 connector (their meanings are checked by
    // taxii2_keys_table_test.cpp) and what this product adds.
    {"taxii2.discovery_url", "TAXII2_DISCOVERY_URL", "", "https://taxii.example.org/taxii2/"},
    {"taxii2.v21", "TAXII2_V21", "", "false"},
    {"taxii2.username", "TAXII2_USERNAME", "", "reader"},
    {"taxii2.password", "TAXII2_PASSWORD", "", "pass word"},
    {"taxii2.password_file", "TAXII2_PASSWORD_FILE", "", ""},
    {"taxii2.password_expires_at", "TAXII2_PASSWORD_EXPIRES_AT", "", "2026-12-03"},
    {"taxii2.password_issued_at", "TAXII2_PASSWORD_ISSUED_AT", "", "2025-12-03"},
    {"taxii2.use_token", "TAXII2_USE_TOKEN", "false", "true"},
    {"taxii2.token", "TAXII2_TOKEN", "", "bearer-token-0123456789"},
    {"taxii2.token_file", "TAXII2_TOKEN_FILE", "", ""},
    {"taxii2.token_expires_at", "TAXII2_TOKEN_EXPIRES_AT", "", "2026-12-03"},
    {"taxii2.token_issued_at", "TAXII2_TOKEN_ISSUED_AT", "", "2025-12-03"},
    {"taxii2.use_apikey", "TAXII2_USE_APIKEY", "false", "true"},
    {"taxii2.apikey_key", "TAXII2_APIKEY_KEY", "", "X-API-Key"},
    {"taxii2.apikey_value", "TAXII2_APIKEY_VALUE", "", "api-key-0123456789abc"},
    {"taxii2.apikey_value_file", "TAXII2_APIKEY_VALUE_FILE", "", ""},
    {"taxii2.apikey_value_expires_at", "TAXII2_APIKEY_VALUE_EXPIRES_AT", "", "2026-12-03"},
    {"taxii2.apikey_value_issued_at", "TAXII2_APIKEY_VALUE_ISSUED_AT", "", "2025-12-03"},
    {"taxii2.use_cert", "TAXII2_USE_CERT", "false", "true"},
    {"taxii2.cert_path", "TAXII2_CERT_PATH", "", "/dev/null"},
    {"taxii2.key_path", "TAXII2_KEY_PATH", "", "/dev/null"},
    {"taxii2.verify_ssl", "TAXII2_VERIFY_SSL", "true", "false"},
    {"taxii2.ca_file", "TAXII2_CA_FILE", "", "/dev/null"},
    {"taxii2.allow_insecure_http", "TAXII2_ALLOW_INSECURE_HTTP", "false", "true"},
    {"taxii2.connection_timeout", "TAXII2_CONNECTION_TIMEOUT", "60", "30"},
    {"taxii2.max_attempts", "TAXII2_MAX_ATTEMPTS", "5", "3"},
    {"taxii2.max_response_mb", "TAXII2_MAX_RESPONSE_MB", "256", "64"},
    {"taxii2.collections", "TAXII2_COLLECTIONS", "*.*", "api1.*"},
    {"taxii2.initial_history", "TAXII2_INITIAL_HISTORY", "24", "48"},
    {"taxii2.interval", "TAXII2_INTERVAL", "1", "6"},
    {"taxii2.create_indicators", "TAXII2_CREATE_INDICATORS", "true", "false"},
    {"taxii2.create_observables", "TAXII2_CREATE_OBSERVABLES", "true", "false"},
    {"taxii2.add_custom_label", "TAXII2_ADD_CUSTOM_LABEL", "false", "true"},
    {"taxii2.custom_label", "TAXII2_CUSTOM_LABEL", "", "my-feed"},
    {"taxii2.force_pattern_as_name", "TAXII2_FORCE_PATTERN_AS_NAME", "false", "true"},
    {"taxii2.force_multiple_pattern_name", "TAXII2_FORCE_MULTIPLE_PATTERN_NAME", "Multiple Indicators", "Several"},
    {"taxii2.stix_custom_property_to_label", "TAXII2_STIX_CUSTOM_PROPERTY_TO_LABEL", "false", "true"},
    {"taxii2.stix_custom_property", "TAXII2_STIX_CUSTOM_PROPERTY", "", "x_category"},
    {"taxii2.enable_url_query_limit", "TAXII2_ENABLE_URL_QUERY_LIMIT", "false", "true"},
    {"taxii2.url_query_limit", "TAXII2_URL_QUERY_LIMIT", "100", "500"},
    {"taxii2.determine_x_opencti_score_by_label", "TAXII2_DETERMINE_X_OPENCTI_SCORE_BY_LABEL", "false", "true"},
    {"taxii2.default_x_opencti_score", "TAXII2_DEFAULT_X_OPENCTI_SCORE", "50", "30"},
    {"taxii2.indicator_high_score_labels", "TAXII2_INDICATOR_HIGH_SCORE_LABELS", "", "high,critical"},
    {"taxii2.indicator_high_score", "TAXII2_INDICATOR_HIGH_SCORE", "80", "90"},
    {"taxii2.indicator_medium_score_labels", "TAXII2_INDICATOR_MEDIUM_SCORE_LABELS", "", "medium"},
    {"taxii2.indicator_medium_score", "TAXII2_INDICATOR_MEDIUM_SCORE", "60", "55"},
    {"taxii2.indicator_low_score_labels", "TAXII2_INDICATOR_LOW_SCORE_LABELS", "", "low"},
    {"taxii2.indicator_low_score", "TAXII2_INDICATOR_LOW_SCORE", "40", "20"},
    {"taxii2.set_indicator_as_detection", "TAXII2_SET_INDICATOR_AS_DETECTION", "false", "true"},
    {"taxii2.create_author", "TAXII2_CREATE_AUTHOR", "false", "true"},
    {"taxii2.author_name", "TAXII2_AUTHOR_NAME", "", "ACME CTI"},
    {"taxii2.author_description", "TAXII2_AUTHOR_DESCRIPTION", "", "Our vendor"},
    {"taxii2.author_reliability", "TAXII2_AUTHOR_RELIABILITY", "", "A - Completely reliable"},
    {"taxii2.exclude_specific_labels", "TAXII2_EXCLUDE_SPECIFIC_LABELS", "false", "true"},
    {"taxii2.labels_to_exclude", "TAXII2_LABELS_TO_EXCLUDE", "", "^tlp:"},
    {"taxii2.replace_characters_in_label", "TAXII2_REPLACE_CHARACTERS_IN_LABEL", "false", "true"},
    {"taxii2.characters_to_replace_in_label", "TAXII2_CHARACTERS_TO_REPLACE_IN_LABEL", "", "_:-"},
    {"taxii2.ignore_pattern_types", "TAXII2_IGNORE_PATTERN_TYPES", "false", "true"},
    {"taxii2.pattern_types_to_ignore", "TAXII2_PATTERN_TYPES_TO_IGNORE", "", "yara"},
    {"taxii2.ignore_object_types", "TAXII2_IGNORE_OBJECT_TYPES", "false", "true"},
    {"taxii2.object_types_to_ignore", "TAXII2_OBJECT_TYPES_TO_IGNORE", "", "note"},
    {"taxii2.ignore_specific_patterns", "TAXII2_IGNORE_SPECIFIC_PATTERNS", "false", "true"},
    {"taxii2.patterns_to_ignore", "TAXII2_PATTERNS_TO_IGNORE", "", "10.0.0."},
    {"taxii2.ignore_specific_notes", "TAXII2_IGNORE_SPECIFIC_NOTES", "false", "true"},
    {"taxii2.notes_to_ignore", "TAXII2_NOTES_TO_IGNORE", "", "AUTOGENERATED"},
    {"taxii2.save_original_indicator_id_to_note", "TAXII2_SAVE_ORIGINAL_INDICATOR_ID_TO_NOTE", "false", "true"},
    {"taxii2.save_original_indicator_id_abstract", "TAXII2_SAVE_ORIGINAL_INDICATOR_ID_ABSTRACT", "", "Original id"},
    {"taxii2.change_report_status", "TAXII2_CHANGE_REPORT_STATUS", "false", "true"},
    {"taxii2.change_report_status_x_opencti_workflow_id", "TAXII2_CHANGE_REPORT_STATUS_X_OPENCTI_WORKFLOW_ID", "",
     "b2a1c3d4-0000-4000-8000-000000000042"},
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
  if (key.starts_with("taxii2.")) {  // the generic TAXII mode is on only with its discovery URL
    env["TAXII2_DISCOVERY_URL"] = "https://taxii.example.org/taxii2/";
    env.erase("KASPERSKY_API_TOKEN");  // not needed in that mode
  }
  static const std::map<std::string, std::map<std::string, std::string>> partners{
      {"taxii2.username", {{"TAXII2_PASSWORD", "pw"}}},
      {"taxii2.password", {{"TAXII2_USERNAME", "reader"}}},
      {"taxii2.use_token", {{"TAXII2_TOKEN", "bearer-token-0123456789"}}},
      {"taxii2.use_apikey", {{"TAXII2_APIKEY_KEY", "X-API-Key"}, {"TAXII2_APIKEY_VALUE", "api-key-0123456789abc"}}},
      {"taxii2.use_cert", {{"TAXII2_CERT_PATH", "/dev/null"}}},
      {"taxii2.key_path", {{"TAXII2_CERT_PATH", "/dev/null"}}},
      {"taxii2.add_custom_label", {{"TAXII2_CUSTOM_LABEL", "my-feed"}}},
      {"taxii2.stix_custom_property_to_label", {{"TAXII2_STIX_CUSTOM_PROPERTY", "x_category"}}},
      {"taxii2.create_author", {{"TAXII2_AUTHOR_NAME", "ACME CTI"}}},
      {"taxii2.exclude_specific_labels", {{"TAXII2_LABELS_TO_EXCLUDE", "^tlp:"}}},
      {"taxii2.replace_characters_in_label", {{"TAXII2_CHARACTERS_TO_REPLACE_IN_LABEL", "_:-"}}},
      {"taxii2.ignore_pattern_types", {{"TAXII2_PATTERN_TYPES_TO_IGNORE", "yara"}}},
      {"taxii2.ignore_object_types", {{"TAXII2_OBJECT_TYPES_TO_IGNORE", "note"}}},
      {"taxii2.ignore_specific_patterns", {{"TAXII2_PATTERNS_TO_IGNORE", "10.0.0."}}},
      {"taxii2.ignore_specific_notes", {{"TAXII2_NOTES_TO_IGNORE", "AUTOGENERATED"}}},
      {"taxii2.change_report_status", {{"TAXII2_CHANGE_REPORT_STATUS_X_OPENCTI_WORKFLOW_ID", "w1"}}},
  };
  if (auto it = partners.find(key); it != partners.end()) {
    for (const auto& [name, value] : it->second) env[name] = value;
  }
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
  const std::regex header(R"(^([a-z0-9_]+):\s*(#.*)?$)");
  const std::regex entry(R"(^  (?:# )?([a-z0-9_]+):.*)");
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
