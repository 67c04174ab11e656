#pragma once
// Regular expressions as OpenCTI's Python connectors write them (Perl syntax: \d, (?i), lookarounds),
// compiled with PCRE2 and searched anywhere in a text like Python's re.search. Matching is bounded
// (PCRE2 match and depth limits), so a hostile label cannot hang or crash the connector.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kfc {

class Regex {
 public:
  // Throws std::invalid_argument with PCRE2's explanation and the offset of the problem.
  explicit Regex(std::string_view pattern);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Whether the pattern matches somewhere in `text`; nullopt when the match could not be decided
  // (a limit was reached).
  std::optional<bool> search(std::string_view text) const;
  // The groups of the first match (0: the whole match; an unset group is empty), or nullopt when
  // nothing matches (or it could not be decided).
  std::optional<std::vector<std::string>> first_match(std::string_view text) const;
  const std::string& pattern() const noexcept { return pattern_; }

 private:
  struct Compiled;
  std::string pattern_;
  std::unique_ptr<Compiled> compiled_;
};

// Why `pattern` does not compile, or nullopt when it does.
std::optional<std::string> regex_error(std::string_view pattern);

}  // namespace kfc
