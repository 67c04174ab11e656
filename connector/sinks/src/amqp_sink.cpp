#include "kfc/sinks/amqp_sink.h"

#include <amqp.h>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "kfc/sinks/amqp_connection.h"
#include "kfc/sinks/message.h"
#include "kfc/sinks/publish_ledger.h"
#include "kfc/sinks/splitter.h"

namespace kfc::sinks {
namespace {

constexpr amqp_channel_t kChannel = 1;
// An addExpectations answer slower than this marks OpenCTI as slow (sinks README, "Room"): about the
// time the held messages take to go out, so a faster answer never leaves the publisher idle.
constexpr auto kSlowAnnouncement = std::chrono::milliseconds(20);

// A failure after which reconnecting may help (broker down, connection cut, channel closed).
class TransientAmqpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One AMQP connection with channel 1 in confirm mode (amqp_connection.h), its failures sorted into
// "reconnect later" (TransientAmqpError) and "give up" (DeliveryError).
class Connection {
 public:
  explicit Connection(const AmqpSinkOptions& options) : amqp_(open(options)) {}

  amqp_connection_state_t state() const { return amqp_->state(); }

  // Polite goodbye when the connection is still healthy; never hangs the run.
  void close() { amqp_->close(kChannel, std::chrono::milliseconds(2000)); }

 private:
  static std::unique_ptr<AmqpConnection> open(const AmqpSinkOptions& options) {
    try {
      auto connection = std::make_unique<AmqpConnection>(
          options.connection,
          AmqpConnectionOptions{.heartbeat_seconds = options.heartbeat_seconds,
                                .connect_timeout = options.connect_timeout,
                                .context = {}});
      connection->open_channel(kChannel);
      connection->select_confirms(kChannel);
      connection->opened();
      return connection;
    } catch (const AmqpConnectionError& error) {
      if (error.retryable()) throw TransientAmqpError(error.what());
      throw DeliveryError(error.what());
    }
  }

  std::unique_ptr<AmqpConnection> amqp_;
};

// The messages of one send() or send_all(), bundle by bundle: what addExpectations is about.
struct Group {
  std::vector<std::vector<PublishLedger::NewMessage>> bundles;
  std::size_t messages = 0;
};

// What the caller's thread, the announcer and the I/O thread share, under AmqpSink::mutex_.
struct SharedState {
  std::deque<Group> unannounced;       // groups waiting for addExpectations, oldest first
  std::size_t unannounced_messages = 0;
  std::deque<std::vector<PublishLedger::NewMessage>> submitted;  // bundles not yet taken by the I/O thread
  std::optional<std::string> failure;  // why the run's delivery failed (the I/O thread stopped)
  bool abandon = false;                // end of the run: the I/O thread closes and exits
  bool connect_attempted = false;      // the run's first connection attempt is over
  std::size_t retained = 0;            // messages submitted (announced or not), not yet confirmed
  bool platform_slow = false;          // the last addExpectations answer took kSlowAnnouncement or more
  Ticket confirmed = 0;
  SinkStats stats;
};

// The I/O thread was told to stop (end of run) while it waited.
struct Abandoned {};

class AmqpSink final : public Sink {
 public:
  AmqpSink(AmqpSinkOptions options, AddExpectations add_expectations, Clock& clock)
      : options_(std::move(options)), add_expectations_(std::move(add_expectations)), clock_(clock) {
    wakeup_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeup_fd_ < 0) throw std::runtime_error("cannot create an eventfd for the RabbitMQ sink");
  }

  ~AmqpSink() override {
    stop_threads();
    ::close(wakeup_fd_);
  }

  void begin_run(const RunContext& context) override {
    // Whatever an abandoned run left is dropped (it was never confirmed); tickets count from 1.
    stop_threads();
    context_ = context;
    envelope_ = QueueEnvelope(MessageFields{.applicant_id = options_.applicant_id, .action_sequence = 1,
                                            .update = context.update, .work_id = context.work_id,
                                            .draft_id = options_.draft_id});
    announcing_ = context_.work_id && add_expectations_;
    run_base_ = shared_.stats;  // stats add up over the sink's life
    run_base_.in_flight = 0;
    shared_ = SharedState{};
    shared_.stats = run_base_;
    last_ticket_ = 0;
    failure_reported_ = false;
    start_threads();
  }

  Ticket send(const stix::Bundle& bundle) override {
    const stix::Bundle* one[] = {&bundle};
    return submit(one);
  }

