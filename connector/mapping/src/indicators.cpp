// Indicator handling (README "Indicators before the transforms"): the standard id, the context of
// the description, the expansions and the finishing of every feed object put into the bundle.
#include <algorithm>

#include "kfc/stix/ids.h"
#include "kfc/stix/pystr.h"
#include "mapper_impl.h"
#include "pattern.h"

namespace kfc::mapping {

using kfc::stix::for_each_split;

Context Context::parse(std::string_view description) {
  Context c;
  for_each_split(description, ';', [&](std::string_view piece) {
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos) return;
    const std::string_view key = piece.substr(0, eq), value = piece.substr(eq + 1);
    if (auto* slot = c.slot(key)) *slot = value;  // a later piece wins
  });
  return c;
}

std::optional<std::string_view>* Context::slot(std::string_view key) {
  if (key == "actors") return &actors;
  if (key == "industries") return &industries;
  if (key == "industry") return &industry;
  if (key == "geo") return &geo;
  if (key == "users_geo") return &users_geo;
  if (key == "ip_geo") return &ip_geo;
  if (key == "threat") return &threat;
  if (key == "publication_name") return &publication_name;
  if (key == "api_publication_id") return &api_publication_id;
  if (key == "detection_date") return &detection_date;
  return nullptr;
}

void Mapper::Impl::transform_indicator(Batch& b, const Value& source) {
  ++stats.indicators;
  Value ind = json::copy_value(source, b.a);
  const std::string where(json::string_member(source, "id").value_or(""));
  normalise_id(ind, b.a, where);
  json::set(ind, "created_by_ref", json::ref(kAuthorId), b.a);

  Context ctx;
  if (const Value* d = json::member(source, "description")) {
    if (d->IsString())
      ctx = Context::parse(json::view(*d));
    else  // the reference aborts the run on a null description; we map without context
      problem(Problem::NonStringField, where);
  }

  Items objs;
  objs.push_back({Kind::Indicator, std::string(json::string_member(ind, "id").value_or("")), std::move(ind)});
  if (opt.expand_objects) {
    actors(b, ctx, objs);
    industries(b, ctx, objs);
    locations_of(b, ctx, where, objs);
    malwares(b, ctx, where, objs);
    reports(b, ctx, where, objs);
    if (opt.create_observables) observables(b, objs.front().value, where, objs);
  }
  std::vector<std::pair<std::string, Value>> rels;
  if (objs.size() > 1) {
    const std::size_t first = opt.create_indicators ? 0 : 1;
    relationships(b, objs, first, rels, where);
    fill_reports(b, objs, first);
  }
  if (opt.create_indicators) add_feed_object(b, std::move(objs.front().value), true);
  for (std::size_t i = 1; i < objs.size(); ++i) {
    Item& o = objs[i];
    if (o.kind == Kind::Report) {
      ReportState& r = b.reports[o.report];
      if (!r.placed) {  // a placeholder now, the final object at finalisation
        r.placed = true;
        r.position = b.add(Value(), r.id);
      }
      continue;
    }
    b.add(std::move(o.value), o.id);
  }
  for (auto& [id, r] : rels) b.add(std::move(r), id);
}

void Mapper::Impl::normalise_id(Value& ind, Allocator& a, std::string_view where) {
  const Value* pattern = json::member(ind, "pattern");
  if (!pattern) return;
  if (!pattern->IsString()) return problem(Problem::NonStringField, where);
  const std::string standard = kfc::stix::indicator_id(json::view(*pattern));
  const auto original = json::string_member(ind, "id");
  if (original && *original == standard) return;
  Value ids(rapidjson::kArrayType);
  if (Value* existing = json::member(ind, "x_opencti_stix_ids")) {
    if (existing->IsArray())
      ids = *existing;  // moved out; set() below puts it back in the same position
    else if (existing->IsString())
      ids.PushBack(json::copy_value(*existing, a), a);
    else if (!existing->IsNull())
      problem(Problem::NonStringField, where);
  }
  if (original && !original->empty()) json::append_unique(ids, *original, a);
  json::set(ind, "x_opencti_stix_ids", std::move(ids), a);
  json::set(ind, "id", json::copy(standard, a), a);
}

// Finishing of a feed object, at the moment it is put into the bundle.
void Mapper::Impl::finish(Value& o, Allocator& a, bool indicator) {
  if (indicator) {
    if (const auto pattern = json::string_member(o, "pattern")) {
      if (const auto main_type = main_observable_type(*pattern))
        json::set(o, "x_opencti_main_observable_type", json::ref(*main_type), a);
      const auto first = first_quoted_token(*pattern);
      const auto name = json::string_member(o, "name");
      Value new_name;  // null unless the pattern has a quoted token
      if (first) {
        if (name && *name == "URL" && text_before_first_quote(*pattern).find(" LIKE ") != std::string_view::npos) {
          std::string converted(*first);
          std::replace(converted.begin(), converted.end(), '%', '*');
          std::replace(converted.begin(), converted.end(), '_', '?');
          new_name = json::copy(converted, a);
        } else {
          new_name = json::copy(*first, a);
        }
      } else {
        problem(Problem::PatternWithoutQuote, json::string_member(o, "id").value_or(""));
      }
      json::set(o, "name", std::move(new_name), a);
    }
  }
  for (auto m = o.MemberBegin(); m != o.MemberEnd();) {
    if (json::view(m->name).starts_with("x-kaspersky-"))
      m = o.EraseMember(m);
    else
      ++m;
  }
}

void Mapper::Impl::add_feed_object(Batch& b, Value&& o, bool indicator) {
  finish(o, b.a, indicator);
  const auto id = json::string_member(o, "id");
  if (!id) {
    problem(Problem::ObjectWithoutId, {});
    return b.add_without_id(std::move(o));
  }
  const std::string key(*id);
  b.add(std::move(o), key);
}

}  // namespace kfc::mapping
