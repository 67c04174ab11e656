// Context expansion: `actors` -> threat actors (README "Context expansion").
#include "kfc/stix/ids.h"
#include "kfc/stix/pystr.h"
#include "mapper_impl.h"

namespace kfc::mapping {

using kfc::stix::for_each_split;
using kfc::stix::py_strip;

void Mapper::Impl::actors(Batch& b, const Context& ctx, Items& objs) {
  if (!ctx.actors) return;
  for_each_split(*ctx.actors, ',', [&](std::string_view raw) {
    const std::string_view name = py_strip(raw);
    if (name.empty()) return;
    const std::string& id =
        actor_ids.get(name, [&] { return kfc::stix::threat_actor_id(name, opt.legacy_threat_actor_ids); });
    Value o = sdo_header(b, "threat-actor", id);
    o.AddMember("name", json::copy(name, b.a), b.a);
    objs.push_back({Kind::ThreatActor, id, std::move(o)});
  });
}

}  // namespace kfc::mapping
