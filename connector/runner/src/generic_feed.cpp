// The generic TAXII mode (taxii2.*): every API root the discovery URL lists, collections chosen by
// taxii2.collections, objects passed through (connector/generic).
#include <spdlog/spdlog.h>

#include "kfc/generic/pass_through.h"
#include "kfc/generic/selection.h"
#include "kfc/generic/server.h"
#include "kfc/runner/feed.h"
#include "mapping_problems.h"

namespace kfc::runner {
namespace {

class GenericFeed final : public Feed {
 public:
  GenericFeed(const Settings& settings, Clock& clock)
      : settings_(settings),
        server_(settings.taxii2, clock),
        pass_through_(generic::PassThroughOptions::from(settings.taxii2), clock) {}

  std::string work_name() const override { return settings_.connector.name; }

  std::vector<TokenPtr> source_tokens() const override {
    if (auto secret = settings_.taxii2.active_secret()) return {secret};
    return {};
  }

  std::chrono::seconds initial_history() const override {
    return std::chrono::hours{settings_.taxii2.initial_history_hours};
  }
  std::string initial_history_key() const override { return "taxii2.initial_history"; }

  std::vector<FeedCollection> collections(std::vector<std::string>& errors) override {
    generic::Selection selection = server_.select();
    errors = std::move(selection.errors);
    std::vector<FeedCollection> out;
    for (auto& selected : selection.collections) {
      const std::string root_url = selected.client->api_root_url();
      FeedCollection collection;
      collection.client = selected.client;
      collection.cursor_key = generic::cursor_key(root_url, selected.collection.id);
      collection.label = selected.api_root_name + "." + selected.collection.id;
      collection.collection = std::move(selected.collection);
      out.push_back(std::move(collection));
    }
    return out;
  }

  void begin_run() override {}

  void collect(rapidjson::Value& object, rapidjson::Document::AllocatorType& allocator,
               const FeedCollection& from) override {
    pass_through_.collect(object, allocator, from.client->version() == taxii::TaxiiVersion::V20);
  }

  void transform(rapidjson::Document& feed_objects, rapidjson::Document& out) override {
    out.SetArray();
    pass_through_.transform(feed_objects, out, out.GetAllocator());
  }

  void before_staging(rapidjson::Document&, mapping::ExistingIds*) override {}

  const rapidjson::Value* stage_marking() const override { return nullptr; }  // the server's markings stay
  // A relationship or report may name an object of an earlier run, or one OpenCTI already holds: sent
  // as it is, as the taxii2 connector does, for the platform to resolve.
  bool keeps_unresolved_references() const override { return true; }

  FeedStats stats() const override {
    return {server_.stats(), problem_counts<generic::Skip>(pass_through_.stats().skips)};
  }

 private:
  const Settings& settings_;
  generic::TaxiiServer server_;
  generic::PassThrough pass_through_;
};

}  // namespace

std::unique_ptr<Feed> make_generic_feed(const Settings& settings, Clock& clock) {
  return std::make_unique<GenericFeed>(settings, clock);
}

}  // namespace kfc::runner
