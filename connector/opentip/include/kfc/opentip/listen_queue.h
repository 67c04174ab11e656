#pragma once
// The connector's listen queue on RabbitMQ, consumed as pycti's ListenQueue does (basic.consume,
// prefetch 1, heartbeat 10 s), except that acknowledgement is the caller's: a request is acked only
// once its result is pushed or it is definitively refused, so a crash leaves it on the queue.
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
  bool redelivered = false;
};

class ListenQueue {
 public:
  // Connects (registration's connection with mq.* overrides) and starts consuming `queue`.
  // Throws ListenQueueError (never with credentials in the text).
  ListenQueue(const opencti::MqConnection& connection, std::string queue, int heartbeat_seconds = 10);
  ~ListenQueue();  // closes the connection: unacked deliveries go back to the queue
  ListenQueue(const ListenQueue&) = delete;
  ListenQueue& operator=(const ListenQueue&) = delete;

  // The next request, or nullopt when none arrived within `timeout`. Throws ListenQueueError.
  std::optional<Delivery> next(std::chrono::milliseconds timeout);
  // Services the connection without waiting (sends and checks heartbeats) while a request is being
  // handled on another thread: a long request must not look like a dead consumer to the broker, which
  // would close the connection and hand the request out again. Throws ListenQueueError when the
  // broker closed the connection or cancelled the consumer.
  void keep_alive();
  void ack(std::uint64_t delivery_tag);
  // Puts the request back at the head of the queue (basic.nack requeue=true).
  void requeue(std::uint64_t delivery_tag);

  std::string describe() const;  // "queue listen_<id> on amqp://host:5672/" (no credentials)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kfc::opentip
