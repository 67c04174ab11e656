#include "kfc/generic/pass_through.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>

#include "kfc/config/values.h"
#include "kfc/stix/ids.h"
#include "kfc/stix/pystr.h"

namespace kfc::generic {
namespace {

using Allocator = rapidjson::Document::AllocatorType;
using namespace std::string_view_literals;

// The first comparison of a STIX pattern: group 1 its object type, group 2 the last quoted value
// before a closing bracket (the taxii2 connector's expression, kept for the same names and types).
const Regex& pattern_expression() {
  static const Regex expression(R"(\[(.*?):.*'(.*?)\'\])");
  return expression;
}

// x_opencti_main_observable_type of an indicator, from its pattern's first object type.
std::optional<std::string_view> main_observable_type(std::string_view stix_type) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"ipv4-addr", "IPv4-Addr"}, {"ipv6-addr", "IPv6-Addr"}, {"file", "StixFile"},
      {"domain-name", "Domain-Name"}, {"url", "Url"}, {"email-addr", "Email-Addr"}};
  for (const auto& [type, opencti] : kTypes) {
    if (type == stix_type) return opencti;
  }
  return std::nullopt;
}

// OpenCTI's observable types (pycti StixCyberObservableTypes), lower-cased: the objects that get
// x_opencti_create_indicators.
bool is_observable_type(std::string_view type) {
  static const std::set<std::string, std::less<>> kTypes{
      "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "email-mime-part-type",
      "artifact", "file", "x509-certificate", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic",
      "process", "software", "url", "user-account", "windows-registry-key", "windows-registry-value-type",
      "hostname", "cryptographic-key", "cryptocurrency-wallet", "text", "user-agent", "bank-account",
      "phone-number", "credential", "tracking-number", "payment-card", "media-content", "simple-observable"};
  return kTypes.contains(to_lower(type));
}

std::string_view view(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

rapidjson::Value text(std::string_view s, Allocator& allocator) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), allocator);
}

// A string member, or nullopt when absent or of another type (`bad` then says so).
std::optional<std::string_view> string_field(const rapidjson::Value& object, const char* name, bool* bad = nullptr) {
  const auto member = object.FindMember(name);
  if (member == object.MemberEnd()) return std::nullopt;
  if (!member->value.IsString()) {
    if (bad) *bad = true;
    return std::nullopt;
  }
  return view(member->value);
}

void set_member(rapidjson::Value& object, const char* name, rapidjson::Value value, Allocator& allocator) {
  if (auto member = object.FindMember(name); member != object.MemberEnd()) {
    member->value = value;
  } else {
    object.AddMember(rapidjson::StringRef(name), value, allocator);
  }
}

bool contains_any(std::string_view haystack, const std::vector<std::string>& needles) {
  return std::any_of(needles.begin(), needles.end(), [&](const std::string& n) { return haystack.find(n) != std::string_view::npos; });
}

std::string stix_now(const Clock& clock) {
  return format_timestamp(std::chrono::floor<std::chrono::seconds>(clock.now()));  // 2026-12-03T10:00:00Z
}

// "2026-12-03T10:00:00Z" -> "2026-12-03T10:00:00.000Z" (STIX timestamps of created objects).
std::string with_millis(std::string seconds) { return seconds.substr(0, seconds.size() - 1) + ".000Z"; }

std::vector<std::string> lowered(const std::vector<std::string>& labels) {
  std::vector<std::string> out;
  for (const auto& label : labels) out.push_back(stix::py_lower(label));
  return out;
}

}  // namespace

std::string_view to_string(Skip kind) {
  switch (kind) {
    case Skip::IgnoredPatternType: return "ignored_pattern_type";
    case Skip::IgnoredObjectType: return "ignored_object_type";
    case Skip::IgnoredPattern: return "ignored_pattern";
    case Skip::IgnoredNote: return "ignored_note";
    case Skip::NotAnObject: return "not_an_object";
    case Skip::BadField: return "bad_field";
    case Skip::RegexLimit: return "regex_limit";
    case Skip::kCount: break;
  }
  return "unknown";
}

