#pragma once
// What the fuzz targets share: an HTTP transport that answers every request with the fuzzer's bytes
// (the real clients parse them exactly as they parse a server's answer), and silent logs.
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kfc/http/transport.h"

namespace kfc::fuzz {

class ReplayTransport final : public http::Transport {
 public:
  ReplayTransport(std::string body, std::string content_type, http::Headers extra = {})
      : body_(std::move(body)), content_type_(std::move(content_type)), extra_(std::move(extra)) {}

  http::Response send(const http::Request&) override {
    http::Response response;
    response.status = 200;
    response.headers.emplace_back("content-type", content_type_);
    response.headers.insert(response.headers.end(), extra_.begin(), extra_.end());
    response.body = body_;
    return response;
  }

 private:
  std::string body_;
  std::string content_type_;
  http::Headers extra_;
};

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A Kaspersky-shaped feed indicator, in `allocator`.
inline rapidjson::Value indicator(const char* name, std::string_view pattern, std::string_view description,
                                  rapidjson::Document::AllocatorType& allocator) {
  auto text = [&](std::string_view s) {
    return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), allocator);
  };
  rapidjson::Value object(rapidjson::kObjectType);
  object.AddMember("type", "indicator", allocator);
  object.AddMember("id", "indicator--11111111-1111-4111-8111-111111111111", allocator);
  object.AddMember("name", rapidjson::StringRef(name), allocator);
  object.AddMember("pattern", text(pattern), allocator);
  object.AddMember("labels", rapidjson::Value(rapidjson::kArrayType).PushBack("malicious-activity", allocator), allocator);
  object.AddMember("description", text(description), allocator);
  return object;
}

// Logging costs more than parsing and says nothing the fuzzer needs.
inline void quiet() {
  static const bool done = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)done;
}

}  // namespace kfc::fuzz
