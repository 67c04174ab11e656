#include "kfc/opentip/listen_queue.h"

#include <amqp.h>

#include <algorithm>
#include <string>

#include "kfc/sinks/amqp_connection.h"

namespace kfc::opentip {
namespace {

constexpr amqp_channel_t kChannel = 1;
constexpr amqp_channel_t kPublishChannel = 2;  // confirm mode, for the copies of requests
constexpr std::chrono::seconds kConnectTimeout{30};
constexpr std::chrono::seconds kConfirmTimeout{30};
constexpr const char* kAttemptsHeader = "x-kfc-enrichment-attempts";
constexpr const char* kFailureHeader = "x-kfc-enrichment-last-failure";
constexpr std::size_t kMaxFailureText = 500;
constexpr int kMaxRecordedAttempts = 1000;  // a header claiming more is clamped

// An attempt count from a header: any integer kind (or decimal text), clamped to 0..kMaxRecordedAttempts.
int attempts_of(const amqp_field_value_t& value) {
  long long n = 0;
  switch (value.kind) {
    case AMQP_FIELD_KIND_I8: n = value.value.i8; break;
    case AMQP_FIELD_KIND_U8: n = value.value.u8; break;
    case AMQP_FIELD_KIND_I16: n = value.value.i16; break;
    case AMQP_FIELD_KIND_U16: n = value.value.u16; break;
    case AMQP_FIELD_KIND_I32: n = value.value.i32; break;
    case AMQP_FIELD_KIND_U32: n = value.value.u32; break;
    case AMQP_FIELD_KIND_I64: n = value.value.i64; break;
    case AMQP_FIELD_KIND_U64: n = value.value.u64 > kMaxRecordedAttempts ? kMaxRecordedAttempts : static_cast<long long>(value.value.u64); break;
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES: {
      const std::string text = sinks::amqp_bytes_text(value.value.bytes);
      if (text.empty() || text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos) return 0;
      n = std::stoll(text);
      break;
    }
    default: return 0;
  }
  return static_cast<int>(std::clamp<long long>(n, 0, kMaxRecordedAttempts));
}

// What the copies need of the delivery's properties, and our two headers.
void read_properties(const amqp_basic_properties_t& properties, Delivery& delivery) {
  if (properties._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) delivery.content_type = sinks::amqp_bytes_text(properties.content_type);
  if (properties._flags & AMQP_BASIC_CONTENT_ENCODING_FLAG) {
    delivery.content_encoding = sinks::amqp_bytes_text(properties.content_encoding);
  }
  if (!(properties._flags & AMQP_BASIC_HEADERS_FLAG)) return;
  for (int i = 0; i < properties.headers.num_entries; ++i) {
    const amqp_table_entry_t& entry = properties.headers.entries[i];
    const std::string key = sinks::amqp_bytes_text(entry.key);
    if (key == kAttemptsHeader) delivery.attempts = attempts_of(entry.value);
    if (key == kFailureHeader && (entry.value.kind == AMQP_FIELD_KIND_UTF8 || entry.value.kind == AMQP_FIELD_KIND_BYTES)) {
      delivery.last_failure = sinks::amqp_bytes_text(entry.value.value.bytes).substr(0, kMaxFailureText);
    }
  }
}

}  // namespace

struct ListenQueue::Impl {
  opencti::MqConnection mq;
  std::string queue;
  std::string exchange;
  std::string routing_key;
  std::unique_ptr<sinks::AmqpConnection> connection;
  amqp_connection_state_t state = nullptr;  // the connection's, for rabbitmq-c calls
  std::uint64_t published = 0;  // copies published on kPublishChannel (their confirm tags)

  // "RabbitMQ at amqp://host:5672/ (step on queue listen_x)"
  std::string where(const char* step) const { return connection->where(step); }

  void check(const amqp_rpc_reply_t& reply, const char* step) const {
    try {
      connection->check(reply, step, " — the platform declares the listen queue when the connector registers");
    } catch (const sinks::AmqpConnectionError& error) {
      throw ListenQueueError(error.what());
    }
  }

