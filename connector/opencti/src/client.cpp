#include "kfc/opencti/client.h"
#include "kfc/config/values.h"

#include <algorithm>
#include <charconv>
#include <ctime>


namespace kfc::opencti {
namespace {

using rapidjson::Value;

// Query texts as pycti sends them (connector/opencti/README.md).
constexpr std::string_view kHealthCheck = R"(query healthCheck { about { version } })";

constexpr std::string_view kRegister = R"(mutation RegisterConnector($input: RegisterConnectorInput) {
    registerConnector(input: $input) {
        id
        connector_state
        config {
            connection { host vhost use_ssl port user pass }
            listen
            listen_routing
            listen_exchange
            push
            push_routing
            push_exchange
        }
        connector_user_id
    }
})";

constexpr std::string_view kPing =
    R"(mutation PingConnector($id: ID!, $state: String, $connectorInfo: ConnectorInfoInput ) {
    pingConnector(id: $id, state: $state, connectorInfo: $connectorInfo) {
        id
        connector_state
        connector_info {
            run_and_terminate
            buffering
            queue_threshold
            queue_messages_size
            next_run_datetime
            last_run_datetime
        }
    }
})";

constexpr std::string_view kWorkAdd = R"(mutation workAdd($connectorId: String!, $friendlyName: String) {
    workAdd(connectorId: $connectorId, friendlyName: $friendlyName) { id }
})";
constexpr std::string_view kToReceived = R"(mutation workToReceived($id: ID!, $message: String) {
    workEdit(id: $id) { toReceived (message: $message) }
})";
constexpr std::string_view kAddExpectations = R"(mutation addExpectations($id: ID!, $expectations: Int) {
    workEdit(id: $id) { addExpectations(expectations: $expectations) }
})";
constexpr std::string_view kToProcessed =
    R"(mutation workToProcessed($id: ID!, $message: String, $inError: Boolean) {
    workEdit(id: $id) { toProcessed (message: $message, inError: $inError) }
})";
constexpr std::string_view kReportExpectation = R"(mutation reportExpectation($id: ID!, $error: WorkErrorInput) {
    workEdit(id: $id) { reportExpectation(error: $error) }
})";
constexpr std::string_view kIsWorkAlive = R"(query WorkAliveQuery($id: ID!){ isWorkAlive(id: $id) })";
constexpr std::string_view kQueueDetails = R"(query GetConnector($id: String!){
    connector(id: $id) { connector_queue_details { messages_number messages_size } }
})";
constexpr std::string_view kBundlePush =
    R"(mutation StixBundlePush($connectorId: String!, $bundle: String!, $work_id: String) {
    stixBundlePush(connectorId: $connectorId, bundle: $bundle, work_id: $work_id)
})";
constexpr std::string_view kPlaybookStepExecution =
    R"(mutation PlaybookStepExecution($execution_id: ID!, $event_id: ID!, $execution_start: DateTime!, $data_instance_id: ID!, $playbook_id: ID!, $previous_step_id: ID!, $step_id: ID!, $previous_bundle: String!, $bundle: String!) {
    playbookStepExecution(execution_id: $execution_id, event_id: $event_id, execution_start: $execution_start, data_instance_id: $data_instance_id, playbook_id: $playbook_id, previous_step_id: $previous_step_id, step_id: $step_id, previous_bundle: $previous_bundle, bundle: $bundle)
})";
constexpr std::string_view kExistingIds =
    R"(query StixObjectOrStixRelationships($filters: FilterGroup, $search: String, $first: Int, $after: ID) {
    stixObjectOrStixRelationships(filters: $filters, search: $search, first: $first, after: $after) {
        edges {
            node {
                ... on BasicObject { id }
                ... on StixObject { standard_id x_opencti_stix_ids }
                ... on StixCoreRelationship { id standard_id x_opencti_stix_ids }
                ... on StixSightingRelationship { id standard_id x_opencti_stix_ids }
            }
        }
        pageInfo { startCursor endCursor hasNextPage hasPreviousPage globalCount }
    }
})";

