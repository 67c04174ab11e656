#pragma once
// A STIX 2.1 bundle on its way to a sink: what the mapping/batching produce and every sink takes.
#include <string>

#include <rapidjson/document.h>

namespace kfc::stix {

struct Bundle {
  std::string id;                 // "bundle--<uuid4>"
  rapidjson::Document objects;    // a JSON array of STIX objects, in dependency order

  Bundle() { objects.SetArray(); }
  std::size_t size() const { return objects.Size(); }
};

}  // namespace kfc::stix
