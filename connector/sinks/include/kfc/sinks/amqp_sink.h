#pragma once
// OpenCTI over RabbitMQ, as pycti publishes (connector/sinks/README.md): split per object (or one
// whole-bundle message), addExpectations before publishing, basic.publish to push_exchange /
// push_routing with delivery_mode 2 and content_encoding utf-8, heartbeat 10 s, TLS per MQ_USE_SSL_*.
//
// The pipeline stays full: send() splits and queues a bundle's messages and returns; an I/O thread
// owns the connection, publishes every dependency rank back to back on one channel (the broker keeps
// their order), reads confirms as they come, and answers heartbeats while the run loop reads or maps
// (a slow TAXII page never costs the connection). A bundle's ticket is confirmed once its messages
// and those of every earlier bundle are acked. A nacked or returned (unroutable) message is published
// again after `retry_delay`, followed by every later message of a higher rank that had gone out
// (which includes whatever depends on it), in their original order (kfc/sinks/publish_ledger.h); a
// lost connection (broker restart, network cut, heartbeat timeout, channel error) reconnects with
// backoff and does the same for what was unconfirmed. send() and send_all() wait for room within
// max_retained, never for OpenCTI: an announcer thread takes every group (send or send_all call)
// waiting and announces their messages in one addExpectations call, and none of a group's messages
// is published before that call has returned; a failed call fails the run. send/flush throw
// DeliveryError — and then nothing unconfirmed counts as delivered — when reconnecting fails
// `max_reconnect_attempts` times in a row, when the broker keeps refusing/returning for
// `max_republish_rounds` rounds without confirming anything, or when `should_stop` says the process
// is stopping while the sink waits or retries.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kfc/config/clock.h"
#include "kfc/opencti/client.h"
#include "kfc/sinks/sink.h"

namespace kfc::sinks {

enum class AmqpMessageMode {
  PerObject,    // one object per message, pycti's splitter (every worker version accepts it)
  WholeBundle,  // one message per bundle; newer workers split it themselves
};

struct AmqpSinkOptions {
  opencti::MqConnection connection;     // registration's connection with mq.* overrides
  std::string exchange;                 // registration push_exchange
  std::string routing_key;              // registration push_routing
  std::string applicant_id;             // registration connector_user_id
  std::optional<std::string> draft_id = std::nullopt;  // the OpenCTI draft an enrichment request came from
  AmqpMessageMode mode = AmqpMessageMode::PerObject;
  int heartbeat_seconds = 10;
  std::size_t window = 1000;            // unconfirmed messages in flight at most
  std::size_t max_retained = 2500;      // messages of unconfirmed bundles held for republishing: send()
                                        // returns once room for another group like its own is left
                                        // (a bigger group alone is still taken)
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds confirm_timeout{120000};  // broker silent that long with messages in flight: reconnect
  std::chrono::milliseconds retry_delay{1000};        // before republishing a nacked/returned message
  std::chrono::milliseconds reconnect_initial{1000};  // backoff doubles up to reconnect_max
  std::chrono::milliseconds reconnect_max{30000};
  int max_reconnect_attempts = 10;
  int max_republish_rounds = 300;                     // nack/return rounds without any confirm (~5 min at 1 s)
  std::function<bool()> should_stop;                 // a stop request ends waiting and retrying (DeliveryError)
};

// Called with (work id, number of messages) before those messages are published, from the sink's
// announcer thread (give it an OpenCTI client of its own).
using AddExpectations = std::function<void(const std::string& work_id, int expectations)>;

std::unique_ptr<Sink> make_amqp_sink(AmqpSinkOptions options, AddExpectations add_expectations, Clock& clock);

}  // namespace kfc::sinks
