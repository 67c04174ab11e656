#pragma once
// JSON text for STIX objects, in two flavours:
//  - python_dumps: byte-identical to Python's `json.dumps(value)` with default arguments, which is
//    what the reference connector prints in dry-run (connector/stix/README.md), so our dry run can be
//    diffed against it;
//  - compact_json: the fastest valid JSON (RapidJSON Writer), for sinks.
//
// Key order is the value's member order. The mapping builds objects in the reference's property
// order (the reference's property order), so writing members as stored reproduces it.
#include <ostream>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "kfc/stix/bundle.h"

namespace kfc::stix {

// Python `json.dumps(value)`:
//  - separators ", " and ": ";
//  - ensure_ascii: `"` `\` and \b \f \n \r \t get their short escapes; every other character outside
//    U+0020..U+007E is written \uXXXX with lower-case hex, characters above U+FFFF as a UTF-16
//    surrogate pair; invalid UTF-8 bytes are written as \ufffd (Python would never hold them);
//  - integers as decimal, doubles as Python `repr(float)` (shortest round-trip digits, exponent form
//    below 1e-4 and from 1e16, e.g. 1e-05, 1e+16, 100.0; NaN, Infinity, -Infinity);
//  - an object holding the same key twice is written as Python's dict would hold it: the key once,
//    at its first position, with its last value.
// For float parity the input must have been parsed with rapidjson::kParseFullPrecisionFlag (the
// default fast path can be one unit in the last place off, Python's parser never is).
std::string python_dumps(const rapidjson::Value& value);
void append_python_dumps(const rapidjson::Value& value, std::string& out);

// One line per object of the bundle, `python_dumps(object) + "\n"`: the dry-run output of a stage.
void write_dry_run_lines(const Bundle& stage, std::ostream& out);

// Compact JSON (no whitespace, UTF-8 kept as is, RapidJSON number formatting).
std::string compact_json(const rapidjson::Value& value);
void append_compact_json(const rapidjson::Value& value, std::string& out);
// Same, as a view of this thread's serialisation buffer (valid until the next compact_* call on this
// thread): for callers that size their own string before copying it in.
std::string_view compact_json_view(const rapidjson::Value& value);

// The bundle as sent to OpenCTI, compact:
// {"type":"bundle","id":"bundle--…","spec_version":"2.1","objects":[…]}
std::string compact_bundle_json(const Bundle& bundle);
// Same, appended to `out` (reuse one string across bundles to avoid re-growing a buffer per bundle).
void append_compact_bundle_json(const Bundle& bundle, std::string& out);
// Same, as a view of this thread's serialisation buffer, without copying it out: valid until the
// next compact_* call on this thread (the directory output writes it to its file straight away).
std::string_view compact_bundle_json_view(const Bundle& bundle);

}  // namespace kfc::stix
