#include "kfc/opentip/enrichment_connector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "kfc/health/health.h"
#include "kfc/health/metrics.h"
#include "kfc/health/token_gate.h"
#include "kfc/opencti/session.h"
#include "kfc/opentip/enrichment_worker.h"
#include "kfc/opentip/listen_queue.h"
#include "kfc/sinks/factory.h"

namespace kfc::opentip {
namespace {

constexpr int kExitStopped = 0;
constexpr int kExitFatal = 1;
constexpr int kExitConfig = 2;
constexpr int kExitToken = 3;

// The identity the platform sees: an internal enrichment connector over the observables OpenTIP knows.
Settings enrichment_settings(const Settings& settings) {
  Settings out = settings;
  out.connector.type = "INTERNAL_ENRICHMENT";
  out.connector.scope = settings.opentip.enrichment_scope;
  return out;
}

class Waiter {
 public:
  Waiter(Clock& clock, std::function<bool()> should_stop, std::chrono::milliseconds step)
      : clock_(clock), should_stop_(std::move(should_stop)), step_(step) {}

  bool stopping() const { return should_stop_ && should_stop_(); }

  // Sleeps (on the clock) until `until` or a stop request, in steps so a stop is noticed.
  void until(SystemTime until) {
    while (!stopping()) {
      auto now = clock_.now();
      if (now >= until) return;
      clock_.sleep_for(std::min<Duration>(step_, std::chrono::duration_cast<Duration>(until - now)));
    }
  }

 private:
  Clock& clock_;
  std::function<bool()> should_stop_;
  Duration step_;
};

// The clock the request handling sleeps on (rate limit, backoff, Retry-After, push retries): it
// sleeps in short steps and abandons the request when the connector is asked to stop, so a SIGTERM
// is not held up by a wait that may last minutes (or, for a push the broker keeps refusing, forever).
class StopAwareClock final : public Clock {
 public:
  StopAwareClock(Clock& base, std::function<bool()> should_stop, Duration step)
      : base_(base), should_stop_(std::move(should_stop)), step_(std::max(step, Duration(1))) {}

  SystemTime now() const override { return base_.now(); }

  void sleep_for(Duration d) override {
    while (true) {
      if (should_stop_ && should_stop_()) {
        throw EnrichmentInterrupted("the connector is stopping; the enrichment in progress was abandoned");
      }
      if (d <= Duration::zero()) return;
      Duration slice = std::min(d, step_);
      base_.sleep_for(slice);
      d -= slice;
    }
  }

