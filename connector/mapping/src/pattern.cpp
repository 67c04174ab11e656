#include "pattern.h"

#include <array>
#include <utility>

namespace kfc::mapping {

std::optional<std::string_view> main_observable_group(std::string_view p) {
  // For a '[' at i, the lazy group ends at the first ':' at index >= i+2 (no newline before it);
  // later ':' only make the rest harder to match, so that one ':' decides. The rest, .*'(.*?)'\],
  // needs a quote after the ':' and a later "']", all on one line.
  for (std::size_t i = p.find('['); i != std::string_view::npos; i = p.find('[', i + 1)) {
    if (i + 2 > p.size()) break;
    const std::size_t colon = p.find(':', i + 2);
    if (colon == std::string_view::npos) break;  // no ':' after this '[' means none after later ones
    if (p.substr(i + 1, colon - (i + 1)).find('\n') != std::string_view::npos) continue;
    const std::size_t line_end = std::min(p.find('\n', colon + 1), p.size());
    const std::string_view rest = p.substr(colon + 1, line_end - (colon + 1));
    const std::size_t quote = rest.find('\'');
    if (quote == std::string_view::npos) continue;
    if (rest.find("']", quote + 1) == std::string_view::npos) continue;
    return p.substr(i + 1, colon - (i + 1));
  }
  return std::nullopt;
}

std::optional<std::string_view> main_observable_type(std::string_view pattern) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kTypes{{
      {"ipv4-addr", "IPv4-Addr"},
      {"ipv6-addr", "IPv6-Addr"},
      {"file", "File"},
      {"domain-name", "Domain-Name"},
      {"url", "Url"},
      {"email-addr", "Email-Addr"},
  }};
  const auto group = main_observable_group(pattern);
  if (!group) return std::nullopt;
  for (const auto& [key, value] : kTypes)
    if (*group == key) return value;
  return std::nullopt;
}

std::optional<std::string_view> first_quoted_token(std::string_view p) {
  const std::size_t open = p.find('\'');
  if (open == std::string_view::npos) return std::nullopt;
  // Greedy scan: \' is consumed as a pair, the first other quote closes the token.
  for (std::size_t i = open + 1; i < p.size();) {
    if (p[i] == '\\' && i + 1 < p.size() && p[i + 1] == '\'') {
      i += 2;
    } else if (p[i] == '\'') {
      return p.substr(open + 1, i - open - 1);
    } else {
      ++i;
    }
  }
  // No unescaped closing quote: backtracking makes the last (escaped) quote close the token.
  const std::size_t last = p.rfind('\'');
  if (last == open) return std::nullopt;
  return p.substr(open + 1, last - open - 1);
}

std::string_view text_before_first_quote(std::string_view p) {
  const std::size_t q = p.find('\'');
  if (q != std::string_view::npos) return p.substr(0, q);
  return p.empty() ? p : p.substr(0, p.size() - 1);
}

namespace detail {

bool match_hash_at(std::string_view p, std::size_t at, std::string_view& alg,
                   std::string_view& value, std::size_t& end) {
  std::size_t i = at + std::string_view("file:hashes.").size();
  auto peek = [&](char c) { return i < p.size() && p[i] == c; };
  if (peek('\'')) ++i;
  static constexpr std::array<std::string_view, 3> kAlgs{"MD5", "SHA-1", "SHA-256"};
  bool found = false;
  for (const auto candidate : kAlgs) {
    if (p.substr(i, candidate.size()) == candidate) {
      // The alternation takes the first that lets the rest match; only SHA-1/SHA-256 share a
      // prefix, and after SHA-1 the next character must be ', space or =, never '2'.
      const std::size_t after = i + candidate.size();
      if (candidate == "SHA-1" && after < p.size() && p[after] == '2') continue;
      alg = p.substr(i, candidate.size());
      i = after;
      found = true;
      break;
    }
  }
  if (!found) return false;
  if (peek('\'')) ++i;
  if (peek(' ')) ++i;
  if (!peek('=')) return false;
  ++i;
  if (peek(' ')) ++i;
  if (!peek('\'')) return false;
  ++i;
  const std::size_t start = i;
  auto is_hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  while (i < p.size() && is_hex(p[i]) && i - start < 64) ++i;
  const std::size_t len = i - start;
  if (len < 32 || !peek('\'')) return false;
  value = p.substr(start, len);
  end = i + 1;
  return true;
}

}  // namespace detail

bool is_ipv4_literal(std::string_view v) {
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);  // Python's $ matches before a final \n
  int octets = 0;
  std::size_t i = 0;
  while (true) {
    const std::size_t start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9' && i - start < 3) ++i;
    const std::size_t len = i - start;
    if (len == 0) return false;
    if (i < v.size() && v[i] >= '0' && v[i] <= '9') return false;  // 4+ digits: no word boundary
    if (len > 1 && v[start] == '0') return false;                   // no leading zeros
    int n = 0;
    for (std::size_t k = start; k < i; ++k) n = n * 10 + (v[k] - '0');
    if (n > 255) return false;
    ++octets;
    if (octets == 4) return i == v.size();
    if (i >= v.size() || v[i] != '.') return false;
    ++i;
  }
}

std::size_t hash_length(std::string_view algorithm) {
  if (algorithm == "MD5") return 32;
  if (algorithm == "SHA-1") return 40;
  if (algorithm == "SHA-256") return 64;
  return 0;
}

}  // namespace kfc::mapping
