#include "kfc/sinks/amqp_connection.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "kfc/sinks/amqp_tls.h"

namespace kfc::sinks {

std::string amqp_endpoint_text(const opencti::MqConnection& mq) {
  return std::string(mq.use_ssl ? "amqps://" : "amqp://") + mq.host + ":" + std::to_string(mq.port) +
         (mq.vhost.starts_with('/') ? "" : "/") + mq.vhost;
}

timeval amqp_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
  return tv;
}

std::string amqp_bytes_text(amqp_bytes_t bytes) {
  if (bytes.len == 0 || bytes.bytes == nullptr) return {};
  return {static_cast<const char*>(bytes.bytes), bytes.len};
}

AmqpConnection::AmqpConnection(const opencti::MqConnection& mq, AmqpConnectionOptions options)
    : mq_(mq), options_(std::move(options)), state_(amqp_new_connection()) {
  if (state_ == nullptr) throw AmqpConnectionError("cannot allocate an AMQP connection", true);
  try {
    open();
  } catch (...) {
    amqp_destroy_connection(state_);
    throw;
  }
}

AmqpConnection::~AmqpConnection() { amqp_destroy_connection(state_); }

std::string AmqpConnection::where(const std::string& step) const {
  return "RabbitMQ at " + amqp_endpoint_text(mq_) + " (" + step + options_.context + ")";
}

void AmqpConnection::open() {
  amqp_socket_t* socket = mq_.use_ssl ? amqp_ssl_socket_new(state_) : amqp_tcp_socket_new(state_);
  if (socket == nullptr) throw AmqpConnectionError("cannot create an AMQP socket", true);
  if (mq_.use_ssl) {
    try {
      configure_amqp_tls(socket, mq_);
    } catch (const AmqpTlsError& error) {
      throw AmqpConnectionError(error.what(), false);  // the same material fails on every attempt
    }
  }
  warn_if_amqp_plaintext(mq_);

  timeval timeout = amqp_timeval(options_.connect_timeout);
  amqp_set_handshake_timeout(state_, &timeout);
  amqp_set_rpc_timeout(state_, &timeout);
  const int status = amqp_socket_open_noblock(socket, mq_.host.c_str(), mq_.port, &timeout);
  if (const std::string untrusted = amqp_tls_verification_failure(status, mq_); !untrusted.empty()) {
    throw AmqpConnectionError(untrusted, false);  // reconnecting cannot make the certificate trusted
  }
  if (status != AMQP_STATUS_OK) {
    throw AmqpConnectionError("cannot connect to " + where("connect") + ": " + amqp_error_string2(status) +
                                  (mq_.use_ssl ? " (TLS: does this port speak TLS, and is the broker's certificate "
                                                 "trusted? check mq.use_ssl, mq.use_ssl_ca, "
                                                 "mq.use_ssl_reject_unauthorized)"
                                               : ""),
                              true);
  }
  check(amqp_login(state_, mq_.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, options_.heartbeat_seconds,
                   AMQP_SASL_METHOD_PLAIN, mq_.user.c_str(), mq_.pass.reveal().c_str()),
        "login");
}

void AmqpConnection::open_channel(amqp_channel_t channel) {
  amqp_channel_open(state_, channel);
  check(amqp_get_rpc_reply(state_), "channel.open");
}

void AmqpConnection::select_confirms(amqp_channel_t channel) {
  amqp_confirm_select(state_, channel);
  check(amqp_get_rpc_reply(state_), "confirm.select");
}

void AmqpConnection::opened() { amqp_set_rpc_timeout(state_, nullptr); }

void AmqpConnection::check(const amqp_rpc_reply_t& reply, const std::string& step,
                           const std::string& channel_closed_hint) const {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_NONE:
      throw AmqpConnectionError(where(step) + ": no answer", true);
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      throw AmqpConnectionError(where(step) + ": " + amqp_error_string2(reply.library_error), true);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      break;
  }
  if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
    const std::string text = amqp_bytes_text(close->reply_text);
    if (close->reply_code == AMQP_ACCESS_REFUSED || close->reply_code == AMQP_NOT_ALLOWED) {
      throw AmqpConnectionError(where(step) + " refused user '" + mq_.user + "': " + text +
                                    " — check mq.user / mq.pass / mq.vhost (MQ_USER, MQ_PASS, MQ_VHOST) or what "
                                    "OpenCTI advertises",
                                false);
    }
    throw AmqpConnectionError(where(step) + ": " + text, true);
  }
  if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
    throw AmqpConnectionError(where(step) + ": " + amqp_bytes_text(close->reply_text) + channel_closed_hint, true);
  }
  throw AmqpConnectionError(where(step) + ": unexpected server method", true);
}

void AmqpConnection::close(amqp_channel_t channel, std::chrono::milliseconds limit) {
  timeval timeout = amqp_timeval(limit);  // a broker that stopped answering must not hold the process
  amqp_set_rpc_timeout(state_, &timeout);
  amqp_channel_close(state_, channel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
}

}  // namespace kfc::sinks
