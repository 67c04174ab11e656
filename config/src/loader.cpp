#include "kfc/config/loader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "kfc/config/pem.h"
#include "kfc/config/values.h"

extern char** environ;

namespace kfc {
namespace {

constexpr std::string_view kDefaultConfigFile = "config.yml";

// One value as a source gave it, and where it came from.
struct RawValue {
  std::optional<std::string> scalar;
  std::optional<std::vector<std::string>> list;
  std::string origin;  // the config file's path, or "env NAME"
  bool from_env = false;
  // An unquoted YAML scalar: PyYAML gives it a type (1 is a number, on is a boolean), and the reference
  // then reads it by that type. Quoted YAML and environment values are text.
  bool yaml_plain = false;
};

// Collects problems; every message names the key and the origin of its value.
class Problems {
 public:
  void error(std::string text) { errors.push_back(std::move(text)); }
  // An error about one key's own value; later cross-key checks stay quiet about that key.
  void key_error(const std::string& key, std::string text) {
    reported.insert(key);
    error(std::move(text));
  }
  bool already_reported(const std::string& key) const { return reported.contains(key); }
  std::set<std::string> reported;
  void warning(std::string text) { warnings.push_back(std::move(text)); }
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

std::string fix_hint(const std::string& key, const RawValue& raw) {
  if (raw.from_env) return fmt::format("fix the environment variable {}", raw.origin.substr(4));
  return fmt::format("fix {} in {}", key, raw.origin);
}

std::string set_hint(const std::string& key) {
  return fmt::format("set {} in config.yml or the environment variable {}", key, env_name_for(key));
}

bool is_placeholder(std::string_view text) { return to_lower(text) == "changeme"; }

// What the loader does with one key: parse a raw value into the settings, and show it back.
struct KeyDef {
  std::string key;
  std::function<void(Settings&, const std::string& value, const RawValue&, Problems&)> apply;
  std::function<std::string(const Settings&)> show;
  bool list = false;       // accepts a YAML list (or a comma-separated string)
  bool handled_apart = false;  // token keys: read together by load_token()
};

template <typename Accessor>
auto& field_of(const Accessor& access, const Settings& settings) {
  // Accessors are written once for writing; reading through them does not modify the settings.
  return access(const_cast<Settings&>(settings));
}

std::string invalid_number(const std::string& key, const std::string& value, const RawValue& raw,
                           std::string_view kind) {
  return fmt::format("Invalid configuration: '{}' contains invalid {} value: '{}' (from {}) — {}", key, kind, value,
                     raw.origin, fix_hint(key, raw));
}

std::string out_of_range(const std::string& key, long long value, long long min, long long max,
                         const RawValue& raw) {
  return fmt::format("{} is {}, outside the allowed range {}..{} (from {}) — {}", key, value, min, max, raw.origin,
                     fix_hint(key, raw));
}

template <typename Accessor>
KeyDef text_key(std::string key, Accessor access) {
  return {key, [access](Settings& s, const std::string& value, const RawValue&, Problems&) { access(s) = value; },
          [access](const Settings& s) { return std::string(field_of(access, s)); }};
}

template <typename Accessor>
KeyDef optional_text_key(std::string key, Accessor access) {
  return {key, [access](Settings& s, const std::string& value, const RawValue&, Problems&) { access(s) = value; },
          [access](const Settings& s) { return field_of(access, s).value_or(""); }};
}

template <typename Accessor>
KeyDef url_key(std::string key, Accessor access) {
  return {key, [access](Settings& s, const std::string& value, const RawValue&, Problems&) { access(s) = value; },
          [access](const Settings& s) { return url_without_credentials(field_of(access, s)); }};
}

// How the reference reads an unquoted YAML value that is not true/false/yes/no: PyYAML types `on`/`off`
// as booleans and `1`, `0`, `0.5` as numbers, and the reference takes a non-text value by its truthiness
// (bool(0) is false, any other number true). So `ssl_verify: 0` in a reference config.yml keeps its meaning.
std::optional<bool> yaml_typed_bool(const std::string& value) {
  const std::string lower = to_lower(value);
  if (lower == "on") return true;
  if (lower == "off") return false;
  if (auto number = parse_number(value)) return *number != 0;
  return std::nullopt;
}

std::optional<bool> read_bool(const std::string& key, const std::string& value, const RawValue& raw,
                              Problems& problems) {
  auto parsed = parse_bool(value);
  if (!parsed && raw.yaml_plain) parsed = yaml_typed_bool(value);
  if (!parsed) {
    problems.error(fmt::format(
        "Invalid configuration: '{}' contains invalid boolean value: '{}' (from {}) — use true, false, yes or no",
        key, value, raw.origin));
  }
  return parsed;
}

// opencti.ssl_verify: a boolean as in the reference, or (as pycti hands the value to requests'
// `verify`) the path of a CA bundle that signs the platform's certificate — verification stays on.
KeyDef ssl_verify_key(std::string key) {
  return {key,
          [](Settings& s, const std::string& value, const RawValue& raw, Problems&) {
            auto parsed = parse_bool(value);
            if (!parsed && raw.yaml_plain) parsed = yaml_typed_bool(value);
            s.opencti.ssl_verify = parsed.value_or(true);
            s.opencti.ssl_ca_file = parsed ? std::string() : value;  // checked as a file by validate()
          },
          [](const Settings& s) -> std::string {
            if (!s.opencti.ssl_ca_file.empty()) return s.opencti.ssl_ca_file;
            return s.opencti.ssl_verify ? "true" : "false";
          }};
}

template <typename Accessor>
KeyDef bool_key(std::string key, Accessor access) {
  return {key,
          [key, access](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_bool(key, value, raw, problems)) access(s) = *parsed;
          },
          [access](const Settings& s) -> std::string { return field_of(access, s) ? "true" : "false"; }};
}

template <typename Accessor>
KeyDef optional_bool_key(std::string key, Accessor access) {
  return {key,
          [key, access](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_bool(key, value, raw, problems)) access(s) = *parsed;
          },
          [access](const Settings& s) -> std::string {
            const auto& v = field_of(access, s);
            return v ? (*v ? "true" : "false") : "";
          }};
}

std::optional<long long> read_integer(const std::string& key, const std::string& value, const RawValue& raw,
                                      long long min, long long max, Problems& problems) {
  auto parsed = parse_integer(value);
  if (!parsed) {
    problems.error(invalid_number(key, value, raw, "integer"));
  } else if (*parsed < min || *parsed > max) {
    problems.error(out_of_range(key, *parsed, min, max, raw));
    return std::nullopt;
  }
  return parsed;
}

template <typename Accessor>
KeyDef integer_key(std::string key, Accessor access, long long min, long long max) {
  return {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) {
              access(s) = static_cast<std::remove_reference_t<decltype(access(s))>>(*parsed);
            }
          },
          [access](const Settings& s) { return std::to_string(field_of(access, s)); }};
}

