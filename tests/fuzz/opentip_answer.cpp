// OpenTIP answers as the client reads them, for each kind of lookup, and what is built from a
// result: the enrichment bundle, the note, the `lookup` table.
#include <rapidjson/document.h>

#include "fuzz_support.h"
#include "kfc/opentip/enrichment.h"
#include "kfc/opentip/report.h"
#include "kfc/opentip/result.h"

namespace {

using namespace kfc;
using namespace kfc::opentip;

constexpr const char* kEntity =
    R"([{"type":"file","spec_version":"2.1","id":"file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f",)"
    R"("hashes":{"MD5":"44d88612fea8a8f36de82e1278abb02f"}}])";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::quiet();
  static const Query kQueries[] = {
      {ValueKind::Md5, "44d88612fea8a8f36de82e1278abb02f"}, {ValueKind::Ipv4, "203.0.113.66"},
      {ValueKind::Domain, "phish.example.com"}, {ValueKind::Url, "http://phish.example.com/login.php"}};
  const Query& query = kQueries[size % 4];
  LookupResult result;
  try {
    result = parse_lookup_result(query, fuzz::as_text(data, size));
  } catch (const std::exception&) {
    return 0;  // ResponseFormatError: said, as it must be
  }
  (void)format_table(result);
  (void)note_content(result);
  (void)exit_code_for(result);
  rapidjson::Document entity;
  entity.Parse(kEntity);
  const auto bundle = build_enrichment_bundle(entity, "file--5d0c6a1e-8f3b-5c2d-9e4f-1a2b3c4d5e6f", result,
                                              EnrichmentOptions{}, std::chrono::sys_days{std::chrono::year{2026} / 4 / 1});
  (void)bundle.size();
  return 0;
}