constexpr std::size_t kLookupChunk = 200;

class Variables {
 public:
  Variables() { doc_.SetObject(); }
  Variables& set(std::string_view name, std::string_view value) {
    doc_.AddMember(Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc()),
                   Value(value.data(), static_cast<rapidjson::SizeType>(value.size()), alloc()), alloc());
    return *this;
  }
  Variables& set(std::string_view name, Value value) {
    doc_.AddMember(Value(name.data(), static_cast<rapidjson::SizeType>(name.size()), alloc()), value, alloc());
    return *this;
  }
  Variables& set_null(std::string_view name) { return set(name, Value(rapidjson::kNullType)); }
  rapidjson::Document::AllocatorType& alloc() { return doc_.GetAllocator(); }
  const rapidjson::Document& doc() const { return doc_; }

 private:
  rapidjson::Document doc_;
};

Value string_value(std::string_view text, rapidjson::Document::AllocatorType& alloc) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

const Value& member(const Value& object, const char* name, std::string_view operation) {
  if (!object.IsObject() || !object.HasMember(name)) {
    throw OpenCtiError("OpenCTI answered " + std::string(operation) + " without '" + name +
                       "' — is opencti.url an OpenCTI platform?");
  }
  return object[name];
}

std::string string_or_empty(const Value& object, const char* name) {
  if (object.IsObject() && object.HasMember(name) && object[name].IsString()) return object[name].GetString();
  return {};
}

std::optional<std::string> non_empty_string(const Value& value) {
  if (value.IsString() && value.GetStringLength() > 0) return std::string(value.GetString(), value.GetStringLength());
  return std::nullopt;
}

std::vector<std::string> split_scope(const std::string& scope) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= scope.size()) {
    auto end = scope.find(',', start);
    if (end == std::string::npos) end = scope.size();
    std::string part = scope.substr(start, end - start);
    auto b = part.find_first_not_of(' ');
    auto e = part.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
    start = end + 1;
  }
  return out;
}

MqConnection connection_from(const Value& connection, const MqSettings& overrides) {
  MqConnection mq;
  mq.host = string_or_empty(connection, "host");
  if (connection.HasMember("port") && connection["port"].IsInt() && connection["port"].GetInt() > 0 &&
      connection["port"].GetInt() <= 65535) {
    mq.port = connection["port"].GetInt();
  }
  mq.vhost = string_or_empty(connection, "vhost");
  if (mq.vhost.empty()) mq.vhost = "/";
  mq.use_ssl = connection.HasMember("use_ssl") && connection["use_ssl"].IsBool() && connection["use_ssl"].GetBool();
  mq.user = string_or_empty(connection, "user");
  mq.pass = Secret(string_or_empty(connection, "pass"));
  // mq.* / MQ_* win: the platform may advertise an internal host name the connector cannot resolve.
  if (overrides.host) mq.host = *overrides.host;
  if (overrides.port) mq.port = *overrides.port;
  if (overrides.vhost) mq.vhost = *overrides.vhost;
  if (overrides.use_ssl) mq.use_ssl = *overrides.use_ssl;
  if (overrides.user) mq.user = *overrides.user;
  if (overrides.pass) mq.pass = *overrides.pass;
  // A path or the PEM text itself (as pycti allows); loaded from memory when connecting.
  mq.ssl_ca = overrides.ssl_ca;
  mq.ssl_cert = overrides.ssl_cert;
  mq.ssl_key = overrides.ssl_key;
  if (overrides.ssl_passphrase) mq.ssl_passphrase = *overrides.ssl_passphrase;
  mq.ssl_reject_unauthorized = overrides.ssl_reject_unauthorized;
  return mq;
}

}  // namespace

