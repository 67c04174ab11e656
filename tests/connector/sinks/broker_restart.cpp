// A real broker restart in the middle of a run (its own executable: ctest runs it alone, RUN_SERIAL,
// because stopping the shared broker would disturb every other AMQP test running at the same time).
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <thread>

#include "amqp_sink_fixture.h"
#include "kfc/fixtures/log_capture.h"
#include "kfc/fixtures/wait_until.h"

namespace kfc::sinks {
namespace {

using namespace test_bundles;
using fixtures::AmqpTestBroker;

// Starts the broker application again when a test ends, even when it fails while the broker is down.
struct RestartGuard {
  ~RestartGuard() {
    fixtures::rabbitmqctl("start_app");
    fixtures::wait_for_rabbitmq(std::chrono::seconds(60));
  }
};

class BrokerRestartTest : public AmqpSinkFixture {
 protected:
  // Reconnects patient enough to outlast a broker restart.
  AmqpSinkOptions restart_options() const {
    AmqpSinkOptions opts = options();
    opts.reconnect_initial = std::chrono::milliseconds(250);
    opts.reconnect_max = std::chrono::milliseconds(2000);
    opts.max_reconnect_attempts = 120;
    return opts;
  }
};

// The broker process restarts in the middle of a run: nothing is lost. Stops the shared broker
// application for a few seconds; it is always started again, even when the test fails.
TEST_F(BrokerRestartTest, BrokerRestartMidRunLosesNothing) {
  RestartGuard guard;
  SystemClock real_clock;
  fixtures::LogCapture logs;
  auto sink = make_amqp_sink(restart_options(), {}, real_clock);
  sink->begin_run({.work_id = std::string("work-restart"), .update = false});
  auto first = stage(100, "before");
  sink->send(first);  // in flight, not flushed
  ASSERT_EQ(fixtures::rabbitmqctl("stop_app"), 0);
  std::thread restart([&] {
    // Back once the sink has failed to reach the stopped broker at least once.
    EXPECT_TRUE(fixtures::wait_until([&] { return logs.contains("(attempt "); }));
    fixtures::rabbitmqctl("start_app");
  });
  auto second = stage(100, "after");
  sink->send(second);  // publishes while the broker is down: reconnects with backoff
  sink->flush();
  restart.join();
  EXPECT_EQ(sink->confirmed(), 2u);
  EXPECT_GE(sink->stats().reconnects, 1u);

  ASSERT_TRUE(fixtures::wait_for_rabbitmq(std::chrono::seconds(60)));
  AmqpTestBroker after;
  const std::set<std::string> received = received_ids(after.drain(queue.queue), "work-restart");
  auto expected = ids_of(first);
  auto more = ids_of(second);
  expected.insert(more.begin(), more.end());
  EXPECT_EQ(received, expected);
}

// The broker goes down after every message went out and before any confirm came back (held by a
// proxy so the order is certain): flush reconnects once the broker is back and publishes them again.
TEST_F(BrokerRestartTest, BrokerDownWhileFlushWaitsForConfirmsLosesNothing) {
  RestartGuard guard;
  fixtures::LogCapture logs;
  ProxiedSink proxied(restart_options(), std::chrono::milliseconds(250));
  auto& network = proxied.network;
  auto& sink = proxied.sink;
  sink->begin_run({.work_id = std::string("work-restart-flush"), .update = false});
  sink->send(stage(0, "warm-up"));  // connected through the proxy
  sink->flush();
  network.hold_replies();  // the broker's confirms stop reaching the sink
  const stix::Bundle bundle = independent(40, "flat");  // one dependency rank: all 40 go out before any confirm
  sink->send(bundle);
  EXPECT_EQ(sink->confirmed(), 1u);
  std::thread restart([&] {
    {
      AmqpTestBroker own;  // down only once the broker holds every message (warm-up + 40)
      EXPECT_TRUE(fixtures::wait_until([&] { return own.depth(queue.queue) == 41u; }));
    }
    fixtures::rabbitmqctl("stop_app");
    EXPECT_TRUE(fixtures::wait_until([&] { return logs.contains("(attempt "); }));
    fixtures::rabbitmqctl("start_app");
  });
  sink->flush();  // waiting for confirms when the broker goes away
  restart.join();
  EXPECT_EQ(sink->confirmed(), 2u);
  EXPECT_GE(sink->stats().republished, 40u);
  EXPECT_GE(sink->stats().reconnects, 1u);

  ASSERT_TRUE(fixtures::wait_for_rabbitmq(std::chrono::seconds(60)));
  AmqpTestBroker after;
  const std::set<std::string> received = received_ids(after.drain(queue.queue), "work-restart-flush");
  auto expected = ids_of(bundle);
  expected.insert("identity--warm-up");
  for (const auto& id : expected) EXPECT_TRUE(received.contains(id)) << id;
}

}  // namespace
}  // namespace kfc::sinks
