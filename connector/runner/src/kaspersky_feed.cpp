// Kaspersky's Threat Data Feeds: one API root, collections chosen by kaspersky.collections, each
// feed object expanded by the Kaspersky mapping (connector/mapping).
#include <spdlog/spdlog.h>

#include "kfc/mapping/mapper.h"
#include "kfc/runner/feed.h"
#include "kfc/taxii/selection.h"
#include "mapping_problems.h"

namespace kfc::runner {
namespace {

class KasperskyFeed final : public Feed {
 public:
  KasperskyFeed(const Settings& settings, taxii::Client& client, const Clock& clock)
      : settings_(settings), client_(client), mapper_(mapping::MappingOptions::from(settings), clock) {}

  std::string work_name() const override { return "Kaspersky Feeds"; }
  std::vector<TokenPtr> source_tokens() const override { return {settings_.kaspersky.api_token}; }
  std::chrono::seconds initial_history() const override { return settings_.kaspersky.initial_history; }
  std::string initial_history_key() const override { return "kaspersky.initial_history"; }

  std::vector<FeedCollection> collections(std::vector<std::string>&) override {
    std::vector<FeedCollection> selected;
    client_.api_root();
    for (auto& collection : client_.collections()) {
      if (!taxii::is_selected(settings_.kaspersky.collections, collection)) continue;
      if (!collection.can_read) {
        spdlog::info("Collection {} [{}] is not readable, skip it", collection.id, collection.title);
        continue;
      }
      const std::string id = collection.id;
      selected.push_back({&client_, std::move(collection), id, id});
    }
    if (selected.empty()) {
      spdlog::warn("No readable collection matches kaspersky.collections ({} patterns): nothing to read",
                   settings_.kaspersky.collections.size());
    }
    return selected;
  }

  void begin_run() override { mapper_.begin_run(); }

  void collect(rapidjson::Value& object, rapidjson::Document::AllocatorType& allocator,
               const FeedCollection& from) override {
    mapper_.collect(object, allocator, from.collection.title);
  }

  void transform(rapidjson::Document& feed_objects, rapidjson::Document& out) override {
    mapper_.transform(feed_objects, out, out.GetAllocator());
  }

  void before_staging(rapidjson::Document& objects, mapping::ExistingIds* existing) override {
    mapper_.apply_description_policy(objects, existing);
  }

  const rapidjson::Value* stage_marking() const override { return mapper_.tlp_marking(); }
  // Kaspersky's bundles are self-contained: a reference outside the run is the feed's mistake.
  bool keeps_unresolved_references() const override { return false; }

  FeedStats stats() const override {
    return {client_.stats(), problem_counts<mapping::Problem>(mapper_.stats().problems)};
  }

 private:
  const Settings& settings_;
  taxii::Client& client_;
  mapping::Mapper mapper_;  // per process: the author identity keeps its created/modified
};

}  // namespace

std::unique_ptr<Feed> make_kaspersky_feed(const Settings& settings, taxii::Client& client, const Clock& clock) {
  return std::make_unique<KasperskyFeed>(settings, client, clock);
}

}  // namespace kfc::runner
