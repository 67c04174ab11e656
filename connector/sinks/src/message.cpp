#include "kfc/sinks/message.h"

#include <algorithm>
#include <charconv>

#include <rapidjson/document.h>

#include "json_text.h"

namespace kfc::sinks {
namespace {

std::string json_string(std::string_view text) {
  rapidjson::Value value(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return detail::json_text(value);
}

}  // namespace

void append_base64(std::string_view data, std::string& out) {
  // The callbacks below return the length themselves: GCC 12's libstdc++ passes the new capacity as
  // the callback's second argument, not the length asked for.
  const std::size_t start = out.size();
  const std::size_t total = start + base64_length(data.size());
  out.resize_and_overwrite(total, [&](char* bytes, std::size_t) {
    write_base64(data, bytes + start);
    return total;
  });
}

std::string base64_encode(std::string_view data) {
  std::string out;
  append_base64(data, out);
  return out;
}

std::string queue_message(const MessageFields& fields, std::string_view bundle_json) {
  std::string out;
  write_queue_message(fields, bundle_json, out);
  return out;
}

void write_queue_message(const MessageFields& fields, std::string_view bundle_json, std::string& out) {
  QueueEnvelope(fields).write(fields.action_sequence, bundle_json, out);
}

// Key order and separators of Python's json.dumps(message) in pycti's _send_bundle.
QueueEnvelope::QueueEnvelope(const MessageFields& fields) {
  head_ = R"({"bundle_type": "QUEUE_BUNDLE", "applicant_id": )";
  head_ += json_string(fields.applicant_id);
  head_ += R"(, "action_sequence": )";
  tail_ = R"(", "update": )";
  tail_ += fields.update ? "true" : "false";
  tail_ += R"(, "draft_id": )";
  tail_ += fields.draft_id ? json_string(*fields.draft_id) : std::string("null");
  if (fields.work_id) {
    tail_ += R"(, "work_id": )";
    tail_ += json_string(*fields.work_id);
  }
  tail_ += "}";
}

void QueueEnvelope::write(int action_sequence, std::string_view bundle_json, std::string& out) const {
  constexpr std::string_view kMiddle = R"(, "entities_types": [], "content": ")";
  char sequence[16];
  const auto sequence_end = std::to_chars(sequence, sequence + sizeof sequence, action_sequence).ptr;
  const std::size_t sequence_size = static_cast<std::size_t>(sequence_end - sequence);
  const std::size_t content_size = base64_length(bundle_json.size());
  // One pass over the final size, nothing zero-filled first (the content is most of the bytes).
  const std::size_t total = head_.size() + sequence_size + kMiddle.size() + content_size + tail_.size();
  out.clear();
  out.resize_and_overwrite(total, [&](char* bytes, std::size_t) {  // returns `total` (append_base64)
    char* at = std::copy(head_.begin(), head_.end(), bytes);
    at = std::copy(sequence, sequence_end, at);
    at = std::copy(kMiddle.begin(), kMiddle.end(), at);
    write_base64(bundle_json, at);
    std::copy(tail_.begin(), tail_.end(), at + content_size);
    return total;
  });
}

}  // namespace kfc::sinks
