#pragma once
// The settings model: every key of Kaspersky's Python connector (same names, same defaults), the
// OpenCTI connector conventions, and what this product adds. Loaded by config/loader.h.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kfc/config/token.h"

namespace kfc {

enum class LabelFormat { Legacy, New, Both };
enum class DescriptionMode { Overwrite, Skip, CreateOnly };
enum class QueueProtocol { Amqp, Api };
enum class OutputKind { OpenCti, Directory, Stdout };
enum class LogFormat { Auto, Human, Json };

struct OpenCtiSettings {
  std::string url;                       // opencti.url (required for output opencti)
  TokenPtr token;                        // opencti.token / opencti.token_file
  bool ssl_verify = true;                // opencti.ssl_verify: true/false ...
  std::string ssl_ca_file;               // ... or, as pycti allows, a CA bundle path (verification on)
  std::string custom_headers;            // OPENCTI_CUSTOM_HEADERS "h1:v1;h2:v2"
  bool json_logging = false;             // OPENCTI_JSON_LOGGING
};

struct ConnectorSettings {
  std::string id;                        // connector.id (UUIDv4, required)
  std::string type = "EXTERNAL_IMPORT";  // connector.type
  std::string name = "Kaspersky Feeds";
  std::string scope = "kaspersky";
  int confidence_level = 100;
  int threat_score = 100;
  int threat_score_high = 75;
  int threat_score_medium = 50;
  bool threat_score_from_description = false;
  LabelFormat label_format = LabelFormat::Legacy;
  DescriptionMode description_mode = DescriptionMode::Overwrite;
  std::string log_level = "info";
  bool update_existing_data = false;
  bool run_and_terminate = false;
  std::optional<std::chrono::seconds> duration_period;  // ISO-8601; wins over update_interval
  QueueProtocol queue_protocol = QueueProtocol::Amqp;
  double queue_threshold_mb = 500;       // connector.queue_threshold
  bool expose_metrics = false;
  int metrics_port = 9095;
  std::string metrics_address = "127.0.0.1";
  OutputKind output = OutputKind::OpenCti;  // connector.output
  std::string output_dir;                   // connector.output_dir
  std::string state_file;                   // connector.state_file (directory/stdout outputs)
  LogFormat log_format = LogFormat::Auto;
  std::string metrics_namespace;            // connector.metrics_namespace (pycti: namespace_subsystem_name)
  std::string metrics_subsystem;            // connector.metrics_subsystem
  int health_port = 0;                      // connector.health_port: /healthz alone when metrics are off (0: off)
  // pycti's switches (CONNECTOR_SEND_TO_*), folded into output / mirror_dir by the loader.
  bool send_to_queue = true;
  bool send_to_directory = false;
  std::string send_to_directory_path;
  int send_to_directory_retention_days = 7;
  std::string mirror_dir;                   // set by the loader: bundles also written here (send_to_directory)
  int directory_retention_days = 0;         // set by the loader: age at which bundle files are removed (0: never)
  bool auto_enrich = false;                 // connector.auto (enrichment)
  bool playbook_compatible = false;         // connector.playbook_compatible (enrichment)
};

struct KasperskySettings {
  std::string api_root = "https://taxii.tip.kaspersky.com/v2";
  TokenPtr api_token;                    // kaspersky.api_token / _file / _expires_at / _issued_at
  std::chrono::seconds connection_timeout{60};
  bool ssl_verify = true;
  std::string ca_file;                   // kaspersky.ca_file (optional CA bundle)
  bool allow_insecure_http = false;      // only for local test servers
  std::chrono::seconds initial_history{604800};
  std::chrono::seconds update_interval{3600};
  bool expand_objects = true;
  bool create_indicators = true;
  bool create_observables = true;
  std::vector<std::string> collections{"TAXII_*_Data_Feed"};
  int page_limit = 0;                    // kaspersky.page_limit (0: let the server choose)
  int max_attempts = 5;                  // kaspersky.max_attempts per page
  std::size_t max_response_bytes = 256u << 20;  // kaspersky.max_response_mb
  std::string tlp_level = "none";        // kaspersky.tlp_level: none | clear | green | amber | amber+strict | red
};

// The generic TAXII mode (connector/generic): any TAXII 2.0/2.1 server, objects passed through with the
// settings of OpenCTI's `taxii2` connector (same keys, same TAXII2_* environment names, same meanings).
// Active when taxii2.discovery_url is set; then the kaspersky.* keys are not used.
enum class Taxii2Auth { None, Basic, Bearer, ApiKey };

struct Taxii2Settings {
  std::string discovery_url;             // taxii2.discovery_url: set = generic TAXII mode
  std::optional<bool> v21;               // taxii2.v21: unset = detected per API root; false = TAXII 2.0
  std::string username;                  // Basic user (taxii2.username)
  TokenPtr password;                     // taxii2.password / _file / _expires_at / _issued_at
  bool use_token = false;
  TokenPtr token;                        // Bearer (taxii2.token)
  bool use_apikey = false;
  std::string apikey_key;                // the API-key header's name
  TokenPtr apikey_value;
  bool use_cert = false;
  std::string cert_path;                 // client certificate (PEM; may hold the key too)
  std::string key_path;                  // its key when not in cert_path (this product)
  bool verify_ssl = true;
  std::string ca_file;                   // CA bundle (this product)
  bool allow_insecure_http = false;      // plain http:// (this product)
  std::chrono::seconds connection_timeout{60};
  int max_attempts = 5;
  std::size_t max_response_bytes = 256u << 20;
  std::vector<std::string> collections{"*.*"};  // api_root.collection, wildcards on both sides
  int initial_history_hours = 24;
  int interval_hours = 1;
  bool create_indicators = true;
  bool create_observables = true;
  bool add_custom_label = false;
  std::string custom_label;
  bool force_pattern_as_name = false;
  std::string force_multiple_pattern_name = "Multiple Indicators";
  bool stix_custom_property_to_label = false;
  std::string stix_custom_property;
  bool enable_url_query_limit = false;
  int url_query_limit = 100;
  bool determine_x_opencti_score_by_label = false;
  int default_x_opencti_score = 50;
  std::vector<std::string> indicator_high_score_labels;
  int indicator_high_score = 80;
  std::vector<std::string> indicator_medium_score_labels;
  int indicator_medium_score = 60;
  std::vector<std::string> indicator_low_score_labels;
  int indicator_low_score = 40;
  bool set_indicator_as_detection = false;
  bool create_author = false;
  std::string author_name;
  std::string author_description;
  std::string author_reliability;
  bool exclude_specific_labels = false;
  std::vector<std::string> labels_to_exclude;            // regular expressions (searched, Python re style)
  bool replace_characters_in_label = false;
  std::vector<std::string> characters_to_replace_in_label;  // "find:replace" pairs, kept verbatim
  bool ignore_pattern_types = false;
  std::vector<std::string> pattern_types_to_ignore;
  bool ignore_object_types = false;
  std::vector<std::string> object_types_to_ignore;
  bool ignore_specific_patterns = false;
  std::vector<std::string> patterns_to_ignore;
  bool ignore_specific_notes = false;
  std::vector<std::string> notes_to_ignore;
  bool save_original_indicator_id_to_note = false;
  std::string save_original_indicator_id_abstract;
  bool change_report_status = false;
  std::string change_report_status_x_opencti_workflow_id;

