#pragma once
// The bookkeeping of a publisher that keeps its pipeline full without breaking dependency order
// (used by the AMQP sink's I/O thread; no I/O here, so every rule is tested without a broker).
//
// Every message has a dependency rank (its bundle's ticket, then its nb_deps inside the bundle) and
// ranks never decrease in the order messages are added. A message may depend only on messages of a
// lower rank. Messages are published back to back, all ranks at once, on one channel: the broker keeps
// their order. When the broker refuses one (nack, or an unroutable return) or the connection is lost
// before its confirm, that message is published again — and so is every message of a higher rank that
// already went out (confirmed or not), because it may depend on the refused one and would otherwise
// reach OpenCTI before it. They go out again in their original order, before anything new.
//
// A ticket is confirmed once every message of it and of every earlier ticket is confirmed; only then
// can no later refusal touch it, and its messages are dropped. A refusal only ever reaches messages
// after the refused one, so a message confirmed with everything before it can never go out again:
// its body is released at once (the entry stays until its ticket is confirmed, for the counts).
//
// Bodies are opaque here: the caller may store a compact form and make the bytes it sends from it
// (the AMQP sink stores the bundle and wraps it in the queue envelope when it publishes); a message's
// position in its ticket (0, 1, …) is there to help with that.
#include <cstdint>
#include <functional>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kfc::sinks {

using DeliveryTag = std::uint64_t;

struct LedgerCounts {
  std::uint64_t confirmed = 0;    // messages confirmed
  std::uint64_t republished = 0;  // messages queued again (refused, or dependent on a refused one)
  std::uint64_t nacked = 0;
  std::uint64_t returned = 0;
};

class PublishLedger {
 public:
  // Opens the next ticket (1, 2, …) with its messages, in publication order (nb_deps ascending).
  // A ticket without messages is confirmed as soon as the tickets before it are.
  struct NewMessage {
    int nb_deps = 0;
    std::string body;
  };
  std::uint64_t add_ticket(std::vector<NewMessage> messages);

  // The next message to publish (again-published ones first, oldest first); nullptr when none.
  const std::string* next_body() const;
  // That message's position in its ticket (0 for the first). Precondition: next_body() != nullptr.
  std::size_t next_position() const;
  // The message next_body() returned went out with this delivery tag.
  void published(DeliveryTag tag);

  void ack(DeliveryTag tag, bool multiple);
  void nack(DeliveryTag tag, bool multiple);
  // basic.return: the message with this body, among those in flight (lowest tag first), was not
  // routed; its coming ack means "not delivered".
  void returned(std::string_view body);
  // The same, for stored bodies that are not the bytes sent: `is_returned(body, position)` says
  // whether the message stored as `body` at `position` in its ticket is the one that came back.
  using ReturnedMatch = std::function<bool(const std::string& body, std::size_t position)>;
  void returned(const ReturnedMatch& is_returned);
  // Everything in flight may be lost: publish it again. Delivery tags restart at 1.
  void connection_lost();

  std::uint64_t confirmed_ticket() const { return first_open_ticket_ - 1; }
  std::uint64_t last_ticket() const { return first_open_ticket_ - 1 + open_tickets_.size(); }
  std::size_t in_flight() const { return in_flight_; }
  std::size_t waiting() const;            // queued for (re)publication
  std::size_t retained() const { return entries_.size(); }  // messages of unconfirmed tickets
  std::size_t retained_bytes() const { return retained_bytes_; }  // their bodies still held
  const LedgerCounts& counts() const { return counts_; }
  bool idle() const { return entries_.empty(); }

 private:
  enum class State : std::uint8_t { Queued, InFlight, Confirmed };
  struct Entry {
    std::uint64_t ticket;
    int nb_deps;
    State state = State::Queued;
    DeliveryTag tag = 0;  // while in flight
    std::string body;
  };
  struct Flight {
    DeliveryTag tag;
    std::uint64_t serial;
    bool returned = false;
    bool done = false;  // acked or nacked alone, before an earlier tag: skipped, dropped once at the front
  };

  struct OpenTicket {
    std::size_t unconfirmed;    // messages not confirmed
    std::uint64_t first_serial; // its first message
  };

  Entry* entry(std::uint64_t serial);
  std::size_t position(std::uint64_t serial) const;
  bool same_rank(const Entry& a, const Entry& b) const { return a.ticket == b.ticket && a.nb_deps == b.nb_deps; }
  // `serial` is refused: it and every later message of a higher rank that went out are queued again.
  void refuse(std::uint64_t serial);
  void requeue(std::uint64_t serial);
  void add_flight(DeliveryTag tag, Flight flight);
  // The flights an ack or nack of `tag` answers (all up to it with `multiple`), removed from
  // flights_; the list is reused by the next call.
  const std::vector<Flight>& take_flights(DeliveryTag tag, bool multiple);
  bool is_current(DeliveryTag tag, const Flight& flight);
  void advance_confirmed();
  void release_confirmed_bodies();

  std::deque<Entry> entries_;                 // serials first_serial_, first_serial_ + 1, …
  std::uint64_t first_serial_ = 1;
  std::uint64_t fresh_ = 1;                   // first serial never published
  std::set<std::uint64_t> again_;             // serials queued for another publication
  std::deque<Flight> flights_;                // tags not yet acked/nacked, ascending (some may be stale);
                                              // a deque, not a map: a node per message cost more
                                              // than the rest of the bookkeeping
  std::vector<Flight> taken_;                 // take_flights' answer, reused
  std::size_t in_flight_ = 0;
  std::deque<OpenTicket> open_tickets_;
  std::uint64_t first_open_ticket_ = 1;
  std::uint64_t first_unconfirmed_ = 1;       // every serial before it is confirmed (body released)
  std::size_t retained_bytes_ = 0;
  LedgerCounts counts_;
};

}  // namespace kfc::sinks
