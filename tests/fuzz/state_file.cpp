// The connector state (stored in OpenCTI, or the local state file): what parses must write back and
// parse again to the same cursors, with every other key kept.
#include <cstdlib>

#include "fuzz_support.h"
#include "kfc/runner/state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kfc::fuzz::quiet();
  const auto state = kfc::runner::parse_state(kfc::fuzz::as_text(data, size));
  if (!state) return 0;
  const std::string written = kfc::runner::to_json(*state);
  const auto again = kfc::runner::parse_state(written);
  if (!again) std::abort();  // what the connector wrote, it could not read
  // The connector's own fields survive exactly. Other tools' keys survive with their values; a long
  // number among them may come back one ulp off (RapidJSON's reader; see connector/runner/README.md).
  if (again->last_added != state->last_added || again->cursors != state->cursors) std::abort();
  if (again->other_keys.size() != state->other_keys.size()) std::abort();
  for (const auto& [key, value] : state->other_keys) {
    if (!again->other_keys.contains(key)) std::abort();
  }
  return 0;
}
