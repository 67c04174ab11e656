#pragma once
// The OpenTIP enrichment connector process (`kaspersky-feeds-connector enrich`, or `run` with
// connector.type INTERNAL_ENRICHMENT): registers with OpenCTI as INTERNAL_ENRICHMENT with the scope
// opentip.enrichment_scope, pings, consumes the listen queue the platform assigned and runs each
// request through EnrichmentWorker.
//
// Acknowledgement: a request is acked once its bundle is confirmed (broker confirm or stixBundlePush
// answer) and its work closed, or when it is refused for good (bad message, out of scope, over
// opentip.max_tlp, unknown entity). When OpenTIP's quota is exhausted (or OpenTIP, OpenCTI or the
// broker is unavailable, or the key is rejected) the work is closed in error saying so, the request
// is nacked with requeue=true, the consumer disconnects (so the broker does not hand it straight
// back) and reconnects when the cool-down ends: the request waits at the head of the queue.
//
// A request is handled on its own thread while the consumer keeps the broker connection alive, so a
// long one (rate limit, Retry-After) is not handed out twice. A stop request (SIGTERM) abandons the
// request at its next wait; it goes back to the queue and its work is closed saying so.
// Automatic enrichment (connector.auto) and playbooks (connector.playbook_compatible) are registered
// as configured; a playbook request gets its bundle back through playbookStepExecution. The OpenTIP
// key is re-read and checked before each request; metrics and /healthz as in feed mode.
#include <chrono>
#include <functional>
#include <memory>

#include "kfc/config/clock.h"
#include "kfc/config/settings.h"
#include "kfc/http/transport.h"
#include "kfc/opencti/graphql.h"

namespace kfc::opentip {

struct EnrichmentEnvironment {
  Clock* clock = nullptr;                         // default: the system clock
  std::function<bool()> should_stop;              // e.g. SIGTERM received; checked between requests
  opencti::TransportFactory opencti_transport;    // default: libcurl with opencti.ssl_verify
  std::function<std::unique_ptr<http::Transport>()> opentip_transport;  // default: libcurl
  std::chrono::milliseconds poll_interval{1000};  // how often should_stop is checked while idle or waiting
  int heartbeat_seconds = 10;                     // the listen queue's AMQP heartbeat (pycti: 10 s)
  std::chrono::milliseconds ping_interval{40000};
  std::chrono::milliseconds reconnect_delay{10000};  // after losing the broker
};

// Exit codes: 0 stopped on request, 2 configuration error, 3 a token rejected at registration,
// 1 anything else fatal.
int run_enrichment(const Settings& settings, EnrichmentEnvironment environment = {});

}  // namespace kfc::opentip
