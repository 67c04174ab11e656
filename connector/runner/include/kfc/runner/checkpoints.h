#pragma once
// Which cursors may move, given what the sink confirmed. Feed objects are numbered as they are
// read (1, 2, ...); a page ends at some number and carries its resume point; a batch carries the
// feed objects up to some number and is confirmed once the sink confirmed its last ticket. A page's
// resume point may be stored once every feed object up to the page's end is in confirmed batches —
// so a crash at any instant re-reads at most the unconfirmed pages, and loses nothing.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "kfc/config/clock.h"

namespace kfc::runner {

class Checkpoints {
 public:
  // A page was read: feed objects up to `last_object` (cumulative) belong to pages up to this one.
  void page_read(const std::string& collection_id, std::uint64_t last_object, std::optional<SystemTime> resume_after);
  // A batch carrying the feed objects up to `last_object` was handed to the sink; its last bundle
  // got `ticket` (an empty batch: no ticket, it is confirmed with the previous one).
  void batch_sent(std::uint64_t last_object, std::optional<std::uint64_t> ticket);
  // The sink confirmed every ticket <= `ticket`: returns the resume points that may now be stored,
  // latest per collection (empty when nothing new).
  std::map<std::string, SystemTime> confirm(std::uint64_t ticket);
  // Feed objects whose output the sink confirmed.
  std::uint64_t confirmed_objects() const { return confirmed_objects_; }
  // Forget everything in flight (after a delivery error nothing unconfirmed counts).
  void drop_unconfirmed();

 private:
  struct PendingPage {
    std::string collection_id;
    std::uint64_t last_object;
    std::optional<SystemTime> resume_after;
  };
  struct PendingBatch {
    std::uint64_t last_object;
    std::uint64_t ticket;
  };
  std::deque<PendingPage> pages_;
  std::deque<PendingBatch> batches_;
  std::uint64_t sent_objects_ = 0;       // feed objects in batches handed over (no ticket pending)
  std::uint64_t confirmed_objects_ = 0;
  std::uint64_t last_ticket_ = 0;
};

}  // namespace kfc::runner
