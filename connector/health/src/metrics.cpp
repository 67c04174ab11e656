#include "kfc/runner/metrics.h"

#include <httplib.h>
#include <spdlog/fmt/fmt.h>

#include <array>
#include <cmath>
#include <stdexcept>
#include <thread>

namespace kfc::runner {
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
}};

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
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    bool any = false;
    for (auto it = values_.lower_bound({metric, ""}); it != values_.end() && it->first.first == metric; ++it) {
      any = true;
      if (f.label.empty() || it->first.second.empty()) {
        out += fmt::format("{} {}\n", f.name, number(it->second));
      } else {
        out += fmt::format("{}{{{}=\"{}\"}} {}\n", f.name, f.label, escape_label(it->first.second), number(it->second));
      }
    }
    if (!any && f.label.empty()) out += fmt::format("{} 0\n", f.name);
  }
  return out;
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> finished{false};
};

MetricsServer::MetricsServer(const Metrics& metrics, const std::string& address, int port)
    : impl_(std::make_unique<Impl>()) {
  impl_->server.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  // Alive while the process runs (a feed or platform outage is not a reason to restart it); the
  // body says how the runs went, for people and probes that want more.
  impl_->server.Get("/healthz", [&metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(
        fmt::format(R"({{"status":"ok","runs_succeeded":{},"runs_failed":{},"last_success_timestamp":{}}})",
                    number(metrics.value(Metric::Runs, "succeeded")), number(metrics.value(Metric::Runs, "failed")),
                    number(metrics.value(Metric::LastSuccess))) + "\n",
        "application/json");
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
        "cannot serve metrics on {}:{} — choose a free port (connector.metrics_port) or another address "
        "(connector.metrics_address), or set connector.expose_metrics to false", address, port));
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

}  // namespace kfc::runner
