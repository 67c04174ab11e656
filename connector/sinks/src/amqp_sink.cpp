#include "kfc/sinks/amqp_sink.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include "kfc/sinks/amqp_tls.h"
#include "kfc/sinks/message.h"
#include "kfc/sinks/splitter.h"

namespace kfc::sinks {
namespace {

constexpr amqp_channel_t kChannel = 1;

// A failure after which reconnecting may help (broker down, connection cut, channel closed).
class TransientAmqpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

timeval to_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
  return tv;
}

std::string bytes_text(amqp_bytes_t bytes) { return {static_cast<const char*>(bytes.bytes), bytes.len}; }

std::string endpoint_text(const opencti::MqConnection& mq) {
  return std::string(mq.use_ssl ? "amqps://" : "amqp://") + mq.host + ":" + std::to_string(mq.port) +
         (mq.vhost.starts_with('/') ? "" : "/") + mq.vhost;
}

// One AMQP connection with channel 1 in confirm mode.
class Connection {
 public:
  Connection(const AmqpSinkOptions& options) : state_(amqp_new_connection()) {
    if (state_ == nullptr) throw TransientAmqpError("cannot allocate an AMQP connection");
    try {
      open(options);
    } catch (...) {
      amqp_destroy_connection(state_);
      throw;
    }
  }
  ~Connection() { amqp_destroy_connection(state_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  amqp_connection_state_t state() const { return state_; }

  // Polite goodbye when the connection is still healthy.
  void close() {
    amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }

 private:
  void open(const AmqpSinkOptions& options) {
    const auto& mq = options.connection;
    amqp_socket_t* socket = mq.use_ssl ? amqp_ssl_socket_new(state_) : amqp_tcp_socket_new(state_);
    if (socket == nullptr) throw TransientAmqpError("cannot create an AMQP socket");
    if (mq.use_ssl) configure_tls(socket, mq);
    warn_if_amqp_plaintext(mq);

    timeval timeout = to_timeval(options.connect_timeout);
    amqp_set_handshake_timeout(state_, &timeout);
    amqp_set_rpc_timeout(state_, &timeout);
    int status = amqp_socket_open_noblock(socket, mq.host.c_str(), mq.port, &timeout);
    if (const std::string untrusted = amqp_tls_verification_failure(status, mq); !untrusted.empty()) {
      throw DeliveryError(untrusted);  // reconnecting cannot make the certificate trusted
    }
    if (status != AMQP_STATUS_OK) {
      throw TransientAmqpError("cannot connect to RabbitMQ at " + endpoint_text(mq) + ": " + amqp_error_string2(status) +
                               (mq.use_ssl ? " (TLS: does this port speak TLS, and is the broker's certificate trusted? "
                                             "check mq.use_ssl, mq.use_ssl_ca, mq.use_ssl_reject_unauthorized)"
                                           : ""));
    }
    check(amqp_login(state_, mq.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, options.heartbeat_seconds,
                     AMQP_SASL_METHOD_PLAIN, mq.user.c_str(), mq.pass.reveal().c_str()),
          "login", mq);
    amqp_channel_open(state_, kChannel);
    check(amqp_get_rpc_reply(state_), "channel open", mq);
    amqp_confirm_select(state_, kChannel);
    check(amqp_get_rpc_reply(state_), "confirm.select", mq);
    amqp_set_rpc_timeout(state_, nullptr);
  }

  static void configure_tls(amqp_socket_t* socket, const opencti::MqConnection& mq) {
    try {
      configure_amqp_tls(socket, mq);
    } catch (const AmqpTlsError& error) {
      throw DeliveryError(error.what());  // the same material fails on every attempt
    }
  }

  static void check(const amqp_rpc_reply_t& reply, const char* step, const opencti::MqConnection& mq) {
    const std::string where = "RabbitMQ at " + endpoint_text(mq) + " (" + step + ")";
    switch (reply.reply_type) {
      case AMQP_RESPONSE_NORMAL:
        return;
      case AMQP_RESPONSE_NONE:
        throw TransientAmqpError(where + ": no answer");
      case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        throw TransientAmqpError(where + ": " + amqp_error_string2(reply.library_error));
      case AMQP_RESPONSE_SERVER_EXCEPTION:
        break;
    }
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
      std::string text = bytes_text(close->reply_text);
      if (close->reply_code == AMQP_ACCESS_REFUSED || close->reply_code == AMQP_NOT_ALLOWED) {
        throw DeliveryError(where + " refused user '" + mq.user + "': " + text +
                            " — check mq.user / mq.pass / mq.vhost (MQ_USER, MQ_PASS, MQ_VHOST) or what OpenCTI advertises");
      }
      throw TransientAmqpError(where + ": " + text);
    }
    if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
      throw TransientAmqpError(where + ": " + bytes_text(close->reply_text));
    }
    throw TransientAmqpError(where + ": unexpected server method");
  }

