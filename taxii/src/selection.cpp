#include "kfc/taxii/selection.h"

#include <fnmatch.h>

namespace kfc::taxii {

bool wildcard_matches(std::string_view pattern, std::string_view text) {
  // fnmatch wants NUL-terminated strings. Backslash is literal and '*' matches '/' and leading dots too, as
  // Python's fnmatch.fnmatchcase does for the reference connector.
  return ::fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), FNM_NOESCAPE) == 0;
}

bool is_selected(const std::vector<std::string>& patterns, const Collection& collection) {
  if (patterns.empty()) return true;
  for (const auto& pattern : patterns) {
    if (wildcard_matches(pattern, collection.id) || wildcard_matches(pattern, collection.title)) return true;
  }
  return false;
}

}  // namespace kfc::taxii
