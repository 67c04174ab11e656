// Confidence, score and labels of every object of a bundle (README "Confidence, score and labels").
#include <charconv>

#include "kfc/stix/pystr.h"
#include "mapper_impl.h"

namespace kfc::mapping {

using kfc::stix::for_each_split;
using kfc::stix::py_strip;

namespace {

// Python int() on a decimal string: surrounding whitespace, optional sign, '_' between digits.
std::optional<long long> python_int(std::string_view s) {
  s = py_strip(s);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() == '_' || s.back() == '_') return std::nullopt;
  std::string digits;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (s[i - 1] == '_') return std::nullopt;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    digits.push_back(s[i]);
  }
  long long value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return negative ? -value : value;
}

// The text between the first and the second '=' of a `threat_score=...` piece, if the piece's key
// is exactly threat_score.
std::optional<std::string_view> threat_score_text(std::string_view piece) {
  const std::size_t eq = piece.find('=');
  if (eq == std::string_view::npos || piece.substr(0, eq) != "threat_score") return std::nullopt;
  const std::string_view rest = piece.substr(eq + 1);
  return rest.substr(0, rest.find('='));
}

}  // namespace

int Mapper::Impl::level_index(long long score) const {
  if (score >= opt.threat_score_high) return 0;
  if (score >= opt.threat_score_medium) return 1;
  return 2;
}

void Mapper::Impl::set_score(Value& o, long long score, Allocator& a) {
  json::set(o, "x_opencti_score", Value(static_cast<int64_t>(score)), a);
}

auto Mapper::Impl::score_pieces(std::string_view text) -> const ScorePieces& {
  if (text.size() >= kMemoMinLength && score_memo.text == text.data() && score_memo.size == text.size())
    return score_memo;
  score_memo.text = text.size() >= kMemoMinLength ? text.data() : nullptr;
  score_memo.size = text.size();
  score_memo.has_score = text.find("threat_score=") != std::string_view::npos;
  score_memo.scores.clear();
  if (score_memo.has_score)
    for_each_split(text, ';', [&](std::string_view piece) {
      if (const auto value = threat_score_text(piece)) score_memo.scores.push_back(python_int(*value));
    });
  return score_memo;
}

void Mapper::Impl::post_process(Value& o, Allocator& a) {
  if (!o.IsObject()) return;
  const auto type = json::string_member(o, "type");
  static const std::unordered_set<std::string_view> kConfidence{
      "attack-pattern", "course-of-action", "threat-actor", "intrusion-set", "campaign", "malware",
      "tool", "vulnerability", "report", "relationship", "indicator"};
  static const std::unordered_set<std::string_view> kScored{"indicator", "file", "domain-name", "url",
                                                            "ipv4-addr"};
  if (type && kConfidence.contains(*type)) json::set(o, "confidence", Value(opt.confidence_level), a);
  if (type && kScored.contains(*type)) set_score(o, opt.threat_score, a);

  std::string_view label_key = "labels";
  const Value* description = json::member(o, "description");
  if (!description) {
    description = json::member(o, "x_opencti_description");
    label_key = "x_opencti_labels";
  }
  if (!description) return;
  const std::string_view where = json::string_member(o, "id").value_or("");
  if (!description->IsString()) return problem(Problem::NonStringField, where);
  const ScorePieces& pieces = score_pieces(json::view(*description));
  const bool has_score = pieces.has_score;

  if (opt.threat_score_from_description) {
    if (!has_score) return;
    std::optional<long long> score;
    for (const auto& n : pieces.scores) {
      if (n) score = n;
      else problem(Problem::BadThreatScore, where);
    }
    if (score) set_score(o, *score, a);
    return;
  }

  Value* labels = json::member(o, label_key);
  if (!labels) {
    o.AddMember(json::ref(label_key), Value(rapidjson::kArrayType), a);
    labels = json::member(o, label_key);
  } else if (!labels->IsArray()) {
    problem(Problem::NonStringField, where);
    Value wrapped(rapidjson::kArrayType);
    if (!labels->IsNull()) wrapped.PushBack(*labels, a);
    *labels = wrapped;
  }
  auto append_level = [&](long long score) {
    for (const auto& l : level_labels[level_index(score)]) json::append_unique(*labels, l, a);
  };
  if (!has_score) return append_level(opt.threat_score);
  for (const auto& n : pieces.scores) {
    if (n) append_level(*n);
    else problem(Problem::BadThreatScore, where);
  }
}

}  // namespace kfc::mapping
