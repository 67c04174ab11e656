// The AMQP sink against the real RabbitMQ broker, checked by a consumer that behaves like OpenCTI's
// worker; expectations go to the stand-in OpenCTI platform.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "amqp_sink_fixture.h"
#include "kfc/fixtures/log_capture.h"
#include "kfc/fixtures/opencti_server.h"
#include "kfc/fixtures/wait_until.h"

namespace kfc::sinks {
namespace {

using namespace test_bundles;
using fixtures::AmqpTestBroker;
using fixtures::WorkerExpectations;

// Where each object first and last arrived, for dependency-order checks (republishing may add
// duplicates).
struct Arrivals {
  std::map<std::string, std::size_t> first, last;
};
Arrivals arrivals(const std::vector<fixtures::WorkerMessage>& messages) {
  Arrivals at;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    at.first.emplace(messages[i].object_ids().at(0), i);
    at.last[messages[i].object_ids().at(0)] = i;
  }
  return at;
}

// stage(n, tag): the author before every indicator, each indicator before its relationship. What
// counts for the worker is that a copy of each object arrives after the first copy of what it
// needs: the ranks are pipelined, so when the broker refuses an indicator its relationship may
// already be queued; the sink then publishes the indicator again and the relationship after it.
void expect_dependency_order(const std::vector<fixtures::WorkerMessage>& messages, int indicators,
                             const std::string& tag = "a") {
  const Arrivals at = arrivals(messages);
  for (int i = 0; i < indicators; ++i) {
    const std::string indicator = "indicator--" + tag + "-" + std::to_string(i);
    const std::string relationship = "relationship--" + tag + "-" + std::to_string(i);
    ASSERT_TRUE(at.first.contains(indicator) && at.first.contains(relationship)) << indicator;
    EXPECT_LT(at.first.at("identity--" + tag), at.last.at(indicator)) << indicator;
    EXPECT_LT(at.first.at(indicator), at.last.at(relationship)) << relationship;
  }
}

// Waits (real time, up to `limit`) until the queue holds at least `depth` messages; returns the depth.
std::uint32_t wait_for_depth(AmqpTestBroker& broker, const std::string& queue, std::uint32_t depth,
                             std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::uint32_t now = 0;
  fixtures::wait_until([&] { return (now = broker.depth(queue)) >= depth; }, limit);
  return now;
}

using AmqpSinkTest = AmqpSinkFixture;

// The stand-in OpenCTI with a work, and the sink's addExpectations going to it through a client of
// the sink's own (the announcer calls from its thread).
struct PlatformWork {
  PlatformWork(const std::string& connector_id, Clock& clock) {
    opencti::GraphqlOptions graphql;
    graphql.url = platform.url();
    TokenSpec spec;
    spec.key = "opencti.token";
    spec.value = Secret(platform.options().token);
    graphql.token = std::make_shared<Token>(spec);
    client = std::make_unique<opencti::OpenCtiClient>(graphql, opencti::curl_transport_factory(true, "t")(), clock);
    work = client->add_work(connector_id, "run");
  }
  AddExpectations add_expectations() {
    return [this](const std::string& work_id, int n) { client->add_expectations(work_id, n); };
  }
  std::int64_t expectations() const { return platform.work(work)->expectations; }

  fixtures::OpenCtiServer platform;
  std::unique_ptr<opencti::OpenCtiClient> client;
  std::string work;
};

// Holds every addExpectations answer of `platform` until release() or the end of the scope. Declare
// it after the sink: the sink's end waits for the call its announcer is in.
class HeldAnnouncements {
 public:
  explicit HeldAnnouncements(fixtures::OpenCtiServer& platform) : platform_(platform) {
    platform_.set_answer_delay("addExpectations", std::chrono::minutes(5));
  }
  ~HeldAnnouncements() { release(); }
  void release() { platform_.set_answer_delay("addExpectations", std::chrono::milliseconds(0)); }

