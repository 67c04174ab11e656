#pragma once
// kaspersky.tlp_level: the OpenCTI standard TLP marking definition put on every object the mapping
// creates (see connector/mapping/README.md, "TLP marking").
#include <string_view>

#include <rapidjson/document.h>

namespace kfc::mapping::detail {

// The marking-definition object for the level (clear, green, amber, amber+strict, red), with the ids
// OpenCTI and pycti use for the standard TLP markings; false (out untouched) for "none".
bool build_tlp_marking(std::string_view level, rapidjson::Document& out);

// Adds `marking_id` to the object's object_marking_refs (created when missing, kept when present).
// Marking definitions and the author identity are left unmarked.
void add_marking(rapidjson::Value& object, std::string_view marking_id, std::string_view author_id,
                 rapidjson::Document::AllocatorType& allocator);

}  // namespace kfc::mapping::detail