template <typename Accessor>
KeyDef optional_integer_key(std::string key, Accessor access, long long min, long long max) {
  return {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) access(s) = static_cast<int>(*parsed);
          },
          [access](const Settings& s) {
            const auto& v = field_of(access, s);
            return v ? std::to_string(*v) : std::string{};
          }};
}

template <typename Accessor>
KeyDef seconds_key(std::string key, Accessor access, long long min, long long max) {
  return {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) {
              access(s) = std::chrono::seconds{*parsed};
            }
          },
          [access](const Settings& s) { return std::to_string(field_of(access, s).count()); }};
}

template <typename Accessor>
KeyDef megabytes_key(std::string key, Accessor access, long long min, long long max) {
  return {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) {
              access(s) = static_cast<std::size_t>(*parsed) << 20;
            }
          },
          [access](const Settings& s) { return std::to_string(field_of(access, s) >> 20); }};
}

template <typename Accessor>
KeyDef number_key(std::string key, Accessor access, double min, double max) {
  return {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            auto parsed = parse_number(value);
            if (!parsed) {
              problems.error(invalid_number(key, value, raw, "number"));
            } else if (*parsed < min || *parsed > max) {
              problems.error(fmt::format("{} is {}, outside the allowed range {}..{} (from {}) — {}", key, value, min,
                                         max, raw.origin, fix_hint(key, raw)));
            } else {
              access(s) = *parsed;
            }
          },
          [access](const Settings& s) { return fmt::format("{}", field_of(access, s)); }};
}

template <typename Enum>
using Choices = std::vector<std::pair<std::string, Enum>>;

template <typename Enum, typename Accessor>
KeyDef choice_key(std::string key, Accessor access, Choices<Enum> choices) {
  return {key,
          [key, access, choices](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            for (const auto& [name, choice] : choices) {
              if (to_lower(value) == name) {
                access(s) = choice;
                return;
              }
            }
            std::vector<std::string> names;
            for (const auto& choice : choices) names.push_back(choice.first);
            problems.error(fmt::format(
                "Invalid configuration: '{}' contains invalid value: '{}'. Supported values: {} (from {})", key, value,
                fmt::join(names, ", "), raw.origin));
          },
          [access, choices](const Settings& s) {
            for (const auto& [name, choice] : choices) {
              if (field_of(access, s) == choice) return name;
            }
            return std::string{};
          }};
}

KeyDef string_choice_key(std::string key, std::function<std::string&(Settings&)> access,
                         std::vector<std::string> choices) {
  return {key,
          [key, access, choices](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            for (const auto& choice : choices) {
              if (to_lower(value) == to_lower(choice)) {
                access(s) = choice;
                return;
              }
            }
            problems.error(fmt::format(
                "Invalid configuration: '{}' contains invalid value: '{}'. Supported values: {} (from {})", key, value,
                fmt::join(choices, ", "), raw.origin));
          },
          [access](const Settings& s) { return field_of(access, s); }};
}

KeyDef duration_key(std::string key) {
  return {key,
          [key](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            auto parsed = parse_iso8601_duration(value);
            if (!parsed) {
              problems.error(fmt::format(
                  "{} is '{}', not an ISO-8601 duration such as PT1H, PT30M, P1D or P1DT2H (from {}) — {}", key,
                  value, raw.origin, fix_hint(key, raw)));
            } else if (parsed->count() <= 0) {
              problems.error(fmt::format("{} is '{}', a zero duration (from {}) — give a period longer than zero", key,
                                         value, raw.origin));
            } else {
              s.connector.duration_period = *parsed;
            }
          },
          [](const Settings& s) {
            return s.connector.duration_period ? fmt::format("{} s", s.connector.duration_period->count())
                                               : std::string{};
          }};
}

template <typename Accessor>
KeyDef list_key(std::string key, Accessor access) {
  KeyDef def{key, nullptr, [access](const Settings& s) { return fmt::format("{}", fmt::join(field_of(access, s), ",")); },
             true};
  def.apply = [access](Settings& s, const std::string& value, const RawValue& raw, Problems&) {
    if (raw.list) {
      access(s) = *raw.list;
      return;
    }
    // The reference splits a string on ',' without trimming; surrounding blanks never belong to a
    // collection id or title pattern, so they are trimmed here.
    std::vector<std::string> items;
    std::stringstream stream(value);
    for (std::string item; std::getline(stream, item, ',');) {
      const auto first = item.find_first_not_of(" \t");
      const auto last = item.find_last_not_of(" \t");
      if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
    }
    access(s) = items;
  };
  return def;
}

template <typename Accessor>
KeyDef optional_secret_key(std::string key, Accessor access) {
  return {key, [access](Settings& s, const std::string& value, const RawValue&, Problems&) { access(s) = Secret{value}; },
          [access](const Settings& s) {
            const auto& v = field_of(access, s);
            return v ? v->masked() : std::string{};
          }};
}

