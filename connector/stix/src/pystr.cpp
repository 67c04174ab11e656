#include "kfc/stix/pystr.h"

#include <algorithm>
#include <cstdint>
#include <span>

namespace kfc::stix {
namespace {

struct CaseRun {
  std::uint32_t first, last, stride;
  std::int32_t delta;
};
struct CaseMulti {
  std::uint32_t cp, count;
  std::uint32_t out[3];
};
struct CodeRange {
  std::uint32_t first, last;
};

#include "unicode_case_table.inc"

constexpr char32_t kCapitalSigma = 0x03A3;
constexpr char32_t kSmallFinalSigma = 0x03C2;

bool in_ranges(std::span<const CodeRange> ranges, char32_t cp) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](char32_t v, const CodeRange& r) { return v < r.first; });
  if (it == ranges.begin()) return false;
  --it;
  return cp <= it->last;
}

// Returns the mapped code point(s) of cp into out; true when cp maps to something else.
void map_code_point(std::span<const CaseRun> runs, std::span<const CaseMulti> multi, char32_t cp,
                    std::string& out) {
  auto m = std::lower_bound(multi.begin(), multi.end(), cp,
                            [](const CaseMulti& e, char32_t v) { return e.cp < v; });
  if (m != multi.end() && m->cp == cp) {
    for (std::uint32_t k = 0; k < m->count; ++k) utf8_append(m->out[k], out);
    return;
  }
  auto it = std::upper_bound(runs.begin(), runs.end(), cp,
                             [](char32_t v, const CaseRun& r) { return v < r.first; });
  if (it != runs.begin()) {
    --it;
    if (cp <= it->last && (cp - it->first) % it->stride == 0) {
      utf8_append(static_cast<char32_t>(static_cast<std::int64_t>(cp) + it->delta), out);
      return;
    }
  }
  utf8_append(cp, out);
}

bool is_case_ignorable(char32_t cp) { return in_ranges(kCaseIgnorable, cp); }
bool is_cased(char32_t cp) { return in_ranges(kCased, cp); }

// Decodes the code point that ends just before byte position `end` (for the backward scan).
char32_t decode_before(std::string_view s, std::size_t& end) {
  std::size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80)
    --start;
  std::size_t i = start;
  bool valid = true;
  char32_t cp = utf8_decode(s, i, &valid);
  if (!valid || i != end) {  // not a clean sequence: treat the last byte alone
    start = end - 1;
    cp = static_cast<unsigned char>(s[start]);
  }
  end = start;
  return cp;
}

// Python's Final_Sigma condition for the capital sigma occupying s[at, after).
bool final_sigma(std::string_view s, std::size_t at, std::size_t after) {
  std::size_t j = at;
  bool cased_before = false;
  while (j > 0) {
    const char32_t c = decode_before(s, j);
    if (is_case_ignorable(c)) continue;
    cased_before = is_cased(c);
    break;
  }
  if (!cased_before) return false;
  std::size_t k = after;
  while (k < s.size()) {
    const char32_t c = utf8_decode(s, k);
    if (is_case_ignorable(c)) continue;
    return !is_cased(c);
  }
  return true;
}

}  // namespace

char32_t utf8_decode(std::string_view s, std::size_t& i, bool* valid) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto invalid = [&]() -> char32_t {
    if (valid) *valid = false;
    ++i;
    return b0;
  };
  if (valid) *valid = true;
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len;
  char32_t cp;
  if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; }
  else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; }
  else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; }
  else return invalid();
  if (i + len > s.size()) return invalid();
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return invalid();
    cp = (cp << 6) | (b & 0x3F);
  }
  const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return invalid();
  i += len;
  return cp;
}

void utf8_append(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool py_isspace(char32_t cp) noexcept {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

std::string_view py_strip(std::string_view s) noexcept {
  // Forward to the first non-space code point.
  std::size_t begin = s.size();
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t at = i;
    bool valid = true;
    const char32_t cp = utf8_decode(s, i, &valid);
    if (!valid || !py_isspace(cp)) {
      begin = at;
      break;
    }
  }
  if (begin == s.size()) return {};
  // Backward over ASCII bytes, each a code point of its own (no byte of a longer sequence is below
  // 0x80): nearly every text ends in one, and the end is found without a pass over the text.
  std::size_t end = s.size();
  while (static_cast<unsigned char>(s[end - 1]) < 0x80) {
    if (!py_isspace(static_cast<unsigned char>(s[end - 1]))) return s.substr(begin, end - begin);
    --end;  // s[begin] is no space, so this stops before passing it
  }
  // A longer sequence last: one forward pass from the first non-space code point to the last one.
  end = begin;
  for (std::size_t i = begin; i < s.size();) {
    bool valid = true;
    const char32_t cp = utf8_decode(s, i, &valid);
    if (!valid || !py_isspace(cp)) end = i;
  }
  return s.substr(begin, end - begin);
}

void py_lower_append(std::string_view s, std::string& out) {
  out.reserve(out.size() + s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
      ++i;
      continue;
    }
    const std::size_t at = i;
    bool valid = true;
    const char32_t cp = utf8_decode(s, i, &valid);
    if (!valid) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    if (cp == kCapitalSigma && final_sigma(s, at, i)) {
      utf8_append(kSmallFinalSigma, out);
      continue;
    }
    map_code_point(kLowerRuns, kLowerMulti, cp, out);
  }
}

std::string py_lower(std::string_view s) {
  std::string out;
  py_lower_append(s, out);
  return out;
}

std::string py_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b >= 'a' && b <= 'z' ? b - 32 : b));
      ++i;
      continue;
    }
    bool valid = true;
    const char32_t cp = utf8_decode(s, i, &valid);
    if (!valid) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    map_code_point(kUpperRuns, kUpperMulti, cp, out);
  }
  return out;
}

std::string py_norm(std::string_view s) {
  // lower() first, then strip(): lower-casing never turns a non-space into a space or back.
  std::string lowered = py_lower(s);
  const std::string_view stripped = py_strip(lowered);
  if (stripped.size() == lowered.size()) return lowered;
  return std::string(stripped);
}

std::vector<std::string_view> py_split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for_each_split(s, sep, [&](std::string_view field) { out.push_back(field); });
  return out;
}

}  // namespace kfc::stix
