#pragma once
// Parsing what a TAXII server sends: JSON bodies (kfc::json's bounded reader: nesting limited, text
// repaired, objects judged one by one), error bodies (TAXII JSON or HTML), the checks applied to
// each object.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "kfc/http/transport.h"
#include "kfc/json/untrusted.h"
#include "kfc/taxii/errors.h"

namespace kfc::taxii::detail {

// A parsed body; the document points into `text` (in-situ parse), so it is never moved.
struct JsonBody {
  std::string text;
  rapidjson::Document document;
  json::ParseReport report;  // repairs, and objects nested too deeply, by position in `objects`
};

// Null with `error` set when the body is not one complete JSON document. The elements of a top-level
// `objects` array may each nest `max_object_depth` levels (deeper ones are flagged in the report).
std::unique_ptr<JsonBody> parse_json(std::string body, int max_object_depth, json::ParseError& error);

// True for JSON media types (application/taxii+json, application/json, stix+json, vnd.oasis.*).
bool is_json_media_type(std::string_view content_type);

// The server's explanation of an error answer: TAXII error JSON, or the <title> of an HTML page.
ErrorBody parse_error_body(const http::Response& response);

// Why an object of a page cannot be delivered (not an object, no string type/id, nested deeper than
// `max_depth` as the parse noted it), or nullopt when it is fine.
std::optional<std::string> object_problem(const rapidjson::Value& object, const json::ItemNote* note, int max_depth);

// Identity of one object version, for dropping re-read duplicates: "id|modified".
std::string object_key(const rapidjson::Value& object);

// Optional string member.
std::optional<std::string> string_member(const rapidjson::Value& object, const char* name);

}  // namespace kfc::taxii::detail