// A file path, or the PEM text itself (pycti accepts both): the text is never shown, a private key least of all.
template <typename Accessor>
KeyDef pem_key(std::string key, Accessor access) {
  return {key, [access](Settings& s, const std::string& value, const RawValue&, Problems&) { access(s) = value; },
          [access](const Settings& s) -> std::string {
            const std::string& value = field_of(access, s);
            return is_pem_text(value) ? fmt::format("(PEM text, {} characters)", value.size()) : value;
          }};
}

bool is_header_name(const std::string& name) {
  return !name.empty() && name.find_first_of(" \t\r\n()<>@,;:\\\"/[]?={}") == std::string::npos;
}

// OPENCTI_CUSTOM_HEADERS often carries credentials (proxy Authorization): only names are shown.
KeyDef headers_key(std::string key) {
  return {key, [](Settings& s, const std::string& value, const RawValue&, Problems&) { s.opencti.custom_headers = value; },
          [](const Settings& s) {
            std::vector<std::string> shown;
            std::stringstream stream(s.opencti.custom_headers);
            for (std::string header; std::getline(stream, header, ';');) {
              if (header.find_first_not_of(" \t") == std::string::npos) continue;
              const auto colon = header.find(':');
              // A malformed entry may be a value pasted without its name: show nothing of it.
              const std::string name = colon == std::string::npos ? "" : header.substr(0, colon);
              shown.push_back(is_header_name(name) ? name + ":****" : std::string("****"));
            }
            return fmt::format("{}", fmt::join(shown, ";"));
          }};
}

// The three tokens: the value, a file holding it, and its expiry.
struct TokenKeys {
  std::string key;
  std::string server;
  std::function<TokenPtr&(Settings&)> access;
};

const std::vector<TokenKeys>& token_keys() {
  static const std::vector<TokenKeys> keys{
      {"kaspersky.api_token", "the Kaspersky TAXII server",
       [](Settings& s) -> TokenPtr& { return s.kaspersky.api_token; }},
      {"opentip.api_key", "the Kaspersky Threat Intelligence Portal API (OpenTIP)",
       [](Settings& s) -> TokenPtr& { return s.opentip.api_key; }},
      {"opencti.token", "OpenCTI", [](Settings& s) -> TokenPtr& { return s.opencti.token; }},
  };
  return keys;
}

std::vector<KeyDef> token_defs(const TokenKeys& token) {
  auto access = token.access;
  auto with = [](std::string key, std::function<std::string(const Settings&)> show) {
    KeyDef def{std::move(key), nullptr, std::move(show)};
    def.handled_apart = true;
    return def;
  };
  auto get = [access](const Settings& s) -> const TokenPtr& { return access(const_cast<Settings&>(s)); };
  return {
      with(token.key, [get](const Settings& s) { return get(s) && get(s)->origin() != TokenOrigin::Unset
                                                           ? get(s)->secret().masked() : std::string{}; }),
      with(token.key + "_file", [get](const Settings& s) { return get(s) ? get(s)->file_path() : std::string{}; }),
      with(token.key + "_expires_at",
           [get](const Settings& s) {
             return get(s) && get(s)->expires_at() ? format_timestamp(*get(s)->expires_at()) : std::string{};
           }),
      with(token.key + "_issued_at",
           [get](const Settings& s) {
             return get(s) && get(s)->issued_at() ? format_timestamp(*get(s)->issued_at()) : std::string{};
           }),
  };
}