  std::optional<Ticket> send_all(std::span<const stix::Bundle> bundles) override {
    std::vector<const stix::Bundle*> group;
    for (const auto& bundle : bundles) {
      if (bundle.size() > 0) group.push_back(&bundle);
    }
    if (group.empty()) return std::nullopt;
    return submit(group);
  }

  Ticket confirmed() const override {
    std::lock_guard lock(mutex_);
    return shared_.confirmed;
  }

  void flush() override {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return shared_.failure || shared_.confirmed >= last_ticket_; });
    throw_if_failed(lock, "the unconfirmed bundles are not delivered");
  }

  void end_run() override {
    struct Cleanup {
      AmqpSink& sink;
      ~Cleanup() { sink.stop_threads(); }
    } cleanup{*this};
    bool failed;
    {
      std::lock_guard lock(mutex_);
      failed = shared_.failure.has_value();
    }
    if (!failed) flush();
  }

  SinkStats stats() const override {
    std::lock_guard lock(mutex_);
    return shared_.stats;
  }

  std::string describe() const override {
    return "RabbitMQ " + amqp_endpoint_text(options_.connection) + " exchange " + options_.exchange + " routing " +
           options_.routing_key;
  }

 private:
  // ---------------------------------------------------------------------------------------------
  // The caller's side: split and hand over, without waiting for OpenCTI.

  Ticket submit(std::span<const stix::Bundle* const> bundles) {
    {
      std::unique_lock lock(mutex_);
      throw_if_failed(lock, "nothing more is sent");
    }
    if (!io_thread_.joinable()) begin_run(context_);  // send() without begin_run(), or after end_run()
    Group group;
    std::size_t objects = 0;
    for (const stix::Bundle* bundle : bundles) {
      group.bundles.push_back(queue_messages(*bundle));
      group.messages += group.bundles.back().size();
      objects += bundle->size();
    }
    const std::size_t total = group.messages;

    std::unique_lock lock(mutex_);
    throw_if_failed(lock, "nothing more is sent");
    last_ticket_ += bundles.size();
    shared_.retained += total;
    shared_.stats.bundles += bundles.size();
    shared_.stats.objects += objects;
    shared_.stats.messages += total;
    if (announcing_) {
      // pycti adds the expectations before publishing, so the work never looks finished early: the
      // announcer thread makes the call (while this thread waits below), the I/O thread connects.
      shared_.unannounced_messages += total;
      shared_.unannounced.push_back(std::move(group));
      announce_wanted_.notify_one();
    } else {
      hand_to_io_thread(std::move(group));
    }
    wake_io_thread();
    // Back-pressure: the caller goes on once the held messages (unconfirmed bundles, announced or not,
    // this group's included) leave room for the next group (sinks README, "Room").
    changed_.wait(lock, [&] { return shared_.failure || shared_.retained <= room_left_after(total); });
    throw_if_failed(lock, "nothing more is sent");
    // The first send of a run waits for the first connection attempt, so that a configuration
    // error (TLS files, credentials) is reported by the call that needed the connection.
    if (total > 0) {
      changed_.wait(lock, [&] { return shared_.failure || shared_.connect_attempted; });
      throw_if_failed(lock, "nothing more is sent");
    }
    return last_ticket_;
  }

  // How many held messages send() lets stand once a group of `total` is handed over; call with the
  // lock held. The next group is made (mapped, split) while the held ones go out. Normally room for
  // one as big as this one is left within max_retained (a group of more than half of it waits only
  // for the earlier groups), so the peak stays about max_retained. While OpenCTI answers slowly, up
  // to max_retained are held with this group: the groups made meanwhile wait for their announcement
  // together and share one call, instead of one slow call per group.
  std::size_t room_left_after(std::size_t total) const {
    if (shared_.platform_slow) return std::max(options_.max_retained, total);
    const std::size_t rest = options_.max_retained - std::min(total, options_.max_retained);
    return std::max(rest, total);
  }

  // Call with the lock held.
  void hand_to_io_thread(Group group) {
    for (auto& bundle_messages : group.bundles) shared_.submitted.push_back(std::move(bundle_messages));
  }

  // The ledger keeps each message's bundle JSON, not its queue envelope: base64 makes the envelope a
  // third bigger, and up to max_retained messages wait in the ledger. The I/O thread wraps each one
  // when it publishes it (wire_message()), byte for byte what queue_message() makes.
  std::vector<PublishLedger::NewMessage> queue_messages(const stix::Bundle& bundle) const {
    std::vector<PublishLedger::NewMessage> messages;
    if (bundle.size() == 0) return messages;
    if (options_.mode == AmqpMessageMode::WholeBundle) {
      messages.push_back({0, whole_bundle_json(bundle)});
      messages.back().body.shrink_to_fit();
      return messages;
    }
    auto split = split_bundle(bundle);
    messages.reserve(split.size());
    for (auto& message : split) {
      message.bundle_json.shrink_to_fit();  // no-op for the splitter's exactly sized bodies; kept for safety
      messages.push_back({message.nb_deps, std::move(message.bundle_json)});
    }
    return messages;
  }

  // The queue envelope of the bundle stored at `position` in its ticket (action_sequence 1, 2, …), in wire_.
  const std::string& wire_message(const std::string& bundle_json, std::size_t position) {
    envelope_.write(static_cast<int>(position) + 1, bundle_json, wire_);
    return wire_;
  }

  // The first caller to see a failure gets its reason; later calls say it failed earlier.
  void throw_if_failed(std::unique_lock<std::mutex>&, const std::string& consequence) {
    if (!shared_.failure) return;
    if (!std::exchange(failure_reported_, true)) throw DeliveryError(*shared_.failure);
    throw DeliveryError("RabbitMQ sink failed earlier in this run (" + *shared_.failure + "): " + consequence);
  }

  void start_threads() {
    {
      std::lock_guard lock(mutex_);
      shared_.abandon = false;
    }
    io_thread_ = std::thread([this] { io_main(); });
    if (announcing_) announcer_thread_ = std::thread([this] { announcer_main(); });
  }

  // The announcer may be inside an addExpectations call: joining it waits for that call's answer
  // (or the OpenCTI client's timeout), as the caller's thread waited before the announcer existed.
  void stop_threads() {
    if (!io_thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      shared_.abandon = true;
    }
    announce_wanted_.notify_all();
    wake_io_thread();
    io_thread_.join();
    if (announcer_thread_.joinable()) announcer_thread_.join();
  }

  void wake_io_thread() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wakeup_fd_, &one, sizeof one);
  }

  // ---------------------------------------------------------------------------------------------
  // The announcer thread: the only one that calls addExpectations. While one call waits for OpenCTI,
  // the groups submitted meanwhile gather; the next call announces all of them, so the slower the
  // platform answers, the more groups share a call.

  void announcer_main() {
    while (announce_waiting_groups()) {
    }
  }

  // Announces every group waiting in one call, then hands them to the I/O thread in order; false at
  // the end of the run or after a failure (then nothing of the groups is published).
  bool announce_waiting_groups() {
    std::size_t groups = 0;
    std::size_t messages = 0;
    {
      std::unique_lock lock(mutex_);
      announce_wanted_.wait(lock, [&] { return shared_.abandon || shared_.failure || !shared_.unannounced.empty(); });
      if (shared_.abandon || shared_.failure) return false;
      groups = shared_.unannounced.size();  // only this thread removes groups: these stay the oldest
      messages = shared_.unannounced_messages;
    }
    const auto asked = std::chrono::steady_clock::now();
    if (messages > 0 && !announce(messages)) return false;
    const bool slow = std::chrono::steady_clock::now() - asked >= kSlowAnnouncement;
    std::lock_guard lock(mutex_);
    if (messages > 0) {
      ++shared_.stats.announcements;
      shared_.platform_slow = slow;
      changed_.notify_all();  // the room send() waits for depends on it
    }
    if (shared_.abandon || shared_.failure) return false;
    for (std::size_t i = 0; i < groups; ++i) {
      shared_.unannounced_messages -= shared_.unannounced.front().messages;
      hand_to_io_thread(std::move(shared_.unannounced.front()));
      shared_.unannounced.pop_front();
    }
    wake_io_thread();
    return true;
  }

  // One addExpectations call, without the lock; a failure fails the run's delivery.
  bool announce(std::size_t expectations) {
    try {
      add_expectations_(*context_.work_id, static_cast<int>(expectations));
      return true;
    } catch (const std::exception& error) {
      std::lock_guard lock(mutex_);
      if (!shared_.failure) {
        shared_.failure = std::string("cannot add expectations to the OpenCTI work before publishing: ") + error.what();
      }
      wake_io_thread();
      changed_.notify_all();
      return false;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The I/O thread: the only one that touches the connection and the ledger.

  void io_main() {
    ledger_ = PublishLedger{};
    failures_in_a_row_ = 0;
    refusal_rounds_ = 0;
    republish_pending_ = false;
    refusal_logged_ = false;
    awaiting_announcement_ = false;
    announcement_awaited_since_.reset();
    last_error_.clear();
    try {
      io_loop();
    } catch (const Abandoned&) {
    } catch (const std::exception& error) {
      std::lock_guard lock(mutex_);
      if (!shared_.failure) shared_.failure = error.what();
    }
    disconnect(true);
    std::lock_guard lock(mutex_);
    shared_.connect_attempted = true;
    shared_.stats.in_flight = 0;
    changed_.notify_all();
  }

  void io_loop() {
    for (;;) {
      take_submissions();
      if (!connection_ && (!ledger_.idle() || awaiting_announcement_)) connect();
      if (connection_) {
        read_available_frames();
        publish_ready();
      }
      report_progress();
      wait_for_activity();
    }
  }

  // Moves what the caller submitted into the ledger; throws Abandoned at the end of the run.
  void take_submissions() {
    std::uint64_t drained;
    [[maybe_unused]] auto read = ::read(wakeup_fd_, &drained, sizeof drained);
    std::deque<std::vector<PublishLedger::NewMessage>> submitted;
    {
      std::lock_guard lock(mutex_);
      if (shared_.abandon || shared_.failure) throw Abandoned{};
      submitted.swap(shared_.submitted);
      awaiting_announcement_ = !shared_.unannounced.empty();
    }
    if (!submitted.empty()) announcement_awaited_since_.reset();  // the announcer made progress
    for (auto& messages : submitted) ledger_.add_ticket(std::move(messages));
  }

  void report_progress() {
    std::lock_guard lock(mutex_);
    const auto& counts = ledger_.counts();
    SinkStats& stats = shared_.stats;
    const Ticket confirmed = ledger_.confirmed_ticket();
    const std::size_t retained = ledger_.retained() + queued_messages();
    const bool changed = confirmed != shared_.confirmed || retained != shared_.retained;
    stats.confirmed = run_base_.confirmed + counts.confirmed;
    stats.republished = run_base_.republished + counts.republished;
    stats.nacked = run_base_.nacked + counts.nacked;
    stats.returned = run_base_.returned + counts.returned;
    stats.in_flight = ledger_.in_flight();
    shared_.confirmed = confirmed;
    shared_.retained = retained;
    if (changed) changed_.notify_all();
  }

  // Messages the caller submitted that the ledger has not taken yet (call with the lock held).
  std::size_t queued_messages() const {
    std::size_t n = shared_.unannounced_messages;
    for (const auto& messages : shared_.submitted) n += messages.size();
    return n;
  }

  void publish_ready() {
    std::size_t since_read = 0;
    while (connection_) {
      if (republish_pending_) {
        pause_before_republishing();
        continue;
      }
      if (ledger_.in_flight() >= options_.window) return;
      const std::string* body = ledger_.next_body();
      if (body == nullptr) return;
      if (!publish(wire_message(*body, ledger_.next_position()))) return;  // connection lost: everything unconfirmed is queued again
      ledger_.published(next_tag_++);
      last_activity_ = std::chrono::steady_clock::now();
      if (++since_read >= 64) {  // take acks now and then so the window rarely fills
        since_read = 0;
        read_available_frames();
      }
    }
  }

  // Sleeps until the connection or the caller has something, at most 100 ms (the stop request and
  // the heartbeats are looked at every turn).
  void wait_for_activity() {
    const bool can_publish = connection_ && !republish_pending_ && ledger_.in_flight() < options_.window &&
                             ledger_.next_body() != nullptr;
    if (can_publish) return;
    if (connection_ && (amqp_data_in_buffer(connection_->state()) || amqp_frames_enqueued(connection_->state()))) return;
    if (connection_ && ledger_.in_flight() > 0) check_confirm_progress();
    check_announcement_progress();
    pollfd fds[2] = {{wakeup_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
    if (connection_) fds[1].fd = amqp_get_sockfd(connection_->state());
    ::poll(fds, fds[1].fd >= 0 ? 2 : 1, 100);
  }

  void check_confirm_progress() {
    const auto silent = std::chrono::steady_clock::now() - last_activity_;
    if (silent > std::chrono::seconds(1)) throw_if_stopping();  // a healthy broker confirms within milliseconds
    if (silent > options_.confirm_timeout) {
      connection_lost("no publisher confirm within " + std::to_string(options_.confirm_timeout.count()) + " ms");
    }
  }

  // A healthy OpenCTI answers addExpectations within a second; a stop request waits no longer.
  void check_announcement_progress() {
    if (!awaiting_announcement_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!announcement_awaited_since_) announcement_awaited_since_ = now;
    if (now - *announcement_awaited_since_ > std::chrono::seconds(1)) throw_if_stopping();
  }

  // One pause for every message refused since the last one (not one per nack/return), and a bound:
  // a broker that refuses everything for many rounds fails the run instead of looping forever.
  void pause_before_republishing() {
    if (++refusal_rounds_ > options_.max_republish_rounds) {
      throw DeliveryError("RabbitMQ " + amqp_endpoint_text(options_.connection) + " kept refusing or returning messages on exchange " +
                          options_.exchange + " routing " + options_.routing_key + " (" +
                          std::to_string(options_.max_republish_rounds) +
                          " rounds without a confirm) — check that the OpenCTI platform is running (it declares and binds "
                          "the push queue) and the queue's limits; nothing unconfirmed was counted as delivered");
    }
    pause(options_.retry_delay);
    republish_pending_ = false;  // refusals that arrived during the pause go out in this round
    refusal_logged_ = false;     // one warning per round
  }

  // Sleeps on the clock in short slices; between them the connection is serviced (confirms,
  // heartbeats) and a stop request or the end of the run is noticed.
  void pause(std::chrono::milliseconds duration) {
    constexpr std::chrono::milliseconds kSlice{100};
    while (duration > std::chrono::milliseconds::zero()) {
      throw_if_stopping();
      const auto slice = std::min(duration, kSlice);
      clock_.sleep_for(slice);
      duration -= slice;
      if (connection_) read_available_frames();
      std::lock_guard lock(mutex_);
      if (shared_.abandon) throw Abandoned{};
    }
    throw_if_stopping();
  }

  void throw_if_stopping() const {
    if (!options_.should_stop || !options_.should_stop()) return;
    std::size_t unannounced = 0;
    {
      std::lock_guard lock(mutex_);
      unannounced = shared_.unannounced_messages;
    }
    throw DeliveryError("stopping while " + std::to_string(ledger_.waiting() + ledger_.in_flight() + unannounced) +
                        " messages were not confirmed by RabbitMQ " + amqp_endpoint_text(options_.connection) +
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

  // Handles every frame that is already there (never blocks); rabbitmq-c sends a due heartbeat here.
  void read_available_frames() {
    for (int frames = 0; connection_ && frames < 10000; ++frames) {
      if (!read_frame()) return;
    }
  }

  // Reads one frame if one is there; returns true when something was handled.
  bool read_frame() {
    amqp_connection_state_t state = connection_->state();
    amqp_maybe_release_buffers(state);
    amqp_frame_t frame{};
    timeval immediately{};
    int status = amqp_simple_wait_frame_noblock(state, &frame, &immediately);
    if (status == AMQP_STATUS_TIMEOUT) return false;
    if (status != AMQP_STATUS_OK) {
      connection_lost(amqp_error_string2(status));
      return false;
    }
    last_activity_ = std::chrono::steady_clock::now();
    if (frame.frame_type != AMQP_FRAME_METHOD) return true;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        const auto before = ledger_.counts();
        ledger_.ack(ack->delivery_tag, ack->multiple != 0);
        after_reply(before);
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
        const auto before = ledger_.counts();
        ledger_.nack(nack->delivery_tag, nack->multiple != 0);
        if (ledger_.counts().nacked > before.nacked && !std::exchange(refusal_logged_, true)) {
          spdlog::warn("RabbitMQ refused (nack) a message; publishing it again with what depends on it");
        }
        after_reply(before);
        break;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        const auto* returned = static_cast<const amqp_basic_return_t*>(frame.payload.method.decoded);
        const std::string reason = amqp_bytes_text(returned->reply_text);
        amqp_message_t message{};
        amqp_rpc_reply_t reply = amqp_read_message(state, frame.channel, &message, 0);
        if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
          connection_lost("cannot read a returned message");
          break;
        }
        if (!std::exchange(refusal_logged_, true)) {
          spdlog::warn("RabbitMQ returned a message as unroutable ({}) on exchange {} routing {}: is the OpenCTI "
                       "platform up (it binds the push queue)? Publishing it again",
                       reason, options_.exchange, options_.routing_key);
        }
        const std::string_view returned_body(static_cast<const char*>(message.body.bytes), message.body.len);
        ledger_.returned([&](const std::string& bundle_json, std::size_t position) {
          return wire_message(bundle_json, position) == returned_body;
        });
        amqp_destroy_message(&message);
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD: {
        const auto* close = static_cast<const amqp_channel_close_t*>(frame.payload.method.decoded);
        std::string text = amqp_bytes_text(close->reply_text);
        amqp_channel_close_ok_t ok{};
        amqp_send_method(state, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        connection_lost("channel closed by RabbitMQ: " + text +
                        (close->reply_code == AMQP_NOT_FOUND ? " (the exchange does not exist: is OpenCTI registered?)" : ""));
        break;
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        const auto* close = static_cast<const amqp_connection_close_t*>(frame.payload.method.decoded);
        std::string text = amqp_bytes_text(close->reply_text);
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

  // After an ack or nack: refused messages wait retry_delay; a confirm means the broker takes ours again.
  void after_reply(const LedgerCounts& before) {
    const auto& now = ledger_.counts();
    if (now.republished > before.republished) republish_pending_ = true;
    if (now.confirmed > before.confirmed) {
      failures_in_a_row_ = 0;
      refusal_rounds_ = 0;
    }
  }

  void connection_lost(const std::string& reason) {
    last_error_ = reason;
    ++failures_in_a_row_;
    spdlog::warn("RabbitMQ connection lost ({}): {} unconfirmed messages will be published again", reason,
                 ledger_.in_flight());
    disconnect(false);
    ledger_.connection_lost();
  }

  void disconnect(bool polite) {
    if (!connection_) return;
    if (polite) connection_->close();
    connection_.reset();
  }

  void connect() {
    while (!connection_) {
      if (failures_in_a_row_ >= options_.max_reconnect_attempts) {
        throw DeliveryError("RabbitMQ " + amqp_endpoint_text(options_.connection) + " still failing after " +
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
        last_activity_ = std::chrono::steady_clock::now();
        if (failures_in_a_row_ > 0) {
          std::lock_guard lock(mutex_);
          ++shared_.stats.reconnects;
        }
      } catch (const TransientAmqpError& error) {
        last_error_ = error.what();
        ++failures_in_a_row_;
        spdlog::warn("{} (attempt {})", error.what(), failures_in_a_row_);
      }
      std::lock_guard lock(mutex_);
      if (!shared_.connect_attempted) {
        shared_.connect_attempted = true;
        changed_.notify_all();
      }
    }
  }

  AmqpSinkOptions options_;
  AddExpectations add_expectations_;
  Clock& clock_;
  RunContext context_;

  // Caller's side.
  bool announcing_ = false;       // this run announces (it has a work and an addExpectations call)
  Ticket last_ticket_ = 0;        // tickets handed out in this run
  bool failure_reported_ = false;

  // Shared.
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // confirmed, retained, failure or connect_attempted changed
  std::condition_variable announce_wanted_;  // a group waits for announcement, or the run ends
  SharedState shared_;
  SinkStats run_base_;               // totals of earlier runs (the ledger counts this run only)
  int wakeup_fd_ = -1;
  std::thread io_thread_;
  std::thread announcer_thread_;

  // I/O thread's side.
  QueueEnvelope envelope_;          // the run's queue envelope (set by begin_run, before the thread starts)
  std::string wire_;                // the message being published, reused
  std::unique_ptr<Connection> connection_;
  PublishLedger ledger_;
  DeliveryTag next_tag_ = 1;
  bool awaiting_announcement_ = false;  // groups wait for the announcer (connect meanwhile)
  std::optional<std::chrono::steady_clock::time_point> announcement_awaited_since_;
  std::chrono::steady_clock::time_point last_activity_{};  // last frame received or message published
  bool republish_pending_ = false;  // refused messages wait retry_delay before going out again
  bool refusal_logged_ = false;     // this round's refusal was logged
  int refusal_rounds_ = 0;          // pauses since the broker last confirmed something
  int failures_in_a_row_ = 0;
  std::string last_error_;
};

}  // namespace

std::unique_ptr<Sink> make_amqp_sink(AmqpSinkOptions options, AddExpectations add_expectations, Clock& clock) {
  return std::make_unique<AmqpSink>(std::move(options), std::move(add_expectations), clock);
}

}  // namespace kfc::sinks
