#pragma once
// Operational figures of the connector, rendered in the Prometheus text format on /metrics
// (connector.expose_metrics, connector.metrics_address:connector.metrics_port), plus /healthz.
// Names are <namespace>_<subsystem>_<family> as pycti builds them (connector.metrics_namespace /
// connector.metrics_subsystem, both empty by default). The families are listed in
// connector/health/README.md.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace kfc::health {

class Health;

enum class Metric {
  ObjectsFetched,     // counter{collection}: feed objects read from TAXII
  ObjectsMapped,      // counter: STIX objects produced by the mapping
  ObjectsDelivered,   // counter: STIX objects the sink confirmed
  Pages,              // counter{collection}: TAXII pages read
  Retries,            // counter: TAXII/OpenCTI requests retried
  Errors,             // counter{kind}: token_rejected, token_expired, taxii, sink, mapping, state, run
  Runs,               // counter{outcome}: succeeded, failed, interrupted
  RunDuration,        // gauge: seconds the last run took
  LastSuccess,        // gauge: epoch seconds of the end of the last successful run
  TokenDaysLeft,      // gauge{token}: whole days until a token expires (negative once expired)
  QueueBuffering,     // gauge: 1 while OpenCTI's queue is over connector.queue_threshold
  // The TAXII client's counts (taxii::Client::stats())
  TaxiiRequests,      // counter: HTTP requests sent (retries included)
  TaxiiBytes,         // counter: response bytes received
  TaxiiSkipped,       // counter: malformed objects skipped
  TaxiiDuplicates,    // counter: re-read objects dropped at a resume boundary
  // The mapping's counts (mapping::Mapper::stats())
  MappingProblems,    // counter{kind}: bad input the mapping survived, by kind
  // The sink's counts (sinks::Sink::stats())
  SinkBundles,        // counter: bundles handed to the output
  SinkMessages,       // counter{event}: published, confirmed, nacked, returned, republished
  SinkReconnects,     // counter: RabbitMQ reconnections
  // The enrichment connector
  EnrichmentRequests,     // counter{outcome}: enriched, no_data, refused, requeued, failed
  OpentipRequests,        // counter: HTTP requests sent to OpenTIP
  OpentipQuotaBlocked,    // gauge: 1 while OpenTIP's quota is exhausted
  OpentipQuotaResumes,    // gauge: epoch seconds when OpenTIP requests resume (0: not blocked)
  // Health (see health.h)
  Healthy,                // gauge: 1 while /healthz answers 200
  PlatformLastAnswer,     // gauge: epoch seconds of OpenCTI's last answer
  // pycti's own families (OpenCTIMetricHandler), so dashboards made for pycti connectors work
  PyctiBundlesSent,       // counter: bundles_sent_total
  PyctiRecordsSent,       // counter: records_sent_total
  PyctiRuns,              // counter: runs_total
  PyctiPings,             // counter: ping_api_total
  PyctiPingErrors,        // counter: ping_api_errors_total
  PyctiErrors,            // counter: errors_total
  PyctiState,             // gauge{state}: state (idle, running, stopped), 1 for the current one
  kCount
};

class Metrics {
 public:
  // connector.metrics_namespace / _subsystem: the prefix of every family name (empty parts skipped).
  explicit Metrics(std::string name_space = {}, std::string subsystem = {});

  void add(Metric metric, double amount = 1, std::string_view label = {});
  void set(Metric metric, double value, std::string_view label = {});
  double value(Metric metric, std::string_view label = {}) const;  // 0 when never set
  // pycti's state enum: `state` is 1, the others 0.
  void set_state(std::string_view state);
  // Prometheus text exposition format 0.0.4.
  std::string render() const;
  // The full name of a family (with the namespace and subsystem).
  std::string name(Metric metric) const;

 private:
  std::string prefix_;
  mutable std::mutex mutex_;
  std::map<std::pair<Metric, std::string>, double> values_;
};

// Serves /metrics (when `metrics` is given) and /healthz on a background thread until destroyed.
class MetricsServer {
 public:
  // Binds address:port (port 0: any free port). Throws std::runtime_error naming `port_key` and
  // connector.metrics_address when the bind fails. `metrics` may be null: health only
  // (connector.health_port with expose_metrics off).
  MetricsServer(const Metrics* metrics, const Health& health, const std::string& address, int port,
                std::string_view port_key = "connector.metrics_port");
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfc::health
