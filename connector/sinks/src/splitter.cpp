#include "kfc/sinks/splitter.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "json_text.h"

namespace kfc::sinks {
namespace {

using rapidjson::Value;

// pycti's supported_types: STIX meta + core objects, cyber observables, relationship, sighting.
constexpr std::array<std::string_view, 85> kSupportedTypes = {
    "label", "vocabulary", "kill-chain-phase",
    "attack-pattern", "campaign", "case-incident", "x-opencti-case-incident", "case-rfi", "x-opencti-case-rfi",
    "case-rft", "x-opencti-case-rft", "channel", "course-of-action", "data-component", "x-mitre-data-component",
    "data-source", "x-mitre-data-source", "event", "external-reference", "feedback", "x-opencti-feedback",
    "grouping", "identity", "incident", "indicator", "infrastructure", "intrusion-set", "language", "location",
    "malware", "malware-analysis", "marking-definition", "narrative", "note", "observed-data", "opinion", "report",
    "task", "x-opencti-task", "threat-actor", "tool", "vulnerability", "security-coverage",
    "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "email-mime-part-type",
    "artifact", "file", "x509-certificate", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic",
    "process", "software", "url", "user-account", "windows-registry-key", "windows-registry-value-type",
    "hostname", "cryptographic-key", "cryptocurrency-wallet", "text", "user-agent", "bank-account",
    "phone-number", "credential", "tracking-number", "payment-card", "media-content", "simple-observable",
    "persona", "ssh-key",
    "relationship", "sighting",
    // padding to the array size (never a real type)
    "", "", "", "", "", ""};

bool id_supported(std::string_view id) {
  auto separator = id.find("--");
  if (separator == std::string_view::npos) return true;  // not a STIX id: not filtered
  return is_supported_stix_type(id.substr(0, separator));
}

bool ends_with(std::string_view text, std::string_view suffix) { return text.ends_with(suffix); }

std::string_view view(const Value& value) { return {value.GetString(), value.GetStringLength()}; }

const Value* get(const Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

bool is_null_or_absent(const Value* value) { return value == nullptr || value->IsNull(); }

// Every distinct string the splitter meets as an id or a reference, numbered once per bundle: the
// recursion then compares, looks up and records small integers instead of hashing, copying and
// freeing strings at every step (sinks README, "Split per object"). Its storage is kept from one
// bundle to the next, so a bundle costs no allocation here once the first ones have sized it.
class Symbols {
 public:
  struct Symbol {
    std::string_view text;     // in the arena, stable for the bundle
    Value* raw = nullptr;      // the object with this id or x_opencti_id (the last one listed)
    int nb_deps = -1;          // cached count once enlisted (-1: not yet)
    signed char supported = -1;  // id_supported(text), computed on first use
    std::vector<int> followed;   // references followed from this id (pycti's refs[item_id])
  };

  void clear() {
    for (std::size_t i = 0; i < count_; ++i) {
      symbols_[i].raw = nullptr;
      symbols_[i].nb_deps = -1;
      symbols_[i].supported = -1;
      symbols_[i].followed.clear();
    }
    count_ = 0;
    std::fill(slots_.begin(), slots_.end(), -1);
    for (auto& chunk : chunks_) chunk.used = 0;
    chunk_ = 0;
  }

  int intern(std::string_view text) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t slot = hash(text) & mask;; slot = (slot + 1) & mask) {
      const int index = slots_[slot];
      if (index < 0) {
        slots_[slot] = static_cast<int>(count_);
        return add(text);
      }
      if (symbols_[static_cast<std::size_t>(index)].text == text) return index;
    }
  }

  Symbol& operator[](int index) { return symbols_[static_cast<std::size_t>(index)]; }

  bool supported(int index) {
    Symbol& symbol = (*this)[index];
    if (symbol.supported < 0) symbol.supported = id_supported(symbol.text) ? 1 : 0;
    return symbol.supported != 0;
  }

