#include "reference_cycles.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kfc/stix/id_index.h"
#include "references.h"

namespace kfc::batching::detail {
namespace {

// Which reference of a cycle is given up first: an author, then an element of a report's list. A
// relationship's ends are required: a cycle of those only costs the relationship that closes it.
enum class Strength { Required = 0, ListElement = 1, Author = 2 };

Strength strength_of(std::string_view field) {
  if (field == "source_ref" || field == "target_ref") return Strength::Required;
  if (field == kListReferenceField) return Strength::ListElement;
  return Strength::Author;
}

// Steps the search for cycles may take in one batch. Beyond it every further reference inside a
// cycle is taken to close one: a hostile batch then loses more references, never the run's time.
constexpr std::size_t kSearchBudget = std::size_t{1} << 22;

class ReferenceGraph {
 public:
  ReferenceGraph(const rapidjson::Value& objects, const std::vector<bool>& alive) {
    nodes_.reserve(objects.Size());
    index_.reserve(objects.Size());
    for (rapidjson::SizeType i = 0; i < objects.Size(); ++i) {
      const std::string_view id = alive[i] ? id_of(objects[i]) : std::string_view{};
      if (id.empty()) continue;
      const auto [node, inserted] = index_.try_emplace(id, nodes_.size());
      if (inserted) nodes_.push_back(Node{id, i});
      else nodes_[node].content = i;  // the stages keep the last copy of an id
    }
    // Edges are numbered node by node: those of node n are [first_edge_[n], first_edge_[n + 1]).
    first_edge_.reserve(nodes_.size() + 1);
    edges_.reserve(nodes_.size() * 2);
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      first_edge_.push_back(edges_.size());
      add_edges(n, objects[nodes_[n].content]);
    }
    first_edge_.push_back(edges_.size());
  }

  std::vector<CycleBreak> breaks() {
    if (!has_cycle()) return {};  // nearly every batch: one pass, nothing else built
    std::vector<std::size_t> cyclic = edges_inside_cycles();
    if (cyclic.empty()) return {};
    // Edges in batch order, fields in the stages' order; the strongest are kept first, so the edge
    // left out is the weakest one of its cycle (and of those, the last in batch order).
    std::stable_sort(cyclic.begin(), cyclic.end(),
                     [&](std::size_t a, std::size_t b) { return edges_[a].strength < edges_[b].strength; });
    std::vector<CycleBreak> breaks;
    kept_.assign(nodes_.size(), {});
    dead_.assign(nodes_.size(), false);
    mark_.assign(nodes_.size(), 0);
    parent_.assign(nodes_.size(), 0);
    for (std::size_t e : cyclic) {
      const Edge& edge = edges_[e];
      if (dead_[edge.from] || dead_[edge.to]) continue;
      const auto back = path(edge.to, edge.from);
      if (!back) {
        kept_[edge.from].push_back(edge.to);
        continue;
      }
      CycleBreak cycle_break;
      cycle_break.position = nodes_[edge.from].content;
      cycle_break.field = edge.field;
      cycle_break.element = edge.element;
      cycle_break.drop_object = edge.strength == Strength::Required;
      cycle_break.cycle.emplace_back(nodes_[edge.from].id);
      for (std::size_t n : *back) cycle_break.cycle.emplace_back(nodes_[n].id);
      if (cycle_break.drop_object) dead_[edge.from] = true;
      breaks.push_back(std::move(cycle_break));
    }
    return breaks;
  }

 private:
  struct Node {
    std::string_view id;
    rapidjson::SizeType content;
  };
  struct Edge {
    std::size_t from;
    std::size_t to;
    const char* field;
    rapidjson::SizeType element;
    Strength strength;
  };

  void add_edges(std::size_t node, const rapidjson::Value& object) {
    for (const char* field : kReferenceFields) {
      const auto member = object.FindMember(field);
      if (member != object.MemberEnd()) add_edge(node, field, CycleBreak::kWholeField, member->value);
    }
    const auto refs = object.FindMember(kListReferenceField);
    if (refs == object.MemberEnd()) return;
    if (!refs->value.IsArray()) {
      add_edge(node, kListReferenceField, CycleBreak::kWholeField, refs->value);
      return;
    }
    for (rapidjson::SizeType i = 0; i < refs->value.Size(); ++i) add_edge(node, kListReferenceField, i, refs->value[i]);
  }

  void add_edge(std::size_t from, const char* field, rapidjson::SizeType element, const rapidjson::Value& ref) {
    if (!ref.IsString()) return;
    const std::size_t* target = index_.find(string_of(ref));
    if (target == nullptr || *target == from) return;  // outside the batch, or itself
    edges_.push_back(Edge{from, *target, field, element, strength_of(field)});
  }

