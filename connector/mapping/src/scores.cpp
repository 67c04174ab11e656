// Confidence, score and labels of every object of a bundle (README "Confidence, score and labels").
#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

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

namespace {

constexpr std::array<std::string_view, 11> kConfidenceTypes{
    "attack-pattern", "course-of-action", "threat-actor", "intrusion-set", "campaign", "malware",
    "tool", "vulnerability", "report", "relationship", "indicator"};
constexpr std::array<std::string_view, 5> kScoredTypes{"indicator", "file", "domain-name", "url", "ipv4-addr"};

template <std::size_t N>
bool one_of(std::string_view type, const std::array<std::string_view, N>& types) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

// The members post_process reads or sets, found in one pass over the object (each the first member
// of its name, as FindMember finds it). Kept as positions, which stay valid when members are
// appended, where pointers would not.
class Slots {
 public:
  enum Name : std::size_t { Type, Id, Confidence, Score, Description, XDescription, Labels, XLabels, kCount };

  explicit Slots(Value& o) : o_(o) {
    at_.fill(kAbsent);
    rapidjson::SizeType i = 0;
    for (auto m = o.MemberBegin(); m != o.MemberEnd(); ++m, ++i) {
      const std::string_view name = json::view(m->name);
      for (std::size_t k = 0; k < kCount; ++k) {
        if (name != kNames[k]) continue;
        if (at_[k] == kAbsent) at_[k] = i;
        break;
      }
    }
  }

  Value* get(Name n) { return at_[n] == kAbsent ? nullptr : &o_.MemberBegin()[at_[n]].value; }

  std::optional<std::string_view> string(Name n) {
    const Value* v = get(n);
    if (v == nullptr || !v->IsString()) return std::nullopt;
    return json::view(*v);
  }

  // json::set(): replaced in place when present, else appended.
  Value& set(Name n, Value&& value, Allocator& a) {
    if (Value* existing = get(n)) {
      *existing = value;  // RapidJSON assignment moves
      return *existing;
    }
    at_[n] = o_.MemberCount();
    o_.AddMember(json::ref(kNames[n]), value, a);
    return *get(n);
  }

 private:
  static constexpr rapidjson::SizeType kAbsent = std::numeric_limits<rapidjson::SizeType>::max();
  static constexpr std::array<std::string_view, kCount> kNames{
      "type", "id", "confidence", "x_opencti_score", "description", "x_opencti_description", "labels",
      "x_opencti_labels"};
  Value& o_;
  std::array<rapidjson::SizeType, kCount> at_;
};

}  // namespace

void Mapper::Impl::post_process(Value& o, Allocator& a) {
  if (!o.IsObject()) return;
  Slots slots(o);
  const auto type = slots.string(Slots::Type);
  if (type && one_of(*type, kConfidenceTypes)) slots.set(Slots::Confidence, Value(opt.confidence_level), a);
  auto set_score = [&](long long score) { slots.set(Slots::Score, Value(static_cast<int64_t>(score)), a); };
  if (type && one_of(*type, kScoredTypes)) set_score(opt.threat_score);

  Slots::Name label_key = Slots::Labels;
  const Value* description = slots.get(Slots::Description);
  if (!description) {
    description = slots.get(Slots::XDescription);
    label_key = Slots::XLabels;
  }
  if (!description) return;
  const std::string_view where = slots.string(Slots::Id).value_or("");
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
    if (score) set_score(*score);
    return;
  }

  Value* labels = slots.get(label_key);
  if (!labels) {
    labels = &slots.set(label_key, Value(rapidjson::kArrayType), a);
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
