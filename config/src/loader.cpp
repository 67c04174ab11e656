#include "kfc/config/loader.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
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
#include "kfc/config/regex.h"
#include "kfc/config/secure_url.h"
#include "kfc/config/values.h"
#include "kfc/config/zone_scores.h"

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
  void notice(std::string text) { notices.push_back(std::move(text)); }
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  std::vector<std::string> notices;
};

std::string fix_hint(const std::string& key, const RawValue& raw) {
  if (raw.from_env) return fmt::format("fix the environment variable {}", raw.origin.substr(4));
  return fmt::format("fix {} in {}", key, raw.origin);
}

std::string set_hint(const std::string& key) {
  return fmt::format("set {} in config.yml or the environment variable {}", key, env_name_for(key));
}

bool is_placeholder(std::string_view text) { return to_lower(text) == "changeme"; }

// What the loader does with one key: parse a raw value into the settings, and show it back; and
// what the documentation generated from this table says about it (key_docs(): the catalogue's JSON
// Schema and config doc under deploy/opencti). The kind helpers below fill type, choices and range;
// each entry adds its description with .doc().
struct KeyDef {
  std::string key;
  std::function<void(Settings&, const std::string& value, const RawValue&, Problems&)> apply;
  std::function<std::string(const Settings&)> show;
  bool list = false;       // accepts a YAML list (or a comma-separated string)
  bool handled_apart = false;  // token keys: read together by load_token()
  // The taxii2 connector's samples fill unused keys with 'ChangeMe': such a value is an error only
  // where the setting is in use (validate_taxii2), not for every key.
  bool placeholder_when_used = false;
  KeyDoc docs{};

  KeyDef doc(std::string text) && {
    docs.description = std::move(text);
    return std::move(*this);
  }
  KeyDef used_by(KeyUse use) && {
    docs.use = use;
    return std::move(*this);
  }
  KeyDef required_by(KeyUse use) && {
    docs.required = use;
    return std::move(*this);
  }
  KeyDef format(std::string name) && {
    docs.format = std::move(name);
    return std::move(*this);
  }
  KeyDef typed(std::string type) && {
    docs.type = std::move(type);
    return std::move(*this);
  }
  KeyDef range(long long min, long long max) && {
    docs.minimum = min;
    docs.maximum = max;
    return std::move(*this);
  }
};

KeyDef of_type(std::string type, KeyDef def) {
  def.docs.type = std::move(type);
  return def;
}

KeyDef with_format(std::string format, KeyDef def) {
  def.docs.format = std::move(format);
  return def;
}

KeyDef in_range(long long min, long long max, KeyDef def) {
  def.docs.type = "integer";
  def.docs.minimum = min;
  def.docs.maximum = max;
  return def;
}

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
  return with_format("uri", {key, [access](Settings& s, const std::string& value, const RawValue&, Problems&) { access(s) = value; },
          [access](const Settings& s) { return url_without_credentials(field_of(access, s)); }});
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
  return of_type("boolean", {key,
          [key, access](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_bool(key, value, raw, problems)) access(s) = *parsed;
          },
          [access](const Settings& s) -> std::string { return field_of(access, s) ? "true" : "false"; }});
}

template <typename Accessor>
KeyDef optional_bool_key(std::string key, Accessor access) {
  return of_type("boolean", {key,
          [key, access](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_bool(key, value, raw, problems)) access(s) = *parsed;
          },
          [access](const Settings& s) -> std::string {
            const auto& v = field_of(access, s);
            return v ? (*v ? "true" : "false") : "";
          }});
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
  return in_range(min, max, {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) {
              access(s) = static_cast<std::remove_reference_t<decltype(access(s))>>(*parsed);
            }
          },
          [access](const Settings& s) { return std::to_string(field_of(access, s)); }});
}

template <typename Accessor>
KeyDef optional_integer_key(std::string key, Accessor access, long long min, long long max) {
  return in_range(min, max, {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) access(s) = static_cast<int>(*parsed);
          },
          [access](const Settings& s) {
            const auto& v = field_of(access, s);
            return v ? std::to_string(*v) : std::string{};
          }});
}

template <typename Accessor>
KeyDef seconds_key(std::string key, Accessor access, long long min, long long max) {
  return in_range(min, max, {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) {
              access(s) = std::chrono::seconds{*parsed};
            }
          },
          [access](const Settings& s) { return std::to_string(field_of(access, s).count()); }});
}

template <typename Accessor>
KeyDef megabytes_key(std::string key, Accessor access, long long min, long long max) {
  return in_range(min, max, {key,
          [key, access, min, max](Settings& s, const std::string& value, const RawValue& raw, Problems& problems) {
            if (auto parsed = read_integer(key, value, raw, min, max, problems)) {
              access(s) = static_cast<std::size_t>(*parsed) << 20;
            }
          },
          [access](const Settings& s) { return std::to_string(field_of(access, s) >> 20); }});
}

template <typename Accessor>
KeyDef number_key(std::string key, Accessor access, double min, double max) {
  return of_type("number", {key,
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
          [access](const Settings& s) { return fmt::format("{}", field_of(access, s)); }});
}

template <typename Enum>
using Choices = std::vector<std::pair<std::string, Enum>>;

