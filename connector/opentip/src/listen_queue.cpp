#include "kfc/opentip/listen_queue.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "kfc/sinks/amqp_tls.h"

namespace kfc::opentip {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr std::chrono::seconds kConnectTimeout{30};

timeval to_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
  return tv;
}

std::string endpoint_text(const opencti::MqConnection& mq) {
  return std::string(mq.use_ssl ? "amqps://" : "amqp://") + mq.host + ":" + std::to_string(mq.port) +
         (mq.vhost.starts_with('/') ? "" : "/") + mq.vhost;
}

std::string bytes_text(amqp_bytes_t bytes) { return {static_cast<const char*>(bytes.bytes), bytes.len}; }

void configure_tls(amqp_socket_t* socket, const opencti::MqConnection& mq) {
  try {
    sinks::configure_amqp_tls(socket, mq);
  } catch (const sinks::AmqpTlsError& error) {
    throw ListenQueueError(error.what());
  }
}

}  // namespace

struct ListenQueue::Impl {
  opencti::MqConnection mq;
  std::string queue;
  amqp_connection_state_t state = nullptr;

  std::string where(const char* step) const {
    return "RabbitMQ at " + endpoint_text(mq) + " (" + step + " on queue " + queue + ")";
  }

  void check(const amqp_rpc_reply_t& reply, const char* step) const {
    switch (reply.reply_type) {
      case AMQP_RESPONSE_NORMAL:
        return;
      case AMQP_RESPONSE_NONE:
        throw ListenQueueError(where(step) + ": no answer");
      case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        throw ListenQueueError(where(step) + ": " + amqp_error_string2(reply.library_error));
      case AMQP_RESPONSE_SERVER_EXCEPTION:
        break;
    }
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
      std::string hint = (close->reply_code == AMQP_ACCESS_REFUSED || close->reply_code == AMQP_NOT_ALLOWED)
                             ? " — check mq.user / mq.pass / mq.vhost (MQ_USER, MQ_PASS, MQ_VHOST) or what OpenCTI advertises"
                             : "";
      throw ListenQueueError(where(step) + " refused: " + bytes_text(close->reply_text) + hint);
    }
    if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
      throw ListenQueueError(where(step) + ": " + bytes_text(close->reply_text) +
                             " — the platform declares the listen queue when the connector registers");
    }
    throw ListenQueueError(where(step) + ": unexpected server method");
  }

  void open(int heartbeat_seconds) {
    state = amqp_new_connection();
    if (state == nullptr) throw ListenQueueError("cannot allocate an AMQP connection");
    amqp_socket_t* socket = mq.use_ssl ? amqp_ssl_socket_new(state) : amqp_tcp_socket_new(state);
    if (socket == nullptr) throw ListenQueueError("cannot create an AMQP socket");
    if (mq.use_ssl) configure_tls(socket, mq);
    sinks::warn_if_amqp_plaintext(mq);
    timeval timeout = to_timeval(kConnectTimeout);
    amqp_set_handshake_timeout(state, &timeout);
    amqp_set_rpc_timeout(state, &timeout);
    int status = amqp_socket_open_noblock(socket, mq.host.c_str(), mq.port, &timeout);
    if (const std::string untrusted = sinks::amqp_tls_verification_failure(status, mq); !untrusted.empty()) {
      throw ListenQueueError(untrusted);
    }
    if (status != AMQP_STATUS_OK) {
      throw ListenQueueError("cannot connect to " + where("connect") + ": " + amqp_error_string2(status));
    }
    check(amqp_login(state, mq.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, heartbeat_seconds, AMQP_SASL_METHOD_PLAIN,
                     mq.user.c_str(), mq.pass.reveal().c_str()),
          "login");
    amqp_channel_open(state, kChannel);
    check(amqp_get_rpc_reply(state), "channel.open");
    // One request at a time, as pycti: the next is delivered once this one is acked or requeued.
    amqp_basic_qos(state, kChannel, 0, 1, 0);
    check(amqp_get_rpc_reply(state), "basic.qos");
    amqp_basic_consume(state, kChannel, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, /*no_ack=*/0, 0,
                       amqp_empty_table);
    check(amqp_get_rpc_reply(state), "basic.consume");
    amqp_set_rpc_timeout(state, nullptr);
  }

  // A frame that is not a delivery arrived (channel closed, consumer cancelled, ...): it ends consumption.
  [[noreturn]] void on_unexpected_frame() {
    amqp_frame_t frame{};
    timeval tv = to_timeval(std::chrono::milliseconds(1000));
    if (amqp_simple_wait_frame_noblock(state, &frame, &tv) == AMQP_STATUS_OK) fail_on(frame, "consume");
    throw ListenQueueError(where("consume") + ": unexpected frame from the broker");
  }

  [[noreturn]] void fail_on(const amqp_frame_t& frame, const char* step) const {
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      switch (frame.payload.method.id) {
        case AMQP_BASIC_CANCEL_METHOD:
          throw ListenQueueError(where(step) + ": the broker cancelled the consumer (queue deleted?)");
        case AMQP_CHANNEL_CLOSE_METHOD: {
          const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
          throw ListenQueueError(where(step) + ": channel closed: " + bytes_text(close->reply_text));
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
          const auto* close = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
          throw ListenQueueError(where(step) + ": connection closed: " + bytes_text(close->reply_text));
        }
        default:
          break;
      }
    }
    throw ListenQueueError(where(step) + ": unexpected frame from the broker");
  }
};

