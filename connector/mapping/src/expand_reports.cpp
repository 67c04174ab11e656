// Context expansion: `publication_name` -> a report listing the batch's indicators and actors
// (README "Context expansion"). Reports are gathered over the batch and written at its end.
#include <algorithm>

#include "kfc/stix/ids.h"
#include "mapper_impl.h"
#include "timestamps.h"

namespace kfc::mapping {

namespace {
constexpr std::string_view kDefaultPublished = "1900-01-01T00:00:00.000Z";
}  // namespace

void Mapper::Impl::reports(Batch& b, const Context& ctx, std::string_view where, Items& objs) {
  if (!ctx.publication_name) return;
  const std::string_view name = *ctx.publication_name;
  const std::string_view published_raw = ctx.detection_date.value_or(kDefaultPublished);
  std::string id = kfc::stix::report_id(name, published_raw);
  auto it = b.report_by_id.find(id);
  if (it == b.report_by_id.end()) {
    auto published = reformat_published(published_raw);
    if (!published) return problem(Problem::BadPublishedDate, where);
    ReportState r;
    r.id = id;
    r.name = std::string(name);
    r.published = std::move(*published);
    if (ctx.api_publication_id) {
      r.has_pid = true;
      r.pid = std::string(*ctx.api_publication_id);
    }
    it = b.report_by_id.emplace(id, b.reports.size()).first;
    b.reports.push_back(std::move(r));
  }
  objs.push_back({Kind::Report, std::move(id), Value(), it->second});
}

// The reports transform's "build relationships".
void Mapper::Impl::fill_reports(Batch& b, const Items& objs, std::size_t first) {
  std::vector<std::string_view> refs, types;
  auto take = [&](const Item& o) {
    refs.push_back(o.id);
    const std::string_view t = kind_type(o.kind);
    if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
  };
  for (std::size_t i = first; i < objs.size(); ++i)
    if ((objs[i].kind == Kind::ThreatActor || objs[i].kind == Kind::Indicator) &&
        kfc::stix::is_valid_id(objs[i].id))
      take(objs[i]);
  if (std::find(types.begin(), types.end(), "indicator") == types.end())
    for (std::size_t i = first; i < objs.size(); ++i)
      if (is_observable(objs[i].kind)) take(objs[i]);
  if (refs.empty()) return;
  for (std::size_t i = first; i < objs.size(); ++i) {
    if (objs[i].kind != Kind::Report) continue;
    ReportState& r = b.reports[objs[i].report];
    for (const auto ref : refs) r.refs.emplace_back(ref);
    for (const auto t : types)
      if (std::find(r.types.begin(), r.types.end(), t) == r.types.end()) r.types.push_back(t);
  }
}

Value Mapper::Impl::report_object(Batch& b, const ReportState& r) {
  Value o = sdo_header(b, "report", r.id);
  o.AddMember("name", json::copy(r.name, b.a), b.a);
  Value types(rapidjson::kArrayType);
  for (const auto t : r.types) types.PushBack(json::ref(t), b.a);
  o.AddMember("report_types", types, b.a);
  o.AddMember("published", json::copy(r.published, b.a), b.a);
  Value refs(rapidjson::kArrayType);
  for (const auto& ref : r.refs) refs.PushBack(json::copy(ref, b.a), b.a);
  o.AddMember("object_refs", refs, b.a);  // kept even when empty (reference behaviour)
  if (r.has_pid) {
    Value ext(rapidjson::kObjectType);
    ext.AddMember("source_name", "Kaspersky", b.a);
    ext.AddMember("description", json::copy(r.name, b.a), b.a);
    ext.AddMember("url",
                  json::copy("https://tip.kaspersky.com/api/publications/get_one?publication_id=" +
                                 r.pid + "&include_info=pdf",
                             b.a),
                  b.a);
    ext.AddMember("external_id", json::copy(r.pid, b.a), b.a);
    Value refs_list(rapidjson::kArrayType);
    refs_list.PushBack(ext, b.a);
    o.AddMember("external_references", refs_list, b.a);
  }
  return o;
}

}  // namespace kfc::mapping
