#pragma once
// One RabbitMQ connection as every AMQP user of the connector opens it — the publishing sink and the
// enrichment listen queue alike: the socket (TLS per mq.use_ssl, amqp_tls.h), the connect and
// handshake timeout, login with the heartbeat, channels, and the reading of the broker's replies
// into errors that name the broker (never the password) and say whether reconnecting may help.
//
//   AmqpConnection connection(mq, {.heartbeat_seconds = 10});
//   connection.open_channel(1);
//   connection.select_confirms(1);
//   connection.opened();                       // blocking calls wait without a limit from here
//   amqp_basic_publish(connection.state(), 1, ...);
#include <amqp.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "kfc/opencti/client.h"

namespace kfc::sinks {

// The connection could not be opened or a broker reply was an error. `retryable()`: reconnecting
// later may help (broker down, connection cut, channel closed); false when the same settings fail
// every time (unusable TLS material, an untrusted certificate, refused credentials).
class AmqpConnectionError : public std::runtime_error {
 public:
  AmqpConnectionError(const std::string& what, bool retryable) : std::runtime_error(what), retryable_(retryable) {}
  bool retryable() const noexcept { return retryable_; }

 private:
  bool retryable_;
};

struct AmqpConnectionOptions {
  int heartbeat_seconds = 10;
  std::chrono::milliseconds connect_timeout{30000};  // TCP, TLS and AMQP handshakes, and each setup call
  // Added to the step in messages, e.g. " on queue listen_x": "RabbitMQ at … (login on queue listen_x)".
  std::string context;
};

class AmqpConnection {
 public:
  // Connects and logs in. Throws AmqpConnectionError.
  AmqpConnection(const opencti::MqConnection& mq, AmqpConnectionOptions options);
  ~AmqpConnection();  // drops the connection (unacked deliveries go back to their queue)
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  amqp_connection_state_t state() const noexcept { return state_; }

  void open_channel(amqp_channel_t channel);
  void select_confirms(amqp_channel_t channel);  // publisher confirms on `channel`
  // The setup is over: from here blocking calls wait as long as they must (heartbeats watch the peer).
  void opened();

  // Throws AmqpConnectionError unless `reply` is normal. `channel_closed_hint` is added when the
  // broker closed the channel (what the user should check).
  void check(const amqp_rpc_reply_t& reply, const std::string& step, const std::string& channel_closed_hint = {}) const;

  // "RabbitMQ at amqp://host:5672/ (step<context>)", for messages.
  std::string where(const std::string& step) const;

  // A polite goodbye on `channel` and the connection, each waiting at most `limit`.
  void close(amqp_channel_t channel, std::chrono::milliseconds limit);

 private:
  void open();

  opencti::MqConnection mq_;
  AmqpConnectionOptions options_;
  amqp_connection_state_t state_;
};

// "amqps://host:5671/vhost" (no credentials).
std::string amqp_endpoint_text(const opencti::MqConnection& mq);

// A duration as rabbitmq-c's timeouts want it.
timeval amqp_timeval(std::chrono::milliseconds duration);

// The bytes of an AMQP field as text (empty for none).
std::string amqp_bytes_text(amqp_bytes_t bytes);

}  // namespace kfc::sinks