ListenQueue::ListenQueue(const opencti::MqConnection& connection, std::string queue, int heartbeat_seconds)
    : impl_(std::make_unique<Impl>()) {
  impl_->mq = connection;
  impl_->queue = std::move(queue);
  if (impl_->queue.empty()) {
    throw ListenQueueError("OpenCTI assigned no listen queue at registration — is connector.type INTERNAL_ENRICHMENT?");
  }
  try {
    impl_->open(heartbeat_seconds);
  } catch (...) {
    if (impl_->state) amqp_destroy_connection(impl_->state);
    impl_->state = nullptr;
    throw;
  }
}

ListenQueue::~ListenQueue() {
  if (impl_->state == nullptr) return;
  // A broker that stopped answering must not hold the process: the closing handshake is bounded.
  timeval timeout = to_timeval(std::chrono::seconds(5));
  amqp_set_rpc_timeout(impl_->state, &timeout);
  amqp_channel_close(impl_->state, kChannel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(impl_->state, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(impl_->state);
}

std::optional<Delivery> ListenQueue::next(std::chrono::milliseconds timeout) {
  amqp_maybe_release_buffers(impl_->state);
  amqp_envelope_t envelope{};
  timeval tv = to_timeval(timeout);
  amqp_rpc_reply_t reply = amqp_consume_message(impl_->state, &envelope, &tv, 0);
  if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    if (reply.library_error == AMQP_STATUS_TIMEOUT) return std::nullopt;
    if (reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) impl_->on_unexpected_frame();
  }
  impl_->check(reply, "consume");
  Delivery delivery{envelope.delivery_tag, bytes_text(envelope.message.body), envelope.redelivered != 0};
  amqp_destroy_envelope(&envelope);
  return delivery;
}

void ListenQueue::keep_alive() {
  amqp_frame_t frame{};
  timeval immediately{};
  // Sends a heartbeat when one is due and reads what arrived; returns at once when nothing did.
  int status = amqp_simple_wait_frame_noblock(impl_->state, &frame, &immediately);
  if (status == AMQP_STATUS_TIMEOUT) return;
  if (status != AMQP_STATUS_OK) {
    throw ListenQueueError(impl_->where("heartbeat") + ": " + amqp_error_string2(status));
  }
  // With prefetch 1 nothing else is delivered while a request is being handled.
  impl_->fail_on(frame, "heartbeat");
}

void ListenQueue::ack(std::uint64_t delivery_tag) {
  if (amqp_basic_ack(impl_->state, kChannel, delivery_tag, 0) != AMQP_STATUS_OK) {
    throw ListenQueueError(impl_->where("basic.ack") + ": connection lost before the acknowledgement");
  }
}

void ListenQueue::requeue(std::uint64_t delivery_tag) {
  if (amqp_basic_nack(impl_->state, kChannel, delivery_tag, 0, /*requeue=*/1) != AMQP_STATUS_OK) {
    throw ListenQueueError(impl_->where("basic.nack") + ": connection lost (the broker requeues the request itself)");
  }
}

std::string ListenQueue::describe() const { return "queue " + impl_->queue + " on " + endpoint_text(impl_->mq); }

}  // namespace kfc::opentip