 private:
  // Ids are some tens of bytes: eight bytes per multiply, the last partial word read as the eight
  // bytes ending the text (std::hash, a library call mixing each word in several steps, cost more
  // than the rest of the lookup).
  static std::size_t hash(std::string_view text) {
    constexpr std::uint64_t kMultiplier = 0xff51afd7ed558ccdULL;
    const char* bytes = text.data();
    const std::size_t size = text.size();
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ size;
    auto mix = [&](std::uint64_t word) {
      h = (h ^ word) * kMultiplier;
      h ^= h >> 32;
    };
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, bytes + i, 8);
      mix(word);
    }
    if (i < size) {
      std::uint64_t word = 0;
      if (size >= 8) {
        std::memcpy(&word, bytes + size - 8, 8);
      } else {
        for (std::size_t j = 0; j < size; ++j) word = (word << 8) | static_cast<unsigned char>(bytes[j]);
      }
      mix(word);
    }
    return static_cast<std::size_t>(h ^ (h >> 29));
  }

  struct Chunk {
    std::unique_ptr<char[]> bytes;
    std::size_t size = 0;
    std::size_t used = 0;
  };

  int add(std::string_view text) {
    if (count_ == symbols_.size()) symbols_.emplace_back();
    symbols_[count_].text = store(text);
    return static_cast<int>(count_++);
  }

  // A copy of `text` that stays put until clear(): the document's short strings live inside their
  // Value, which moves when its object grows.
  std::string_view store(std::string_view text) {
    if (text.empty()) return {};
    while (chunk_ < chunks_.size() && chunks_[chunk_].size - chunks_[chunk_].used < text.size()) ++chunk_;
    if (chunk_ == chunks_.size()) {
      const std::size_t size = std::max<std::size_t>(std::size_t{64} << 10, text.size());
      chunks_.push_back(Chunk{std::make_unique<char[]>(size), size, 0});
    }
    Chunk& chunk = chunks_[chunk_];
    char* at = chunk.bytes.get() + chunk.used;
    std::memcpy(at, text.data(), text.size());
    chunk.used += text.size();
    return {at, text.size()};
  }

  void grow() {
    std::vector<int> slots(std::max<std::size_t>(1024, slots_.size() * 2), -1);
    const std::size_t mask = slots.size() - 1;
    for (std::size_t index = 0; index < count_; ++index) {
      std::size_t slot = hash(symbols_[index].text) & mask;
      while (slots[slot] >= 0) slot = (slot + 1) & mask;
      slots[slot] = static_cast<int>(index);
    }
    slots_.swap(slots);
  }

  std::vector<Symbol> symbols_;  // [0, count_) in use; the rest keep their capacity
  std::size_t count_ = 0;
  std::vector<int> slots_;       // open addressing, symbol index or -1; a power of two, at most half full
  std::vector<Chunk> chunks_;
  std::size_t chunk_ = 0;        // the chunk being filled
};

// The recursion of OpenCTIStix2Splitter.enlist_element, on a private copy of the objects. Ids are
// compared as strings, as pycti does (an object's id and its x_opencti_id are two keys).
class Splitter {
 public:
  // One per thread, reused: its tables keep their capacity from bundle to bundle.
  static Splitter& reusable(rapidjson::Document& objects) {
    thread_local Splitter splitter;
    splitter.reset(objects);
    return splitter;
  }

  void run() {
    for (const int id : item_ids_) {
      if (id < 0) continue;
      parents_.clear();
      enlist(id);
    }
  }

  // In enlistment order; the caller sorts stably by nb_deps.
  std::vector<std::pair<Value*, int>>& elements() { return elements_; }

 private:
  void reset(rapidjson::Document& objects) {
    doc_ = &objects;
    symbols_.clear();
    elements_.clear();
    parents_.clear();
    scratch_.clear();
    item_ids_.clear();
    for (auto& item : doc_->GetArray()) {
      item_ids_.push_back(-1);
      if (!item.IsObject()) continue;
      if (const Value* id = get(item, "id"); id && id->IsString()) {
        item_ids_.back() = symbols_.intern(view(*id));
        symbols_[item_ids_.back()].raw = &item;
      }
      if (const Value* internal = get(item, "x_opencti_id"); internal && internal->IsString()) {
        symbols_[symbols_.intern(view(*internal))].raw = &item;
      }
    }
  }

  bool may_follow(int item_id, int ref) {
    // pycti: supported type, not an ancestor on this path, not the object itself, and not a
    // reference whose own references already point back to this object.
    if (ref == item_id || !symbols_.supported(ref)) return false;
    if (std::find(parents_.begin(), parents_.end(), ref) != parents_.end()) return false;
    const auto& back = symbols_[ref].followed;
    return std::find(back.begin(), back.end(), item_id) == back.end();
  }