PlatformVersion PlatformVersion::parse(std::string_view text) {
  PlatformVersion version;
  int* parts[] = {&version.major, &version.minor, &version.patch};
  const char* cursor = text.data();
  const char* end = text.data() + text.size();
  for (int* part : parts) {
    auto [next, error] = std::from_chars(cursor, end, *part);
    if (error != std::errc()) break;
    cursor = next;
    if (cursor == end || *cursor != '.') break;
    ++cursor;
  }
  return version;
}

ConnectorIdentity identity_from(const ConnectorSettings& connector) {
  ConnectorIdentity identity;
  identity.id = connector.id;
  identity.name = connector.name;
  identity.type = connector.type;
  identity.scope = split_scope(connector.scope);
  // Automatic enrichment and playbooks exist only for enrichment connectors.
  const bool enrichment = connector.type == "INTERNAL_ENRICHMENT";
  identity.auto_run = enrichment && connector.auto_enrich;
  identity.playbook_compatible = enrichment && connector.playbook_compatible;
  return identity;
}

std::string format_info_datetime(SystemTime time) { return format_timestamp(time); }

OpenCtiClient::OpenCtiClient(GraphqlOptions options, std::unique_ptr<http::Transport> transport, const Clock& clock)
    : graphql_(std::move(options), std::move(transport), clock) {}

std::string OpenCtiClient::platform_version() {
  Variables variables;
  auto data = call(kHealthCheck, variables.doc());
  return string_or_empty(member(data, "about", "healthCheck"), "version");
}

Registration OpenCtiClient::register_connector(const ConnectorIdentity& identity, const MqSettings& overrides) {
  Registration registration;
  registration.platform_version = platform_version();
  const auto version = PlatformVersion::parse(registration.platform_version);

  Variables variables;
  auto& alloc = variables.alloc();
  Value input(rapidjson::kObjectType);
  input.AddMember("id", string_value(identity.id, alloc), alloc);
  input.AddMember("name", string_value(identity.name, alloc), alloc);
  input.AddMember("type", string_value(identity.type, alloc), alloc);
  Value scope(rapidjson::kArrayType);
  for (const auto& item : identity.scope) scope.PushBack(string_value(item, alloc), alloc);
  input.AddMember("scope", scope, alloc);
  input.AddMember("auto", identity.auto_run, alloc);
  input.AddMember("only_contextual", identity.only_contextual, alloc);
  // GraphQL rejects input fields the platform does not know: send only what this version has.
  if (version >= PlatformVersion{5, 11, 0}) input.AddMember("playbook_compatible", identity.playbook_compatible, alloc);
  if (version >= PlatformVersion{6, 8, 9}) {
    input.AddMember("auto_update", false, alloc);
    input.AddMember("enrichment_resolution", "none", alloc);
  }
  variables.set("input", std::move(input));

  auto data = call(kRegister, variables.doc());
  const auto& answer = member(data, "registerConnector", "registerConnector");
  const auto& config = member(answer, "config", "registerConnector");
  registration.connector_id = string_or_empty(answer, "id");
  registration.connector_user_id = string_or_empty(answer, "connector_user_id");
  registration.state = non_empty_string(member(answer, "connector_state", "registerConnector"));
  registration.mq = connection_from(member(config, "connection", "registerConnector"), overrides);
  registration.push_exchange = string_or_empty(config, "push_exchange");
  registration.push_routing = string_or_empty(config, "push_routing");
  registration.listen = string_or_empty(config, "listen");
  registration.listen_exchange = string_or_empty(config, "listen_exchange");
  registration.listen_routing = string_or_empty(config, "listen_routing");
  return registration;
}

