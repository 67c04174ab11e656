#pragma once
// Where bundles go. One interface for OpenCTI over AMQP or GraphQL, a directory and stdout.
//
// Deliveries are pipelined: send() hands a bundle over and may return before the destination has
// confirmed it; each bundle gets a ticket (1, 2, 3, ... over the sink's life). The run loop moves its
// cursor only past tickets <= confirmed(), or calls flush(), which blocks until everything sent so far
// is confirmed. Delivery is at least once: a bundle is never counted confirmed before the destination
// has it (broker confirm, HTTP 200, file renamed after fsync); after a DeliveryError nothing unconfirmed
// may be assumed delivered.
//
//   sink->begin_run({.work_id = work, .update = settings.connector.update_existing_data});
//   auto ticket = sink->send_all(batch.stages);   // or send(stage) for each stage
//   sink->flush();            // throws DeliveryError: the run fails, the state is not written
//   sink->end_run();
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "kfc/stix/bundle.h"

namespace kfc::sinks {

struct RunContext {
  std::optional<std::string> work_id;  // OpenCTI work of the run (messages carry it, expectations go to it)
  bool update = false;                 // connector.update_existing_data
};

// The destination did not take the data; the text says what the user must check (key names, no secrets).
class DeliveryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Ticket = std::uint64_t;

struct SinkStats {
  std::uint64_t bundles = 0;      // bundles handed to send()
  std::uint64_t objects = 0;      // objects in them
  std::uint64_t messages = 0;     // units written (AMQP messages, files, lines, pushes), first attempts
  std::uint64_t confirmed = 0;    // of those, confirmed
  std::uint64_t republished = 0;  // AMQP messages published again (nack, return, lost connection,
                                  // or a later message that may depend on one of those)
  std::uint64_t nacked = 0;       // AMQP messages the broker refused (basic.nack)
  std::uint64_t returned = 0;     // AMQP messages the broker returned as unroutable
  std::uint64_t reconnects = 0;
  std::uint64_t in_flight = 0;    // now: messages published and not yet confirmed
  std::uint64_t announcements = 0;  // OpenCTI addExpectations calls made

  SinkStats& operator+=(const SinkStats& other);
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Starts a run: the work id and update flag apply to every bundle sent until end_run().
  virtual void begin_run(const RunContext& context) = 0;
  // Hands one bundle over (objects in dependency order) and returns its ticket. May block when the
  // sink's window of unconfirmed data is full. Throws DeliveryError.
  virtual Ticket send(const stix::Bundle& bundle) = 0;
  // Hands over several bundles that belong together (the dependency stages of one batch, in order),
  // skipping empty ones; returns the ticket of the last bundle sent (nullopt when all were empty).
  // Sinks that announce their work to OpenCTI do it once for the whole group.
  virtual std::optional<Ticket> send_all(std::span<const stix::Bundle> bundles) {
    std::optional<Ticket> last;
    for (const auto& bundle : bundles) {
      if (bundle.size() > 0) last = send(bundle);
    }
    return last;
  }
  // Every bundle with a ticket <= this value is confirmed by the destination.
  virtual Ticket confirmed() const = 0;
  // Blocks until every bundle sent so far is confirmed. Throws DeliveryError.
  virtual void flush() = 0;
  // Flushes, then releases what the run held (connections). Safe to call after a DeliveryError.
  virtual void end_run() = 0;
  virtual SinkStats stats() const = 0;
  // e.g. "RabbitMQ amqp://127.0.0.1:5672/ exchange amqp.worker.exchange" (never credentials).
  virtual std::string describe() const = 0;
};

}  // namespace kfc::sinks
