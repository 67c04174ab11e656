#include "kfc/sinks/message.h"

#include <openssl/evp.h>

#include <rapidjson/document.h>

#include "json_text.h"

namespace kfc::sinks {
namespace {

std::string json_string(std::string_view text) {
  rapidjson::Value value(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return detail::json_text(value);
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string queue_message(const MessageFields& fields, std::string_view bundle_json) {
  // Key order and separators of Python's json.dumps(message) in pycti's _send_bundle.
  std::string out;
  out.reserve(bundle_json.size() * 4 / 3 + 256);
  out += R"({"bundle_type": "QUEUE_BUNDLE", "applicant_id": )";
  out += json_string(fields.applicant_id);
  out += R"(, "action_sequence": )";
  out += std::to_string(fields.action_sequence);
  out += R"(, "entities_types": [], "content": ")";
  out += base64_encode(bundle_json);
  out += R"(", "update": )";
  out += fields.update ? "true" : "false";
  out += R"(, "draft_id": )";
  out += fields.draft_id ? json_string(*fields.draft_id) : std::string("null");
  if (fields.work_id) {
    out += R"(, "work_id": )";
    out += json_string(*fields.work_id);
  }
  out += "}";
  return out;
}

}  // namespace kfc::sinks
