#pragma once
// What a run reads and how its objects become STIX objects for OpenCTI. Both feeds go through the
// same run loop (batching, sinks, per-collection cursors, checkpoints, metrics, dry run):
//  - Kaspersky's Threat Data Feeds with the Kaspersky mapping (kaspersky.*; the default), and
//  - any TAXII 2.0/2.1 server, its objects passed through with the settings of OpenCTI's taxii2
//    connector (taxii2.*, active when taxii2.discovery_url is set; see connector/generic).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/config/clock.h"
#include "kfc/config/settings.h"
#include "kfc/taxii/client.h"

namespace kfc::mapping {
class ExistingIds;
}

namespace kfc::runner {

struct FeedCollection {
  taxii::Client* client = nullptr;  // the API root it is read from
  taxii::Collection collection;
  std::string cursor_key;           // its cursor in the connector state
  std::string label;                // in logs, metrics, the summary and the work's message
};

// What a feed counted so far, for the run's metrics: its TAXII clients' totals, and the problems
// its transform survived by kind (label, count; kinds never seen are left out).
struct FeedStats {
  taxii::ReadStats read;
  std::vector<std::pair<std::string_view, std::uint64_t>> problems;
};

class Feed {
 public:
  virtual ~Feed() = default;

  // The OpenCTI work's name: "<work_name> run @ <time>".
  virtual std::string work_name() const = 0;
  // The credentials the TAXII source sends, checked (file-backed ones re-read) before each run.
  virtual std::vector<TokenPtr> source_tokens() const = 0;
  // Where the first read of a collection starts, and the key that sets it (named in log lines).
  virtual std::chrono::seconds initial_history() const = 0;
  virtual std::string initial_history_key() const = 0;

  // The collections to read this run, in order. Throws kfc::TokenError when the credentials are
  // refused; other problems of one API root go to `errors` (its collections are skipped, the
  // others read) or are thrown when nothing can be read at all.
  virtual std::vector<FeedCollection> collections(std::vector<std::string>& errors) = 0;

  // Called at the start of every run.
  virtual void begin_run() = 0;
  // Each feed object as it is read, in place, before it is batched.
  virtual void collect(rapidjson::Value& object, rapidjson::Document::AllocatorType& allocator,
                       const FeedCollection& from) = 0;
  // The feed objects of a batch (an array) become the STIX objects of the batch (an array built in
  // `out`'s allocator; see batching::TransformFn).
  virtual void transform(rapidjson::Document& feed_objects, rapidjson::Document& out) = 0;
  // Before the batch is staged (Kaspersky's description policy).
  virtual void before_staging(rapidjson::Document& objects, mapping::ExistingIds* existing) = 0;
  // A marking object every stage carries (kaspersky.tlp_level), or null.
  virtual const rapidjson::Value* stage_marking() const = 0;
  // References that resolve neither in their bundle nor among the objects delivered earlier in the
  // run: true = kept as they are for OpenCTI to resolve (objects of earlier runs, or already in the
  // platform), false = dropped with what requires them (connector/batching/README.md).
  virtual bool keeps_unresolved_references() const = 0;

  virtual FeedStats stats() const = 0;
};

// Kaspersky's feeds read through `client` (the kaspersky.* settings).
std::unique_ptr<Feed> make_kaspersky_feed(const Settings& settings, taxii::Client& client, const Clock& clock);
// The generic TAXII mode (taxii2.*): discovery, API roots, clients of its own.
std::unique_ptr<Feed> make_generic_feed(const Settings& settings, Clock& clock);

}  // namespace kfc::runner
