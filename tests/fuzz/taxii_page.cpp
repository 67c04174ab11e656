// TAXII answers as the client reads them: the API root, the collection list, and object pages of
// TAXII 2.1 (envelope, more/next) and 2.0 (bundle, Content-Range), every object delivered to the
// callback being walked as the run loop would copy it.
#include <rapidjson/document.h>

#include "fuzz_support.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/taxii/client.h"

namespace {

using namespace kfc;

void read_with(taxii::TaxiiVersion version, std::string_view body) {
  taxii::ClientOptions options;
  options.api_root = "https://taxii.example/api/";
  options.version = version;
  options.retry.max_attempts = 1;
  options.max_stalled_pages = 2;
  http::Headers headers = {{"x-taxii-date-added-last", "2026-04-01T08:00:00.000000Z"},
                           {"content-range", "items 0-9/20"}};
  ManualClock clock(std::chrono::sys_days{std::chrono::year{2026} / 4 / 1});
  taxii::Client client(options,
                       std::make_unique<fuzz::ReplayTransport>(std::string(body), "application/taxii+json;version=2.1",
                                                               headers),
                       clock);
  try {
    client.read_objects("feed", {}, [](const taxii::Page& page) {
      for (const rapidjson::Value* object : page.objects) {
        rapidjson::Document copy;
        copy.CopyFrom(*object, copy.GetAllocator());
      }
      return page.number < 4;
    });
  } catch (const std::exception&) {
    // Unreadable pages, stuck servers: errors the reader reports, which is what it must do.
  }
  try {
    client.collections();
  } catch (const std::exception&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::quiet();
  const std::string_view body = fuzz::as_text(data, size);
  read_with(taxii::TaxiiVersion::V21, body);
  read_with(taxii::TaxiiVersion::V20, body);
  return 0;
}