  amqp_connection_state_t state_;
};

class AmqpSink final : public Sink {
 public:
  AmqpSink(AmqpSinkOptions options, AddExpectations add_expectations, Clock& clock)
      : options_(std::move(options)), add_expectations_(std::move(add_expectations)), clock_(clock) {}

  ~AmqpSink() override { disconnect(true); }

  void begin_run(const RunContext& context) override {
    context_ = context;
    // Tickets count from 1 in each run; whatever an abandoned run left is dropped (it was never confirmed).
    disconnect(true);
    in_flight_.clear();
    queue_.clear();
    failures_in_a_row_ = 0;
    tickets_.clear();
    first_open_ticket_ = 1;
    failed_ = false;
    returned_tags_.clear();
    return_unmatched_ = false;
    republish_pending_ = false;
    refusal_rounds_ = 0;
  }

  Ticket send(const stix::Bundle& bundle) override {
    if (failed_) throw DeliveryError("RabbitMQ sink failed earlier in this run; nothing more is sent");
    const Ticket ticket = first_open_ticket_ + tickets_.size();
    std::vector<Content> contents = message_contents(bundle);
    tickets_.push_back(contents.size());
    ++stats_.bundles;
    stats_.objects += bundle.size();
    if (contents.empty()) {
      advance_confirmed();
      return ticket;
    }
    // pycti adds the expectations before publishing, so the work never looks finished early.
    if (context_.work_id && add_expectations_) {
      try {
        add_expectations_(*context_.work_id, static_cast<int>(contents.size()));
      } catch (const std::exception& error) {
        failed_ = true;
        throw DeliveryError(std::string("cannot add expectations to the OpenCTI work before publishing: ") + error.what());
      }
    }
    int sequence = 1;
    for (const auto& content : contents) {
      MessageFields fields{.applicant_id = options_.applicant_id,
                           .action_sequence = sequence++,
                           .update = context_.update,
                           .work_id = context_.work_id};
      queue_.push_back({next_serial_++, ticket, Rank{ticket, content.nb_deps}, queue_message(fields, content.json)});
      ++stats_.messages;
    }
    guarded([&] { publish_queued(); });
    return ticket;
  }

  Ticket confirmed() const override { return first_open_ticket_ - 1; }

  void flush() override {
    if (failed_) throw DeliveryError("RabbitMQ sink failed earlier in this run: the unconfirmed bundles are not delivered");
    guarded([&] {
      publish_queued();
      while (!in_flight_.empty() || !queue_.empty()) {
        wait_for_confirms();
        publish_queued();
      }
    });
  }

  void end_run() override {
    struct Cleanup {
      AmqpSink& sink;
      ~Cleanup() {
        sink.disconnect(true);
        sink.in_flight_.clear();
        sink.queue_.clear();
      }
    } cleanup{*this};
    if (!failed_) flush();
  }

  SinkStats stats() const override { return stats_; }

  std::string describe() const override {
    return "RabbitMQ " + endpoint_text(options_.connection) + " exchange " + options_.exchange + " routing " +
           options_.routing_key;
  }

 private:
  // Dependency rank: a message may depend on messages of a lower rank (an earlier ticket — the run
  // loop sends dependency stages in order — or a lower nb_deps within the same bundle).
  using Rank = std::pair<Ticket, int>;

  struct Outgoing {
    std::uint64_t serial;  // publication order, kept across republishing
    Ticket ticket;
    Rank rank;
    std::string body;
  };

  struct Content {
    int nb_deps = 0;
    std::string json;
  };