  void open(int heartbeat_seconds) {
    try {
      connection = std::make_unique<sinks::AmqpConnection>(
          mq, sinks::AmqpConnectionOptions{.heartbeat_seconds = heartbeat_seconds,
                                           .connect_timeout = kConnectTimeout,
                                           .context = " on queue " + queue});
      state = connection->state();
      connection->open_channel(kChannel);
      // The queue must exist (the platform declares it at registration): a passive declare says so now.
      amqp_queue_declare(state, kChannel, amqp_cstring_bytes(queue.c_str()), /*passive=*/1, 0, 0, 0, amqp_empty_table);
      check(amqp_get_rpc_reply(state), "queue.declare");
      connection->open_channel(kPublishChannel);
      connection->select_confirms(kPublishChannel);
      connection->opened();
    } catch (const sinks::AmqpConnectionError& error) {
      throw ListenQueueError(error.what());
    }
  }

  // Waits for the broker's verdict on copy number `tag`: true when it is in the queue.
  bool confirmed(std::uint64_t tag) {
    bool returned = false;
    const auto deadline = std::chrono::steady_clock::now() + kConfirmTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      amqp_frame_t frame{};
      timeval tv = sinks::amqp_timeval(std::chrono::milliseconds(500));
      const int status = amqp_simple_wait_frame_noblock(state, &frame, &tv);
      if (status == AMQP_STATUS_TIMEOUT) continue;
      if (status != AMQP_STATUS_OK) throw ListenQueueError(where("publish") + ": " + amqp_error_string2(status));
      if (frame.frame_type != AMQP_FRAME_METHOD || frame.channel != kPublishChannel) {
        if (frame.frame_type == AMQP_FRAME_METHOD) fail_on(frame, "publish");
        continue;
      }
      switch (frame.payload.method.id) {
        case AMQP_BASIC_RETURN_METHOD: {  // unroutable: the ack that follows does not mean queued
          amqp_message_t message{};
          amqp_read_message(state, frame.channel, &message, 0);
          amqp_destroy_message(&message);
          returned = true;
          break;
        }
        case AMQP_BASIC_ACK_METHOD: {
          const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
          if (ack->delivery_tag >= tag) return !returned;
          break;
        }
        case AMQP_BASIC_NACK_METHOD:
          return false;
        default:
          fail_on(frame, "publish");
      }
    }
    throw ListenQueueError(where("publish") + ": no confirm for the requeued copy within " +
                           std::to_string(kConfirmTimeout.count()) + " s");
  }

  [[noreturn]] void fail_on(const amqp_frame_t& frame, const char* step) const {
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      switch (frame.payload.method.id) {
        case AMQP_BASIC_CANCEL_METHOD:
          throw ListenQueueError(where(step) + ": the broker cancelled the consumer (queue deleted?)");
        case AMQP_CHANNEL_CLOSE_METHOD: {
          const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
          throw ListenQueueError(where(step) + ": channel closed: " + sinks::amqp_bytes_text(close->reply_text));
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
          const auto* close = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
          throw ListenQueueError(where(step) + ": connection closed: " + sinks::amqp_bytes_text(close->reply_text));
        }
        default:
          break;
      }
    }
    throw ListenQueueError(where(step) + ": unexpected frame from the broker");
  }
};

ListenQueue::ListenQueue(const opencti::MqConnection& connection, std::string queue, int heartbeat_seconds,
                         std::string exchange, std::string routing_key)
    : impl_(std::make_unique<Impl>()) {
  impl_->mq = connection;
  impl_->queue = std::move(queue);
  impl_->exchange = std::move(exchange);
  impl_->routing_key = impl_->exchange.empty() ? impl_->queue : std::move(routing_key);
  if (impl_->queue.empty()) {
    throw ListenQueueError("OpenCTI assigned no listen queue at registration — is connector.type INTERNAL_ENRICHMENT?");
  }
  impl_->open(heartbeat_seconds);
}

ListenQueue::~ListenQueue() {
  // A broker that stopped answering must not hold the process: the closing handshake is bounded.
  if (impl_->connection) impl_->connection->close(kChannel, std::chrono::seconds(5));
}

