// OpenCTI's GraphQL answers as the client reads them: the generic answer checks (errors, data), the
// operations that interpret their data (registration, queue details, existing ids, work liveness),
// and the entity export of an enrichment request (toStix, a JSON document inside the answer).
#include "fuzz_support.h"
#include "kfc/config/token.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/opencti/client.h"
#include "kfc/opentip/enrichment_worker.h"

namespace {

using namespace kfc;

template <class Call>
void attempt(Call&& call) {
  try {
    call();
  } catch (const std::exception&) {
    // OpenCtiError, GraphqlError, TokenRejectedError, EnrichmentRefused: reported, as they must be.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::quiet();
  static ManualClock clock(std::chrono::sys_days{std::chrono::year{2026} / 4 / 1});
  opencti::GraphqlOptions options;
  options.url = "https://opencti.example";
  options.token = Token::from_value("opencti.token", "fuzz-opencti-token-0001", "OpenCTI");
  opencti::OpenCtiClient api(options,
                             std::make_unique<fuzz::ReplayTransport>(std::string(fuzz::as_text(data, size)),
                                                                     "application/json"),
                             clock);
  attempt([&] { api.platform_version(); });
  attempt([&] { api.register_connector(opencti::ConnectorIdentity{}, MqSettings{}); });
  attempt([&] { api.queue_details("connector"); });
  attempt([&] { api.existing_ids({"indicator--1", "report--2"}); });
  attempt([&] { api.is_work_alive("work"); });
  attempt([&] { api.add_work("connector", "run"); });
  attempt([&] { opentip::read_entity_objects(api, "entity"); });
  return 0;
}
