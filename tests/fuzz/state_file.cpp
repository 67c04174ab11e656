// The connector state (stored in OpenCTI, or the local state file): what parses must write back and
// parse again to the same state.
#include <cstdlib>

#include "fuzz_support.h"
#include "kfc/runner/state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kfc::fuzz::quiet();
  const auto state = kfc::runner::parse_state(kfc::fuzz::as_text(data, size));
  if (!state) return 0;
  const std::string written = kfc::runner::to_json(*state);
  const auto again = kfc::runner::parse_state(written);
  if (!again || !(*again == *state)) std::abort();  // the state would not survive a save and a load
  return 0;
}
