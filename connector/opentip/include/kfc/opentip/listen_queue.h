#pragma once
// The connector's listen queue on RabbitMQ, read one request at a time (heartbeat 10 s, as pycti),
// with acknowledgement left to the caller: a request is acked only once its result is pushed or it is
// definitively refused, so a crash leaves it on the queue. Requests are fetched with basic.get rather
// than pushed by a consumer with a prefetch: nothing is ever delivered to this process before it asks,
// so the broker's redelivered flag means exactly "this process had it and never finished it" — which
// is what the attempt count below relies on (a prefetched request dropped at a disconnect would come
// back flagged without ever having been tried).
//
// A request to be tried again is never put back at the head of the queue (where it would block every
// request behind it): a copy goes to the back, carrying in its headers how many attempts it has
// already cost and why the last one failed, and then the original is acked (README.md,
// "Poison requests").
//
//   ListenQueue queue(registration.mq, registration.listen);
//   while (auto request = queue.next(1s)) { ...; queue.ack(request->delivery_tag); }
//
// Not thread-safe: one thread owns the queue (the handling of a request may run on another).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "kfc/opencti/client.h"

namespace kfc::opentip {

// The broker could not be reached or dropped the connection; reconnecting later may help.
class ListenQueueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Delivery {
  std::uint64_t delivery_tag = 0;
  std::string body;
  bool redelivered = false;   // the broker's flag: an earlier delivery of this copy was never acked
  int attempts = 0;           // attempts recorded on this copy (its x-kfc-enrichment-attempts header)
  std::string last_failure;   // why the last recorded attempt failed (x-kfc-enrichment-last-failure)
  std::string content_type;   // kept on the copies
  std::string content_encoding;

  // Attempts this request has cost so far: the recorded ones, plus one when a delivery of this very
  // copy was in flight when the process or its connection died.
  int earlier_attempts() const { return attempts + (redelivered ? 1 : 0); }
};

class ListenQueue {
 public:
  // Connects (registration's connection with mq.* overrides) to read `queue`. Copies
  // are published to `exchange` with `routing_key` (the platform's listen exchange and routing);
  // without an exchange, through the default exchange to the queue by name.
  // Throws ListenQueueError (never with credentials in the text).
  ListenQueue(const opencti::MqConnection& connection, std::string queue, int heartbeat_seconds = 10,
              std::string exchange = {}, std::string routing_key = {});
  ~ListenQueue();  // closes the connection: unacked deliveries go back to the queue
  ListenQueue(const ListenQueue&) = delete;
  ListenQueue& operator=(const ListenQueue&) = delete;

  // The next request, or nullopt when none arrived within `timeout` (the queue is asked every
  // kPollStep meanwhile). Throws ListenQueueError.
  static constexpr std::chrono::milliseconds kPollStep{250};
  std::optional<Delivery> next(std::chrono::milliseconds timeout);
  // Services the connection without waiting (sends and checks heartbeats) while a request is being
  // handled on another thread: a long request must not look like a dead consumer to the broker, which
  // would close the connection and hand the request out again. Throws ListenQueueError when the
  // broker closed the connection or cancelled the consumer.
  void keep_alive();
  void ack(std::uint64_t delivery_tag);
  // Puts the request back at the head of the queue (basic.nack requeue=true): only when a copy
  // cannot be published.
  void requeue(std::uint64_t delivery_tag);
  // Publishes a copy of the request at the back of the queue with `attempts` and `failure` in its
  // headers, waits for the broker's confirm, then acks the delivery. Throws ListenQueueError when
  // the copy was not confirmed (then nothing was acked: the broker still holds the original).
  void requeue_at_back(const Delivery& delivery, int attempts, const std::string& failure);

  std::string describe() const;  // "queue listen_<id> on amqp://host:5672/" (no credentials)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfc::opentip
