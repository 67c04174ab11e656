#pragma once
// Which collections a configuration selects (`kaspersky.collections`): shell wildcards (`*`, `?`,
// `[...]`, `[!...]`, case-sensitive) matched against a collection's id or its title.
#include <string>
#include <string_view>
#include <vector>

#include "kfc/taxii/model.h"

namespace kfc::taxii {

bool wildcard_matches(std::string_view pattern, std::string_view text);

// True when `patterns` is empty (no selection configured: everything) or any pattern matches the
// collection's id or title.
bool is_selected(const std::vector<std::string>& patterns, const Collection& collection);

}  // namespace kfc::taxii
