// Context expansion: `industries` / `industry` -> sector identities (README "Context expansion").
#include "kfc/stix/ids.h"
#include "kfc/stix/pystr.h"
#include "mapper_impl.h"

namespace kfc::mapping {

using kfc::stix::for_each_split;
using kfc::stix::py_strip;

void Mapper::Impl::industries(Batch& b, const Context& ctx, Items& objs) {
  auto one = [&](std::string_view raw) {
    const std::string_view name = py_strip(raw);
    if (name.empty()) return;
    const std::optional<std::string>& id = sector_ids.get(name, [&]() -> std::optional<std::string> {
      if (kfc::stix::py_lower(name) == "other") return std::nullopt;
      return kfc::stix::identity_id(name, "class");
    });
    if (!id) return;
    Value o = sdo_header(b, "identity", *id);
    o.AddMember("name", json::copy(name, b.a), b.a);
    o.AddMember("identity_class", "class", b.a);
    objs.push_back({Kind::Sector, *id, std::move(o)});
  };
  if (ctx.industries) for_each_split(*ctx.industries, ',', one);
  if (ctx.industry) for_each_split(*ctx.industry, ',', one);
}

}  // namespace kfc::mapping