PingAnswer OpenCtiClient::ping(const std::string& connector_id, const std::optional<std::string>& state,
                               const ConnectorInfo& info) {
  Variables variables;
  auto& alloc = variables.alloc();
  variables.set("id", connector_id);
  variables.set("state", state ? std::string_view(*state) : std::string_view("null"));
  Value connector_info(rapidjson::kObjectType);
  connector_info.AddMember("run_and_terminate", info.run_and_terminate, alloc);
  connector_info.AddMember("buffering", info.buffering, alloc);
  connector_info.AddMember("queue_threshold", info.queue_threshold, alloc);
  connector_info.AddMember("queue_messages_size", info.queue_messages_size, alloc);
  auto datetime = [&](const std::optional<SystemTime>& time) {
    return time ? string_value(format_info_datetime(*time), alloc) : Value(rapidjson::kNullType);
  };
  connector_info.AddMember("next_run_datetime", datetime(info.next_run), alloc);
  connector_info.AddMember("last_run_datetime", datetime(info.last_run), alloc);
  variables.set("connectorInfo", std::move(connector_info));

  auto data = call(kPing, variables.doc());
  const auto& answer = member(data, "pingConnector", "pingConnector");
  PingAnswer result;
  if (answer.IsObject() && answer.HasMember("connector_state")) {
    result.state = non_empty_string(answer["connector_state"]);
    if (result.state == "null") result.state.reset();
  }
  return result;
}

std::string OpenCtiClient::add_work(const std::string& connector_id, const std::string& friendly_name) {
  Variables variables;
  variables.set("connectorId", connector_id).set("friendlyName", friendly_name);
  auto data = call(kWorkAdd, variables.doc());
  std::string id = string_or_empty(member(data, "workAdd", "workAdd"), "id");
  if (id.empty()) throw OpenCtiError("OpenCTI answered workAdd without a work id");
  return id;
}

void OpenCtiClient::to_received(const std::string& work_id, const std::string& message) {
  Variables variables;
  variables.set("id", work_id).set("message", message);
  call(kToReceived, variables.doc());
}

void OpenCtiClient::add_expectations(const std::string& work_id, int expectations) {
  Variables variables;
  variables.set("id", work_id).set("expectations", Value(expectations));
  call(kAddExpectations, variables.doc());
}

void OpenCtiClient::to_processed(const std::string& work_id, const std::string& message, bool in_error) {
  Variables variables;
  variables.set("id", work_id).set("message", message).set("inError", Value(in_error));
  call(kToProcessed, variables.doc());
}

void OpenCtiClient::report_expectation(const std::string& work_id, const std::string& error,
                                       const std::string& source) {
  Variables variables;
  Value error_input(rapidjson::kObjectType);
  error_input.AddMember("error", string_value(error, variables.alloc()), variables.alloc());
  error_input.AddMember("source", string_value(source, variables.alloc()), variables.alloc());
  variables.set("id", work_id).set("error", std::move(error_input));
  call(kReportExpectation, variables.doc());
}

bool OpenCtiClient::is_work_alive(const std::string& work_id) {
  Variables variables;
  variables.set("id", work_id);
  auto data = call(kIsWorkAlive, variables.doc());
  const auto& alive = member(data, "isWorkAlive", "isWorkAlive");
  return alive.IsBool() ? alive.GetBool() : !alive.IsNull();
}

QueueDetails OpenCtiClient::queue_details(const std::string& connector_id) {
  Variables variables;
  variables.set("id", connector_id);
  auto data = call(kQueueDetails, variables.doc());
  const auto& connector = member(data, "connector", "connector");
  QueueDetails details;
  if (!connector.IsObject() || !connector.HasMember("connector_queue_details")) return details;
  const auto& queue = connector["connector_queue_details"];
  if (!queue.IsObject()) return details;
  if (queue.HasMember("messages_number") && queue["messages_number"].IsNumber()) {
    // A count from the network: clamped before the conversion (a double beyond int64 is undefined to convert).
    const double number = queue["messages_number"].GetDouble();
    details.messages_number = number > 0 ? static_cast<std::int64_t>(std::min(number, 9.0e18)) : 0;
  }
  if (queue.HasMember("messages_size") && queue["messages_size"].IsNumber()) {
    details.messages_size_bytes = queue["messages_size"].GetDouble();
  }
  return details;
}