  // pycti recurses with parents + [ref]: the same path, extended for the call and restored after.
  int follow(int item_id, int ref) {
    symbols_[item_id].followed.push_back(ref);
    parents_.push_back(ref);
    const int nb_deps = enlist(ref);
    parents_.pop_back();
    return nb_deps;
  }

  int enlist(int item_id) {
    Value* const raw = symbols_[item_id].raw;
    if (raw == nullptr) return 0;
    if (const int cached = symbols_[item_id].nb_deps; cached >= 0) return cached;
    Value& item = *raw;
    auto& alloc = doc_->GetAllocator();

    int nb_deps = 1;
    // By index over the keys present now (pycti iterates a snapshot of the keys): a cycle can bring
    // the recursion back to this object and add "nb_deps" to it, which may move its members (an
    // index stays valid: members are only ever appended).
    const rapidjson::SizeType key_count = item.MemberCount();
    Known known;
    for (rapidjson::SizeType index = 0; index < key_count; ++index) {
      auto member_at = [&] { return item.MemberBegin() + index; };
      const std::string_view key = view(member_at()->name);  // only read before the recursion below
      known.note(key, index);
      if (ends_with(key, "_refs")) {
        if (!member_at()->value.IsArray() || member_at()->value.Empty()) continue;
        // The references, then the ones kept, on the shared scratch stack (by position: the
        // recursion pushes above them and pops back).
        const std::size_t refs_begin = scratch_.size();
        for (const auto& element : member_at()->value.GetArray()) {
          if (element.IsString()) scratch_.push_back(symbols_.intern(view(element)));
        }
        const std::size_t refs_end = scratch_.size();
        for (std::size_t at = refs_begin; at < refs_end; ++at) {
          const int ref = scratch_[at];
          if (!may_follow(item_id, ref)) continue;
          nb_deps += follow(item_id, ref);
          if (std::find(scratch_.begin() + static_cast<std::ptrdiff_t>(refs_end), scratch_.end(), ref) == scratch_.end()) {
            scratch_.push_back(ref);
          }
        }
        keep_refs(member_at()->value, refs_end, alloc);
        scratch_.resize(refs_begin);
      } else if (ends_with(key, "_ref")) {
        const Value& value = member_at()->value;
        const int ref = value.IsString() ? symbols_.intern(view(value)) : -1;
        if (ref >= 0 && may_follow(item_id, ref)) {
          nb_deps += follow(item_id, ref);
        } else {
          member_at()->value.SetNull();
        }
      } else if (key == "external_references" && member_at()->value.IsArray()) {
        dedup_external_references(member_at()->value, alloc);
      } else if (key == "kill_chain_phases" && member_at()->value.IsArray()) {
        dedup_kill_chain_phases(member_at()->value, alloc);
      }
    }

    // The first "nb_deps" (as FindMember finds it): among the keys walked, else one a cycle added.
    Value* existing = known.at(item, Known::kNbDeps);
    for (auto member = item.MemberBegin() + key_count; existing == nullptr && member != item.MemberEnd(); ++member) {
      if (view(member->name) == "nb_deps") existing = &member->value;
    }
    if (existing != nullptr) {
      existing->SetInt(nb_deps);
    } else {
      item.AddMember("nb_deps", nb_deps, alloc);
    }
    if (symbols_[item_id].nb_deps < 0) {
      if (compatible(item, known, item_id)) elements_.emplace_back(&item, nb_deps);
      symbols_[item_id].nb_deps = nb_deps;
      if (const Value* internal = known.at(item, Known::kInternalId); internal && internal->IsString()) {
        symbols_[symbols_.intern(view(*internal))].nb_deps = nb_deps;
      }
    }
    return nb_deps;
  }

  // Where the keys read after the walk are among the object's members (the first of each name, as
  // FindMember finds it), noted during the walk instead of searched for one by one afterwards. Only
  // "nb_deps" can be added during the walk, so every other key's position stays right.
  struct Known {
    enum Key : std::size_t { kType, kOperation, kSource, kTarget, kSightingOf, kWhereSighted, kInternalId, kNbDeps, kCount };
    static constexpr rapidjson::SizeType kAbsent = ~rapidjson::SizeType{0};
    std::array<rapidjson::SizeType, kCount> index = [] {
      std::array<rapidjson::SizeType, kCount> absent{};
      absent.fill(kAbsent);
      return absent;
    }();

