#include "locations.h"

#include <array>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "kfc/stix/ids.h"
#include "kfc/stix/pystr.h"

namespace kfc::mapping {

extern const std::string_view kLocationDatasheetTsv;

namespace {

using kfc::stix::for_each_split;
using kfc::stix::py_strip;
using kfc::stix::py_upper;

constexpr std::array<std::pair<std::string_view, std::string_view>, 28> kM49{{
    {"Africa", "africa"},
    {"Eastern Africa", "eastern-africa"},
    {"Middle Africa", "middle-africa"},
    {"Northern Africa", "northern-africa"},
    {"Southern Africa", "southern-africa"},
    {"Western Africa", "western-africa"},
    {"Americas", "americas"},
    {"Caribbean", "caribbean"},
    {"Central America", "central-america"},
    {"Latin America and the Caribbean", "latin-america-caribbean"},
    {"Northern America", "northern-america"},
    {"South America", "south-america"},
    {"Asia", "asia"},
    {"Central Asia", "central-asia"},
    {"Eastern Asia", "eastern-asia"},
    {"Southern Asia", "southern-asia"},
    {"South-eastern Asia", "south-eastern-asia"},
    {"Western Asia", "western-asia"},
    {"Europe", "europe"},
    {"Eastern Europe", "eastern-europe"},
    {"Northern Europe", "northern-europe"},
    {"Southern Europe", "southern-europe"},
    {"Western Europe", "western-europe"},
    {"Oceania", "oceania"},
    {"Australia and New Zealand", "australia-new-zealand"},
    {"Melanesia", "melanesia"},
    {"Micronesia", "micronesia"},
    {"Polynesia", "polynesia"},
}};

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  for_each_split(line, '\t', [&](std::string_view f) { out.push_back(f); });
  return out;
}

// Is the occurrence [at, at+len) of the pattern a whole comma-separated item of v?
bool whole_item(std::string_view v, std::size_t at, std::size_t len) {
  std::size_t left = at;
  while (left > 0) {
    // step back over one whitespace code point (ASCII fast path; NBSP etc. via decode)
    std::size_t k = left - 1;
    while (k > 0 && (static_cast<unsigned char>(v[k]) & 0xC0) == 0x80) --k;
    std::size_t i = k;
    if (!kfc::stix::py_isspace(kfc::stix::utf8_decode(v, i)) || i != left) break;
    left = k;
  }
  if (left != 0 && v[left - 1] != ',') return false;
  std::size_t right = at + len;
  while (right < v.size()) {
    std::size_t i = right;
    if (!kfc::stix::py_isspace(kfc::stix::utf8_decode(v, i))) break;
    right = i;
  }
  return right == v.size() || v[right] == ',';
}

}  // namespace

std::string_view m49_region_code(std::string_view name) {
  for (const auto& [m49, code] : kM49)
    if (m49 == name) return code;
  return {};
}

LocationRegistry LocationRegistry::from_tsv(std::string_view tsv) {
  LocationRegistry reg;
  std::unordered_set<std::string> titles, patterns;
  std::size_t line_no = 0;
  for_each_split(tsv, '\n', [&](std::string_view line) {
    ++line_no;
    if (line.empty() || line.front() == '#') return;
    const auto f = split_tabs(line);
    if (f.size() != 5)
      throw std::runtime_error("location datasheet line " + std::to_string(line_no) +
                               ": expected 5 tab-separated columns");
    LocationRecord r;
    r.code = py_upper(f[0]);
    r.title = std::string(f[1]);
    r.pattern_upper = py_upper(f[2].empty() ? f[1] : f[2]);
    if (!f[3].empty())
      for_each_split(f[3], ';', [&](std::string_view l) { r.labels.push_back(py_upper(l)); });
    r.subregion_title = std::string(f[4]);
    r.region_code = std::string(m49_region_code(r.subregion_title));
    if (r.region_code.empty())
      throw std::runtime_error("location datasheet record " + r.code + ": unknown M49 region '" +
                               r.subregion_title + "'");
    if (reg.by_code_.contains(r.code) || !titles.insert(r.title).second ||
        !patterns.insert(r.pattern_upper).second)
      throw std::runtime_error("location datasheet record " + r.code +
                               ": duplicate code, title or pattern");
    r.country_id = kfc::stix::location_id(r.code, "Country");
    r.region_id = kfc::stix::location_id(r.region_code, "Region");
    reg.by_code_.emplace(r.code, reg.records_.size());
    reg.records_.push_back(std::move(r));
  });
  return reg;
}

const LocationRegistry& LocationRegistry::instance() {
  static const LocationRegistry registry = from_tsv(kLocationDatasheetTsv);
  return registry;
}

const LocationRecord* LocationRegistry::find_code(std::string_view code_upper) const {
  // Heterogeneous lookup would need a transparent hash; codes are tiny, a string is fine.
  const auto it = by_code_.find(std::string(code_upper));
  return it == by_code_.end() ? nullptr : &records_[it->second];
}

LocationRegistry::Decoded LocationRegistry::decode(std::string_view value) const {
  Decoded out;
  const std::string upper = py_upper(value);
  const std::string_view v = py_strip(upper);
  if (v.empty()) return out;
  // Code path: comma-separated ISO codes, input order, duplicates kept.
  for_each_split(v, ',', [&](std::string_view token) {
    if (const LocationRecord* r = find_code(py_strip(token)))
      out.records.push_back(r);
    else
      ++out.unknown_tokens;
  });
  if (!out.records.empty()) return out;
  out.unknown_tokens = 0;
  // Name path: datasheet order, a pattern must be a whole list item (patterns may hold commas).
  for (const LocationRecord& r : records_) {
    const std::string_view pat = r.pattern_upper;
    for (std::size_t at = v.find(pat); at != std::string_view::npos; at = v.find(pat, at + 1)) {
      if (whole_item(v, at, pat.size())) {
        out.records.push_back(&r);
        break;
      }
    }
  }
  return out;
}

}  // namespace kfc::mapping