 private:
  Clock& base_;
  std::function<bool()> should_stop_;
  Duration step_;
};

// Runs the request on its own thread and keeps the broker connection alive meanwhile (as pycti keeps
// its pika connection serviced while the callback runs): otherwise a lookup that waits for the rate
// limit or a Retry-After outlives the heartbeat, the broker drops us and hands the request out again.
RequestOutcome handle_keeping_alive(ListenQueue& queue, EnrichmentWorker& worker, const std::string& body,
                                   Attempt attempt) {
  constexpr auto kServiceEvery = std::chrono::milliseconds(200);
  auto handling = std::async(std::launch::async, [&worker, &body, attempt] { return worker.handle(body, attempt); });
  try {
    while (handling.wait_for(kServiceEvery) != std::future_status::ready) queue.keep_alive();
  } catch (const ListenQueueError&) {
    handling.wait();  // let it finish: the broker has requeued the request, it will be handled again
    throw;
  }
  return handling.get();
}

SinkFactory sink_factory(const Settings& settings, opencti::OpenCtiSession& session, Clock& clock) {
  if (settings.connector.queue_protocol == QueueProtocol::Api) {
    // The draft travels as the API client's opencti-draft-id header (set by the worker per request).
    return [&session](const std::string&, const std::string&) {
      return sinks::make_graphql_sink(session.api(), session.connector_id());
    };
  }
  return [&session, &clock](const std::string& applicant_id, const std::string& draft_id) {
    sinks::AmqpSinkOptions options = sinks::amqp_options_from(session.registration());
    if (!applicant_id.empty()) options.applicant_id = applicant_id;
    if (!draft_id.empty()) options.draft_id = draft_id;
    options.mode = sinks::AmqpMessageMode::PerObject;
    // The sink announces on its own thread: it gets its own client (session.api() is this thread's),
    // in the request's draft as the worker's calls are.
    std::shared_ptr<opencti::OpenCtiClient> announcer = session.new_client();
    announcer->graphql().set_draft_id(draft_id);
    return sinks::make_amqp_sink(
        std::move(options),
        [announcer](const std::string& work_id, int n) { announcer->add_expectations(work_id, n); }, clock);
  };
}

constexpr const char* kStoppedWhileHandling =
    "the connector stopped (crash, kill or a lost broker connection) while handling it";

// Takes requests until asked to stop; the broker connection is dropped and re-made around pauses.
// Every try of a request is counted (README.md, "Poison requests"): a request that fails, or that
// was being handled when the process died, goes to the back of the queue with its count, and once it
// has cost opentip.max_delivery_attempts it is acknowledged with its work closed in error.
void consume(const opencti::Registration& registration, EnrichmentWorker& worker, Waiter& wait, Clock& clock,
             const EnrichmentEnvironment& environment, int max_attempts) {
  std::unique_ptr<ListenQueue> queue;
  while (!wait.stopping()) {
    try {
      if (!queue) {
        queue = std::make_unique<ListenQueue>(registration.mq, registration.listen, environment.heartbeat_seconds,
                                              registration.listen_exchange, registration.listen_routing);
        spdlog::info("Listening for enrichment requests on {}", queue->describe());
      }
      std::optional<Delivery> delivery = queue->next(environment.poll_interval);
      if (!delivery) continue;
      const int earlier = delivery->earlier_attempts();
      if (earlier >= max_attempts) {
        const std::string why = delivery->redelivered || delivery->last_failure.empty() ? kStoppedWhileHandling
                                                                                         : delivery->last_failure;
        worker.give_up(delivery->body, earlier, why);
        queue->ack(delivery->delivery_tag);
        continue;
      }
      if (delivery->redelivered) {
        // This copy was in flight when the process or its connection died. Record that on a copy at
        // the back before trying again: the broker's flag alone cannot count a request that keeps
        // killing the process.
        spdlog::warn("An enrichment request was being handled when the connector stopped (attempt {} of {}): it is "
                     "tried again after the requests queued behind it",
                     earlier, max_attempts);
        queue->requeue_at_back(*delivery, earlier, kStoppedWhileHandling);
        continue;
      }
      RequestOutcome outcome = handle_keeping_alive(*queue, worker, delivery->body, Attempt{earlier + 1, max_attempts});
      if (outcome.disposition == Disposition::Ack) {
        queue->ack(delivery->delivery_tag);
        continue;
      }
      // To the back of the queue: the requests behind it are not held up by it.
      queue->requeue_at_back(*delivery, earlier + (outcome.spends_attempt ? 1 : 0), outcome.work_message);
      if (!outcome.pause_until || *outcome.pause_until <= clock.now()) continue;
      // A pause (quota, an outage): disconnect, so that no request waits in this consumer meanwhile.
      queue.reset();
      spdlog::warn("Enrichment requests wait on the queue until {}", opencti::format_info_datetime(*outcome.pause_until));
      wait.until(*outcome.pause_until);
    } catch (const ListenQueueError& error) {
      // Unacked requests go back to the queue with the connection; nothing is lost.
      spdlog::error("{} — reconnecting in {} s", error.what(),
                    std::chrono::duration_cast<std::chrono::seconds>(environment.reconnect_delay).count());
      queue.reset();
      wait.until(clock.now() + environment.reconnect_delay);
    }
  }
}

// /metrics and /healthz (connector.expose_metrics), or /healthz alone (connector.health_port).
std::unique_ptr<health::MetricsServer> status_server(const Settings& settings, const health::Metrics& metrics,
                                                     const health::Health& health) {
  const auto& connector = settings.connector;
  if (connector.expose_metrics) {
    auto server = std::make_unique<health::MetricsServer>(&metrics, health, connector.metrics_address,
                                                          connector.metrics_port);
    spdlog::info("Metrics on http://{}:{}/metrics, health on /healthz", connector.metrics_address, server->port());
    return server;
  }
  if (connector.health_port <= 0) return nullptr;
  auto server = std::make_unique<health::MetricsServer>(nullptr, health, connector.metrics_address, connector.health_port,
                                                        "connector.health_port");
  spdlog::info("Health on http://{}:{}/healthz", connector.metrics_address, server->port());
  return server;
}

}  // namespace

int run_enrichment(const Settings& original, EnrichmentEnvironment environment) {
  Clock& clock = environment.clock ? *environment.clock : system_clock();
  const Settings settings = enrichment_settings(original);
  Waiter wait(clock, environment.should_stop, environment.poll_interval);
  StopAwareClock request_clock(clock, environment.should_stop, environment.poll_interval);
  health::Metrics metrics(settings.connector.metrics_namespace, settings.connector.metrics_subsystem);
  health::Health health(clock, 3 * environment.ping_interval, &metrics);
  metrics.set_state("idle");
  try {
    const auto server = status_server(settings, metrics, health);
    health::TokenGate key_gate(settings.opentip.api_key, settings.tokens.expiry_warning_days, &metrics, &health);
    EnrichmentOptions options = enrichment_options(settings.opentip);
    ClientOptions client_settings = client_options(settings.opentip);
    auto cache = make_cache(settings.opentip.cache_dir, settings.opentip.cache_ttl, settings.opentip.cache_max_entries);
    auto transport = environment.opentip_transport ? environment.opentip_transport() : http::make_curl_transport({});
    Client opentip(client_settings, *transport, request_clock, cache.get());

    opencti::SessionOptions session_options;
    session_options.ping_interval = environment.ping_interval;
    session_options.transport_factory = environment.opencti_transport;
    session_options.should_stop = environment.should_stop;
    session_options.on_ping = [&health, &metrics](const std::optional<std::string>& error) {
      health.platform_answered(error);
      metrics.add(health::Metric::PyctiPings);
      if (error) metrics.add(health::Metric::PyctiPingErrors);
    };
    health.expect_platform();
    auto session = opencti::OpenCtiSession::connect(settings, clock, session_options);
    const auto& registration = session->registration();
    spdlog::info("OpenTIP enrichment connector registered (scope {}, max TLP {}, automatic {}, playbooks {})",
                 settings.connector.scope, to_string(options.max_tlp), settings.connector.auto_enrich ? "on" : "off",
                 settings.connector.playbook_compatible ? "on" : "off");
    key_gate.check(clock.now());  // warnings and the days-left metric from the start

    EnrichmentWorker worker(session->api(), session->connector_id(), opentip,
                            sink_factory(settings, *session, request_clock), options, request_clock,
                            {.key_gate = &key_gate,
                             .metrics = &metrics,
                             .playbook_compatible = settings.connector.playbook_compatible});
    metrics.set_state("running");
    consume(registration, worker, wait, clock, environment, settings.opentip.max_delivery_attempts);
    metrics.set_state("stopped");
    spdlog::info("OpenTIP enrichment connector stopped");
    return kExitStopped;
  } catch (const std::invalid_argument& error) {
    spdlog::error("{}", error.what());
    return kExitConfig;
  } catch (const TokenError& error) {
    spdlog::error("{}", error.what());
    return kExitToken;
  } catch (const std::exception& error) {
    if (wait.stopping()) return kExitStopped;
    spdlog::critical("OpenTIP enrichment connector stopped: {}", error.what());
    return kExitFatal;
  }
}

}  // namespace kfc::opentip
