#include "kfc/health/metrics.h"

#include "kfc/health/health.h"

#include <httplib.h>
#include <spdlog/fmt/fmt.h>

#include <array>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace kfc::health {
namespace {

struct Family {
  std::string_view name;
  std::string_view type;
  std::string_view label;  // empty: no label
  std::string_view help;
};

constexpr std::array<Family, static_cast<std::size_t>(Metric::kCount)> kFamilies{{
    {"kfc_objects_fetched_total", "counter", "collection", "Feed objects read from the TAXII server"},
    {"kfc_objects_mapped_total", "counter", "", "STIX objects produced by the mapping"},
    {"kfc_objects_delivered_total", "counter", "", "STIX objects confirmed by the output"},
    {"kfc_pages_total", "counter", "collection", "TAXII pages read"},
    {"kfc_retries_total", "counter", "", "Requests retried after a transient failure"},
    {"kfc_errors_total", "counter", "kind", "Errors by kind"},
    {"kfc_runs_total", "counter", "outcome", "Runs by outcome"},
    {"kfc_run_duration_seconds", "gauge", "", "Duration of the last run"},
    {"kfc_last_success_timestamp_seconds", "gauge", "", "End of the last successful run (epoch seconds)"},
    {"kfc_token_days_left", "gauge", "token", "Whole days until the token expires (negative once expired)"},
    {"kfc_queue_buffering", "gauge", "", "1 while the OpenCTI queue is over connector.queue_threshold"},
    {"kfc_taxii_requests_total", "counter", "", "HTTP requests sent to the TAXII server (retries included)"},
    {"kfc_taxii_bytes_total", "counter", "", "Response bytes received from the TAXII server"},
    {"kfc_taxii_objects_skipped_total", "counter", "", "Malformed TAXII objects skipped"},
    {"kfc_taxii_duplicates_dropped_total", "counter", "", "Re-read TAXII objects dropped at a resume boundary"},
    {"kfc_mapping_problems_total", "counter", "kind", "Bad input the mapping survived, by kind"},
    {"kfc_sink_bundles_total", "counter", "", "Bundles handed to the output"},
    {"kfc_sink_messages_total", "counter", "event", "Output messages: published, confirmed, nacked, returned, republished"},
    {"kfc_sink_reconnects_total", "counter", "", "RabbitMQ reconnections"},
    {"kfc_enrichment_requests_total", "counter", "outcome", "Enrichment requests by outcome"},
    {"kfc_opentip_requests_total", "counter", "", "HTTP requests sent to OpenTIP"},
    {"kfc_opentip_quota_blocked", "gauge", "", "1 while the OpenTIP quota is exhausted"},
    {"kfc_opentip_quota_resume_timestamp_seconds", "gauge", "", "When OpenTIP requests resume (epoch seconds, 0: not blocked)"},
    {"kfc_healthy", "gauge", "", "1 while /healthz answers 200"},
    {"kfc_platform_last_answer_timestamp_seconds", "gauge", "", "OpenCTI's last answer (epoch seconds)"},
    {"bundles_sent_total", "counter", "", "Number of bundles sent"},
    {"records_sent_total", "counter", "", "Number of records (objects per bundle) sent"},
    {"runs_total", "counter", "", "Number of run"},
    {"ping_api_total", "counter", "", "Number of pings to the API"},
    {"ping_api_errors_total", "counter", "", "Number of errors when pinging the API"},
    {"errors_total", "counter", "", "Number of errors"},
    {"state", "gauge", "state", "State of connector"},
}};

std::string join_name(const std::string& name_space, const std::string& subsystem) {
  std::string prefix;
  for (const auto* part : {&name_space, &subsystem}) {
    if (!part->empty()) prefix += *part + "_";
  }
  return prefix;
}

const Family& family(Metric metric) { return kFamilies[static_cast<std::size_t>(metric)]; }

std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double value) {
  if (std::floor(value) == value && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);
}

}  // namespace

Metrics::Metrics(std::string name_space, std::string subsystem) : prefix_(join_name(name_space, subsystem)) {}

std::string Metrics::name(Metric metric) const { return prefix_ + std::string(family(metric).name); }

void Metrics::set_state(std::string_view state) {
  std::lock_guard lock(mutex_);
  for (std::string_view each : {"idle", "running", "stopped"}) {
    values_[{Metric::PyctiState, std::string(each)}] = each == state ? 1 : 0;
  }
}

void Metrics::add(Metric metric, double amount, std::string_view label) {
  std::lock_guard lock(mutex_);
  values_[{metric, std::string(label)}] += amount;
}

void Metrics::set(Metric metric, double value, std::string_view label) {
  std::lock_guard lock(mutex_);
  values_[{metric, std::string(label)}] = value;
}

double Metrics::value(Metric metric, std::string_view label) const {
  std::lock_guard lock(mutex_);
  const auto found = values_.find({metric, std::string(label)});
  return found == values_.end() ? 0 : found->second;
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (std::size_t i = 0; i < kFamilies.size(); ++i) {
    const auto metric = static_cast<Metric>(i);
    const Family& f = family(metric);
    const std::string full = prefix_ + std::string(f.name);
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", full, f.help, full, f.type);
    bool any = false;
    for (auto it = values_.lower_bound({metric, ""}); it != values_.end() && it->first.first == metric; ++it) {
      any = true;
      if (f.label.empty() || it->first.second.empty()) {
        out += fmt::format("{} {}\n", full, number(it->second));
      } else {
        out += fmt::format("{}{{{}=\"{}\"}} {}\n", full, f.label, escape_label(it->first.second), number(it->second));
      }
    }
    if (!any && f.label.empty()) out += fmt::format("{} 0\n", full);
  }
  return out;
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> finished{false};
};

MetricsServer::MetricsServer(const Metrics* metrics, const Health& health, const std::string& address, int port,
                             std::string_view port_key)
    : impl_(std::make_unique<Impl>()) {
  if (metrics) {
    impl_->server.Get("/metrics", [metrics, &health](const httplib::Request&, httplib::Response& response) {
      health.verdict();  // refreshes the health gauge
      response.set_content(metrics->render(), "text/plain; version=0.0.4; charset=utf-8");
    });
  }
  // 200 while healthy, 503 with the reasons otherwise (health.h says what healthy means).
  impl_->server.Get("/healthz", [&health](const httplib::Request&, httplib::Response& response) {
    const Verdict verdict = health.verdict();
    response.status = verdict.healthy ? 200 : 503;
    response.set_content(verdict.json + "\n", "application/json");
  });
  // httplib's default also sets SO_REUSEPORT, which would let a second process share the port
  // silently; a metrics port in use must be an error.
  impl_->server.set_socket_options([](int socket) {
    int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  impl_->port = port == 0 ? impl_->server.bind_to_any_port(address) : (impl_->server.bind_to_port(address, port) ? port : -1);
  if (impl_->port <= 0) {
    throw std::runtime_error(fmt::format(
        "cannot serve {} on {}:{} — choose a free port ({}) or another address (connector.metrics_address){}",
        metrics ? "metrics" : "health", address, port, port_key,
        metrics ? ", or set connector.expose_metrics to false" : ", or set connector.health_port to 0"));
  }
  impl_->thread = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->finished = true;
  });
  // stop() only works on a running server: wait for the thread to get there.
  while (!impl_->server.is_running() && !impl_->finished) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MetricsServer::~MetricsServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int MetricsServer::port() const { return impl_->port; }

}  // namespace kfc::health
