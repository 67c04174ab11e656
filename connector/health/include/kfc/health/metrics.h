#pragma once
// Operational figures of the connector, rendered in the Prometheus text format on /metrics
// (connector.expose_metrics, connector.metrics_address:connector.metrics_port), plus /healthz.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace kfc::runner {

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
  kCount
};

class Metrics {
 public:
  void add(Metric metric, double amount = 1, std::string_view label = {});
  void set(Metric metric, double value, std::string_view label = {});
  double value(Metric metric, std::string_view label = {}) const;  // 0 when never set
  // Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<Metric, std::string>, double> values_;
};

// Serves /metrics and /healthz on a background thread until destroyed.
class MetricsServer {
 public:
  // Binds address:port (port 0: any free port). Throws std::runtime_error naming
  // connector.metrics_address / connector.metrics_port when the bind fails.
  MetricsServer(const Metrics& metrics, const std::string& address, int port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfc::runner
