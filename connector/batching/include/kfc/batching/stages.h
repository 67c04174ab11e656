#pragma once
// Dependency stages (connector/batching/README.md): a batch is sent as stages so that every object reaches
// OpenCTI after the objects it references.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/stix/bundle.h"

namespace kfc::batching {

// A batch that cannot be staged. The message is the reference's, word for word:
//   "Unable to stage STIX object without id"
//   "Unresolved STIX reference field=<field> object=<id> ref=<ref>"
//   "Cyclic STIX dependency detected for <id>"
class StagingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Splits the array `objects` into stages, each a Bundle with a fresh `bundle--<uuid4>` id:
//  1. de-duplicate by `id`: first position, last content (an element that is not an object or whose
//     `id` is absent, null or not a string cannot be staged);
//  2. local dependencies = `created_by_ref`, `x_opencti_created_by_ref`, `source_ref`, `target_ref`
//     and each element of `object_refs` (absent/null values and self-references ignored); each must
//     be the id of an object of the same batch, checked object by object in batch order, fields in
//     that order;
//  3. level = 0 without dependencies, else 1 + max level of the dependencies (depth first in batch
//     order; re-entering an object being resolved is a cycle, reported for that object);
//  4. stages = objects grouped by level, ascending, batch order inside a stage.
// The objects are copied into the bundles; `objects` is unchanged. Throws StagingError.
std::vector<stix::Bundle> build_stages(const rapidjson::Value& objects);
// Same stages, but the objects are moved into the bundles instead of copied: every bundle uses
// `objects`' allocator and holds `memory`, which must keep that allocator alive. The elements of
// `objects` are left null or as they were (earlier duplicates). Throws StagingError (then nothing
// was moved).
std::vector<stix::Bundle> build_stages(rapidjson::Document& objects, std::shared_ptr<void> memory);

// "bundle--" + a random (version 4) UUID.
std::string random_bundle_id();

}  // namespace kfc::batching