 private:
  fixtures::OpenCtiServer& platform_;
};

TEST_F(AmqpSinkTest, EveryMessageIsWhatTheWorkerExpects) {
  auto sink = make_amqp_sink(options(), {}, clock);
  sink->begin_run({.work_id = std::string("work-77"), .update = true});
  auto bundle = stage(3);
  Ticket ticket = sink->send(bundle);
  sink->flush();
  EXPECT_EQ(ticket, 1u);
  EXPECT_EQ(sink->confirmed(), 1u);

  auto messages = broker->take(queue.queue, 7);
  ASSERT_EQ(messages.size(), 7u);
  WorkerExpectations expect{.applicant_id = kApplicant, .work_id = std::string("work-77"), .one_object_per_message = true};
  std::vector<std::string> order;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i].problems(expect), std::vector<std::string>{}) << messages[i].body;
    EXPECT_EQ(messages[i].action_sequence(), static_cast<int>(i + 1));
    EXPECT_TRUE(messages[i].envelope["update"].GetBool());
    order.push_back(messages[i].object_ids().at(0));
  }
  // Dependency order: the author, then the indicators, then the relationships.
  EXPECT_EQ(order.front(), "identity--a");
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(order[i].starts_with("indicator--")) << order[i];
  for (int i = 4; i <= 6; ++i) EXPECT_TRUE(order[i].starts_with("relationship--")) << order[i];
  // Non-ASCII survives base64 + UTF-8.
  EXPECT_STREQ(messages[1].bundle["objects"][0]["name"].GetString(), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(broker->depth(queue.queue), 0u);
}

TEST_F(AmqpSinkTest, ASendAfterEndRunStartsAFreshRun) {
  auto sink = make_amqp_sink(options(), {}, clock);
  sink->begin_run({});
  sink->send(stage(1, "one"));
  sink->end_run();
  EXPECT_EQ(sink->send(stage(1, "two")), 1u);  // tickets count from 1 again
  sink->flush();
  EXPECT_EQ(sink->confirmed(), 1u);
  sink->end_run();
  EXPECT_EQ(broker->take(queue.queue, 6).size(), 6u);
}

TEST_F(AmqpSinkTest, NoWorkIdWhenTheRunHasNoWork) {
  auto sink = make_amqp_sink(options(), {}, clock);
  sink->begin_run({});
  sink->send(stage(1));
  sink->end_run();
  auto messages = broker->take(queue.queue, 3);
  ASSERT_EQ(messages.size(), 3u);
  for (const auto& message : messages) {
    EXPECT_EQ(message.problems({.applicant_id = kApplicant, .work_id = std::nullopt, .one_object_per_message = true}), std::vector<std::string>{});
  }
}

TEST_F(AmqpSinkTest, ExpectationsAreAddedBeforePublishingOneForEachMessage) {
  PlatformWork opencti(connector_id, clock);
  std::vector<std::uint32_t> depth_when_added;
  auto sink = make_amqp_sink(
      options(),
      [&](const std::string& work_id, int n) {
        depth_when_added.push_back(broker->depth(queue.queue));
        opencti.client->add_expectations(work_id, n);
      },
      clock);
  sink->begin_run({.work_id = opencti.work, .update = false});
  sink->send(stage(2, "a"));
  sink->flush();
  sink->send(stage(4, "b"));
  sink->flush();
  EXPECT_EQ(opencti.expectations(), 5 + 9);
  EXPECT_EQ(depth_when_added, (std::vector<std::uint32_t>{0, 5}));  // nothing of a bundle published before
  EXPECT_EQ(broker->take(queue.queue, 14).size(), 14u);
}

// send() hands over without waiting for OpenCTI; the I/O thread publishes a group only once the
// addExpectations call covering it has been answered.
TEST_F(AmqpSinkTest, NothingIsPublishedBeforeItsAnnouncementIsAnswered) {
  PlatformWork opencti(connector_id, clock);
  auto sink = make_amqp_sink(options(), opencti.add_expectations(), clock);
  HeldAnnouncements held(opencti.platform);
  sink->begin_run({.work_id = opencti.work, .update = false});
  EXPECT_EQ(sink->send(stage(2, "a")), 1u);  // returns while OpenCTI holds the answer
  EXPECT_TRUE(fixtures::stays_true([&] { return broker->depth(queue.queue) == 0; }, std::chrono::milliseconds(500)));
  EXPECT_EQ(sink->confirmed(), 0u);
  EXPECT_EQ(opencti.expectations(), 0);

  held.release();
  sink->flush();
  EXPECT_EQ(sink->confirmed(), 1u);
  EXPECT_EQ(opencti.expectations(), 5);
  EXPECT_EQ(sink->stats().announcements, 1u);
  EXPECT_EQ(received_ids(broker->take(queue.queue, 5), opencti.work).size(), 5u);
}

