// The OpenTIP cache directory's files (answers, quota block): another process, a crash mid-write or a
// tampered disk may leave anything there; a bad file is a miss, a stored answer parses like a live one.
#include "fuzz_support.h"
#include "kfc/opentip/cache.h"
#include "kfc/opentip/result.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kfc::fuzz::quiet();
  const std::string_view content = kfc::fuzz::as_text(data, size);
  (void)kfc::opentip::parse_quota_file(content);
  const kfc::opentip::Query query{kfc::opentip::ValueKind::Md5, "44d88612fea8a8f36de82e1278abb02f"};
  const auto answer = kfc::opentip::parse_cache_file(content, query.cache_key());
  if (!answer || answer->status != 200) return 0;
  try {
    (void)kfc::opentip::parse_lookup_result(query, answer->body);
  } catch (const std::exception&) {
  }
  return 0;
}
