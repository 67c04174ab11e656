#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config_test_support.h"
#include "kfc/config/pem.h"
#include "kfc/config/values.h"

namespace kfc {
namespace {

using namespace std::chrono_literals;
using namespace kfc::testing;

const SystemTime kNow = *parse_date_or_timestamp("2026-01-01");

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir()
      : path_(std::filesystem::temp_directory_path() /
              ("kfc-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name) << content;
    return (path_ / name).string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(Loader, MinimalEnvironmentIsValidWithReferenceDefaults) {
  const LoadResult result = load("");
  EXPECT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_TRUE(result.warnings.empty()) << joined(result.warnings);
  const Settings& s = result.settings;
  EXPECT_EQ(s.kaspersky.api_root, "https://taxii.tip.kaspersky.com/v2");
  EXPECT_EQ(s.kaspersky.connection_timeout, 60s);
  EXPECT_EQ(s.kaspersky.collections, std::vector<std::string>{"TAXII_*_Data_Feed"});
  EXPECT_EQ(s.connector.label_format, LabelFormat::Legacy);
  EXPECT_EQ(s.run_interval(), 3600s);
  EXPECT_EQ(s.kaspersky.api_token->secret().reveal(), kSecret);
  EXPECT_EQ(s.kaspersky.api_token->origin(), TokenOrigin::Environment);
  EXPECT_EQ(origin(result, "kaspersky.api_token"), "env KASPERSKY_API_TOKEN");
  EXPECT_EQ(origin(result, "kaspersky.api_root"), "default");
  // Tokens are never null, even when not configured.
  ASSERT_TRUE(s.opentip.api_key);
  EXPECT_EQ(s.opentip.api_key->origin(), TokenOrigin::Unset);
}

TEST(Loader, EnvironmentBeatsFileBeatsDefault) {
  const std::string yaml = "kaspersky:\n  connection_timeout: 30\n  update_interval: 120\n";
  const Environment env = valid_environment_with({{"KASPERSKY_CONNECTION_TIMEOUT", "45"}});
  const LoadResult result = load(yaml, env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.kaspersky.connection_timeout, 45s);
  EXPECT_EQ(origin(result, "kaspersky.connection_timeout"), "env KASPERSKY_CONNECTION_TIMEOUT");
  EXPECT_EQ(result.settings.kaspersky.update_interval, 120s);
  EXPECT_EQ(origin(result, "kaspersky.update_interval"), "config.yml");
  EXPECT_EQ(result.settings.kaspersky.initial_history, 604800s);
  EXPECT_EQ(origin(result, "kaspersky.initial_history"), "default");
}

TEST(Loader, EmptyEnvironmentValueFallsBack) {
  const Environment env = valid_environment_with({{"KASPERSKY_CONNECTION_TIMEOUT", ""}, {"CONNECTOR_NAME", ""}});
  const LoadResult result = load("kaspersky:\n  connection_timeout: 30\n", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.kaspersky.connection_timeout, 30s);
  EXPECT_EQ(result.settings.connector.name, "Kaspersky Feeds");
}

TEST(Loader, BooleansInAnyCase) {
  const Environment env = valid_environment_with({
      {"KASPERSKY_SSL_VERIFY", "No"},
      {"CONNECTOR_RUN_AND_TERMINATE", "YES"},
  });
  const LoadResult result = load("kaspersky:\n  create_observables: FALSE\nopencti:\n  ssl_verify: no\n", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_FALSE(result.settings.kaspersky.ssl_verify);
  EXPECT_TRUE(result.settings.connector.run_and_terminate);
  EXPECT_FALSE(result.settings.kaspersky.create_observables);
  EXPECT_FALSE(result.settings.opencti.ssl_verify);
}

// The reference reads config.yml with PyYAML and takes a non-text value by truthiness: unquoted 1/0,
// on/off keep that meaning here. Quoted text and environment values are text, which the reference
// rejects unless it is true/false/yes/no, so they are errors here too.
TEST(Loader, UnquotedYamlNumbersAndOnOffAreBooleansByTruthinessLikeTheReference) {
  const LoadResult result = load(
      "kaspersky:\n  ssl_verify: 0\n  create_observables: off\n  expand_objects: 1\n  create_indicators: 2\n"
      "opencti:\n  ssl_verify: 0.0\nconnector:\n  run_and_terminate: On\n");
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_FALSE(result.settings.kaspersky.ssl_verify);
  EXPECT_FALSE(result.settings.kaspersky.create_observables);
  EXPECT_TRUE(result.settings.kaspersky.expand_objects);
  EXPECT_TRUE(result.settings.kaspersky.create_indicators);
  EXPECT_FALSE(result.settings.opencti.ssl_verify);
  EXPECT_TRUE(result.settings.connector.run_and_terminate);

  const LoadResult quoted = load("kaspersky:\n  ssl_verify: '0'\n");
  EXPECT_TRUE(mentions(quoted.errors, "'kaspersky.ssl_verify' contains invalid boolean value: '0'")) << joined(quoted.errors);

  const Environment env = valid_environment_with({{"KASPERSKY_SSL_VERIFY", "0"}});
  const LoadResult from_env = load("", env);
  EXPECT_TRUE(mentions(from_env.errors, "'kaspersky.ssl_verify' contains invalid boolean value: '0' (from env "
                                        "KASPERSKY_SSL_VERIFY)"))
      << joined(from_env.errors);

  EXPECT_TRUE(mentions(load("kaspersky:\n  ssl_verify: maybe\n").errors, "invalid boolean value: 'maybe'"));
}

TEST(Loader, InvalidBooleanUsesReferenceWordingAndNamesTheSource) {
  const Environment env = valid_environment_with({{"KASPERSKY_SSL_VERIFY", "maybe"}});
  const LoadResult result = load("", env);
  ASSERT_EQ(result.errors.size(), 1u) << joined(result.errors);
  EXPECT_TRUE(result.errors[0].starts_with(
      "Invalid configuration: 'kaspersky.ssl_verify' contains invalid boolean value: 'maybe'"))
      << result.errors[0];
  EXPECT_NE(result.errors[0].find("env KASPERSKY_SSL_VERIFY"), std::string::npos);
}

TEST(Loader, NumbersAreCheckedAndRanged) {
  const LoadResult result = load(
      "kaspersky:\n  connection_timeout: 60.5\n  initial_history: -1\nconnector:\n  confidence_level: 101\n"
      "  metrics_port: 70000\n  queue_threshold: lots\ntokens:\n  expiry_warning_days: x\n");
  EXPECT_EQ(result.errors.size(), 6u) << joined(result.errors);
  EXPECT_TRUE(mentions(result.errors,
                       "Invalid configuration: 'kaspersky.connection_timeout' contains invalid integer value: '60.5'"));
  EXPECT_TRUE(mentions(result.errors, "kaspersky.initial_history is -1, outside the allowed range"));
  EXPECT_TRUE(mentions(result.errors, "connector.confidence_level is 101, outside the allowed range 0..100"));
  EXPECT_TRUE(mentions(result.errors, "connector.metrics_port is 70000"));
  EXPECT_TRUE(mentions(result.errors, "'connector.queue_threshold' contains invalid number value: 'lots'"));
  EXPECT_TRUE(mentions(result.errors, "'tokens.expiry_warning_days' contains invalid integer value: 'x'"));
  // A bad value leaves the default in place.
  EXPECT_EQ(result.settings.kaspersky.connection_timeout, 60s);
}

TEST(Loader, ChoicesUseReferenceWording) {
  const Environment env = valid_environment_with({{"CONNECTOR_LABEL_FORMAT", "fancy"}});
  const LoadResult result = load("connector:\n  description_mode: replace\n  queue_protocol: Api\n", env);
  EXPECT_EQ(result.errors.size(), 2u) << joined(result.errors);
  EXPECT_TRUE(mentions(result.errors, "Invalid configuration: 'connector.label_format' contains invalid value: "
                                      "'fancy'. Supported values: legacy, new, both (from env CONNECTOR_LABEL_FORMAT)"));
  EXPECT_TRUE(mentions(result.errors, "Invalid configuration: 'connector.description_mode' contains invalid value: "
                                      "'replace'. Supported values: overwrite, skip, create_only (from config.yml)"));
  EXPECT_EQ(result.settings.connector.queue_protocol, QueueProtocol::Api);
}

TEST(Loader, ConnectorTypeIsOneOpenCtiKnows) {
  EXPECT_EQ(load("connector:\n  type: internal_enrichment\n").settings.connector.type, "INTERNAL_ENRICHMENT");
  const LoadResult typo = load("connector:\n  type: EXTERNAL_IMPRT\n");
  EXPECT_TRUE(mentions(typo.errors, "'connector.type' contains invalid value: 'EXTERNAL_IMPRT'. Supported values: "
                                    "EXTERNAL_IMPORT, INTERNAL_ENRICHMENT (from config.yml)"))
      << joined(typo.errors);
}

TEST(Loader, DurationPeriodWinsOverUpdateInterval) {
  Environment env = valid_environment_with({{"CONNECTOR_DURATION_PERIOD", "P1DT2H"}});
  const LoadResult result = load("kaspersky:\n  update_interval: 60\n", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.connector.duration_period, 93600s);
  EXPECT_EQ(result.settings.run_interval(), 93600s);

  for (const char* bad : {"1h", "PT0S", "P1Y"}) {
    env["CONNECTOR_DURATION_PERIOD"] = bad;
    const LoadResult broken = load("", env);
    ASSERT_EQ(broken.errors.size(), 1u) << bad;
    EXPECT_NE(broken.errors[0].find("connector.duration_period"), std::string::npos);
  }
}

TEST(Loader, CollectionsFromYamlListOrCommaSeparatedEnvironment) {
  const LoadResult yaml = load("kaspersky:\n  collections:\n    - TAXII_Demo_IP_Reputation_Data_Feed\n    - abc-123\n");
  ASSERT_TRUE(yaml.ok()) << joined(yaml.errors);
  EXPECT_EQ(yaml.settings.kaspersky.collections,
            (std::vector<std::string>{"TAXII_Demo_IP_Reputation_Data_Feed", "abc-123"}));

  Environment env = valid_environment_with({{"KASPERSKY_COLLECTIONS", "TAXII_A_Data_Feed, TAXII_B_*"}});
  const LoadResult from_env = load("", env);
  EXPECT_EQ(from_env.settings.kaspersky.collections, (std::vector<std::string>{"TAXII_A_Data_Feed", "TAXII_B_*"}));

  env["KASPERSKY_COLLECTIONS"] = " , ";
  EXPECT_TRUE(mentions(load("", env).errors, "kaspersky.collections is empty"));
  EXPECT_TRUE(mentions(load("kaspersky:\n  connection_timeout: [1, 2]\n").errors,
                       "kaspersky.connection_timeout in config.yml must be a single value"));
}

TEST(Loader, MqOverridesAndTlsOptions) {
  Environment env = valid_environment_with({
      {"MQ_HOST", "rabbit.internal"},
      {"MQ_PORT", "5671"},
      {"MQ_USE_SSL", "true"},
      {"MQ_PASS", kSecret},
  });
  ScratchDir dir;
  const std::string ca = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  env["MQ_USE_SSL_CA"] = ca;
  env["MQ_USE_SSL_REJECT_UNAUTHORIZED"] = "false";
  const LoadResult result = load("mq:\n  user: opencti\n  vhost: /\n", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  const MqSettings& mq = result.settings.mq;
  EXPECT_EQ(mq.host, "rabbit.internal");
  EXPECT_EQ(mq.port, 5671);
  EXPECT_EQ(mq.use_ssl, true);
  EXPECT_EQ(mq.user, "opencti");
  EXPECT_EQ(mq.vhost, "/");
  ASSERT_TRUE(mq.pass);
  EXPECT_EQ(mq.pass->reveal(), kSecret);
  EXPECT_EQ(mq.ssl_ca, ca);
  EXPECT_FALSE(mq.ssl_reject_unauthorized);
  EXPECT_FALSE(load("").settings.mq.host);  // unset means "use what OpenCTI advertises"
}

// pycti hands opencti.ssl_verify to requests' `verify`: a boolean, or the path of a CA bundle.
TEST(Loader, OpenCtiSslVerifyTakesABooleanOrACaBundlePath) {
  ScratchDir dir;
  const std::string ca = dir.write("opencti-ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  Environment env = valid_environment_with({{"OPENCTI_SSL_VERIFY", ca}});
  const LoadResult with_ca = load("", env);
  ASSERT_TRUE(with_ca.ok()) << joined(with_ca.errors);
  EXPECT_TRUE(with_ca.settings.opencti.ssl_verify);
  EXPECT_EQ(with_ca.settings.opencti.ssl_ca_file, ca);
  for (const auto& line : describe_settings(with_ca.settings)) {
    if (line.key == "opencti.ssl_verify") {
      EXPECT_EQ(line.value, ca);
    }
  }

  env["OPENCTI_SSL_VERIFY"] = "false";
  const LoadResult off = load("", env);
  EXPECT_FALSE(off.settings.opencti.ssl_verify);
  EXPECT_TRUE(off.settings.opencti.ssl_ca_file.empty());
  EXPECT_TRUE(load("opencti:\n  ssl_verify: 0\n").settings.opencti.ssl_ca_file.empty());  // a YAML number stays a boolean

  env["OPENCTI_SSL_VERIFY"] = (dir.path() / "missing.pem").string();
  const LoadResult missing = load("", env);
  EXPECT_TRUE(mentions(missing.errors, "opencti.ssl_verify is '" + (dir.path() / "missing.pem").string() +
                                           "' (from env OPENCTI_SSL_VERIFY): neither true/false nor a readable CA "
                                           "bundle file (No such file or directory)"))
      << joined(missing.errors);
}

// Plain http to OpenCTI is worth a warning only where it crosses a network.
TEST(Loader, PlainHttpToOpenCtiWarnsOnlyForAHostBeyondLoopback) {
  Environment env = valid_environment();
  for (const char* url : {"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"}) {
    env["OPENCTI_URL"] = url;
    EXPECT_FALSE(mentions(load("", env).warnings, "plain http")) << url;
  }
  env["OPENCTI_URL"] = "http://opencti:8080";
  EXPECT_TRUE(mentions(load("", env).warnings, "opencti.url uses plain http to opencti (from env OPENCTI_URL)"));
}

TEST(Loader, MqTlsFilesAreCheckedAtStart) {
  ScratchDir dir;
  const std::string cert = dir.write("client.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  Environment env = valid_environment_with({{"MQ_USE_SSL_CA", (dir.path() / "missing-ca.pem").string()}});
  env["MQ_USE_SSL_CERT"] = dir.path().string();  // a directory
  const LoadResult result = load("mq:\n  use_ssl_key: " + cert + "\n", env);
  EXPECT_TRUE(mentions(result.errors, "mq.use_ssl_ca names the file " + (dir.path() / "missing-ca.pem").string() +
                                          ", which cannot be read: No such file or directory (from env MQ_USE_SSL_CA)"))
      << joined(result.errors);
  EXPECT_TRUE(mentions(result.errors, "mq.use_ssl_cert names the file " + dir.path().string() +
                                          ", which cannot be read: it is a directory (from env MQ_USE_SSL_CERT)"))
      << joined(result.errors);
  EXPECT_EQ(result.errors.size(), 2u) << joined(result.errors);  // use_ssl_key is a readable file

  env.erase("MQ_USE_SSL_CA");
  env["MQ_USE_SSL_CERT"] = cert;
  EXPECT_TRUE(load("mq:\n  use_ssl_key: " + cert + "\n", env).ok());

  // A client certificate needs its key, and the other way round.
  env.erase("MQ_USE_SSL_CERT");
  const LoadResult key_only = load("mq:\n  use_ssl_key: " + cert + "\n", env);
  EXPECT_TRUE(mentions(key_only.errors, "mq.use_ssl_key is set (from config.yml) but mq.use_ssl_cert is not"))
      << joined(key_only.errors);
}

// pycti takes the PEM text itself in MQ_USE_SSL_CA/_CERT/_KEY (a Kubernetes secret as an environment
// variable): accepted and never shown (the AMQP tests check it is loaded from memory, never written).
TEST(Loader, MqTlsPemTextIsAcceptedAndNeverShown) {
  const std::string key_pem = std::string("-----BEGIN PRIVATE KEY-----\n") + kSecret + "\n-----END PRIVATE KEY-----\n";
  const std::string cert_pem = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
  Environment env = valid_environment_with({
      {"MQ_USE_SSL_KEY", key_pem},
      {"MQ_USE_SSL_CERT", cert_pem},
      {"MQ_USE_SSL_CA", cert_pem},
  });
  const LoadResult result = load("", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.mq.ssl_key, key_pem);
  for (const auto& line : describe_settings(result.settings)) {
    EXPECT_EQ(line.value.find(kSecret), std::string::npos) << line.key;
    if (line.key == "mq.use_ssl_key") {
      EXPECT_EQ(line.value, fmt::format("(PEM text, {} characters)", key_pem.size()));
    }
  }

  EXPECT_TRUE(is_pem_text("  \n" + key_pem));
  EXPECT_FALSE(is_pem_text("/etc/ssl/ca.pem"));  // a path stays a path

  // Broken key material: an error naming the key, never its content.
  env["MQ_USE_SSL_KEY"] = std::string("-----BEGIN PRIVATE KEY-----\n") + kSecret + "\n";
  const LoadResult truncated = load("", env);
  EXPECT_TRUE(mentions(truncated.errors, "mq.use_ssl_key holds PEM text without its -----END line (from env "
                                         "MQ_USE_SSL_KEY)"))
      << joined(truncated.errors);
  env["MQ_USE_SSL_KEY"] = std::string(kSecret) + "\nMIIEvQ\n";
  const LoadResult headerless = load("", env);
  EXPECT_TRUE(mentions(headerless.errors, "mq.use_ssl_key is neither a file path nor PEM text"))
      << joined(headerless.errors);
  for (const auto& output : {truncated.errors, truncated.warnings, headerless.errors, headerless.warnings}) {
    EXPECT_EQ(joined(output).find(kSecret), std::string::npos) << joined(output);
  }
}

TEST(Loader, OpenCtiConventions) {
  Environment env = valid_environment_with({
      {"OPENCTI_JSON_LOGGING", "true"},
      {"OPENCTI_CUSTOM_HEADERS", "X-Proxy-Auth:" + std::string(kSecret) + ";X-Team:cti"},
      {"CONNECTOR_QUEUE_PROTOCOL", "api"},
      {"CONNECTOR_QUEUE_THRESHOLD", "250.5"},
      {"CONNECTOR_EXPOSE_METRICS", "yes"},
      {"CONNECTOR_METRICS_PORT", "9100"},
  });
  const LoadResult result = load("", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_TRUE(result.settings.opencti.json_logging);
  EXPECT_EQ(result.settings.connector.queue_protocol, QueueProtocol::Api);
  EXPECT_DOUBLE_EQ(result.settings.connector.queue_threshold_mb, 250.5);
  EXPECT_TRUE(result.settings.connector.expose_metrics);
  EXPECT_EQ(result.settings.connector.metrics_port, 9100);
  for (const auto& line : describe_settings(result.settings)) {
    if (line.key == "opencti.custom_headers") {
      EXPECT_EQ(line.value, "X-Proxy-Auth:****;X-Team:****");
    }
  }
  env["OPENCTI_CUSTOM_HEADERS"] = "no-colon-here";
  EXPECT_TRUE(mentions(load("", env).errors, "opencti.custom_headers has a malformed entry"));
}

TEST(Loader, RequiredKeysAndPlaceholdersAllReportedAtOnce) {
  const LoadResult result = load(
      "opencti:\n  url: 'http://opencti:8080'\n  token: 'ChangeMe'\nconnector:\n  id: 'ChangeMe'\n"
      "kaspersky:\n  api_token: 'ChangeMe'\n",
      {});
  EXPECT_EQ(result.errors.size(), 3u) << joined(result.errors);
  EXPECT_TRUE(mentions(result.errors, "connector.id is the placeholder 'ChangeMe' (from config.yml)"));
  EXPECT_TRUE(mentions(result.errors, "opencti.token is the placeholder 'ChangeMe'"));
  EXPECT_TRUE(mentions(result.errors, "kaspersky.api_token is the placeholder 'ChangeMe'"));
  EXPECT_TRUE(mentions(result.warnings, "opencti.url uses plain http"));

  const LoadResult empty = load("", {});
  EXPECT_EQ(empty.errors.size(), 4u) << joined(empty.errors);
  EXPECT_TRUE(mentions(empty.errors, "connector.id is missing — set connector.id in config.yml or the environment "
                                     "variable CONNECTOR_ID"));
  EXPECT_TRUE(mentions(empty.errors, "kaspersky.api_token is missing"));
  EXPECT_TRUE(mentions(empty.errors, "opencti.url is missing"));
  EXPECT_TRUE(mentions(empty.errors, "opencti.token is missing"));
}

TEST(Loader, OpenCtiKeysRequiredOnlyForOpenCtiOutput) {
  Environment env{{"CONNECTOR_ID", kConnectorId}, {"KASPERSKY_API_TOKEN", kSecret}, {"CONNECTOR_OUTPUT", "stdout"}};
  EXPECT_TRUE(load("", env).ok()) << joined(load("", env).errors);
  env["CONNECTOR_OUTPUT"] = "directory";
  EXPECT_TRUE(mentions(load("", env).errors, "connector.output is 'directory' (from env CONNECTOR_OUTPUT) but "
                                             "connector.output_dir is not set"));
  env["CONNECTOR_OUTPUT_DIR"] = "/tmp/bundles";
  const LoadResult result = load("connector:\n  state_file: /tmp/state.json\n", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_EQ(result.settings.connector.output, OutputKind::Directory);
  EXPECT_EQ(result.settings.connector.output_dir, "/tmp/bundles");
  EXPECT_EQ(result.settings.connector.state_file, "/tmp/state.json");
}

TEST(Loader, MalformedUuidAndUrls) {
  const Environment env = valid_environment_with({
      {"CONNECTOR_ID", "not-a-uuid"},
      {"OPENCTI_URL", "opencti:8080"},
      {"KASPERSKY_API_ROOT", "taxii.tip.kaspersky.com/v2"},
      {"OPENTIP_URL", "ftp://opentip"},
  });
  const LoadResult result = load("", env);
  EXPECT_EQ(result.errors.size(), 4u) << joined(result.errors);
  EXPECT_TRUE(mentions(result.errors, "connector.id is 'not-a-uuid', not a UUID (from env CONNECTOR_ID)"));
  EXPECT_TRUE(mentions(result.errors, "opencti.url is 'opencti:8080', not an http(s) URL"));
  EXPECT_TRUE(mentions(result.errors, "kaspersky.api_root is 'taxii.tip.kaspersky.com/v2', not an http(s) URL"));
  EXPECT_TRUE(mentions(result.errors, "opentip.url is 'ftp://opentip'"));
}

TEST(Loader, PlainHttpKasperskyRootRefusedUnlessAllowed) {
  const Environment env = valid_environment_with({{"KASPERSKY_API_ROOT", "HTTP://127.0.0.1:9000/v2"}});
  const LoadResult refused = load("", env);
  ASSERT_EQ(refused.errors.size(), 1u);
  EXPECT_TRUE(refused.errors[0].starts_with(
      "Insecure HTTP connection with the Kaspersky Threat Intelligence Portal TAXII server is forbidden. Please "
      "configure HTTPS protocol usage to make connections with the TAXII server secure."));
  EXPECT_NE(refused.errors[0].find("env KASPERSKY_API_ROOT"), std::string::npos);

  const LoadResult allowed = load("kaspersky:\n  allow_insecure_http: true\n", env);
  EXPECT_TRUE(allowed.ok()) << joined(allowed.errors);
  EXPECT_TRUE(mentions(allowed.warnings, "kaspersky.api_root uses plain http"));
}

TEST(Loader, PlainHttpOpenTipRefusedUnlessAllowed) {
  Environment env = valid_environment_with({{"OPENTIP_URL", "http://127.0.0.1:9001/api/v1/"}});
  EXPECT_TRUE(mentions(load("", env).errors, "opentip.url uses plain http (from env OPENTIP_URL)"));
  env["OPENTIP_ALLOW_INSECURE_HTTP"] = "yes";
  EXPECT_TRUE(load("", env).ok());
}

TEST(Loader, ReferenceInvalidCombinationsExactMessagesInOrder) {
  const std::string expand_message =
      "Invalid configuration: 'kaspersky.expand_objects' and 'kaspersky.create_indicators' are both set to "
      "'false'.\nNo STIX objects will be produced with this configuration. At least one of these options must be "
      "enabled.";
  const std::string observables_message =
      "Invalid configuration: 'kaspersky.create_indicators' and 'kaspersky.create_observables' are both set to "
      "'false'.\nAt least one must be set to 'true' to ensure meaningful STIX output.";

  const LoadResult first = load("kaspersky:\n  expand_objects: false\n  create_indicators: false\n");
  ASSERT_EQ(first.errors.size(), 1u);
  EXPECT_TRUE(first.errors[0].starts_with(expand_message)) << first.errors[0];

  const LoadResult second = load("kaspersky:\n  create_indicators: false\n  create_observables: false\n");
  ASSERT_EQ(second.errors.size(), 1u);
  EXPECT_TRUE(second.errors[0].starts_with(observables_message)) << second.errors[0];

  // All three false: the reference reports the first one.
  const LoadResult all = load("kaspersky:\n  expand_objects: no\n  create_indicators: no\n  create_observables: no\n");
  ASSERT_EQ(all.errors.size(), 1u);
  EXPECT_TRUE(all.errors[0].starts_with(expand_message));

  EXPECT_TRUE(load("kaspersky:\n  expand_objects: false\n  create_observables: false\n").ok());
}

TEST(Loader, UnknownKeysWarnWithClosestKnownKey) {
  Environment env = valid_environment_with({{"KASPERSKY_API_TOKN", "x"}, {"KASPERSKY_SOMETHING_ELSE_ENTIRELY", "x"}});
  env["CONNECTOR_AUTO"] = "true";  // another pycti key: not ours, not a typo of ours
  const LoadResult result = load("kaspersky:\n  colections: [a]\n  api_tokne: x\nkasperski:\n  a: 1\n", env);
  EXPECT_TRUE(result.ok()) << joined(result.errors);
  EXPECT_TRUE(mentions(result.warnings,
                       "unknown key 'kaspersky.colections' in config.yml ignored — did you mean 'kaspersky.collections'?"));
  EXPECT_TRUE(mentions(result.warnings, "did you mean 'kaspersky.api_token'?"));
  EXPECT_TRUE(mentions(result.warnings, "unknown section 'kasperski' in config.yml ignored — did you mean 'kaspersky'?"));
  EXPECT_TRUE(mentions(result.warnings,
                       "unknown environment variable KASPERSKY_API_TOKN ignored — did you mean KASPERSKY_API_TOKEN?"));
  EXPECT_TRUE(mentions(result.warnings, "unknown environment variable KASPERSKY_SOMETHING_ELSE_ENTIRELY ignored"));
  EXPECT_FALSE(mentions(result.warnings, "CONNECTOR_AUTO"));
  EXPECT_EQ(result.warnings.size(), 5u) << joined(result.warnings);
}

TEST(Loader, BrokenYamlIsOneClearError) {
  const LoadResult result = load("kaspersky:\n  api_root: [unclosed\n");
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(mentions(result.errors, "config.yml: not valid YAML at line"));
  EXPECT_TRUE(mentions(load("just a string").errors, "expected sections such as 'opencti:'"));
  EXPECT_TRUE(mentions(load("kaspersky: 5\n").errors, "section 'kaspersky' must hold keys"));
  // An empty key falls back to its default.
  EXPECT_TRUE(load("kaspersky:\n  connection_timeout:\nmq:\n").ok());
}

TEST(Loader, ConfigPathFromOptionElseWorkingDirectoryElseEnvironmentAlone) {
  ScratchDir dir;
  const std::string explicit_file = dir.write("custom.yml", "connector:\n  name: From custom\n");
  LoadRequest request;
  request.environment = valid_environment();
  request.config_path = explicit_file;
  LoadResult result = load_settings(request);
  EXPECT_EQ(result.config_file, explicit_file);
  EXPECT_EQ(result.settings.connector.name, "From custom");
  EXPECT_EQ(origin(result, "connector.name"), explicit_file);

  request.config_path = (dir.path() / "missing.yml").string();
  EXPECT_TRUE(mentions(load_settings(request).errors, "cannot read the config file " + request.config_path));

  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  request.config_path.clear();
  result = load_settings(request);  // no ./config.yml: environment alone
  EXPECT_EQ(result.config_file, "");
  EXPECT_TRUE(result.ok()) << joined(result.errors);
  dir.write("config.yml", "connector:\n  name: From cwd\n");
  result = load_settings(request);
  std::filesystem::current_path(previous);
  EXPECT_EQ(result.config_file, "config.yml");
  EXPECT_EQ(result.settings.connector.name, "From cwd");
}

TEST(Loader, LoadOrThrowCarriesEveryProblem) {
  LoadRequest request;
  request.yaml_text = "";
  try {
    load_settings_or_throw(request);
    FAIL() << "an empty configuration was accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.problems().size(), 4u);
    EXPECT_NE(std::string(error.what()).find("invalid configuration (4 problems)"), std::string::npos);
  }
  request.environment = valid_environment();
  EXPECT_EQ(load_settings_or_throw(request).connector.id, kConnectorId);
}

// --- tokens --------------------------------------------------------------------------------

TEST(LoaderTokens, TokenFromFileIsReadAndOriginRecorded) {
  ScratchDir dir;
  const std::string path = dir.write("taxii_token", std::string(kSecret) + "\n");
  const Environment env = environment_with_token_file(path);
  const LoadResult result = load("", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  const TokenPtr& token = result.settings.kaspersky.api_token;
  EXPECT_EQ(token->origin(), TokenOrigin::File);
  EXPECT_EQ(token->file_path(), path);
  EXPECT_EQ(token->secret().reveal(), kSecret);
  EXPECT_EQ(origin(result, "kaspersky.api_token"), "file " + path + " (kaspersky.api_token_file from env KASPERSKY_API_TOKEN_FILE)");

  dir.write("taxii_token", "ROTATED-tok-0011223344556677\n");
  EXPECT_TRUE(token->reload());
  EXPECT_EQ(token->secret().reveal(), "ROTATED-tok-0011223344556677");
}

TEST(LoaderTokens, EnvironmentWinsOverFileAndSameLevelConflictIsAnError) {
  ScratchDir dir;
  const std::string path = dir.write("token", "FILE-token-00112233445566\n");
  Environment env = valid_environment();  // KASPERSKY_API_TOKEN set
  const LoadResult env_wins = load("kaspersky:\n  api_token_file: " + path + "\n", env);
  ASSERT_TRUE(env_wins.ok()) << joined(env_wins.errors);
  EXPECT_EQ(env_wins.settings.kaspersky.api_token->secret().reveal(), kSecret);

  env = environment_with_token_file(path);
  const LoadResult file_env_wins = load("kaspersky:\n  api_token: 'ChangeMe'\n", env);
  ASSERT_TRUE(file_env_wins.ok()) << joined(file_env_wins.errors);
  EXPECT_EQ(file_env_wins.settings.kaspersky.api_token->origin(), TokenOrigin::File);

  const LoadResult both = load("kaspersky:\n  api_token: abcdefabcdefabcdef\n  api_token_file: " + path + "\n",
                               {{"CONNECTOR_ID", kConnectorId}, {"CONNECTOR_OUTPUT", "stdout"}});
  EXPECT_TRUE(mentions(both.errors, "both kaspersky.api_token and kaspersky.api_token_file are set"));
}

TEST(LoaderTokens, UnreadableTokenFileNamesTheFile) {
  const Environment env = environment_with_token_file("/nonexistent/kfc/token");
  const LoadResult result = load("", env);
  ASSERT_EQ(result.errors.size(), 1u) << joined(result.errors);
  EXPECT_NE(result.errors[0].find("/nonexistent/kfc/token"), std::string::npos);
  EXPECT_NE(result.errors[0].find("env KASPERSKY_API_TOKEN_FILE"), std::string::npos);
}

TEST(LoaderTokens, ExpiryFromDateTimestampOrIssuedDate) {
  Environment env = valid_environment_with({
      {"KASPERSKY_API_TOKEN_EXPIRES_AT", "2026-01-11"},
      {"OPENTIP_API_KEY", "opentip-key-0123456789"},
      {"OPENTIP_API_KEY_ISSUED_AT", "2025-01-31T00:00:00Z"},
      {"OPENCTI_TOKEN_EXPIRES_AT", "2027-01-01T00:00:00+00:00"},
  });
  const LoadResult result = load("tokens:\n  expiry_warning_days: 14\n", env);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  const auto reports = token_reports(result.settings, kNow);
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].key, "kaspersky.api_token");
  EXPECT_EQ(reports[0].status.state, TokenState::Expiring);
  EXPECT_EQ(reports[0].status.days_left, 10);
  EXPECT_EQ(reports[0].source, "env KASPERSKY_API_TOKEN");
  EXPECT_EQ(reports[1].key, "opentip.api_key");
  EXPECT_EQ(reports[1].status.days_left, 30);  // 2025-01-31 + 365 days = 2026-01-31
  EXPECT_EQ(reports[1].status.state, TokenState::Valid);  // window is 14 days
  EXPECT_EQ(reports[2].status.state, TokenState::Valid);
  EXPECT_EQ(reports[2].status.days_left, 365);

  env["KASPERSKY_API_TOKEN_EXPIRES_AT"] = "next year";
  EXPECT_TRUE(mentions(load("", env).errors, "kaspersky.api_token_expires_at is 'next year', not a date"));
}

TEST(LoaderTokens, UnconfiguredAndUndatedTokens) {
  const auto reports = token_reports(load("").settings, kNow);
  EXPECT_EQ(reports[0].status.state, TokenState::Unknown);
  EXPECT_TRUE(reports[0].configured);
  EXPECT_FALSE(reports[1].configured);
  EXPECT_EQ(reports[1].source, "not set");
}

TEST(LoaderTokens, SyntaxProblemsOfConfiguredTokens) {
  const Environment env = valid_environment_with({
      {"KASPERSKY_API_TOKEN", std::string(kSecret) + " trailing"},
      {"OPENTIP_API_KEY", "short"},
  });
  const LoadResult result = load("", env);
  EXPECT_EQ(result.errors.size(), 2u) << joined(result.errors);
  EXPECT_TRUE(mentions(result.errors, "kaspersky.api_token contains whitespace"));
  EXPECT_TRUE(mentions(result.errors, "opentip.api_key has an implausible length of 5"));
}

// --- secrets never leak --------------------------------------------------------------------

TEST(LoaderSecrets, NoErrorPathOrDescriptionContainsTheSecret) {
  ScratchDir dir;
  const std::string secret_file = dir.write("secret", std::string(kSecret) + "\n");
  // Every error path, each with the recognisable secret wherever a secret can be.
  std::vector<std::pair<std::string, Environment>> cases;
  auto with = [](Environment extra) {
    Environment env = valid_environment();
    for (auto& [k, v] : extra) env[k] = v;
    return env;
  };
  const std::string s = kSecret;
  cases.push_back({"", with({{"KASPERSKY_API_TOKEN", s + " "}})});
  cases.push_back({"", with({{"KASPERSKY_API_TOKEN", s + "\x01"}})});
  cases.push_back({"", with({{"OPENCTI_TOKEN", s + "\t"}, {"OPENTIP_API_KEY", s + std::string(5000, 'x')}})});
  cases.push_back({"kaspersky:\n  api_token: " + s + "\n  api_token_file: " + secret_file + "\n", {}});
  cases.push_back({"opencti:\n  token: " + s + " x\n", with({{"MQ_PASS", s}, {"MQ_USE_SSL_PASSPHRASE", s}})});
  cases.push_back({"", with({{"OPENCTI_CUSTOM_HEADERS", "Authorization " + s}})});
  cases.push_back({"", with({{"OPENCTI_CUSTOM_HEADERS", "Authorization Bearer " + s + ":x"}})});
  cases.push_back({"", with({{"OPENCTI_CUSTOM_HEADERS", "Authorization:" + s}, {"KASPERSKY_API_ROOT", "http://h/"}})});
  cases.push_back({"", with({{"OPENCTI_URL", "https://admin:" + s + "@"}})});
  cases.push_back({"", with({{"OPENCTI_URL", "http://admin:" + s + "@opencti/"}})});
  cases.push_back({"", with({{"KASPERSKY_API_TOKEN_EXPIRES_AT", "2020-01-01"}, {"OPENTIP_API_KEY", s}})});
  cases.push_back({"kaspersky:\n  api_token: [" + s + "]\n", with({})});
  cases.push_back({"kaspersky:\n  api_tokn: " + s + "\n", with({{"KASPERSKY_API_TOKN", s}})});
  cases.push_back({"opencti: {token: " + s + "\n", with({})});  // broken YAML around the secret
  cases.push_back({"", with({{"KASPERSKY_API_TOKEN_FILE", "/nonexistent"}, {"OPENCTI_TOKEN_FILE", secret_file}})});
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const LoadResult result = load(cases[i].first, cases[i].second);
    std::string everything = joined(result.errors) + joined(result.warnings);
    for (const auto& line : describe_settings(result.settings)) everything += line.value + " " + line.origin + "\n";
    for (const auto& report : token_reports(result.settings, kNow)) everything += report.status.message + report.source;
    EXPECT_EQ(everything.find(kSecret), std::string::npos) << "case " << i << ":\n" << everything;
    if (i != 4 && i != 10) {
      EXPECT_FALSE(result.errors.empty() && result.warnings.empty()) << "case " << i;
    }
  }
}

TEST(LoaderSecrets, DescriptionShowsMaskedValuesAndOrigins) {
  const Environment env = valid_environment_with({{"MQ_PASS", kSecret}});
  const LoadResult result = load("connector:\n  name: Feeds\n", env);
  std::map<std::string, EffectiveSetting> lines;
  for (const auto& line : describe_settings(result.settings)) lines[line.key] = line;
  EXPECT_EQ(lines["kaspersky.api_token"].value, "****5b4a");
  EXPECT_EQ(lines["kaspersky.api_token"].origin, "env KASPERSKY_API_TOKEN");
  EXPECT_EQ(lines["mq.pass"].value, "****5b4a");
  EXPECT_EQ(lines["connector.name"].value, "Feeds");
  EXPECT_EQ(lines["connector.name"].origin, "config.yml");
  EXPECT_EQ(lines["connector.scope"].origin, "default");
  EXPECT_EQ(lines.size(), known_keys().size());
}

}  // namespace
}  // namespace kfc