void OpenCtiClient::push_bundle(const std::string& connector_id, const std::string& bundle_json,
                                const std::optional<std::string>& work_id) {
  Variables variables;
  variables.set("connectorId", connector_id).set("bundle", bundle_json);
  if (work_id) {
    variables.set("work_id", *work_id);
  } else {
    variables.set_null("work_id");
  }
  call(kBundlePush, variables.doc());
}

void OpenCtiClient::playbook_step_execution(const PlaybookStep& step, const std::string& bundle_json) {
  Variables variables;
  variables.set("execution_id", step.execution_id)
      .set("event_id", step.event_id)
      .set("execution_start", step.execution_start)
      .set("playbook_id", step.playbook_id)
      .set("data_instance_id", step.data_instance_id)
      .set("step_id", step.step_id)
      .set("previous_step_id", step.previous_step_id)
      .set("previous_bundle", step.previous_bundle)
      .set("bundle", bundle_json);
  call(kPlaybookStepExecution, variables.doc());
}

std::unordered_set<std::string> OpenCtiClient::existing_ids(const std::vector<std::string>& ids) {
  std::unordered_set<std::string> existing;
  for (std::size_t start = 0; start < ids.size(); start += kLookupChunk) {
    const std::size_t end = std::min(ids.size(), start + kLookupChunk);
    std::unordered_set<std::string> wanted(ids.begin() + static_cast<std::ptrdiff_t>(start),
                                           ids.begin() + static_cast<std::ptrdiff_t>(end));
    std::optional<std::string> after;
    do {
      Variables variables;
      auto& alloc = variables.alloc();
      Value values(rapidjson::kArrayType);
      for (std::size_t i = start; i < end; ++i) values.PushBack(string_value(ids[i], alloc), alloc);
      Value filter(rapidjson::kObjectType);
      filter.AddMember("key", "ids", alloc);
      filter.AddMember("mode", "or", alloc);
      filter.AddMember("values", values, alloc);
      Value filters(rapidjson::kObjectType);
      filters.AddMember("mode", "and", alloc);
      filters.AddMember("filterGroups", Value(rapidjson::kArrayType), alloc);
      Value filter_list(rapidjson::kArrayType);
      filter_list.PushBack(filter, alloc);
      filters.AddMember("filters", filter_list, alloc);
      variables.set("filters", std::move(filters));
      variables.set_null("search");
      variables.set("first", Value(static_cast<int>(end - start)));
      if (after) {
        variables.set("after", *after);
      } else {
        variables.set_null("after");
      }

      auto data = call(kExistingIds, variables.doc());
      const auto& connection = member(data, "stixObjectOrStixRelationships", "stixObjectOrStixRelationships");
      const auto& edges = member(connection, "edges", "stixObjectOrStixRelationships");
      auto note = [&](const Value& value) {
        if (value.IsString() && wanted.contains(value.GetString())) existing.insert(value.GetString());
      };
      if (edges.IsArray()) {
        for (const auto& edge : edges.GetArray()) {
          if (!edge.IsObject() || !edge.HasMember("node") || !edge["node"].IsObject()) continue;
          const auto& node = edge["node"];
          if (node.HasMember("id")) note(node["id"]);
          if (node.HasMember("standard_id")) note(node["standard_id"]);
          if (node.HasMember("x_opencti_stix_ids") && node["x_opencti_stix_ids"].IsArray()) {
            for (const auto& id : node["x_opencti_stix_ids"].GetArray()) note(id);
          }
        }
      }
      after.reset();
      if (connection.HasMember("pageInfo") && connection["pageInfo"].IsObject()) {
        const auto& page = connection["pageInfo"];
        bool more = page.HasMember("hasNextPage") && page["hasNextPage"].IsBool() && page["hasNextPage"].GetBool();
        std::string cursor = string_or_empty(page, "endCursor");
        if (more && !cursor.empty()) after = cursor;
      }
    } while (after);
  }
  return existing;
}

}  // namespace kfc::opencti