// While one call waits for OpenCTI, the groups submitted meanwhile gather and share the next call:
// fewer calls than groups, and the calls announce exactly the messages published.
TEST_F(AmqpSinkTest, GroupsSubmittedDuringASlowAnnouncementShareOneCall) {
  PlatformWork opencti(connector_id, clock);
  auto sink = make_amqp_sink(options(), opencti.add_expectations(), clock);
  HeldAnnouncements held(opencti.platform);
  sink->begin_run({.work_id = opencti.work, .update = false});
  for (int group = 0; group < 4; ++group) sink->send(stage(group + 1, "g" + std::to_string(group)));
  held.release();
  sink->flush();

  const auto stats = sink->stats();
  EXPECT_EQ(sink->confirmed(), 4u);
  EXPECT_EQ(stats.messages, 3u + 5u + 7u + 9u);
  // The first call covers one group or more; every group sent while it was held shares the second.
  EXPECT_GE(stats.announcements, 1u);
  EXPECT_LE(stats.announcements, 2u);
  EXPECT_EQ(opencti.platform.count("addExpectations"), stats.announcements);
  EXPECT_EQ(opencti.expectations(), static_cast<std::int64_t>(stats.messages));
  EXPECT_EQ(received_ids(broker->take(queue.queue, 24), opencti.work).size(), 24u);
  EXPECT_EQ(broker->depth(queue.queue), 0u);
}

// send() returns once the held messages leave room for another group as big as its own: with room
// for 10, a first group of 5 is taken at once, a second waits until the first is out (here: until
// OpenCTI answers the call announcing them). Both are then delivered whole.
TEST_F(AmqpSinkTest, SendReturnsOnceRoomForAnotherGroupLikeItsOwnIsLeft) {
  PlatformWork opencti(connector_id, clock);
  auto limited = options();
  limited.max_retained = 10;
  auto sink = make_amqp_sink(limited, opencti.add_expectations(), clock);
  HeldAnnouncements held(opencti.platform);
  sink->begin_run({.work_id = opencti.work, .update = false});
  EXPECT_EQ(sink->send(stage(2, "a")), 1u);  // 5 held, room for 5 more: returns

  std::atomic<bool> second_returned = false;
  std::thread second([&] {
    sink->send(stage(2, "b"));  // 10 held: no room for another 5 until some are confirmed
    second_returned = true;
  });
  EXPECT_TRUE(fixtures::stays_true([&] { return !second_returned.load(); }, std::chrono::milliseconds(500)));
  held.release();
  second.join();
  EXPECT_TRUE(second_returned);
  sink->flush();
  EXPECT_EQ(sink->confirmed(), 2u);
  EXPECT_EQ(opencti.expectations(), 10);
  EXPECT_EQ(received_ids(broker->take(queue.queue, 10), opencti.work).size(), 10u);
}

// Once OpenCTI answers slowly, send() holds up to max_retained with its group, so the batches mapped
// during a slow call wait for their announcement together (and share the next call): with room for
// 10 and groups of 5, the third send returns while the call for the second is still out.
TEST_F(AmqpSinkTest, AfterASlowAnswerSendLetsTheNextGroupWaitForItsAnnouncement) {
  PlatformWork opencti(connector_id, clock);
  auto limited = options();
  limited.max_retained = 10;
  auto sink = make_amqp_sink(limited, opencti.add_expectations(), clock);
  sink->begin_run({.work_id = opencti.work, .update = false});
  opencti.platform.set_answer_delay("addExpectations", std::chrono::milliseconds(60));
  sink->send(stage(2, "a"));
  sink->flush();  // the answer took 60 ms: OpenCTI is slow
  HeldAnnouncements held(opencti.platform);

  std::atomic<bool> returned = false;
  std::thread sender([&] {
    sink->send(stage(2, "b"));
    sink->send(stage(2, "c"));  // 10 held with it: as many as max_retained, taken
    returned = true;
  });
  EXPECT_TRUE(fixtures::wait_until([&] { return returned.load(); }, std::chrono::seconds(10)));
  EXPECT_EQ(broker->depth(queue.queue), 5u);  // only the first group is out
  held.release();
  sender.join();
  sink->flush();
  EXPECT_EQ(sink->confirmed(), 3u);
  EXPECT_EQ(opencti.expectations(), 15);
  EXPECT_EQ(received_ids(broker->take(queue.queue, 15), opencti.work).size(), 15u);
}