// Every key, in the order of deploy/config.yml.sample.
const std::vector<KeyDef>& key_defs() {
  static const std::vector<KeyDef> defs = [] {
    std::vector<KeyDef> d;
    auto add_tokens = [&d](std::string_view key) {
      for (const auto& token : token_keys()) {
        if (token.key == key) {
          auto defs = token_defs(token);
          d.insert(d.end(), defs.begin(), defs.end());
        }
      }
    };
    // opencti
    d.push_back(url_key("opencti.url", [](Settings& s) -> auto& { return s.opencti.url; }));
    add_tokens("opencti.token");
    d.push_back(ssl_verify_key("opencti.ssl_verify"));
    d.push_back(headers_key("opencti.custom_headers"));
    d.push_back(bool_key("opencti.json_logging", [](Settings& s) -> auto& { return s.opencti.json_logging; }));
    // connector
    d.push_back(text_key("connector.id", [](Settings& s) -> auto& { return s.connector.id; }));
    // Sent to OpenCTI at registration, where anything else fails as a GraphQL enum error: checked here.
    d.push_back(string_choice_key("connector.type", [](Settings& s) -> std::string& { return s.connector.type; },
                                  {"EXTERNAL_IMPORT", "INTERNAL_ENRICHMENT"}));
    d.push_back(text_key("connector.name", [](Settings& s) -> auto& { return s.connector.name; }));
    d.push_back(text_key("connector.scope", [](Settings& s) -> auto& { return s.connector.scope; }));
    d.push_back(integer_key("connector.confidence_level", [](Settings& s) -> auto& { return s.connector.confidence_level; }, 0, 100));
    d.push_back(integer_key("connector.threat_score", [](Settings& s) -> auto& { return s.connector.threat_score; }, 0, 100));
    d.push_back(integer_key("connector.threat_score_high", [](Settings& s) -> auto& { return s.connector.threat_score_high; }, 0, 100));
    d.push_back(integer_key("connector.threat_score_medium", [](Settings& s) -> auto& { return s.connector.threat_score_medium; }, 0, 100));
    d.push_back(bool_key("connector.threat_score_from_description",
                         [](Settings& s) -> auto& { return s.connector.threat_score_from_description; }));
    d.push_back(choice_key<LabelFormat>("connector.label_format", [](Settings& s) -> auto& { return s.connector.label_format; },
                                        {{"legacy", LabelFormat::Legacy}, {"new", LabelFormat::New}, {"both", LabelFormat::Both}}));
    d.push_back(choice_key<DescriptionMode>(
        "connector.description_mode", [](Settings& s) -> auto& { return s.connector.description_mode; },
        {{"overwrite", DescriptionMode::Overwrite}, {"skip", DescriptionMode::Skip}, {"create_only", DescriptionMode::CreateOnly}}));
    d.push_back(string_choice_key("connector.log_level", [](Settings& s) -> std::string& { return s.connector.log_level; },
                                  {"debug", "info", "warn", "warning", "error"}));
    d.push_back(choice_key<LogFormat>("connector.log_format", [](Settings& s) -> auto& { return s.connector.log_format; },
                                      {{"auto", LogFormat::Auto}, {"human", LogFormat::Human}, {"json", LogFormat::Json}}));
    d.push_back(bool_key("connector.update_existing_data", [](Settings& s) -> auto& { return s.connector.update_existing_data; }));
    d.push_back(bool_key("connector.run_and_terminate", [](Settings& s) -> auto& { return s.connector.run_and_terminate; }));
    d.push_back(duration_key("connector.duration_period"));
    d.push_back(choice_key<QueueProtocol>("connector.queue_protocol", [](Settings& s) -> auto& { return s.connector.queue_protocol; },
                                          {{"amqp", QueueProtocol::Amqp}, {"api", QueueProtocol::Api}}));
    d.push_back(number_key("connector.queue_threshold", [](Settings& s) -> auto& { return s.connector.queue_threshold_mb; }, 1, 1e6));
    d.push_back(bool_key("connector.expose_metrics", [](Settings& s) -> auto& { return s.connector.expose_metrics; }));
    d.push_back(integer_key("connector.metrics_port", [](Settings& s) -> auto& { return s.connector.metrics_port; }, 1, 65535));
    d.push_back(text_key("connector.metrics_address", [](Settings& s) -> auto& { return s.connector.metrics_address; }));
    d.push_back(choice_key<OutputKind>("connector.output", [](Settings& s) -> auto& { return s.connector.output; },
                                       {{"opencti", OutputKind::OpenCti}, {"directory", OutputKind::Directory}, {"stdout", OutputKind::Stdout}}));
    d.push_back(text_key("connector.output_dir", [](Settings& s) -> auto& { return s.connector.output_dir; }));
    d.push_back(text_key("connector.state_file", [](Settings& s) -> auto& { return s.connector.state_file; }));
    // kaspersky
    d.push_back(url_key("kaspersky.api_root", [](Settings& s) -> auto& { return s.kaspersky.api_root; }));
    add_tokens("kaspersky.api_token");
    d.push_back(seconds_key("kaspersky.connection_timeout", [](Settings& s) -> auto& { return s.kaspersky.connection_timeout; }, 1, 3600));
    d.push_back(bool_key("kaspersky.ssl_verify", [](Settings& s) -> auto& { return s.kaspersky.ssl_verify; }));
    d.push_back(text_key("kaspersky.ca_file", [](Settings& s) -> auto& { return s.kaspersky.ca_file; }));
    d.push_back(bool_key("kaspersky.allow_insecure_http", [](Settings& s) -> auto& { return s.kaspersky.allow_insecure_http; }));
    d.push_back(seconds_key("kaspersky.initial_history", [](Settings& s) -> auto& { return s.kaspersky.initial_history; }, 0, 100LL * 365 * 86400));
    d.push_back(seconds_key("kaspersky.update_interval", [](Settings& s) -> auto& { return s.kaspersky.update_interval; }, 1, 365LL * 86400));
    d.push_back(bool_key("kaspersky.expand_objects", [](Settings& s) -> auto& { return s.kaspersky.expand_objects; }));
    d.push_back(bool_key("kaspersky.create_indicators", [](Settings& s) -> auto& { return s.kaspersky.create_indicators; }));
    d.push_back(bool_key("kaspersky.create_observables", [](Settings& s) -> auto& { return s.kaspersky.create_observables; }));
    d.push_back(list_key("kaspersky.collections", [](Settings& s) -> auto& { return s.kaspersky.collections; }));
    d.push_back(integer_key("kaspersky.page_limit", [](Settings& s) -> auto& { return s.kaspersky.page_limit; }, 0, 100000));
    d.push_back(integer_key("kaspersky.max_attempts", [](Settings& s) -> auto& { return s.kaspersky.max_attempts; }, 1, 100));
    d.push_back(megabytes_key("kaspersky.max_response_mb", [](Settings& s) -> auto& { return s.kaspersky.max_response_bytes; }, 1, 4096));
    // mq
    d.push_back(optional_text_key("mq.host", [](Settings& s) -> auto& { return s.mq.host; }));
    d.push_back(optional_integer_key("mq.port", [](Settings& s) -> auto& { return s.mq.port; }, 1, 65535));
    d.push_back(optional_text_key("mq.vhost", [](Settings& s) -> auto& { return s.mq.vhost; }));
    d.push_back(optional_bool_key("mq.use_ssl", [](Settings& s) -> auto& { return s.mq.use_ssl; }));
    d.push_back(optional_text_key("mq.user", [](Settings& s) -> auto& { return s.mq.user; }));
    d.push_back(optional_secret_key("mq.pass", [](Settings& s) -> auto& { return s.mq.pass; }));
    d.push_back(pem_key("mq.use_ssl_ca", [](Settings& s) -> auto& { return s.mq.ssl_ca; }));
    d.push_back(pem_key("mq.use_ssl_cert", [](Settings& s) -> auto& { return s.mq.ssl_cert; }));
    d.push_back(pem_key("mq.use_ssl_key", [](Settings& s) -> auto& { return s.mq.ssl_key; }));
    d.push_back(optional_secret_key("mq.use_ssl_passphrase", [](Settings& s) -> auto& { return s.mq.ssl_passphrase; }));
    d.push_back(bool_key("mq.use_ssl_reject_unauthorized", [](Settings& s) -> auto& { return s.mq.ssl_reject_unauthorized; }));
    // opentip
    d.push_back(url_key("opentip.url", [](Settings& s) -> auto& { return s.opentip.url; }));
    add_tokens("opentip.api_key");
    d.push_back(bool_key("opentip.allow_insecure_http", [](Settings& s) -> auto& { return s.opentip.allow_insecure_http; }));
    d.push_back(integer_key("opentip.max_requests_per_minute", [](Settings& s) -> auto& { return s.opentip.max_requests_per_minute; }, 1, 6000));
    d.push_back(seconds_key("opentip.cache_ttl", [](Settings& s) -> auto& { return s.opentip.cache_ttl; }, 0, 365LL * 86400));
    d.push_back(text_key("opentip.cache_dir", [](Settings& s) -> auto& { return s.opentip.cache_dir; }));
    d.push_back(integer_key("opentip.cache_max_entries", [](Settings& s) -> auto& { return s.opentip.cache_max_entries; }, 1, 10'000'000));
    d.push_back(seconds_key("opentip.quota_cooldown", [](Settings& s) -> auto& { return s.opentip.quota_cooldown; }, 0, 7LL * 86400));
    d.push_back(string_choice_key("opentip.max_tlp", [](Settings& s) -> std::string& { return s.opentip.max_tlp; },
                                  {"TLP:CLEAR", "TLP:WHITE", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"}));
    d.push_back(text_key("opentip.zone_scores", [](Settings& s) -> auto& { return s.opentip.zone_scores; }));
    d.push_back(text_key("opentip.enrichment_scope", [](Settings& s) -> auto& { return s.opentip.enrichment_scope; }));
    // tokens
    d.push_back(integer_key("tokens.expiry_warning_days", [](Settings& s) -> auto& { return s.tokens.expiry_warning_days; }, 0, 365));
    return d;
  }();
  return defs;
}

const KeyDef* find_def(std::string_view key) {
  for (const auto& def : key_defs()) {
    if (def.key == key) return &def;
  }
  return nullptr;
}

std::vector<std::string> section_names() {
  std::vector<std::string> sections;
  for (const auto& key : known_keys()) {
    const std::string section = key.substr(0, key.find('.'));
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) sections.push_back(section);
  }
  return sections;
}

// ---------------------------------------------------------------------------------------------
// Sources

class Sources {
 public:
  Sources(const Environment& environment, std::string file_name) : environment_(environment), file_(std::move(file_name)) {}

  void read_yaml(const std::string& text, Problems& problems) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& error) {
      problems.error(fmt::format("{}: not valid YAML at line {}, column {}: {} — fix the file", file_, error.mark.line + 1,
                                 error.mark.column + 1, error.msg));
      return;
    }
    if (root.IsNull()) return;
    if (!root.IsMap()) {
      problems.error(fmt::format("{}: expected sections such as 'opencti:', 'connector:', 'kaspersky:' at the top "
                                 "level — fix the file", file_));
      return;
    }
    const auto sections = section_names();
    for (const auto& section : root) {
      const std::string name = section.first.Scalar();
      if (std::find(sections.begin(), sections.end(), name) == sections.end()) {
        problems.warning(unknown("section '" + name + "'", name, sections));
        continue;
      }
      if (section.second.IsNull()) continue;
      if (!section.second.IsMap()) {
        problems.error(fmt::format("{}: section '{}' must hold keys (e.g. '{}:\\n  key: value') — fix the file", file_,
                                   name, name));
        continue;
      }
      for (const auto& entry : section.second) read_entry(name + "." + entry.first.Scalar(), entry.second, problems);
    }
  }

  // Environment (non-empty) first, then the file.
  std::optional<RawValue> find(const std::string& key) const {
    const std::string env = env_name_for(key);
    if (auto it = environment_.find(env); it != environment_.end() && !it->second.empty()) {
      return RawValue{it->second, std::nullopt, "env " + env, true};
    }
    if (auto it = yaml_.find(key); it != yaml_.end()) return it->second;
    return std::nullopt;
  }

  void warn_unknown_environment(Problems& problems) const {
    std::vector<std::string> env_names;
    for (const auto& key : known_keys()) env_names.push_back(env_name_for(key));
    static const std::vector<std::string> prefixes{"OPENCTI_", "CONNECTOR_", "KASPERSKY_", "MQ_", "OPENTIP_", "TOKENS_"};
    // Sections no other program uses: anything unknown there is a mistake.
    static const std::vector<std::string> owned{"KASPERSKY_", "OPENTIP_", "TOKENS_"};
    for (const auto& [name, value] : environment_) {
      const bool ours = std::any_of(prefixes.begin(), prefixes.end(), [&](const auto& p) { return name.starts_with(p); });
      if (!ours || std::find(env_names.begin(), env_names.end(), name) != env_names.end()) continue;
      const auto suggestion = closest_match(name, env_names);
      const bool owned_prefix = std::any_of(owned.begin(), owned.end(), [&](const auto& p) { return name.starts_with(p); });
      if (suggestion) {
        problems.warning(fmt::format("unknown environment variable {} ignored — did you mean {}?", name, *suggestion));
      } else if (owned_prefix) {
        problems.warning(fmt::format("unknown environment variable {} ignored", name));
      }
    }
  }

 private:
  std::string unknown(const std::string& what, const std::string& name, const std::vector<std::string>& candidates) {
    const auto suggestion = closest_match(name, candidates);
    return suggestion ? fmt::format("unknown {} in {} ignored — did you mean '{}'?", what, file_, *suggestion)
                      : fmt::format("unknown {} in {} ignored", what, file_);
  }

  void read_entry(const std::string& key, const YAML::Node& node, Problems& problems) {
    const KeyDef* def = find_def(key);
    if (!def) {
      problems.warning(unknown("key '" + key + "'", key, known_keys()));
      return;
    }
    if (node.IsNull()) return;  // "key:" with nothing: the default applies
    RawValue raw{std::nullopt, std::nullopt, file_, false};
    if (node.IsScalar()) {
      raw.scalar = node.Scalar();
      raw.yaml_plain = node.Tag() == "?";
    } else if (node.IsSequence() && def->list) {
      std::vector<std::string> items;
      for (const auto& item : node) {
        if (!item.IsScalar()) {
          problems.error(fmt::format("{} in {} must be a list of strings — fix the file", key, file_));
          return;
        }
        items.push_back(item.Scalar());
      }
      raw.list = items;
      raw.scalar = fmt::format("{}", fmt::join(items, ","));
    } else {
      problems.error(fmt::format("{} in {} must be a single value{} — fix the file", key, file_,
                                 def->list ? " or a list" : ", not a list or mapping"));
      return;
    }
    yaml_[key] = raw;
  }

  const Environment& environment_;
  std::string file_;
  std::map<std::string, RawValue> yaml_;
};