PassThroughOptions PassThroughOptions::from(const Taxii2Settings& s) {
  PassThroughOptions o;
  o.create_indicators = s.create_indicators;
  o.create_observables = s.create_observables;
  if (s.add_custom_label) o.custom_label = s.custom_label;
  if (s.stix_custom_property_to_label) o.custom_property = s.stix_custom_property;
  if (s.force_pattern_as_name) o.multiple_pattern_name = s.force_multiple_pattern_name;
  if (s.determine_x_opencti_score_by_label) {
    o.scores = LabelScores{lowered(s.indicator_high_score_labels), lowered(s.indicator_medium_score_labels),
                           lowered(s.indicator_low_score_labels), s.indicator_high_score, s.indicator_medium_score,
                           s.indicator_low_score, s.default_x_opencti_score};
  }
  o.indicators_as_detection = s.set_indicator_as_detection;
  if (s.create_author) o.author = Author{s.author_name, s.author_description, s.author_reliability};
  if (s.exclude_specific_labels) {
    for (const auto& pattern : s.labels_to_exclude) {
      try {
        o.excluded_labels.emplace_back(pattern);
      } catch (const std::invalid_argument& error) {
        throw std::invalid_argument("taxii2.labels_to_exclude has '" + pattern + "': " + error.what());
      }
    }
  }
  if (s.replace_characters_in_label) {
    for (const auto& rule : s.characters_to_replace_in_label) {
      const auto colon = rule.find(':');
      if (colon == std::string::npos) continue;  // refused by the configuration check
      o.label_replacements.emplace_back(rule.substr(0, colon), rule.substr(colon + 1));
    }
  }
  if (s.ignore_pattern_types) o.ignored_pattern_types = s.pattern_types_to_ignore;
  if (s.ignore_object_types) o.ignored_object_types = s.object_types_to_ignore;
  if (s.ignore_specific_patterns) o.ignored_patterns = s.patterns_to_ignore;
  if (s.ignore_specific_notes) o.ignored_notes = s.notes_to_ignore;
  if (s.save_original_indicator_id_to_note) o.original_id_note_abstract = s.save_original_indicator_id_abstract;
  if (s.change_report_status) o.report_workflow_id = s.change_report_status_x_opencti_workflow_id;
  return o;
}

struct PassThrough::Impl {
  Impl(PassThroughOptions o, const Clock& c) : options(std::move(o)), clock(c) {
    if (options.author) build_author();
  }

  PassThroughOptions options;
  const Clock& clock;
  rapidjson::Document author{rapidjson::kNullType};
  PassThroughStats stats;
  std::array<bool, static_cast<std::size_t>(Skip::kCount)> logged{};
  std::mutex log_mutex;

  void build_author() {
    const auto& a = *options.author;
    auto& alloc = author.GetAllocator();
    const std::string now = with_millis(stix_now(clock));
    author.SetObject();
    author.AddMember("type", "identity", alloc);
    author.AddMember("spec_version", "2.1", alloc);
    author.AddMember("id", text(stix::identity_id(a.name, "organization"), alloc), alloc);
    author.AddMember("created", text(now, alloc), alloc);
    author.AddMember("modified", text(now, alloc), alloc);
    author.AddMember("name", text(a.name, alloc), alloc);
    author.AddMember("identity_class", "organization", alloc);
    if (!a.description.empty()) author.AddMember("description", text(a.description, alloc), alloc);
    if (!a.reliability.empty()) author.AddMember("x_opencti_reliability", text(a.reliability, alloc), alloc);
  }

  void skip(Skip kind, std::string_view id, std::string_view why) {
    ++stats.skips[static_cast<std::size_t>(kind)];
    std::lock_guard lock(log_mutex);
    if (logged[static_cast<std::size_t>(kind)]) return;
    logged[static_cast<std::size_t>(kind)] = true;
    spdlog::info("Generic TAXII: {} ({}); further objects of this kind are only counted", why, id);
  }

  // The ignore_* settings: false when the object is dropped.
  bool kept(const rapidjson::Value& object, std::string_view type, std::string_view id) {
    bool bad = false;
    if (type == "indicator" && options.ignored_pattern_types) {
      const auto pattern_type = string_field(object, "pattern_type", &bad);
      if (!pattern_type || std::find(options.ignored_pattern_types->begin(), options.ignored_pattern_types->end(),
                                     *pattern_type) != options.ignored_pattern_types->end()) {
        skip(Skip::IgnoredPatternType, id, "an indicator of an ignored pattern type (taxii2.pattern_types_to_ignore) "
                                           "or without one was left out");
        return false;
      }
    }
    if (options.ignored_object_types && std::find(options.ignored_object_types->begin(), options.ignored_object_types->end(),
                                                  type) != options.ignored_object_types->end()) {
      skip(Skip::IgnoredObjectType, id, "an object of an ignored type (taxii2.object_types_to_ignore) was left out");
      return false;
    }
    if (type == "indicator" && options.ignored_patterns &&
        holds_ignored_text(object, "pattern", *options.ignored_patterns, bad)) {
      skip(Skip::IgnoredPattern, id, "an indicator whose pattern holds a text of taxii2.patterns_to_ignore (or "
                                     "that has no pattern) was left out");
      return false;
    }
    if (type == "note" && options.ignored_notes && holds_ignored_text(object, "content", *options.ignored_notes, bad)) {
      skip(Skip::IgnoredNote, id, "a note whose content holds a text of taxii2.notes_to_ignore (or that has no "
                                  "content) was left out");
      return false;
    }
    return true;
  }