    void note(std::string_view key, rapidjson::SizeType at) {
      const Key which = of(key);
      if (which != kCount && index[which] == kAbsent) index[which] = at;
    }
    static Key of(std::string_view key) {
      switch (key.size()) {
        case 4: return key == "type" ? kType : kCount;
        case 7: return key == "nb_deps" ? kNbDeps : kCount;
        case 10: return key == "source_ref" ? kSource : key == "target_ref" ? kTarget : kCount;
        case 12: return key == "x_opencti_id" ? kInternalId : kCount;
        case 15: return key == "sighting_of_ref" ? kSightingOf : kCount;
        case 17: return key == "opencti_operation" ? kOperation : kCount;
        case 18: return key == "where_sighted_refs" ? kWhereSighted : kCount;
        default: return kCount;
      }
    }
    Value* at(Value& item, Key which) const {
      return index[which] == kAbsent ? nullptr : &(item.MemberBegin() + index[which])->value;
    }
  };

  // The *_refs list becomes the references kept (scratch_ from `kept_begin`), each once, in order.
  // A list that already holds exactly those strings is left as it is (same bytes, no copy).
  void keep_refs(Value& list, std::size_t kept_begin, rapidjson::Document::AllocatorType& alloc) {
    const std::size_t kept = scratch_.size() - kept_begin;
    if (list.IsArray() && list.Size() == kept) {
      bool same = true;
      for (std::size_t i = 0; same && i < kept; ++i) {
        const Value& element = list[static_cast<rapidjson::SizeType>(i)];
        same = element.IsString() && view(element) == symbols_[scratch_[kept_begin + i]].text;
      }
      if (same) return;
    }
    Value kept_value(rapidjson::kArrayType);
    kept_value.Reserve(static_cast<rapidjson::SizeType>(kept), alloc);
    for (std::size_t i = kept_begin; i < scratch_.size(); ++i) {  // by length: a reference may hold U+0000
      const std::string_view ref = symbols_[scratch_[i]].text;
      kept_value.PushBack(Value(ref.data(), static_cast<rapidjson::SizeType>(ref.size()), alloc), alloc);
    }
    list = kept_value;
  }

  bool compatible(Value& item, const Known& known, int item_id) {
    const Value* type = known.at(item, Known::kType);
    std::string_view type_name = type && type->IsString() ? view(*type) : std::string_view();
    const bool plain = is_null_or_absent(known.at(item, Known::kOperation));
    if (type_name == "relationship" && plain) {
      return !is_null_or_absent(known.at(item, Known::kSource)) && !is_null_or_absent(known.at(item, Known::kTarget));
    }
    if (type_name == "sighting" && plain) {
      const Value* where = known.at(item, Known::kWhereSighted);
      return !is_null_or_absent(known.at(item, Known::kSightingOf)) && where && where->IsArray() && !where->Empty();
    }
    return symbols_.supported(item_id);
  }

  // Keeps the first object of each identity in `list` (non-objects dropped); an object whose
  // identity is nullopt has none and is dropped too.
  template <class Identity>
  static void keep_first_of_each(Value& list, rapidjson::Document::AllocatorType& alloc, Identity identity) {
    Value kept(rapidjson::kArrayType);
    std::set<std::string> seen;
    for (auto& item : list.GetArray()) {
      if (!item.IsObject()) continue;
      const std::optional<std::string> id = identity(item);
      if (id && seen.insert(*id).second) kept.PushBack(Value(item, alloc), alloc);
    }
    list = kept;
  }

  // Same identity as pycti's external_reference_generate_id: the url, else source_name+external_id;
  // a reference with neither has no id and is dropped.
  static void dedup_external_references(Value& references, rapidjson::Document::AllocatorType& alloc) {
    keep_first_of_each(references, alloc, [](const Value& reference) -> std::optional<std::string> {
      const Value* url = get(reference, "url");
      const Value* source = get(reference, "source_name");
      const Value* external = get(reference, "external_id");
      if (!is_null_or_absent(url)) return "url:" + detail::json_text(*url);
      if (!is_null_or_absent(source) && !is_null_or_absent(external)) {
        return "src:" + detail::json_text(*source) + "|" + detail::json_text(*external);
      }
      return std::nullopt;
    });
  }

  static void dedup_kill_chain_phases(Value& phases, rapidjson::Document::AllocatorType& alloc) {
    keep_first_of_each(phases, alloc, [](const Value& phase) -> std::optional<std::string> {
      const Value* name = get(phase, "kill_chain_name");
      const Value* phase_name = get(phase, "phase_name");
      return (name ? detail::json_text(*name) : "null") + "|" + (phase_name ? detail::json_text(*phase_name) : "null");
    });
  }

