#include "kfc/opencti/session.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include "kfc/json/untrusted.h"

namespace kfc::opencti {
namespace {

// Two state texts mean the same state when they parse to equal JSON (pycti compares dicts).
bool same_state(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  if (!a || !b) return !a && !b;
  rapidjson::Document left, right;
  if (!json::parse(left, *a) || !json::parse(right, *b)) return *a == *b;
  return left == right;
}

}  // namespace

StateStore::StateStore(std::optional<std::string> initial) : state_(std::move(initial)) {}

std::optional<std::string> StateStore::get() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void StateStore::set(std::optional<std::string> state_json) {
  std::lock_guard lock(mutex_);
  state_ = std::move(state_json);
}

void StateStore::remote_reset(const std::optional<std::string>& sent) {
  std::lock_guard lock(mutex_);
  // A state set by the run loop while the ping was on its way is newer than the reset: keep it.
  if (same_state(state_, sent)) state_.reset();
  reset_pending_ = true;
}

bool StateStore::take_reset() {
  std::lock_guard lock(mutex_);
  return std::exchange(reset_pending_, false);
}

bool StateStore::reset_pending() const {
  std::lock_guard lock(mutex_);
  return reset_pending_;
}

ConnectorInfo InfoStore::get() const {
  std::lock_guard lock(mutex_);
  return info_;
}

void InfoStore::update(const std::function<void(ConnectorInfo&)>& change) {
  std::lock_guard lock(mutex_);
  change(info_);
}

std::unique_ptr<OpenCtiSession> OpenCtiSession::connect(const Settings& settings, Clock& clock,
                                                        SessionOptions options) {
  GraphqlOptions graphql{.url = settings.opencti.url,
                         .token = settings.opencti.token,
                         .custom_headers = settings.opencti.custom_headers};
  TransportFactory factory = options.transport_factory
                                 ? options.transport_factory
                                 : curl_transport_factory(settings.opencti, graphql.user_agent);
  // Registration alone may be abandoned by a stop request: later calls (the final ping storing the
  // state) must complete while the process stops.
  TransportFactory registering = options.transport_factory
                                     ? options.transport_factory
                                     : curl_transport_factory(settings.opencti, graphql.user_agent, options.should_stop);
  OpenCtiClient client(graphql, registering(), clock);
  const ConnectorIdentity identity = identity_from(settings.connector);

  http::Backoff backoff(options.retry);
  for (int attempt = 1;; ++attempt) {
    try {
      Registration registration = client.register_connector(identity, settings.mq);
      spdlog::info("Connector registered with OpenCTI {} (platform {}), id {}", graphql.url,
                   registration.platform_version, registration.connector_id);
      auto session = std::unique_ptr<OpenCtiSession>(
          new OpenCtiSession(graphql, factory, clock, std::move(registration), options.on_ping));
      if (options.on_ping) options.on_ping(std::nullopt);  // registration is the platform's first answer
      session->info_.update([&](ConnectorInfo& info) {
        info.run_and_terminate = settings.connector.run_and_terminate;
        info.queue_threshold = settings.connector.queue_threshold_mb;
      });
      if (options.start_ping_thread) {
        session->ping_thread_ = std::thread([s = session.get(), interval = options.ping_interval] { s->ping_loop(interval); });
      }
      return session;
    } catch (const OpenCtiUnavailableError& error) {
      if (!options.retry.allows_attempt_after(attempt)) throw;
      if (options.should_stop && options.should_stop()) throw;
      const auto delay = backoff.delay(attempt);
      spdlog::warn("{} — attempt {}, retrying registration in {} s", error.what(), attempt,
                   std::chrono::duration_cast<std::chrono::seconds>(delay).count());
      if (!sleep_unless_stopping(clock, delay, options.should_stop)) throw;  // a stop ends the backoff at once
    }
  }
}

OpenCtiSession::OpenCtiSession(GraphqlOptions graphql, TransportFactory factory, Clock& clock,
                               Registration registration,
                               std::function<void(const std::optional<std::string>&)> on_ping)
    : graphql_(std::move(graphql)),
      factory_(std::move(factory)),
      clock_(clock),
      registration_(std::move(registration)),
      state_(registration_.state),
      api_(new_client()),
      on_ping_(std::move(on_ping)) {}

OpenCtiSession::~OpenCtiSession() { stop_ping_thread(); }

std::unique_ptr<OpenCtiClient> OpenCtiSession::new_client() const {
  return std::make_unique<OpenCtiClient>(graphql_, factory_(), clock_);
}

void OpenCtiSession::stop_ping_thread() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ping_thread_.joinable()) ping_thread_.join();
}

void OpenCtiSession::ping_once(OpenCtiClient& client) {
  std::lock_guard lock(ping_mutex_);
  const auto sent = state_.get();
  PingAnswer answer;
  try {
    answer = client.ping(registration_.connector_id, sent, info_.get());
  } catch (const std::exception& error) {
    if (on_ping_) on_ping_(std::string(error.what()));
    throw;
  }
  if (on_ping_) on_ping_(std::nullopt);
  if (!same_state(answer.state, sent)) {
    if (!answer.state) {
      state_.remote_reset(sent);
      spdlog::info("Connector state has been remotely reset: the next run starts from initial_history");
    } else {
      // The platform holds another state than ours (pycti keeps ours and stores it by pinging):
      // ours wins, it is sent again with the next ping.
      spdlog::debug("OpenCTI answered the ping with a different connector state; keeping the local one");
    }
  }
}

void OpenCtiSession::force_ping() {
  auto client = new_client();
  ping_once(*client);
}

void OpenCtiSession::ping_loop(std::chrono::milliseconds interval) {
  auto client = new_client();
  bool in_error = false;
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      ping_once(*client);
      if (in_error) spdlog::info("OpenCTI ping back to normal");
      in_error = false;
    } catch (const std::exception& error) {
      in_error = true;
      spdlog::error("Error pinging OpenCTI: {}", error.what());
    }
    pings_done_.fetch_add(1);
    lock.lock();
    wake_.wait_for(lock, interval, [this] { return stopping_; });
  }
}

}  // namespace kfc::opencti