// ---------------------------------------------------------------------------------------------
// Tokens

std::optional<SystemTime> read_token_date(const Sources& sources, const std::string& key, Settings& settings,
                                          Problems& problems) {
  const auto raw = sources.find(key);
  if (!raw) return std::nullopt;
  settings.origins[key] = raw->origin;
  auto parsed = parse_date_or_timestamp(*raw->scalar);
  if (!parsed) {
    problems.error(fmt::format("{} is '{}', not a date (2026-12-03) or RFC 3339 timestamp (2026-12-03T10:00:00Z) "
                               "(from {}) — {}",
                               key, *raw->scalar, raw->origin, fix_hint(key, *raw)));
  }
  return parsed;
}

TokenPtr load_token(const TokenKeys& token, const Sources& sources, Settings& settings, Problems& problems) {
  TokenSpec spec;
  spec.key = token.key;
  spec.env_name = env_name_for(token.key);
  spec.server = token.server;
  spec.expires_at = read_token_date(sources, token.key + "_expires_at", settings, problems);
  spec.issued_at = read_token_date(sources, token.key + "_issued_at", settings, problems);
  if (spec.expires_at && spec.issued_at && *spec.expires_at > *spec.issued_at + kTokenMaxValidity + std::chrono::hours{24}) {
    problems.warning(fmt::format("{}_expires_at is more than a year after {}_issued_at; the portal issues tokens for "
                                 "one year at most — check both dates",
                                 token.key, token.key));
  }

  auto value = sources.find(token.key);
  auto file = sources.find(token.key + "_file");
  if (value && file) {
    if (value->from_env == file->from_env) {
      problems.error(fmt::format("both {} and {}_file are set (from {} and {}) — keep only one", token.key, token.key,
                                 value->origin, file->origin));
    }
    // The environment wins over the file, whichever of the two it sets.
    (value->from_env ? file : value).reset();
  }
  if (value) {
    spec.origin = value->from_env ? TokenOrigin::Environment : TokenOrigin::Inline;
    spec.value = Secret{*value->scalar};
    settings.origins[token.key] = value->origin;
  } else if (file) {
    spec.origin = TokenOrigin::File;
    spec.file_path = *file->scalar;
    settings.origins[token.key] = "file " + spec.file_path + " (" + token.key + "_file from " + file->origin + ")";
    settings.origins[token.key + "_file"] = file->origin;
  }
  try {
    return std::make_shared<Token>(spec);
  } catch (const TokenError& error) {
    problems.error(fmt::format("{} (from {})", error.what(), file->origin));
    spec.origin = TokenOrigin::Unset;
    return std::make_shared<Token>(spec);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation across keys

std::string origin_of(const Settings& settings, const std::string& key) {
  auto it = settings.origins.find(key);
  return it == settings.origins.end() ? "default" : it->second;
}

void check_required_token(const Settings& settings, const TokenPtr& token, Problems& problems) {
  if (token->origin() == TokenOrigin::Unset) {
    if (token->file_path().empty()) {
      problems.error(fmt::format("{} is missing — {} (or {}_file)", token->key(), set_hint(token->key()), token->key()));
    }
    return;
  }
  for (auto& problem : token->problems()) problems.error(fmt::format("{} (from {})", problem, origin_of(settings, token->key())));
}

void check_optional_token(const Settings& settings, const TokenPtr& token, Problems& problems) {
  if (token->origin() != TokenOrigin::Unset) check_required_token(settings, token, problems);
}

void check_url(const Settings& settings, const std::string& key, const std::string& url, bool required,
               Problems& problems, std::string* scheme, std::string* host = nullptr) {
  if (problems.already_reported(key)) return;
  if (url.empty()) {
    if (required) problems.error(fmt::format("{} is missing — {}", key, set_hint(key)));
    return;
  }
  if (!is_http_url(url, scheme, host)) {
    problems.error(fmt::format("{} is '{}', not an http(s) URL such as https://host/path (from {}) — fix it", key,
                               url_without_credentials(url), origin_of(settings, key)));
  }
}

void check_custom_headers(const Settings& settings, Problems& problems) {
  std::stringstream stream(settings.opencti.custom_headers);
  for (std::string header; std::getline(stream, header, ';');) {
    if (header.find_first_not_of(" \t") == std::string::npos) continue;
    const auto colon = header.find(':');
    if (colon == std::string::npos || !is_header_name(header.substr(0, colon))) {
      // Header values can be credentials: only the position is named.
      problems.error(fmt::format("opencti.custom_headers has a malformed entry (from {}) — use \"name:value;name2:value2\"",
                                 origin_of(settings, "opencti.custom_headers")));
      return;
    }
  }
}

void check_zone_scores(const Settings& settings, Problems& problems) {
  static const std::set<std::string> zones{"red", "orange", "yellow", "grey", "gray", "green"};
  std::stringstream stream(settings.opentip.zone_scores);
  for (std::string entry; std::getline(stream, entry, ',');) {
    const auto colon = entry.find(':');
    const auto score = colon == std::string::npos ? std::nullopt : parse_integer(entry.substr(colon + 1));
    if (colon == std::string::npos || !zones.contains(to_lower(entry.substr(0, colon))) || !score || *score < 0 ||
        *score > 100) {
      problems.error(fmt::format("opentip.zone_scores entry '{}' is not <zone>:<0..100> with zone red, orange, yellow, "
                                 "grey or green (from {})",
                                 entry, origin_of(settings, "opentip.zone_scores")));
    }
  }
}

// opencti.ssl_verify holding neither a boolean nor a readable file is most likely a typo of a boolean.
void check_opencti_ca_file(const Settings& settings, Problems& problems) {
  const std::string& path = settings.opencti.ssl_ca_file;
  if (path.empty() || problems.already_reported("opencti.ssl_verify")) return;
  std::error_code ignored;
  std::ifstream in(path);
  const std::string reason = !in ? std::strerror(errno)
                             : std::filesystem::is_directory(path, ignored) ? "it is a directory" : "";
  if (reason.empty()) return;
  problems.error(fmt::format("opencti.ssl_verify is '{}' (from {}): neither true/false nor a readable CA bundle "
                             "file ({}) — use true, false, or the path of the PEM CA bundle that signs OpenCTI's "
                             "certificate",
                             path, origin_of(settings, "opencti.ssl_verify"), reason));
}

// The RabbitMQ TLS files are read only when the connector connects: check them now, so a wrong path is
// a configuration error at start rather than a failed delivery later.
void check_mq_tls(const Settings& settings, Problems& problems) {
  const MqSettings& mq = settings.mq;
  const std::pair<std::string, const std::string*> files[] = {
      {"mq.use_ssl_ca", &mq.ssl_ca}, {"mq.use_ssl_cert", &mq.ssl_cert}, {"mq.use_ssl_key", &mq.ssl_key}};
  for (const auto& [key, value] : files) {
    if (value->empty() || problems.already_reported(key)) continue;
    const std::string origin = origin_of(settings, key);
    if (is_pem_text(*value)) {
      if (value->find("-----END") == std::string::npos) {
        problems.error(fmt::format("{} holds PEM text without its -----END line (from {}) — give the whole PEM "
                                   "block or the path of a PEM file",
                                   key, origin));
      }
      continue;
    }
    if (value->find_first_of("\r\n") != std::string::npos) {
      // Neither a path nor PEM: maybe key material pasted without its header, so none of it is shown.
      problems.error(fmt::format("{} is neither a file path nor PEM text starting with -----BEGIN (from {}) — give "
                                 "the path of a PEM file or the whole PEM block",
                                 key, origin));
      continue;
    }
    std::error_code ignored;
    std::ifstream in(*value);
    const std::string reason = !in ? std::strerror(errno)
                               : std::filesystem::is_directory(*value, ignored) ? "it is a directory" : "";
    if (!reason.empty()) {
      problems.error(fmt::format("{} names the file {}, which cannot be read: {} (from {}) — give the path of a "
                                 "PEM file (or the PEM text itself)",
                                 key, *value, reason, origin));
    }
  }
  if (mq.ssl_cert.empty() != mq.ssl_key.empty()) {
    const std::string set = mq.ssl_cert.empty() ? "mq.use_ssl_key" : "mq.use_ssl_cert";
    const std::string missing = mq.ssl_cert.empty() ? "mq.use_ssl_cert" : "mq.use_ssl_key";
    problems.error(fmt::format("{} is set (from {}) but {} is not: a client certificate needs both — {}, or unset {}",
                               set, origin_of(settings, set), missing, set_hint(missing), set));
  }
}

void validate(const Settings& settings, Problems& problems) {
  const auto& connector = settings.connector;
  if (problems.already_reported("connector.id")) {
    // placeholder: said already
  } else if (connector.id.empty()) {
    problems.error(fmt::format("connector.id is missing — {} (a UUIDv4, e.g. from uuidgen)", set_hint("connector.id")));
  } else if (!is_uuid(connector.id)) {
    problems.error(fmt::format("connector.id is '{}', not a UUID (from {}) — use a UUIDv4, e.g. from uuidgen",
                               connector.id, origin_of(settings, "connector.id")));
  }

  const bool to_opencti = connector.output == OutputKind::OpenCti;
  std::string scheme, host;
  check_url(settings, "opencti.url", settings.opencti.url, to_opencti, problems, &scheme, &host);
  if (scheme == "http" && !is_loopback_host(host)) {  // on loopback nothing travels over a network
    problems.warning(fmt::format("opencti.url uses plain http to {} (from {}): the OpenCTI token travels "
                                 "unencrypted — use https",
                                 host, origin_of(settings, "opencti.url")));
  }
  if (to_opencti) {
    check_required_token(settings, settings.opencti.token, problems);
  } else {
    check_optional_token(settings, settings.opencti.token, problems);
  }
  check_custom_headers(settings, problems);
  check_opencti_ca_file(settings, problems);
  check_mq_tls(settings, problems);
  if (connector.output == OutputKind::Directory && connector.output_dir.empty() &&
      !problems.already_reported("connector.output_dir")) {
    problems.error(fmt::format("connector.output is 'directory' (from {}) but connector.output_dir is not set — {}",
                               origin_of(settings, "connector.output"), set_hint("connector.output_dir")));
  }

  scheme.clear();
  check_url(settings, "kaspersky.api_root", settings.kaspersky.api_root, true, problems, &scheme);
  if (scheme == "http" && !settings.kaspersky.allow_insecure_http) {
    problems.error(fmt::format(
        "Insecure HTTP connection with the Kaspersky Threat Intelligence Portal TAXII server is forbidden. Please "
        "configure HTTPS protocol usage to make connections with the TAXII server secure. (kaspersky.api_root from {}; "
        "kaspersky.allow_insecure_http: true exists only for local test servers)",
        origin_of(settings, "kaspersky.api_root")));
  } else if (scheme == "http") {
    problems.warning("kaspersky.api_root uses plain http (kaspersky.allow_insecure_http is true): use it only with a "
                     "local test server");
  }
  check_required_token(settings, settings.kaspersky.api_token, problems);
  if (!settings.kaspersky.ca_file.empty() && !std::ifstream(settings.kaspersky.ca_file)) {
    problems.error(fmt::format("kaspersky.ca_file {} cannot be read (from {}) — give the path of a PEM CA bundle",
                               settings.kaspersky.ca_file, origin_of(settings, "kaspersky.ca_file")));
  }
  if (settings.kaspersky.collections.empty()) {
    problems.error(fmt::format("kaspersky.collections is empty (from {}) — name collections by id or title; "
                               "wildcards allowed, e.g. TAXII_*_Data_Feed",
                               origin_of(settings, "kaspersky.collections")));
  }
  // The reference's two invalid combinations, in its order and words.
  const auto& k = settings.kaspersky;
  if (!k.expand_objects && !k.create_indicators) {
    problems.error(fmt::format(
        "Invalid configuration: 'kaspersky.expand_objects' and 'kaspersky.create_indicators' are both set to "
        "'false'.\nNo STIX objects will be produced with this configuration. At least one of these options must be "
        "enabled. (kaspersky.expand_objects from {}, kaspersky.create_indicators from {})",
        origin_of(settings, "kaspersky.expand_objects"), origin_of(settings, "kaspersky.create_indicators")));
  } else if (!k.create_indicators && !k.create_observables) {
    problems.error(fmt::format(
        "Invalid configuration: 'kaspersky.create_indicators' and 'kaspersky.create_observables' are both set to "
        "'false'.\nAt least one must be set to 'true' to ensure meaningful STIX output. (kaspersky.create_indicators "
        "from {}, kaspersky.create_observables from {})",
        origin_of(settings, "kaspersky.create_indicators"), origin_of(settings, "kaspersky.create_observables")));
  }

  scheme.clear();
  check_url(settings, "opentip.url", settings.opentip.url, true, problems, &scheme);
  if (scheme == "http" && !settings.opentip.allow_insecure_http) {
    problems.error(fmt::format(
        "opentip.url uses plain http (from {}): the API token would travel unencrypted — use https "
        "(opentip.allow_insecure_http: true exists only for local test servers)",
        origin_of(settings, "opentip.url")));
  }
  check_optional_token(settings, settings.opentip.api_key, problems);
  check_zone_scores(settings, problems);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Environment process_environment() {
  Environment environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    environment.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return environment;
}

LoadRequest LoadRequest::from_process(std::string cli_config_path) {
  LoadRequest request;
  request.config_path = std::move(cli_config_path);
  request.environment = process_environment();
  return request;
}

std::string resolve_config_path(std::string_view cli_path) {
  if (!cli_path.empty()) return std::string(cli_path);
  std::error_code error;
  return std::filesystem::is_regular_file(kDefaultConfigFile, error) ? std::string(kDefaultConfigFile) : std::string{};
}

std::string env_name_for(std::string_view key) {
  std::string name = to_upper(key);
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> all;
    for (const auto& def : key_defs()) all.push_back(def.key);
    return all;
  }();
  return keys;
}

LoadResult load_settings(const LoadRequest& request) {
  LoadResult result;
  Problems problems;

  std::string yaml_text;
  if (request.yaml_text) {
    result.config_file = request.config_path.empty() ? std::string(kDefaultConfigFile) : request.config_path;
    yaml_text = *request.yaml_text;
  } else {
    result.config_file = resolve_config_path(request.config_path);
    if (!result.config_file.empty()) {
      std::ifstream in(result.config_file, std::ios::binary);
      if (!in) {
        problems.error(fmt::format("cannot read the config file {}: {} — check --config", result.config_file,
                                   std::strerror(errno)));
      }
      std::ostringstream content;
      content << in.rdbuf();
      yaml_text = content.str();
    }
  }

  Sources sources(request.environment, result.config_file.empty() ? std::string(kDefaultConfigFile) : result.config_file);
  sources.read_yaml(yaml_text, problems);
  sources.warn_unknown_environment(problems);

  Settings& settings = result.settings;
  for (const auto& def : key_defs()) {
    if (def.handled_apart) continue;
    const auto raw = sources.find(def.key);
    if (!raw) continue;
    settings.origins[def.key] = raw->origin;
    if (is_placeholder(*raw->scalar)) {
      problems.key_error(def.key, fmt::format("{} is the placeholder 'ChangeMe' (from {}) — {}", def.key, raw->origin,
                                 raw->from_env ? fix_hint(def.key, *raw) : set_hint(def.key)));
      continue;
    }
    const std::size_t errors_before = problems.errors.size();
    def.apply(settings, *raw->scalar, *raw, problems);
    if (problems.errors.size() != errors_before) problems.reported.insert(def.key);
  }
  for (const auto& token : token_keys()) token.access(settings) = load_token(token, sources, settings, problems);
  for (const auto& key : known_keys()) settings.origins.try_emplace(key, "default");

  validate(settings, problems);
  result.errors = std::move(problems.errors);
  result.warnings = std::move(problems.warnings);
  return result;
}

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(fmt::format("invalid configuration ({} problem{}):\n  {}", problems.size(),
                                     problems.size() == 1 ? "" : "s", fmt::join(problems, "\n  "))),
      problems_(std::move(problems)) {}

Settings load_settings_or_throw(const LoadRequest& request) {
  LoadResult result = load_settings(request);
  for (const auto& warning : result.warnings) spdlog::warn("config: {}", warning);
  if (!result.ok()) throw ConfigError(std::move(result.errors));
  return std::move(result.settings);
}

std::vector<EffectiveSetting> describe_settings(const Settings& settings) {
  std::vector<EffectiveSetting> lines;
  for (const auto& def : key_defs()) {
    auto origin = settings.origins.find(def.key);
    lines.push_back({def.key, def.show(settings), origin == settings.origins.end() ? "default" : origin->second});
  }
  return lines;
}

std::vector<TokenReport> token_reports(const Settings& settings, SystemTime now) {
  std::vector<TokenReport> reports;
  for (const auto& keys : token_keys()) {
    const TokenPtr& token = keys.access(const_cast<Settings&>(settings));
    TokenReport report;
    report.key = keys.key;
    report.configured = token && token->origin() != TokenOrigin::Unset;
    auto origin = settings.origins.find(keys.key);
    report.source = report.configured && origin != settings.origins.end() ? origin->second : "not set";
    if (report.configured) report.status = token->status(now, settings.tokens.expiry_warning_days);
    reports.push_back(std::move(report));
  }
  return reports;
}

}  // namespace kfc