  rapidjson::Document* doc_ = nullptr;
  Symbols symbols_;
  std::vector<int> item_ids_;  // each top-level item's id symbol (-1: none), in bundle order
  std::vector<int> parents_;   // the path of references from the top-level object (pycti's parents)
  std::vector<int> scratch_;   // *_refs lists being walked, innermost on top
  std::vector<std::pair<Value*, int>> elements_;
};

// A value as a tree of its own that shares the source's strings (constant-string references): the
// splitter changes members of the top-level objects and replaces whole values, never the bytes of
// a string, and the bundle outlives the split. Copying every string was half of copying the
// objects, and RapidJSON 1.1's own copy goes through SAX events, slower than this direct walk.
Value copy_sharing_strings(const Value& source, rapidjson::Document::AllocatorType& alloc) {
  switch (source.GetType()) {
    case rapidjson::kObjectType: {
      Value object(rapidjson::kObjectType);
      for (auto member = source.MemberBegin(); member != source.MemberEnd(); ++member) {
        object.AddMember(Value(rapidjson::StringRef(member->name.GetString(), member->name.GetStringLength())),
                         copy_sharing_strings(member->value, alloc), alloc);
      }
      return object;
    }
    case rapidjson::kArrayType: {
      Value array(rapidjson::kArrayType);
      array.Reserve(source.Size(), alloc);
      for (const auto& element : source.GetArray()) array.PushBack(copy_sharing_strings(element, alloc), alloc);
      return array;
    }
    case rapidjson::kStringType:
      return Value(rapidjson::StringRef(source.GetString(), source.GetStringLength()));
    default:
      return Value(source, alloc);  // null, booleans, numbers: copied as they are, nothing allocated
  }
}

void append_bundle_head(std::string& out, const std::string& bundle_id) {
  out += R"({"type":"bundle","id":)";
  detail::append_json(Value(bundle_id.c_str(), static_cast<rapidjson::SizeType>(bundle_id.size())), out);
  out += R"(,"spec_version":"2.1",)";
}

}  // namespace

bool is_supported_stix_type(std::string_view type) {
  if (type.empty()) return false;
  return std::find(kSupportedTypes.begin(), kSupportedTypes.end(), type) != kSupportedTypes.end();
}

std::vector<SplitMessage> split_bundle(const stix::Bundle& bundle) {
  if (!bundle.objects.IsArray()) return {};
  rapidjson::Document objects(rapidjson::kArrayType);
  objects.Reserve(bundle.objects.Size(), objects.GetAllocator());
  for (const auto& object : bundle.objects.GetArray()) {
    objects.PushBack(copy_sharing_strings(object, objects.GetAllocator()), objects.GetAllocator());
  }
  Splitter& splitter = Splitter::reusable(objects);
  splitter.run();

  auto& elements = splitter.elements();
  std::stable_sort(elements.begin(), elements.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });

  std::string head;  // the same for every message of the bundle
  append_bundle_head(head, bundle.id);
  head += R"("x_opencti_seq":)";
  std::vector<SplitMessage> messages;
  messages.reserve(elements.size());
  for (const auto& [object, nb_deps] : elements) {
    SplitMessage& message = messages.emplace_back();
    message.nb_deps = nb_deps;
    if (const Value* id = get(*object, "id"); id && id->IsString()) message.object_id.assign(view(*id));
    char seq[16];
    const auto seq_end = std::to_chars(seq, seq + sizeof seq, nb_deps).ptr;
    constexpr std::string_view kObjects = R"(,"objects":[)";
    constexpr std::string_view kTail = "]}";
    // Sized once: the ledger holds these bodies until they are confirmed, so no spare capacity.
    const std::string_view object_json = stix::compact_json_view(*object);
    message.bundle_json.reserve(head.size() + static_cast<std::size_t>(seq_end - seq) + kObjects.size() +
                                object_json.size() + kTail.size());
    message.bundle_json.append(head).append(seq, seq_end).append(kObjects).append(object_json).append(kTail);
  }
  return messages;
}

std::string whole_bundle_json(const stix::Bundle& bundle) {
  std::string out;
  append_bundle_head(out, bundle.id);
  out += R"("objects":)";
  detail::append_json(bundle.objects, out);
  out += "}";
  return out;
}

}  // namespace kfc::sinks
