#pragma once
// Stages for a batch whose dependency levels are already known: the reference resolution finds them
// while it resolves the references of a batch whose ids are distinct and whose references all point
// back (reference_resolver.h), so the stages need not look every reference up a second time.
#include <memory>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/stix/bundle.h"

namespace kfc::batching::detail {

// build_stages(objects, memory) for such a batch: `levels[i]` is the level of objects[i].
std::vector<stix::Bundle> build_stages_from_levels(rapidjson::Document& objects, std::shared_ptr<void> memory,
                                                   const std::vector<int>& levels);

}  // namespace kfc::batching::detail