TEST_F(AmqpSinkTest, FailingExpectationsPublishNothing) {
  auto sink = make_amqp_sink(
      options(), [](const std::string&, int) { throw std::runtime_error("OpenCTI rejected the call: work gone"); }, clock);
  sink->begin_run({.work_id = std::string("w"), .update = false});
  const std::string text = delivery_error(*sink, stage(1));  // from send() or flush(), whichever comes first
  EXPECT_EQ(text, "cannot add expectations to the OpenCTI work before publishing: OpenCTI rejected the call: work gone");
  EXPECT_EQ(sink->confirmed(), 0u);
  EXPECT_THROW(sink->flush(), DeliveryError);
  sink->end_run();
  EXPECT_EQ(broker->depth(queue.queue), 0u);
}

// A refused call fails the run: what it covered is not published and not confirmed (the cursor stays
// before it), what was announced and confirmed earlier stays delivered.
TEST_F(AmqpSinkTest, ARefusedAnnouncementPublishesNoneOfTheGroupsItCovered) {
  PlatformWork opencti(connector_id, clock);
  auto sink = make_amqp_sink(options(), opencti.add_expectations(), clock);
  sink->begin_run({.work_id = opencti.work, .update = false});
  sink->send(stage(1, "kept"));
  sink->flush();
  ASSERT_EQ(broker->depth(queue.queue), 3u);

  opencti.platform.fail_next("addExpectations", 100, 200, "FUNCTIONAL_ERROR");
  std::string text;
  try {
    std::vector<stix::Bundle> stages;
    stages.push_back(stage(2, "lost-1"));
    stages.push_back(stage(3, "lost-2"));
    sink->send_all(stages);
    sink->send(stage(1, "lost-3"));
    sink->flush();
  } catch (const DeliveryError& error) {
    text = error.what();
  }
  EXPECT_TRUE(text.starts_with("cannot add expectations to the OpenCTI work before publishing: ")) << text;
  EXPECT_EQ(sink->confirmed(), 1u);
  sink->end_run();
  EXPECT_EQ(opencti.expectations(), 3);
  EXPECT_EQ(broker->depth(queue.queue), 3u);
  EXPECT_EQ(received_ids(broker->take(queue.queue, 3), opencti.work),
            (std::set<std::string>{"identity--kept", "indicator--kept-0", "relationship--kept-0"}));
}

// A stop request while OpenCTI holds an answer ends the waiting (after a second's grace for a
// healthy platform); nothing of the held group is published or confirmed.
TEST_F(AmqpSinkTest, AStopEndsWaitingForAnAnnouncement) {
  PlatformWork opencti(connector_id, clock);
  std::atomic<bool> stopping = false;
  auto opts = options();
  opts.should_stop = [&] { return stopping.load(); };
  auto sink = make_amqp_sink(opts, opencti.add_expectations(), clock);
  HeldAnnouncements held(opencti.platform);
  sink->begin_run({.work_id = opencti.work, .update = false});
  sink->send(stage(2));
  stopping = true;
  std::string text;
  try {
    sink->flush();
  } catch (const DeliveryError& error) {
    text = error.what();
  }
  EXPECT_NE(text.find("stopping while 5 messages were not confirmed"), std::string::npos) << text;
  EXPECT_EQ(sink->confirmed(), 0u);
  held.release();
  sink->end_run();
  EXPECT_EQ(broker->depth(queue.queue), 0u);
}

TEST_F(AmqpSinkTest, PipelinedConfirmsCoverManyBundlesBeyondTheWindow) {
  auto sink = make_amqp_sink(options(), {}, clock);  // window 50
  sink->begin_run({});
  std::set<std::string> expected;
  Ticket last = 0;
  for (int b = 0; b < 20; ++b) {
    auto bundle = stage(10, "b" + std::to_string(b));
    auto ids = ids_of(bundle);
    expected.insert(ids.begin(), ids.end());
    last = sink->send(bundle);
    EXPECT_LE(sink->confirmed(), last);
  }
  sink->flush();
  EXPECT_EQ(sink->confirmed(), 20u);
  auto stats = sink->stats();
  EXPECT_EQ(stats.messages, 20u * 21u);
  EXPECT_EQ(stats.confirmed, stats.messages);
  std::set<std::string> received;
  for (const auto& message : broker->take(queue.queue, 420)) received.insert(message.object_ids().at(0));
  EXPECT_EQ(received, expected);
}

