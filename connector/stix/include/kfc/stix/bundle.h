#pragma once
// A STIX 2.1 bundle on its way to a sink: what the mapping/batching produce and every sink takes.
#include <memory>
#include <string>

#include <rapidjson/document.h>

namespace kfc::stix {

struct Bundle {
  std::string id;                 // "bundle--<uuid4>"
  // Keeps alive the memory `objects` lives in when it is not objects' own (the stages of one batch
  // share the batch's memory instead of copying out of it); empty otherwise. Declared before
  // `objects`, so it is released after them.
  std::shared_ptr<void> memory;
  rapidjson::Document objects;    // a JSON array of STIX objects, in dependency order

  Bundle() { objects.SetArray(); }
  std::size_t size() const { return objects.Size(); }
};

}  // namespace kfc::stix