  std::vector<Content> message_contents(const stix::Bundle& bundle) const {
    std::vector<Content> contents;
    if (bundle.size() == 0) return contents;
    if (options_.mode == AmqpMessageMode::WholeBundle) {
      contents.push_back({0, whole_bundle_json(bundle)});
    } else {
      for (auto& message : split_bundle(bundle)) contents.push_back({message.nb_deps, std::move(message.bundle_json)});
    }
    return contents;
  }

  // Runs `step`; any failure marks the run failed so nothing unconfirmed is taken for delivered.
  template <typename Step>
  void guarded(Step step) {
    try {
      step();
    } catch (const DeliveryError&) {
      failed_ = true;
      throw;
    }
  }

  void publish_queued() {
    std::size_t since_poll = 0;
    while (!queue_.empty()) {
      ensure_connected();
      if (republish_pending_) {
        pause_before_republishing();
        continue;
      }
      Outgoing& message = queue_.front();
      if (in_flight_.size() >= options_.window || waits_for_lower_rank(message)) {
        wait_for_confirms();
        continue;
      }
      if (!publish(message.body)) continue;  // connection lost: requeued, reconnect on the next turn
      in_flight_rank_ = message.rank;
      in_flight_.emplace(next_tag_++, std::move(message));
      queue_.pop_front();
      if (++since_poll >= 64) {  // drain acks now and then so the window rarely fills
        since_poll = 0;
        poll(std::chrono::milliseconds(0));
      }
    }
  }

  // pycti confirms each message before the next, so a dependency is in the queue before what
  // depends on it. Here only a change of rank waits: everything of the lower rank must be confirmed
  // first, or a refused (nacked) message would be published again after its dependents.
  bool waits_for_lower_rank(const Outgoing& message) const {
    return options_.preserve_dependency_order && !in_flight_.empty() && in_flight_rank_ < message.rank;
  }

  // One pause for every message refused since the last one (not one per nack/return), and a bound:
  // a broker that refuses everything for many rounds fails the run instead of looping forever.
  void pause_before_republishing() {
    republish_pending_ = false;
    if (++refusal_rounds_ > options_.max_republish_rounds) {
      throw DeliveryError("RabbitMQ " + endpoint_text(options_.connection) + " kept refusing or returning messages on exchange " +
                          options_.exchange + " routing " + options_.routing_key + " (" +
                          std::to_string(options_.max_republish_rounds) +
                          " rounds without a confirm) — check that the OpenCTI platform is running (it declares and binds "
                          "the push queue) and the queue's limits; nothing unconfirmed was counted as delivered");
    }
    pause(options_.retry_delay);
  }

  // Sleeps on the clock in short slices so that a stop request is noticed.
  void pause(std::chrono::milliseconds duration) {
    constexpr std::chrono::milliseconds kSlice{100};
    while (duration > std::chrono::milliseconds::zero()) {
      throw_if_stopping();
      const auto slice = std::min(duration, kSlice);
      clock_.sleep_for(slice);
      duration -= slice;
    }
    throw_if_stopping();
  }

  void throw_if_stopping() const {
    if (!options_.should_stop || !options_.should_stop()) return;
    throw DeliveryError("stopping while " + std::to_string(in_flight_.size() + queue_.size()) +
                        " messages were not confirmed by RabbitMQ " + endpoint_text(options_.connection) +
                        "; they are not counted as delivered and are read again next run");
  }

  bool publish(const std::string& body) {
    amqp_basic_properties_t properties{};
    properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG;
    properties.delivery_mode = 2;  // persistent
    properties.content_encoding = amqp_cstring_bytes("utf-8");
    amqp_bytes_t payload{body.size(), const_cast<char*>(body.data())};
    int status = amqp_basic_publish(connection_->state(), kChannel, amqp_cstring_bytes(options_.exchange.c_str()),
                                    amqp_cstring_bytes(options_.routing_key.c_str()), /*mandatory=*/1,
                                    /*immediate=*/0, &properties, payload);
    if (status != AMQP_STATUS_OK) {
      connection_lost(std::string("publish failed: ") + amqp_error_string2(status));
      return false;
    }
    return true;
  }

