#pragma once
// The settings model: every key of Kaspersky's Python connector (same names, same defaults), the
// OpenCTI connector conventions, and what this product adds. Loaded by config/loader.h.
#include <chrono>
#include <map>
#include <optional>
#include <string>
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

  // Where each effective value came from ("default", "config.yml", "env KASPERSKY_API_ROOT"),
  // by dotted key, for `check` output and error messages.
  std::map<std::string, std::string> origins;

  // The seconds between two runs: duration_period when set, else kaspersky.update_interval.
  std::chrono::seconds run_interval() const {
    return connector.duration_period ? *connector.duration_period : kaspersky.update_interval;
  }
};

}  // namespace kfc
