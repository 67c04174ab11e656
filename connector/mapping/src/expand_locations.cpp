// Context expansion: `geo`, `users_geo`, `ip_geo` -> a country and its region for each country found
// in the datasheet (README "Context expansion"; the datasheet itself is locations.cpp).
#include "kfc/stix/pystr.h"
#include "mapper_impl.h"

namespace kfc::mapping {

using kfc::stix::py_strip;

const LocationRegistry::Decoded& Mapper::Impl::decode(std::string_view value) {
  return decoded_locations.get(value, [&] { return locations.decode(value); });
}

void Mapper::Impl::locations_of(Batch& b, const Context& ctx, std::string_view where, Items& objs) {
  for (const auto& value : {ctx.geo, ctx.users_geo, ctx.ip_geo}) {
    if (!value) continue;
    const auto& decoded = decode(*value);
    if (decoded.unknown_tokens > 0 || (decoded.records.empty() && !py_strip(*value).empty()))
      problem(Problem::UnknownLocation, where);
    for (const LocationRecord* r : decoded.records) {
      Value country = sdo_header(b, "location", json::ref(r->country_id));
      country.AddMember("name", json::ref(r->title), b.a);
      country.AddMember("region", json::ref(r->region_code), b.a);
      country.AddMember("country", json::ref(r->code), b.a);
      if (!r->labels.empty()) {
        Value labels(rapidjson::kArrayType);
        for (const auto& l : r->labels) labels.PushBack(json::ref(l), b.a);
        country.AddMember("labels", labels, b.a);
      }
      objs.push_back({Kind::Location, r->country_id, std::move(country)});

      Value region = sdo_header(b, "location", json::ref(r->region_id));
      region.AddMember("name", json::ref(r->subregion_title), b.a);
      region.AddMember("region", json::ref(r->region_code), b.a);
      objs.push_back({Kind::Location, r->region_id, std::move(region)});
    }
  }
}

}  // namespace kfc::mapping