std::optional<Delivery> ListenQueue::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    amqp_maybe_release_buffers(impl_->state);
    amqp_rpc_reply_t reply = amqp_basic_get(impl_->state, kChannel, amqp_cstring_bytes(impl_->queue.c_str()), /*no_ack=*/0);
    impl_->check(reply, "basic.get");
    if (reply.reply.id == AMQP_BASIC_GET_OK_METHOD) {
      const auto* ok = static_cast<const amqp_basic_get_ok_t*>(reply.reply.decoded);
      Delivery delivery;
      delivery.delivery_tag = ok->delivery_tag;
      delivery.redelivered = ok->redelivered != 0;
      amqp_message_t message{};
      impl_->check(amqp_read_message(impl_->state, kChannel, &message, 0), "basic.get");
      delivery.body = sinks::amqp_bytes_text(message.body);
      read_properties(message.properties, delivery);
      amqp_destroy_message(&message);
      return delivery;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    // Waits a step while answering heartbeats; a method frame here ends the connection's usefulness.
    amqp_frame_t frame{};
    timeval tv = sinks::amqp_timeval(std::min(kPollStep, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
    const int status = amqp_simple_wait_frame_noblock(impl_->state, &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT) continue;
    if (status != AMQP_STATUS_OK) throw ListenQueueError(impl_->where("basic.get") + ": " + amqp_error_string2(status));
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    const bool late_confirm = frame.channel == kPublishChannel && (frame.payload.method.id == AMQP_BASIC_ACK_METHOD ||
                                                                  frame.payload.method.id == AMQP_BASIC_NACK_METHOD);
    if (!late_confirm) impl_->fail_on(frame, "basic.get");
  }
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
  // Nothing is delivered unasked (basic.get): any method frame here means trouble.
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

void ListenQueue::requeue_at_back(const Delivery& delivery, int attempts, const std::string& failure) {
  const std::string failure_text = failure.substr(0, kMaxFailureText);
  amqp_table_entry_t entries[2];
  entries[0].key = amqp_cstring_bytes(kAttemptsHeader);
  entries[0].value.kind = AMQP_FIELD_KIND_I32;
  entries[0].value.value.i32 = std::clamp(attempts, 0, kMaxRecordedAttempts);
  entries[1].key = amqp_cstring_bytes(kFailureHeader);
  entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
  entries[1].value.value.bytes = amqp_cstring_bytes(failure_text.c_str());
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
  properties.delivery_mode = 2;  // persistent, as the platform publishes requests
  properties.headers.num_entries = 2;
  properties.headers.entries = entries;
  if (!delivery.content_type.empty()) {
    properties._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    properties.content_type = amqp_cstring_bytes(delivery.content_type.c_str());
  }
  if (!delivery.content_encoding.empty()) {
    properties._flags |= AMQP_BASIC_CONTENT_ENCODING_FLAG;
    properties.content_encoding = amqp_cstring_bytes(delivery.content_encoding.c_str());
  }
  amqp_bytes_t body{delivery.body.size(), const_cast<char*>(delivery.body.data())};
  const int status = amqp_basic_publish(impl_->state, kPublishChannel, amqp_cstring_bytes(impl_->exchange.c_str()),
                                        amqp_cstring_bytes(impl_->routing_key.c_str()), /*mandatory=*/1, 0,
                                        &properties, body);
  if (status != AMQP_STATUS_OK) {
    throw ListenQueueError(impl_->where("basic.publish") + ": " + amqp_error_string2(status));
  }
  if (!impl_->confirmed(++impl_->published)) {
    throw ListenQueueError(impl_->where("basic.publish") + ": the broker did not take the copy of the request (exchange " +
                           (impl_->exchange.empty() ? std::string("(default)") : impl_->exchange) + ", routing " +
                           impl_->routing_key + ")");
  }
  ack(delivery.delivery_tag);
}

std::string ListenQueue::describe() const { return "queue " + impl_->queue + " on " + sinks::amqp_endpoint_text(impl_->mq); }

}  // namespace kfc::opentip