TEST_F(AmqpSinkTest, WholeBundleModeSendsOneMessagePerBundle) {
  auto opts = options();
  opts.mode = AmqpMessageMode::WholeBundle;
  std::vector<int> expectations;
  auto sink = make_amqp_sink(opts, [&](const std::string&, int n) { expectations.push_back(n); }, clock);
  sink->begin_run({.work_id = std::string("w1"), .update = false});
  sink->send(stage(3));
  sink->flush();
  auto messages = broker->take(queue.queue, 1);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]
                .problems({.applicant_id = kApplicant, .work_id = std::string("w1"), .one_object_per_message = false}),
            std::vector<std::string>{});
  EXPECT_EQ(messages[0].object_ids().size(), 7u);
  EXPECT_EQ(expectations, std::vector<int>{1});
}

TEST_F(AmqpSinkTest, FullQueueNacksAreRepublishedUntilTaken) {
  // A queue that refuses what exceeds 5 messages: the broker nacks the rest.
  auto full = broker->prepare_push_queue(random_id(), "", {{"x-max-length", 5}}, "reject-publish");
  auto opts = options();
  opts.routing_key = full.routing_key;
  opts.retry_delay = std::chrono::milliseconds(20);
  SystemClock real_clock;
  auto sink = make_amqp_sink(opts, {}, real_clock);
  sink->begin_run({});
  auto bundle = stage(6);  // 13 messages
  std::vector<fixtures::WorkerMessage> received;
  std::thread consumer([&] {
    // The worker draining slowly, until it has seen every object: a refused message is published again
    // with what depends on it, so some arrive twice and the count of messages says nothing.
    AmqpTestBroker own;
    std::set<std::string> seen;
    while (seen.size() < 13) {
      auto got = own.take(full.queue, std::min<std::size_t>(2, 13 - seen.size()), std::chrono::seconds(30));
      if (got.empty()) break;
      for (auto& message : got) {
        seen.insert(message.object_ids().at(0));
        received.push_back(std::move(message));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // pacing (a slow worker), not synchronisation
    }
  });
  sink->send(bundle);
  sink->flush();
  consumer.join();
  EXPECT_GT(sink->stats().republished, 0u);
  std::set<std::string> ids;
  for (const auto& message : received) ids.insert(message.object_ids().at(0));
  EXPECT_EQ(ids, ids_of(bundle));
  // A refused message is published again before anything that depends on it.
  expect_dependency_order(received, 6);
}

TEST_F(AmqpSinkTest, UnroutableMessagesAreRepublishedOnceTheQueueIsBound) {
  const fixtures::PushQueue unbound = unbound_queue();
  auto opts = options();
  opts.routing_key = unbound.routing_key;
  opts.retry_delay = std::chrono::milliseconds(50);
  SystemClock real_clock;
  auto sink = make_amqp_sink(opts, {}, real_clock);
  sink->begin_run({});
  fixtures::LogCapture logs;
  std::thread platform([&] {
    // The platform binds late: once the broker has returned a message as unroutable.
    EXPECT_TRUE(fixtures::wait_until([&] { return logs.contains("returned a message as unroutable"); }));
    AmqpTestBroker own;
    own.bind({queue.exchange, unbound.routing_key, queue.queue});
  });
  sink->send(stage(2));
  sink->flush();
  platform.join();
  EXPECT_GT(sink->stats().republished, 0u);
  std::set<std::string> ids;
  for (const auto& message : broker->take(queue.queue, 5)) ids.insert(message.object_ids().at(0));
  EXPECT_EQ(ids, ids_of(stage(2)));
}

TEST_F(AmqpSinkTest, WrongCredentialsAreAClearErrorWithoutThePassword) {
  auto opts = options();
  opts.connection.pass = Secret("wrong-SECRET-mq-password-123");
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  const std::string text = delivery_error(*sink, stage(1));
  EXPECT_NE(text.find("mq.pass"), std::string::npos) << text;
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  EXPECT_EQ(sink->confirmed(), 0u);
}

TEST_F(AmqpSinkTest, UnreachableBrokerFailsAfterBackoffAndConfirmsNothing) {
  auto opts = options();
  opts.connection.port = 1;  // nothing listens there
  opts.max_reconnect_attempts = 4;
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  const std::string text = delivery_error(*sink, stage(1));
  EXPECT_NE(text.find("mq.host"), std::string::npos) << text;
  EXPECT_EQ(sink->confirmed(), 0u);
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(1000 + 2000 + 4000));
}

