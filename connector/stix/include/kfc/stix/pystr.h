#pragma once
// Python string semantics the reference connector relies on (connector/stix/README.md), on UTF-8
// text: str.strip(), str.lower(), str.upper(), str.split(sep). ASCII takes a fast path; other
// characters follow Python 3.11 / Unicode 14 full case mappings (İ -> i + U+0307, ß -> SS, final
// sigma) from a compiled-in table, so no ICU and no locale is involved.
#include <string>
#include <string_view>
#include <vector>

namespace kfc::stix {

// Python's str.isspace() for one code point.
bool py_isspace(char32_t cp) noexcept;

// str.strip() with no argument: removes leading/trailing Unicode whitespace. Returns a view of s.
std::string_view py_strip(std::string_view s) noexcept;

// str.lower() / str.upper(). Invalid UTF-8 bytes are copied unchanged.
std::string py_lower(std::string_view s);
std::string py_upper(std::string_view s);
void py_lower_append(std::string_view s, std::string& out);

// strip(lower(s)): the name normalisation of OpenCTI ids (connector/stix/README.md).
std::string py_norm(std::string_view s);

// str.split(sep) with a one-character separator: keeps empty fields ("" -> [""]).
std::vector<std::string_view> py_split(std::string_view s, char sep);

// Calls f(field) for each field of str.split(sep) without allocating; f returns void.
template <class F>
void for_each_split(std::string_view s, char sep, F&& f) {
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      f(s.substr(start));
      return;
    }
    f(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Decodes one UTF-8 sequence at s[i]; advances i. An invalid byte decodes as itself (0x80-0xFF)
// with `valid` false.
char32_t utf8_decode(std::string_view s, std::size_t& i, bool* valid = nullptr) noexcept;
void utf8_append(char32_t cp, std::string& out);

}  // namespace kfc::stix
