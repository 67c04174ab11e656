// A real broker restart in the middle of a run (its own executable: ctest runs it alone, RUN_SERIAL,
// because stopping the shared broker would disturb every other AMQP test running at the same time).
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <thread>

#include "kfc/fixtures/amqp_consumer.h"
#include "kfc/fixtures/log_capture.h"
#include "kfc/fixtures/manual_clock.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/fixtures/tcp_proxy.h"
#include "kfc/fixtures/wait_until.h"
#include "kfc/sinks/amqp_sink.h"
#include "local_broker.h"
#include "stage_bundles.h"

namespace kfc::sinks {
namespace {

using fixtures::AmqpTestBroker;
using fixtures::WorkerExpectations;
using test_bundles::ids_of;
using test_bundles::kApplicant;
using test_bundles::random_id;
using test_bundles::stage;

class BrokerRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KFC_REQUIRE_RABBITMQ();
    broker = std::make_unique<AmqpTestBroker>();
    connector_id = random_id();
    queue = broker->prepare_push_queue(connector_id);
  }

  AmqpSinkOptions options() const {
    AmqpSinkOptions options = test_broker::options_for(queue, kApplicant);
    options.window = 50;
    return options;
  }

  std::unique_ptr<AmqpTestBroker> broker;
  std::string connector_id;
  fixtures::PushQueue queue;
  ManualClock clock{std::chrono::system_clock::now()};
};

// The broker process restarts in the middle of a run: nothing is lost. Stops the shared broker
// application for a few seconds; it is always started again, even when the test fails.
TEST_F(BrokerRestartTest, BrokerRestartMidRunLosesNothing) {
  struct RestartGuard {
    ~RestartGuard() {
      fixtures::rabbitmqctl("start_app");
      fixtures::wait_for_rabbitmq(std::chrono::seconds(60));
    }
  } guard;
  SystemClock real_clock;
  auto opts = options();
  opts.reconnect_initial = std::chrono::milliseconds(250);
  opts.reconnect_max = std::chrono::milliseconds(2000);
  opts.max_reconnect_attempts = 120;
  fixtures::LogCapture logs;
  auto sink = make_amqp_sink(opts, {}, real_clock);
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
  std::set<std::string> received;
  for (const auto& message : after.drain(queue.queue)) {
    EXPECT_EQ(message.problems({.applicant_id = kApplicant, .work_id = std::string("work-restart"), .one_object_per_message = true}),
              std::vector<std::string>{});
    received.insert(message.object_ids().at(0));
  }
  auto expected = ids_of(first);
  auto more = ids_of(second);
  expected.insert(more.begin(), more.end());
  EXPECT_EQ(received, expected);
}

// The broker goes down after every message went out and before any confirm came back (held by a
// proxy so the order is certain): flush reconnects once the broker is back and publishes them again.
TEST_F(BrokerRestartTest, BrokerDownWhileFlushWaitsForConfirmsLosesNothing) {
  struct RestartGuard {
    ~RestartGuard() {
      fixtures::rabbitmqctl("start_app");
      fixtures::wait_for_rabbitmq(std::chrono::seconds(60));
    }
  } guard;
  SystemClock real_clock;
  fixtures::TcpProxy network(5672);
  auto opts = options();
  opts.connection.port = network.port();
  opts.reconnect_initial = std::chrono::milliseconds(250);
  opts.reconnect_max = std::chrono::milliseconds(2000);
  opts.max_reconnect_attempts = 120;
  fixtures::LogCapture logs;
  auto sink = make_amqp_sink(opts, {}, real_clock);
  sink->begin_run({.work_id = std::string("work-restart-flush"), .update = false});
  sink->send(stage(0, "warm-up"));  // connected through the proxy
  sink->flush();
  network.hold_replies();  // the broker's confirms stop reaching the sink
  stix::Bundle bundle;
  bundle.id = "bundle--flat";
  auto& alloc = bundle.objects.GetAllocator();
  for (int i = 0; i < 40; ++i) {  // one dependency rank: all 40 go out before any confirm
    rapidjson::Value object(rapidjson::kObjectType);
    object.AddMember("type", "identity", alloc);
    object.AddMember("id", rapidjson::Value(("identity--flat-" + std::to_string(i)).c_str(), alloc), alloc);
    bundle.objects.PushBack(object, alloc);
  }
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
  std::set<std::string> received;
  for (const auto& message : after.drain(queue.queue)) {
    EXPECT_EQ(message.problems({.applicant_id = kApplicant, .work_id = std::string("work-restart-flush"),
                                .one_object_per_message = true}),
              std::vector<std::string>{});
    received.insert(message.object_ids().at(0));
  }
  auto expected = ids_of(bundle);
  expected.insert("identity--warm-up");
  for (const auto& id : expected) EXPECT_TRUE(received.contains(id)) << id;
}

}  // namespace
}  // namespace kfc::sinks