TEST_F(AmqpSinkTest, MissingExchangeIsReportedAfterRetries) {
  auto opts = options();
  opts.exchange = "kfc-test-no-such-exchange-" + random_id();
  opts.max_reconnect_attempts = 3;
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  const std::string text = delivery_error(*sink, stage(1));
  EXPECT_NE(text.find("NOT_FOUND"), std::string::npos) << text;
  EXPECT_EQ(sink->confirmed(), 0u);
}

TEST_F(AmqpSinkTest, DroppedConnectionMidRunRepublishesWhatWasUnconfirmed) {
  ProxiedSink proxied(options(), std::chrono::milliseconds(100));
  auto& network = proxied.network;
  auto& sink = proxied.sink;
  sink->begin_run({});
  auto first = stage(50, "first");
  sink->send(first);  // not flushed: messages still in flight
  network.cut();      // the network between connector and broker fails
  auto second = stage(50, "second");
  sink->send(second);
  sink->flush();
  EXPECT_EQ(sink->confirmed(), 2u);
  EXPECT_GE(sink->stats().reconnects, 1u);
  EXPECT_GE(network.connections_accepted(), 2);

  const std::set<std::string> received = received_ids(broker->drain(queue.queue), std::nullopt);
  auto expected = ids_of(first);
  auto more = ids_of(second);
  expected.insert(more.begin(), more.end());
  EXPECT_EQ(received, expected);  // nothing lost (duplicates allowed)
}

TEST_F(AmqpSinkTest, DescribeNamesNoCredentials) {
  auto opts = options();
  opts.connection.pass = Secret("describe-SECRET-pass-0001");
  auto sink = make_amqp_sink(opts, {}, clock);
  std::string text = sink->describe();
  EXPECT_NE(text.find("amqp://127.0.0.1:5672/"), std::string::npos) << text;
  EXPECT_EQ(text.find("SECRET"), std::string::npos);
  EXPECT_EQ(text.find("guest"), std::string::npos);
}

// The connection dies after every message went out and before any confirm came back (the broker has
// them, the connector cannot know): flush reconnects and publishes them all again; nothing is lost.
TEST_F(AmqpSinkTest, ConnectionLostWhileFlushWaitsForConfirmsRepublishesEverything) {
  ProxiedSink proxied(options(), std::chrono::milliseconds(100));
  auto& network = proxied.network;
  auto& sink = proxied.sink;
  sink->begin_run({.work_id = std::string("work-cut"), .update = false});
  auto bundle = independent(30, "held");  // fits the window: all 30 published by send()
  sink->send(bundle);                      // connects through the proxy
  sink->flush();
  network.hold_replies();                  // from now on the broker's confirms do not reach the sink
  auto second = independent(30, "lost-confirms");
  sink->send(second);
  EXPECT_EQ(sink->confirmed(), 1u);
  std::thread cutter([&] {
    // Cut once the broker holds all 60 (its confirms of the last 30 never come back).
    AmqpTestBroker own;
    EXPECT_TRUE(fixtures::wait_until([&] { return own.depth(queue.queue) == 60u; }));
    network.cut();
  });
  sink->flush();  // waits for confirms that never come, until the cut
  cutter.join();
  EXPECT_EQ(sink->confirmed(), 2u);
  EXPECT_GE(sink->stats().republished, 30u);
  EXPECT_GE(sink->stats().reconnects, 1u);

  std::map<std::string, int> copies;
  for (const auto& message : broker->drain(queue.queue)) {
    EXPECT_EQ(message.problems({.applicant_id = kApplicant, .work_id = std::string("work-cut"), .one_object_per_message = true}),
              std::vector<std::string>{});
    copies[message.object_ids().at(0)] += 1;
  }
  for (const auto& id : ids_of(bundle)) EXPECT_EQ(copies[id], 1) << id;
  // The broker had the first copies; the second ones are the republished (harmless duplicates).
  for (const auto& id : ids_of(second)) EXPECT_EQ(copies[id], 2) << id;
}

