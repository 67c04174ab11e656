#include "kfc/runner/checkpoints.h"

#include <algorithm>

namespace kfc::runner {

void Checkpoints::page_read(const std::string& collection_id, std::uint64_t last_object,
                            std::optional<SystemTime> resume_after) {
  pages_.push_back({collection_id, last_object, resume_after});
}

void Checkpoints::batch_sent(std::uint64_t last_object, std::optional<std::uint64_t> ticket) {
  if (ticket) last_ticket_ = *ticket;
  // A batch without bundles rides on the previous ticket (or is confirmed at once when there is none).
  if (last_ticket_ == 0) {
    sent_objects_ = std::max(sent_objects_, last_object);
    confirmed_objects_ = std::max(confirmed_objects_, last_object);
    return;
  }
  batches_.push_back({last_object, last_ticket_});
}

std::map<std::string, SystemTime> Checkpoints::confirm(std::uint64_t ticket) {
  while (!batches_.empty() && batches_.front().ticket <= ticket) {
    confirmed_objects_ = std::max(confirmed_objects_, batches_.front().last_object);
    batches_.pop_front();
  }
  std::map<std::string, SystemTime> movable;
  while (!pages_.empty() && pages_.front().last_object <= confirmed_objects_) {
    if (pages_.front().resume_after) movable[pages_.front().collection_id] = *pages_.front().resume_after;
    pages_.pop_front();
  }
  return movable;
}

void Checkpoints::drop_unconfirmed() {
  pages_.clear();
  batches_.clear();
}

}  // namespace kfc::runner