  bool enabled() const { return !discovery_url.empty(); }
  // As the taxii2 connector chooses: use_token, else use_apikey, else Basic when a user or password
  // is given, else no credentials.
  Taxii2Auth auth() const;
  // The secret the chosen authentication sends (null for None).
  TokenPtr active_secret() const;
};

struct MqSettings {
  // Overrides of what registration returns (mq.* / MQ_*); unset means "use the platform's".
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<std::string> vhost;
  std::optional<bool> use_ssl;
  std::optional<std::string> user;
  std::optional<Secret> pass;
  std::string ssl_ca;
  std::string ssl_cert;
  std::string ssl_key;
  std::optional<Secret> ssl_passphrase;
  bool ssl_reject_unauthorized = true;
};

struct OpenTipSettings {
  // How every error and log line names the service (a rejected or expired opentip.api_key...).
  static constexpr std::string_view kServerName = "the Kaspersky Threat Intelligence Portal (OpenTIP)";

  std::string url = "https://opentip.kaspersky.com/api/v1/";
  TokenPtr api_key;                      // opentip.api_key / _file / _expires_at / _issued_at
  bool allow_insecure_http = false;
  int max_requests_per_minute = 10;
  std::chrono::seconds cache_ttl{86400};
  std::string cache_dir;                 // empty: in-memory cache
  std::size_t cache_max_entries = 10000; // opentip.cache_max_entries: LRU bound of the in-memory cache
  std::chrono::seconds quota_cooldown{3600};
  std::string max_tlp = "TLP:AMBER";
  std::string zone_scores = "red:100,orange:80,yellow:60,grey:20,green:0";
  std::string enrichment_scope = "StixFile,IPv4-Addr,IPv6-Addr,Domain-Name,Url";
  // How many times one enrichment request is tried (failed, or in flight when the process died)
  // before it is acknowledged and its work closed in error.
  int max_delivery_attempts = 3;
};

struct TokenPolicy {
  int expiry_warning_days = 30;          // tokens.expiry_warning_days
};

struct Settings {
  OpenCtiSettings opencti;
  ConnectorSettings connector;
  KasperskySettings kaspersky;
  MqSettings mq;
  OpenTipSettings opentip;
  TokenPolicy tokens;
  Taxii2Settings taxii2;

  // Where each effective value came from ("default", "config.yml", "env KASPERSKY_API_ROOT"),
  // by dotted key, for `check` output and error messages.
  std::map<std::string, std::string> origins;

  // The seconds between two runs: duration_period when set, else kaspersky.update_interval
  // (taxii2.interval hours in the generic TAXII mode).
  std::chrono::seconds run_interval() const {
    if (connector.duration_period) return *connector.duration_period;
    return taxii2.enabled() ? std::chrono::hours{taxii2.interval_hours} : kaspersky.update_interval;
  }
};

}  // namespace kfc
