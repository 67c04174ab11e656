// The relationships from an indicator (or, observables only, from each observable) to its expansions
// (README "Context expansion").
#include "kfc/stix/ids.h"
#include "mapper_impl.h"

namespace kfc::mapping {

Mapper::Impl::RelationshipSource::RelationshipSource(const Item& source)
    : item(source), description(json::member(source.value, "description")), labels(json::member(source.value, "labels")) {
  if (labels != nullptr && (!labels->IsArray() || labels->Empty())) labels = nullptr;
}

std::pair<std::string, Value> Mapper::Impl::relationship(Batch& b, std::string_view type,
                                                         const RelationshipSource& source, const Item& target) {
  std::string id = kfc::stix::relationship_id(type, source.item.id, target.id);
  Value r = sdo_header(b, "relationship", id);
  r.AddMember("relationship_type", json::ref(type), b.a);
  if (!source.description)
    r.AddMember("description", "", b.a);
  else if (source.description->IsString())
    r.AddMember("description", json::share_value(*source.description, b.a), b.a);
  r.AddMember("source_ref", json::copy(source.item.id, b.a), b.a);
  r.AddMember("target_ref", json::copy(target.id, b.a), b.a);
  if (source.labels) r.AddMember("labels", json::share_value(*source.labels, b.a), b.a);
  return {std::move(id), std::move(r)};
}

void Mapper::Impl::relationships(Batch& b, const Items& objs, std::size_t first,
                   std::vector<std::pair<std::string, Value>>& rels, std::string_view where) {
  const bool observables_only = opt.create_observables && !opt.create_indicators;
  for (std::size_t s = first; s < objs.size(); ++s) {
    const Item& source = objs[s];
    if (observables_only ? !is_observable(source.kind) : source.kind != Kind::Indicator) continue;
    if (!kfc::stix::is_valid_id(source.id)) {
      problem(Problem::InvalidReference, where);
      continue;
    }
    const RelationshipSource from(source);
    for (std::size_t t = first; t < objs.size(); ++t) {
      const Item& target = objs[t];
      std::string_view type;
      switch (target.kind) {
        case Kind::ThreatActor: type = observables_only ? "related-to" : "indicates"; break;
        case Kind::Location:
        case Kind::Malware:
        case Kind::Sector: type = "related-to"; break;
        case Kind::File:
        case Kind::DomainName:
        case Kind::Url:
        case Kind::Ipv4:
          if (!observables_only) type = "based-on";
          break;
        default: break;
      }
      if (type.empty()) continue;
      rels.push_back(relationship(b, type, from, target));
    }
  }
}

}  // namespace kfc::mapping
