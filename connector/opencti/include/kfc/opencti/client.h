#pragma once
// The GraphQL operations of an OpenCTI connector, worded exactly as pycti sends them
// (connector/opencti/README.md): healthCheck, registerConnector, pingConnector, work lifecycle,
// queue details, stixBundlePush, and the existing-id lookup of description_mode create_only.
// One client per thread (its transport is not shared).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "kfc/config/settings.h"
#include "kfc/opencti/graphql.h"

namespace kfc::opencti {

// The RabbitMQ connection a connector publishes to: what registration returned, with mq.* overrides.
struct MqConnection {
  std::string host;
  int port = 5672;
  std::string vhost = "/";
  bool use_ssl = false;
  std::string user;
  Secret pass;
  // TLS (MQ_USE_SSL_*), only used when use_ssl: each a file path or the PEM text itself. The key
  // text is a secret: never put it in a message (sinks/amqp_tls.h loads it from memory).
  std::string ssl_ca;
  std::string ssl_cert;
  std::string ssl_key;
  Secret ssl_passphrase;
  bool ssl_reject_unauthorized = true;
};

struct Registration {
  std::string connector_id;
  std::string connector_user_id;        // the applicant_id of every pushed message
  std::optional<std::string> state;     // connector_state as stored on the platform (JSON text)
  MqConnection mq;
  std::string push_exchange;
  std::string push_routing;
  // Where the platform sends this connector's requests (internal enrichment): queue, exchange, routing.
  std::string listen;
  std::string listen_exchange;
  std::string listen_routing;
  std::string platform_version;         // from healthCheck, e.g. "6.8.10"
};

// What registration sends (connector.* settings).
struct ConnectorIdentity {
  std::string id;
  std::string name;
  std::string type = "EXTERNAL_IMPORT";
  std::vector<std::string> scope;
  bool auto_run = false;
  bool only_contextual = false;
  bool playbook_compatible = false;
};
ConnectorIdentity identity_from(const ConnectorSettings& connector);

// connectorInfo of every ping.
struct ConnectorInfo {
  bool run_and_terminate = false;
  bool buffering = false;
  double queue_threshold = 500;         // MB
  double queue_messages_size = 0;       // MB
  std::optional<SystemTime> next_run;
  std::optional<SystemTime> last_run;
};

struct PingAnswer {
  // connector_state the platform returned; nullopt when empty/null (= no state or reset in the UI).
  std::optional<std::string> state;
};

// A playbook step that asked for an enrichment (the request's internal.playbook), and where its
// result goes: playbookStepExecution with the bundle the step produced.
struct PlaybookStep {
  std::string execution_id;
  std::string event_id;
  std::string execution_start;   // when the connector started the step (ISO-8601 UTC)
  std::string playbook_id;
  std::string data_instance_id;
  std::string step_id;
  std::string previous_step_id;
  std::string previous_bundle;   // the bundle the step received, as JSON text
};

struct QueueDetails {
  std::int64_t messages_number = 0;
  double messages_size_bytes = 0;
  double size_mb() const { return messages_size_bytes / 1e6; }
};

// Platform versions as comparable triples ("6.8.10" → {6,8,10}); unparsable → {0,0,0}.
struct PlatformVersion {
  int major = 0, minor = 0, patch = 0;
  static PlatformVersion parse(std::string_view text);
  auto operator<=>(const PlatformVersion&) const = default;
};

class OpenCtiClient {
 public:
  OpenCtiClient(GraphqlOptions options, std::unique_ptr<http::Transport> transport, const Clock& clock);

  // healthCheck { about { version } }
  std::string platform_version();
  // healthCheck, then registerConnector with the fields that version knows; applies mq overrides.
  Registration register_connector(const ConnectorIdentity& identity, const MqSettings& overrides);
  // pingConnector(id, state, connectorInfo). `state` is JSON text; nullopt is sent as "null".
  PingAnswer ping(const std::string& connector_id, const std::optional<std::string>& state,
                  const ConnectorInfo& info);

  // Work lifecycle (connector/opencti/README.md, "Work"). add_work returns the work id.
  std::string add_work(const std::string& connector_id, const std::string& friendly_name);
  void to_received(const std::string& work_id, const std::string& message);
  void add_expectations(const std::string& work_id, int expectations);
  void to_processed(const std::string& work_id, const std::string& message, bool in_error);
  void report_expectation(const std::string& work_id, const std::string& error, const std::string& source);
  // isWorkAlive; throws on transport/GraphQL errors (the reference treats those as alive).
  bool is_work_alive(const std::string& work_id);

  // connector(id) { connector_queue_details { messages_number messages_size } }
  QueueDetails queue_details(const std::string& connector_id);

  // stixBundlePush(connectorId, bundle, work_id): the whole bundle JSON in one call (queue_protocol api).
  void push_bundle(const std::string& connector_id, const std::string& bundle_json,
                   const std::optional<std::string>& work_id);

  // playbookStepExecution: hands `bundle_json` to the playbook's next steps (instead of importing it).
  void playbook_step_execution(const PlaybookStep& step, const std::string& bundle_json);

  // Which of `ids` exist in OpenCTI (as id, standard_id or in x_opencti_stix_ids): chunks of 200 in
  // the given order, each paged through pageInfo (description_mode create_only; connector/mapping/README.md).
  std::unordered_set<std::string> existing_ids(const std::vector<std::string>& ids);

  GraphqlClient& graphql() noexcept { return graphql_; }

 private:
  rapidjson::Document call(std::string_view query, const rapidjson::Value& variables) {
    return graphql_.call(query, variables);
  }

  GraphqlClient graphql_;
};

// The datetime form of connectorInfo: %Y-%m-%dT%H:%M:%SZ (UTC).
std::string format_info_datetime(SystemTime time);

}  // namespace kfc::opencti
