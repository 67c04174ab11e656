#include "kfc/sinks/publish_ledger.h"

#include <algorithm>

namespace kfc::sinks {

std::uint64_t PublishLedger::add_ticket(std::vector<NewMessage> messages) {
  const std::uint64_t ticket = last_ticket() + 1;
  open_tickets_.push_back(OpenTicket{messages.size(), first_serial_ + entries_.size()});
  for (auto& message : messages) {
    retained_bytes_ += message.body.size();
    entries_.push_back(Entry{ticket, message.nb_deps, State::Queued, 0, std::move(message.body)});
  }
  advance_confirmed();  // an empty ticket right after confirmed ones
  return ticket;
}

PublishLedger::Entry* PublishLedger::entry(std::uint64_t serial) {
  if (serial < first_serial_ || serial - first_serial_ >= entries_.size()) return nullptr;
  return &entries_[serial - first_serial_];
}

std::size_t PublishLedger::waiting() const {
  return again_.size() + (first_serial_ + entries_.size() - fresh_);
}

const std::string* PublishLedger::next_body() const {
  const std::uint64_t serial = again_.empty() ? fresh_ : *again_.begin();
  if (serial - first_serial_ >= entries_.size()) return nullptr;
  return &entries_[serial - first_serial_].body;
}

std::size_t PublishLedger::position(std::uint64_t serial) const {
  const Entry& e = entries_[serial - first_serial_];
  return serial - open_tickets_[e.ticket - first_open_ticket_].first_serial;
}

std::size_t PublishLedger::next_position() const { return position(again_.empty() ? fresh_ : *again_.begin()); }

void PublishLedger::published(DeliveryTag tag) {
  std::uint64_t serial;
  if (!again_.empty()) {
    serial = *again_.begin();
    again_.erase(again_.begin());
  } else {
    serial = fresh_++;
  }
  Entry& e = *entry(serial);
  e.state = State::InFlight;
  e.tag = tag;
  add_flight(tag, Flight{tag, serial});
  ++in_flight_;
}

// Tags grow with each publication on a connection (the broker numbers them so), so a flight is
// appended; an older or repeated tag, which the broker never sends, is still placed by its tag.
void PublishLedger::add_flight(DeliveryTag tag, Flight flight) {
  if (flights_.empty() || flights_.back().tag < tag) {
    flights_.push_back(flight);
    return;
  }
  auto at = std::lower_bound(flights_.begin(), flights_.end(), tag,
                             [](const Flight& f, DeliveryTag t) { return f.tag < t; });
  if (at != flights_.end() && at->tag == tag) {
    *at = flight;  // the same tag again: the later publication replaces the earlier
  } else {
    flights_.insert(at, flight);
  }
}

// A tag whose message was queued again since (or dropped) is stale: its ack or nack changes nothing.
bool PublishLedger::is_current(DeliveryTag tag, const Flight& flight) {
  const Entry* e = entry(flight.serial);
  return e != nullptr && e->state == State::InFlight && e->tag == tag;
}

const std::vector<PublishLedger::Flight>& PublishLedger::take_flights(DeliveryTag tag, bool multiple) {
  taken_.clear();
  if (multiple) {
    for (; !flights_.empty() && flights_.front().tag <= tag; flights_.pop_front()) {
      if (!flights_.front().done) taken_.push_back(flights_.front());
    }
  } else {
    auto at = std::lower_bound(flights_.begin(), flights_.end(), tag,
                               [](const Flight& f, DeliveryTag t) { return f.tag < t; });
    if (at == flights_.end() || at->tag != tag || at->done) return taken_;
    taken_.push_back(*at);
    at->done = true;  // answered out of order: left in place until the ones before it are answered
  }
  while (!flights_.empty() && flights_.front().done) flights_.pop_front();
  return taken_;
}

void PublishLedger::ack(DeliveryTag tag, bool multiple) {
  for (const Flight& flight : take_flights(tag, multiple)) {
    if (!is_current(flight.tag, flight)) continue;
    if (flight.returned) {  // acked after an unroutable return: not delivered
      refuse(flight.serial);
      continue;
    }
    Entry& e = *entry(flight.serial);
    e.state = State::Confirmed;
    --in_flight_;
    --open_tickets_[e.ticket - first_open_ticket_].unconfirmed;
    ++counts_.confirmed;
  }
  release_confirmed_bodies();
  advance_confirmed();
}

void PublishLedger::nack(DeliveryTag tag, bool multiple) {
  for (const Flight& flight : take_flights(tag, multiple)) {
    if (!is_current(flight.tag, flight)) continue;
    ++counts_.nacked;
    refuse(flight.serial);
  }
}

void PublishLedger::returned(std::string_view body) {
  returned([body](const std::string& stored, std::size_t) { return stored == body; });
}

void PublishLedger::returned(const ReturnedMatch& is_returned) {
  ++counts_.returned;
  for (auto& flight : flights_) {
    if (flight.done || flight.returned) continue;
    const Entry* e = entry(flight.serial);
    if (e != nullptr && is_returned(e->body, position(flight.serial))) {
      flight.returned = true;
      return;
    }
  }
  // Not found (cannot happen with a broker that returns what it was given): to be safe, every
  // message in flight counts as returned.
  for (auto& flight : flights_) flight.returned = true;
}

void PublishLedger::connection_lost() {
  std::vector<std::uint64_t> lost;
  for (const auto& flight : flights_) {
    if (!flight.done && is_current(flight.tag, flight)) lost.push_back(flight.serial);
  }
  flights_.clear();
  for (std::uint64_t serial : lost) {
    if (entry(serial)->state == State::InFlight) refuse(serial);
  }
}

void PublishLedger::requeue(std::uint64_t serial) {
  Entry& e = *entry(serial);
  if (e.state == State::Queued) return;
  if (e.state == State::InFlight) --in_flight_;
  if (e.state == State::Confirmed) ++open_tickets_[e.ticket - first_open_ticket_].unconfirmed;
  e.state = State::Queued;
  again_.insert(serial);
  ++counts_.republished;
}

void PublishLedger::refuse(std::uint64_t serial) {
  requeue(serial);
  const Entry& refused = *entry(serial);
  // Ranks never decrease with the serial: skip the refused message's own rank (independent of it),
  // then everything that went out after it may depend on it.
  std::uint64_t next = serial + 1;
  while (const Entry* e = entry(next)) {
    if (!same_rank(*e, refused)) break;
    ++next;
  }
  for (; next < fresh_; ++next) requeue(next);
}

// Only a message after a refused one is queued again, and a refused one is in flight: a message
// confirmed together with every message before it is never published again.
void PublishLedger::release_confirmed_bodies() {
  if (first_unconfirmed_ < first_serial_) first_unconfirmed_ = first_serial_;
  while (Entry* e = entry(first_unconfirmed_)) {
    if (e->state != State::Confirmed) break;
    retained_bytes_ -= e->body.size();
    std::string().swap(e->body);
    ++first_unconfirmed_;
  }
}

void PublishLedger::advance_confirmed() {
  while (!open_tickets_.empty() && open_tickets_.front().unconfirmed == 0) {
    while (!entries_.empty() && entries_.front().ticket == first_open_ticket_) {
      retained_bytes_ -= entries_.front().body.size();
      entries_.pop_front();
      ++first_serial_;
    }
    open_tickets_.pop_front();
    ++first_open_ticket_;
  }
  if (fresh_ < first_serial_) fresh_ = first_serial_;
  if (first_unconfirmed_ < first_serial_) first_unconfirmed_ = first_serial_;
}

}  // namespace kfc::sinks