  // Depth first, without recursion: is an object met again while its own references are followed?
  bool has_cycle() const {
    enum : std::uint8_t { kNew, kOnPath, kDone };
    std::vector<std::uint8_t> state(nodes_.size(), kNew);
    struct Frame {
      std::size_t node;
      std::size_t next;
    };
    std::vector<Frame> stack;
    for (std::size_t start = 0; start < nodes_.size(); ++start) {
      if (state[start] != kNew) continue;
      state[start] = kOnPath;
      stack.push_back({start, first_edge_[start]});
      while (!stack.empty()) {
        Frame& frame = stack.back();
        if (frame.next == first_edge_[frame.node + 1]) {
          state[frame.node] = kDone;
          stack.pop_back();
          continue;
        }
        const std::size_t to = edges_[frame.next++].to;
        if (state[to] == kOnPath) return true;
        if (state[to] == kNew) {
          state[to] = kOnPath;
          stack.push_back({to, first_edge_[to]});
        }
      }
    }
    return false;
  }

  // The edges whose two ends are in one strongly connected component (Kosaraju, without recursion):
  // exactly the edges that lie on some cycle.
  std::vector<std::size_t> edges_inside_cycles() const {
    const std::size_t n = nodes_.size();
    std::vector<std::vector<std::size_t>> in(n);  // edge numbers by target node
    for (std::size_t e = 0; e < edges_.size(); ++e) in[edges_[e].to].push_back(e);
    std::vector<std::size_t> finished;
    finished.reserve(n);
    std::vector<bool> seen(n, false);
    struct Frame {
      std::size_t node;
      std::size_t next;
    };
    std::vector<Frame> stack;
    for (std::size_t start = 0; start < n; ++start) {
      if (seen[start]) continue;
      seen[start] = true;
      stack.push_back({start, first_edge_[start]});
      while (!stack.empty()) {
        Frame& frame = stack.back();
        if (frame.next < first_edge_[frame.node + 1]) {
          const std::size_t to = edges_[frame.next++].to;
          if (!seen[to]) {
            seen[to] = true;
            stack.push_back({to, first_edge_[to]});
          }
          continue;
        }
        finished.push_back(frame.node);
        stack.pop_back();
      }
    }
    constexpr std::size_t kNone = ~std::size_t{0};
    std::vector<std::size_t> component(n, kNone);
    std::vector<std::size_t> pending;
    for (auto it = finished.rbegin(); it != finished.rend(); ++it) {
      if (component[*it] != kNone) continue;
      component[*it] = *it;
      pending.push_back(*it);
      while (!pending.empty()) {
        const std::size_t node = pending.back();
        pending.pop_back();
        for (std::size_t e : in[node]) {
          const std::size_t from = edges_[e].from;
          if (component[from] != kNone) continue;
          component[from] = *it;
          pending.push_back(from);
        }
      }
    }
    std::vector<std::size_t> cyclic;
    for (std::size_t e = 0; e < edges_.size(); ++e) {
      if (component[edges_[e].from] == component[edges_[e].to]) cyclic.push_back(e);
    }
    return cyclic;
  }

  // The nodes from `start` to `goal` over the edges kept so far (start first, goal last), or none
  // when `goal` cannot be reached. Past the budget, assumes it can (the path is then the two ends).
  std::optional<std::vector<std::size_t>> path(std::size_t start, std::size_t goal) {
    ++stamp_;
    mark_[start] = stamp_;
    std::vector<std::size_t> pending{start};
    bool found = false;
    while (!pending.empty() && !found) {
      if (budget_ == 0) return std::vector<std::size_t>{start, goal};
      --budget_;
      const std::size_t node = pending.back();
      pending.pop_back();
      for (std::size_t next : kept_[node]) {
        if (dead_[next] || mark_[next] == stamp_) continue;
        mark_[next] = stamp_;
        parent_[next] = node;
        if (next == goal) {
          found = true;
          break;
        }
        pending.push_back(next);
      }
    }
    if (!found) return std::nullopt;
    std::vector<std::size_t> nodes{goal};
    while (nodes.back() != start) nodes.push_back(parent_[nodes.back()]);
    std::reverse(nodes.begin(), nodes.end());
    return nodes;
  }

  std::vector<Node> nodes_;
  stix::IdIndex index_;
  std::vector<Edge> edges_;
  std::vector<std::size_t> first_edge_;
  // The search: the edges kept so far (as target nodes), relationships dropped, visit marks.
  std::vector<std::vector<std::size_t>> kept_;
  std::vector<bool> dead_;
  std::vector<std::uint64_t> mark_;
  std::vector<std::size_t> parent_;
  std::uint64_t stamp_ = 0;
  std::size_t budget_ = kSearchBudget;
};

}  // namespace

std::vector<CycleBreak> find_cycle_breaks(const rapidjson::Value& objects, const std::vector<bool>& alive) {
  if (!objects.IsArray()) return {};
  return ReferenceGraph(objects, alive).breaks();
}

}  // namespace kfc::batching::detail
