#include "json_page.h"
#include "kfc/config/values.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>


namespace kfc::taxii::detail {
namespace {

std::string collapse_spaces(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string html_title(const std::string& body) {
  std::string lowered = to_lower(body);
  auto open = lowered.find("<title>");
  if (open == std::string::npos) open = lowered.find("<h1>");
  if (open == std::string::npos) return {};
  auto start = lowered.find('>', open) + 1;
  auto end = lowered.find('<', start);
  return collapse_spaces(body.substr(start, end == std::string::npos ? std::string::npos : end - start)).substr(0, 200);
}

}  // namespace

std::unique_ptr<JsonBody> parse_json(std::string body, int max_object_depth, json::ParseError& error) {
  auto parsed = std::make_unique<JsonBody>();
  parsed->text = std::move(body);
  json::ParseOptions options;
  options.max_depth = max_object_depth;
  options.item_path = {"objects"};
  options.max_item_depth = max_object_depth;
  auto report = json::parse_in_place(parsed->document, parsed->text, options);
  if (!report) {
    error = std::move(report.error());
    return nullptr;
  }
  parsed->report = std::move(*report);
  return parsed;
}

bool is_json_media_type(std::string_view content_type) {
  return to_lower(content_type).find("json") != std::string::npos;
}

ErrorBody parse_error_body(const http::Response& response) {
  ErrorBody out;
  auto content_type = response.header("content-type").value_or("");
  if (is_json_media_type(content_type) || (!response.body.empty() && response.body.front() == '{')) {
    rapidjson::Document document;
    if (json::parse(document, response.body) && document.IsObject()) {
      out.title = string_member(document, "title").value_or("");
      out.description = string_member(document, "description").value_or("");
      out.error_code = string_member(document, "error_code").value_or("");
      return out;
    }
  }
  if (to_lower(content_type).find("html") != std::string::npos || to_lower(response.body).find("<html") != std::string::npos) {
    out.title = html_title(response.body);
    return out;
  }
  out.title = collapse_spaces(response.body.substr(0, 200));
  return out;
}

std::optional<std::string> object_problem(const rapidjson::Value& object, const json::ItemNote* note, int max_depth) {
  if (note != nullptr && note->too_deep) return "nested deeper than " + std::to_string(max_depth) + " levels";
  if (!object.IsObject()) return "not a JSON object";
  auto type = object.FindMember("type");
  if (type == object.MemberEnd() || !type->value.IsString() || type->value.GetStringLength() == 0) {
    return "no string 'type'";
  }
  auto id = object.FindMember("id");
  if (id == object.MemberEnd() || !id->value.IsString() || id->value.GetStringLength() == 0) {
    return "no string 'id'";
  }
  return std::nullopt;
}

std::string object_key(const rapidjson::Value& object) {
  std::string key = string_member(object, "id").value_or("");
  key += '|';
  key += string_member(object, "modified").value_or("");
  return key;
}

std::optional<std::string> string_member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return std::nullopt;
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || !member->value.IsString()) return std::nullopt;
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

}  // namespace kfc::taxii::detail