TEST_F(AmqpSinkTest, EveryRankGoesOutBeforeAnyConfirmAndACutKeepsTheOrder) {
  // While confirms are held, the whole bundle is published anyway (ranks back to back on one
  // channel); the cut republishes everything unconfirmed in the original order.
  ProxiedSink proxied(options(), std::chrono::milliseconds(100));
  auto& network = proxied.network;
  auto& sink = proxied.sink;
  sink->begin_run({});
  sink->send(independent(1, "warm-up"));
  sink->flush();
  broker->drain(queue.queue);
  network.hold_replies();
  sink->send(stage(4, "r"));  // 9 messages in three ranks
  EXPECT_EQ(wait_for_depth(*broker, queue.queue, 9), 9u);  // every rank is out, no confirm came back
  EXPECT_EQ(sink->confirmed(), 1u);
  network.cut();
  sink->flush();
  auto messages = broker->drain(queue.queue);
  expect_dependency_order(messages, 4, "r");
  EXPECT_EQ(messages.size(), 18u);  // the broker had every first copy; all were published again
  EXPECT_EQ(sink->confirmed(), 2u);
}

// The broker refuses the indicator (the queue is over its byte limit) and takes the relationship that
// depends on it: both are published again, in order, so the worker sees the relationship after it.
TEST_F(AmqpSinkTest, ANackedMessageIsRepublishedWithEveryLaterMessageThatMayDependOnIt) {
  auto limited = broker->prepare_push_queue(random_id(), "", {{"x-max-length-bytes", 30000}}, "reject-publish");
  auto opts = options();
  opts.routing_key = limited.routing_key;
  opts.retry_delay = std::chrono::milliseconds(300);
  SystemClock real_clock;
  broker->publish(limited, std::string(10000, 'f'));  // a message the worker has not taken yet

  stix::Bundle bundle = stage(1, "n");
  auto& alloc = bundle.objects.GetAllocator();
  bundle.objects[1].AddMember("description", rapidjson::Value(std::string(18000, 'd').c_str(), alloc), alloc);
  auto sink = make_amqp_sink(opts, {}, real_clock);
  sink->begin_run({});
  sink->send(bundle);  // author fits, indicator (~25 kB) does not, relationship fits
  ASSERT_GE(wait_for_depth(*broker, limited.queue, 3), 3u);  // filler, author, relationship (again, if retried)
  ASSERT_EQ(broker->take(limited.queue, 1).size(), 1u);  // the worker takes the filler: room again
  sink->flush();
  const auto stats = sink->stats();
  EXPECT_GE(stats.nacked, 1u);
  EXPECT_GE(stats.republished, 2u);  // the indicator and the relationship
  auto messages = broker->drain(limited.queue);
  std::map<std::string, std::vector<std::size_t>> arrivals;
  for (std::size_t i = 0; i < messages.size(); ++i) arrivals[messages[i].object_ids().at(0)].push_back(i);
  ASSERT_EQ(arrivals.size(), 3u);
  EXPECT_GE(arrivals["relationship--n-0"].size(), 2u);  // the early copy, and one after the indicator
  EXPECT_GT(arrivals["relationship--n-0"].back(), arrivals["indicator--n-0"].front());
  EXPECT_LT(arrivals["identity--n"].front(), arrivals["indicator--n-0"].front());
}

TEST_F(AmqpSinkTest, OneAnnouncementPerGroupOfBundles) {
  std::vector<int> expectations;
  auto sink = make_amqp_sink(options(), [&](const std::string&, int n) { expectations.push_back(n); }, clock);
  sink->begin_run({.work_id = std::string("w-group"), .update = false});
  std::vector<stix::Bundle> stages;
  stages.push_back(stage(2, "g1"));
  stages.push_back(stix::Bundle{});  // empty stages are skipped
  stages.push_back(stage(3, "g2"));
  auto last = sink->send_all(stages);
  sink->flush();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 2u);
  EXPECT_EQ(sink->confirmed(), 2u);
  EXPECT_EQ(expectations, std::vector<int>{5 + 7});
  EXPECT_EQ(sink->stats().announcements, 1u);
  EXPECT_EQ(broker->take(queue.queue, 12).size(), 12u);
}

// rabbitmq-c answers heartbeats only when it is called: the sink's I/O thread keeps calling it while
// the run loop waits for a slow page, so an idle connection with messages in flight survives.
TEST_F(AmqpSinkTest, HeartbeatsAreAnsweredWhileNothingIsSent) {
  SystemClock real_clock;
  auto opts = options();
  opts.heartbeat_seconds = 1;  // the broker drops a peer silent for about two heartbeats
  auto sink = make_amqp_sink(opts, {}, real_clock);
  sink->begin_run({});
  sink->send(stage(3, "before"));                  // not flushed: the confirms arrive while idle
  EXPECT_TRUE(fixtures::wait_until([&] { return sink->confirmed() == 1u; }));
  std::this_thread::sleep_for(std::chrono::seconds(5));  // the condition under test: idle for five heartbeats
  sink->send(stage(3, "after"));
  sink->flush();
  const auto stats = sink->stats();
  EXPECT_EQ(stats.reconnects, 0u);
  EXPECT_EQ(stats.republished, 0u);
  EXPECT_EQ(broker->drain(queue.queue).size(), 14u);  // each message exactly once
}

