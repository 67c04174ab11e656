#pragma once
// Text helpers every module needs: trimming, a whole file read (letter case: to_lower/to_upper in
// values.h).
#include <filesystem>
#include <string>
#include <string_view>

namespace kfc {

// `text` without leading and trailing `blanks` (spaces and tabs unless told otherwise).
constexpr std::string_view trim(std::string_view text, std::string_view blanks = " \t") {
  const auto begin = text.find_first_not_of(blanks);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(blanks) - begin + 1);
}

// The bytes of the file at `path`; empty when it cannot be opened (callers that must tell "missing"
// from "empty" check first).
std::string read_whole_file(const std::filesystem::path& path);

}  // namespace kfc
