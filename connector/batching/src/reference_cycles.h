#pragma once
// Reference cycles (README.md, "Reference cycles"): objects that reference each other in a ring
// cannot be put in dependency stages. This finds, for a batch whose references are otherwise
// resolved, the references to remove (or, for a ring of required references only, the objects to
// drop) so that the stages see no cycle. It only decides; the resolver applies, counts and logs.
#include <cstddef>
#include <string>
#include <vector>

#include <rapidjson/document.h>

namespace kfc::batching::detail {

struct CycleBreak {
  static constexpr rapidjson::SizeType kWholeField = ~rapidjson::SizeType{0};

  rapidjson::SizeType position = 0;     // the object, in the batch array
  const char* field = nullptr;          // the reference field that closes the cycle
  rapidjson::SizeType element = kWholeField;  // object_refs: which element (kWholeField: the field itself)
  bool drop_object = false;             // the reference is required (source_ref/target_ref): the object goes
  std::vector<std::string> cycle;       // ids around the cycle, from the object back to it
};

// The breaks for the objects of `objects` that are still `alive`, as the stages would see them
// (one object per id, its last alive copy; a reference to an id of the batch is a dependency).
// Empty when there is no cycle. The same batch always gives the same breaks.
std::vector<CycleBreak> find_cycle_breaks(const rapidjson::Value& objects, const std::vector<bool>& alive);

}  // namespace kfc::batching::detail
