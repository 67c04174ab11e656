#include "kfc/batching/stages.h"

#include <array>
#include <cstdint>
#include <string_view>

#include <openssl/rand.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kfc/stix/id_index.h"
#include "json_copy.h"
#include "references.h"
#include "stage_levels.h"

namespace kfc::batching {
namespace {

using detail::string_of;

// How a reference value is quoted in an error: a string as is (Python f-string), anything else as JSON.
std::string describe(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(string_of(v));
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

struct Node {
  std::string_view id;
  rapidjson::SizeType content;       // position of the last object seen with this id
  std::size_t first_dependency = 0;  // its dependencies: [first_dependency, end_dependency) of Stager::dependencies_
  std::size_t end_dependency = 0;
  int level = -1;                    // -1: not resolved yet
};

class Stager {
 public:
  Stager(const rapidjson::Value& objects, const DeliveredFn& delivered) : objects_(objects), delivered_(delivered) {
    collect_unique(objects);
    for (auto& node : nodes_) resolve_dependencies(node);
    visiting_.assign(nodes_.size(), false);
    for (std::size_t i = 0; i < nodes_.size(); ++i) resolve_level(i);
  }

  // The levels given: objects[i] (with a string id, each id once) has level levels[i].
  Stager(const rapidjson::Value& objects, const std::vector<int>& levels) : objects_(objects), delivered_(kNoneDelivered) {
    nodes_.reserve(objects.Size());
    for (rapidjson::SizeType i = 0; i < objects.Size(); ++i) {
      Node node{detail::id_of(objects[i]), i};
      node.level = levels[i];
      nodes_.push_back(node);
    }
  }

  // Copies of the objects, in bundles of their own.
  std::vector<stix::Bundle> stages() const {
    std::vector<stix::Bundle> stages = empty_stages();
    for (const auto& node : nodes_) {
      auto& bundle = stages[static_cast<std::size_t>(node.level)];
      bundle.objects.PushBack(detail::deep_copy(objects_[node.content], bundle.objects.GetAllocator()),
                              bundle.objects.GetAllocator());
    }
    return stages;
  }

  // The objects themselves, moved out of `objects` (the array this Stager was built on) into
  // bundles that share its allocator.
  std::vector<stix::Bundle> moved_stages(rapidjson::Document& objects, const std::shared_ptr<void>& memory) const {
    std::vector<stix::Bundle> stages = empty_stages();
    std::vector<std::size_t> sizes(stages.size(), 0);
    for (const auto& node : nodes_) ++sizes[static_cast<std::size_t>(node.level)];
    auto& allocator = objects.GetAllocator();
    for (std::size_t level = 0; level < stages.size(); ++level) {
      stages[level].memory = memory;
      stages[level].objects = rapidjson::Document(rapidjson::kArrayType, &allocator);
      stages[level].objects.Reserve(static_cast<rapidjson::SizeType>(sizes[level]), allocator);
    }
    for (const auto& node : nodes_)
      stages[static_cast<std::size_t>(node.level)].objects.PushBack(objects[node.content].Move(), allocator);
    return stages;
  }

 private:
  void collect_unique(const rapidjson::Value& objects) {
    if (!objects.IsArray()) throw StagingError("Unable to stage STIX object without id");
    nodes_.reserve(objects.Size());
    index_.reserve(objects.Size());
    dependencies_.reserve(objects.Size() * 2);
    for (const auto& object : objects.GetArray()) {
      const rapidjson::Value* id = nullptr;
      if (object.IsObject()) {
        const auto member = object.FindMember("id");
        if (member != object.MemberEnd() && member->value.IsString()) id = &member->value;
      }
      if (id == nullptr) throw StagingError("Unable to stage STIX object without id");
      const auto position = static_cast<rapidjson::SizeType>(&object - objects.Begin());
      const auto [node, inserted] = index_.try_emplace(string_of(*id), nodes_.size());
      if (inserted) nodes_.push_back(Node{string_of(*id), position});
      else nodes_[node].content = position;  // keeps the first position, takes the last content
    }
  }

  void add_dependency(Node& node, const char* field, const rapidjson::Value& ref) {
    if (ref.IsString() && string_of(ref) == node.id) return;
    const std::size_t* found = ref.IsString() ? index_.find(string_of(ref)) : nullptr;
    if (found == nullptr && ref.IsString() && delivered_ && delivered_(string_of(ref))) return;
    if (found == nullptr)
      throw StagingError("Unresolved STIX reference field=" + std::string(field) + " object=" +
                         std::string(node.id) + " ref=" + describe(ref));
    for (std::size_t d = node.first_dependency; d < dependencies_.size(); ++d)
      if (dependencies_[d] == *found) return;
    dependencies_.push_back(*found);
  }

  // The dependencies of one node follow those of the node before it in dependencies_.
  void resolve_dependencies(Node& node) {
    node.first_dependency = dependencies_.size();
    detail::for_each_reference(objects_[node.content], [&](const char* field, const rapidjson::Value& ref) {
      add_dependency(node, field, ref);
    });
    node.end_dependency = dependencies_.size();
  }

  // Depth-first level resolution without recursion, so a long reference chain cannot overflow the
  // stack. `visiting` marks the objects on the current path.
  void resolve_level(std::size_t start) {
    if (nodes_[start].level >= 0) return;
    struct Frame {
      std::size_t node;
      std::size_t next_dependency;
      int level;
    };
    std::vector<Frame> path{{start, nodes_[start].first_dependency, 0}};
    visiting_[start] = true;
    while (!path.empty()) {
      Frame& frame = path.back();
      Node& node = nodes_[frame.node];
      if (frame.next_dependency < node.end_dependency) {
        const std::size_t dependency = dependencies_[frame.next_dependency++];
        Node& target = nodes_[dependency];
        if (target.level >= 0) {
          frame.level = std::max(frame.level, target.level + 1);
        } else if (visiting_[dependency]) {
          throw StagingError("Cyclic STIX dependency detected for " + std::string(target.id));
        } else {
          visiting_[dependency] = true;
          path.push_back({dependency, target.first_dependency, 0});
        }
        continue;
      }
      node.level = frame.level;
      visiting_[frame.node] = false;
      path.pop_back();
      if (!path.empty()) path.back().level = std::max(path.back().level, node.level + 1);
    }
  }

  // One bundle per level. Levels are consecutive (a level-n object depends on a level-(n-1) one),
  // so no stage stays empty.
  std::vector<stix::Bundle> empty_stages() const {
    int max_level = -1;
    for (const auto& node : nodes_) max_level = std::max(max_level, node.level);
    std::vector<stix::Bundle> stages(static_cast<std::size_t>(max_level + 1));
    for (auto& bundle : stages) bundle.id = random_bundle_id();
    return stages;
  }

  static inline const DeliveredFn kNoneDelivered{};
  const rapidjson::Value& objects_;
  const DeliveredFn& delivered_;
  std::vector<Node> nodes_;
  stix::IdIndex index_;
  std::vector<std::size_t> dependencies_;  // of every node, node after node
  std::vector<bool> visiting_;
};

}  // namespace

std::vector<stix::Bundle> build_stages(const rapidjson::Value& objects, const DeliveredFn& delivered) {
  return Stager(objects, delivered).stages();
}

std::vector<stix::Bundle> build_stages(rapidjson::Document& objects, std::shared_ptr<void> memory,
                                       const DeliveredFn& delivered) {
  return Stager(objects, delivered).moved_stages(objects, memory);
}

std::vector<stix::Bundle> detail::build_stages_from_levels(rapidjson::Document& objects, std::shared_ptr<void> memory,
                                                           const std::vector<int>& levels) {
  return Stager(objects, levels).moved_stages(objects, memory);
}

std::string random_bundle_id() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("cannot draw random bytes for a bundle id (OpenSSL RAND_bytes failed)");
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "bundle--";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.push_back('-');
    id.push_back(kHex[bytes[i] >> 4]);
    id.push_back(kHex[bytes[i] & 0xF]);
  }
  return id;
}

}  // namespace kfc::batching
