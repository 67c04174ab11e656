#pragma once
// A registered connector's life with the platform: registration (retried while OpenCTI is
// unreachable), the connector state kept locally and stored by pings, the ping thread (every 40 s,
// with connectorInfo), remote resets, and the forced ping before exit.
//
//   auto session = OpenCtiSession::connect(settings, clock, {});   // healthCheck + register, ping thread
//   auto state = session->state();               // JSON text or nullopt (nullopt: start from initial_history)
//   auto& api = session->api();                  // work, queue details, existing ids (run-loop thread only)
//   ... run ...; session->set_state(R"({"last_added": 1700000000})"); session->force_ping();
//
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kfc/http/retry.h"
#include "kfc/opencti/client.h"

namespace kfc::opencti {

// The connector state as pycti holds it: JSON text, set locally, stored on the platform by pings.
// Thread-safe (the run loop sets it, the ping thread sends it).
class StateStore {
 public:
  explicit StateStore(std::optional<std::string> initial = std::nullopt);
  // nullopt when there is no state (never stored, or reset in the UI).
  std::optional<std::string> get() const;
  void set(std::optional<std::string> state_json);
  // A ping answered with an empty connector_state although one was sent: the user pressed
  // "Reset state". Clears the local state (unless it changed meanwhile) and raises the reset flag.
  void remote_reset(const std::optional<std::string>& sent);
  // True once after each remote reset (the run loop restarts from initial_history).
  bool take_reset();
  bool reset_pending() const;

 private:
  mutable std::mutex mutex_;
  std::optional<std::string> state_;
  bool reset_pending_ = false;
};

// connectorInfo the pings carry; the run loop updates it (thread-safe).
class InfoStore {
 public:
  ConnectorInfo get() const;
  void update(const std::function<void(ConnectorInfo&)>& change);

 private:
  mutable std::mutex mutex_;
  ConnectorInfo info_;
};

struct SessionOptions {
  std::chrono::milliseconds ping_interval{40000};
  TransportFactory transport_factory;    // default: libcurl with opencti.ssl_verify
  bool start_ping_thread = true;
  // Registration retry while OpenCTI is unreachable: backoff doubles from 2 s up to 60 s, on the
  // session's clock, forever by default (max_attempts 0). `should_stop` (e.g. a signal) ends the
  // waiting with OpenCtiUnavailableError.
  http::RetryPolicy retry{.max_attempts = 0,
                          .initial_backoff = std::chrono::milliseconds{2000},
                          .max_backoff = std::chrono::milliseconds{60000},
                          .max_retry_after = std::chrono::milliseconds{60000},  // GraphQL sends none
                          .long_retry_after = http::LongRetryAfter::WaitTheMaximum,
                          .jitter = 0.0};
  std::function<bool()> should_stop;
  // After every ping (thread or forced): nullopt when the platform answered, else what went wrong.
  // Health and metrics listen here; called from the pinging thread.
  std::function<void(const std::optional<std::string>& error)> on_ping;
};

class OpenCtiSession {
 public:
  // healthCheck + registerConnector (retried with backoff while unreachable; a rejected token or a
  // GraphQL error is thrown at once), then starts the ping thread.
  static std::unique_ptr<OpenCtiSession> connect(const Settings& settings, Clock& clock, SessionOptions options);
  ~OpenCtiSession();  // stops the ping thread (no final ping: call force_ping() first)
  OpenCtiSession(const OpenCtiSession&) = delete;
  OpenCtiSession& operator=(const OpenCtiSession&) = delete;

  const Registration& registration() const noexcept { return registration_; }
  const std::string& connector_id() const noexcept { return registration_.connector_id; }

  std::optional<std::string> state() const { return state_.get(); }
  void set_state(std::optional<std::string> state_json) { state_.set(std::move(state_json)); }
  // True once after the platform reported a reset (see StateStore::remote_reset).
  bool take_reset() { return state_.take_reset(); }
  InfoStore& info() noexcept { return info_; }

  // Pings now from the caller's thread (own transport), so the state is stored before exit.
  // Throws when the ping fails (the caller decides whether that is fatal).
  void force_ping();
  void stop_ping_thread();
  // Pings done by the thread so far (successful or not) — for logs and tests.
  std::uint64_t pings_done() const noexcept { return pings_done_.load(); }

  // The OpenCTI API for the run-loop thread (work, queue details, bundle push, existing ids).
  OpenCtiClient& api() noexcept { return *api_; }
  // A new client with its own transport, for another thread.
  std::unique_ptr<OpenCtiClient> new_client() const;

 private:
  OpenCtiSession(GraphqlOptions graphql, TransportFactory factory, Clock& clock, Registration registration,
                 std::function<void(const std::optional<std::string>&)> on_ping);
  void ping_once(OpenCtiClient& client);
  void ping_loop(std::chrono::milliseconds interval);

  GraphqlOptions graphql_;
  TransportFactory factory_;
  Clock& clock_;
  Registration registration_;
  StateStore state_;
  InfoStore info_;
  std::unique_ptr<OpenCtiClient> api_;

  std::mutex ping_mutex_;  // one ping at a time (thread or forced)
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> pings_done_{0};
  std::function<void(const std::optional<std::string>&)> on_ping_;
  std::thread ping_thread_;
};

}  // namespace kfc::opencti