  // Blocks until at least one event arrived, or reconnects when the broker stays silent too long.
  void wait_for_confirms() {
    if (!connection_) return;
    const auto started = std::chrono::steady_clock::now();
    while (connection_ && !in_flight_.empty()) {
      if (poll(std::chrono::milliseconds(1000))) return;
      throw_if_stopping();  // a healthy broker confirms within milliseconds: do not hold a shutdown
      if (std::chrono::steady_clock::now() - started > options_.confirm_timeout) {
        connection_lost("no publisher confirm within " + std::to_string(options_.confirm_timeout.count()) + " ms");
        return;
      }
    }
  }

  // Reads one frame if one arrives within `timeout`; returns true when something was handled.
  bool poll(std::chrono::milliseconds timeout) {
    if (!connection_) return false;
    amqp_connection_state_t state = connection_->state();
    amqp_maybe_release_buffers(state);
    amqp_frame_t frame{};
    timeval tv = to_timeval(timeout);
    int status = amqp_simple_wait_frame_noblock(state, &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT) return false;
    if (status != AMQP_STATUS_OK) {
      connection_lost(amqp_error_string2(status));
      return true;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) return true;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        on_ack(ack->delivery_tag, ack->multiple != 0);
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
        spdlog::warn("RabbitMQ refused (nack) a message; publishing it again");
        std::vector<Outgoing> refused;
        for (auto& [tag, message] : take_in_flight(nack->delivery_tag, nack->multiple != 0)) {
          returned_tags_.erase(tag);
          refused.push_back(std::move(message));
        }
        requeue(std::move(refused), true);
        break;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        const auto* returned = static_cast<const amqp_basic_return_t*>(frame.payload.method.decoded);
        spdlog::warn("RabbitMQ returned a message as unroutable ({}) on exchange {} routing {}: is the OpenCTI "
                     "platform up (it binds the push queue)? Publishing it again",
                     bytes_text(returned->reply_text), options_.exchange, options_.routing_key);
        amqp_message_t message{};
        amqp_rpc_reply_t reply = amqp_read_message(state, frame.channel, &message, 0);
        if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
          connection_lost("cannot read a returned message");
          break;
        }
        mark_returned(bytes_text(message.body));
        amqp_destroy_message(&message);
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD: {
        const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
        std::string text = bytes_text(close->reply_text);
        amqp_channel_close_ok_t ok{};
        amqp_send_method(state, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        connection_lost("channel closed by RabbitMQ: " + text +
                        (close->reply_code == AMQP_NOT_FOUND ? " (the exchange does not exist: is OpenCTI registered?)" : ""));
        break;
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        const auto* close = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
        std::string text = bytes_text(close->reply_text);
        amqp_connection_close_ok_t ok{};
        amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        connection_lost("connection closed by RabbitMQ: " + text);
        break;
      }
      default:
        break;
    }
    return true;
  }

  // The broker acks a returned message too (after the basic.return). The return carries no delivery
  // tag, so the message is found by its body; that ack then means "not delivered".
  void mark_returned(const std::string& body) {
    for (const auto& [tag, message] : in_flight_) {
      if (message.body == body && !returned_tags_.contains(tag)) {
        returned_tags_.insert(tag);
        return;
      }
    }
    return_unmatched_ = true;  // not found (cannot happen): the next ack is republished whole
  }

  void on_ack(std::uint64_t tag, bool multiple) {
    const bool republish_all = std::exchange(return_unmatched_, false);
    std::vector<Outgoing> refused;
    bool progressed = false;
    for (auto& [acked_tag, message] : take_in_flight(tag, multiple)) {
      if (returned_tags_.erase(acked_tag) > 0 || republish_all) {
        refused.push_back(std::move(message));
        continue;
      }
      ++stats_.confirmed;
      --tickets_[message.ticket - first_open_ticket_];
      progressed = true;
    }
    if (progressed) {  // the broker takes our messages again
      failures_in_a_row_ = 0;
      refusal_rounds_ = 0;
    }
    requeue(std::move(refused), true);
    advance_confirmed();
  }

  std::vector<std::pair<std::uint64_t, Outgoing>> take_in_flight(std::uint64_t tag, bool multiple) {
    std::vector<std::pair<std::uint64_t, Outgoing>> taken;
    auto end = in_flight_.upper_bound(tag);
    auto begin = multiple ? in_flight_.begin() : in_flight_.find(tag);
    if (begin == in_flight_.end()) return taken;
    for (auto it = begin; it != end; ++it) taken.emplace_back(it->first, std::move(it->second));
    in_flight_.erase(begin, end);
    return taken;
  }

