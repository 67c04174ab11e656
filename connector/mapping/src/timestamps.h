#pragma once
// STIX timestamps as stix2 writes them and the report `published` re-formatting.
#include <optional>
#include <string>
#include <string_view>

#include "kfc/config/clock.h"

namespace kfc::mapping {

// YYYY-MM-DDTHH:MM:SS.<frac>Z; frac = microseconds, trailing zeros removed, at least 3 digits.
std::string format_created(SystemTime t);

// Parses `raw` with Python strptime "%Y-%m-%dT%H:%M:%SZ" or "%Y-%m-%dT%H:%M:%S.%fZ" and writes it
// back as stix2 does (fraction only when non-zero, trailing zeros removed). nullopt if invalid.
std::optional<std::string> reformat_published(std::string_view raw);

}  // namespace kfc::mapping
