// Every environment variable of OpenCTI's taxii2 connector (external-import/taxii2: its
// connector_config_schema.json and code) is accepted with the same meaning: a drop-in keeps its
// environment. Each row says what the variable does once given, checked on the loaded Settings.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "config_test_support.h"

namespace kfc {
namespace {

using namespace kfc::testing;
using Check = std::function<bool(const Settings&)>;

struct Taxii2Variable {
  const char* env;
  const char* value;  // what a user of the taxii2 connector writes
  Check meaning;      // what it must do here
};

const char* const kDiscovery = "https://taxii.example.org/taxii2/";

// Written from the taxii2 connector's schema and code, not from the loader.
const Taxii2Variable kVariables[] = {
    {"OPENCTI_URL", "https://opencti.example.org", [](const Settings& s) { return s.opencti.url == "https://opencti.example.org"; }},
    {"OPENCTI_TOKEN", "opencti-token-0123456789abcdef",
     [](const Settings& s) { return s.opencti.token->secret().reveal() == "opencti-token-0123456789abcdef"; }},
    {"CONNECTOR_ID", "0c5a3cde-7b3f-4a1e-9f1e-1234567890ab", [](const Settings& s) { return s.connector.id == kConnectorId; }},
    {"CONNECTOR_TYPE", "EXTERNAL_IMPORT", [](const Settings& s) { return s.connector.type == "EXTERNAL_IMPORT"; }},
    {"CONNECTOR_NAME", "My TAXII feed", [](const Settings& s) { return s.connector.name == "My TAXII feed"; }},
    {"CONNECTOR_SCOPE", "ipv4-addr,url", [](const Settings& s) { return s.connector.scope == "ipv4-addr,url"; }},
    {"CONNECTOR_LOG_LEVEL", "error", [](const Settings& s) { return s.connector.log_level == "error"; }},
    {"CONNECTOR_DURATION_PERIOD", "PT30M", [](const Settings& s) { return s.run_interval() == std::chrono::minutes{30}; }},
    {"TAXII2_DISCOVERY_URL", kDiscovery, [](const Settings& s) { return s.taxii2.enabled() && s.taxii2.discovery_url == kDiscovery; }},
    {"TAXII2_USERNAME", "reader",
     [](const Settings& s) { return s.taxii2.auth() == Taxii2Auth::Basic && s.taxii2.username == "reader"; }},
    {"TAXII2_PASSWORD", "s3cret pass",
     [](const Settings& s) { return s.taxii2.auth() == Taxii2Auth::Basic && s.taxii2.active_secret()->secret().reveal() == "s3cret pass"; }},
    {"TAXII2_USE_TOKEN", "true", [](const Settings& s) { return s.taxii2.auth() == Taxii2Auth::Bearer; }},
    {"TAXII2_TOKEN", "bearer-token-0123456789",
     [](const Settings& s) { return s.taxii2.token->secret().reveal() == "bearer-token-0123456789"; }},
    {"TAXII2_USE_APIKEY", "true", [](const Settings& s) { return s.taxii2.auth() == Taxii2Auth::ApiKey; }},
    {"TAXII2_APIKEY_KEY", "X-Api-Key", [](const Settings& s) { return s.taxii2.apikey_key == "X-Api-Key"; }},
    {"TAXII2_APIKEY_VALUE", "api-key-0123456789abc",
     [](const Settings& s) { return s.taxii2.apikey_value->secret().reveal() == "api-key-0123456789abc"; }},
    {"TAXII2_USE_CERT", "true", [](const Settings& s) { return s.taxii2.use_cert; }},
    {"TAXII2_CERT_PATH", "/dev/null", [](const Settings& s) { return s.taxii2.cert_path == "/dev/null"; }},
    {"TAXII2_VERIFY_SSL", "false", [](const Settings& s) { return !s.taxii2.verify_ssl; }},
    {"TAXII2_V21", "false", [](const Settings& s) { return s.taxii2.v21 == false; }},
    {"TAXII2_COLLECTIONS", "api1.*,*.Phishing v1.2",
     [](const Settings& s) { return s.taxii2.collections == std::vector<std::string>{"api1.*", "*.Phishing v1.2"}; }},
    {"TAXII2_INITIAL_HISTORY", "48", [](const Settings& s) { return s.taxii2.initial_history_hours == 48; }},
    {"TAXII2_INTERVAL", "6", [](const Settings& s) { return s.run_interval() == std::chrono::hours{6}; }},
    {"TAXII2_CREATE_INDICATORS", "false", [](const Settings& s) { return !s.taxii2.create_indicators; }},
    {"TAXII2_CREATE_OBSERVABLES", "false", [](const Settings& s) { return !s.taxii2.create_observables; }},
    {"TAXII2_ADD_CUSTOM_LABEL", "true", [](const Settings& s) { return s.taxii2.add_custom_label; }},
    {"TAXII2_CUSTOM_LABEL", "my-feed", [](const Settings& s) { return s.taxii2.custom_label == "my-feed"; }},
    {"TAXII2_FORCE_PATTERN_AS_NAME", "true", [](const Settings& s) { return s.taxii2.force_pattern_as_name; }},
    {"TAXII2_FORCE_MULTIPLE_PATTERN_NAME", "Several",
     [](const Settings& s) { return s.taxii2.force_multiple_pattern_name == "Several"; }},
    {"TAXII2_STIX_CUSTOM_PROPERTY_TO_LABEL", "true", [](const Settings& s) { return s.taxii2.stix_custom_property_to_label; }},
    {"TAXII2_STIX_CUSTOM_PROPERTY", "x_category", [](const Settings& s) { return s.taxii2.stix_custom_property == "x_category"; }},
    {"TAXII2_ENABLE_URL_QUERY_LIMIT", "true", [](const Settings& s) { return s.taxii2.enable_url_query_limit; }},
    {"TAXII2_URL_QUERY_LIMIT", "500", [](const Settings& s) { return s.taxii2.url_query_limit == 500; }},
    {"TAXII2_DETERMINE_X_OPENCTI_SCORE_BY_LABEL", "true",
     [](const Settings& s) { return s.taxii2.determine_x_opencti_score_by_label; }},
    {"TAXII2_DEFAULT_X_OPENCTI_SCORE", "30", [](const Settings& s) { return s.taxii2.default_x_opencti_score == 30; }},
    {"TAXII2_INDICATOR_HIGH_SCORE_LABELS", "high,critical",
     [](const Settings& s) { return s.taxii2.indicator_high_score_labels == std::vector<std::string>{"high", "critical"}; }},
    {"TAXII2_INDICATOR_HIGH_SCORE", "90", [](const Settings& s) { return s.taxii2.indicator_high_score == 90; }},
    {"TAXII2_INDICATOR_MEDIUM_SCORE_LABELS", "medium",
     [](const Settings& s) { return s.taxii2.indicator_medium_score_labels == std::vector<std::string>{"medium"}; }},
    {"TAXII2_INDICATOR_MEDIUM_SCORE", "55", [](const Settings& s) { return s.taxii2.indicator_medium_score == 55; }},
    {"TAXII2_INDICATOR_LOW_SCORE_LABELS", "low",
     [](const Settings& s) { return s.taxii2.indicator_low_score_labels == std::vector<std::string>{"low"}; }},
    {"TAXII2_INDICATOR_LOW_SCORE", "20", [](const Settings& s) { return s.taxii2.indicator_low_score == 20; }},
    {"TAXII2_SET_INDICATOR_AS_DETECTION", "true", [](const Settings& s) { return s.taxii2.set_indicator_as_detection; }},
    {"TAXII2_CREATE_AUTHOR", "true", [](const Settings& s) { return s.taxii2.create_author; }},
    {"TAXII2_AUTHOR_NAME", "ACME CTI", [](const Settings& s) { return s.taxii2.author_name == "ACME CTI"; }},
    {"TAXII2_AUTHOR_DESCRIPTION", "Our vendor", [](const Settings& s) { return s.taxii2.author_description == "Our vendor"; }},
    {"TAXII2_AUTHOR_RELIABILITY", "A - Completely reliable",
     [](const Settings& s) { return s.taxii2.author_reliability == "A - Completely reliable"; }},
    {"TAXII2_EXCLUDE_SPECIFIC_LABELS", "true", [](const Settings& s) { return s.taxii2.exclude_specific_labels; }},
    {"TAXII2_LABELS_TO_EXCLUDE", "^tlp:,internal",
     [](const Settings& s) { return s.taxii2.labels_to_exclude == std::vector<std::string>{"^tlp:", "internal"}; }},
    {"TAXII2_REPLACE_CHARACTERS_IN_LABEL", "true", [](const Settings& s) { return s.taxii2.replace_characters_in_label; }},
    {"TAXII2_CHARACTERS_TO_REPLACE_IN_LABEL", "_: ,/:-",  // a blank as the replacement survives
     [](const Settings& s) { return s.taxii2.characters_to_replace_in_label == std::vector<std::string>{"_: ", "/:-"}; }},
    {"TAXII2_IGNORE_PATTERN_TYPES", "true", [](const Settings& s) { return s.taxii2.ignore_pattern_types; }},
    {"TAXII2_PATTERN_TYPES_TO_IGNORE", "yara,sigma",
     [](const Settings& s) { return s.taxii2.pattern_types_to_ignore == std::vector<std::string>{"yara", "sigma"}; }},
    {"TAXII2_IGNORE_OBJECT_TYPES", "true", [](const Settings& s) { return s.taxii2.ignore_object_types; }},
    {"TAXII2_OBJECT_TYPES_TO_IGNORE", "report,note",
     [](const Settings& s) { return s.taxii2.object_types_to_ignore == std::vector<std::string>{"report", "note"}; }},
    {"TAXII2_IGNORE_SPECIFIC_PATTERNS", "true", [](const Settings& s) { return s.taxii2.ignore_specific_patterns; }},
    {"TAXII2_PATTERNS_TO_IGNORE", "10.0.0.", [](const Settings& s) { return s.taxii2.patterns_to_ignore == std::vector<std::string>{"10.0.0."}; }},
    {"TAXII2_IGNORE_SPECIFIC_NOTES", "true", [](const Settings& s) { return s.taxii2.ignore_specific_notes; }},
    {"TAXII2_NOTES_TO_IGNORE", "AUTOGENERATED",
     [](const Settings& s) { return s.taxii2.notes_to_ignore == std::vector<std::string>{"AUTOGENERATED"}; }},
    {"TAXII2_SAVE_ORIGINAL_INDICATOR_ID_TO_NOTE", "true",
     [](const Settings& s) { return s.taxii2.save_original_indicator_id_to_note; }},
    {"TAXII2_SAVE_ORIGINAL_INDICATOR_ID_ABSTRACT", "Original id",
     [](const Settings& s) { return s.taxii2.save_original_indicator_id_abstract == "Original id"; }},
    {"TAXII2_CHANGE_REPORT_STATUS", "true", [](const Settings& s) { return s.taxii2.change_report_status; }},
    {"TAXII2_CHANGE_REPORT_STATUS_X_OPENCTI_WORKFLOW_ID", "w-42",
     [](const Settings& s) { return s.taxii2.change_report_status_x_opencti_workflow_id == "w-42"; }},
};

// A generic-mode environment holding every variable at once, as a taxii2 connector deployment
// would: the values above, all together, are one valid configuration.
Environment everything() {
  Environment env{{"CONNECTOR_ID", kConnectorId}};
  for (const auto& variable : kVariables) env[variable.env] = variable.value;
  env["TAXII2_USE_APIKEY"] = "false";  // use_token wins anyway; one authentication at a time
  return env;
}

TEST(Taxii2Variables, EveryVariableIsAcceptedWithItsMeaning) {
  const LoadResult result = load("", everything());
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  for (const auto& variable : kVariables) {
    if (std::string(variable.env) == "TAXII2_USE_APIKEY" || std::string(variable.env) == "TAXII2_USERNAME" ||
        std::string(variable.env) == "TAXII2_PASSWORD") {
      continue;  // authentication choices: each checked alone below
    }
    if (std::string(variable.env) == "TAXII2_INTERVAL") continue;  // CONNECTOR_DURATION_PERIOD wins, as there
    EXPECT_TRUE(variable.meaning(result.settings)) << variable.env << "=" << variable.value;
    EXPECT_EQ(origin(result, [&] {
                for (const auto& key : known_keys())
                  if (env_name_for(key) == variable.env) return key;
                return std::string();
              }()),
              std::string("env ") + variable.env)
        << variable.env << " is not a known variable";
  }
}

TEST(Taxii2Variables, EachVariableAloneDoesWhatItSays) {
  for (const auto& variable : kVariables) {
    Environment env{{"CONNECTOR_ID", kConnectorId}, {"OPENCTI_URL", "https://opencti.example.org"},
                    {"OPENCTI_TOKEN", "opencti-token-0123456789abcdef"}, {"TAXII2_DISCOVERY_URL", kDiscovery}};
    env[variable.env] = variable.value;
    const std::string name = variable.env;
    // Settings that need their companion, as in the taxii2 connector.
    if (name == "TAXII2_USERNAME") env["TAXII2_PASSWORD"] = "pw";
    if (name == "TAXII2_PASSWORD") env["TAXII2_USERNAME"] = "reader";
    if (name == "TAXII2_USE_TOKEN") env["TAXII2_TOKEN"] = "bearer-token-0123456789";
    if (name == "TAXII2_USE_APIKEY") {
      env["TAXII2_APIKEY_KEY"] = "X-Api-Key";
      env["TAXII2_APIKEY_VALUE"] = "api-key-0123456789abc";
    }
    if (name == "TAXII2_USE_CERT") env["TAXII2_CERT_PATH"] = "/dev/null";
    static const std::map<std::string, std::pair<std::string, std::string>> kCompanions{
        {"TAXII2_ADD_CUSTOM_LABEL", {"TAXII2_CUSTOM_LABEL", "my-feed"}},
        {"TAXII2_STIX_CUSTOM_PROPERTY_TO_LABEL", {"TAXII2_STIX_CUSTOM_PROPERTY", "x_category"}},
        {"TAXII2_CREATE_AUTHOR", {"TAXII2_AUTHOR_NAME", "ACME"}},
        {"TAXII2_EXCLUDE_SPECIFIC_LABELS", {"TAXII2_LABELS_TO_EXCLUDE", "^tlp:"}},
        {"TAXII2_REPLACE_CHARACTERS_IN_LABEL", {"TAXII2_CHARACTERS_TO_REPLACE_IN_LABEL", "_:-"}},
        {"TAXII2_IGNORE_PATTERN_TYPES", {"TAXII2_PATTERN_TYPES_TO_IGNORE", "yara"}},
        {"TAXII2_IGNORE_OBJECT_TYPES", {"TAXII2_OBJECT_TYPES_TO_IGNORE", "note"}},
        {"TAXII2_IGNORE_SPECIFIC_PATTERNS", {"TAXII2_PATTERNS_TO_IGNORE", "10.0.0."}},
        {"TAXII2_IGNORE_SPECIFIC_NOTES", {"TAXII2_NOTES_TO_IGNORE", "AUTO"}},
        {"TAXII2_CHANGE_REPORT_STATUS", {"TAXII2_CHANGE_REPORT_STATUS_X_OPENCTI_WORKFLOW_ID", "w-1"}},
    };
    if (auto companion = kCompanions.find(name); companion != kCompanions.end()) {
      env[companion->second.first] = companion->second.second;
    }
    const LoadResult result = load("", env);
    EXPECT_TRUE(result.ok()) << name << ": " << joined(result.errors);
    EXPECT_TRUE(variable.meaning(result.settings)) << name << "=" << variable.value;
  }
}

TEST(Taxii2Variables, DefaultsAreTheTaxii2ConnectorsWhereItHasOne) {
  const LoadResult result = load("", {{"CONNECTOR_ID", kConnectorId},
                                      {"OPENCTI_URL", "https://opencti.example.org"},
                                      {"OPENCTI_TOKEN", "opencti-token-0123456789abcdef"},
                                      {"TAXII2_DISCOVERY_URL", kDiscovery}});
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  const auto& t = result.settings.taxii2;
  EXPECT_EQ(result.settings.connector.name, "TAXII2");
  EXPECT_EQ(result.settings.connector.scope, "ipv4-addr,ipv6-addr,vulnerability,domain,url,file-sha256,file-md5,file-sha1");
  EXPECT_EQ(result.settings.run_interval(), std::chrono::hours{1});  // TAXII2_INTERVAL 1 (PT1H)
  EXPECT_EQ(t.auth(), Taxii2Auth::None);
  EXPECT_EQ(t.collections, std::vector<std::string>{"*.*"});
  EXPECT_EQ(t.initial_history_hours, 24);
  EXPECT_TRUE(t.verify_ssl);
  EXPECT_TRUE(t.create_indicators);
  EXPECT_TRUE(t.create_observables);
  EXPECT_EQ(t.url_query_limit, 100);
  EXPECT_EQ(t.default_x_opencti_score, 50);
  EXPECT_EQ(t.indicator_high_score, 80);
  EXPECT_EQ(t.indicator_medium_score, 60);
  EXPECT_EQ(t.indicator_low_score, 40);
  // Differences, documented in README: TAXII2_V21 unset means "detected" (there: true), so a 2.0
  // server works without it.
  EXPECT_FALSE(t.v21.has_value());
}

TEST(Taxii2Variables, TheSamplesChangeMeOnUnusedKeysIsFineButNotOnUsedOnes) {
  // The taxii2 connector's docker-compose fills every unused key with ChangeMe.
  Environment env{{"CONNECTOR_ID", kConnectorId}, {"OPENCTI_URL", "https://opencti.example.org"},
                  {"OPENCTI_TOKEN", "opencti-token-0123456789abcdef"}, {"TAXII2_DISCOVERY_URL", kDiscovery},
                  {"TAXII2_USE_TOKEN", "true"}, {"TAXII2_TOKEN", "bearer-token-0123456789"},
                  {"TAXII2_USERNAME", "ChangeMe"}, {"TAXII2_PASSWORD", "ChangeMe"}, {"TAXII2_APIKEY_KEY", "ChangeMe"},
                  {"TAXII2_APIKEY_VALUE", "ChangeMe"}, {"TAXII2_CUSTOM_LABEL", "ChangeMe"},
                  {"TAXII2_LABELS_TO_EXCLUDE", "ChangeMe"}, {"TAXII2_STIX_CUSTOM_PROPERTY", "ChangeMe"},
                  {"TAXII2_CHANGE_REPORT_STATUS_X_OPENCTI_WORKFLOW_ID", "ChangeMe"}};
  const LoadResult unused = load("", env);
  EXPECT_TRUE(unused.ok()) << joined(unused.errors);
  env["TAXII2_ADD_CUSTOM_LABEL"] = "true";
  const LoadResult used = load("", env);
  ASSERT_FALSE(used.ok());
  EXPECT_TRUE(mentions(used.errors, "taxii2.custom_label is the placeholder 'ChangeMe'")) << joined(used.errors);
}

TEST(Taxii2Variables, PlainHttpIsRefusedUnlessAllowedAndTheRefusalSaysHow) {
  Environment env{{"CONNECTOR_ID", kConnectorId}, {"OPENCTI_URL", "https://opencti.example.org"},
                  {"OPENCTI_TOKEN", "opencti-token-0123456789abcdef"},
                  {"TAXII2_DISCOVERY_URL", "http://taxii.example.org/taxii2/"}};
  const LoadResult refused = load("", env);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(mentions(refused.errors, "TAXII2_ALLOW_INSECURE_HTTP")) << joined(refused.errors);
  EXPECT_TRUE(mentions(refused.errors, "taxii2.allow_insecure_http: true")) << joined(refused.errors);
  env["TAXII2_ALLOW_INSECURE_HTTP"] = "true";
  const LoadResult allowed = load("", env);
  EXPECT_TRUE(allowed.ok()) << joined(allowed.errors);
  EXPECT_TRUE(mentions(allowed.warnings, "plain http")) << joined(allowed.warnings);
}

TEST(Taxii2Variables, BadValuesAreClearErrorsNamingTheKeyAndNeverTheSecret) {
  Environment env{{"CONNECTOR_ID", kConnectorId}, {"OPENCTI_URL", "https://opencti.example.org"},
                  {"OPENCTI_TOKEN", "opencti-token-0123456789abcdef"}, {"TAXII2_DISCOVERY_URL", kDiscovery},
                  {"TAXII2_USE_APIKEY", "true"}, {"TAXII2_APIKEY_KEY", "X Api Key"}, {"TAXII2_APIKEY_VALUE", kSecret},
                  {"TAXII2_COLLECTIONS", "justaname"}, {"TAXII2_EXCLUDE_SPECIFIC_LABELS", "true"},
                  {"TAXII2_LABELS_TO_EXCLUDE", "(unclosed"}, {"TAXII2_REPLACE_CHARACTERS_IN_LABEL", "true"},
                  {"TAXII2_CHARACTERS_TO_REPLACE_IN_LABEL", "nocolon"}, {"TAXII2_CREATE_AUTHOR", "true"},
                  {"TAXII2_USE_CERT", "true"}};
  const LoadResult result = load("", env);
  ASSERT_FALSE(result.ok());
  for (const char* expected : {"taxii2.apikey_key is 'X Api Key', not an HTTP header name",
                               "taxii2.collections entry 'justaname' is not api_root.collection",
                               "taxii2.labels_to_exclude has '(unclosed', not a valid regular expression",
                               "taxii2.characters_to_replace_in_label has 'nocolon', not find:replace",
                               "taxii2.author_name is not set but taxii2.create_author is true",
                               "taxii2.use_cert is true"}) {
    EXPECT_TRUE(mentions(result.errors, expected)) << expected << "\n" << joined(result.errors);
  }
  EXPECT_EQ(joined(result.errors).find(kSecret), std::string::npos);
  for (const auto& line : describe_settings(result.settings)) EXPECT_EQ(line.value.find(kSecret), std::string::npos);
}

TEST(Taxii2Variables, WithoutADiscoveryUrlTheKasperskyModeStaysAndSaysSo) {
  const Environment env = valid_environment_with({{"TAXII2_USE_TOKEN", "true"}});
  const LoadResult result = load("", env);
  EXPECT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_FALSE(result.settings.taxii2.enabled());
  EXPECT_TRUE(mentions(result.warnings, "taxii2.discovery_url is not")) << joined(result.warnings);
}

}  // namespace
}  // namespace kfc