template <typename Enum, typename Accessor>
KeyDef choice_key(std::string key, Accessor access, Choices<Enum> choices) {
  KeyDef def{key,
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
  for (const auto& choice : choices) def.docs.choices.push_back(choice.first);
  return def;
}

KeyDef string_choice_key(std::string key, std::function<std::string&(Settings&)> access,
                         std::vector<std::string> choices) {
  KeyDef def{key,
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
  def.docs.choices = choices;
  return def;
}

KeyDef duration_key(std::string key) {
  return with_format("duration", {key,
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
          }});
}

enum class ListItems { Trimmed, Verbatim };

// A YAML list, or a comma-separated string. The reference splits on ',' without trimming; blanks
// around a collection id or title pattern are a mistake, so items are trimmed unless Verbatim
// (taxii2.characters_to_replace_in_label may replace blanks, as the taxii2 connector's split allows).
template <typename Accessor>
KeyDef list_key(std::string key, Accessor access, ListItems items_are = ListItems::Trimmed) {
  KeyDef def{key, nullptr, [access](const Settings& s) { return fmt::format("{}", fmt::join(field_of(access, s), ",")); },
             true};
  def.docs.type = "array";
  def.apply = [access, items_are](Settings& s, const std::string& value, const RawValue& raw, Problems&) {
    if (raw.list) {
      access(s) = *raw.list;
      return;
    }
    std::vector<std::string> items;
    std::stringstream stream(value);
    for (std::string item; std::getline(stream, item, ',');) {
      if (items_are == ListItems::Verbatim) {
        if (!item.empty()) items.push_back(item);
        continue;
      }
      const auto first = item.find_first_not_of(" \t");
      const auto last = item.find_last_not_of(" \t");
      if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
    }
    access(s) = items;
  };
  return def;
}

// A setting of the generic TAXII mode (the taxii2 connector's): 'ChangeMe' is checked only where it
// is used; documented as a feed key.
KeyDef taxii2(KeyDef def, std::string description) {
  def.placeholder_when_used = true;
  def.docs.description = "Generic TAXII mode: " + std::move(description);
  def.docs.use = KeyUse::Feed;
  return def;
}

template <typename Accessor>
KeyDef optional_secret_key(std::string key, Accessor access) {
  KeyDef def{key, [access](Settings& s, const std::string& value, const RawValue&, Problems&) { access(s) = Secret{value}; },
          [access](const Settings& s) {
            const auto& v = field_of(access, s);
            return v ? v->masked() : std::string{};
          }};
  def.docs.secret = true;
  return def;
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

// The tokens: the value, a file holding it, and its expiry.
struct TokenKeys {
  std::string key;
  std::string server;
  std::function<TokenPtr&(Settings&)> access;
  std::string what;  // what the token is, for the generated documentation
  KeyUse use;
  SecretKind kind = SecretKind::ApiToken;
};

const std::vector<TokenKeys>& token_keys() {
  static const std::vector<TokenKeys> keys{
      {"kaspersky.api_token", "the Kaspersky TAXII server",
       [](Settings& s) -> TokenPtr& { return s.kaspersky.api_token; },
       "The Demo TAXII Server Token (or commercial TAXII token) from the Kaspersky Threat Intelligence Portal.",
       KeyUse::Feed},
      {"opentip.api_key", std::string(OpenTipSettings::kServerName),
       [](Settings& s) -> TokenPtr& { return s.opentip.api_key; },
       "The Kaspersky Threat Intelligence Portal (OpenTIP) API token, sent as X-API-KEY; needed by enrichment and lookup.",
       KeyUse::Enrichment},
      {"opencti.token", "OpenCTI", [](Settings& s) -> TokenPtr& { return s.opencti.token; },
       "The API token of the OpenCTI user the connector acts as.", KeyUse::Both},
      // The generic TAXII mode: a Basic password, a Bearer token, an API-key header's value.
      {"taxii2.password", "the TAXII server", [](Settings& s) -> TokenPtr& { return s.taxii2.password; },
       "Generic TAXII mode: the Basic authentication password (with taxii2.username).", KeyUse::Feed,
       SecretKind::Password},
      {"taxii2.token", "the TAXII server", [](Settings& s) -> TokenPtr& { return s.taxii2.token; },
       "Generic TAXII mode: the Bearer token (with taxii2.use_token).", KeyUse::Feed},
      {"taxii2.apikey_value", "the TAXII server", [](Settings& s) -> TokenPtr& { return s.taxii2.apikey_value; },
       "Generic TAXII mode: the API key sent in the header taxii2.apikey_key (with taxii2.use_apikey).", KeyUse::Feed},
  };
  return keys;
}

std::vector<KeyDef> token_defs(const TokenKeys& token) {
  auto access = token.access;
  auto with = [&token](std::string key, std::function<std::string(const Settings&)> show, std::string description) {
    KeyDef def{std::move(key), nullptr, std::move(show)};
    def.handled_apart = true;
    def.docs.description = std::move(description);
    def.docs.use = token.use;
    return def;
  };
  auto get = [access](const Settings& s) -> const TokenPtr& { return access(const_cast<Settings&>(s)); };
  std::vector<KeyDef> defs{
      with(token.key, [get](const Settings& s) { return get(s) && get(s)->origin() != TokenOrigin::Unset
                                                           ? get(s)->secret().masked() : std::string{}; },
           token.what + " Printed masked (****abcd)."),
      with(token.key + "_file", [get](const Settings& s) { return get(s) ? get(s)->file_path() : std::string{}; },
           fmt::format("A file holding {} (e.g. a Docker or Kubernetes secret), read again before each use so a "
                       "rotated token needs no restart.", token.key)),
      with(token.key + "_expires_at",
           [get](const Settings& s) {
             return get(s) && get(s)->expires_at() ? format_timestamp(*get(s)->expires_at()) : std::string{};
           },
           fmt::format("When {} expires (2026-12-03 or 2026-12-03T10:00:00Z): warnings before, refusal after.",
                       token.key)),
      with(token.key + "_issued_at",
           [get](const Settings& s) {
             return get(s) && get(s)->issued_at() ? format_timestamp(*get(s)->issued_at()) : std::string{};
           },
           fmt::format("When {} was requested; its expiry is then taken as this date + 365 days.", token.key)),
  };
  defs[0].docs.secret = true;
  // A generic TAXII secret is needed only by the authentication that sends it.
  defs[0].docs.required = token.key.starts_with("taxii2.") ? KeyUse::None : token.use;
  defs[0].docs.alternative = token.key + "_file";
  return defs;
}

// Every key, in the order of deploy/config.yml.sample.
// Deliberately a table, one row per key, each spelling out its own accessor: the rows look alike
// (duplicate finders pair them), but a row is read and reviewed alone, and a shorter spelling
// (macros, name lookup) would hide which Settings field a key fills.
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
    constexpr KeyUse feed = KeyUse::Feed;
    constexpr KeyUse enrichment = KeyUse::Enrichment;
    // opencti
    d.push_back(url_key("opencti.url", [](Settings& s) -> auto& { return s.opencti.url; })
                    .doc("The OpenCTI platform URL, e.g. http://opencti:8080.")
                    .required_by(KeyUse::Both));
    add_tokens("opencti.token");
    d.push_back(ssl_verify_key("opencti.ssl_verify")
                    .typed("boolean|string")
                    .doc("Verify OpenCTI's TLS certificate: true, false, or (as pycti) the path of the CA bundle that "
                         "signs it."));
    d.push_back(headers_key("opencti.custom_headers")
                    .doc("Extra HTTP headers sent to OpenCTI, as \"name:value;name2:value2\" (values never printed)."));
    d.push_back(bool_key("opencti.json_logging", [](Settings& s) -> auto& { return s.opencti.json_logging; })
                    .doc("Log one JSON object per line."));
    // connector
    d.push_back(text_key("connector.id", [](Settings& s) -> auto& { return s.connector.id; })
                    .doc("A UUIDv4 unique to this connector instance (e.g. from uuidgen).")
                    .format("uuid")
                    .required_by(KeyUse::Both));
    // Sent to OpenCTI at registration, where anything else fails as a GraphQL enum error: checked here.
    d.push_back(string_choice_key("connector.type", [](Settings& s) -> std::string& { return s.connector.type; },
                                  {"EXTERNAL_IMPORT", "INTERNAL_ENRICHMENT"})
                    .doc("EXTERNAL_IMPORT runs the feed connector; INTERNAL_ENRICHMENT the OpenTIP enrichment connector."));
    d.push_back(text_key("connector.name", [](Settings& s) -> auto& { return s.connector.name; })
                    .doc("The connector's name in OpenCTI."));
    d.push_back(text_key("connector.scope", [](Settings& s) -> auto& { return s.connector.scope; })
                    .doc("The scope registered for the feed connector (enrichment registers opentip.enrichment_scope).")
                    .used_by(feed));
    d.push_back(integer_key("connector.confidence_level", [](Settings& s) -> auto& { return s.connector.confidence_level; }, 0, 100)
                    .doc("Confidence of the objects created from the feeds.")
                    .used_by(feed));
    d.push_back(integer_key("connector.threat_score", [](Settings& s) -> auto& { return s.connector.threat_score; }, 0, 100)
                    .doc("x_opencti_score given to indicators.")
                    .used_by(feed));
    d.push_back(integer_key("connector.threat_score_high", [](Settings& s) -> auto& { return s.connector.threat_score_high; }, 0, 100)
                    .doc("Score from which an indicator is labelled high.")
                    .used_by(feed));
    // taxii2: the generic TAXII mode, with the keys of OpenCTI's taxii2 connector
    d.push_back(url_key("taxii2.discovery_url", [](Settings& s) -> auto& { return s.taxii2.discovery_url; })
                    .doc("Generic TAXII mode: The TAXII 2.0/2.1 server's discovery URL; setting it reads that server instead of Kaspersky's (drop-in for OpenCTI's taxii2 connector).")
                    .used_by(KeyUse::Feed));
    d.push_back(taxii2(optional_bool_key("taxii2.v21", [](Settings& s) -> auto& { return s.taxii2.v21; }),
                       "TAXII 2.1 (true) or 2.0 (false); unset: detected per API root."));
    d.push_back(taxii2(text_key("taxii2.username", [](Settings& s) -> auto& { return s.taxii2.username; }),
                       "Basic authentication user (with taxii2.password)."));
    add_tokens("taxii2.password");
    d.push_back(taxii2(bool_key("taxii2.use_token", [](Settings& s) -> auto& { return s.taxii2.use_token; }),
                       "Authenticate with the Bearer token taxii2.token."));
    add_tokens("taxii2.token");
    d.push_back(taxii2(bool_key("taxii2.use_apikey", [](Settings& s) -> auto& { return s.taxii2.use_apikey; }),
                       "Authenticate with an API-key header (taxii2.apikey_key, taxii2.apikey_value)."));
    d.push_back(taxii2(text_key("taxii2.apikey_key", [](Settings& s) -> auto& { return s.taxii2.apikey_key; }),
                       "The API-key header's name, e.g. X-API-Key."));
    add_tokens("taxii2.apikey_value");
    d.push_back(taxii2(bool_key("taxii2.use_cert", [](Settings& s) -> auto& { return s.taxii2.use_cert; }),
                       "Use a client certificate (mutual TLS): taxii2.cert_path."));
    d.push_back(taxii2(text_key("taxii2.cert_path", [](Settings& s) -> auto& { return s.taxii2.cert_path; }),
                       "Client certificate (PEM), with its key unless taxii2.key_path is set; turns mutual TLS on."));
    d.push_back(taxii2(text_key("taxii2.key_path", [](Settings& s) -> auto& { return s.taxii2.key_path; }),
                       "The client certificate's unencrypted PEM key, when in a file of its own."));
    d.push_back(taxii2(bool_key("taxii2.verify_ssl", [](Settings& s) -> auto& { return s.taxii2.verify_ssl; }),
                       "Verify the TAXII server's TLS certificate."));
    d.push_back(taxii2(text_key("taxii2.ca_file", [](Settings& s) -> auto& { return s.taxii2.ca_file; }),
                       "A CA bundle (PEM) to verify the TAXII server with."));
    d.push_back(taxii2(bool_key("taxii2.allow_insecure_http", [](Settings& s) -> auto& { return s.taxii2.allow_insecure_http; }),
                       "Allow an http:// discovery URL (credentials and data travel unencrypted)."));
    d.push_back(taxii2(seconds_key("taxii2.connection_timeout", [](Settings& s) -> auto& { return s.taxii2.connection_timeout; }, 1, 3600),
                       "Seconds to wait for the TAXII server."));
    d.push_back(taxii2(integer_key("taxii2.max_attempts", [](Settings& s) -> auto& { return s.taxii2.max_attempts; }, 1, 100),
                       "Tries per page before a collection fails."));
    d.push_back(taxii2(megabytes_key("taxii2.max_response_mb", [](Settings& s) -> auto& { return s.taxii2.max_response_bytes; }, 1, 4096),
                       "Largest TAXII response accepted, in MB."));
    d.push_back(taxii2(list_key("taxii2.collections", [](Settings& s) -> auto& { return s.taxii2.collections; }),
                       "Collections to read as api_root.collection (id, title or alias), wildcards on both sides; *.* for all."));
    d.push_back(taxii2(integer_key("taxii2.initial_history", [](Settings& s) -> auto& { return s.taxii2.initial_history_hours; }, 0, 100LL * 365 * 24),
                       "Hours of history read on the first run (0: everything)."));
    d.push_back(taxii2(integer_key("taxii2.interval", [](Settings& s) -> auto& { return s.taxii2.interval_hours; }, 1, 365LL * 24),
                       "Hours between two runs (unless connector.duration_period is set)."));
    d.push_back(taxii2(bool_key("taxii2.create_indicators", [](Settings& s) -> auto& { return s.taxii2.create_indicators; }),
                       "Let OpenCTI create indicators from the observables (x_opencti_create_indicators)."));
    d.push_back(taxii2(bool_key("taxii2.create_observables", [](Settings& s) -> auto& { return s.taxii2.create_observables; }),
                       "Let OpenCTI create observables from the indicators (x_opencti_create_observables)."));
    d.push_back(taxii2(bool_key("taxii2.add_custom_label", [](Settings& s) -> auto& { return s.taxii2.add_custom_label; }),
                       "Add taxii2.custom_label to every object that has labels."));
    d.push_back(taxii2(text_key("taxii2.custom_label", [](Settings& s) -> auto& { return s.taxii2.custom_label; }),
                       "The label added by taxii2.add_custom_label."));
    d.push_back(taxii2(bool_key("taxii2.force_pattern_as_name", [](Settings& s) -> auto& { return s.taxii2.force_pattern_as_name; }),
                       "Name each indicator after its pattern's value."));
    d.push_back(taxii2(text_key("taxii2.force_multiple_pattern_name", [](Settings& s) -> auto& { return s.taxii2.force_multiple_pattern_name; }),
                       "The name of indicators whose pattern combines comparisons (AND/OR)."));
    d.push_back(taxii2(bool_key("taxii2.stix_custom_property_to_label", [](Settings& s) -> auto& { return s.taxii2.stix_custom_property_to_label; }),
                       "Turn the value of taxii2.stix_custom_property into a label."));
    d.push_back(taxii2(text_key("taxii2.stix_custom_property", [](Settings& s) -> auto& { return s.taxii2.stix_custom_property; }),
                       "The custom STIX property whose value becomes a label."));
    d.push_back(taxii2(bool_key("taxii2.enable_url_query_limit", [](Settings& s) -> auto& { return s.taxii2.enable_url_query_limit; }),
                       "Send taxii2.url_query_limit as the TAXII limit (page size)."));
    d.push_back(taxii2(integer_key("taxii2.url_query_limit", [](Settings& s) -> auto& { return s.taxii2.url_query_limit; }, 1, 100000),
                       "Objects per TAXII page asked for."));
    d.push_back(taxii2(bool_key("taxii2.determine_x_opencti_score_by_label", [](Settings& s) -> auto& { return s.taxii2.determine_x_opencti_score_by_label; }),
                       "Set x_opencti_score from the labels (high, medium, low lists; default)."));
    d.push_back(taxii2(integer_key("taxii2.default_x_opencti_score", [](Settings& s) -> auto& { return s.taxii2.default_x_opencti_score; }, 0, 100),
                       "Score when no score label matches."));
    d.push_back(taxii2(list_key("taxii2.indicator_high_score_labels", [](Settings& s) -> auto& { return s.taxii2.indicator_high_score_labels; }),
                       "Labels giving the high score."));
    d.push_back(taxii2(integer_key("taxii2.indicator_high_score", [](Settings& s) -> auto& { return s.taxii2.indicator_high_score; }, 0, 100),
                       "The high score."));
    d.push_back(taxii2(list_key("taxii2.indicator_medium_score_labels", [](Settings& s) -> auto& { return s.taxii2.indicator_medium_score_labels; }),
                       "Labels giving the medium score."));
    d.push_back(taxii2(integer_key("taxii2.indicator_medium_score", [](Settings& s) -> auto& { return s.taxii2.indicator_medium_score; }, 0, 100),
                       "The medium score."));
    d.push_back(taxii2(list_key("taxii2.indicator_low_score_labels", [](Settings& s) -> auto& { return s.taxii2.indicator_low_score_labels; }),
                       "Labels giving the low score."));
    d.push_back(taxii2(integer_key("taxii2.indicator_low_score", [](Settings& s) -> auto& { return s.taxii2.indicator_low_score; }, 0, 100),
                       "The low score."));
    d.push_back(taxii2(bool_key("taxii2.set_indicator_as_detection", [](Settings& s) -> auto& { return s.taxii2.set_indicator_as_detection; }),
                       "Mark indicators for detection (x_opencti_detection)."));
    d.push_back(taxii2(bool_key("taxii2.create_author", [](Settings& s) -> auto& { return s.taxii2.create_author; }),
                       "Create an organization (taxii2.author_name) and make it every object's author."));
    d.push_back(taxii2(text_key("taxii2.author_name", [](Settings& s) -> auto& { return s.taxii2.author_name; }),
                       "The author organization's name."));
    d.push_back(taxii2(text_key("taxii2.author_description", [](Settings& s) -> auto& { return s.taxii2.author_description; }),
                       "The author organization's description."));
    d.push_back(taxii2(text_key("taxii2.author_reliability", [](Settings& s) -> auto& { return s.taxii2.author_reliability; }),
                       "The author's reliability, e.g. A - Completely reliable."));
    d.push_back(taxii2(bool_key("taxii2.exclude_specific_labels", [](Settings& s) -> auto& { return s.taxii2.exclude_specific_labels; }),
                       "Remove the labels matching taxii2.labels_to_exclude."));
    d.push_back(taxii2(list_key("taxii2.labels_to_exclude", [](Settings& s) -> auto& { return s.taxii2.labels_to_exclude; }),
                       "Regular expressions (Python/Perl syntax) of labels to remove."));
    d.push_back(taxii2(bool_key("taxii2.replace_characters_in_label", [](Settings& s) -> auto& { return s.taxii2.replace_characters_in_label; }),
                       "Replace characters in labels (taxii2.characters_to_replace_in_label)."));
    d.push_back(taxii2(list_key("taxii2.characters_to_replace_in_label", [](Settings& s) -> auto& { return s.taxii2.characters_to_replace_in_label; }, ListItems::Verbatim),
                       "find:replace pairs applied to labels, comma-separated, kept verbatim."));
    d.push_back(taxii2(bool_key("taxii2.ignore_pattern_types", [](Settings& s) -> auto& { return s.taxii2.ignore_pattern_types; }),
                       "Leave out indicators of the pattern types taxii2.pattern_types_to_ignore."));
    d.push_back(taxii2(list_key("taxii2.pattern_types_to_ignore", [](Settings& s) -> auto& { return s.taxii2.pattern_types_to_ignore; }),
                       "Pattern types to leave out, e.g. yara,sigma."));
    d.push_back(taxii2(bool_key("taxii2.ignore_object_types", [](Settings& s) -> auto& { return s.taxii2.ignore_object_types; }),
                       "Leave out objects of the types taxii2.object_types_to_ignore."));
    d.push_back(taxii2(list_key("taxii2.object_types_to_ignore", [](Settings& s) -> auto& { return s.taxii2.object_types_to_ignore; }),
                       "STIX object types to leave out, e.g. report,note."));
    d.push_back(taxii2(bool_key("taxii2.ignore_specific_patterns", [](Settings& s) -> auto& { return s.taxii2.ignore_specific_patterns; }),
                       "Leave out indicators whose pattern holds a text of taxii2.patterns_to_ignore."));
    d.push_back(taxii2(list_key("taxii2.patterns_to_ignore", [](Settings& s) -> auto& { return s.taxii2.patterns_to_ignore; }),
                       "Texts that make an indicator's pattern ignored."));
    d.push_back(taxii2(bool_key("taxii2.ignore_specific_notes", [](Settings& s) -> auto& { return s.taxii2.ignore_specific_notes; }),
                       "Leave out notes whose content holds a text of taxii2.notes_to_ignore."));
    d.push_back(taxii2(list_key("taxii2.notes_to_ignore", [](Settings& s) -> auto& { return s.taxii2.notes_to_ignore; }),
                       "Texts that make a note ignored."));
    d.push_back(taxii2(bool_key("taxii2.save_original_indicator_id_to_note", [](Settings& s) -> auto& { return s.taxii2.save_original_indicator_id_to_note; }),
                       "Keep each indicator's original id in a note."));
    d.push_back(taxii2(text_key("taxii2.save_original_indicator_id_abstract", [](Settings& s) -> auto& { return s.taxii2.save_original_indicator_id_abstract; }),
                       "The abstract of those notes."));
    d.push_back(taxii2(bool_key("taxii2.change_report_status", [](Settings& s) -> auto& { return s.taxii2.change_report_status; }),
                       "Give reports the workflow status taxii2.change_report_status_x_opencti_workflow_id."));
    d.push_back(taxii2(text_key("taxii2.change_report_status_x_opencti_workflow_id", [](Settings& s) -> auto& { return s.taxii2.change_report_status_x_opencti_workflow_id; }),
                       "The OpenCTI workflow status id given to reports."));
    d.push_back(integer_key("connector.threat_score_medium", [](Settings& s) -> auto& { return s.connector.threat_score_medium; }, 0, 100)
                    .doc("Score from which an indicator is labelled medium.")
                    .used_by(feed));
    d.push_back(bool_key("connector.threat_score_from_description",
                         [](Settings& s) -> auto& { return s.connector.threat_score_from_description; })
                    .doc("Take each indicator's score from the threat score in the feed's context.")
                    .used_by(feed));
    d.push_back(choice_key<LabelFormat>("connector.label_format", [](Settings& s) -> auto& { return s.connector.label_format; },
                                        {{"legacy", LabelFormat::Legacy}, {"new", LabelFormat::New}, {"both", LabelFormat::Both}})
                    .doc("Label style of created objects: the reference's legacy labels, the new ones, or both.")
                    .used_by(feed));
    d.push_back(choice_key<DescriptionMode>(
        "connector.description_mode", [](Settings& s) -> auto& { return s.connector.description_mode; },
        {{"overwrite", DescriptionMode::Overwrite}, {"skip", DescriptionMode::Skip}, {"create_only", DescriptionMode::CreateOnly}})
                    .doc("What happens to descriptions: always written, never written, or written only for objects new to OpenCTI.")
                    .used_by(feed));
    d.push_back(string_choice_key("connector.log_level", [](Settings& s) -> std::string& { return s.connector.log_level; },
                                  {"debug", "info", "warn", "warning", "error"})
                    .doc("The lowest level of log lines printed."));
    d.push_back(choice_key<LogFormat>("connector.log_format", [](Settings& s) -> auto& { return s.connector.log_format; },
                                      {{"auto", LogFormat::Auto}, {"human", LogFormat::Human}, {"json", LogFormat::Json}})
                    .doc("Log format; auto means JSON when opencti.json_logging is true, else human-readable."));
    d.push_back(bool_key("connector.update_existing_data", [](Settings& s) -> auto& { return s.connector.update_existing_data; })
                    .doc("Ask OpenCTI to update objects that already exist.")
                    .used_by(feed));
    d.push_back(bool_key("connector.run_and_terminate", [](Settings& s) -> auto& { return s.connector.run_and_terminate; })
                    .doc("One run, then exit.")
                    .used_by(feed));
    d.push_back(duration_key("connector.duration_period")
                    .doc("Time between two runs as an ISO-8601 duration (PT30M, PT1H, P1D); wins over kaspersky.update_interval.")
                    .used_by(feed));
    d.push_back(choice_key<QueueProtocol>("connector.queue_protocol", [](Settings& s) -> auto& { return s.connector.queue_protocol; },
                                          {{"amqp", QueueProtocol::Amqp}, {"api", QueueProtocol::Api}})
                    .doc("How bundles reach OpenCTI: RabbitMQ (amqp), or the GraphQL API when RabbitMQ cannot be reached (api)."));
    d.push_back(number_key("connector.queue_threshold", [](Settings& s) -> auto& { return s.connector.queue_threshold_mb; }, 1, 1e6)
                    .doc("MB waiting in the connector's OpenCTI queue above which a run is put off.")
                    .used_by(feed));
    d.push_back(bool_key("connector.expose_metrics", [](Settings& s) -> auto& { return s.connector.expose_metrics; })
                    .doc("Serve Prometheus /metrics and /healthz on metrics_address:metrics_port."));
    d.push_back(integer_key("connector.metrics_port", [](Settings& s) -> auto& { return s.connector.metrics_port; }, 1, 65535)
                    .doc("Port of the metrics endpoint."));
    d.push_back(text_key("connector.metrics_address", [](Settings& s) -> auto& { return s.connector.metrics_address; })
                    .doc("Listen address of the metrics and health endpoint (0.0.0.0 to be reached from the network)."));
    d.push_back(text_key("connector.metrics_namespace", [](Settings& s) -> auto& { return s.connector.metrics_namespace; })
                    .doc("Prometheus namespace put before every metric name, as pycti does (namespace_subsystem_name)."));
    d.push_back(text_key("connector.metrics_subsystem", [](Settings& s) -> auto& { return s.connector.metrics_subsystem; })
                    .doc("Prometheus subsystem put before every metric name, after the namespace."));
    d.push_back(integer_key("connector.health_port", [](Settings& s) -> auto& { return s.connector.health_port; }, 0, 65535)
                    .doc("With expose_metrics off: serve /healthz alone on metrics_address:health_port (0: off). The "
                         "`health` command asks it."));
    d.push_back(choice_key<OutputKind>("connector.output", [](Settings& s) -> auto& { return s.connector.output; },
                                       {{"opencti", OutputKind::OpenCti}, {"directory", OutputKind::Directory}, {"stdout", OutputKind::Stdout}})
                    .doc("Where bundles go: OpenCTI, a directory of bundle files, or stdout (dry run).")
                    .used_by(feed));
    d.push_back(text_key("connector.output_dir", [](Settings& s) -> auto& { return s.connector.output_dir; })
                    .doc("The directory of bundle files when output is directory.")
                    .used_by(feed));
    d.push_back(text_key("connector.state_file", [](Settings& s) -> auto& { return s.connector.state_file; })
                    .doc("Where the cursor is kept for the directory and stdout outputs.")
                    .used_by(feed));
    d.push_back(bool_key("connector.send_to_queue", [](Settings& s) -> auto& { return s.connector.send_to_queue; })
                    .doc("pycti's switch: false sends nothing to OpenCTI (then send_to_directory must be true).")
                    .used_by(feed));
    d.push_back(bool_key("connector.send_to_directory", [](Settings& s) -> auto& { return s.connector.send_to_directory; })
                    .doc("pycti's switch: also write every bundle to send_to_directory_path.")
                    .used_by(feed));
    d.push_back(text_key("connector.send_to_directory_path", [](Settings& s) -> auto& { return s.connector.send_to_directory_path; })
                    .doc("The directory send_to_directory writes to.")
                    .used_by(feed));
    d.push_back(integer_key("connector.send_to_directory_retention",
                            [](Settings& s) -> auto& { return s.connector.send_to_directory_retention_days; }, 0, 36500)
                    .doc("Days bundle files stay in send_to_directory_path; older ones are removed (0: keep all).")
                    .used_by(feed));
    d.push_back(bool_key("connector.auto", [](Settings& s) -> auto& { return s.connector.auto_enrich; })
                    .doc("Automatic enrichment: OpenCTI sends every new observable in scope to the connector.")
                    .used_by(enrichment));
    d.push_back(bool_key("connector.playbook_compatible", [](Settings& s) -> auto& { return s.connector.playbook_compatible; })
                    .doc("Offer the enrichment as a playbook step; the enriched bundle goes back to the playbook.")
                    .used_by(enrichment));
    // kaspersky
    d.push_back(url_key("kaspersky.api_root", [](Settings& s) -> auto& { return s.kaspersky.api_root; })
                    .doc("The TAXII 2.1 API root (https only)."));
    add_tokens("kaspersky.api_token");
    d.push_back(seconds_key("kaspersky.connection_timeout", [](Settings& s) -> auto& { return s.kaspersky.connection_timeout; }, 1, 3600)
                    .doc("Seconds to wait for the TAXII server."));
    d.push_back(bool_key("kaspersky.ssl_verify", [](Settings& s) -> auto& { return s.kaspersky.ssl_verify; })
                    .doc("Verify the TAXII server's TLS certificate."));
    d.push_back(text_key("kaspersky.ca_file", [](Settings& s) -> auto& { return s.kaspersky.ca_file; })
                    .doc("An extra CA bundle (PEM) for the TAXII server, e.g. behind a TLS proxy."));
    d.push_back(bool_key("kaspersky.allow_insecure_http", [](Settings& s) -> auto& { return s.kaspersky.allow_insecure_http; })
                    .doc("Allow an http:// api_root (local test servers only)."));
    d.push_back(seconds_key("kaspersky.initial_history", [](Settings& s) -> auto& { return s.kaspersky.initial_history; }, 0, 100LL * 365 * 86400)
                    .doc("Seconds of history read on the first run."));
    d.push_back(seconds_key("kaspersky.update_interval", [](Settings& s) -> auto& { return s.kaspersky.update_interval; }, 1, 365LL * 86400)
                    .doc("Seconds between two runs (unless connector.duration_period is set)."));
    d.push_back(bool_key("kaspersky.expand_objects", [](Settings& s) -> auto& { return s.kaspersky.expand_objects; })
                    .doc("Create threat actors, malware, locations, sectors and reports from the feed's context."));
    d.push_back(bool_key("kaspersky.create_indicators", [](Settings& s) -> auto& { return s.kaspersky.create_indicators; })
                    .doc("Create indicators."));
    d.push_back(bool_key("kaspersky.create_observables", [](Settings& s) -> auto& { return s.kaspersky.create_observables; })
                    .doc("Create observables."));
    d.push_back(list_key("kaspersky.collections", [](Settings& s) -> auto& { return s.kaspersky.collections; })
                    .doc("Collections to read, by id or title, shell wildcards allowed (comma-separated in the environment)."));
    d.push_back(integer_key("kaspersky.page_limit", [](Settings& s) -> auto& { return s.kaspersky.page_limit; }, 0, 100000)
                    .doc("Objects per TAXII page (0 lets the server choose)."));
    d.push_back(integer_key("kaspersky.max_attempts", [](Settings& s) -> auto& { return s.kaspersky.max_attempts; }, 1, 100)
                    .doc("Tries per page before the run fails."));
    d.push_back(megabytes_key("kaspersky.max_response_mb", [](Settings& s) -> auto& { return s.kaspersky.max_response_bytes; }, 1, 4096)
                    .doc("Largest TAXII response accepted, in MB."));
    d.push_back(choice_key<std::string>("kaspersky.tlp_level", [](Settings& s) -> auto& { return s.kaspersky.tlp_level; },
                                        {{"none", "none"}, {"clear", "clear"}, {"green", "green"}, {"amber", "amber"},
                                         {"amber+strict", "amber+strict"}, {"red", "red"}})
                    .doc("TLP marking given to every object created from the feeds (none: no marking, as the reference)."));
    // mq
    d.push_back(optional_text_key("mq.host", [](Settings& s) -> auto& { return s.mq.host; })
                    .doc("RabbitMQ host, instead of the one OpenCTI advertises."));
    d.push_back(optional_integer_key("mq.port", [](Settings& s) -> auto& { return s.mq.port; }, 1, 65535)
                    .doc("RabbitMQ port, instead of the one OpenCTI advertises."));
    d.push_back(optional_text_key("mq.vhost", [](Settings& s) -> auto& { return s.mq.vhost; })
                    .doc("RabbitMQ virtual host, instead of the one OpenCTI advertises."));
    d.push_back(optional_bool_key("mq.use_ssl", [](Settings& s) -> auto& { return s.mq.use_ssl; })
                    .doc("Connect to RabbitMQ over TLS, instead of what OpenCTI advertises."));
    d.push_back(optional_text_key("mq.user", [](Settings& s) -> auto& { return s.mq.user; })
                    .doc("RabbitMQ user, instead of the one OpenCTI advertises."));
    d.push_back(optional_secret_key("mq.pass", [](Settings& s) -> auto& { return s.mq.pass; })
                    .doc("RabbitMQ password, instead of the one OpenCTI advertises."));
    d.push_back(pem_key("mq.use_ssl_ca", [](Settings& s) -> auto& { return s.mq.ssl_ca; })
                    .doc("CA certificate for RabbitMQ TLS: a PEM file path or the PEM text."));
    d.push_back(pem_key("mq.use_ssl_cert", [](Settings& s) -> auto& { return s.mq.ssl_cert; })
                    .doc("Client certificate for RabbitMQ TLS: a PEM file path or the PEM text."));
    d.push_back(pem_key("mq.use_ssl_key", [](Settings& s) -> auto& { return s.mq.ssl_key; })
                    .doc("Client key for RabbitMQ TLS: a PEM file path or the PEM text."));
    d.push_back(optional_secret_key("mq.use_ssl_passphrase", [](Settings& s) -> auto& { return s.mq.ssl_passphrase; })
                    .doc("Passphrase of the RabbitMQ TLS client key."));
    d.push_back(bool_key("mq.use_ssl_reject_unauthorized", [](Settings& s) -> auto& { return s.mq.ssl_reject_unauthorized; })
                    .doc("Verify RabbitMQ's TLS certificate."));
    // opentip
    d.push_back(url_key("opentip.url", [](Settings& s) -> auto& { return s.opentip.url; })
                    .doc("The OpenTIP API base URL (https only)."));
    add_tokens("opentip.api_key");
    d.push_back(bool_key("opentip.allow_insecure_http", [](Settings& s) -> auto& { return s.opentip.allow_insecure_http; })
                    .doc("Allow an http:// opentip.url (local test servers only)."));
    d.push_back(integer_key("opentip.max_requests_per_minute", [](Settings& s) -> auto& { return s.opentip.max_requests_per_minute; }, 1, 6000)
                    .doc("OpenTIP requests per minute at most (the portal blocks clients that ask too often)."));
    d.push_back(seconds_key("opentip.cache_ttl", [](Settings& s) -> auto& { return s.opentip.cache_ttl; }, 0, 365LL * 86400)
                    .doc("Seconds an OpenTIP answer is reused."));
    d.push_back(text_key("opentip.cache_dir", [](Settings& s) -> auto& { return s.opentip.cache_dir; })
                    .doc("Directory of the OpenTIP answer cache (empty: in memory)."));
    d.push_back(integer_key("opentip.cache_max_entries", [](Settings& s) -> auto& { return s.opentip.cache_max_entries; }, 1, 10'000'000)
                    .doc("Answers the in-memory OpenTIP cache keeps at most; the least recently used go first."));
    d.push_back(seconds_key("opentip.quota_cooldown", [](Settings& s) -> auto& { return s.opentip.quota_cooldown; }, 0, 7LL * 86400)
                    .doc("Seconds without OpenTIP requests after the quota is exhausted (0: until the next UTC midnight)."));
    d.push_back(string_choice_key("opentip.max_tlp", [](Settings& s) -> std::string& { return s.opentip.max_tlp; },
                                  {"TLP:CLEAR", "TLP:WHITE", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"})
                    .doc("Observables marked above this TLP are not sent to OpenTIP."));
    d.push_back(text_key("opentip.zone_scores", [](Settings& s) -> auto& { return s.opentip.zone_scores; })
                    .doc("x_opencti_score per OpenTIP zone, as zone:score pairs."));
    d.push_back(text_key("opentip.enrichment_scope", [](Settings& s) -> auto& { return s.opentip.enrichment_scope; })
                    .doc("Observable types the enrichment connector registers for (comma-separated)."));
    d.push_back(integer_key("opentip.max_delivery_attempts", [](Settings& s) -> auto& { return s.opentip.max_delivery_attempts; }, 1, 100)
                    .doc("Tries of one enrichment request (failed, or interrupted by the process dying) before it is acknowledged and its work closed in error."));
    // tokens
    d.push_back(integer_key("tokens.expiry_warning_days", [](Settings& s) -> auto& { return s.tokens.expiry_warning_days; }, 0, 365)
                    .doc("Days before a token's expiry from which every use warns."));
    // Where a section alone tells which connector type uses its keys.
    for (auto& def : d) {
      if (def.key.starts_with("kaspersky.") && def.docs.use == KeyUse::Both) def.docs.use = feed;
      if (def.key.starts_with("opentip.") && def.docs.use == KeyUse::Both) def.docs.use = enrichment;
    }
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

// pycti settings a user may carry over from another connector, which this connector does not use:
// each gets a one-line notice naming it instead of silence.
struct UnusedPyctiSetting {
  std::string_view key;  // section.key; the environment name follows the usual rule
  std::string_view why;
};
constexpr UnusedPyctiSetting kUnusedPycti[] = {
    {"connector.listen_protocol", "enrichment requests come over RabbitMQ only"},
    {"connector.listen_protocol_api_port", "enrichment requests come over RabbitMQ only"},
    {"connector.listen_protocol_api_path", "enrichment requests come over RabbitMQ only"},
    {"connector.listen_protocol_api_ssl", "enrichment requests come over RabbitMQ only"},
    {"connector.listen_protocol_api_uri", "enrichment requests come over RabbitMQ only"},
    {"connector.listen_protocol_api_ssl_key", "enrichment requests come over RabbitMQ only"},
    {"connector.listen_protocol_api_ssl_cert", "enrichment requests come over RabbitMQ only"},
    {"connector.listen_protocol_api_ssl_passphrase", "enrichment requests come over RabbitMQ only"},
    {"connector.live_stream_id", "this is not a stream connector"},
    {"connector.live_stream_listen_delete", "this is not a stream connector"},
    {"connector.live_stream_no_dependencies", "this is not a stream connector"},
    {"connector.live_stream_with_inferences", "this is not a stream connector"},
    {"connector.live_stream_recover_iso_date", "this is not a stream connector"},
    {"connector.live_stream_start_timestamp", "this is not a stream connector"},
    {"connector.auto_update", "it is not sent at registration"},
    {"connector.enrichment_resolution", "it is not sent at registration"},
    {"connector.only_contextual", "it is not sent at registration"},
    {"connector.validate_before_import", "bundles are imported directly, without a workbench or draft"},
};

const UnusedPyctiSetting* unused_pycti_key(std::string_view key) {
  for (const auto& setting : kUnusedPycti) {
    if (setting.key == key) return &setting;
  }
  return nullptr;
}

const UnusedPyctiSetting* unused_pycti_env(std::string_view name) {
  for (const auto& setting : kUnusedPycti) {
    if (env_name_for(setting.key) == name) return &setting;
  }
  return nullptr;
}

std::string unused_notice(std::string_view name, const UnusedPyctiSetting& setting) {
  return fmt::format("{} is a pycti setting this connector does not use ({}); ignored", name, setting.why);
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
    static const std::vector<std::string> prefixes{"OPENCTI_", "CONNECTOR_", "KASPERSKY_", "MQ_", "OPENTIP_", "TOKENS_",
                                                   "TAXII2_"};
    // Sections no other program uses: anything unknown there is a mistake.
    static const std::vector<std::string> owned{"KASPERSKY_", "OPENTIP_", "TOKENS_", "TAXII2_"};
    if (environment_.contains("QUEUE_PROTOCOL")) {
      problems.notice("QUEUE_PROTOCOL is pycti's old name of CONNECTOR_QUEUE_PROTOCOL and is not read; ignored — set "
                      "CONNECTOR_QUEUE_PROTOCOL");
    }
    for (const auto& [name, value] : environment_) {
      const bool ours = std::any_of(prefixes.begin(), prefixes.end(), [&](const auto& p) { return name.starts_with(p); });
      if (!ours || std::find(env_names.begin(), env_names.end(), name) != env_names.end()) continue;
      if (const auto* unused = unused_pycti_env(name)) {
        problems.notice(unused_notice(name, *unused));
        continue;
      }
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
    if (const auto* unused = def ? nullptr : unused_pycti_key(key)) {
      problems.notice(unused_notice(key + " in " + file_, *unused));
      return;
    }
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
  spec.kind = token.kind;
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

// The generic TAXII mode registers under the taxii2 connector's defaults unless told otherwise.
void apply_mode_defaults(Settings& settings) {
  if (!settings.taxii2.enabled()) return;
  if (settings.origins["connector.name"] == "default") settings.connector.name = "TAXII2";
  if (settings.origins["connector.scope"] == "default") {
    settings.connector.scope = "ipv4-addr,ipv6-addr,vulnerability,domain,url,file-sha256,file-md5,file-sha1";
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
  for (const std::string& entry : parse_zone_scores(settings.opentip.zone_scores).bad_entries) {
    problems.error(fmt::format("opentip.zone_scores entry '{}' is not <zone>:<0..100> with zone red, orange, yellow, "
                               "grey or green (from {})",
                               entry, origin_of(settings, "opentip.zone_scores")));
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

// pycti's CONNECTOR_SEND_TO_QUEUE / CONNECTOR_SEND_TO_DIRECTORY, in terms of this connector's outputs:
// queue off and directory on is the directory output; both on keeps OpenCTI and mirrors every bundle
// to the directory. Files older than the retention are removed from that directory only.
void apply_send_to_switches(Settings& settings, Problems& problems) {
  auto& connector = settings.connector;
  if (connector.send_to_directory) {
    if (connector.send_to_directory_path.empty()) {
      problems.error(fmt::format("connector.send_to_directory is true (from {}) but connector.send_to_directory_path "
                                 "is not set — {}",
                                 origin_of(settings, "connector.send_to_directory"),
                                 set_hint("connector.send_to_directory_path")));
      return;
    }
    connector.directory_retention_days = connector.send_to_directory_retention_days;
  }
  if (connector.output != OutputKind::OpenCti) return;  // an explicit directory/stdout output wins
  if (!connector.send_to_queue && !connector.send_to_directory) {
    problems.error(fmt::format("connector.send_to_queue is false (from {}) and connector.send_to_directory is not "
                               "true: the bundles would go nowhere — set connector.send_to_directory and "
                               "connector.send_to_directory_path, or connector.output",
                               origin_of(settings, "connector.send_to_queue")));
  } else if (!connector.send_to_queue) {
    connector.output = OutputKind::Directory;
    connector.output_dir = connector.send_to_directory_path;
  } else if (connector.send_to_directory) {
    connector.mirror_dir = connector.send_to_directory_path;
  }
}

bool is_metric_name_part(const std::string& text) {
  if (text.empty()) return true;
  if (std::isdigit(static_cast<unsigned char>(text.front()))) return false;
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == ':'; });
}

void check_metric_prefix(const Settings& settings, Problems& problems) {
  for (const auto& [key, value] : {std::pair{std::string("connector.metrics_namespace"), &settings.connector.metrics_namespace},
                                   std::pair{std::string("connector.metrics_subsystem"), &settings.connector.metrics_subsystem}}) {
    if (!is_metric_name_part(*value)) {
      problems.error(fmt::format("{} is '{}', not usable in a Prometheus metric name (from {}) — use letters, digits "
                                 "and '_', not starting with a digit",
                                 key, *value, origin_of(settings, key)));
    }
  }
}

// A key of the taxii2 section whose value is still the samples' 'ChangeMe' while its setting is used.
bool taxii2_placeholder(const Settings& settings, const std::string& key, const std::string& value,
                        Problems& problems) {
  if (!is_placeholder(value)) return false;
  problems.key_error(key, fmt::format("{} is the placeholder 'ChangeMe' (from {}) — {}", key, origin_of(settings, key),
                                      set_hint(key)));
  return true;
}

void require_taxii2_text(const Settings& settings, const std::string& key, const std::string& value,
                         const std::string& because, Problems& problems) {
  if (value.empty()) {
    problems.key_error(key, fmt::format("{} is not set but {} — {}", key, because, set_hint(key)));
  } else {
    taxii2_placeholder(settings, key, value, problems);
  }
}

void require_taxii2_list(const Settings& settings, const std::string& key, const std::vector<std::string>& values,
                         const std::string& because, Problems& problems) {
  if (values.empty()) {
    problems.key_error(key, fmt::format("{} is empty but {} — {}", key, because, set_hint(key)));
    return;
  }
  for (const auto& value : values) {
    if (taxii2_placeholder(settings, key, value, problems)) return;
  }
}

void check_readable_file(const Settings& settings, const std::string& key, const std::string& path, Problems& problems) {
  if (path.empty() || problems.already_reported(key)) return;
  std::ifstream in(path);
  if (!in || std::filesystem::is_directory(path)) {
    problems.key_error(key, fmt::format("{} names {}, which cannot be read (from {}) — give the path of a PEM file",
                                        key, path, origin_of(settings, key)));
  }
}

void check_taxii2_auth(const Settings& settings, Problems& problems) {
  const Taxii2Settings& t = settings.taxii2;
  if (t.use_token && t.use_apikey) {
    problems.warning("taxii2.use_token and taxii2.use_apikey are both true: the Bearer token is used (as the taxii2 "
                     "connector does) — set one of them to false");
  }
  switch (t.auth()) {
    case Taxii2Auth::Bearer:
      check_required_token(settings, t.token, problems);
      break;
    case Taxii2Auth::ApiKey:
      require_taxii2_text(settings, "taxii2.apikey_key", t.apikey_key, "taxii2.use_apikey is true (the header name)",
                          problems);
      if (!t.apikey_key.empty() && !is_placeholder(t.apikey_key) && !is_header_name(t.apikey_key)) {
        problems.key_error("taxii2.apikey_key",
                           fmt::format("taxii2.apikey_key is '{}', not an HTTP header name (from {}) — e.g. X-API-Key",
                                       t.apikey_key, origin_of(settings, "taxii2.apikey_key")));
      }
      check_required_token(settings, t.apikey_value, problems);
      break;
    case Taxii2Auth::Basic:
      require_taxii2_text(settings, "taxii2.username", t.username, "a Basic password is given", problems);
      check_required_token(settings, t.password, problems);
      break;
    case Taxii2Auth::None:
      break;
  }
  if (t.use_cert && t.cert_path.empty()) {
    problems.key_error("taxii2.cert_path", fmt::format("taxii2.use_cert is true (from {}) but taxii2.cert_path is not "
                                                       "set — {}",
                                                       origin_of(settings, "taxii2.use_cert"), set_hint("taxii2.cert_path")));
  }
  if (!t.key_path.empty() && t.cert_path.empty()) {
    problems.key_error("taxii2.key_path", fmt::format("taxii2.key_path is set (from {}) without taxii2.cert_path — "
                                                      "{}, or unset taxii2.key_path",
                                                      origin_of(settings, "taxii2.key_path"), set_hint("taxii2.cert_path")));
  }
  check_readable_file(settings, "taxii2.cert_path", t.cert_path, problems);
  check_readable_file(settings, "taxii2.key_path", t.key_path, problems);
  check_readable_file(settings, "taxii2.ca_file", t.ca_file, problems);
}

void check_taxii2_collections(const Settings& settings, Problems& problems) {
  const auto& collections = settings.taxii2.collections;
  if (collections.empty()) {
    problems.key_error("taxii2.collections",
                       fmt::format("taxii2.collections is empty (from {}) — use *.* for every collection of every API "
                                   "root, or api_root.collection entries",
                                   origin_of(settings, "taxii2.collections")));
  }
  for (const auto& entry : collections) {
    if (entry.find('.') == std::string::npos || entry.front() == '.' || entry.back() == '.') {
      problems.key_error("taxii2.collections",
                         fmt::format("taxii2.collections entry '{}' is not api_root.collection (from {}) — e.g. "
                                     "*.* (everything), api1.* (every collection of API root api1) or "
                                     "api1.My Feed (a collection's title or id; dots in titles are fine)",
                                     entry, origin_of(settings, "taxii2.collections")));
    }
  }
}

// Settings that need a companion value when switched on, and the label rules.
void check_taxii2_features(const Settings& settings, Problems& problems) {
  const Taxii2Settings& t = settings.taxii2;
  if (t.add_custom_label) {
    require_taxii2_text(settings, "taxii2.custom_label", t.custom_label, "taxii2.add_custom_label is true", problems);
  }
  if (t.stix_custom_property_to_label) {
    require_taxii2_text(settings, "taxii2.stix_custom_property", t.stix_custom_property,
                        "taxii2.stix_custom_property_to_label is true", problems);
  }
  if (t.force_pattern_as_name) {
    taxii2_placeholder(settings, "taxii2.force_multiple_pattern_name", t.force_multiple_pattern_name, problems);
  }
  if (t.create_author) {
    require_taxii2_text(settings, "taxii2.author_name", t.author_name, "taxii2.create_author is true", problems);
    taxii2_placeholder(settings, "taxii2.author_description", t.author_description, problems);
    taxii2_placeholder(settings, "taxii2.author_reliability", t.author_reliability, problems);
  }
  if (t.change_report_status) {
    require_taxii2_text(settings, "taxii2.change_report_status_x_opencti_workflow_id",
                        t.change_report_status_x_opencti_workflow_id, "taxii2.change_report_status is true", problems);
  }
  if (t.save_original_indicator_id_to_note) {
    taxii2_placeholder(settings, "taxii2.save_original_indicator_id_abstract", t.save_original_indicator_id_abstract,
                       problems);
  }
  const std::pair<bool, std::pair<const char*, const std::vector<std::string>*>> lists[] = {
      {t.ignore_pattern_types, {"taxii2.pattern_types_to_ignore", &t.pattern_types_to_ignore}},
      {t.ignore_object_types, {"taxii2.object_types_to_ignore", &t.object_types_to_ignore}},
      {t.ignore_specific_patterns, {"taxii2.patterns_to_ignore", &t.patterns_to_ignore}},
      {t.ignore_specific_notes, {"taxii2.notes_to_ignore", &t.notes_to_ignore}},
  };
  for (const auto& [on, list] : lists) {
    if (on) require_taxii2_list(settings, list.first, *list.second, "the setting that uses it is true", problems);
  }
  if (t.exclude_specific_labels) {
    require_taxii2_list(settings, "taxii2.labels_to_exclude", t.labels_to_exclude,
                        "taxii2.exclude_specific_labels is true", problems);
    for (const auto& pattern : t.labels_to_exclude) {
      if (auto error = regex_error(pattern)) {
        problems.key_error("taxii2.labels_to_exclude",
                           fmt::format("taxii2.labels_to_exclude has '{}', not a valid regular expression: {} (from {})",
                                       pattern, *error, origin_of(settings, "taxii2.labels_to_exclude")));
      }
    }
  }
  if (t.replace_characters_in_label) {
    require_taxii2_list(settings, "taxii2.characters_to_replace_in_label", t.characters_to_replace_in_label,
                        "taxii2.replace_characters_in_label is true", problems);
    for (const auto& rule : t.characters_to_replace_in_label) {
      const auto colon = rule.find(':');
      if (colon == std::string::npos || colon == 0 || rule.find(':', colon + 1) != std::string::npos) {
        problems.key_error("taxii2.characters_to_replace_in_label",
                           fmt::format("taxii2.characters_to_replace_in_label has '{}', not find:replace (from {}) — "
                                       "e.g. \"_: ,/:-\" (replace _ with a blank and / with -)",
                                       rule, origin_of(settings, "taxii2.characters_to_replace_in_label")));
      }
    }
  }
}

void validate_taxii2(const Settings& settings, Problems& problems) {
  const Taxii2Settings& t = settings.taxii2;
  if (!t.enabled()) {
    for (const auto& [key, origin] : settings.origins) {
      if (key.starts_with("taxii2.") && origin != "default") {
        problems.warning(fmt::format("{} is set (from {}) but taxii2.discovery_url is not: the generic TAXII mode is "
                                     "off, the Kaspersky feeds are read", key, origin));
        break;
      }
    }
    return;
  }
  std::string scheme;
  check_url(settings, "taxii2.discovery_url", t.discovery_url, true, problems, &scheme);
  const UrlTransport transport = scheme.empty() ? UrlTransport::NotHttp : url_transport(t.discovery_url, t.allow_insecure_http);
  if (transport == UrlTransport::PlainHttpRefused) {
    problems.key_error("taxii2.discovery_url",
                       fmt::format("taxii2.discovery_url uses plain http (from {}): credentials and feed data would "
                                   "travel unencrypted and could be altered — use https, or set "
                                   "taxii2.allow_insecure_http: true (TAXII2_ALLOW_INSECURE_HTTP) for a server you "
                                   "trust on a private network",
                                   origin_of(settings, "taxii2.discovery_url")));
  } else if (transport == UrlTransport::PlainHttpAllowed) {
    problems.warning("taxii2.discovery_url uses plain http (taxii2.allow_insecure_http is true): credentials and feed "
                     "data travel unencrypted");
  }
  check_taxii2_auth(settings, problems);
  check_taxii2_collections(settings, problems);
  check_taxii2_features(settings, problems);
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
  const UrlTransport api_root = scheme.empty() ? UrlTransport::NotHttp
                                               : url_transport(settings.kaspersky.api_root,
                                                               settings.kaspersky.allow_insecure_http);
  if (api_root == UrlTransport::PlainHttpRefused) {
    problems.error(fmt::format(
        "Insecure HTTP connection with the Kaspersky Threat Intelligence Portal TAXII server is forbidden. Please "
        "configure HTTPS protocol usage to make connections with the TAXII server secure. (kaspersky.api_root from {}; "
        "kaspersky.allow_insecure_http: true exists only for local test servers)",
        origin_of(settings, "kaspersky.api_root")));
  } else if (api_root == UrlTransport::PlainHttpAllowed) {
    problems.warning("kaspersky.api_root uses plain http (kaspersky.allow_insecure_http is true): use it only with a "
                     "local test server");
  }
  if (settings.taxii2.enabled()) {
    check_optional_token(settings, settings.kaspersky.api_token, problems);  // Kaspersky's server is not read
  } else {
    check_required_token(settings, settings.kaspersky.api_token, problems);
  }
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
  if (!scheme.empty() &&
      url_transport(settings.opentip.url, settings.opentip.allow_insecure_http) == UrlTransport::PlainHttpRefused) {
    problems.error(fmt::format(
        "opentip.url uses plain http (from {}): the API token would travel unencrypted — use https "
        "(opentip.allow_insecure_http: true exists only for local test servers)",
        origin_of(settings, "opentip.url")));
  }
  check_optional_token(settings, settings.opentip.api_key, problems);
  check_zone_scores(settings, problems);
  validate_taxii2(settings, problems);
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

std::vector<KeyDoc> key_docs() {
  const Settings defaults;
  std::vector<KeyDoc> docs;
  for (const auto& def : key_defs()) {
    KeyDoc doc = def.docs;
    doc.key = def.key;
    doc.env_name = env_name_for(def.key);
    if (!doc.secret) doc.default_value = def.show(defaults);
    docs.push_back(std::move(doc));
  }
  return docs;
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
    if (is_placeholder(*raw->scalar) && !def.placeholder_when_used) {
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
  apply_mode_defaults(settings);

  apply_send_to_switches(settings, problems);
  check_metric_prefix(settings, problems);
  validate(settings, problems);
  result.notices = std::move(problems.notices);
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
  for (const auto& notice : result.notices) spdlog::info("config: {}", notice);
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
    // A generic TAXII secret matters only as the one its mode sends.
    if (keys.key.starts_with("taxii2.") && (!token || token != settings.taxii2.active_secret())) continue;
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