  // The string `field` holds one of the `ignored` texts, or is missing.
  static bool holds_ignored_text(const rapidjson::Value& object, const char* field,
                                 const std::vector<std::string>& ignored, bool& bad) {
    const auto value = string_field(object, field, &bad);
    return !value || contains_any(*value, ignored);
  }

  // The object's labels array, or null when it has none (a non-array is counted, left alone).
  rapidjson::Value* labels_of(rapidjson::Value& object, std::string_view id) {
    auto member = object.FindMember("labels");
    if (member == object.MemberEnd()) return nullptr;
    if (!member->value.IsArray()) {
      skip(Skip::BadField, id, "'labels' is not a list; the label settings leave it alone");
      return nullptr;
    }
    return &member->value;
  }

  void add_label(rapidjson::Value& labels, std::string_view label, Allocator& allocator) {
    labels.PushBack(text(label, allocator), allocator);
  }

  void label_steps_before_author(rapidjson::Value& object, std::string_view id, Allocator& allocator) {
    if (options.custom_label) {
      if (auto* labels = labels_of(object, id)) add_label(*labels, *options.custom_label, allocator);
    }
    if (options.custom_property) {
      auto property = object.FindMember(options.custom_property->c_str());
      auto* labels = property == object.MemberEnd() ? nullptr : labels_of(object, id);
      if (labels) {
        rapidjson::Value& value = property->value;
        if (value.IsString()) {
          add_label(*labels, view(value), allocator);
        } else if (value.IsArray()) {
          for (const auto& item : value.GetArray()) {
            if (item.IsString()) add_label(*labels, view(item), allocator);
          }
        } else {
          skip(Skip::BadField, id, "the property named by taxii2.stix_custom_property is not text; no label made of it");
        }
      }
    }
  }

  void pattern_steps(rapidjson::Value& object, std::string_view id, Allocator& allocator, bool as_name) {
    bool bad = false;
    const auto pattern = string_field(object, "pattern", &bad);
    if (bad) skip(Skip::BadField, id, "an indicator's 'pattern' is not text; its type and name are left alone");
    if (!pattern) return;
    const auto match = pattern_expression().first_match(*pattern);
    if (!match) return;
    if (!as_name) {
      if (auto type = main_observable_type((*match)[1])) {
        set_member(object, "x_opencti_main_observable_type", text(*type, allocator), allocator);
      }
      return;
    }
    if (pattern->find(" AND ") != std::string_view::npos || pattern->find(" OR ") != std::string_view::npos) {
      if (!options.multiple_pattern_name->empty()) {
        set_member(object, "name", text(*options.multiple_pattern_name, allocator), allocator);
      }
    } else {
      set_member(object, "name", text((*match)[2], allocator), allocator);
    }
  }

  void score_by_labels(rapidjson::Value& object, std::string_view id, Allocator& allocator) {
    rapidjson::Value* labels = labels_of(object, id);
    if (!labels) return;
    std::set<std::string> present;
    for (const auto& label : labels->GetArray()) {
      if (label.IsString()) present.insert(stix::py_lower(view(label)));
    }
    const auto any_of = [&](const std::vector<std::string>& wanted) {
      return std::any_of(wanted.begin(), wanted.end(), [&](const std::string& l) { return present.contains(l); });
    };
    const auto& scores = *options.scores;
    // As the taxii2 connector: a high label always wins; a score the server gave stays otherwise.
    if (any_of(scores.high)) {
      set_member(object, "x_opencti_score", rapidjson::Value(scores.high_score), allocator);
      return;
    }
    if (object.HasMember("x_opencti_score")) return;
    const int score = any_of(scores.medium) ? scores.medium_score : any_of(scores.low) ? scores.low_score
                                                                                        : scores.default_score;
    object.AddMember("x_opencti_score", rapidjson::Value(score), allocator);
  }

  void label_steps_after_author(rapidjson::Value& object, std::string_view id, Allocator& allocator) {
    if (options.excluded_labels.empty() && options.label_replacements.empty()) return;
    rapidjson::Value* labels = labels_of(object, id);
    if (!labels) return;
    rapidjson::Value kept(rapidjson::kArrayType);
    for (auto& label : labels->GetArray()) {
      if (!label.IsString()) {
        kept.PushBack(label, allocator);
        continue;
      }
      if (excluded(view(label), id)) continue;
      if (options.label_replacements.empty()) {
        kept.PushBack(label, allocator);
        continue;
      }
      std::string replaced(view(label));
      for (const auto& [find, replace] : options.label_replacements) replace_all(replaced, find, replace);
      kept.PushBack(text(replaced, allocator), allocator);
    }
    *labels = kept;
  }

