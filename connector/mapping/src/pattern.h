#pragma once
// Hand-written equivalents of the reference's regular expressions over STIX patterns (connector/mapping/README.md):
// no regex engine, no per-object compilation, same matches as Python `re` on these patterns.
#include <optional>
#include <string_view>

namespace kfc::mapping {

// Group 1 of the first match of \[(.+?):.*'(.*?)\'\] (the object type before the first ':').
std::optional<std::string_view> main_observable_group(std::string_view pattern);
// x_opencti_main_observable_type for that group, or nullopt for unknown types.
std::optional<std::string_view> main_observable_type(std::string_view pattern);

// Capture of '((?:\\'|[^'])*)' at its first match: the first quoted token, escapes kept.
std::optional<std::string_view> first_quoted_token(std::string_view pattern);

// The text before the first ' (Python pattern.split("'")[0] quirk included: without any quote,
// the whole pattern minus its last character).
std::string_view text_before_first_quote(std::string_view pattern);

// Each match of file:hashes\.'?(MD5|SHA-1|SHA-256)'? ?= ?'([a-fA-F0-9]{32,64})' in order.
template <class F>
void for_each_hash_match(std::string_view pattern, F&& f);

// ^((25[0-5]|(2[0-4]|1\d|[1-9]|)\d)\.?\b){4}$ with Python semantics ($ also before a final \n).
bool is_ipv4_literal(std::string_view value);

// Expected hex length of a hash algorithm the observables transform accepts (0 = unknown).
std::size_t hash_length(std::string_view algorithm);

// ---- implementation of the template ----
namespace detail {
// Tries the hash regex at `at` (which starts with "file:hashes."); on success sets alg, value and
// the end of the match.
bool match_hash_at(std::string_view p, std::size_t at, std::string_view& alg,
                   std::string_view& value, std::size_t& end);
}  // namespace detail

template <class F>
void for_each_hash_match(std::string_view pattern, F&& f) {
  constexpr std::string_view kPrefix = "file:hashes.";
  std::size_t pos = 0;
  while ((pos = pattern.find(kPrefix, pos)) != std::string_view::npos) {
    std::string_view alg, value;
    std::size_t end = 0;
    if (detail::match_hash_at(pattern, pos, alg, value, end)) {
      f(alg, value);
      pos = end;
    } else {
      ++pos;
    }
  }
}

}  // namespace kfc::mapping
