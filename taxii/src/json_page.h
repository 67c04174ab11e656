#pragma once
// Parsing what a TAXII server sends: JSON bodies (RapidJSON, iterative so depth cannot exhaust the
// stack), error bodies (TAXII JSON or HTML), and the checks applied to each object.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "kfc/http/transport.h"
#include "kfc/taxii/errors.h"

namespace kfc::taxii::detail {

// A parsed body; the document points into `text` (in-situ parse), so it is never moved.
struct JsonBody {
  std::string text;
  rapidjson::Document document;
};

// Null with `problem` set when the body is not one complete, valid JSON document.
std::unique_ptr<JsonBody> parse_json(std::string body, std::string& problem);

// True for JSON media types (application/taxii+json, application/json, stix+json, vnd.oasis.*).
bool is_json_media_type(std::string_view content_type);

// The server's explanation of an error answer: TAXII error JSON, or the <title> of an HTML page.
ErrorBody parse_error_body(const http::Response& response);

// Why an object of a page cannot be delivered (not an object, no string type/id, too deep), or
// nullopt when it is fine.
std::optional<std::string> object_problem(const rapidjson::Value& object, int max_depth);

// Identity of one object version, for dropping re-read duplicates: "id|modified".
std::string object_key(const rapidjson::Value& object);

// Optional string member.
std::optional<std::string> string_member(const rapidjson::Value& object, const char* name);

}  // namespace kfc::taxii::detail
