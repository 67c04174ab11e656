#pragma once
// The RabbitMQ message body of one bundle, exactly as pycti's _send_bundle builds it:
// {"bundle_type": "QUEUE_BUNDLE", "applicant_id": ..., "action_sequence": n, "entities_types": [],
//  "content": <base64 of the UTF-8 bundle JSON>, "update": false, "draft_id": null, "work_id": ...}
// (json.dumps separators; work_id only when set).
#include <optional>
#include <string>
#include <string_view>

#include "kfc/sinks/base64.h"

namespace kfc::sinks {

struct MessageFields {
  std::string applicant_id;            // registration's connector_user_id
  int action_sequence = 1;             // 1-based within one send_stix2_bundle
  bool update = false;
  std::optional<std::string> work_id;
  std::optional<std::string> draft_id = std::nullopt;  // null unless the request came from an OpenCTI draft
};

std::string queue_message(const MessageFields& fields, std::string_view bundle_json);
// The same into `out` (its old content replaced, its capacity reused).
void write_queue_message(const MessageFields& fields, std::string_view bundle_json, std::string& out);

// The envelope of many messages that differ only in action_sequence and content (one run of the
// AMQP sink), its fixed parts serialised once: write() gives write_queue_message()'s bytes.
class QueueEnvelope {
 public:
  QueueEnvelope() : QueueEnvelope(MessageFields{}) {}
  explicit QueueEnvelope(const MessageFields& fields);  // fields.action_sequence is not used
  void write(int action_sequence, std::string_view bundle_json, std::string& out) const;

 private:
  std::string head_;  // up to and including "action_sequence": 
  std::string tail_;  // from the content's closing quote to the end
};

std::string base64_encode(std::string_view data);
void append_base64(std::string_view data, std::string& out);

}  // namespace kfc::sinks