TEST_F(AmqpSinkTest, EndlessUnroutableRepublishingIsBounded) {
  const fixtures::PushQueue unbound = unbound_queue();
  auto opts = options();
  opts.routing_key = unbound.routing_key;
  opts.max_republish_rounds = 3;
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  const std::string text = delivery_error(*sink, stage(2));
  EXPECT_NE(text.find(unbound.routing_key), std::string::npos) << text;
  EXPECT_NE(text.find("OpenCTI platform is running"), std::string::npos) << text;
  EXPECT_EQ(sink->confirmed(), 0u);
  EXPECT_EQ(clock.slept(), 3 * opts.retry_delay);  // one pause per round, not one per returned message
  EXPECT_THROW(sink->flush(), DeliveryError);
}

TEST_F(AmqpSinkTest, AStopEndsUnroutableRepublishing) {
  const fixtures::PushQueue unbound = unbound_queue();
  auto opts = options();
  opts.routing_key = unbound.routing_key;
  opts.should_stop = [&] { return clock.slept() >= std::chrono::milliseconds(4500); };  // SIGTERM meanwhile
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  const std::string text = delivery_error(*sink, stage(2));
  EXPECT_NE(text.find("not counted as delivered"), std::string::npos) << text;
  EXPECT_EQ(sink->confirmed(), 0u);
  EXPECT_LT(clock.slept(), std::chrono::milliseconds(5000));  // noticed within the pause, not after it
}

TEST_F(AmqpSinkTest, AStopEndsTheReconnectBackoff) {
  auto opts = options();
  opts.connection.port = 1;  // nothing listens there
  opts.reconnect_max = std::chrono::milliseconds(30000);
  opts.max_reconnect_attempts = 100;
  opts.should_stop = [&] { return clock.slept() >= std::chrono::milliseconds(2500); };
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  EXPECT_THROW(
      {
        sink->send(stage(1));
        sink->flush();
      },
      DeliveryError);
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(2500));
}

TEST_F(AmqpSinkTest, TlsToAPlainPortIsAClearError) {
  auto opts = options();
  opts.connection.use_ssl = true;  // the test broker's 5672 speaks plain AMQP
  opts.connection.ssl_reject_unauthorized = false;
  opts.max_reconnect_attempts = 2;
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  const std::string text = delivery_error(*sink, stage(1));
  EXPECT_NE(text.find("amqps://127.0.0.1:5672/"), std::string::npos) << text;
  EXPECT_NE(text.find("mq.use_ssl"), std::string::npos) << text;
  EXPECT_EQ(text.find("guest"), std::string::npos) << text;
  EXPECT_EQ(sink->confirmed(), 0u);
}

TEST_F(AmqpSinkTest, TlsOptionsAreAppliedMissingFilesNameTheirKeys) {
  auto opts = options();
  opts.connection.use_ssl = true;
  opts.connection.ssl_ca = "/nonexistent/kfc-ca.pem";
  auto sink = make_amqp_sink(opts, {}, clock);
  sink->begin_run({});
  try {
    sink->send(stage(1));
    FAIL() << "expected DeliveryError";
  } catch (const DeliveryError& error) {
    EXPECT_NE(std::string(error.what()).find("mq.use_ssl_ca"), std::string::npos) << error.what();
  }
  EXPECT_EQ(clock.slept(), std::chrono::milliseconds(0));  // a configuration error is not retried

  opts.connection.ssl_ca.clear();
  opts.connection.ssl_cert = "/nonexistent/kfc-client.pem";
  opts.connection.ssl_key = "/nonexistent/kfc-client.key";
  opts.connection.ssl_passphrase = Secret("tls-SECRET-passphrase-42");
  auto second = make_amqp_sink(opts, {}, clock);
  second->begin_run({});
  try {
    second->send(stage(1));
    FAIL() << "expected DeliveryError";
  } catch (const DeliveryError& error) {
    std::string text = error.what();
    EXPECT_NE(text.find("mq.use_ssl_cert"), std::string::npos) << text;
    EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace kfc::sinks
