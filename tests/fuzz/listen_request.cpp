// A message of the enrichment listen queue, as the consumer reads it before anything is spent.
#include "fuzz_support.h"
#include "kfc/opentip/enrichment.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kfc::fuzz::quiet();
  try {
    const auto request = kfc::opentip::parse_enrichment_request(kfc::fuzz::as_text(data, size));
    (void)kfc::opentip::opencti_type_of(request.entity_type);
  } catch (const kfc::opentip::EnrichmentRefused&) {
    // refused with its reason: the message is acked and its work closed in error
  }
  return 0;
}