  // Puts messages back for publication, keeping the original order; refused ones wait `retry_delay`.
  void requeue(std::vector<Outgoing> messages, bool after_delay) {
    if (messages.empty()) return;
    stats_.republished += messages.size();
    if (after_delay) republish_pending_ = true;
    for (auto& message : messages) queue_.push_back(std::move(message));
    std::sort(queue_.begin(), queue_.end(), [](const Outgoing& a, const Outgoing& b) { return a.serial < b.serial; });
  }

  void advance_confirmed() {
    while (!tickets_.empty() && tickets_.front() == 0) {
      tickets_.pop_front();
      ++first_open_ticket_;
    }
  }

  void connection_lost(const std::string& reason) {
    last_error_ = reason;
    ++failures_in_a_row_;
    spdlog::warn("RabbitMQ connection lost ({}): {} unconfirmed messages will be published again", reason,
                 in_flight_.size());
    disconnect(false);
    std::vector<Outgoing> unconfirmed;
    for (auto& [tag, message] : in_flight_) unconfirmed.push_back(std::move(message));
    in_flight_.clear();
    requeue(std::move(unconfirmed), false);
    returned_tags_.clear();
    return_unmatched_ = false;
  }

  void disconnect(bool polite) {
    if (!connection_) return;
    if (polite) connection_->close();
    connection_.reset();
  }

  void ensure_connected() {
    while (!connection_) {
      if (failures_in_a_row_ >= options_.max_reconnect_attempts) {
        throw DeliveryError("RabbitMQ " + endpoint_text(options_.connection) + " still failing after " +
                            std::to_string(failures_in_a_row_) + " attempts (" + last_error_ +
                            ") — check mq.host / mq.port (MQ_HOST, MQ_PORT)" +
                            (options_.connection.use_ssl ? ", mq.use_ssl (MQ_USE_SSL)" : "") +
                            " and the broker; nothing unconfirmed was counted as delivered");
      }
      if (failures_in_a_row_ > 0) {
        auto delay = options_.reconnect_initial * (1 << std::min(failures_in_a_row_ - 1, 16));
        pause(std::min(std::chrono::duration_cast<std::chrono::milliseconds>(delay), options_.reconnect_max));
      }
      try {
        connection_ = std::make_unique<Connection>(options_);
        next_tag_ = 1;
        if (stats_.messages > 0 && failures_in_a_row_ > 0) ++stats_.reconnects;
      } catch (const TransientAmqpError& error) {
        last_error_ = error.what();
        ++failures_in_a_row_;
        spdlog::warn("{} (attempt {})", error.what(), failures_in_a_row_);
      }
    }
  }

  AmqpSinkOptions options_;
  AddExpectations add_expectations_;
  Clock& clock_;
  RunContext context_;
  std::unique_ptr<Connection> connection_;
  std::deque<Outgoing> queue_;                 // waiting to be published (first time or again)
  std::map<std::uint64_t, Outgoing> in_flight_;  // by delivery tag, published and not yet confirmed
  std::deque<std::size_t> tickets_;            // unconfirmed message count per open ticket
  Ticket first_open_ticket_ = 1;
  std::uint64_t next_serial_ = 1;
  std::uint64_t next_tag_ = 1;
  Rank in_flight_rank_{0, 0};                  // rank of the messages in flight (one rank when ordered)
  std::set<std::uint64_t> returned_tags_;      // in flight, returned as unroutable: their ack means "again"
  bool return_unmatched_ = false;
  bool republish_pending_ = false;             // refused messages wait retry_delay before going out again
  int refusal_rounds_ = 0;                     // pauses since the broker last confirmed something
  bool failed_ = false;
  int failures_in_a_row_ = 0;
  std::string last_error_;
  SinkStats stats_;
};

}  // namespace

std::unique_ptr<Sink> make_amqp_sink(AmqpSinkOptions options, AddExpectations add_expectations, Clock& clock) {
  return std::make_unique<AmqpSink>(std::move(options), std::move(add_expectations), clock);
}

}  // namespace kfc::sinks
