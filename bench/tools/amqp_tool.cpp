// kfc-bench-amqp: the two RabbitMQ sides of bench/run.sh (guest on 127.0.0.1:5672, rabbitmq-c).
//
//   kfc-bench-amqp drain --queue Q [--save FILE --save-max N] [--count-file F]
//       Consumes (auto-ack) until SIGINT/SIGTERM and 1 s without a message, as OpenCTI's workers keep
//       the queue short. The first N message bodies are saved to FILE (4-byte little-endian length +
//       body each), so that the minimal publisher sends what the connector produced. F gets the number
//       consumed.
//
//   kfc-bench-amqp publish --file FILE --count N --exchange X --routing R [--window 500]
//       The minimal publisher, the broker's limit: N messages (FILE's bodies, in order, again from the
//       start when N is larger), persistent, content-encoding utf-8, mandatory, publisher confirms
//       with at most `window` unconfirmed. Exits once every message is confirmed; prints messages/s.
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

constexpr amqp_channel_t kChannel = 1;
std::atomic<bool> stopping{false};

void check(const amqp_rpc_reply_t& reply, const char* step) {
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) throw std::runtime_error(std::string("RabbitMQ: ") + step + " failed");
}

amqp_connection_state_t connect() {
  amqp_connection_state_t state = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(state);
  if (socket == nullptr || amqp_socket_open(socket, "127.0.0.1", 5672) != AMQP_STATUS_OK) {
    throw std::runtime_error("cannot connect to RabbitMQ at 127.0.0.1:5672");
  }
  check(amqp_login(state, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
  amqp_channel_open(state, kChannel);
  check(amqp_get_rpc_reply(state), "channel.open");
  return state;
}

std::vector<std::string> load_messages(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> messages;
  std::uint32_t length = 0;
  while (in.read(reinterpret_cast<char*>(&length), sizeof length)) {
    std::string body(length, '\0');
    if (!in.read(body.data(), length)) break;
    messages.push_back(std::move(body));
  }
  return messages;
}

int drain(const std::string& queue, const std::string& save, std::size_t save_max, const std::string& count_file) {
  amqp_connection_state_t state = connect();
  amqp_basic_qos(state, kChannel, 0, 2000, 0);
  check(amqp_get_rpc_reply(state), "basic.qos");
  amqp_basic_consume(state, kChannel, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, /*no_ack=*/1, 0,
                     amqp_empty_table);
  check(amqp_get_rpc_reply(state), "basic.consume");
  std::ofstream saved;
  if (!save.empty()) saved.open(save, std::ios::binary);
  std::uint64_t consumed = 0;
  auto last_message = std::chrono::steady_clock::now();
  // After a stop request, whatever is still queued is taken until the queue stays quiet for 1 s.
  while (!stopping.load() || std::chrono::steady_clock::now() - last_message < std::chrono::seconds(1)) {
    amqp_maybe_release_buffers(state);
    amqp_envelope_t envelope;
    timeval timeout{0, 200000};
    const amqp_rpc_reply_t reply = amqp_consume_message(state, &envelope, &timeout, 0);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) continue;
      std::cerr << "kfc-bench-amqp drain: consume failed\n";
      break;
    }
    if (saved.is_open() && consumed < save_max) {
      const auto length = static_cast<std::uint32_t>(envelope.message.body.len);
      saved.write(reinterpret_cast<const char*>(&length), sizeof length);
      saved.write(static_cast<const char*>(envelope.message.body.bytes), length);
    }
    ++consumed;
    last_message = std::chrono::steady_clock::now();
    amqp_destroy_envelope(&envelope);
  }
  if (!count_file.empty()) std::ofstream(count_file) << consumed << "\n";
  amqp_channel_close(state, kChannel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(state, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(state);
  return 0;
}

int publish(const std::string& file, std::uint64_t count, const std::string& exchange, const std::string& routing,
            std::uint64_t window) {
  const auto messages = load_messages(file);
  if (messages.empty()) throw std::runtime_error("no messages in " + file);
  amqp_connection_state_t state = connect();
  amqp_confirm_select(state, kChannel);
  check(amqp_get_rpc_reply(state), "confirm.select");
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG;
  properties.delivery_mode = 2;
  properties.content_encoding = amqp_cstring_bytes("utf-8");
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t published = 0;
  std::uint64_t refused = 0;
  std::set<std::uint64_t> unconfirmed;  // delivery tags (1, 2, …) not acked or nacked yet
  while (published < count || !unconfirmed.empty()) {
    while (published < count && unconfirmed.size() < window) {
      const std::string& body = messages[published % messages.size()];
      if (amqp_basic_publish(state, kChannel, amqp_cstring_bytes(exchange.c_str()), amqp_cstring_bytes(routing.c_str()),
                             1, 0, &properties, amqp_bytes_t{body.size(), const_cast<char*>(body.data())}) != AMQP_STATUS_OK) {
        throw std::runtime_error("publish failed");
      }
      unconfirmed.insert(++published);
    }
    amqp_frame_t frame;
    if (amqp_simple_wait_frame(state, &frame) != AMQP_STATUS_OK) throw std::runtime_error("connection lost");
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    const auto id = frame.payload.method.id;
    if (id == AMQP_BASIC_ACK_METHOD || id == AMQP_BASIC_NACK_METHOD) {
      std::uint64_t tag;
      bool multiple;
      if (id == AMQP_BASIC_ACK_METHOD) {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(frame.payload.method.decoded);
        tag = ack->delivery_tag, multiple = ack->multiple != 0;
      } else {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(frame.payload.method.decoded);
        tag = nack->delivery_tag, multiple = nack->multiple != 0;
      }
      const auto end = unconfirmed.upper_bound(tag);
      const auto begin = multiple ? unconfirmed.begin() : unconfirmed.find(tag);
      if (begin == unconfirmed.end()) continue;
      if (id == AMQP_BASIC_NACK_METHOD) refused += static_cast<std::uint64_t>(std::distance(begin, end));
      unconfirmed.erase(begin, end);
    } else if (id == AMQP_BASIC_RETURN_METHOD) {
      amqp_message_t message;
      amqp_read_message(state, frame.channel, &message, 0);
      amqp_destroy_message(&message);
      ++refused;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "published\t" << count << "\nrefused\t" << refused << "\nseconds\t" << seconds << "\nmessages_per_s\t"
            << static_cast<double>(count) / seconds << "\n";
  amqp_channel_close(state, kChannel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(state, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(state);
  return refused == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"RabbitMQ helpers of bench/run.sh"};
  app.require_subcommand(1);
  std::string queue, save, count_file, file, exchange, routing;
  std::size_t save_max = 100000;
  std::uint64_t count = 0, window = 500;
  auto* drain_command = app.add_subcommand("drain", "consume and discard until SIGTERM");
  drain_command->add_option("--queue", queue)->required();
  drain_command->add_option("--save", save);
  drain_command->add_option("--save-max", save_max)->capture_default_str();
  drain_command->add_option("--count-file", count_file);
  auto* publish_command = app.add_subcommand("publish", "the minimal publisher");
  publish_command->add_option("--file", file)->required();
  publish_command->add_option("--count", count)->required();
  publish_command->add_option("--exchange", exchange)->required();
  publish_command->add_option("--routing", routing)->required();
  publish_command->add_option("--window", window)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGTERM, [](int) { stopping.store(true); });
  std::signal(SIGINT, [](int) { stopping.store(true); });
  try {
    if (*drain_command) return drain(queue, save, save_max, count_file);
    return publish(file, count, exchange, routing, window);
  } catch (const std::exception& error) {
    std::cerr << "kfc-bench-amqp: " << error.what() << "\n";
    return 1;
  }
}
