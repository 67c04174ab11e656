#include "kfc/sinks/sink_metrics.h"

namespace kfc::sinks {

void export_stats(const SinkStats& stats, health::Metrics& metrics) {
  using health::Metric;
  const auto set = [&metrics](Metric metric, std::uint64_t value, std::string_view label = {}) {
    metrics.set(metric, static_cast<double>(value), label);
  };
  set(Metric::SinkBundles, stats.bundles);
  set(Metric::SinkMessages, stats.messages, "published");
  set(Metric::SinkMessages, stats.confirmed, "confirmed");
  set(Metric::SinkMessages, stats.nacked, "nacked");
  set(Metric::SinkMessages, stats.returned, "returned");
  set(Metric::SinkMessages, stats.republished, "republished");
  set(Metric::SinkReconnects, stats.reconnects);
  set(Metric::PyctiBundlesSent, stats.bundles);
  set(Metric::PyctiRecordsSent, stats.objects);
}

}  // namespace kfc::sinks
