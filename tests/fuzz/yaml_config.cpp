// config.yml as the loader reads it (validation included), with an empty environment. The loader
// reports every problem in its result and must never throw for a bad file.
#include "fuzz_support.h"
#include "kfc/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kfc::fuzz::quiet();
  kfc::LoadRequest request;
  request.config_path = "config.yml";
  request.yaml_text = std::string(kfc::fuzz::as_text(data, size));
  const kfc::LoadResult result = kfc::load_settings(request);
  if (result.ok()) (void)kfc::describe_settings(result.settings);
  return 0;
}