  bool excluded(std::string_view label, std::string_view id) {
    for (const auto& regex : options.excluded_labels) {
      const auto found = regex.search(label);
      if (!found) {
        skip(Skip::RegexLimit, id, "a label regular expression of taxii2.labels_to_exclude hit its match limit; the "
                                   "label was kept");
        continue;
      }
      if (*found) return true;
    }
    return false;
  }

  static void replace_all(std::string& s, const std::string& find, const std::string& replace) {
    if (find.empty()) return;
    for (std::size_t at = s.find(find); at != std::string::npos; at = s.find(find, at + replace.size())) {
      s.replace(at, find.size(), replace);
    }
  }

  rapidjson::Value original_id_note(std::string_view indicator_id, Allocator& allocator) {
    const std::string created = stix_now(clock);
    const std::string content(indicator_id);
    rapidjson::Value note(rapidjson::kObjectType);
    note.AddMember("type", "note", allocator);
    note.AddMember("spec_version", "2.1", allocator);
    note.AddMember("id",
                   text(stix::deterministic_id("note", stix::canonical_json({{"content", stix::py_strip(content)},
                                                                             {"created", created}})),
                        allocator),
                   allocator);
    note.AddMember("created", text(with_millis(created), allocator), allocator);
    note.AddMember("modified", text(with_millis(created), allocator), allocator);
    if (!options.original_id_note_abstract->empty()) {
      note.AddMember("abstract", text(*options.original_id_note_abstract, allocator), allocator);
    }
    note.AddMember("content", text(content, allocator), allocator);
    rapidjson::Value refs(rapidjson::kArrayType);
    refs.PushBack(text(content, allocator), allocator);
    note.AddMember("object_refs", refs, allocator);
    return note;
  }

  // One object through every step, in the taxii2 connector's order; appends what is sent to `out`.
  void map_object(rapidjson::Value& object, rapidjson::Value& out, Allocator& allocator) {
    ++stats.objects_in;
    if (!object.IsObject()) {
      skip(Skip::NotAnObject, "-", "a batch element that is not a JSON object was dropped");
      return;
    }
    const std::string type(string_field(object, "type").value_or(""));
    const std::string id(string_field(object, "id").value_or(""));
    const bool indicator = type == "indicator";
    if (indicator) pattern_steps(object, id, allocator, false);
    if (!kept(object, type, id)) return;
    if (options.create_indicators || options.create_observables) {
      if (indicator) {
        set_member(object, "x_opencti_create_observables", rapidjson::Value(options.create_observables), allocator);
      } else if (is_observable_type(type)) {
        set_member(object, "x_opencti_create_indicators", rapidjson::Value(options.create_indicators), allocator);
      }
    }
    label_steps_before_author(object, id, allocator);
    if (indicator && options.multiple_pattern_name) pattern_steps(object, id, allocator, true);
    if (options.scores) score_by_labels(object, id, allocator);
    if (indicator && options.indicators_as_detection) {
      set_member(object, "x_opencti_detection", rapidjson::Value(true), allocator);
    }
    if (options.author) set_member(object, "created_by_ref", text(view(author["id"]), allocator), allocator);
    label_steps_after_author(object, id, allocator);
    if (type == "report" && options.report_workflow_id) {
      set_member(object, "x_opencti_workflow_id", text(*options.report_workflow_id, allocator), allocator);
    }
    out.PushBack(object, allocator);
    ++stats.objects_out;
    if (options.author) {
      out.PushBack(rapidjson::Value(author, allocator), allocator);
      ++stats.objects_out;
    }
    if (indicator && options.original_id_note_abstract && !id.empty()) {
      out.PushBack(original_id_note(id, allocator), allocator);
      ++stats.objects_out;
    }
  }
};

PassThrough::PassThrough(PassThroughOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {}
PassThrough::~PassThrough() = default;

void PassThrough::collect(rapidjson::Value& object, rapidjson::Document::AllocatorType& allocator, bool taxii20) const {
  if (!taxii20 || !object.IsObject()) return;
  if (string_field(object, "type").value_or("") == "indicator" && !object.HasMember("pattern_type")) {
    object.AddMember("pattern_type", "stix", allocator);
  }
}

void PassThrough::transform(rapidjson::Value& feed_objects, rapidjson::Value& out, Allocator& allocator) {
  if (!out.IsArray()) out.SetArray();
  if (!feed_objects.IsArray()) return;
  for (auto& object : feed_objects.GetArray()) impl_->map_object(object, out, allocator);
}

const PassThroughStats& PassThrough::stats() const { return impl_->stats; }
const rapidjson::Value& PassThrough::author() const { return impl_->author; }

}  // namespace kfc::generic
